"""The Airflow shard and summary tasks write their counts in node_exporter's textfile format (real task
functions in a real subprocess, the real node and seed site): parsed with prometheus_client's parser, they
equal the summaries the tasks return."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seeds.server import SeedServer
from tests.support.alerting import Receiver
from tests.support.seed_corpus import ALERTS, ARTICLES
from tests.test_crash_recovery import pass_env
from tests.test_metrics_service import assert_counts_match, parse, value
from wirewatch.airflow_tasks import shard_of

pytestmark = pytest.mark.slow
FEEDS = ["seed-rss", "seed-atom", "seed-fr", "seed-ar"]
TASKS = """
import json, sys
from wirewatch.airflow_tasks import setup, shard, summary
setup()
part = shard(sys.argv[1:])
print(json.dumps({"part": part, "total": summary([part])}))
"""


def test_shard_and_summary_tasks_write_textfiles_matching_their_summaries(
    es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    out = tmp_path / "textfiles"
    env = {**pass_env(es_url, index_prefix, seed_server.base_url, receiver.url, tmp_path),
           "WIREWATCH_NER_ENABLED": "false", "WIREWATCH_METRICS_TEXTFILE_DIR": str(out),
           "WIREWATCH_AIRFLOW_SHARDS": "1"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", TASKS, *FEEDS], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["part"]["entries"]["indexed"] == ARTICLES
    name = f"wirewatch-shard-{shard_of(FEEDS[0], 1)}.prom"
    assert sorted(p.name for p in out.iterdir()) == sorted([name, "wirewatch-run.prom"])  # no temporary file left
    shard_file = parse((out / name).read_text())
    assert_counts_match(shard_file, result["part"])
    assert value(shard_file, "wirewatch_last_progress_timestamp_seconds") > 0
    run_file = parse((out / "wirewatch-run.prom").read_text())
    assert_counts_match(run_file, result["total"])
    assert value(run_file, "wirewatch_deliveries_total", channel="hook", state="delivered") == ALERTS
