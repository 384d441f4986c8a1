"""CSRF against the real workbench (uvicorn on 127.0.0.1, the real node): a page on a sibling loopback port plants
cookies for 127.0.0.1 (cookies are not isolated by port) and auto-submits a form, in real Chromium (Debian's
package through Playwright's ``executable_path``), signed in and without auth; and, request by request with
httpx, the two layers that stop it: the token is bound to the session or client cookie by the server's secret
(a planted cookie and field are refused even with no ``Origin``), and a browser's cross-origin marks are refused
(a valid token from a sibling origin is refused too)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
from elasticsearch import Elasticsearch

from search.alerting.watches import list_watches
from search.names import IndexNames
from tests.support.loopback import LoopbackServer
from tests.support.web import PASSWORD, WebServer, add_users, csrf_of, login, web_settings
from wirewatch.web.store import WebStore

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PLANTED = "p" * 43  # the token the sibling page plants as a cookie and repeats in its form
PLANTED_CLIENT = "c" * 43


class SiblingSite(LoopbackServer):
    """Another local web server (any dev server) on another port of 127.0.0.1: its page plants the cookies and
    posts a form to the workbench as soon as it loads."""

    def __init__(self, action: str, fields: dict[str, str]) -> None:
        super().__init__()
        self.action, self.fields = action, fields

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        inputs = "".join(f'<input name="{escape(k)}" value="{escape(v)}">' for k, v in self.fields.items())
        body = (
            f'<!doctype html><html><body><form id="f" method="post" action="{escape(self.action)}">{inputs}</form>'
            "<script>document.getElementById('f').submit()</script></body></html>"
        ).encode()
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        # a cookie for 127.0.0.1 is a cookie for every port of it: these replace the workbench's own
        request.send_header("Set-Cookie", f"ww_csrf={PLANTED}; Path=/")
        request.send_header("Set-Cookie", f"ww_client={PLANTED_CLIENT}; Path=/")
        request.end_headers()
        request.wfile.write(body)


def _serve(es: Elasticsearch, es_url: str, tmp: pytest.TempPathFactory, *, auth: bool) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp.mktemp("web"), auth=auth)
    try:
        with WebServer(settings) as srv:
            add_users(settings)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """Authentication on; users vera (viewer), ana (analyst), adam (admin)."""
    yield from _serve(es, es_url, tmp_path_factory, auth=True)


@pytest.fixture(scope="module")
def open_server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """No authentication: loopback only, every visitor the local admin."""
    yield from _serve(es, es_url, tmp_path_factory, auth=False)


def _names(server: WebServer) -> IndexNames:
    return IndexNames(prefix=server.settings.es_index_prefix)


def _watch_names(es: Elasticsearch, server: WebServer) -> list[str]:
    return [w.name for w in list_watches(es, _names(server))]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: `make setup` installs it")
    playwright_sync = pytest.importorskip("playwright.sync_api")
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _attacked_page(browser: object, server: WebServer, sibling: SiblingSite, *, sign_in: str | None) -> str:
    """A browser that uses the workbench (signed in as ``sign_in``) opens the sibling's page; the text of the
    workbench page its form lands on."""
    context = browser.new_context()  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{server.url}/search")
        if sign_in:
            page.fill("input[name=username]", sign_in)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server.url}/search")
        page.goto(sibling.url("/"))
        page.wait_for_url(f"{server.url}/**")
        page.wait_for_load_state()
        return str(page.inner_text("body"))
    finally:
        context.close()


@pytest.mark.slow
def test_a_sibling_port_cannot_make_a_signed_in_analyst_add_a_watch(
    server: WebServer, browser: object, es: Elasticsearch
) -> None:
    fields = {"name": "planted-watch", "q": "attack", "csrf_token": PLANTED}
    with SiblingSite(f"{server.url}/watches", fields) as sibling:
        landed = _attacked_page(browser, server, sibling, sign_in="ana")
    assert "planted-watch" not in _watch_names(es, server)
    assert "forbidden" in landed


@pytest.mark.slow
def test_a_sibling_port_cannot_make_the_local_admin_add_an_admin(
    open_server: WebServer, browser: object, es: Elasticsearch
) -> None:
    fields = {"username": "mallory", "password": "mallory-was-here", "role": "admin", "csrf_token": PLANTED}
    with SiblingSite(f"{open_server.url}/users", fields) as sibling:
        landed = _attacked_page(browser, open_server, sibling, sign_in=None)
    # without auth every visitor is the admin; this user would be one for real once auth is turned on
    assert WebStore(es, _names(open_server)).user("mallory") is None
    assert "forbidden" in landed


def test_a_planted_cookie_and_field_are_refused(server: WebServer, es: Elasticsearch) -> None:
    ana = login(server.url, "ana")
    try:
        for name in ("ww_csrf", "ww_client"):
            ana.cookies.set(name, PLANTED, domain="127.0.0.1", path="/")
        # no Origin, no Sec-Fetch-Site (an old browser, a script): only the token's binding can refuse it
        planted = ana.post("/watches", data={"name": "planted-by-cookie", "q": "attack", "csrf_token": PLANTED})
        assert planted.status_code == 403 and "security token" in planted.text
        vera = login(server.url, "vera")
        try:  # a token that is real, but another session's
            other = ana.post("/watches", data={"name": "planted-by-cookie", "q": "x", "csrf_token": _token(vera)})
        finally:
            vera.close()
        assert other.status_code == 403
        own = ana.post("/watches", data={"name": "own-watch", "q": "attack", "csrf_token": _token(ana)})
        assert own.status_code == 303
    finally:
        ana.close()
    assert "planted-by-cookie" not in _watch_names(es, server) and "own-watch" in _watch_names(es, server)


def test_no_auth_tokens_are_bound_to_the_client_cookie(open_server: WebServer, es: Elasticsearch) -> None:
    with httpx.Client(base_url=open_server.url) as victim, httpx.Client(base_url=open_server.url) as other:
        theirs = _token(other)  # a real token, for another browser's client cookie
        mine = _token(victim)
        assert theirs != mine
        victim.cookies.set("ww_csrf", PLANTED, domain="127.0.0.1", path="/")
        user = {"username": "mallory", "password": "mallory-was-here", "role": "admin"}
        assert victim.post("/users", data={**user, "csrf_token": PLANTED}).status_code == 403
        assert victim.post("/users", data={**user, "csrf_token": theirs}).status_code == 403
        assert WebStore(es, _names(open_server)).user("mallory") is None
        done = victim.post("/users", data={**user, "username": "olivia", "csrf_token": mine})
        assert done.status_code == 303
    assert WebStore(es, _names(open_server)).user("olivia") is not None


def test_signing_in_rotates_the_token(server: WebServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        before = csrf_of(client.get("/login").text)
        done = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": before})
        assert done.status_code == 303
        after = _token(client)
        assert after != before
        stale = client.post("/saved", data={"name": "stale", "params": "q=x", "csrf_token": before})
        assert stale.status_code == 403
        assert client.post("/saved", data={"name": "fresh", "params": "q=x", "csrf_token": after}).status_code == 303


def test_a_valid_token_from_another_origin_is_refused(server: WebServer) -> None:
    ana = login(server.url, "ana")
    try:
        token = _token(ana)
        form = {"name": "origin-check", "params": "q=x", "csrf_token": token}
        sibling = f"http://127.0.0.1:{server.port + 1 if server.port < 65535 else server.port - 1}"
        for headers in ({"Origin": sibling}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "null"},
                        {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}):  # fmt: skip
            refused = ana.post("/saved", data=form, headers=headers)
            assert refused.status_code == 403, headers
            assert "another site or port" in refused.text
        same = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
        assert ana.post("/saved", data=form, headers=same).status_code == 303
    finally:
        ana.close()


def _token(client: httpx.Client) -> str:
    return csrf_of(client.get("/search", follow_redirects=True).text)
