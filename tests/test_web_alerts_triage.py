"""Alerts fit for triage: the inbox and the API show each alert's publication date and sort by it; an
acknowledgement can be made for the team, and then every user sees the alert acknowledged, and by whom.

Real workbench server, real node, real alerts (a real watch matched over the corpus), the real CLI."""

from __future__ import annotations

import json
import re
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
from tests.support.web import WebServer, corpus, csrf_of, login, served_corpus
from wirewatch.cli import cli as root_cli

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with served_corpus(es, es_url, tmp_path_factory.mktemp("web"), corpus()) as srv:
        yield srv


@pytest.fixture(scope="module")
def alerts(server: WebServer, es: Elasticsearch) -> list[dict[str, str]]:
    """One alert per dated corpus article, raised newest article first (so the newest alert is the oldest
    article): {id, article_id, published_at}, newest alert first."""
    names = IndexNames(prefix=server.settings.es_index_prefix)
    with closing(login(server.url, "ana")) as ana:
        assert ana.post("/api/v1/watches", json={"name": "everything", "query": "the OR a"}).status_code == 201
    matches = [m for m in run_watch(es, names, get_watch(es, names, "everything"), limit=50) if m.published_at]
    matches.sort(key=lambda m: str(m.published_at), reverse=True)
    assert len({m.published_at for m in matches}) >= 4, matches
    for n, match in enumerate(matches):
        assert len(create_alerts(es, names, [match], now=T0 + timedelta(minutes=n)).created) == 1
    es.indices.refresh(index=names.alerts)
    with closing(login(server.url, "vera")) as vera:
        listed = vera.get("/api/v1/alerts", params={"limit": "100"}).json()
    return [{"id": a["id"], "article_id": a["article_id"], "published_at": a["published_at"]} for a in listed]


def _pages(client: httpx.Client, params: dict[str, str], limit: int = 2) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    after = ""
    for _ in range(50):
        cursor = {"after": after} if after else {}
        got = client.get("/api/v1/alerts", params={**params, "limit": str(limit), **cursor})
        assert got.status_code == 200, got.text
        rows += got.json()
        after = got.headers.get("x-next-cursor", "")
        if not after:
            return rows
    raise AssertionError("the pages never ended")


def test_the_inbox_and_the_api_show_and_sort_by_publication(server: WebServer, alerts: list[dict[str, str]]) -> None:
    by_published = sorted(alerts, key=lambda a: (-datetime.fromisoformat(a["published_at"]).timestamp(), a["id"]))
    assert [a["id"] for a in by_published] != [a["id"] for a in alerts]  # the two orders differ here
    with closing(login(server.url, "vera")) as vera:
        rows = _pages(vera, {"sort": "published"})
        assert [r["id"] for r in rows] == [a["id"] for a in by_published]
        assert all(r["published_at"] for r in rows)
        bad = vera.get("/api/v1/alerts", params={"sort": "nonsense"})
        assert bad.status_code == 422

        page = vera.get("/alerts", params={"sort": "published", "limit": "2"})
        assert page.status_code == 200
        shown = re.findall(r'href="/articles/([^"]+)" dir="auto"', page.text)
        assert shown == [a["article_id"] for a in by_published[:2]]
        newest = by_published[0]["published_at"].replace("T", " ")[:16]
        assert f"published {newest}" in page.text
        assert '<option value="published" selected>' in page.text
        older = re.search(r'<a id="older" href="([^"]+)"', page.text)
        assert older and "sort=published" in unescape(older.group(1))
        second = vera.get(unescape(older.group(1)))
        assert re.findall(r'href="/articles/([^"]+)" dir="auto"', second.text) == [
            a["article_id"] for a in by_published[2:4]
        ]


def test_a_team_acknowledgement_counts_for_every_user(server: WebServer, alerts: list[dict[str, str]]) -> None:
    team_api, mine, team_form = alerts[0]["id"], alerts[1]["id"], alerts[2]["id"]
    with closing(login(server.url, "ana")) as ana:
        done = ana.post(f"/api/v1/alerts/{team_api}/acknowledge", params={"team": "true"}, json={})
        assert done.status_code == 200 and done.json()["team"] is True and done.json()["username"] == "ana"
        assert ana.post(f"/api/v1/alerts/{mine}/acknowledge", json={}).status_code == 200  # per user: the default
    with closing(login(server.url, "adam")) as adam:
        rows = {r["id"]: r for r in adam.get("/api/v1/alerts", params={"limit": "100"}).json()}
        assert rows[team_api]["acknowledged_by"] == "ana" and rows[team_api]["acknowledged_for_team"] is True
        assert rows[team_api]["acknowledged_at"]
        assert rows[mine]["acknowledged_at"] is None and rows[mine]["acknowledged_by"] is None
        # the filter is in the query: one per page, the team's alert never comes, ana's own still does
        left = [r["id"] for r in _pages(adam, {"unacknowledged": "true"}, limit=1)]
        assert team_api not in left and mine in left and len(left) == len(alerts) - 1
        # a second team acknowledgement leaves the first one standing
        again = adam.post(f"/api/v1/alerts/{team_api}/acknowledge", params={"team": "true"}, json={}).json()
        assert again["username"] == "ana"
        # the inbox's form, with its checkbox
        inbox = adam.get("/alerts")
        assert 'name="team" value="true"' in inbox.text
        sent = adam.post(
            "/alerts/acknowledge",
            data={"alert_id": team_form, "team": "true", "csrf_token": csrf_of(inbox.text), "back": "/alerts"},
        )
        assert sent.status_code == 303
    with closing(login(server.url, "vera")) as vera:  # a viewer sees who took them on
        page = vera.get("/alerts", params={"limit": "100"}).text
        assert "acknowledged for the team by ana" in page and "acknowledged for the team by adam" in page
        left = [r["id"] for r in _pages(vera, {"unacknowledged": "true"}, limit=3)]
        assert team_api not in left and team_form not in left and mine in left


