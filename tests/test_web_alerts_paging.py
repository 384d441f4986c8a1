"""The alerts inbox, its API and `wirewatch alerts list` filter in the query and page with search_after.

Real workbench server, real node, real alerts (a real watch matched over the corpus): older unacknowledged
alerts stay reachable once the newest ones are acknowledged, page after page, in the API, the HTML inbox and
the CLI."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.alerting.alerts import create_alerts
from search.alerting.matching import run_watch
from search.alerting.watches import get_watch
from search.names import IndexNames
from tests.support.web import WebServer, add_users, corpus, fill, login, web_settings
from wirewatch.cli import cli as root_cli

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """Authentication on; vera, ana, adam; one alert per corpus article, a minute apart (oldest: index 0)."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=True)
    try:
        with WebServer(settings) as srv:
            names = IndexNames(prefix=prefix)
            fill(es, names, corpus())
            add_users(settings)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def alert_ids(server: WebServer, es: Elasticsearch) -> list[str]:
    """The alerts' ids, newest first."""
    names = IndexNames(prefix=server.settings.es_index_prefix)
    ana = login(server.url, "ana")
    try:
        assert ana.post("/api/v1/watches", json={"name": "everything", "query": "the OR a"}).status_code == 201
    finally:
        ana.close()
    matches = run_watch(es, names, get_watch(es, names, "everything"), limit=50)
    assert len(matches) >= 5, matches
    for n, match in enumerate(matches):
        assert len(create_alerts(es, names, [match], now=T0 + timedelta(minutes=n)).created) == 1
    es.indices.refresh(index=names.alerts)
    with closing(login(server.url, "adam")) as adam:
        listed = [a["id"] for a in adam.get("/api/v1/alerts", params={"limit": "100"}).json()]
    assert len(listed) == len(matches)
    return listed


def page_through(client: httpx.Client, params: dict[str, str], limit: int = 2) -> list[dict[str, object]]:
    """Every page of /api/v1/alerts, following X-Next-Cursor (and checking Link says the same)."""
    rows: list[dict[str, object]] = []
    after = ""
    with closing(client):
        for _ in range(50):
            cursor = {"after": after} if after else {}
            got = client.get("/api/v1/alerts", params={**params, "limit": str(limit), **cursor})
            assert got.status_code == 200, got.text
            rows += got.json()
            after = got.headers.get("x-next-cursor", "")
            if not after:
                assert "link" not in got.headers
                return rows
            assert f"after={after}" in got.headers["link"] and got.headers["link"].endswith('rel="next"')
    raise AssertionError("the pages never ended")


def test_unacknowledged_filters_before_the_limit_in_the_api(server: WebServer, alert_ids: list[str]) -> None:
    ana = login(server.url, "ana")
    try:
        *newest, oldest = alert_ids
        for alert in newest:
            assert ana.post(f"/api/v1/alerts/{alert}/acknowledge", json={}).status_code == 200
        got = ana.get("/api/v1/alerts", params={"unacknowledged": "true", "limit": "1"})
        assert got.status_code == 200
        assert [a["id"] for a in got.json()] == [oldest]
        assert "x-next-cursor" not in got.headers
    finally:
        ana.close()
    # paging: every alert exactly once, newest first; the filter holds on every page
    assert [a["id"] for a in page_through(login(server.url, "ana"), {})] == alert_ids
    assert [a["id"] for a in page_through(login(server.url, "ana"), {"unacknowledged": "true"}, 1)] == [oldest]
    # acknowledged by ana, still new for adam
    assert [a["id"] for a in page_through(login(server.url, "adam"), {"unacknowledged": "true"}, 3)] == alert_ids


def test_a_cursor_the_listing_did_not_make_is_a_400(server: WebServer) -> None:
    with closing(login(server.url, "vera")) as vera:
        for bad in ("[" * 5000, "abc", "1.2.3", "9" * 40 + ".x"):
            got = vera.get("/api/v1/alerts", params={"after": bad})
            assert got.status_code == 400 and got.json()["field"] == "after", (bad[:20], got.text[:200])
        assert vera.get("/alerts", params={"after": "abc"}).status_code == 400


def _inbox_rows(html: str) -> list[str]:
    # each row carries its id in several forms (acknowledge, assign): one per row, in order
    return list(dict.fromkeys(re.findall(r'name="alert_id" value="([0-9a-f]+)"', html)))


def test_the_inbox_pages_with_older_links_that_keep_the_filters(server: WebServer, alert_ids: list[str]) -> None:
    with closing(login(server.url, "adam")) as adam:
        seen: list[str] = []
        url = "/alerts?watch=everything&state=pending&limit=2"
        pages = 0
        while url:
            page = adam.get(url)
            assert page.status_code == 200, page.text[:300]
            seen += _inbox_rows(page.text)
            pages += 1
            older = re.search(r'<a id="older" href="([^"]+)"', page.text)
            url = unescape(older.group(1)) if older else ""
            if url:
                assert "watch=everything" in url and "state=pending" in url and "limit=2" in url and "after=" in url
            if pages > 1:
                assert '<a id="newest" href="/alerts?watch=everything&amp;state=pending&amp;limit=2"' in page.text
        assert seen == alert_ids and pages == (len(alert_ids) + 1) // 2


def test_the_cli_filters_by_a_users_acknowledgements_and_pages(server: WebServer, es_url: str) -> None:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": server.settings.es_index_prefix}
    with closing(login(server.url, "vera")) as vera:
        every = [a["id"] for a in vera.get("/api/v1/alerts", params={"limit": "100"}).json()]
    with closing(login(server.url, "ana")) as ana:
        # ana acknowledges the two newest (more for her in the other test, whatever the order they run in)
        for alert in every[:2]:
            assert ana.post(f"/api/v1/alerts/{alert}/acknowledge", json={}).status_code == 200
        mine = ana.get("/api/v1/alerts", params={"unacknowledged": "true", "limit": "100"}).json()
        expected = [a["id"] for a in mine]
    assert expected and expected == [a for a in every if a in expected] and every[0] not in expected
    got: list[str] = []
    after: list[str] = []
    for _ in range(20):
        result = CliRunner().invoke(
            root_cli, ["alerts", "list", "--unacknowledged-by", "ana", "--limit", "1", "--json", *after], env=env
        )
        assert result.exit_code == 0, result.output
        got += [a["id"] for a in json.loads(result.stdout)]
        more = re.search(r"more alerts: --after (\S+)", result.stderr)
        if not more:
            break
        after = ["--after", more.group(1)]
    assert got == expected
    unknown = CliRunner().invoke(root_cli, ["alerts", "list", "--unacknowledged-by", "nobody"], env=env)
    assert unknown.exit_code == 2 and "wirewatch users list" in unknown.output
    bad = CliRunner().invoke(root_cli, ["alerts", "list", "--after", "[[["], env=env)
    assert bad.exit_code == 2 and "--after" in bad.output
