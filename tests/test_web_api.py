"""The workbench's HTTP API and pages on a real uvicorn server (127.0.0.1) over the real node: search state in
the URL, caret errors, search_after paging, facets, the attention chart's figures, exports, alerts with
acknowledgements, watches, feeds, and the security rules (auth, roles, CSRF, cookies, hosts)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from fastapi.routing import APIRoute

from search.alerting.alerts import create_alerts
from search.alerting.matching import run_watch
from search.alerting.watches import get_watch
from search.feedstate import EsFeedStateStore
from search.names import IndexNames
from search.querying.query import SearchRequest, search_articles
from tests.support.web import (
    PASSWORD,
    WebServer,
    add_users,
    corpus,
    csrf_of,
    fill,
    login,
    web_settings,
)
from wirewatch.cli import cli as root_cli


def _drop(es: Elasticsearch, prefix: str) -> None:
    es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """Authentication on; users vera (viewer), ana (analyst), adam (admin); the corpus indexed."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=True)
    try:
        with WebServer(settings) as srv:
            fill(es, IndexNames(prefix=prefix), corpus())
            add_users(settings)
            yield srv
    finally:
        _drop(es, prefix)


@pytest.fixture(scope="module")
def names(server: WebServer) -> IndexNames:
    return IndexNames(prefix=server.settings.es_index_prefix)


@pytest.fixture(scope="module")
def ana(server: WebServer) -> Iterator[httpx.Client]:
    client = login(server.url, "ana")
    yield client
    client.close()


@pytest.fixture(scope="module")
def vera(server: WebServer) -> Iterator[httpx.Client]:
    client = login(server.url, "vera")
    yield client
    client.close()


def test_search_api_returns_the_cli_json(ana: httpx.Client, es: Elasticsearch, names: IndexNames) -> None:
    got = ana.get("/api/v1/search", params={"q": "attack", "group": "isis", "sort": "newest"})
    assert got.status_code == 200
    direct = search_articles(es, names, SearchRequest(query="attack", groups=["isis"], sort="newest"))
    assert got.json() == direct.as_dict()  # what `wirewatch search --json` prints for the same search
    assert [h["id"] for h in got.json()["hits"]] == ["sahel", "seed"]


def test_query_syntax_error_shows_the_caret(ana: httpx.Client) -> None:
    api = ana.get("/api/v1/search", params={"q": 'Libya "Islamic State'})
    assert api.status_code == 400
    assert api.json()["position"] == 6 and api.json()["field"] == "q"
    page = ana.get("/search", params={"q": 'Libya "Islamic State'})
    assert page.status_code == 400
    caret = re.search(r'<pre class="caret" id="caret">(.*?)</pre>', page.text, re.S)
    assert caret is not None
    query_line, pointer = caret.group(1).split("\n")
    assert query_line == "Libya &#34;Islamic State"  # escaped, and the caret under the quote
    assert pointer == " " * 6 + "^"


def test_pages_follow_search_after_to_the_end_without_repeats(ana: httpx.Client) -> None:
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2", "sort": "newest"}
    for _ in range(10):
        page = ana.get("/api/v1/search", params=params).json()
        seen += [h["id"] for h in page["hits"]]
        if not page["next"]:
            break
        params["after"] = page["next"]
    assert len(seen) == len(set(seen)) == page["total"] == 5
    # the page links carry the cursor in the URL, and a wrong cursor is a readable 400
    html = ana.get("/search", params={"sort": "newest"}).text
    assert re.search(r'href="/search\?sort=newest&amp;after=[\w-]+" id="next-page"', html)
    assert ana.get("/search", params={"after": "bogus"}).status_code == 400


def test_a_facet_link_adds_its_filter_to_the_url(ana: httpx.Client) -> None:
    html = ana.get("/search", params={"q": "attack"}).text
    link = re.search(r'<a class="facet" data-facet="group" href="(/search\?[^"]+)" dir="auto">jnim</a>', html)
    assert link is not None
    href = link.group(1).replace("&amp;", "&")
    assert href == "/search?q=attack&group=jnim"
    filtered = ana.get(href).text
    assert 'id="total">1<' in filtered and "/articles/sahel" in filtered
    entity = re.search(r'data-facet="entity" href="(/search\?[^"]+)" dir="auto">Mali</a>', filtered)
    assert entity is not None and "entity=GPE%3AMali" in entity.group(1)


