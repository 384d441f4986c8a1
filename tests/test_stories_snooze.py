"""``wirewatch watch snooze NAME --until ...``: a snoozed watch raises nothing until the snooze ends, then
raises again (real CLI, real node)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from elasticsearch import Elasticsearch

from search.alerting.reconcile import match_since_checkpoint
from search.alerting.watches import get_watch, sync_group_watches
from search.bulk import index_articles
from search.names import IndexNames
from tests.support.alerting import (
    article,
    index_prefix,  # noqa: F401  (overrides conftest's: see its docstring)
    setup_store,
)
from wirewatch.cli import cli as root_cli
from wirewatch.cli.watch import parse_until

IS_TEXT = "Officials said fighters loyal to ISIS attacked a checkpoint near the border on {day} night."
IS_GROUP = {"islamic-state": ("Islamic State", "ISIS")}


@pytest.fixture()
def env(es_url: str, index_prefix: str, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    channels = tmp_path / "channels.yaml"
    channels.write_text(yaml.safe_dump([{"name": "file", "type": "file", "path": "alerts.jsonl"}]))
    return {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_prefix,
            "WIREWATCH_CHANNELS_FILE": str(channels), "WIREWATCH_CONFIG": ""}  # fmt: skip


def run(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(root_cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def _new_article(es: Elasticsearch, names: IndexNames, doc_id: str, day: str) -> int:
    doc = article(doc_id, title="Border attack", text=IS_TEXT.format(day=day), groups=IS_GROUP)
    assert not index_articles(es, names, [doc]).failed
    return len(match_since_checkpoint(es, names).alerts.created)


def test_a_snoozed_watch_raises_nothing_until_the_snooze_ends(
    es: Elasticsearch, index_names: IndexNames, env: dict[str, str]
) -> None:
    setup_store(es, index_names)
    sync_group_watches(es, index_names, [{"id": "islamic-state", "name": "Islamic State"}], channels=["file"])

    assert "snoozed until" in run(env, "watch", "snooze", "islamic state", "--until", "2h").output
    assert _new_article(es, index_names, "during", "Monday") == 0
    # a pass re-syncing the group watches keeps the snooze
    sync_group_watches(es, index_names, [{"id": "islamic-state", "name": "IS"}], channels=["file"])
    assert get_watch(es, index_names, "IS").snoozed_until is not None
    assert _new_article(es, index_names, "during-2", "Tuesday") == 0

    # the snooze ends (here: set to now, as if its time had come), and the watch raises again, for articles
    # indexed after the end only (the two matched while it slept stay silent)
    run(env, "watch", "snooze", "IS", "--until", datetime.now(UTC).isoformat())
    assert _new_article(es, index_names, "after", "Wednesday") == 1
    assert es.count(index=index_names.alerts)["count"] == 1


def test_until_accepts_relative_iso_and_off() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_until("2h", now=now) == now + timedelta(hours=2)
    assert parse_until("2024-05-02T08:00:00") == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    assert parse_until("off") is None
