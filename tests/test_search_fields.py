"""Fields in the query language (group:, lang:, entity:...) through the API, the page and the CLI, over the real
node and the real workbench server; "Watch this search" keeps the search's filters as fields, so the preview and
the real alerts hold only what the analyst filtered; a tracked group's alias typed as a word offers group:."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.alerting.indices import setup_alert_indices
from search.alerting.reconcile import alert_on_articles
from search.alerting.watches import query_watch_id
from search.errors import QuerySyntaxError
from search.names import IndexNames
from search.querying.fields import with_filters
from search.querying.querylang import parse_query
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, add_users, csrf_of, fill, login, web_settings
from wirewatch.cli import cli as root_cli
from wirewatch.places import locate_place

KIDNAP = "kidnapping OR enlèvement"


def _docs(tag: str) -> list[dict[str, object]]:
    return [
        make_doc(f"{tag}aqim-en", title="Kidnapping near Kidal", source="wire-a", groups=["aqim"],
                 text="AQIM claimed the kidnapping of two engineers near Kidal.",
                 entities={"PERSON": ["Iyad Ag Ghaly"]}),
        make_doc(f"{tag}aqim-fr", title="Enlèvement près de Tombouctou", source="wire-b", language="fr",
                 groups=["aqim"], text="Al-Qaïda au Maghreb islamique a revendiqué l'enlèvement de deux guides."),
        make_doc(f"{tag}isis", title="Kidnapping in Sirte", source="wire-a", groups=["islamic-state"],
                 text="The Islamic State claimed the kidnapping of a doctor in Sirte."),
        make_doc(f"{tag}none", title="Kidnapping in Lagos", source="wire-c",
                 text="Police are looking for the kidnappers of a businessman in Lagos."),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("fields"), auth=True)
    try:
        with WebServer(settings) as srv:
            setup_alert_indices(es, IndexNames(prefix=prefix))
            fill(es, IndexNames(prefix=prefix), _docs("k-"))
            add_users(settings)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def ana(server: WebServer) -> Iterator[httpx.Client]:
    client = login(server.url, "ana")
    yield client
    client.close()


def _ids(client: httpx.Client, query: str, **params: str) -> set[str]:
    got = client.get("/api/v1/search", params={"q": query, "collapse": "0", "limit": "50", **params})
    assert got.status_code == 200, got.text
    return {hit["id"] for hit in got.json()["hits"]}


def test_fielded_queries_in_the_api(ana: httpx.Client) -> None:
    assert _ids(ana, f"({KIDNAP}) Group:AQIM") == {"k-aqim-en", "k-aqim-fr"}
    assert _ids(ana, 'group:"Al-Qaïda au Maghreb islamique" AND lang:fr') == {"k-aqim-fr"}
    assert _ids(ana, "Language: French") == {"k-aqim-fr"}
    assert _ids(ana, 'entity:PERSON:"Iyad Ag Ghaly"') == {"k-aqim-en"}
    assert _ids(ana, "kidnapping -group:aqim") == {"k-isis", "k-none"}
    assert _ids(ana, "(source:wire-a OR source:wire-c) NOT group:ISIS") == {"k-aqim-en", "k-none"}


def test_fielded_query_in_the_cli(server: WebServer) -> None:
    settings = server.settings
    env = {"WIREWATCH_ES_URL": settings.es_url or "", "WIREWATCH_ES_INDEX_PREFIX": settings.es_index_prefix}
    done = CliRunner().invoke(root_cli, ["search", "group:AQIM lang:en", "--json", "--no-collapse"], env=env)
    assert done.exit_code == 0, done.output
    assert {h["id"] for h in json.loads(done.output)["hits"]} == {"k-aqim-en"}
    bad = CliRunner().invoke(root_cli, ["search", "Group: isis OR Foo:bar"], env=env)
    assert bad.exit_code != 0
    assert "unknown field 'Foo:'" in bad.output and "group:, lang:, source:" in bad.output


def test_an_unknown_field_or_value_is_an_error_not_zero_results(ana: httpx.Client) -> None:
    api = ana.get("/api/v1/search", params={"q": "kidnapping Grop:aqim"})
    assert api.status_code == 400
    assert api.json()["position"] == 11 and "unknown field 'Grop:'" in api.json()["message"]
    assert all(f"{f}:" in api.json()["message"] for f in ("group", "lang", "source", "entity", "place", "country"))
    page = ana.get("/search", params={"q": "kidnapping Grop:aqim"})
    assert page.status_code == 400 and "unknown field" in html.unescape(page.text)
    unknown_group = ana.get("/api/v1/search", params={"q": "group:nosuchgroup"})
    assert unknown_group.status_code == 400 and "unknown group" in unknown_group.json()["message"]
    assert ana.get("/api/v1/search", params={"q": "lang:klingon"}).status_code == 400


def test_a_watch_from_a_filtered_search_keeps_its_filters(
    ana: httpx.Client, server: WebServer, es: Elasticsearch
) -> None:
    names = IndexNames(prefix=server.settings.es_index_prefix)
    search = ana.get("/search", params=[("q", KIDNAP), ("group", "aqim"), ("since", "2020-01-01")])
    assert search.status_code == 200
    link = html.unescape(re.search(r'href="([^"]+)" id="watch-this"', search.text).group(1))  # type: ignore[union-attr]
    form = ana.get(link)
    assert form.status_code == 200
    query = html.unescape(re.search(r'value="([^"]*)" required id="watch-q"', form.text).group(1))  # type: ignore[union-attr]
    assert query == f"({KIDNAP}) AND group:aqim AND published:>=2020-01-01"  # the dates too
    assert 'id="dropped-filters"' not in form.text
    preview = ana.get("/watches/new?" + urlencode({"q": query, "name": "aqim kidnaps", "preview": "true"}))
    assert preview.status_code == 200
    shown = set(re.findall(r'href="/articles/([^"]+)"', preview.text))
    assert shown == {"k-aqim-en", "k-aqim-fr"}  # not Sirte's nor Lagos's kidnapping
    saved = ana.post("/watches", data={"csrf_token": csrf_of(preview.text), "name": "aqim kidnaps", "q": query})
    assert saved.status_code == 303, saved.text
    # real alerts: articles indexed after the watch, through the same matching the service runs
    fill(es, names, _docs("n-"))
    alert_on_articles(es, names, [f"n-{s}" for s in ("aqim-en", "aqim-fr", "isis", "none")])
    es.indices.refresh(index=names.alerts)
    raised = es.search(index=names.alerts, query={"term": {"watch.name": "aqim kidnaps"}}, size=20)
    assert {h["_source"]["article_id"] for h in raised["hits"]["hits"]} == {"n-aqim-en", "n-aqim-fr"}


def test_a_tracked_groups_alias_typed_as_a_word_offers_the_group(ana: httpx.Client) -> None:
    page = html.unescape(ana.get("/search", params={"q": "AQIM kidnapping"}).text)
    tagged = len(_ids(ana, "group:aqim"))  # 2, or 4 once the watch test has indexed its own
    said = f'<span dir="auto">AQIM</span> is a tracked group: search group:aqim for all {tagged} article(s) tagged'
    assert said in page
    assert "q=group%3Aaqim" in page
    assert "is a tracked group" not in html.unescape(ana.get("/search", params={"q": "AQIM group:aqim"}).text)
    assert "is a tracked group" not in html.unescape(ana.get("/search", params={"q": "kidnapping"}).text)


def test_filters_become_fielded_text_that_parses_back() -> None:
    text, left_out = with_filters(
        "attack", {"group": ["aqim", "jnim"], "entity": ["PERSON:Iyad Ag Ghaly", "Gao"], "lang": ["fr"],
                   "place": ["gn:2457163"], "source": ['evil"feed']},
    )  # fmt: skip
    assert text == '(attack) AND (group:aqim OR group:jnim) AND entity:PERSON:"Iyad Ag Ghaly" AND entity:Gao ' + (
        "AND lang:fr AND place:gn:2457163"
    )
    assert left_out == ['source=evil"feed']
    query = json.dumps(parse_query(text))
    assert '"entity_names.person": "Iyad Ag Ghaly"' in query and '"place_ids": "gn:2457163"' in query
    assert with_filters("attack", {}) == ("attack", [])
    with pytest.raises(QuerySyntaxError, match="unknown field 'Groupz:'"):
        parse_query("Groupz:aqim")


def test_near_becomes_a_near_term_a_watch_compiles_with_the_place_table() -> None:
    text, left_out = with_filters("attack", {"near": ["Kidal 100km", "Bir Moghrein 50km"]})
    assert text == '(attack) AND near:Kidal 100km AND near:"Bir Moghrein" 50km' and left_out == []
    assert with_filters("attack", {"near": ["Kidal"]})[1] == ["near=Kidal"]  # no distance: named, not guessed
    compiled = json.dumps(parse_query(text, locate_place))
    assert compiled.count('"geo_distance"') == 2 and '"100km"' in compiled
    with pytest.raises(QuerySyntaxError):
        parse_query(text)  # without the place table a near: cannot compile: watches compile it when saved


def test_a_watch_from_a_search_near_a_place_keeps_the_distance(
    ana: httpx.Client, server: WebServer, es: Elasticsearch
) -> None:
    form = ana.get("/watches/new", params=[("q", "kidnapping"), ("near", "Kidal 100km"), ("bbox", "-5,10,5,20")])
    assert form.status_code == 200
    query = html.unescape(re.search(r'value="([^"]*)" required id="watch-q"', form.text).group(1))  # type: ignore[union-attr]
    assert query == "(kidnapping) AND near:Kidal 100km"
    dropped = html.unescape(re.search(r'id="dropped-filters"[^>]*>(.*?)</', form.text, re.S).group(1))  # type: ignore[union-attr]
    assert "bbox=" in dropped and "near=" not in dropped  # a box has no term: named, never silently lost
    saved = ana.post("/watches", data={"csrf_token": csrf_of(form.text), "name": "near kidal", "q": query})
    assert saved.status_code == 303, saved.text
    names = IndexNames(prefix=server.settings.es_index_prefix)
    stored = es.get(index=names.watches, id=query_watch_id("near kidal"))["_source"]
    assert '"geo_distance"' in json.dumps(stored) and stored["query_text"] == query
