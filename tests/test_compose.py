"""docker-compose.yml cannot run here (no Docker engine): check its shape instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_SERVICES = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_has_every_service(compose: dict[str, Any]) -> None:
    expected = {"elasticsearch", "kibana", "postgres", "airflow-init", *AIRFLOW_SERVICES}
    assert expected <= set(compose["services"])


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", tag), f"{name}: image {image} is not pinned to a version"
    assert compose["services"]["elasticsearch"]["image"].endswith(":8.19.21")
    assert compose["services"]["airflow-scheduler"]["image"].endswith(":3.3.2")
    dockerfile = (ROOT / "Dockerfile.airflow").read_text()
    assert "apache/airflow:3.3.2" in dockerfile


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name in ["elasticsearch", "kibana", "postgres", *AIRFLOW_SERVICES]:
        check = compose["services"][name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["kibana"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert services["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in AIRFLOW_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["elasticsearch"]["condition"] == "service_healthy", name
        assert deps["postgres"]["condition"] == "service_healthy", name


def test_airflow_gets_project_and_elasticsearch(compose: dict[str, Any]) -> None:
    for name in ["airflow-init", *AIRFLOW_SERVICES]:
        service = compose["services"][name]
        assert service["environment"]["WIREWATCH_ES_URL"] == "http://elasticsearch:9200"
        assert any(v.startswith("./dags:") for v in service["volumes"]), name
    init_cmd = compose["services"]["airflow-init"]["command"]
    assert "airflow db migrate" in init_cmd


def test_elasticsearch_heap_and_volume(compose: dict[str, Any]) -> None:
    es = compose["services"]["elasticsearch"]
    assert "-Xmx" in es["environment"]["ES_JAVA_OPTS"]
    assert any(v.startswith("es-data:") for v in es["volumes"])
    assert "es-data" in compose["volumes"]


def test_mounted_config_files_are_valid() -> None:
    from ingest.feedlist import load_feed_list
    from notify.config import channels_from_config

    feeds = load_feed_list(ROOT / "config" / "feeds.yaml")
    assert feeds and all(f.url.startswith("https://") for f in feeds)
    entries = yaml.safe_load((ROOT / "config" / "channels.yaml").read_text())
    channels = channels_from_config(entries, env={})
    assert list(channels) == ["file"]


# --- the CeleryExecutor variant: docker-compose.celery.yml, an override file ---------------------------------
CELERY_WORKERS = ["airflow-worker-1", "airflow-worker-2"]
ES_NODES = ["elasticsearch", "elasticsearch-2", "elasticsearch-3"]


@pytest.fixture(scope="module")
def celery(compose: dict[str, Any]) -> dict[str, Any]:
    """docker-compose.yml with docker-compose.celery.yml merged over it as `docker compose -f a -f b` does:
    mappings (environment, depends_on) merge key by key, other values are replaced, new services added."""
    override: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.celery.yml").read_text())
    merged = {name: dict(service) for name, service in compose["services"].items()}
    for name, service in override["services"].items():
        base = merged.setdefault(name, {})
        for key, value in service.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
    return {"services": merged, "override": override}


def test_celery_variant_adds_redis_and_two_workers(celery: dict[str, Any]) -> None:
    services = celery["services"]
    assert {"redis", *CELERY_WORKERS} <= set(celery["override"]["services"])
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+", services["redis"]["image"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in CELERY_WORKERS:
        worker = services[name]
        assert worker["command"] == "airflow celery worker"
        assert worker["image"] == services["airflow-scheduler"]["image"]  # the same image with wirewatch in it
        assert any(v.startswith("./dags:") for v in worker["volumes"])
        assert "celery" in " ".join(worker["healthcheck"]["test"])
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
        assert worker["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert services[CELERY_WORKERS[0]]["hostname"] != services[CELERY_WORKERS[1]]["hostname"]


def test_celery_variant_switches_every_airflow_process_to_the_celery_executor(celery: dict[str, Any]) -> None:
    services = celery["services"]
    for name in ["airflow-init", *AIRFLOW_SERVICES, *CELERY_WORKERS]:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0", name
        # the driver named: SQLAlchemy reads a bare postgresql:// as psycopg 3, which is not installed
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        assert env["WIREWATCH_ES_URL"].split(",") == [f"http://{n}:9200" for n in ES_NODES], name
        assert env["WIREWATCH_AIRFLOW_POOL"] == "wirewatch_shards", name
    # the base file's own health waits survive the merge
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy", name
    # a worker's tasks report to the api-server's execution API, as the LocalExecutor's do
    execution_api = services["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    assert all(services[w]["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == execution_api
               for w in CELERY_WORKERS)  # fmt: skip


def test_the_shard_pool_is_created_before_the_scheduler_starts(compose: dict[str, Any]) -> None:
    init = compose["services"]["airflow-init"]
    assert "airflow pools set $${WIREWATCH_AIRFLOW_POOL} $${WIREWATCH_AIRFLOW_POOL_SIZE}" in init["command"]
    assert init["environment"]["WIREWATCH_AIRFLOW_POOL"] == "wirewatch_shards"
    assert int(init["environment"]["WIREWATCH_AIRFLOW_POOL_SIZE"]) >= 1


def test_celery_variant_runs_what_the_cluster_check_runs(celery: dict[str, Any]) -> None:
    """`make cluster-check` (bench/cluster) runs these services as local processes: same counts and settings."""
    from bench.cluster import airflowrun

    services = celery["services"]
    assert len(CELERY_WORKERS) == airflowrun.WORKERS
    env = services[CELERY_WORKERS[0]]["environment"]
    assert int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]) == airflowrun.WORKER_CONCURRENCY
    assert int(env["WIREWATCH_AIRFLOW_POOL_SIZE"]) == airflowrun.POOL_SIZE
    assert int(env["WIREWATCH_AIRFLOW_SHARDS"]) == airflowrun.SHARDS
    assert env["WIREWATCH_AIRFLOW_POOL"] == airflowrun.POOL
    assert "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT" in env  # the check sets it too (shorter)
    check_env = airflowrun.airflow_env({}, ROOT, "postgresql+psycopg2://airflow@127.0.0.1:1/airflow", "redis://x")
    assert env["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"] == check_env["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"]
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].split("://")[0] == check_env["AIRFLOW__CELERY__RESULT_BACKEND"].split("://")[0]
    assert services["redis"]["command"][0] == "redis-server"
    assert {"--appendonly", "no", "--save", ""} <= set(services["redis"]["command"])  # as start_redis runs it
    assert services["postgres"]["image"].startswith("postgres:")


def test_celery_variant_has_three_elasticsearch_nodes_with_the_plugin(celery: dict[str, Any]) -> None:
    from bench.cluster import escluster
    from search.localnode.config import ES_VERSION
    from search.localnode.fetch import PLUGIN_NAME

    services = celery["services"]
    for name in ES_NODES:
        node = services[name]
        env = node["environment"]
        assert node["image"] == f"wirewatch-elasticsearch:{ES_VERSION}", name
        assert node["build"]["dockerfile"] == "Dockerfile.elasticsearch", name
        assert env["node.name"] == name
        assert env["discovery.type"] == "multi-node"  # replaces the base file's single-node
        assert env["discovery.seed_hosts"].split(",") == ES_NODES
        assert env["cluster.initial_master_nodes"].split(",") == ES_NODES
        assert env["ES_JAVA_OPTS"] == f"-Xms{escluster.HEAP_MB}m -Xmx{escluster.HEAP_MB}m", name
        assert node["healthcheck"]["test"], name
    volumes = [services[n].get("volumes", [""])[0].split(":")[0] for n in ES_NODES]
    assert len(set(volumes)) == 3, volumes  # each node its own data
    dockerfile = (ROOT / "Dockerfile.elasticsearch").read_text()
    assert f"elasticsearch:{ES_VERSION}" in dockerfile
    assert f"elasticsearch-plugin install --batch file:///tmp/{PLUGIN_NAME}.zip" in dockerfile
    assert f"target/{PLUGIN_NAME}-1.0.0.zip" in dockerfile