def test_attention_counts_per_day_and_share_of_all_articles(ana: httpx.Client) -> None:
    chart = ana.get("/api/v1/attention", params={"group": "isis", "since": "2024-05-01", "until": "2024-06-30"}).json()
    assert chart["interval"] == "day"
    days = {b["date"]: b for b in chart["buckets"] if b["count"]}
    assert set(days) == {"2024-05-04", "2024-05-10"}
    assert days["2024-05-10"] == {"date": "2024-05-10", "count": 1, "total": 1, "share": 1.0}
    html = ana.get("/search", params={"group": "isis", "since": "2024-05-01", "until": "2024-06-30"}).text
    assert '<svg class="chart"' in html and "2024-05-10: 1 matching of 1 (100%)" in html


def test_export_streams_csv_capped_by_the_setting(ana: httpx.Client) -> None:
    done = ana.get("/api/v1/search/export", params={"format": "csv", "sort": "newest"})
    assert done.status_code == 200 and done.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(done.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["id", "title", "url", "source", "published_at", "groups"]
    assert [r[0] for r in rows[1:]] == ["somalia", "sahel", "hostile"]  # web_export_max=3 of 5
    lines = ana.get("/api/v1/search/export", params={"format": "json", "q": "Belmokhtar"}).text.splitlines()
    assert len(lines) == 1 and '"id": "seed"' in lines[0]


def test_every_route_checks_a_role_or_is_the_login_form(server: WebServer) -> None:
    unguarded = []
    for route in server.app.routes:
        if not isinstance(route, APIRoute):
            continue  # the static files mount: stylesheets only
        calls = [d.call for d in route.dependant.dependencies]
        calls += [sub.call for d in route.dependant.dependencies for sub in d.dependencies]
        guarded = any(getattr(c, "required_role", None) for c in calls)
        if not guarded and not (route.path == "/login" and any(c.__name__ == "csrf_only" for c in calls)):
            unguarded.append(route.path)
    assert unguarded == ["/metrics", "/healthz"]  # for scrapers and probes: counts and health only, no data


def test_without_a_session_pages_send_to_login_and_the_api_answers_401(server: WebServer) -> None:
    with httpx.Client(base_url=server.url) as anon:
        page = anon.get("/alerts?watch=x")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Falerts%3Fwatch%3Dx"
        api = anon.get("/api/v1/search")
        assert api.status_code == 401 and api.json()["error"] == "unauthorized"
        assert anon.get("/api/v1/search", headers={"Authorization": "Bearer ww_not-a-token"}).status_code == 401


def test_login_sets_a_strict_httponly_session_cookie_and_refuses_wrong_passwords(server: WebServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        csrf = csrf_of(client.get("/login").text)
        wrong = client.post("/login", data={"username": "ana", "password": "nope", "csrf_token": csrf})
        assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
        forged = client.post("/login", data={"username": "ana", "password": PASSWORD})
        assert forged.status_code == 403  # no CSRF token: a login forged by another site
        ok = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": csrf, "next": "//evil"})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        cookie = next(v for k, v in ok.headers.multi_items() if k == "set-cookie" and v.startswith("ww_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie  # plain http here
        headers = client.get("/search").headers
        assert "script-src 'self'" in headers["content-security-policy"]


def test_a_viewer_is_refused_analyst_actions(server: WebServer, vera: httpx.Client) -> None:
    csrf = csrf_of(vera.get("/search").text)
    saved = vera.post("/saved", data={"name": "mine", "params": "q=x", "csrf_token": csrf})
    assert saved.status_code == 403 and "needs the analyst role" in saved.text
    assert vera.get("/watches/new?q=attack").status_code == 403
    assert vera.get("/users").status_code == 403
    assert vera.get("/api/v1/search").status_code == 200  # reading is what a viewer may do


def test_api_tokens_act_with_their_users_role(server: WebServer, es_url: str) -> None:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": server.settings.es_index_prefix}
    viewer_token = CliRunner().invoke(root_cli, ["tokens", "create", "vera"], env=env).output.strip()
    analyst = CliRunner().invoke(root_cli, ["tokens", "create", "ana", "--name", "ci"], env=env)
    assert analyst.exit_code == 0, analyst.output
    analyst_token = analyst.output.strip()
    body = {"name": "token-watch", "query": "attack"}
    refused = httpx.post(f"{server.url}/api/v1/watches", json=body, headers={"Authorization": f"Bearer {viewer_token}"})
    assert refused.status_code == 403
    made = httpx.post(f"{server.url}/api/v1/watches", json=body, headers={"Authorization": f"Bearer {analyst_token}"})
    assert made.status_code == 201 and made.json()["name"] == "token-watch"
    revoked = CliRunner().invoke(root_cli, ["tokens", "revoke", analyst_token[:10]], env=env)
    assert revoked.exit_code == 0, revoked.output
    again = httpx.get(f"{server.url}/api/v1/watches", headers={"Authorization": f"Bearer {analyst_token}"})
    assert again.status_code == 401


def test_forms_without_the_csrf_token_are_refused(ana: httpx.Client) -> None:
    refused = ana.post("/saved", data={"name": "libya", "params": "q=Libya"})
    assert refused.status_code == 403
    other = ana.post("/saved", data={"name": "libya", "params": "q=Libya", "csrf_token": "x" * 43})
    assert other.status_code == 403
    csrf = csrf_of(ana.get("/search").text)
    done = ana.post("/saved", data={"name": "libya", "params": "q=Libya&after=abc&evil=1", "csrf_token": csrf})
    assert done.status_code == 303
    saved = ana.get("/api/v1/saved-searches").json()
    assert [(s["name"], s["params"]) for s in saved] == [("libya", "q=Libya")]  # only search state is kept


def test_saved_searches_belong_to_their_user(ana: httpx.Client, vera: httpx.Client) -> None:
    made = ana.post("/api/v1/saved-searches", json={"name": "sahel", "params": "q=Sahel&group=jnim"})
    assert made.status_code == 201
    assert "sahel" not in [s["name"] for s in vera.get("/api/v1/saved-searches").json()]
    assert vera.delete(f"/api/v1/saved-searches/{made.json()['id']}").status_code == 403
    assert ana.delete(f"/api/v1/saved-searches/{made.json()['id']}").status_code == 200


def test_watch_preview_create_disable_and_remove(ana: httpx.Client, es: Elasticsearch, names: IndexNames) -> None:
    bad = ana.post("/api/v1/watches/preview", json={"query": "attack AND"})
    assert bad.status_code == 400 and bad.json()["position"] == 10
    preview = ana.post("/api/v1/watches/preview", json={"query": '"Islamic State"', "days": 7}).json()
    assert sorted(r["article_id"] for r in preview) == ["hostile", "sahel", "seed"]
    page = ana.get("/watches/new", params={"q": '"Islamic State"', "name": "is-watch", "preview": "true"}).text
    assert "It would have raised 3 alert(s)" in page
    csrf = csrf_of(page)
    saved = ana.post("/watches", data={"name": "is-watch", "q": '"Islamic State"', "csrf_token": csrf})
    assert saved.status_code == 303
    assert get_watch(es, names, "is-watch").channels == ("file",)
    disabled = ana.post("/api/v1/watches/is-watch/disable", json={})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    rows = {w["name"]: w for w in ana.get("/api/v1/watches").json()}
    assert rows["is-watch"]["enabled"] is False and rows["is-watch"]["query"] == '"Islamic State"'
    assert ana.delete("/api/v1/watches/is-watch").status_code == 200
    assert ana.delete("/api/v1/watches/is-watch").status_code == 404


def test_alerts_inbox_and_acknowledgement_per_user(
    server: WebServer, ana: httpx.Client, es: Elasticsearch, names: IndexNames
) -> None:
    assert ana.post("/api/v1/watches", json={"name": "shabaab", "query": "Mogadishu"}).status_code == 201
    created = create_alerts(es, names, run_watch(es, names, get_watch(es, names, "shabaab")))
    assert len(created.created) == 1
    alerts = ana.get("/api/v1/alerts", params={"watch": "shabaab"}).json()
    assert len(alerts) == 1 and alerts[0]["article_id"] == "somalia" and alerts[0]["acknowledged_at"] is None
    assert alerts[0]["deliveries"] == [{"channel": "file", "state": "pending", "attempts": 0}]
    page = ana.get("/alerts", params={"watch": "shabaab", "state": "pending"}).text
    assert "file: pending" in page and "Mogadishu" in page
    csrf = csrf_of(page)
    done = ana.post("/alerts/acknowledge", data={"alert_id": alerts[0]["id"], "csrf_token": csrf, "back": "/alerts"})
    assert done.status_code == 303
    assert ana.get("/api/v1/alerts", params={"watch": "shabaab"}).json()[0]["acknowledged_at"]
    assert ana.get("/api/v1/alerts", params={"watch": "shabaab", "unacknowledged": "true"}).json() == []
    adam = login(server.url, "adam")  # acknowledged by ana, still new for adam
    try:
        assert adam.get("/api/v1/alerts", params={"watch": "shabaab"}).json()[0]["acknowledged_at"] is None
    finally:
        adam.close()
    article = ana.get("/api/v1/articles/somalia").json()
    assert [a["watch"]["name"] for a in article["alerts"]] == ["shabaab"]


def test_feeds_table_lists_failing_feeds_first(ana: httpx.Client, es: Elasticsearch, names: IndexNames) -> None:
    EsFeedStateStore(es, names).save({
        "seed-rss": {"consecutive_failures": 0, "last_success_at": "2024-05-01T00:00:00+00:00"},
        "seed-atom": {"consecutive_failures": 3, "last_error": "HTTP 503 <b>down</b>"},
    })  # fmt: skip
    rows = ana.get("/api/v1/feeds").json()
    health = [(r["id"], r["health"]) for r in rows]
    assert health[0] == ("seed-atom", "failing")  # failing first; then never polled, then ok
    assert dict(health)["seed-rss"] == "ok" and health[-1][1] == "ok"
    page = ana.get("/feeds").text
    assert page.index("seed-atom") < page.index("seed-rss") and "HTTP 503 &lt;b&gt;down&lt;/b&gt;" in page


def test_hostile_article_is_escaped_in_the_page(ana: httpx.Client) -> None:
    page = ana.get("/articles/hostile").text
    assert "<script>window" not in page and "<img src=x" not in page and "<svg onload" not in page
    assert 'href="javascript:' not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page


def test_a_foreign_host_header_is_refused(server: WebServer) -> None:
    # DNS rebinding: a hostile name resolving to 127.0.0.1 reaches the server with its own Host
    assert httpx.get(f"{server.url}/search", headers={"Host": "evil.example"}).status_code == 400


def test_serve_refuses_a_public_address_without_auth(tmp_path: Path) -> None:
    result = CliRunner().invoke(root_cli, ["serve", "--host", "0.0.0.0"], env={"WIREWATCH_WEB_AUTH": "false"})
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0 without authentication" in result.output


def test_users_cli_adds_lists_and_removes(es: Elasticsearch, es_url: str, index_prefix: str) -> None:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_prefix}
    runner = CliRunner()
    added = runner.invoke(root_cli, ["users", "add", "zoe", "--role", "viewer", "--password", PASSWORD], env=env)
    assert added.exit_code == 0, added.output
    short = runner.invoke(root_cli, ["users", "add", "bob", "--password", "short"], env=env)
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    listed = runner.invoke(root_cli, ["users", "list", "--json"], env=env)
    assert '"username": "zoe"' in listed.output and "password" not in listed.output
    stored = es.get(index=f"{index_prefix}wirewatch-web-users", id="zoe")["_source"]["password_hash"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert runner.invoke(root_cli, ["users", "remove", "zoe"], env=env).exit_code == 0
    assert runner.invoke(root_cli, ["users", "remove", "zoe"], env=env).exit_code == 2
