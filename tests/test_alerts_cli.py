"""``wirewatch watch`` and ``wirewatch alerts`` end to end: the real CLI against the real node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from elasticsearch import Elasticsearch

from search.alerting.reconcile import match_since_checkpoint
from search.alerting.watches import sync_group_watches
from search.bulk import index_articles
from search.names import IndexNames
from tests.support.alerting import (
    article,
    index_prefix,  # noqa: F401  (overrides conftest's: see its docstring)
    setup_store,
)
from wirewatch.cli import cli as root_cli

CAR_TEXT = "A car bomb exploded outside the market; no group has claimed responsibility so far."
IS_TEXT = "Officials said fighters loyal to ISIS attacked a checkpoint near the border on Monday night."


@pytest.fixture()
def env(es_url: str, index_prefix: str, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    channels = tmp_path / "channels.yaml"
    channels.write_text(yaml.safe_dump([{"name": "file", "type": "file", "path": "alerts.jsonl"}]))
    return {
        "WIREWATCH_ES_URL": es_url,
        "WIREWATCH_ES_INDEX_PREFIX": index_prefix,
        "WIREWATCH_CHANNELS_FILE": str(channels),
        "WIREWATCH_CONFIG": "",
    }


@pytest.fixture()
def indexed(es: Elasticsearch, index_names: IndexNames) -> IndexNames:
    setup_store(es, index_names)
    sync_group_watches(es, index_names, [{"id": "islamic-state", "name": "Islamic State"}], channels=["file"])
    docs = [
        article("a-car", title="Market blast", text=CAR_TEXT),
        article("a-is", title="Border attack", text=IS_TEXT, groups={"islamic-state": ("Islamic State", "ISIS")}),
    ]
    assert not index_articles(es, index_names, docs).failed
    match_since_checkpoint(es, index_names)
    return index_names


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(root_cli, list(args), env=env)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def test_watch_add_list_test_remove(env: dict[str, str], indexed: IndexNames) -> None:
    added = run(env, "watch", "add", "Car bombs", "--query", '"car bomb"')
    assert added.exit_code == 0, added.stderr
    watches = {w["name"]: w for w in as_json(run(env, "watch", "list", "--json"))}
    assert watches["Car bombs"]["channels"] == ["file"] and watches["Car bombs"]["kind"] == "query"
    assert watches["Islamic State"]["kind"] == "group"

    tested = as_json(run(env, "watch", "test", "car bombs", "--json"))  # names are case-insensitive
    assert [(t["article_id"], t["already_alerted"]) for t in tested] == [("a-car", False)]
    assert "«car bomb»" in tested[0]["passage"].lower()
    group_test = as_json(run(env, "watch", "test", "Islamic State", "--json"))
    assert [(t["article_id"], t["already_alerted"]) for t in group_test] == [("a-is", True)]
    table = run(env, "watch", "test", "Car bombs")
    assert table.exit_code == 0 and "Market blast" in table.stdout

    assert run(env, "watch", "remove", "Car bombs").exit_code == 0
    gone = run(env, "watch", "test", "Car bombs")
    assert gone.exit_code == 2 and "no watch named" in gone.stderr and "Traceback" not in gone.output


def test_watch_add_refuses_bad_queries_unknown_channels_and_duplicates(
    env: dict[str, str], indexed: IndexNames
) -> None:
    bad = run(env, "watch", "add", "Broken", "--query", '"car bomb')
    assert bad.exit_code == 2 and "unterminated phrase" in bad.stderr and "Traceback" not in bad.output
    unknown = run(env, "watch", "add", "X", "--query", "bomb", "--channel", "pager")
    assert unknown.exit_code == 2 and "unknown channel(s): pager" in unknown.stderr
    assert run(env, "watch", "add", "Bombs", "--query", "bomb").exit_code == 0
    again = run(env, "watch", "add", "bombs", "--query", "bomb")
    assert again.exit_code == 2 and "already exists" in again.stderr
    group = run(env, "watch", "remove", "Islamic State")
    assert group.exit_code == 2 and "watchlist" in group.stderr


def test_alerts_list_filters(env: dict[str, str], indexed: IndexNames) -> None:
    alerts = as_json(run(env, "alerts", "list", "--json"))
    assert [a["article_id"] for a in alerts] == ["a-is"]
    assert [a["article_id"] for a in as_json(run(env, "alerts", "list", "--pending", "--json"))] == ["a-is"]
    assert as_json(run(env, "alerts", "list", "--failed", "--json")) == []
    assert as_json(run(env, "alerts", "list", "--watch", "nobody", "--json")) == []
    assert len(as_json(run(env, "alerts", "list", "--since", "1d", "--watch", "Islamic State", "--json"))) == 1
    table = run(env, "alerts", "list")
    assert table.exit_code == 0 and "Border attack" in table.stdout and "file: pending" in table.stdout
    bad_since = run(env, "alerts", "list", "--since", "yesterday")
    assert bad_since.exit_code == 2 and "--since" in bad_since.stderr


def test_unreachable_elasticsearch_is_a_one_line_error(env: dict[str, str]) -> None:
    result = run({**env, "WIREWATCH_ES_URL": "http://127.0.0.1:9", "WIREWATCH_ES_MAX_RETRIES": "0"}, "alerts", "list")
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert "wirewatch es start" in result.stderr