def test_the_cli_acknowledges_for_the_team(server: WebServer, es_url: str, alerts: list[dict[str, str]]) -> None:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": server.settings.es_index_prefix}
    target = alerts[-1]["id"]
    done = CliRunner().invoke(root_cli, ["alerts", "acknowledge", target, "--as", "adam", "--team", "--json"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["team"] is True
    listed = CliRunner().invoke(
        root_cli, ["alerts", "list", "--unacknowledged-by", "ana", "--limit", "100", "--json"], env=env
    )
    assert listed.exit_code == 0, listed.output
    assert target not in [a["id"] for a in json.loads(listed.stdout)]
    with closing(login(server.url, "ana")) as ana:
        row = next(r for r in ana.get("/api/v1/alerts", params={"limit": "100"}).json() if r["id"] == target)
        assert row["acknowledged_by"] == "adam" and row["acknowledged_for_team"] is True
    missing = CliRunner().invoke(root_cli, ["alerts", "acknowledge", "f" * 32, "--as", "adam"], env=env)
    assert missing.exit_code == 2 and "wirewatch alerts list" in missing.output


def test_an_assignee_is_seen_by_everybody_and_mine_filters_before_the_limit(
    server: WebServer, alerts: list[dict[str, str]]
) -> None:
    by_api, by_form, other = alerts[0]["id"], alerts[3]["id"], alerts[1]["id"]
    with closing(login(server.url, "ana")) as ana:
        done = ana.post(f"/api/v1/alerts/{by_api}/assign", params={"assignee": "adam"}, json={})
        assert done.status_code == 200, done.text
        assert (done.json()["assignee"], done.json()["by"]) == ("adam", "ana")
        assert ana.post(f"/api/v1/alerts/{other}/assign", params={"assignee": "ana"}, json={}).status_code == 200
        inbox = ana.get("/alerts")
        assert '<select name="assignee">' in inbox.text and '<option value="adam">' in inbox.text
        sent = ana.post("/alerts/assign", data={"alert_id": by_form, "assignee": "adam", "back": "/alerts",
                                                "csrf_token": csrf_of(inbox.text)})  # fmt: skip
        assert sent.status_code == 303
        assert ana.post(f"/api/v1/alerts/{by_api}/assign", params={"assignee": "nobody"}, json={}).status_code == 400
        assert ana.post("/api/v1/alerts/0000/assign", params={"assignee": "adam"}, json={}).status_code == 404
    with closing(login(server.url, "adam")) as adam:
        mine = [r["id"] for r in _pages(adam, {"mine": "true"}, limit=1)]  # one per page: filtered in the query
        assert sorted(mine) == sorted([by_api, by_form])
        page = adam.get("/alerts", params={"mine": "true"}).text
        assert 'name="mine" value="true" checked' in page and page.count('class="assigned"') == 2
    with closing(login(server.url, "vera")) as vera:  # a viewer sees who has it, and cannot assign
        rows = {r["id"]: r for r in vera.get("/api/v1/alerts", params={"limit": "100"}).json()}
        assert (rows[by_api]["assignee"], rows[by_api]["assigned_by"]) == ("adam", "ana")
        assert rows[by_api]["assigned_at"] and rows[alerts[2]["id"]]["assignee"] is None
        assert "assigned to <strong>adam</strong> by ana" in vera.get("/alerts", params={"limit": "100"}).text
        assert vera.post(f"/api/v1/alerts/{by_api}/assign", params={"assignee": "vera"}, json={}).status_code == 403
        assert [r["id"] for r in vera.get("/api/v1/alerts", params={"mine": "true"}).json()] == []
    with closing(login(server.url, "ana")) as ana:  # taken back: no longer in adam's list
        undone = ana.post(f"/api/v1/alerts/{by_form}/assign", params={"assignee": ""}, json={}).json()
        assert undone["assignee"] is None
    with closing(login(server.url, "adam")) as adam:
        assert [r["id"] for r in adam.get("/api/v1/alerts", params={"mine": "true"}).json()] == [by_api]


def test_the_cli_assigns_and_lists_what_is_assigned(
    server: WebServer, es_url: str, alerts: list[dict[str, str]]
) -> None:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": server.settings.es_index_prefix}
    target = alerts[-2]["id"]
    done = CliRunner().invoke(root_cli, ["alerts", "assign", target, "--to", "vera", "--as", "adam", "--json"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["assignee"] == "vera"
    listed = CliRunner().invoke(root_cli, ["alerts", "list", "--assigned-to", "vera", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert [a["id"] for a in json.loads(listed.stdout)] == [target]
    wrong = CliRunner().invoke(root_cli, ["alerts", "assign", target, "--to", "nobody", "--as", "adam"], env=env)
    assert wrong.exit_code != 0 and "no workbench user 'nobody'" in wrong.output
