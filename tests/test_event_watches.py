"""Event watches on the real node, with the real tagger (NER, places, events), a real webhook receiver and a real
SMTP server: "an attack or explosion by JNIM in Burkina Faso with at least 5 killed", added with the CLI,
matched after the NER update of both NER paths (the pipeline's phase and the engine's stage)."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from enrich.stories import NewArticle, assign_stories
from search.bulk import index_articles
from search.reuse import articles_waiting_for_entities
from search.stories import EsStoryStore, story_fields
from tests.support.alerting import Receiver, SmtpSink
from tests.support.search_docs import make_doc
from wirewatch.cli import cli as root_cli
from wirewatch.delivery import deliver_alerts
from wirewatch.engine.gate import EsGate
from wirewatch.engine.ledger import FeedLedger
from wirewatch.engine.ner import NerStage
from wirewatch.engine.options import EngineOptions
from wirewatch.pipeline import add_entities, ensure_indices
from wirewatch.runtime import Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.summary import PassSummary

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = {
    r["id"]: r for r in json.loads((ROOT / "tests" / "golden_crossstory" / "reports.json").read_text())["reports"]
}
REPORTS = {
    "amb-en": GOLDEN["amb-en"],  # JNIM, ambush (attack) near Djibo, 12 soldiers killed
    "amb-fr": GOLDEN["amb-fr"],  # the same ambush, in French
    "dori-en": GOLDEN["dori-en"],  # JNIM near Dori (Burkina Faso): an armed clash, another type
    "few-en": {  # JNIM, an attack in Burkina Faso, under the threshold
        "lang": "en", "day": "2026-12-09",
        "text": "JNIM fighters killed two soldiers in an attack near Dori on Tuesday, the army said.",
    },
}  # fmt: skip
ADD = ["watch", "add", "JNIM attacks in BF", "--event-type", "attack", "--event-type", "explosion_remote_violence",
       "--group", "JNIM", "--country", "bf", "--min-killed", "5"]  # fmt: skip


@pytest.fixture()
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture()
def env(es_url: str, index_prefix: str, receiver: Receiver, smtp: SmtpSink, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "channels.yaml"
    entries = [
        {"name": "hook", "type": "webhook", "url": receiver.url},
        {"name": "desk", "type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
         "sender": "wirewatch@example.org", "to": ["desk@example.org"]},
    ]  # fmt: skip
    path.write_text(yaml.safe_dump({"channels": entries}))
    return {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_prefix,
            "WIREWATCH_CHANNELS_FILE": str(path), "WIREWATCH_DELIVERY_ALLOW_LOOPBACK": "true"}  # fmt: skip


@pytest.fixture()
def rt(env: dict[str, str]) -> Iterator[Runtime]:
    settings = load_settings(
        es_url=env["WIREWATCH_ES_URL"], es_index_prefix=env["WIREWATCH_ES_INDEX_PREFIX"],
        channels_file=Path(env["WIREWATCH_CHANNELS_FILE"]), delivery_allow_loopback=True, ner_enabled=True,
        ner_workers=1, delivery_backoff_s=0.01,
    )  # fmt: skip
    runtime = build_runtime(settings)
    ensure_indices(runtime)
    yield runtime
    runtime.es.close()


def _write(rt: Runtime, ids: list[str]) -> None:
    """What the writer does: the MinHash story, then the article, waiting for NER."""
    rt.es.indices.refresh(index=rt.names.articles)
    seen = {i: datetime.fromisoformat(REPORTS[i]["day"] + "T09:00:00+00:00") for i in ids}
    batch = [NewArticle(id=i, text=REPORTS[i]["text"], seen_at=seen[i]) for i in ids]
    stories = {a.article_id: a for a in assign_stories(batch, EsStoryStore(rt.es, rt.names))}
    docs = []
    for i in ids:
        doc: dict[str, Any] = make_doc(
            i,
            title=REPORTS[i]["text"][:50],
            text=REPORTS[i]["text"],
            language=REPORTS[i]["lang"],
            published_at=seen[i].isoformat(),
            source=i,
        )
        doc["fetched_at"] = datetime.now(UTC).isoformat()
        a = stories[i]
        docs.append({**doc, **story_fields(a.story_id, a.story_first_seen, a.band_keys, a.signature)})
    index_articles(rt.es, rt.names, docs)
    rt.es.indices.refresh(index=rt.names.articles)


def _events(rt: Runtime, aid: str) -> list[dict[str, Any]]:
    return list(rt.es.get(index=rt.names.articles, id=aid)["_source"].get("events") or [])


def _alerts(rt: Runtime) -> list[dict[str, Any]]:
    rt.es.indices.refresh(index=rt.names.alerts)
    return [h["_source"] for h in rt.es.search(index=rt.names.alerts, size=50)["hits"]["hits"]]


def _engine_ner(rt: Runtime, tagger: Any, summary: PassSummary) -> None:
    """The engine's NER stage on what waits for NER, built as the engine builds it."""
    halt, opts = threading.Event(), EngineOptions.from_settings(rt.settings)
    ledger = FeedLedger(queue.Queue(), opts=opts, summary=summary, halt=halt, now=lambda: datetime.now(UTC))
    stage = NerStage(tagger=tagger, ledger=ledger, gate=EsGate(halt, patience_s=30.0), es=rt.es, names=rt.names,
                     opts=opts, wake=threading.Event())  # fmt: skip
    stage.tag(articles_waiting_for_entities(rt.es, rt.names))


