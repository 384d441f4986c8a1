"""A pass whose webhook receiver answers one byte at a time still ends by its deadline, its email channel is
delivered all the same, and the alerts the webhook could not take are left pending and due (claims released,
nothing left ``sending`` for a second runner to post again). Real loopback site, real trickling receiver, real
SMTP server (aiosmtpd), the real node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from tests.support.flow import feed_list, page, rss, serve
from tests.support.ingest_servers import FaultServer
from tests.test_engine_flow import make_runtime
from tests.test_notify_slow_receiver import TimedSink, TricklingReceiver
from wirewatch.pipeline import run_pass

RSS = "application/rss+xml"
STORIES = {
    "raid": "Fighters of the Islamic State raided a convoy near the southern border crossing on Monday night. ",
    "camps": "Officials said the Islamic State had moved training camps east of the oasis towns this spring. ",
    "claim": "A statement attributed to the Islamic State claimed the bombing of the coastal checkpoint. ",
}
DEADLINE_S = 25.0


@pytest.fixture()
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        server.routes["/feed.xml"] = serve(rss([(name, server.url(f"/{name}.html")) for name in STORIES]), RSS)
        for name, sentence in STORIES.items():
            server.routes[f"/{name}.html"] = serve(page(name.title(), sentence * 8), "text/html")
        yield server


@pytest.fixture()
def slow() -> Iterator[TricklingReceiver]:
    server = TricklingReceiver()
    yield server
    server.stop()


@pytest.fixture()
def sink() -> Iterator[TimedSink]:
    server = TimedSink()
    yield server
    server.stop()


def test_a_trickling_webhook_cannot_hold_the_pass_past_its_deadline(
    es: Elasticsearch, es_url: str, index_prefix: str, site: FaultServer, slow: TricklingReceiver,
    sink: TimedSink, tmp_path: Path,
) -> None:  # fmt: skip
    channels = tmp_path / "two-channels.yaml"
    channels.write_text(yaml.safe_dump({"channels": [
        {"name": "hook", "type": "webhook", "url": slow.url, "timeout_s": 120},
        {"name": "mail", "type": "email", "host": "127.0.0.1", "port": sink.port, "security": "none",
         "sender": "ww@example.org", "to": "desk@example.org"},
    ]}))  # fmt: skip
    feeds = feed_list(tmp_path / "feeds.yaml", {"site": site.url("/feed.xml")})
    rt = make_runtime(es_url, index_prefix, feeds, slow.url, tmp_path, channels_file=channels, delivery_parallel=1)
    try:
        with rt.tools() as tools:
            summary = run_pass(rt, tools, deadline_s=DEADLINE_S)
            ended = time.monotonic()
        es.indices.refresh(index=rt.names.alerts)
        alerts = [h["_source"] for h in es.search(index=rt.names.alerts, size=50)["hits"]["hits"]]
    finally:
        rt.es.close()
    assert summary.entries["indexed"] == len(STORIES)
    assert len(alerts) == len(STORIES)
    # each of 40 bytes comes within the read timeout, so only deadlines stop the sends: the pass's (25 s, counted
    # from after its set-up, so before the first POST); the three posts would take 120 s
    assert slow.first_post_at is not None
    took = ended - slow.first_post_at
    assert took < DEADLINE_S + 10, f"the pass ended {took:.0f} s after its first POST, with a {DEADLINE_S:g} s deadline"
    assert len(sink.arrivals) == len(STORIES)  # the email channel did not wait behind the webhook
    hook = [next(d for d in a["deliveries"] if d["channel"] == "hook") for a in alerts]
    assert all(d["state"] == "pending" and "claimed_by" not in d for d in hook), hook
    assert any("deadline" in d.get("last_error", "") for d in hook), hook
