"""The workbench's small hardening rules on a real uvicorn server over the real node: feed URLs masked in the
page, the API and the CLI; the same bounds on watches through the form, the API and the CLI; acknowledgements of
real alerts only; "Saved watch" naming a stored watch only; full-width formula starts neutralised in exports; the
session cookie deleted with its own flags."""

from __future__ import annotations

import csv
import html
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.alerting.watches import list_watches
from search.feedstate import EsFeedStateStore
from search.names import IndexNames
from tests.support.search_docs import make_doc
from tests.support.web import PASSWORD, WebServer, add_users, corpus, csrf_of, fill, login
from wirewatch.cli import cli as root_cli
from wirewatch.settings import load_settings

FEED_URL = "https://reader:hunter2@news.example/rss.xml?api_key=SECRETKEY1&page=2&token=TOK123"
SECRETS = ("hunter2", "SECRETKEY1", "TOK123")
# spreadsheet formula starts in full-width and other compatibility forms, and a minus sign
LOOKALIKES = ("\uff1dHYPERLINK(\"http://evil.example\")", "\uff0b1+1", "\uff0d1+1", "\uff20SUM(1)", "\ufe661+1",
              "\u22121+1")  # fmt: skip


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    tmp = tmp_path_factory.mktemp("web-bounds")
    (tmp / "feeds.yaml").write_text(f'feeds:\n  - id: keyed\n    url: "{FEED_URL}"\n', encoding="utf-8")
    settings = load_settings(
        es_url=es_url, es_index_prefix=prefix, web_auth=True, alerts_file=tmp / "alerts.jsonl",
        summary_file=tmp / "last-pass.json", feeds_file=tmp / "feeds.yaml",
    )  # fmt: skip
    lookalikes = [make_doc(f"fw-{i}", title=t, source="wire-fw") for i, t in enumerate(LOOKALIKES)]
    try:
        with WebServer(settings) as srv:
            fill(es, IndexNames(prefix=prefix), corpus() + lookalikes)
            add_users(settings)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True)


@pytest.fixture(scope="module")
def names(server: WebServer) -> IndexNames:
    return IndexNames(prefix=server.settings.es_index_prefix)


@pytest.fixture(scope="module")
def env(server: WebServer) -> dict[str, str]:
    s = server.settings
    return {"WIREWATCH_ES_URL": str(s.es_url), "WIREWATCH_ES_INDEX_PREFIX": s.es_index_prefix,
            "WIREWATCH_FEEDS_FILE": str(s.feeds_file), "WIREWATCH_ALERTS_FILE": str(s.alerts_file)}  # fmt: skip


@pytest.fixture(scope="module")
def ana(server: WebServer) -> Iterator[httpx.Client]:
    client = login(server.url, "ana")
    yield client
    client.close()


def test_feed_urls_with_credentials_are_masked_in_the_page_the_api_and_the_cli(
    server: WebServer, names: IndexNames, es: Elasticsearch, env: dict[str, str]
) -> None:
    error = f"HTTP 401 for {FEED_URL}: check the key"
    EsFeedStateStore(es, names).save({"keyed": {"consecutive_failures": 2, "last_error": error}})
    viewer = login(server.url, "vera")
    try:
        row = viewer.get("/api/v1/feeds").json()[0]
        page = viewer.get("/feeds").text
    finally:
        viewer.close()
    cli = CliRunner().invoke(root_cli, ["feeds", "--json"], env=env)
    assert cli.exit_code == 0, cli.output
    masked = "https://reader:****@news.example/rss.xml?api_key=****&page=2&token=****"
    assert row["url"] == json.loads(cli.output)[0]["url"] == masked
    assert row["last_error"] == f"HTTP 401 for {masked}: check the key"
    assert html.escape(masked) in page
    for secret in SECRETS:
        assert secret not in page and secret not in json.dumps(row) and secret not in cli.output


def test_watches_have_the_same_bounds_through_the_form_the_api_and_the_cli(
    ana: httpx.Client, es: Elasticsearch, names: IndexNames, env: dict[str, str]
) -> None:
    csrf = csrf_of(ana.get("/watches/new").text)
    long_name = "n" * 30_000  # under the keyword limit: stored before these bounds
    form = ana.post("/watches", data={"name": long_name, "q": "attack", "csrf_token": csrf})
    assert form.status_code == 400 and "at most 200 characters" in form.text
    many = ana.post("/watches", data={"name": "many", "q": "attack", "channel": ["file"] * 51, "csrf_token": csrf})
    assert many.status_code == 400 and "at most 50 channels" in many.text
    api = ana.post("/api/v1/watches", json={"name": "flood", "query": "attack", "channels": ["file"] * 200_000})
    assert api.status_code == 422
    assert ana.post("/api/v1/watches", json={"name": long_name[:201], "query": "attack"}).status_code == 422
    preview = ana.post("/api/v1/watches/preview", json={"name": long_name[:201], "query": "attack"})
    assert preview.status_code == 422
    cli = CliRunner().invoke(root_cli, ["watch", "add", long_name, "--query", "attack"], env=env)
    assert cli.exit_code == 2 and "at most 200 characters" in cli.output
    control = CliRunner().invoke(root_cli, ["watch", "add", "two\nlines", "--query", "attack"], env=env)
    assert control.exit_code == 2 and "control characters" in control.output
    assert [w.name for w in list_watches(es, names, kind="query")] == []  # none of them was stored
    # within the bounds, repeats are one channel
    ok = ana.post("/api/v1/watches", json={"name": "twice", "query": "attack", "channels": ["file", "file"]})
    assert ok.status_code == 201 and ok.json()["channels"] == ["file"]


