"""The streaming engine on real loopback servers and the real node: no feed waits for another, a pass
deadline abandons what hangs (its state not committed), entries without a link are skipped by rule.

Order is observed through the servers' own state (a response still held open), never through timings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from ingest.urls import article_id, canonical_url
from tests.support.alerting import Receiver
from tests.support.flow import feed_list, held, page, rss, serve, wait_until
from tests.support.ingest_servers import FaultServer
from wirewatch.pipeline import run_pass
from wirewatch.runtime import PassTools, Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.summary import PassSummary

RSS = "application/rss+xml"


def make_runtime(es_url: str, prefix: str, feeds_file: Path, hook_url: str, tmp_path: Path, **extra: Any) -> Runtime:
    channels = tmp_path / "channels.yaml"
    channels.write_text(yaml.safe_dump({"channels": [{"name": "hook", "type": "webhook", "url": hook_url}]}))
    values: dict[str, Any] = dict(
        es_url=es_url, es_index_prefix=prefix, feeds_file=feeds_file, http_allow_loopback=True,
        delivery_allow_loopback=True, channels_file=channels, extract_workers=1, ner_enabled=False,
        http_read_timeout_s=60, http_total_deadline_s=90, delivery_backoff_s=0.01,
    )  # fmt: skip
    settings = load_settings(**{**values, **extra})
    return build_runtime(settings)


def exists(es: Elasticsearch, index: str, doc_id: str) -> bool:
    try:
        es.get(index=index, id=doc_id, source=False)  # realtime: sees a write before any refresh
        return True
    except NotFoundError:
        return False
    except ApiError as exc:  # an index created a moment ago may not have its shard assigned yet
        if exc.status_code == 503:
            return False
        raise


@pytest.fixture()
def two_sites() -> Iterator[tuple[FaultServer, FaultServer, threading.Event]]:
    """A fast site (a feed with an article and an entry without a link) and a slow one whose feed is held."""
    release = threading.Event()
    with FaultServer() as fast, FaultServer() as slow:
        fast.routes["/feed.xml"] = serve(rss([("Harbour council", fast.url("/a.html")), ("No link", None)]), RSS)
        fast.routes["/a.html"] = serve(page("Harbour council"), "text/html")
        slow.routes["/feed.xml"] = held(serve(rss([("Slow story", slow.url("/s.html"))]), RSS), release)
        slow.routes["/s.html"] = serve(page("Slow story", "A slow story about bridges. " * 40), "text/html")
        try:
            yield fast, slow, release
        finally:
            release.set()


@pytest.fixture()
def flow_rt(
    es_url: str, index_prefix: str, two_sites: tuple[FaultServer, FaultServer, threading.Event],
    receiver: Receiver, tmp_path: Path,
) -> Iterator[Runtime]:  # fmt: skip
    fast, slow, _ = two_sites
    feeds = feed_list(tmp_path / "feeds.yaml", {"fast": fast.url("/feed.xml"), "slow": slow.url("/feed.xml")})
    rt = make_runtime(es_url, index_prefix, feeds, receiver.url, tmp_path)
    yield rt
    rt.es.close()


@pytest.fixture()
def flow_tools(flow_rt: Runtime) -> Iterator[PassTools]:
    with flow_rt.tools() as tools:
        yield tools


def test_a_slow_feed_does_not_stall_a_fast_one(
    flow_rt: Runtime, flow_tools: PassTools, two_sites: tuple[FaultServer, FaultServer, threading.Event]
) -> None:
    fast, slow, release = two_sites
    result: dict[str, PassSummary] = {}
    runner = threading.Thread(target=lambda: result.update(summary=run_pass(flow_rt, flow_tools)))
    runner.start()
    fast_article = article_id(canonical_url(fast.url("/a.html")))
    try:
        assert wait_until(lambda: exists(flow_rt.es, flow_rt.names.feeds, "fast"))
        # The fast feed's article is indexed and its state committed while the slow server still holds the
        # slow feed's answer: nothing of the fast feed waited for the slow one.
        assert exists(flow_rt.es, flow_rt.names.articles, fast_article)
        assert slow.in_flight == 1 and slow.hits("/feed.xml") == 1 and not release.is_set()
        assert not exists(flow_rt.es, flow_rt.names.feeds, "slow")
    finally:
        release.set()
        runner.join(120)
    summary = result["summary"]
    assert summary.accounted and summary.offered == 3
    assert summary.entries["indexed"] == 2 and summary.entries["skipped"] == 1
    assert summary.skipped_rules == {"no_link": 1}  # an entry with no link is skipped by rule, not a failure
    assert summary.failures == [] and summary.exit_status == 0
    assert exists(flow_rt.es, flow_rt.names.feeds, "slow")


def test_the_pass_deadline_abandons_a_hanging_feed_without_committing_it(
    flow_rt: Runtime, flow_tools: PassTools, two_sites: tuple[FaultServer, FaultServer, threading.Event]
) -> None:
    fast, slow, release = two_sites
    summary = run_pass(flow_rt, flow_tools, deadline_s=3)
    assert slow.in_flight == 1 and not release.is_set()  # still hanging when the pass gave up on it
    assert summary.abandoned == ["slow"]
    assert [f.subject for f in summary.failures] == ["slow"]
    assert "pass deadline of 3 s passed" in summary.failures[0].reason and summary.failures[0].transient
    assert summary.exit_status == 3 and summary.accounted
    assert exists(flow_rt.es, flow_rt.names.feeds, "fast")
    assert not exists(flow_rt.es, flow_rt.names.feeds, "slow")  # polled again next pass, nothing lost
    assert exists(flow_rt.es, flow_rt.names.articles, article_id(canonical_url(fast.url("/a.html"))))


def test_a_feed_or_page_that_raises_anything_is_a_named_failure_and_the_pass_goes_on(
    es_url: str, index_prefix: str, receiver: Receiver, tmp_path: Path
) -> None:
    # A link that makes a library below the fetcher raise (an invalid IDNA label: idna's own error) ends as
    # a named failure of its entry; a malformed IPv6 host, which feedparser blanks, is an entry with no link.
    with FaultServer() as site:
        site.routes["/good.xml"] = serve(rss([("Good", site.url("/a.html")), ("Bad label", "http://xn--/x")]), RSS)
        site.routes["/broken.xml"] = serve(rss([("Bad host", "http://[::1/x")]), RSS)
        site.routes["/a.html"] = serve(page("Good"), "text/html")
        feeds = feed_list(tmp_path / "feeds.yaml", {"good": site.url("/good.xml"), "broken": site.url("/broken.xml")})
        rt = make_runtime(es_url, index_prefix, feeds, receiver.url, tmp_path, http_respect_robots=False)
        with rt.tools() as tools:
            summary = run_pass(rt, tools)
        rt.es.close()
    assert summary.fatal is None and summary.accounted
    assert summary.entries["indexed"] == 1
    subjects = {f.subject: f.reason for f in summary.failures}
    assert subjects.get("http://xn--/x")
    assert summary.skipped_rules == {"no_link": 1} and summary.feeds["ok"] == 2
