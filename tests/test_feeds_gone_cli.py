"""A feed answering 410, or 404 several polls in a row, is a permanent failure end to end: the pass summary
says it will not mend by retrying, and ``wirewatch feeds --json`` shows it gone (issue 11 defect 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.support.ingest_servers import FaultServer, respond
from wirewatch.cli import cli as root
from wirewatch.engine import run_engine
from wirewatch.pipeline import ensure_indices
from wirewatch.runtime import PassTools, Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.summary import PassSummary


@pytest.fixture()
def server() -> Iterator[FaultServer]:
    with FaultServer() as fault_server:
        fault_server.routes["/gone.xml"] = respond(410, "gone", "text/plain")
        fault_server.routes["/missing.xml"] = respond(404, "no", "text/plain")
        yield fault_server


@pytest.fixture()
def env(es_url: str, index_prefix: str, server: FaultServer, tmp_path: Path) -> dict[str, str]:
    feeds = [{"id": "gone", "url": server.url("/gone.xml")}, {"id": "missing", "url": server.url("/missing.xml")}]
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(yaml.safe_dump({"feeds": feeds}))
    return {
        "WIREWATCH_ES_URL": es_url,
        "WIREWATCH_ES_INDEX_PREFIX": index_prefix,
        "WIREWATCH_FEEDS_FILE": str(feeds_file),
        "WIREWATCH_HTTP_ALLOW_LOOPBACK": "true",
        "WIREWATCH_HTTP_RETRIES": "0",
        "WIREWATCH_FEED_GONE_AFTER_404S": "2",
        "WIREWATCH_FEED_MAX_BACKOFF_S": "7200",
    }


@pytest.fixture()
def runtime(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rt = build_runtime(load_settings(extract_workers=1))
    ensure_indices(rt)
    yield rt
    rt.es.close()


@pytest.fixture()
def tools(runtime: Runtime) -> Iterator[PassTools]:
    with runtime.tools(ner=False) as opened:
        yield opened


def feeds_json(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(root, ["feeds", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return {row["id"]: row for row in json.loads(result.output)}


def poll_failures(summary: PassSummary) -> dict[str, bool]:
    return {f.subject: f.transient for f in summary.failures if f.stage == "poll"}


def test_410_and_repeated_404_are_gone_in_the_summary_and_in_wirewatch_feeds(
    runtime: Runtime, tools: PassTools, env: dict[str, str]
) -> None:
    first = PassSummary()
    now = datetime.now(UTC)
    run_engine(runtime, tools, runtime.feeds(), summary=first, only_due=False, now=lambda: now)
    assert poll_failures(first) == {"gone": False, "missing": True}
    rows = feeds_json(env)
    assert (rows["gone"]["health"], rows["gone"]["transient"]) == ("gone", False)
    assert "gone (HTTP 410)" in rows["gone"]["last_error"]
    assert rows["gone"]["next_poll_at"] == (now + timedelta(seconds=7200)).isoformat()
    assert (rows["missing"]["health"], rows["missing"]["transient"]) == ("failing", True)

    second = PassSummary()
    later = now + timedelta(hours=1)
    run_engine(runtime, tools, runtime.feeds(), summary=second, only_due=False, now=lambda: later)
    assert poll_failures(second) == {"gone": False, "missing": False}
    rows = feeds_json(env)
    assert (rows["missing"]["health"], rows["missing"]["transient"]) == ("gone", False)
    assert "gone (2 HTTP 404 answers in a row)" in rows["missing"]["last_error"]
    assert rows["missing"]["next_poll_at"] == (now + timedelta(hours=1, seconds=7200)).isoformat()
    failing = CliRunner().invoke(root, ["feeds", "--json", "--failing"], env=env)
    assert sorted(row["id"] for row in json.loads(failing.output)) == ["gone", "missing"]
