"""``wirewatch run`` under faults (issue 20, defects 4, 6 and 7), as real processes.

- A bulk item the node answers 503 (a real proxy in front of Elasticsearch fails that article's item, the rest
  of the bulk goes through): its feed backs off and says why, instead of being polled and fetched every second.
- Two services over the same feeds: each feed polled once per interval, with the ETag the last poll got.
- 24 feeds of one host hang: the feeds of another host are polled and their pages fetched at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch

from ingest.urls import article_id, canonical_url
from tests.support.flow import TcpProxy, feed_list, page, rss, serve, wait_until
from tests.support.ingest_servers import FaultServer, Route, conditional
from tests.support.proxy import HoldingProxy
from tests.test_crash_recovery import WIREWATCH
from tests.test_engine_flow import exists

pytestmark = pytest.mark.slow
RSS = "application/rss+xml"


def service_env(es_url: str, prefix: str, feeds: Path, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WIREWATCH_ES_URL": es_url,
        "WIREWATCH_ES_INDEX_PREFIX": prefix,
        "WIREWATCH_FEEDS_FILE": str(feeds),
        "WIREWATCH_HTTP_ALLOW_LOOPBACK": "true",
        "WIREWATCH_HTTP_RESPECT_ROBOTS": "false",
        "WIREWATCH_EXTRACT_WORKERS": "1",
        "WIREWATCH_NER_ENABLED": "false",
        "WIREWATCH_ALERTS_FILE": str(tmp / "alerts.jsonl"),
        "WIREWATCH_SUMMARY_FILE": str(tmp / "last-pass.json"),
        **extra,
    }


class Running:
    """``wirewatch run`` as a process of its own; its stderr lines collected as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [WIREWATCH, "run", "--grace", "5", "--health-every", "1"], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())

    def waits_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """``wait_until``, giving up at once when the service exits."""
        return wait_until(lambda: condition() or self.proc.poll() is not None, timeout) and condition()

    @property
    def running(self) -> bool:
        """Its engine runs: it has written a health line (one a second)."""
        return any("feeds" in line for line in self.lines)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=30)
        finally:
            self._reader.join(10)


