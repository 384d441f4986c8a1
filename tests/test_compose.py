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
    from ingest.feeds import load_feed_list
    from notify.config import channels_from_config

    feeds = load_feed_list(ROOT / "config" / "feeds.yaml")
    assert feeds and all(f.url.startswith("https://") for f in feeds)
    entries = yaml.safe_load((ROOT / "config" / "channels.yaml").read_text())
    channels = channels_from_config(entries, env={})
    assert list(channels) == ["file"]