def test_only_alerts_that_exist_can_be_acknowledged(ana: httpx.Client, es: Elasticsearch, names: IndexNames) -> None:
    api = ana.post("/api/v1/alerts/0123456789abcdef0123456789abcdef/acknowledge", json={})
    assert api.status_code == 404 and "no alert with id" in api.json()["message"]
    assert ana.post(f"/api/v1/alerts/{'a' * 5000}/acknowledge", json={}).status_code == 404
    csrf = csrf_of(ana.get("/alerts").text)
    form = ana.post("/alerts/acknowledge", data={"alert_id": "no-such-alert", "csrf_token": csrf})
    assert form.status_code == 404
    acks = f"{names.prefix}wirewatch-web-acks"
    es.indices.refresh(index=acks)
    assert es.count(index=acks)["count"] == 0


def test_saved_note_names_only_a_watch_that_exists(ana: httpx.Client) -> None:
    spoof = "Your account is locked: call +1 555 0100"
    page = ana.get("/watches", params={"saved": spoof}).text
    assert "Saved watch" not in page and spoof not in page
    csrf = csrf_of(page)
    made = ana.post("/watches", data={"name": "  Sahel attacks ", "q": "attack", "csrf_token": csrf})
    assert made.status_code == 303
    note = ana.get(made.headers["location"]).text
    assert 'id="saved-note">Saved watch Sahel attacks.</p>' in note
    assert "Saved watch SAHEL" not in ana.get("/watches", params={"saved": "SAHEL ATTACKS"}).text  # stored spelling
    assert 'id="saved-note">Saved watch Sahel attacks.' in ana.get("/watches", params={"saved": "SAHEL ATTACKS"}).text


def test_export_neutralises_full_width_formula_starts(ana: httpx.Client) -> None:
    done = ana.get("/api/v1/search/export", params={"source": "wire-fw", "sort": "newest", "collapse": "0"})
    titles = [row[1] for row in list(csv.reader(io.StringIO(done.text)))[1:]]
    assert sorted(titles) == sorted("'" + t for t in LOOKALIKES)


def _cookies_of(response: httpx.Response, jar: dict[str, str]) -> list[str]:
    """The Set-Cookie headers of ``response``, their values kept in ``jar`` (sent back by hand: the cookies are
    Secure and the test server speaks plain http behind a trusted X-Forwarded-Proto)."""
    headers = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    for header in headers:
        name, _, value = header.split(";")[0].partition("=")
        jar[name] = value
    return headers


def test_logout_deletes_the_session_cookie_with_its_own_flags(server: WebServer, tmp_path: Path) -> None:
    jar: dict[str, str] = {}
    https = {"X-Forwarded-Proto": "https"}  # uvicorn trusts it from 127.0.0.1: the app sees an https request

    def send(method: str, path: str, **kw: object) -> httpx.Response:
        cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
        got = httpx.request(method, server.url + path, headers={**https, "Cookie": cookie}, **kw)  # type: ignore[arg-type]
        _cookies_of(got, jar)
        return got

    page = send("GET", "/login")
    signed = send("POST", "/login", data={"username": "vera", "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert signed.status_code == 303
    session = next(h for h in _cookies_of(signed, {}) if h.startswith("ww_session="))
    out = send("POST", "/logout", data={"csrf_token": csrf_of(send("GET", "/search").text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    deleted = next(h for h in _cookies_of(out, {}) if h.startswith("ww_session="))
    flags = lambda header: {p.strip().split("=")[0].lower() for p in header.split(";")[1:]} - {"max-age", "expires"}  # noqa: E731
    assert flags(session) == flags(deleted) == {"httponly", "path", "samesite", "secure"}
    assert "Max-Age=0" in deleted and "SameSite=strict" in deleted and "Path=/" in deleted
    assert send("GET", "/api/v1/me").status_code == 401  # and the session is over


def test_the_one_masking_function_masks_keys_not_ordinary_parameters() -> None:
    from wirewatch.settings import masked_url
    from wirewatch.summary import PassSummary

    assert masked_url("https://h/f?q=keyword&keywords=a&postcode=1&page=2") == "https://h/f?q=keyword&keywords=a&postcode=1&page=2"
    assert masked_url("https://h/f?api%5Fkey=s3&apiKey=k&X-Amz-Signature=a&X-Amz-Date=1&client_secret=c") == (
        "https://h/f?api%5Fkey=****&apiKey=****&X-Amz-Signature=****&X-Amz-Date=1&client_secret=****"
    )
    assert masked_url("failed (see https://h/?access_token=abc).") == "failed (see https://h/?access_token=****)."
    summary = PassSummary()
    summary.fail("poll", FEED_URL, f"HTTP 401 for {FEED_URL}")  # the pass's summary, printed and written to a file
    shown = json.dumps(summary.to_dict())
    assert "api_key=****" in shown and not any(secret in shown for secret in SECRETS)
