"""``published:`` in the query language, unknown field values refused with suggestions, and one query for every
door: the search form, the API, the CLI and a watch saved from the search compile the same filters (dates too)
into the same Elasticsearch query, over the real node, the real workbench server and real Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.errors import QuerySyntaxError
from search.querying.fields import published_range
from search.querying.query import SearchRequest, build_query, parse_when
from search.querying.querylang import parse_query
from tests.support.search_docs import make_doc
from tests.support.web import PASSWORD, WebServer, login, served_corpus
from wirewatch.cli import cli as root_cli

RECENT = (datetime.now(UTC) - timedelta(days=2)).isoformat()


def _docs() -> list[dict[str, object]]:
    return [
        make_doc("p-nov-fr", title="Enlèvement à Gao", language="fr", groups=["aqim"], source="wire-a",
                 published_at="2026-11-15T09:00:00+00:00", text="AQMI a revendiqué l'enlèvement à Gao."),
        make_doc("p-nov30-fr", title="Attaque près de Gao", language="fr", groups=["aqim"], source="wire-a",
                 published_at="2026-11-30T23:30:00+00:00", text="Une attaque près de Gao, revendiquée par AQMI."),
        make_doc("p-dec1-fr", title="Enlèvement à Kidal", language="fr", groups=["aqim"], source="wire-b",
                 published_at="2026-12-01T00:30:00+00:00", text="AQMI a revendiqué l'enlèvement à Kidal."),
        make_doc("p-nov-en", title="Kidnapping in Gao", groups=["aqim"], source="wire-b",
                 published_at="2026-11-16T09:00:00+00:00", text="AQIM claimed the kidnapping in Gao."),
        make_doc("p-old-fr", title="Enlèvement ancien", language="fr", groups=["aqim"], source="wire-a",
                 published_at="2018-03-01T09:00:00+00:00", text="AQMI a revendiqué un enlèvement en 2018."),
        make_doc("p-recent-fr", title="Enlèvement récent", language="fr", groups=["aqim"], source="wire-c",
                 published_at=RECENT, text="AQMI a revendiqué un enlèvement cette semaine."),
        make_doc("p-ar", title="اختطاف في غاو", language="ar", source="wire-a",
                 published_at="2025-06-01T09:00:00+00:00", text="اختطاف مهندسين في غاو."),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with served_corpus(es, es_url, tmp_path_factory.mktemp("published"), _docs(), web_page_size=20) as srv:
        yield srv


@pytest.fixture(scope="module")
def ana(server: WebServer) -> Iterator[httpx.Client]:
    client = login(server.url, "ana")
    yield client
    client.close()


def _ids(client: httpx.Client, params: list[tuple[str, str]]) -> set[str]:
    got = client.get("/api/v1/search", params=[*params, ("collapse", "0"), ("limit", "50")])
    assert got.status_code == 200, got.text
    return {hit["id"] for hit in got.json()["hits"]}


def _cli(server: WebServer, *args: str) -> tuple[int, str]:
    settings = server.settings
    env = {"WIREWATCH_ES_URL": settings.es_url or "", "WIREWATCH_ES_INDEX_PREFIX": settings.es_index_prefix}
    done = CliRunner().invoke(root_cli, list(args), env=env)
    return done.exit_code, done.output


def test_published_values_and_their_ranges() -> None:
    assert published_range(">=2026-11-01") == {"gte": "2026-11-01||/d"}
    assert published_range("<2026-12-01") == {"lt": "2026-12-01||/d"}
    assert published_range("2026-11-01") == {"gte": "2026-11-01||/d", "lte": "2026-11-01||/d"}
    assert published_range(">7d") == {"gt": "now-7d"} and published_range("24h") == {"gte": "now-24h"}
    assert published_range("<=2026-11-30T12:00:00") == {"lte": "2026-11-30T12:00:00Z"}
    with pytest.raises(QuerySyntaxError, match="is not a date or an age") as bad:
        parse_query("attack published:>=2026-13-01")
    assert bad.value.position == 7
    with pytest.raises(QuerySyntaxError, match="did you mean lang:fr"):
        parse_query("lang:frnch")


def test_published_in_a_query(ana: httpx.Client) -> None:
    november = [("q", "group:aqim published:>=2026-11-01 published:<2026-12-01")]
    assert _ids(ana, november) == {"p-nov-fr", "p-nov30-fr", "p-nov-en"}
    assert _ids(ana, [("q", "published:>3d")]) == {"p-recent-fr"}  # relative to now (2 days ago)
    assert _ids(ana, [("q", "Published: 2026-11-30")]) == {"p-nov30-fr"}  # that whole day (UTC)
    assert _ids(ana, [("q", "lang:fr published:<2020-01-01")]) == {"p-old-fr"}


def test_the_form_the_api_the_cli_and_the_watch_compile_one_query(ana: httpx.Client, server: WebServer) -> None:
    filters = [("group", "aqim"), ("lang", "fr"), ("since", "2026-11-01"), ("until", "2026-11-30")]
    expected = {"p-nov-fr", "p-nov30-fr"}  # not Dec 1st, not English, not 2018
    assert _ids(ana, [("q", "enlèvement OR attaque"), *filters]) == expected  # the API (and the form: one route)
    code, out = _cli(server, "search", "enlèvement OR attaque", "--group", "aqim", "--lang", "fr", "--since",
                     "2026-11-01", "--until", "2026-11-30", "--json", "--no-collapse")  # fmt: skip
    assert code == 0, out
    assert {h["id"] for h in json.loads(out)["hits"]} == expected
    # the watch saved from that search: its query text holds every filter, and compiles to the search's query
    page = ana.get("/search", params=[("q", "enlèvement OR attaque"), *filters])
    link = html.unescape(re.search(r'href="([^"]+)" id="watch-this"', page.text).group(1))  # type: ignore[union-attr]
    form = ana.get(link)
    text = html.unescape(re.search(r'value="([^"]*)" required id="watch-q"', form.text).group(1))  # type: ignore[union-attr]
    assert text == "(enlèvement OR attaque) AND group:aqim AND lang:fr AND published:>=2026-11-01 AND " + (
        "published:<=2026-11-30"
    )
    same = SearchRequest(
        query="enlèvement OR attaque", groups=["aqim"], lang="fr", since=parse_when("2026-11-01"),
        until=parse_when("2026-11-30", end_of_day=True),
    )  # fmt: skip
    assert build_query(same) == {"bool": {"must": [parse_query(text)], "filter": []}}
    preview = ana.get("/watches/new?" + urlencode({"q": text, "name": "nov", "preview": "true", "days": "3650"}))
    assert set(re.findall(r'href="/articles/([^"]+)"', preview.text)) == expected


def test_an_unknown_value_is_an_error_with_suggestions(ana: httpx.Client, server: WebServer) -> None:
    api = ana.get("/api/v1/search", params={"q": "kidnapping group:aqlm"})
    assert api.status_code == 400 and api.headers["content-type"].startswith("application/json")
    assert api.json()["position"] == 11 and "did you mean group:aqim?" in api.json()["message"]
    country = ana.get("/api/v1/search", params={"q": "country:Mali"}).json()
    assert "did you mean country:ML?" in country["message"]
    event = ana.get("/api/v1/search", params={"q": "event:abduktion"}).json()
    assert "did you mean event:abduction?" in event["message"]
    source = ana.get("/api/v1/search", params={"q": "source:wire-z"}).json()
    assert "did you mean source:wire-" in source["message"] and "source:wire-a" in source["message"]
    filtered = ana.get("/api/v1/search", params={"group": "aqlm"})
    assert filtered.status_code == 400 and filtered.json()["field"] == "group"
    page = ana.get("/search", params={"q": "group:<b>aqim"})  # the value is shown escaped, with the caret
    assert page.status_code == 400 and "&lt;b&gt;aqim" in page.text and "<b>aqim" not in page.text
    code, out = _cli(server, "search", "kidnapping group:aqlm")
    assert code != 0 and "did you mean group:aqim?" in out and "\n" + " " * (2 + 11) + "^" in out
    code, out = _cli(server, "search", "--group", "aqlm")
    assert code != 0 and "--group: unknown group 'aqlm': did you mean group:aqim?" in out
    code, out = _cli(server, "watch", "add", "x", "--query", "group:aqlm")
    assert code != 0 and "did you mean group:aqim?" in out


def test_the_language_facet(ana: httpx.Client, server: WebServer) -> None:
    facets = ana.get("/api/v1/search", params={"q": "published:<2026-01-01"}).json()["facets"]
    assert {b["value"]: b["count"] for b in facets["languages"]} == {"fr": 1, "ar": 1}
    page = ana.get("/search", params={"q": "published:<2026-01-01"}).text
    facet = page[page.index('id="language-facet"') :]
    assert re.search(r'<a class="facet" data-facet="lang" href="/search\?q=published%3A%3C2026-01-01&amp;lang=ar" '
                     r'lang="ar" dir="rtl">العربية</a>', facet)  # fmt: skip
    assert re.search(r'data-facet="lang" href="[^"]*lang=fr" lang="fr" dir="auto">français</a>', facet)
    code, out = _cli(server, "search", "published:<2026-01-01")
    assert code == 0 and "languages:" in out and "fr (1)" in out


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make setup` installs it")
def test_browser_fielded_search_then_watch_preview_keeps_the_filters(server: WebServer) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{server.url}/search")
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/search")
        page.fill("#q", "group:AQIM lang:fr published:<2026-12-01")
        page.click("details.filters summary")
        page.fill("input[name=since]", "2026-11-01")
        page.click("form#searchform button[type=submit]")
        page.wait_for_url("**/search?*")
        assert page.inner_text("#total") == "2"
        page.click("#watch-this")
        page.wait_for_url("**/watches/new?*")
        page.fill("#watch-name", "aqim-fr-nov")
        page.fill("input[name=days]", "3650")
        page.click("#preview")
        page.wait_for_selector("#preview-results")
        assert page.input_value("#watch-q") == "(group:AQIM lang:fr published:<2026-12-01) AND published:>=2026-11-01"
        shown = {href.split("/articles/")[1] for href in page.eval_on_selector_all(
            "#preview-results a[href^='/articles/']", "els => els.map(e => e.getAttribute('href'))")}  # fmt: skip
        assert shown == {"p-nov-fr", "p-nov30-fr"}
        browser.close()
