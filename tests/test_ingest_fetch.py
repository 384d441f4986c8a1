"""The safe fetcher against real loopback servers: guard, limits, retries, redirects, robots.txt."""

# ruff: noqa: SIM117  (a nested pytest.raises stays scoped to the one call it is about)

from __future__ import annotations

import gzip
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest

from ingest.errors import BlockedURLError, PermanentFetchError, TransientFetchError
from ingest.fetch import Fetcher
from netsafe import parse_retry_after
from tests.support.ingest_servers import (
    FaultServer,
    endless,
    fast_policy,
    gzip_bomb,
    redirect,
    respond,
    send,
    stall,
)

HTML = "<html><body><p>hello</p></body></html>"


def test_loopback_refused_unless_allowed() -> None:
    with FaultServer({"/": respond(200, HTML)}) as server, Fetcher(fast_policy(allow_loopback=False)) as f:
        with pytest.raises(BlockedURLError, match="loopback"):
            f.fetch(server.url("/"))
        assert server.requests == []  # refused before connecting


@pytest.mark.parametrize(
    "target",
    ["http://10.23.45.67/feed.xml", "http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/x"],
)
def test_redirect_to_private_address_refused(target: str) -> None:
    with FaultServer({"/go": redirect(target)}) as server, Fetcher(fast_policy()) as f:
        with pytest.raises(BlockedURLError, match=r"refused: .* resolves to a (private|link-local) address"):
            f.fetch(server.url("/go"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "ftp://example.org/x"])
def test_non_http_schemes_refused(url: str) -> None:
    with Fetcher(fast_policy()) as f, pytest.raises(BlockedURLError, match="unsupported URL scheme"):
        f.fetch(url)


def test_redirect_to_file_scheme_refused() -> None:
    with FaultServer({"/go": redirect("file:///etc/passwd")}) as server, Fetcher(fast_policy()) as f:
        with pytest.raises(BlockedURLError, match="unsupported URL scheme 'file'"):
            f.fetch(server.url("/go"))


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_are_permanent_and_not_retried(status: int) -> None:
    with FaultServer({"/x": respond(status, "gone")}) as server, Fetcher(fast_policy(retries=3)) as f:
        with pytest.raises(PermanentFetchError, match=f"HTTP {status}") as info:
            f.fetch(server.url("/x"))
        assert info.value.status == status and not info.value.transient
        assert server.hits("/x") == 1


def test_server_errors_are_retried_then_transient() -> None:
    with FaultServer({"/x": respond(500, "boom")}) as server, Fetcher(fast_policy(retries=2)) as f:
        with pytest.raises(TransientFetchError, match="HTTP 500"):
            f.fetch(server.url("/x"))
        assert server.hits("/x") == 3


def test_retry_after_is_honoured_then_succeeds() -> None:
    calls = []

    def flaky(h: BaseHTTPRequestHandler) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            send(h, 503, b"busy", "text/plain", {"Retry-After": "1"})
        else:
            send(h, 200, HTML.encode())

    with FaultServer({"/x": flaky}) as server, Fetcher(fast_policy(retries=2, backoff_s=0.01)) as f:
        result = f.fetch(server.url("/x"))
    assert result.status == 200 and result.attempts == 2
    assert calls[1] - calls[0] >= 0.95  # waited for Retry-After, not the 10 ms backoff


def test_long_retry_after_gives_up_at_once_and_carries_it() -> None:
    with (
        FaultServer({"/x": respond(503, "later", headers={"Retry-After": "120"})}) as server,
        Fetcher(fast_policy(retries=3)) as f,
    ):
        with pytest.raises(TransientFetchError) as info:
            f.fetch(server.url("/x"))
    assert info.value.retry_after_s == 120 and server.hits("/x") == 1


def test_retry_after_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now=now) == 90
    assert parse_retry_after("soon", now=now) is None


def test_stalled_server_times_out() -> None:
    with FaultServer({"/x": stall(3)}) as server, Fetcher(fast_policy(retries=0)) as f:
        started = time.monotonic()
        with pytest.raises(TransientFetchError, match="timed out"):
            f.fetch(server.url("/x"))
        assert time.monotonic() - started < 2.5


def test_trickling_server_hits_the_total_deadline() -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        try:
            for _ in range(40):
                h.wfile.write(b"<p>x</p>")
                h.wfile.flush()
                time.sleep(0.2)  # always under the 1 s read timeout
        except OSError:
            return

    with FaultServer({"/x": trickle}) as server, Fetcher(fast_policy(retries=0, total_deadline_s=1.5)) as f:
        with pytest.raises(TransientFetchError, match="total deadline"):
            f.fetch(server.url("/x"))


def test_body_over_the_cap() -> None:
    big = "<p>" + "x" * 400_000 + "</p>"
    with FaultServer({"/x": respond(200, big)}) as server, Fetcher(fast_policy(max_bytes=300_000)) as f:
        with pytest.raises(PermanentFetchError, match="larger than the cap of 300000 bytes"):
            f.fetch(server.url("/x"))


