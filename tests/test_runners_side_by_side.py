"""Two runners over the same feeds at the same time (issue 13, "never two at once").

Two real ``wirewatch ingest`` processes start together against the same index prefix, feed list and alert
channels: a loopback news site (the benchmark corpus), a real SMTP server (aiosmtpd, slow on purpose so the
runners' deliveries overlap) and a real webhook receiver. Leases keep each feed with one runner, claims keep
each (alert, channel) with one runner: every article is indexed by exactly one of them, every alert is mailed
exactly once and posted exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import Elasticsearch

from bench.corpus import CorpusSpec, write_feed_list
from bench.server import CorpusServer
from tests.support.alerting import Receiver, SmtpSink, sent_alert_ids

pytestmark = pytest.mark.slow
WIREWATCH = str(Path(sys.executable).with_name("wirewatch"))
SPEC = CorpusSpec(feeds=12, per_feed=2, mention_share=0.8, min_words=300, max_words=450)


def runner_env(
    es_url: str, prefix: str, site: CorpusServer, smtp: SmtpSink, hook: Receiver, tmp: Path
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
        "WIREWATCH_FEEDS_FILE": str(write_feed_list(tmp / "feeds.yaml", SPEC.feeds)),
        "WIREWATCH_FEEDS_BASE_URL": site.base_url,
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
            env = runner_env(es_url, index_prefix, site, smtp, receiver, tmp_path)
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
    mailed = Counter(aid for m in smtp.messages for aid in str(m["X-Wirewatch-Alert-Ids"]).split(","))
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
