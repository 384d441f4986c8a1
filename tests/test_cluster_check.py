"""``make cluster-check`` in the suite (issue 26): the Celery scale-out run for real, a worker and a node killed.

``python -m bench.cluster`` starts PostgreSQL, Redis, Airflow (api-server, scheduler, dag-processor, two
``airflow celery worker``), three Elasticsearch nodes in one cluster, a feed farm of 300 feeds with its webhook
receiver and an SMTP server; it triggers the DAG, SIGKILLs the busiest worker and one node while shards run,
and prints its counts as its last line. The test reads that line: nothing lost, nothing twice, the shard retried
elsewhere, the cluster yellow and back, a second run that changes nothing. Every process ends with the check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
# Opt-in (`make cluster-check` sets it): on CI's clean two-core machine the first run outlived its 600 s bound, and
# the whole check takes 15-25 minutes there, a third of the suite's budget.
OPTED_IN = os.environ.get("WIREWATCH_CLUSTER_CHECK") == "1"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.airflow,
    pytest.mark.skipif(not OPTED_IN, reason="the Celery scale-out check: `make cluster-check` runs it"),
]


def run_check() -> tuple[dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "AIRFLOW"))}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "bench.cluster"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=2700)  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def leftovers() -> list[str]:
    """Processes still alive in any process group the check started (it lists them in groups.json)."""
    groups = set(json.loads((ROOT / ".cache" / "cluster-check" / "groups.json").read_text()))
    assert len(groups) >= 10  # 3 nodes (4 with the restart), Postgres, Redis, 3 Airflow services, 2 workers
    alive = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if os.getpgid(proc.info["pid"]) in groups:
                alive.append(" ".join(proc.info["cmdline"] or [])[:200])
        except ProcessLookupError:
            continue
    return alive


@pytest.mark.timeout(2800)
def test_the_cluster_check_loses_and_repeats_nothing_when_a_worker_and_a_node_die() -> None:
    result, stderr = run_check()
    assert result["killed_worker"] is True and result["killed_node"] is True, result
    assert result["first_run"] == "success", result
    assert max(result["shard_tries"]) >= 2, result  # the dead worker's shard ran again, on the other worker
    assert "yellow" in result["health_after_node_kill"], result  # replicas lost with the node, then rebuilt
    assert result["replicas"] == [1], result

    assert result["articles_indexed"] == result["articles_expected"] == 600, result
    assert result["duplicate_articles"] == 0, result
    assert result["alerts_created"] > 100, result
    assert result["duplicate_alerts"] == 0, result
    assert result["undelivered_alerts"] == 0 and result["deliveries_not_marked"] == 0, result
    assert result["duplicate_deliveries"] == 0 and result["unknown_deliveries"] == 0, result
    assert result["deliveries_webhook"] == result["deliveries_email"] == result["alerts_created"], result
    assert result["mail_headers_truncated"] == 0, result
    assert result["feed_states_committed"] == result["feeds"] == 300, result
    assert result["summary_accounted"] is True, result

    assert result["second_run"] == "success", result
    assert result["second_run_unchanged"] is True, result["second_run_changes"]
    assert result["seconds"] < 1500, result  # target: 10 min on two cores alone; 21 min measured at load 25-40
    assert leftovers() == [], stderr[-2000:]