def test_an_english_and_a_french_report_of_one_attack_raise_one_alert(
    rt: Runtime, env: dict[str, str], receiver: Receiver, smtp: SmtpSink
) -> None:
    added = CliRunner().invoke(root_cli, ADD, env=env)
    assert added.exit_code == 0, added.output
    listed = CliRunner().invoke(root_cli, ["watch", "list", "--json"], env=env)
    watch = next(w for w in json.loads(listed.output) if w["name"] == "JNIM attacks in BF")
    assert watch["kind"] == "event"
    summary = PassSummary()
    with rt.tools() as tools:
        # under the threshold, and another type: events found, no alert
        _write(rt, ["few-en", "dori-en"])
        add_entities(rt, tools.tagger, summary)
        few, dori = _events(rt, "few-en"), _events(rt, "dori-en")
        assert [(e["type"], e["actor_ids"], e["fatalities"]) for e in few] == [("attack", ["jnim"], 2)]
        assert dori and all(e["type"] == "armed_clash" and "jnim" in e["actor_ids"] for e in dori)
        assert _alerts(rt) == []
        # the English report through the pipeline's NER phase, then the French one through the engine's stage
        _write(rt, ["amb-en"])
        add_entities(rt, tools.tagger, summary)
        _write(rt, ["amb-fr"])
        _engine_ner(rt, tools.tagger, summary)
        _write(rt, ["amb-fr"])  # written again (a re-fetch): NER and the watch run again, exactly once holds
        _engine_ner(rt, tools.tagger, summary)
    assert summary.failures == [], summary.to_dict()
    alerts = _alerts(rt)
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    assert alert["story_id"] == "amb-en" and alert["watch"]["kind"] == "event"
    assert [s["article_id"] for s in alert["also_seen"]] == ["amb-fr"]  # the French report joined, no new alert
    event = alert["event"]
    assert (event["type"], event["actor_ids"], event["fatalities"]) == ("attack", ["jnim"], 12)
    assert (event["place"]["name"], event["place"]["country"], event["date"]) == ("Djibo", "BF", "2026-12-06")
    assert event["sentence"] == REPORTS["amb-en"]["text"] and event["language"] == "en"

    deliver_alerts(rt, summary, rt.channels())
    assert len(receiver.requests) == 1
    payload = json.loads(receiver.requests[0].body)["alert"]
    assert payload["event"]["fatalities"] == 12 and payload["event"]["sentence"] == REPORTS["amb-en"]["text"]
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    text = next(p.get_payload(decode=True).decode() for p in mail.walk() if p.get_content_type() == "text/plain")
    page = next(p.get_payload(decode=True).decode() for p in mail.walk() if p.get_content_type() == "text/html")
    assert "Event: attack by JNIM at Djibo (BF) on 2026-12-06, 12 killed" in text
    assert f"Sentence: {REPORTS['amb-en']['text']}" in text
    assert f'<blockquote lang="en" dir="auto">{REPORTS["amb-en"]["text"]}</blockquote>' in page


def test_an_event_watch_needs_a_known_type_and_a_known_group(env: dict[str, str], rt: Runtime) -> None:
    runner = CliRunner()
    bad_type = runner.invoke(root_cli, ["watch", "add", "x", "--event-type", "riot"], env=env)
    assert bad_type.exit_code == 2 and "unknown event type 'riot'" in bad_type.output
    bad_group = runner.invoke(root_cli, ["watch", "add", "x", "--group", "nobody-at-all"], env=env)
    assert bad_group.exit_code == 2 and "no tracked group" in bad_group.output
    both = runner.invoke(root_cli, ["watch", "add", "x", "--query", "Gao", "--min-killed", "5"], env=env)
    assert both.exit_code == 2 and "either a query" in both.output
    tested = runner.invoke(root_cli, [*ADD[:3], "--country", "ML"], env=env)
    assert tested.exit_code == 0, tested.output
    run = runner.invoke(root_cli, ["watch", "test", ADD[2]], env=env)
    assert run.exit_code != 0 and "wirewatch events" in run.output


def test_the_airflow_reconcile_delivers_the_event_alerts_its_ner_phase_raised(
    rt: Runtime, env: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wirewatch.airflow_tasks import reconcile

    for key, value in {**env, "WIREWATCH_NER_ENABLED": "true", "WIREWATCH_NER_WORKERS": "1"}.items():
        monkeypatch.setenv(key, value)
    assert CliRunner().invoke(root_cli, ADD, env=env).exit_code == 0
    _write(rt, ["amb-fr"])  # a crashed shard left it without entities: the reconcile's NER phase tags it
    done = reconcile([])
    assert done["alerts"]["created"] == 1, done
    assert [json.loads(r.body)["alert"]["event"]["fatalities"] for r in receiver.requests] == [12]
