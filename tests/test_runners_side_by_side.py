"""Runners over the same feeds at the same time (issue 13, "never two at once"; issue 26, several machines).

Two real ``wirewatch ingest`` processes start together against the same index prefix, feed list and alert
channels: a loopback news site (the benchmark corpus), a real SMTP server (aiosmtpd, slow on purpose so the
runners' deliveries overlap) and a real webhook receiver. Leases keep each feed with one runner, claims keep
each (alert, channel) with one runner: every article is indexed by exactly one of them, every alert is mailed
exactly once and posted exactly once.

Then three ``wirewatch run`` services (one per machine, as the README's scaling section runs them) over the same
feeds, one of them SIGKILLed while it holds feeds mid-pass: its leases and claims lapse and the other two take
its feeds over; no feed is ever polled by two at once, no article or alert is lost, none is sent twice.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from elasticsearch import Elasticsearch

from bench.corpus import CorpusSpec, feed_path, make_corpus, site_files, write_feed_list
from bench.server import CorpusServer
from tests.support.alerting import Receiver, SmtpSink, mailed_alert_ids, sent_alert_ids
from tests.support.flow import wait_until
from tests.support.loopback import LoopbackServer
from tests.test_service_faults import Running

pytestmark = pytest.mark.slow
WIREWATCH = str(Path(sys.executable).with_name("wirewatch"))
SPEC = CorpusSpec(feeds=12, per_feed=2, mention_share=0.8, min_words=300, max_words=450)


def runner_env(
    es_url: str, prefix: str, base_url: str, smtp: SmtpSink, hook: Receiver, tmp: Path, feeds: int = SPEC.feeds
) -> dict[str, str]:
    channels = [
        {"name": "mail", "type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
         "sender": "ww@example.org", "to": ["desk@example.org"]},
        {"name": "hook", "type": "webhook", "url": hook.url},
    ]  # fmt: skip
    (tmp / "channels.yaml").write_text(yaml.safe_dump({"channels": channels}))
    return {
        **os.environ,
        "WIREWATCH_ES_URL": es_url,
        "WIREWATCH_ES_INDEX_PREFIX": prefix,
        "WIREWATCH_FEEDS_FILE": str(write_feed_list(tmp / "feeds.yaml", feeds)),
        "WIREWATCH_FEEDS_BASE_URL": base_url,
        "WIREWATCH_HTTP_ALLOW_LOOPBACK": "true",
        "WIREWATCH_DELIVERY_ALLOW_LOOPBACK": "true",
        "WIREWATCH_CHANNELS_FILE": str(tmp / "channels.yaml"),
        "WIREWATCH_ES_BULK_CHUNK_DOCS": "2",  # many micro-batches, so the two runners interleave
        "WIREWATCH_DELIVERY_PARALLEL": "1",
        "WIREWATCH_EXTRACT_WORKERS": "1",
        "WIREWATCH_NER_ENABLED": "false",
        "WIREWATCH_SUMMARY_FILE": str(tmp / "last-pass.json"),
    }


def test_two_runners_started_together_index_mail_and_post_everything_exactly_once(
    es: Elasticsearch, es_url: str, index_prefix: str, receiver: Receiver, tmp_path: Path
) -> None:
    smtp = SmtpSink(delay_s=0.2)
    try:
        with CorpusServer(SPEC, tmp_path / "receipts.jsonl") as site:
            env = runner_env(es_url, index_prefix, site.base_url, smtp, receiver, tmp_path)
            setup = subprocess.run([WIREWATCH, "es", "setup"], env=env, capture_output=True, text=True, timeout=120)
            assert setup.returncode == 0, setup.stderr[-2000:]
            command = [WIREWATCH, "ingest", "--once", "--json"]
            runners = [
                subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)
            ]
            summaries = [finished(proc) for proc in runners]
    finally:
        smtp.stop()

    # each feed polled by exactly one runner, the other one counting it leased elsewhere (or, when the first
    # was already done with it, not due); each article indexed by exactly one runner
    polled = sum(s["feeds"].get(k, 0) for s in summaries for k in ("ok", "not_modified", "failed"))
    assert polled == SPEC.feeds, [s["feeds"] for s in summaries]
    assert sum(s["entries"]["indexed"] for s in summaries) == SPEC.articles
    assert all(s["accounted"] for s in summaries)
    es.indices.refresh(index=f"{index_prefix}articles")
    assert es.count(index=f"{index_prefix}articles")["count"] == SPEC.articles

    alerts = alert_ids(es, index_prefix)
    assert len(alerts) >= SPEC.feeds  # most articles name a tracked group: the test has something to send
    mailed = Counter(aid for m in smtp.messages for aid in mailed_alert_ids(m["X-Wirewatch-Alert-Ids"]))
    assert mailed == Counter(alerts), "each alert mailed exactly once"
    posted = sent_alert_ids(receiver.requests)
    assert posted == Counter(alerts), "each alert posted exactly once"
    assert sum(s["deliveries"].get("delivered", 0) for s in summaries) == 2 * len(alerts)
    # the runners did overlap: one of them found feeds or deliveries already taken by the other
    overlap = sum(s["feeds"].get("leased_elsewhere", 0) + s["deliveries"].get("claimed_elsewhere", 0)
                  for s in summaries)  # fmt: skip
    assert overlap > 0, summaries


def finished(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return summary


def alert_ids(es: Elasticsearch, prefix: str) -> list[str]:
    index = f"{prefix}wirewatch-alerts"
    es.indices.refresh(index=index)
    hits = es.search(index=index, query={"bool": {"must_not": [{"exists": {"field": "attached_to"}}]}}, size=1000)
    return [h["_id"] for h in hits["hits"]["hits"]]


SERVICES_SPEC = CorpusSpec(feeds=12, per_feed=3, mention_share=0.8, min_words=300, max_words=450)


class TimedSite(LoopbackServer):
    """The corpus served with slow pages held until ``gate`` opens, every GET kept as (path, start, end)."""

    protocol_version = "HTTP/1.1"

    def __init__(self, spec: CorpusSpec, page_delay_s: float) -> None:
        super().__init__()
        self.files = site_files(make_corpus(spec), self.base_url)
        self.page_delay_s = page_delay_s
        self.gate = threading.Event()
        self.gets: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()
        self.start()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        body, ctype = self.files.get(request.path, (b"not found", "text/plain"))
        if ctype.startswith("text/html"):
            self.gate.wait(120)
            time.sleep(self.page_delay_s)
        request.send_response(200 if request.path in self.files else 404)
        request.send_header("Content-Type", ctype)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
        with self._lock:
            self.gets.append((request.path, started, time.monotonic()))

    def feed_polls(self) -> dict[str, list[tuple[float, float]]]:
        polls: dict[str, list[tuple[float, float]]] = {}
        for path, start, end in self.gets:
            if path.endswith(".xml"):
                polls.setdefault(path, []).append((start, end))
        return polls


def leases_of(es: Elasticsearch, prefix: str, pid: int) -> list[str]:
    """Feeds whose lease the runner with this pid holds (owner is host:pid:random)."""
    index = f"{prefix}wirewatch-leases"
    if not es.indices.exists(index=index):
        return []
    es.indices.refresh(index=index)
    hits = es.search(index=index, query={"wildcard": {"owner": f"*:{pid}:*"}}, size=100)["hits"]["hits"]
    return [str(h["_source"].get("subject")) for h in hits]


def delivered_everywhere(es: Elasticsearch, prefix: str) -> bool:
    index = f"{prefix}wirewatch-alerts"
    if not es.indices.exists(index=index):
        return False
    es.indices.refresh(index=index)
    hits = es.search(index=index, query={"bool": {"must_not": [{"exists": {"field": "attached_to"}}]}}, size=1000)
    deliveries = [d for h in hits["hits"]["hits"] for d in h["_source"].get("deliveries") or []]
    return bool(deliveries) and all(d["state"] == "delivered" for d in deliveries)


def test_three_services_one_killed_with_9_mid_pass_poll_each_feed_one_at_a_time_and_lose_nothing(
    es: Elasticsearch, es_url: str, index_prefix: str, receiver: Receiver, tmp_path: Path
) -> None:
    spec = SERVICES_SPEC
    smtp = SmtpSink()
    site = TimedSite(spec, page_delay_s=0.3)
    try:
        env = runner_env(es_url, index_prefix, site.base_url, smtp, receiver, tmp_path, feeds=spec.feeds)
        env |= {"WIREWATCH_FEED_LEASE_TTL_S": "6", "WIREWATCH_DELIVERY_CLAIM_TTL_S": "8"}  # lapse within seconds
        setup = subprocess.run([WIREWATCH, "es", "setup"], env=env, capture_output=True, text=True, timeout=120)
        assert setup.returncode == 0, setup.stderr[-2000:]
        # the victim starts first and is killed while it holds feeds whose pages it has not got yet (the site
        # holds every page until then); the two others start meanwhile and take those feeds over later
        victim = Running(env)
        services = [victim]
        try:
            assert wait_until(lambda: bool(leases_of(es, index_prefix, victim.proc.pid)), timeout=180), victim.lines
            services = [Running(env), Running(env), victim]
            assert wait_until(lambda: all(s.running for s in services[:2]), timeout=180), services[0].lines[-5:]
            held = leases_of(es, index_prefix, victim.proc.pid)
            os.killpg(victim.proc.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            site.gate.set()
            articles = f"{index_prefix}articles"

            def done() -> bool:
                if not es.indices.exists(index=articles):
                    return False
                es.indices.refresh(index=articles)
                return es.count(index=articles)["count"] == spec.articles and delivered_everywhere(es, index_prefix)

            assert wait_until(done, timeout=180), [s.lines[-5:] for s in services[:2]]
            time.sleep(3)  # a second send, if any, would land now
        finally:
            codes = [s.stop() for s in services[:2]]
            victim.stop()
            for service in services:  # read to the end by now: closed here, not left to the collector
                if service.proc.stderr is not None:
                    service.proc.stderr.close()
    finally:
        smtp.stop()
        site.stop()

    assert codes == [0, 0], [s.lines[-10:] for s in services[:2]]
    # one at a time: no two polls of one feed overlap, whoever made them; every feed polled
    polls = site.feed_polls()
    assert len(polls) == spec.feeds, sorted(polls)
    for path, spans in polls.items():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans)), (path, spans)
    es.indices.refresh(index=f"{index_prefix}articles")
    urls = es.search(index=f"{index_prefix}articles", size=1000, source_includes=["url"])["hits"]["hits"]
    assert len({h["_source"]["url"] for h in urls}) == len(urls) == spec.articles  # none lost, none twice
    alerts = alert_ids(es, index_prefix)
    assert len(alerts) >= spec.feeds
    mailed = Counter(aid for m in smtp.messages for aid in mailed_alert_ids(m["X-Wirewatch-Alert-Ids"]))
    assert mailed == Counter(alerts), "each alert mailed exactly once"
    posted = sent_alert_ids(receiver.requests)
    assert posted == Counter(alerts), "each alert posted exactly once"
    # the feeds the dead service held were polled again after the kill, and their articles are all indexed
    corpus = make_corpus(spec)
    for feed_id in held:
        feed = int(feed_id.rsplit("f", 1)[1])
        assert any(start > killed_at for start, _ in polls[feed_path(feed)]), (feed_id, polls[feed_path(feed)])
        paths_of_feed = {a.path for a in corpus.feed_articles(feed)}
        assert paths_of_feed <= {urlsplit(h["_source"]["url"]).path for h in urls}, feed_id
