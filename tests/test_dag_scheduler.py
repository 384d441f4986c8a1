"""The ingest DAG under a REAL Airflow scheduler (issue 13): not ``dag.test()``, but the processes a deployment runs.

``airflow api-server`` (its Execution API: Airflow 3 task processes report to it), ``airflow scheduler``
(LocalExecutor, which Airflow 3 accepts on SQLite) and ``airflow dag-processor`` run as subprocesses over a
fresh AIRFLOW_HOME in tmp (never the project's shared one). The shard pool is created the way the README says,
with ``airflow pools set``, one slot: the shards must then run one after the other. The run is started with
``airflow dags trigger`` and followed with ``airflow dags list-runs`` until it ends; then the index, the alerts,
the webhook receiver and the summary the reconcile task wrote are checked.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import Elasticsearch

from seeds.server import SeedServer
from tests.support.alerting import Receiver, free_port, sent_alert_ids
from tests.support.seed_corpus import ALERT_GROUPS, ALERTS, ARTICLES

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
POOL = "wirewatch_test_shards"
pytestmark = [pytest.mark.slow, pytest.mark.airflow]


def airflow(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout)


def json_out(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON an ``airflow ... -o json`` command printed (its last line; warnings come before it)."""
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture()
def scheduler_env(
    tmp_path: Path, es_url: str, index_prefix: str, seed_server: SeedServer, receiver: Receiver
) -> dict[str, str]:
    channels = tmp_path / "channels.yaml"
    channels.write_text(yaml.safe_dump({"channels": [{"name": "hook", "type": "webhook", "url": receiver.url}]}))
    api_port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API_AUTH__JWT_SECRET": "wirewatch-scheduler-test-secret",  # shared by the three processes
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "PYTHONPATH": str(ROOT),
        "WIREWATCH_SCHEDULE": "",  # triggered runs only: no scheduled run races the triggered one
        "WIREWATCH_ES_URL": es_url,
        "WIREWATCH_ES_INDEX_PREFIX": index_prefix,
        "WIREWATCH_FEEDS_BASE_URL": seed_server.base_url,
        "WIREWATCH_HTTP_ALLOW_LOOPBACK": "true",
        "WIREWATCH_DELIVERY_ALLOW_LOOPBACK": "true",
        "WIREWATCH_CHANNELS_FILE": str(channels),
        "WIREWATCH_EXTRACT_WORKERS": "1",
        "WIREWATCH_NER_WORKERS": "1",
        "WIREWATCH_AIRFLOW_SHARDS": "3",  # the four seed feeds land in more than one shard
        "WIREWATCH_AIRFLOW_POOL": POOL,
        "WIREWATCH_SUMMARY_FILE": str(tmp_path / "last-pass.json"),
    }
    assert airflow(env, "db", "migrate", timeout=300).returncode == 0
    created = airflow(env, "pools", "set", POOL, "1", "wirewatch shards: one at a time on this machine")
    assert created.returncode == 0, created.stderr[-2000:]
    return env


@pytest.fixture()
def airflow_processes(scheduler_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """api-server, scheduler and dag-processor, each in its own session; stopped (SIGTERM, then SIGKILL)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = []
    for name, args in (("api-server", ["api-server", "--apps", "execution"]), ("scheduler", ["scheduler"]),
                       ("dag-processor", ["dag-processor"])):  # fmt: skip
        with (logs / f"{name}.log").open("w") as log:
            procs.append(subprocess.Popen([AIRFLOW, *args], env=scheduler_env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))  # fmt: skip
    try:
        yield logs
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)


def trigger_when_parsed(env: dict[str, str], deadline: float) -> str:
    """``airflow dags trigger`` once the dag-processor has stored the DAG; returns the run id."""
    while True:
        done = airflow(env, "dags", "trigger", "wirewatch_ingest", "-o", "json")
        if done.returncode == 0:
            return str(json_out(done)[0]["dag_run_id"])
        assert time.monotonic() < deadline, f"the DAG was never parsed: {done.stderr[-2000:]}"
        time.sleep(2)


def wait_for_run(env: dict[str, str], run_id: str, deadline: float, logs: Path) -> str:
    while True:
        runs = json_out(airflow(env, "dags", "list-runs", "wirewatch_ingest", "-o", "json"))
        state = next(r["state"] for r in runs if r["run_id"] == run_id)
        if state in ("success", "failed"):
            return str(state)
        if time.monotonic() > deadline:
            tails = {p.name: p.read_text()[-1500:] for p in logs.iterdir()}
            pytest.fail(f"run {run_id} still {state}; process logs: {tails}")
        time.sleep(3)


def test_a_real_scheduler_runs_the_shards_through_the_pool_and_delivers_the_alerts(
    airflow_processes: Path, scheduler_env: dict[str, str], es: Elasticsearch, index_prefix: str,
    receiver: Receiver, tmp_path: Path,
) -> None:  # fmt: skip
    deadline = time.monotonic() + 150
    run_id = trigger_when_parsed(scheduler_env, deadline)
    state = wait_for_run(scheduler_env, run_id, deadline, airflow_processes)

    tasks = json_out(airflow(scheduler_env, "tasks", "states-for-dag-run", "wirewatch_ingest", run_id, "-o", "json"))
    assert state == "success", tasks
    states = {(t["task_id"], str(t["map_index"])): t["state"] for t in tasks}
    shard_states = {k: v for k, v in states.items() if k[0] == "shard"}
    assert len(shard_states) >= 2 and set(shard_states.values()) == {"success"}  # the four seed feeds spread
    assert {k: v for k, v in states.items() if k[0] != "shard"} == {
        ("setup", ""): "success", ("due_feed_shards", ""): "success", ("reconcile", ""): "success",
    }
    # one pool slot: the shards ran one after the other
    shards = sorted((t for t in tasks if t["task_id"] == "shard"), key=lambda t: t["start_date"])
    for before, after in itertools.pairwise(shards):
        assert _at(before["end_date"]) <= _at(after["start_date"]), shards

    es.indices.refresh(index=f"{index_prefix}articles")
    english = {"bool": {"must": [{"match": {"text": "Belmokhtar"}}], "filter": [{"term": {"language": "en"}}]}}
    found = es.search(index=f"{index_prefix}articles", query=english)["hits"]
    assert found["total"]["value"] == 1  # extracted inside a real task process, indexed once (in two feeds)
    assert sorted(found["hits"][0]["_source"]["group_ids"]) == ["al-qaeda", "islamic-state"]
    assert found["hits"][0]["_source"]["ner_done"] is True
    alerts = es.search(index=f"{index_prefix}wirewatch-alerts", query={"match_all": {}}, size=50)["hits"]["hits"]
    assert sorted(a["_source"]["group"]["id"] for a in alerts) == ALERT_GROUPS  # English, French, Arabic
    assert all([d["state"] for d in a["_source"]["deliveries"]] == ["delivered"] for a in alerts)
    assert sorted(sent_alert_ids(receiver.requests)) == sorted(a["_id"] for a in alerts)
    assert max(sent_alert_ids(receiver.requests).values()) == 1

    summary = json.loads((tmp_path / "last-pass.json").read_text())  # written by the reconcile task
    assert summary["feeds"] == {"ok": 4} and summary["accounted"]
    assert summary["entries"]["indexed"] == ARTICLES and summary["deliveries"] == {"delivered": ALERTS}
    assert not [f for f in summary["failures"] if "worker died" in f["reason"]]


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
