"""A send is never repeated because its record failed: Elasticsearch cut for a few seconds while the outcome of
deliveries that already went out is being recorded (real ``wirewatch`` processes, a real TCP proxy in front of
the node that is cut and restored, real webhook receivers behind an HTTP proxy that holds the send until the
cut). The outcomes wait in memory and are recorded once the node is back; no claim lapses into a second send.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from elasticsearch import Elasticsearch

from search.alerting import digests as digest_store
from search.alerting.indices import setup_alert_indices
from search.names import IndexNames
from seeds.server import SeedServer
from tests.support.alerting import Receiver, sent_alert_ids
from tests.support.flow import TcpProxy, wait_until
from tests.support.proxy import HoldingProxy
from tests.support.seed_corpus import ALERTS
from tests.test_crash_recovery import LAPSE_S, WIREWATCH, pass_env, run_pass

pytestmark = pytest.mark.slow
OUTAGE_S = 3.0


def outage_env(es_proxy: str, prefix: str, feeds: str, hook: str, tmp_path: Path) -> dict[str, str]:
    # no client retries: the cut is seen at once, as in a real outage
    return {
        **pass_env(es_proxy, prefix, feeds, hook, tmp_path),
        "WIREWATCH_NER_ENABLED": "false",
        "WIREWATCH_ES_MAX_RETRIES": "0",
        "WIREWATCH_ES_OUTAGE_MAX_BACKOFF_S": "1",
    }


def states(es: Elasticsearch, prefix: str, channel: str) -> list[str]:
    es.indices.refresh(index=f"{prefix}wirewatch-alerts")
    hits = es.search(index=f"{prefix}wirewatch-alerts", size=50)["hits"]["hits"]
    return [d["state"] for a in hits for d in a["_source"]["deliveries"] if d["channel"] == channel]


def cut_while_sending(cluster: TcpProxy, hook: HoldingProxy, sent: Receiver, count: int) -> None:
    """Once a send is held at the receiver's proxy: cut Elasticsearch, let the sends through, keep it cut a
    few seconds (their records fail), then restore it."""
    assert hook.held.wait(timeout=180), "nothing was sent"
    cluster.cut()
    hook.release()
    assert wait_until(lambda: sum(sent_alert_ids(sent.requests).values()) >= count, timeout=60), len(sent.requests)
    time.sleep(OUTAGE_S)
    cluster.restore()


def test_the_service_records_sends_after_a_short_outage_and_never_sends_them_again(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    target = urlsplit(es_url)
    with (
        TcpProxy(target.hostname or "127.0.0.1", target.port or 9200) as cluster,
        HoldingProxy(receiver.url.rsplit("/", 1)[0], hold=r"/hook") as hook,
    ):
        env = outage_env(cluster.url, index_prefix, seed_server.base_url, hook.url + "/hook", tmp_path)
        proc = subprocess.Popen(
            [WIREWATCH, "run", "--grace", "30", "--health-every", "1"], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            cut_while_sending(cluster, hook, receiver, ALERTS)
            wait_until(lambda: states(es, index_prefix, "hook") == ["delivered"] * ALERTS, timeout=30)
            time.sleep(LAPSE_S + 1)  # the claims have lapsed: a send whose record was lost is due again
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode == 0, stderr[-3000:]
        run_pass(env)  # another runner after the lapse: finds nothing to send
    assert states(es, index_prefix, "hook") == ["delivered"] * ALERTS
    sent = sent_alert_ids(receiver.requests)  # one message per article, each alert in one of them
    assert len(sent) == ALERTS and max(sent.values()) == 1, sent


def test_a_digest_whose_record_fails_is_recorded_after_the_outage(
    es: Elasticsearch, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    target = urlsplit(es_url)
    names = IndexNames(prefix=index_prefix)
    setup_alert_indices(es, names)
    digest_store.digest_state(es, names, "digest", first_due=datetime.now(UTC) + timedelta(hours=1))
    digests = Receiver()
    try:
        with (
            TcpProxy(target.hostname or "127.0.0.1", target.port or 9200) as cluster,
            HoldingProxy(digests.url.rsplit("/", 1)[0], hold=r"/hook") as hook,
        ):
            env = outage_env(cluster.url, index_prefix, seed_server.base_url, receiver.url, tmp_path)
            channels = yaml.safe_load(Path(env["WIREWATCH_CHANNELS_FILE"]).read_text())
            channels["channels"].append(
                {"name": "digest", "type": "webhook", "url": hook.url + "/hook", "digest": {"every": "hourly"}}
            )
            Path(env["WIREWATCH_CHANNELS_FILE"]).write_text(yaml.safe_dump(channels))
            first = subprocess.run([WIREWATCH, "ingest", "--once"], env={**env, "WIREWATCH_ES_URL": es_url},
                                   capture_output=True, text=True, timeout=300)  # fmt: skip
            assert first.returncode in (0, 3), first.stdout[-3000:]  # the seed feeds list two missing pages
            assert states(es, index_prefix, "digest") == ["pending"] * ALERTS  # waiting for the digest
            # the digest comes due: the next pass sends it, and the node goes while its record is written
            state = digest_store.digest_state(es, names, "digest", first_due=datetime.now(UTC))
            digest_store.finish(es, names, state, next_due=datetime.now(UTC), sent_at=None, listed=0)
            proc = subprocess.Popen(
                [WIREWATCH, "ingest", "--once"], env=env, start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                cut_while_sending(cluster, hook, digests, 1)
                _, stderr = proc.communicate(timeout=120)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode in (0, 3), stderr[-3000:]
        assert len(digests.requests) == 1
        assert states(es, index_prefix, "digest") == ["delivered"] * ALERTS  # what the one digest listed
        state = digest_store.digest_state(es, names, "digest", first_due=datetime.now(UTC))
        assert state.claimed_by is None and state.last_listed == ALERTS  # sent, and the next one scheduled
        assert state.next_due > datetime.now(UTC)
    finally:
        digests.stop()
