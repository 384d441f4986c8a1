"""Links httpx cannot parse are named entry failures, never a crash of the pass (issue 11, defect 7).

``http://999.1.1.1/x`` (no IPv4 address) and ``http://xn--a.com/`` (invalid IDNA) used to pass canonical_url
and then raise httpx's InvalidURL / an IDNA ValueError out of the fetcher: with robots.txt off the whole pass
died with a traceback, with it on the entry became "robots.txt unavailable", retried forever, and the feed never
saved its validators.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ingest.errors import PermanentFetchError
from ingest.fetch import Fetcher
from ingest.urls import InvalidURLError, canonical_url
from search.feedstate import EsFeedStateStore
from tests.support.ingest_servers import FaultServer, fast_policy, redirect, respond
from wirewatch.pipeline import run_pass
from wirewatch.runtime import Runtime, build_runtime
from wirewatch.settings import load_settings

BAD_LINKS = ["http://999.1.1.1/x", "http://xn--a.com/", "http://[::1/x", "http://exa mple.com/", "http://a..b/"]
PAGE = (
    "<html lang='en'><head><title>Talks in Tripoli</title></head><body><article><h1>Talks in Tripoli</h1>"
    + "".join(
        f"<p>Paragraph {i}: negotiators met again near the port of Tripoli, where the delegation from "
        "Misrata presented its proposals for a ceasefire along the coastal road.</p>"
        for i in range(6)
    )
    + "</article></body></html>"
)


@pytest.mark.parametrize("bad", BAD_LINKS)
def test_canonical_url_refuses_links_the_client_cannot_request(bad: str) -> None:
    with pytest.raises(InvalidURLError):
        canonical_url(bad)


@pytest.mark.parametrize(
    ("good", "canonical"),
    [
        ("http://Café.fr/a?utm_source=x&b=2", "http://café.fr/a?b=2"),  # unchanged canonical form: same ids
        ("https://xn--caf-dma.fr/", "https://xn--caf-dma.fr/"),
        ("http://1.2.3.4:8080/x", "http://1.2.3.4:8080/x"),
        ("http://[2001:db8::1]/", "http://[2001:db8::1]/"),
        ("http://cdn_1.example.com/a", "http://cdn_1.example.com/a"),
    ],
)
def test_canonical_url_still_takes_every_usable_host(good: str, canonical: str) -> None:
    assert canonical_url(good) == canonical


@pytest.mark.parametrize("robots", [True, False])
@pytest.mark.parametrize("bad", ["http://999.1.1.1/x", "http://xn--a.com/", "http://[::1/x"])
def test_fetcher_refuses_an_unusable_url(bad: str, robots: bool) -> None:
    with Fetcher(fast_policy(respect_robots=robots)) as fetcher, pytest.raises(PermanentFetchError) as info:
        fetcher.fetch(bad, kind="page")
    assert info.value.reason.startswith("unusable URL: ")


@pytest.mark.parametrize("bad", ["http://999.1.1.1/y", "http://xn--a.com/y"])
def test_redirect_to_an_unusable_url_is_a_permanent_failure(bad: str) -> None:
    with (
        FaultServer({"/go": redirect(bad)}) as server,
        Fetcher(fast_policy()) as fetcher,
        pytest.raises(PermanentFetchError, match=r"^unusable URL"),
    ):
        fetcher.fetch(server.url("/go"), kind="page")


def _feed(base: str) -> str:
    links = [f"{base}/p/good.html", "http://999.1.1.1/x", "http://xn--a.com/", f"{base}/p/redir.html"]
    items = "".join(
        f"<item><title>e{i}</title><link>{link}</link><guid>g{i}</guid></item>" for i, link in enumerate(links)
    )
    channel = f"<channel><title>T</title><link>{base}/</link>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


@pytest.fixture()
def feed_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        server.routes.update(
            {
                "/feed.xml": respond(200, _feed(server.base_url), "application/rss+xml", {"ETag": '"v1"'}),
                "/robots.txt": respond(200, "User-agent: *\nAllow: /\n", "text/plain"),
                "/p/good.html": respond(200, PAGE),
                "/p/redir.html": redirect("http://999.1.1.1/y"),
            }
        )
        yield server


def _runtime(es_url: str, index_prefix: str, tmp_path: Path, server: FaultServer, robots: bool) -> Runtime:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"feeds": [{"id": "mixed", "url": server.url("/feed.xml")}]}))
    settings = load_settings(
        es_url=es_url,
        es_index_prefix=index_prefix,
        feeds_file=feeds,
        alerts_file=tmp_path / "alerts.jsonl",
        http_allow_loopback=True,
        http_respect_robots=robots,
        http_retries=0,
        extract_workers=1,
        ner_enabled=False,
    )
    return build_runtime(settings)


@pytest.mark.parametrize("robots", [True, False], ids=["robots-on", "robots-off"])
def test_a_pass_over_a_feed_with_unusable_links_finishes_and_settles_the_feed(
    es_url: str, index_prefix: str, tmp_path: Path, feed_server: FaultServer, robots: bool
) -> None:
    rt = _runtime(es_url, index_prefix, tmp_path, feed_server, robots)
    try:
        with rt.tools(ner=False) as tools:
            summary = run_pass(rt, tools)
        assert summary.fatal is None
        assert (summary.entries["indexed"], summary.entries["failed"], sum(summary.entries.values())) == (1, 3, 4)
        reasons = {f.subject: f.reason for f in summary.failures}  # each under the step where it failed
        assert reasons["http://999.1.1.1/x"].startswith("bad link: invalid host or port (Invalid IPv4 address")
        assert reasons["http://xn--a.com/"].startswith("bad link: invalid host or port (")
        assert reasons[feed_server.url("/p/redir.html")].startswith("unusable URL in the Location header")
        assert not any(f.transient for f in summary.failures)
        state = EsFeedStateStore(rt.es, rt.names).load(["mixed"])["mixed"]
        assert state["etag"] == '"v1"' and state["body_hash"]  # settled: the next poll can be a 304
        assert feed_server.hits("/p/good.html") == 1
    finally:
        rt.es.close()
