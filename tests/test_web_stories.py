"""The workbench by story (real uvicorn, real node): search rows collapsed by story with "3 sources, first seen"
and the copies in a <details>, ``collapse=0`` kept in the URL to list every copy, the API equal to the CLI's
``--json`` both ways, the article page listing the story's other sources, and the alerts inbox listing
``also_seen``."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.names import IndexNames
from tests.support.web import WebServer, corpus_without_seed, fill, seed_story, web_settings
from wirewatch.cli import cli as root_cli


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=False)
    settings = settings.model_copy(update={"web_page_size": 20})
    try:
        with WebServer(settings) as srv:
            names = IndexNames(prefix=prefix)
            seed_story(es, names)
            fill(es, names, corpus_without_seed())
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def _cli_json(server: WebServer, es_url: str, *args: str) -> Any:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": server.settings.es_index_prefix,
           "WIREWATCH_CONFIG": ""}  # fmt: skip
    result = CliRunner().invoke(root_cli, ["search", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_search_shows_one_row_per_story_expandable_to_its_copies(server: WebServer) -> None:
    page = httpx.get(f"{server.url}/search", params={"q": "Belmokhtar"})
    assert page.status_code == 200
    rows = page.text.count('<li class="hit">')
    assert rows == 1
    assert 'id="total">3<' in page.text and 'id="stories">1<' in page.text
    story = page.text[page.text.index('<details class="story">') :]
    assert "3 sources, first seen 2018-02-01 08:00" in _text(story[: story.index("</summary>")])
    copies = story[: story.index("</details>")]
    row = re.search(r'<a class="title" href="/articles/([^"]+)"', page.text)
    assert row is not None and copies.count("<li>") == 2  # the row is the story's best copy; the others expand
    others = re.findall(r'<li><a href="/articles/([^"]+)"', copies)
    assert sorted([row.group(1), *others]) == ["seed", "seed-copy-1", "seed-copy-2"]
    assert 'href="/search?q=Belmokhtar&amp;collapse=0" id="collapse-toggle"' in page.text

    every = httpx.get(f"{server.url}/search", params={"q": "Belmokhtar", "collapse": "0"})
    assert every.text.count('<li class="hit">') == 3 and '<details class="story">' not in every.text
    assert '<input type="hidden" name="collapse" value="0">' in every.text  # a new query keeps the choice
    assert 'href="/search?q=Belmokhtar" id="collapse-toggle"' in every.text


def test_search_api_matches_the_cli_json_collapsed_and_not(server: WebServer, es_url: str) -> None:
    collapsed = httpx.get(f"{server.url}/api/v1/search", params={"q": "Belmokhtar"}).json()
    assert collapsed == _cli_json(server, es_url, "Belmokhtar")
    assert collapsed["collapsed"] is True and collapsed["stories"] == 1 and len(collapsed["hits"]) == 1
    assert sorted(collapsed["hits"][0]["story"]["sources"]) == ["seed-rss", "wire-c", "wire-d"]
    every = httpx.get(f"{server.url}/api/v1/search", params={"q": "Belmokhtar", "collapse": "0"}).json()
    assert every == _cli_json(server, es_url, "Belmokhtar", "--no-collapse")
    assert every["collapsed"] is False and len(every["hits"]) == 3


def test_article_lists_the_other_sources_of_its_story(server: WebServer) -> None:
    page = httpx.get(f"{server.url}/articles/seed-copy-2")
    section = page.text[page.text.index('id="copies-heading"') :]
    listed = section[: section.index("</ul>")]
    assert "Other sources that carried the same content" in section
    assert "/articles/seed&quot;" not in listed and 'href="/articles/seed"' in listed
    assert 'href="/articles/seed-copy-1"' in listed and "/articles/seed-copy-2" not in listed
    api = httpx.get(f"{server.url}/api/v1/articles/seed-copy-2").json()
    assert [c["id"] for c in api["copies"]] == ["seed", "seed-copy-1"]  # first seen first


def test_alerts_inbox_lists_also_seen(server: WebServer, tmp_path: Path) -> None:
    page = httpx.get(f"{server.url}/alerts")
    assert page.text.count('<li class="alert') == 1
    also = page.text[page.text.index('<details class="also-seen">') :]
    also = also[: also.index("</details>")]
    assert "also seen in 2 other sources" in _text(also)
    assert 'href="/articles/seed-copy-1">wire-c<' in also and 'href="/articles/seed-copy-2">wire-d<' in also
