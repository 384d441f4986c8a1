"""Entity pages (a tracked group, a person): articles over time, the entities named with it (each linking to its
page or search), the latest stories, its alerts and a map of where it is mentioned; the article page and the
search facets link every group and person to its page; hostile names stay inert. Real place table and tagger,
real node, real workbench server on loopback, a real group watch's alerts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from markupsafe import escape

from enrich.places.resolve import default_resolver
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from search.alerting.reconcile import alert_on_articles
from search.alerting.watches import sync_group_watches
from search.names import IndexNames
from tests.support.alerting import setup_store
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, fill, web_settings

ROOT = Path(__file__).resolve().parent.parent
GAO, MENAKA = "gn:2457163", "gn:2453514"
JNIM = "Jama'at Nusrat al-Islam wal-Muslimin"  # the watchlist's name for jnim
HOSTILE = '<script>window.__pwned=1</script>Ag "Ghaly"'
REPORTS: dict[str, tuple[str, str, list[str], list[str]]] = {  # id: language, text, groups, people
    "gao1": ("en", "JNIM fighters attacked a convoy near Gao on Monday.", ["jnim"], ["Iyad Ag Ghaly"]),
    "gao2": ("fr", "Le JNIM a revendiqué une attaque à Gao jeudi.", ["jnim", "aqim"], ["Iyad Ag Ghaly", HOSTILE]),
    "menaka": ("en", "Gunmen attacked an army post in Menaka on Tuesday.", [], ["Iyad Ag Ghaly"]),
    "other": ("en", "Nothing happened in any town today.", ["aqim"], []),
}


@pytest.fixture()
def client(es: Elasticsearch, index_names: IndexNames, es_url: str, index_prefix: str,
           tmp_path: Path) -> Iterator[httpx.Client]:  # fmt: skip
    tagger = Tagger(watchlist=load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml"), ner=False,
                    places=default_resolver())  # fmt: skip
    tags = tagger.tag([r[1] for r in REPORTS.values()], [r[0] for r in REPORTS.values()])
    docs: list[dict[str, Any]] = []
    for i, ((doc_id, (lang, text, groups, people)), tag) in enumerate(zip(REPORTS.items(), tags, strict=True)):
        doc = make_doc(doc_id, title=f"{doc_id}: {text[:30]}", text=text, language=lang, groups=groups,
                       published_at=f"2026-11-0{i + 1}T10:00:00+00:00", entities={"PERSON": people} if people else None)
        docs.append({**doc, **tag.place_fields()})  # fmt: skip
    setup_store(es, index_names)
    sync_group_watches(es, index_names, [{"id": "jnim", "name": "JNIM"}], channels=["file"])
    fill(es, index_names, docs)
    assert len(alert_on_articles(es, index_names, list(REPORTS)).created) == 2  # gao1, gao2
    server = WebServer(web_settings(es_url, index_prefix, tmp_path, auth=False))
    with server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def _section(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:ul|ol|table|figure)>', page, re.DOTALL)
    assert found, element_id
    return found.group(1)


def test_a_group_page_has_its_articles_map_co_mentions_stories_and_alerts(client: httpx.Client) -> None:
    page = client.get("/entities/group/JNIM")  # any form of the group resolves to its id
    assert page.status_code == 200, page.text
    text = page.text
    assert f'<h1 id="entity-name" dir="auto">{escape(JNIM)}</h1>' in text and 'id="entity-key">jnim<' in text
    assert 'href="/search?group=jnim" id="entity-search">all 2 article(s)' in text
    assert re.findall(r'<a class="title" href="/articles/([^"]+)"', _section(text, "entity-latest")) == ["gao2", "gao1"]
    assert 'id="entity-attention"' in text and text.count('class="bar"') == 2
    points = r'class="place-point" href="/search\?group=jnim&amp;place=([^"]+)"'
    assert re.findall(points, _section(text, "entity-map")) == [
        GAO.replace(":", "%3A")
    ]
    co = _section(text, "entity-co")
    assert 'href="/entities/person/Iyad%20Ag%20Ghaly" dir="auto">Iyad Ag Ghaly</a> <span class="count">2<' in co
    assert 'href="/entities/group/aqim"' in co and 'href="/entities/group/jnim"' not in co  # itself left out
    assert "<script>" not in text and str(escape(HOSTILE)) in co  # a hostile name stays text
    alerts = _section(text, "entity-alerts")
    assert sorted(re.findall(r'href="/articles/([^"]+)"', alerts)) == ["gao1", "gao2"]
    assert alerts.count("<td>JNIM</td>") == 2  # the group watch's


def test_a_person_page_and_the_links_to_entity_pages(client: httpx.Client) -> None:
    page = client.get("/entities/person/Iyad Ag Ghaly")
    assert page.status_code == 200
    text = page.text
    assert '<h1 id="entity-name" dir="auto">Iyad Ag Ghaly</h1>' in text
    assert re.findall(r'<a class="title" href="/articles/([^"]+)"', _section(text, "entity-latest")) == [
        "menaka", "gao2", "gao1",
    ]  # fmt: skip
    mapped = set(re.findall(r"place=(gn%3A\d+)", _section(text, "entity-map")))
    assert mapped == {GAO.replace(":", "%3A"), MENAKA.replace(":", "%3A")}
    co = _section(text, "entity-co")
    assert 'href="/entities/group/jnim"' in co and "/entities/person/Iyad%20Ag%20Ghaly" not in co
    assert len(re.findall(r"<tr><td>", _section(text, "entity-alerts"))) == 2  # the alerts of its articles

    hostile = client.get("/entities/person/" + HOSTILE)
    assert hostile.status_code == 200 and "<script>window" not in hostile.text
    assert client.get("/entities/group/no-such-group").status_code == 404
    assert client.get("/entities/thing/jnim").status_code == 404

    article = client.get("/articles/gao2").text
    assert 'href="/entities/group/jnim"' in article and 'href="/entities/person/Iyad%20Ag%20Ghaly"' in article
    assert "<script>window" not in article
    facets = client.get("/search", params={"q": "JNIM OR Gao OR Menaka"}).text
    assert 'class="entity-page" href="/entities/group/jnim"' in facets
    assert 'class="entity-page" href="/entities/person/Iyad%20Ag%20Ghaly"' in facets
