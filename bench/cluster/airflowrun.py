"""Airflow 3 with the CeleryExecutor, as docker-compose.celery.yml runs it, as processes of this machine.

The environment is the compose file's (CeleryExecutor, Redis broker, results in PostgreSQL, two tasks per
worker, a four-slot pool, eight shards) with local addresses. The scheduler's heartbeat timeout is short so a
task whose worker died is failed and retried (the DAG's retries) within seconds instead of five minutes.
The run's task states are read from the metadata database itself (one query, not a CLI start per poll).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2

from bench.cluster.procs import CheckError, Group, free_port, port_open, wait_for

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "wirewatch_ingest"
POOL = "wirewatch_shards"
WORKERS = 2
WORKER_CONCURRENCY = 2
POOL_SIZE = WORKERS * WORKER_CONCURRENCY
SHARDS = 8


def airflow_env(base: dict[str, str], home: Path, sql_url: str, broker_url: str) -> dict[str, str]:
    api_port = free_port()
    backend = "db+" + sql_url  # the driver named: a bare postgresql:// now means psycopg 3 to SQLAlchemy
    return {
        **base,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": backend,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "wirewatch-cluster-check",  # shared by every Airflow process
        # a task's calls to the execution API wait this long (the default 5 s fails tasks on a busy machine)
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        # a task whose worker died stops heartbeating: failed (then retried) after 20 s, not the default 300
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
        "WIREWATCH_AIRFLOW_POOL": POOL,
        "WIREWATCH_AIRFLOW_POOL_SIZE": str(POOL_SIZE),
        "WIREWATCH_AIRFLOW_SHARDS": str(SHARDS),
        "WIREWATCH_SCHEDULE": "",  # triggered runs only
    }


def airflow(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise CheckError(f"airflow {' '.join(args)} failed: {(done.stdout + done.stderr)[-2500:]}")
    return done.stdout


def prepare(env: dict[str, str]) -> None:
    """``airflow db migrate`` and the pool, as the compose file's airflow-init does."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow(env, "db", "migrate", timeout=600)
    airflow(env, "pools", "set", POOL, str(POOL_SIZE), "wirewatch shards: the shard tasks running at once")


def start_services(env: dict[str, str], logs: Path) -> tuple[list[Group], list[Group]]:
    """api-server, scheduler, dag-processor; then the two workers (each its own log server port)."""
    core = [Group(name, [AIRFLOW, *name.split()], env=env, log=logs / f"{name.replace(' ', '-')}.log")
            for name in ("api-server", "scheduler", "dag-processor")]  # fmt: skip
    port = int(env["AIRFLOW__API__PORT"])
    wait_for("the Airflow api-server listening", lambda: port_open(port), 180, group=core[0])
    workers = [
        Group(
            f"worker-{i}",
            [AIRFLOW, "celery", "worker", "--celery-hostname", f"worker-{i}@%h"],
            env={**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())},
            log=logs / f"worker-{i}.log",
        )
        for i in range(1, WORKERS + 1)
    ]
    for worker in workers:
        wait_for(f"{worker.name} ready", lambda w=worker: "ready." in w.tail(20000), 180, group=worker)  # type: ignore[misc]
    return core, workers


def trigger(env: dict[str, str], timeout_s: float = 180) -> str:
    """``airflow dags trigger`` once the dag-processor has stored the DAG; returns the run id."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = subprocess.run([AIRFLOW, "dags", "trigger", DAG_ID, "-o", "json"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        if done.returncode == 0:
            return str(json.loads(done.stdout.strip().splitlines()[-1])[0]["dag_run_id"])
        if time.monotonic() > deadline:
            raise CheckError(f"the DAG was never parsed: {done.stderr[-2000:]}")
        time.sleep(2)


class MetaDb:
    """Reads of the run's state straight from Airflow's PostgreSQL."""

    def __init__(self, sql_url: str) -> None:
        self.dsn = sql_url.replace("postgresql+psycopg2://", "postgresql://")

    def _rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg2.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(query, params)
            return list(cur.fetchall())

    def run_state(self, run_id: str) -> str:
        rows = self._rows("select state from dag_run where dag_id = %s and run_id = %s", DAG_ID, run_id)
        return str(rows[0][0]) if rows else "missing"

    def tasks(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._rows("select task_id, map_index, state, try_number from task_instance "
                          "where dag_id = %s and run_id = %s order by task_id, map_index", DAG_ID, run_id)  # fmt: skip
        return [{"task_id": r[0], "map_index": r[1], "state": r[2], "try_number": r[3]} for r in rows]

    def running_shards(self, run_id: str) -> int:
        return sum(1 for t in self.tasks(run_id) if t["task_id"] == "shard" and t["state"] == "running")

    def wait_run(self, run_id: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while (state := self.run_state(run_id)) not in ("success", "failed"):
            if time.monotonic() > deadline:
                raise CheckError(f"run {run_id} still {state} after {timeout_s:.0f} s: {self.tasks(run_id)}")
            time.sleep(1)
        return state
