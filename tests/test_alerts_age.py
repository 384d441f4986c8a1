"""No alerts for the past: a pass over a loopback site with one article published in 2018 and one published
an hour ago (real site, real node, the real engine). Both are indexed and searchable; only the fresh one
raises alerts, and the pass summary counts the old one as too old to alert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.support.stories_site import StoriesSite
from wirewatch.cli import cli as root_cli
from wirewatch.pipeline import run_pass
from wirewatch.runtime import build_runtime
from wirewatch.settings import Settings, load_settings

FRESH_TEXT = [
    "Fighters of the Islamic State attacked an army post near Menaka on Sunday night, killing four soldiers "
    "and wounding six, according to a statement from the regional governor published on Monday morning.",
    "The Islamic State in the Sahel has grown stronger in the region since last year, local officials said, "
    "and villagers along the border with Niger have fled towards the towns in large numbers since the spring.",
    "The army said reinforcements had been sent by road from Gao and that patrols would continue through the "
    "week, while the governor asked residents to stay away from the markets until the roads were secured.",
]


@pytest.fixture()
def sites() -> Iterator[tuple[StoriesSite, StoriesSite]]:
    fresh = datetime.now(UTC) - timedelta(hours=1)
    with StoriesSite([datetime(2018, 2, 23, 9, 30, tzinfo=UTC)]) as old, StoriesSite([fresh], FRESH_TEXT) as new:
        yield old, new


@pytest.mark.slow
def test_an_old_article_is_indexed_but_raises_no_alert(
    es_url: str, index_prefix: str, sites: tuple[StoriesSite, StoriesSite], tmp_path: Path
) -> None:
    old, new = sites
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"feeds": [
        {"id": "old", "url": old.feeds[0]["url"]}, {"id": "fresh", "url": new.feeds[0]["url"]},
    ]}))  # fmt: skip
    settings = load_settings(
        es_url=es_url, es_index_prefix=index_prefix, feeds_file=feeds, alerts_file=tmp_path / "alerts.jsonl",
        http_allow_loopback=True, http_respect_robots=False, extract_workers=1, ner_enabled=False,
        alert_max_age_days=7,
    )  # fmt: skip
    rt = build_runtime(settings)
    try:
        with rt.tools(ner=False) as tools:
            summary = run_pass(rt, tools).to_dict()
        assert summary["entries"]["indexed"] == 2, summary
        assert summary["alerts"].get("too_old_to_alert") == 1, summary["alerts"]

        rt.es.indices.refresh(index=rt.names.articles)
        docs = {h["_source"]["source"]: h["_source"] for h in rt.es.search(index=rt.names.articles)["hits"]["hits"]}
        assert set(docs) == {"old", "fresh"}
        assert docs["old"]["published_at"].startswith("2018-02-23")
        found = rt.es.search(index=rt.names.articles, query={"match": {"text": "Libya"}})["hits"]["hits"]
        assert [h["_source"]["source"] for h in found] == ["old"]  # searchable as before

        rt.es.indices.refresh(index=rt.names.alerts)
        alerts = [h["_source"] for h in rt.es.search(index=rt.names.alerts, size=50)["hits"]["hits"]]
        assert alerts, "the fresh article raises its group's alert"
        assert {a["article_id"] for a in alerts} == {docs["fresh"]["id"]}
        assert all(a["published_at"] == docs["fresh"]["published_at"] for a in alerts)

        # `watch test` shows what the watch would have raised, and which the bound skips (the backfill)
        env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_prefix,
               "WIREWATCH_ALERT_MAX_AGE_DAYS": "7", "COLUMNS": "250"}  # fmt: skip
        shown = CliRunner().invoke(root_cli, ["watch", "test", "Islamic State", "--json"], env=env)
        assert shown.exit_code == 0, shown.output
        rows = {r["source"]: r for r in json.loads(shown.stdout)}
        assert (rows["old"]["too_old"], rows["fresh"]["too_old"]) == (True, False)
        assert (rows["old"]["already_alerted"], rows["fresh"]["already_alerted"]) == (False, True)
        table = CliRunner().invoke(root_cli, ["watch", "test", "Islamic State"], env=env)
        assert "1 would raise an alert; 1 skipped as too old (published over 7 days" in table.stdout, table.output
        off = CliRunner().invoke(root_cli, ["watch", "test", "Islamic State", "--json"],
                                 env={**env, "WIREWATCH_ALERT_MAX_AGE_DAYS": "0"})  # fmt: skip
        assert not any(r["too_old"] for r in json.loads(off.stdout))
    finally:
        rt.close()


def test_the_age_bound_defaults_to_three_days() -> None:
    assert Settings.model_fields["alert_max_age_days"].default == 3
    assert Settings(alert_max_age_days=0).alert_max_age_s is None  # 0 turns it off
    assert Settings(alert_max_age_days=3).alert_max_age_s == 3 * 86400
