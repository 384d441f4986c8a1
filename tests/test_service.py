"""``wirewatch run``, the long-running service: a graceful stop on SIGTERM (in-flight work drained and
committed, exit 0) as a real process, and an Elasticsearch outage ridden out through a real TCP proxy that is
cut and restored (the shared node itself is never touched): writes held, then resumed, nothing lost and
nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from elasticsearch import ApiError, Elasticsearch

from ingest.urls import article_id, canonical_url
from seeds.server import SeedServer
from tests.support.alerting import Receiver, sent_alert_ids
from tests.support.flow import TcpProxy, feed_list, page, rss, serve
from tests.support.ingest_servers import FaultServer
from tests.support.proxy import HoldingProxy
from tests.support.seed_corpus import ALERTS, ARTICLES
from tests.test_crash_recovery import WIREWATCH, pass_env
from tests.test_engine_flow import exists, make_runtime, wait_until
from wirewatch.service import Service

pytestmark = pytest.mark.slow


def test_sigterm_drains_in_flight_work_commits_and_exits_0(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    with HoldingProxy(seed_server.base_url, hold=r"/news/.*\.html$") as proxy:
        env = {**pass_env(es_url, index_prefix, proxy.url, receiver.url, tmp_path), "WIREWATCH_NER_ENABLED": "false"}
        proc = subprocess.Popen(
            [WIREWATCH, "run", "--grace", "60"], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proxy.held.wait(timeout=180), "the service never fetched the article page"
            proc.send_signal(signal.SIGTERM)  # while the page is in flight
            proxy.release()  # ... which then completes within the grace period
            _, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr[-3000:]
    assert "SIGTERM: stopping" in stderr and "draining in-flight work" in stderr
    names = f"{index_prefix}wirewatch-feeds"
    assert all(exists(es, names, feed) for feed in ("seed-rss", "seed-atom", "seed-fr", "seed-ar"))
    es.indices.refresh(index=f"{index_prefix}articles")
    assert es.count(index=f"{index_prefix}articles")["count"] == ARTICLES  # English, French, Arabic
    assert sum(sent_alert_ids(receiver.requests).values()) == ALERTS  # every group alert went out before the exit


def delivered(es: Elasticsearch, prefix: str) -> int:
    """Alerts recorded as delivered (a send not yet recorded when the cluster goes is sent again after, with
    the same Idempotency-Key: the test cuts only once the first is recorded, to count exact sends)."""
    try:
        es.indices.refresh(index=f"{prefix}wirewatch-alerts", ignore_unavailable=True)
        hits = es.search(index=f"{prefix}wirewatch-alerts", size=10, ignore_unavailable=True)["hits"]["hits"]
    except ApiError:  # the index was created a moment ago: its shard is not assigned yet
        return 0
    return sum(1 for a in hits if all(d["state"] == "delivered" for d in a["_source"]["deliveries"]))


def test_the_service_rides_out_an_elasticsearch_outage(
    es: Elasticsearch, es_url: str, index_prefix: str, receiver: Receiver, tmp_path: Path
) -> None:
    target = urlsplit(es_url)
    # two different stories (numbered sentences: the test page's shared paragraph must not make them copies)
    text = " ".join(f"Fighters loyal to the Islamic State attacked checkpoint {i} near the harbour." for i in range(9))
    with FaultServer() as site, TcpProxy(target.hostname or "127.0.0.1", target.port or 9200) as cluster:
        site.routes["/feed.xml"] = serve(rss([("First", site.url("/a.html"))]), "application/rss+xml")
        site.routes["/a.html"] = serve(page("First", text), "text/html")
        # another story (a near copy of the first would join its story and raise no alert of its own)
        ambush = "Islamic State gunmen ambushed supply convoy {} on the desert road south of the oasis."
        other = " ".join(ambush.format(i) for i in range(9))
        site.routes["/b.html"] = serve(page("Second", other), "text/html")
        feeds = feed_list(tmp_path / "feeds.yaml", {"site": site.url("/feed.xml")}, interval_s=1)
        rt = make_runtime(cluster.url, index_prefix, feeds, receiver.url, tmp_path, es_max_retries=0,
                          es_request_timeout_s=5)  # fmt: skip
        health: list[str] = []
        stop = threading.Event()
        with rt.tools() as tools:
            service = Service(rt, tools, on_health=health.append, health_every_s=0.2, grace_s=30)
            runner = threading.Thread(target=service.run, args=(stop,))
            runner.start()
            try:
                first = article_id(canonical_url(site.url("/a.html")))
                second = article_id(canonical_url(site.url("/b.html")))
                assert wait_until(lambda: delivered(es, index_prefix) == 1, timeout=90)
                cluster.cut()
                site.routes["/feed.xml"] = serve(
                    rss([("Second", site.url("/b.html")), ("First", site.url("/a.html"))]), "application/rss+xml"
                )
                assert wait_until(lambda: any("ELASTICSEARCH DOWN" in line for line in health), timeout=60)
                # no lease can be taken while the cluster is down, so no feed is polled (another runner may
                # hold it): the new entry waits for the cluster, and nothing is written meanwhile
                assert not exists(es, f"{index_prefix}articles", second)
                cluster.restore()
                assert wait_until(lambda: len(receiver.requests) == 2, timeout=120), health[-1:]
                assert wait_until(lambda: "ELASTICSEARCH DOWN" not in service.health_line())
            finally:
                stop.set()
                runner.join(120)
        rt.es.close()
    assert not runner.is_alive() and service.summary.fatal is None
    es.indices.refresh(index=f"{index_prefix}*")
    assert exists(es, f"{index_prefix}articles", first) and exists(es, f"{index_prefix}articles", second)
    assert es.count(index=f"{index_prefix}articles")["count"] == 2
    alerts = es.search(index=f"{index_prefix}wirewatch-alerts", size=10)["hits"]["hits"]
    assert len(alerts) == 2 and all(d["state"] == "delivered" for a in alerts for d in a["_source"]["deliveries"])
    keys = [r.headers["Idempotency-Key"] for r in receiver.requests]
    assert sorted(keys) == sorted(a["_id"] for a in alerts)  # each alert delivered exactly once
    assert service.summary.accounted
