"""Search collapses copies of a story into one row (sources, first seen, the other copies), on a real node;
``collapse=False`` / ``--no-collapse`` lists every copy; collapsed pages cover every story once."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.bulk import index_articles
from search.errors import InvalidCursor
from search.indices import setup_indices
from search.names import IndexNames
from search.querying.query import SearchRequest, search_articles
from tests.support.search_docs import make_doc
from wirewatch.cli import cli as root

STORY = "Fighters attacked an army checkpoint near Sabha overnight, officials said."


@pytest.fixture()
def stories(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    setup_indices(es, index_names)
    docs = []
    for n, source in enumerate(("wire", "daily", "post")):
        doc = make_doc(f"copy{n}", title=f"Sabha attack ({source})", text=STORY, source=source,
                       published_at=f"2024-05-0{n + 1}T08:00:00+00:00")  # fmt: skip
        docs.append({**doc, "story_id": "copy0", "story_first_seen": "2024-05-01T08:00:00+00:00"})
    docs += [make_doc(f"single{i}", text=f"Sabha market reopened, day {i}.", source="daily") for i in range(2)]
    assert index_articles(es, index_names, docs).failed == {}
    es.indices.refresh(index=index_names.articles)
    return index_names


def test_hits_are_collapsed_by_story_by_default(es: Elasticsearch, stories: IndexNames) -> None:
    result = search_articles(es, stories, SearchRequest(query="Sabha", sort="newest"))
    assert result.collapsed and result.total == 5 and result.stories == 3
    assert len(result.hits) == 3
    row = next(h for h in result.hits if h.story_id == "copy0")
    assert row.story is not None
    assert row.story.copies == 3 and sorted(row.story.sources) == ["daily", "post", "wire"]
    assert row.story.first_seen is not None and row.story.first_seen.startswith("2024-05-01T08:00")
    assert row.story.matching == 3 and sorted(c.id for c in [*row.story.others, row]) == ["copy0", "copy1", "copy2"]
    assert row.story.describe() == "3 sources, first seen 2024-05-01 08:00"


def test_no_collapse_lists_every_copy(es: Elasticsearch, stories: IndexNames) -> None:
    result = search_articles(es, stories, SearchRequest(query="Sabha", collapse=False))
    assert not result.collapsed and result.total == 5 and len(result.hits) == 5


def test_collapsed_pages_cover_every_story_once(es: Elasticsearch, stories: IndexNames) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = search_articles(es, stories, SearchRequest(query="Sabha", sort="newest", limit=1, after=after))
        seen += [h.story_id or "" for h in page.hits]
        if page.next is None:
            break
        after = page.next
    assert sorted(seen) == ["copy0", "single0", "single1"]
    flat = search_articles(es, stories, SearchRequest(query="Sabha", sort="newest", limit=1, collapse=False))
    with pytest.raises(InvalidCursor, match="no-collapse"):
        search_articles(es, stories, SearchRequest(query="Sabha", sort="newest", after=flat.next))


def test_cli_collapses_and_no_collapse_expands(stories: IndexNames, es_url: str) -> None:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": stories.prefix, "COLUMNS": "200"}
    collapsed = CliRunner().invoke(root, ["search", "attack", "--json"], env=env)
    assert collapsed.exit_code == 0, collapsed.output
    data = json.loads(collapsed.output)
    assert data["collapsed"] and data["stories"] == 1 and len(data["hits"]) == 1
    assert data["hits"][0]["story"]["copies"] == 3 and len(data["hits"][0]["story"]["others"]) == 2
    flat = json.loads(CliRunner().invoke(root, ["search", "attack", "--no-collapse", "--json"], env=env).output)
    assert not flat["collapsed"] and len(flat["hits"]) == 3
    table = CliRunner().invoke(root, ["search", "attack"], env=env)
    assert "3 matching article(s) in 1 story" in table.output
    assert "story: 3 copies, 3 sources, first seen 2024-05-01 08:00" in table.output
