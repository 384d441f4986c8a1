"""The Airflow DAG under a real Airflow 3.3: DagBag integrity, and one real ``dag.test()`` run.

Both run in a fresh interpreter (Airflow reads its configuration at import, and the parse-time check must see
a process that has not imported spaCy or trafilatura already), with a project-local AIRFLOW_HOME on SQLite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from seeds.server import SeedServer
from tests.support.alerting import Receiver, sent_alert_ids
from tests.support.seed_corpus import ALERTS, ARTICLES, MESSAGES
from wirewatch.steps import Step

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.airflow

INSPECT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("wirewatch_ingest")
heavy = sorted(m for m in ("spacy", "trafilatura", "elasticsearch", "enrich", "ingest", "search", "notify")
               if m in sys.modules)
tasks = {t.task_id: {"retries": t.retries, "backoff": t.retry_exponential_backoff, "pool": t.pool,
                     "timeout_s": t.execution_timeout.total_seconds() if t.execution_timeout else None,
                     "upstream": sorted(t.upstream_task_ids),
                     "outlets": [getattr(o, "uri", str(o)) for o in t.outlets]} for t in dag.tasks} if dag else {}
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "heavy": heavy, "tasks": tasks,
                  "max_active_runs": dag.max_active_runs if dag else None,
                  "catchup": dag.catchup if dag else None}))
"""

RUN = """
from airflow.dag_processing.dagbag import DagBag
import sys
dag = DagBag(dag_folder=sys.argv[1]).dags["wirewatch_ingest"]
run = dag.test()
print("DAGRUN-STATE", run.state)
"""


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "PYTHONPATH": str(ROOT),
    }
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return env


def test_dagbag_imports_cleanly_and_lightly(airflow_env: dict[str, str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", INSPECT, str(ROOT / "dags")],
        env=airflow_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["errors"] == {}
    assert data["heavy"] == [], f"parsing the DAG loaded {data['heavy']}"
    assert data["max_active_runs"] == 1 and data["catchup"] is False
    tasks = data["tasks"]
    # task ids are the step vocabulary (wirewatch.steps.Step), plus the shard planner and the mapped "shard"
    assert set(tasks) == {"due_feed_shards", "shard"} | {str(s) for s in (Step.SETUP, Step.RECONCILE)}
    assert all(t["retries"] >= 1 and t["backoff"] for t in tasks.values())
    assert tasks["shard"]["outlets"] == ["wirewatch://elasticsearch/articles"]
    assert tasks["shard"]["pool"] == "wirewatch_shards"  # the airflow_pool setting: caps shards at once
    assert all(t["pool"] == "default_pool" for name, t in tasks.items() if name != "shard")
    assert tasks["shard"]["upstream"] == ["due_feed_shards"]
    assert tasks["reconcile"]["upstream"] == ["shard"]


def test_every_task_has_an_execution_timeout_past_the_pass_deadline(airflow_env: dict[str, str]) -> None:
    env = {**airflow_env, "WIREWATCH_PASS_DEADLINE_S": "300"}
    out = subprocess.run(
        [sys.executable, "-c", INSPECT, str(ROOT / "dags")], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    tasks = json.loads(out.stdout.strip().splitlines()[-1])["tasks"]
    timeouts = {name: t["timeout_s"] for name, t in tasks.items()}
    assert all(timeouts.values()), timeouts  # a hung task is stopped (and retried), never holds the run
    # a shard's pass ends by the pass deadline, deliveries included: its task gets that and a margin
    assert 300 < timeouts["shard"] <= 300 + 900 and 300 < timeouts["reconcile"] <= 300 + 900
    assert timeouts["setup"] <= 900 and timeouts["due_feed_shards"] <= 900



@pytest.mark.slow
def test_dag_test_ingests_the_seed_and_delivers_two_alerts_using_the_airflow_connection(
    airflow_env: dict[str, str], es: Elasticsearch, es_url: str, index_prefix: str, receiver: Receiver,
    tmp_path: Path,
) -> None:  # fmt: skip
    channels = tmp_path / "channels.yaml"
    channels.write_text(yaml.safe_dump({"channels": [{"name": "hook", "type": "webhook", "url": receiver.url}]}))
    with SeedServer() as seed:
        env = {
            **airflow_env,
            # Elasticsearch comes from the Airflow connection, which wins over the settings (a dead port here).
            "AIRFLOW_CONN_WIREWATCH_ES": json.dumps({"conn_type": "http", "host": es_url}),
            "WIREWATCH_ES_URL": "http://127.0.0.1:9",
            "WIREWATCH_ES_INDEX_PREFIX": index_prefix,
            "WIREWATCH_FEEDS_BASE_URL": seed.base_url,
            "WIREWATCH_HTTP_ALLOW_LOOPBACK": "true",
            "WIREWATCH_DELIVERY_ALLOW_LOOPBACK": "true",
            "WIREWATCH_CHANNELS_FILE": str(channels),
            "WIREWATCH_NER_WORKERS": "1",
            "WIREWATCH_EXTRACT_WORKERS": "1",
            "WIREWATCH_AIRFLOW_SHARDS": "3",  # seed-rss and seed-atom land in different shards
            "WIREWATCH_SUMMARY_FILE": str(tmp_path / "last-pass.json"),
        }
        out = subprocess.run(
            [sys.executable, "-c", RUN, str(ROOT / "dags")], env=env, capture_output=True, text=True, timeout=600
        )
    assert "DAGRUN-STATE success" in out.stdout, (out.stdout + out.stderr)[-4000:]

    es.indices.refresh(index=f"{index_prefix}articles")
    english = {"bool": {"must": {"match": {"text": "Belmokhtar"}}, "filter": {"term": {"language": "en"}}}}
    found = es.search(index=f"{index_prefix}articles", query=english)
    assert found["hits"]["total"]["value"] == 1
    source = found["hits"]["hits"][0]["_source"]
    assert sorted(source["group_ids"]) == ["al-qaeda", "islamic-state"]
    assert source["ner_done"] is True  # the shard added entities after the alerts
    sent = sent_alert_ids(receiver.requests)  # one message per article, listing each of its groups' alerts
    assert len(receiver.requests) == MESSAGES and len(sent) == ALERTS and max(sent.values()) == 1
    summary = json.loads((tmp_path / "last-pass.json").read_text())  # written by the reconcile task
    assert summary["feeds"] == {"ok": 4} and summary["accounted"]
    # the English article is in two feeds (and shards): indexed once; its French and Arabic companions too
    assert summary["entries"]["indexed"] == ARTICLES
    assert summary["deliveries"] == {"delivered": ALERTS}