def es_setup(env: dict[str, str]) -> None:
    done = subprocess.run([WIREWATCH, "es", "setup"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_failed_bulk_item_backs_its_feed_off_and_says_why(
    es: Elasticsearch, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    with FaultServer() as site:
        good, bad = site.url("/good.html"), site.url("/bad.html")
        site.routes["/feed.xml"] = serve(rss([("Good story", good), ("Bad story", bad)]), RSS)
        site.routes["/good.html"] = serve(page("Good story"), "text/html")
        site.routes["/bad.html"] = serve(page("Bad story", "A story about bridges and ferries. " * 40), "text/html")
        bad_id = article_id(canonical_url(bad))
        feeds = feed_list(tmp_path / "feeds.yaml", {"site": site.url("/feed.xml")}, interval_s=60)
        with HoldingProxy(es_url, fail_ids={bad_id}) as proxy:
            env = service_env(proxy.url, index_prefix, feeds, tmp_path, WIREWATCH_ES_MAX_RETRIES="1",
                              WIREWATCH_ES_BACKOFF_S="0.05")  # fmt: skip
            es_setup(env)
            service = Running(env)
            try:
                assert service.waits_for(lambda: proxy.failed_items >= 2, timeout=120), service.lines[-5:]
                assert wait_until(lambda: exists(es, f"{index_prefix}articles", article_id(canonical_url(good))))
                time.sleep(6)  # six rounds of the service's scheduler: a feed due again would be polled six times
                polls, fetches = site.hits("/feed.xml"), site.hits("/bad.html")
                listed = subprocess.run([WIREWATCH, "feeds", "--json"], env=env, capture_output=True, text=True,
                                        timeout=120)  # fmt: skip
            finally:
                code = service.stop()
    assert code == 0, service.lines[-20:]
    assert polls == 1 and fetches == 1, (polls, fetches)  # the failed write left the feed backed off
    assert not exists(es, f"{index_prefix}articles", bad_id)
    assert listed.returncode == 0, listed.stderr[-2000:]
    [row] = json.loads(listed.stdout)
    assert row["health"] == "failing" and row["consecutive_failures"] == 1 and row["transient"]
    assert bad_id in row["last_error"] and "503" in row["last_error"], row["last_error"]
    state = es.get(index=f"{index_prefix}wirewatch-feeds", id="site")["_source"]
    assert state["state"]["seen_ids"] == [], "the cursor must not move past the unwritten article"


def test_two_services_poll_each_feed_once_per_interval_with_its_latest_etag(
    es: Elasticsearch, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    interval, window = 4, 16.0
    with FaultServer() as site:
        names = [f"f{i}" for i in range(3)]
        for name in names:
            body = rss([(f"Story {name}", site.url(f"/{name}.html"))])
            site.routes[f"/{name}.xml"] = conditional(body, RSS, etag=f'"{name}-v1"')
            site.routes[f"/{name}.html"] = serve(page(f"Story {name}"), "text/html")
        feeds = feed_list(tmp_path / "feeds.yaml", {n: site.url(f"/{n}.xml") for n in names}, interval_s=interval)
        env = service_env(es_url, index_prefix, feeds, tmp_path)
        es_setup(env)
        services = [Running(env), Running(env)]
        try:
            assert services[0].waits_for(lambda: all(s.running for s in services), timeout=180), services[0].lines[-5:]
            before = {n: site.hits(f"/{n}.xml") for n in names}
            time.sleep(window)
            polls = {n: site.hits(f"/{n}.xml") - before[n] for n in names}
        finally:
            codes = [s.stop() for s in services]
        requests = [(path, headers) for path, headers in site.requests if path.endswith(".xml")]
    assert codes == [0, 0], [s.lines[-10:] for s in services]
    # once per interval (the scheduler looks every second): 3 or 4 polls of each feed in 16 s, not 7 or 8
    assert all(n <= window / interval + 1 for n in polls.values()), polls
    assert sum(polls.values()) >= len(names) * 2, polls  # the services did keep polling
    # only the very first poll of a feed goes without the ETag: every later one, by either service, has it
    without_etag = [path for path, headers in requests if "if-none-match" not in headers]
    assert sorted(without_etag) == sorted(f"/{n}.xml" for n in names), without_etag


def hanging(release: threading.Event, arrived: list[float]) -> Route:
    """A feed that answers nothing until ``release``."""

    def route(h: BaseHTTPRequestHandler) -> None:
        arrived.append(time.monotonic())
        release.wait(120)
        serve(rss([]), RSS)(h)

    return route


def test_hanging_feeds_of_one_host_do_not_hold_back_the_feeds_of_another(
    es: Elasticsearch, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    release, arrived = threading.Event(), list[float]()
    with FaultServer() as slow, FaultServer() as healthy:
        feeds: dict[str, str] = {}
        for i in range(24):  # listed first: they take every poll thread that waits for their host
            slow.routes[f"/h{i}.xml"] = hanging(release, arrived)
            feeds[f"hang-{i}"] = slow.url(f"/h{i}.xml")
        pages = [f"/g{i}.html" for i in range(3)]
        for i, path in enumerate(pages):
            healthy.routes[f"/g{i}.xml"] = serve(rss([(f"Healthy {i}", healthy.url(path))]), RSS)
            text = f"Healthy story {i} about the harbour. " * 40
            healthy.routes[path] = serve(page(f"Healthy {i}", text), "text/html")
            feeds[f"good-{i}"] = healthy.url(f"/g{i}.xml")
        env = service_env(es_url, index_prefix, feed_list(tmp_path / "feeds.yaml", feeds), tmp_path,
                          WIREWATCH_HTTP_MAX_CONNECTIONS="8", WIREWATCH_HTTP_TOTAL_DEADLINE_S="90",
                          WIREWATCH_HTTP_READ_TIMEOUT_S="90")  # fmt: skip
        es_setup(env)
        service = Running(env)
        try:
            assert service.waits_for(lambda: bool(arrived), timeout=180), service.lines[-5:]
            ids = [article_id(canonical_url(healthy.url(path))) for path in pages]
            all_indexed = wait_until(lambda: all(exists(es, f"{index_prefix}articles", i) for i in ids), timeout=30)
            waited = time.monotonic() - arrived[0]
            fetched = [healthy.hits(path) for path in pages]
            in_flight = slow.in_flight
        finally:
            release.set()
            code = service.stop()
    assert all_indexed, f"healthy pages fetched {fetched} after {waited:.0f} s"
    assert waited < 30
    assert in_flight == 4  # the hanging host held its own four slots, no more
    assert code == 0, service.lines[-20:]


def held_once(route: Route, release: threading.Event, arrived: threading.Event) -> Route:
    """``route``; its first request answered only once ``release`` is set, later ones at once."""

    def hold(h: BaseHTTPRequestHandler) -> None:
        if not arrived.is_set():
            arrived.set()
            release.wait(120)
        route(h)

    return hold


def test_a_service_that_lost_its_lease_does_not_save_over_the_new_holder(
    es: Elasticsearch, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    target = urlsplit(es_url)
    release, arrived = threading.Event(), threading.Event()
    with FaultServer() as site, TcpProxy(target.hostname or "127.0.0.1", target.port or 9200) as cluster:
        site.routes["/feed.xml"] = serve(rss([("Harbour", site.url("/a.html"))]), RSS)
        site.routes["/a.html"] = held_once(serve(page("Harbour"), "text/html"), release, arrived)
        feeds = feed_list(tmp_path / "feeds.yaml", {"site": site.url("/feed.xml")})
        env = service_env(es_url, index_prefix, feeds, tmp_path, WIREWATCH_FEED_LEASE_TTL_S="3")
        es_setup(env)
        stalled = Running({**env, "WIREWATCH_ES_URL": cluster.url})
        try:
            assert stalled.waits_for(arrived.is_set, timeout=180), stalled.lines[-5:]
            cluster.cut()  # the service can renew its lease no more: it lapses while the page hangs
            time.sleep(4)
            taker = subprocess.run([WIREWATCH, "ingest", "--once", "--json"], env=env, capture_output=True,
                                   text=True, timeout=180)  # fmt: skip
            assert taker.returncode == 0, taker.stderr[-2000:]
            assert json.loads(taker.stdout.strip().splitlines()[-1])["feeds"].get("ok") == 1
            theirs = es.get(index=f"{index_prefix}wirewatch-feeds", id="site")["_source"]
            cluster.restore()
            release.set()  # the stalled service gets its page, writes the article and finishes the feed
            assert stalled.waits_for(lambda: any("indexed 1 (" in line for line in stalled.lines), timeout=60)
            time.sleep(2)  # its commit would follow the write at once
        finally:
            release.set()
            code = stalled.stop()
    assert code == 0, stalled.lines[-20:]
    state = es.get(index=f"{index_prefix}wirewatch-feeds", id="site")["_source"]
    assert state == theirs, "the state saved by the lease's new holder was overwritten"