def test_endless_body_is_cut_off() -> None:
    with FaultServer({"/x": endless()}) as server, Fetcher(fast_policy(max_bytes=300_000)) as f:
        with pytest.raises(PermanentFetchError, match="larger than the cap"):
            f.fetch(server.url("/x"))


def test_gzip_bomb_is_cut_off_while_decompressing() -> None:
    with FaultServer({"/x": gzip_bomb(50)}) as server, Fetcher(fast_policy(max_bytes=1_000_000)) as f:
        with pytest.raises(PermanentFetchError, match="decompressed body larger than the cap"):
            f.fetch(server.url("/x"))


def test_gzip_body_is_decoded() -> None:
    body = gzip.compress(HTML.encode())
    with (
        FaultServer({"/x": respond(200, body, headers={"Content-Encoding": "gzip"})}) as server,
        Fetcher(fast_policy()) as f,
    ):
        assert f.fetch(server.url("/x")).body == HTML.encode()
        assert "gzip" in server.requests[0][1]["accept-encoding"]


def test_redirect_loop() -> None:
    with FaultServer({"/a": redirect("/b"), "/b": redirect("/a")}) as server, Fetcher(fast_policy()) as f:
        with pytest.raises(PermanentFetchError, match="redirect loop"):
            f.fetch(server.url("/a"))


def test_too_many_redirects() -> None:
    routes = {f"/r{i}": redirect(f"/r{i + 1}") for i in range(7)}
    with FaultServer(routes) as server, Fetcher(fast_policy(max_redirects=5)) as f:
        with pytest.raises(PermanentFetchError, match="too many redirects"):
            f.fetch(server.url("/r0"))


def test_redirects_are_followed_and_reported() -> None:
    with (
        FaultServer({"/old": redirect("/new", 301), "/new": respond(200, HTML)}) as server,
        Fetcher(fast_policy()) as f,
    ):
        result = f.fetch(server.url("/old"))
    assert result.url == server.url("/new") and result.redirects == [server.url("/new")]


def test_pages_must_be_html() -> None:
    with FaultServer({"/x": respond(200, "{}", "application/json")}) as server, Fetcher(fast_policy()) as f:
        with pytest.raises(PermanentFetchError, match=r"not an HTML page \(content-type application/json\)"):
            f.fetch(server.url("/x"), kind="page")


def test_conditional_get_sends_validators() -> None:
    def conditional(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            send(h, 304, b"", None, {"ETag": '"v1"'})
        else:
            send(h, 200, b"<rss/>", "application/rss+xml", {"ETag": '"v1"'})

    with FaultServer({"/f": conditional}) as server, Fetcher(fast_policy()) as f:
        first = f.fetch(server.url("/f"), kind="feed")
        second = f.fetch(server.url("/f"), kind="feed", etag=first.headers["etag"], last_modified="x")
    assert (first.status, second.status, second.body) == (200, 304, b"")
    assert server.requests[1][1]["if-modified-since"] == "x"
    assert server.requests[0][1]["accept"].startswith("application/rss+xml")


def test_robots_txt_is_obeyed_and_fetched_once_per_host() -> None:
    routes = {
        "/robots.txt": respond(200, "User-agent: *\nDisallow: /private/\n", "text/plain"),
        "/private/a.html": respond(200, HTML),
        "/news/a.html": respond(200, HTML),
        "/news/b.html": respond(200, HTML),
    }
    with FaultServer(routes) as server, Fetcher(fast_policy()) as f:
        with pytest.raises(PermanentFetchError, match=r"robots\.txt"):
            f.fetch(server.url("/private/a.html"), kind="page")
        f.fetch(server.url("/news/a.html"), kind="page")
        f.fetch(server.url("/news/b.html"), kind="page")
        assert server.hits("/robots.txt") == 1 and server.hits("/private/a.html") == 0
        assert server.requests[0][1]["user-agent"] == "WirewatchTest/1.0"


def test_robots_txt_can_be_ignored_by_policy() -> None:
    routes = {
        "/robots.txt": respond(200, "User-agent: *\nDisallow: /\n", "text/plain"),
        "/a": respond(200, HTML),
    }
    with FaultServer(routes) as server, Fetcher(fast_policy(respect_robots=False)) as f:
        assert f.fetch(server.url("/a"), kind="page").status == 200


def test_connections_per_host_are_limited() -> None:
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(0.3)
        send(h, 200, HTML.encode())

    with FaultServer({"/slow": slow}) as server, Fetcher(fast_policy(max_per_host=2)) as f:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: f.fetch(server.url("/slow")), range(6)))
    assert server.hits("/slow") == 6 and server.peak_in_flight == 2


def test_unavailable_robots_txt_skips_the_host_for_now_not_for_good() -> None:
    routes = {"/robots.txt": respond(503, "down", "text/plain"), "/a": respond(200, HTML)}
    with FaultServer(routes) as server, Fetcher(fast_policy(retries=0)) as f:
        with pytest.raises(TransientFetchError, match=r"robots\.txt unavailable \(HTTP 503"):
            f.fetch(server.url("/a"), kind="page")
        assert server.hits("/a") == 0
