"""``wirewatch retag`` against the real node: older articles gain places and events, a watchlist alias added
later tags an old article, a killed run resumes, ``--dry-run`` writes nothing, ``--json`` reports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import Elasticsearch

from search.bulk import index_articles
from search.indices import setup_indices
from search.names import IndexNames
from tests.support.proxy import HoldingProxy
from tests.support.search_docs import make_doc

WIREWATCH = str(Path(sys.executable).with_name("wirewatch"))
REPORT = "JNIM fighters attacked an army post near Menaka, in Mali, on Tuesday."
ALIAS_TEXT = "Katiba Zeta claimed the ambush on the road out of Gao."


def old_doc(doc_id: str, text: str = REPORT, source: str = "demo") -> dict[str, Any]:
    """An article as indexed before places and events were resolved: neither field, NER done."""
    doc = make_doc(doc_id, text=text, source=source, published_at="2023-03-07T09:00:00+00:00")
    for name in ("places", "place_ids", "place_countries", "events"):
        doc.pop(name, None)
    return {**doc, "ner_done": True, "story_id": f"story-{doc_id}"}


def index_old(es: Elasticsearch, names: IndexNames, docs: list[dict[str, Any]]) -> None:
    setup_indices(es, names)
    report = index_articles(es, names, docs)
    assert not report.failed, report.failed
    es.indices.refresh(index=names.articles)


def stored(es: Elasticsearch, names: IndexNames, doc_id: str) -> dict[str, Any]:
    es.indices.refresh(index=names.articles)
    found: dict[str, Any] = es.get(index=names.articles, id=doc_id).body
    return found


def env_for(es_url: str, prefix: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WIREWATCH_ES_URL": es_url,
        "WIREWATCH_ES_INDEX_PREFIX": prefix,
        "WIREWATCH_NER_ENABLED": "false",  # the gazetteers place and tag; NER's own test is the NER phase's
        "WIREWATCH_ES_MAX_RETRIES": "1",
        "WIREWATCH_SUMMARY_FILE": str(tmp_path / "last-pass.json"),
        "WIREWATCH_ALERTS_FILE": str(tmp_path / "alerts.jsonl"),
        **extra,
    }


def run_retag(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run([WIREWATCH, "retag", "--json", *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def test_old_articles_gain_places_and_events_and_a_second_run_writes_nothing(
    es: Elasticsearch, es_url: str, index_prefix: str, index_names: IndexNames, tmp_path: Path
) -> None:
    index_old(es, index_names, [old_doc("a1"), old_doc("a2", source="other")])
    before = stored(es, index_names, "a1")
    assert "places" not in before["_source"] and "events" not in before["_source"]
    env = env_for(es_url, index_prefix, tmp_path)

    first = run_retag(env, "--only-missing", "all")
    assert (first["scanned"], first["updated"], first["unchanged"], first["failed"]) == (2, 2, 0, 0), first
    after = stored(es, index_names, "a1")
    src = after["_source"]
    assert {p["id"] for p in src["places"]} == {"gn:2453514", "gn:2453866"}, src["places"]
    assert "ML" in src["place_countries"]
    assert [e["type"] for e in src["events"]] and src["events"][0]["place"]["id"] == "gn:2453514", src["events"]
    assert src["group_ids"] == ["jnim"]
    for kept in ("text", "title", "story_id", "published_at", "indexed_at", "content_hash", "entities"):
        assert src[kept] == before["_source"][kept], kept
    assert after["_version"] == before["_version"] + 1

    second = run_retag(env)
    assert (second["scanned"], second["updated"], second["unchanged"]) == (2, 0, 2), second
    assert stored(es, index_names, "a1")["_version"] == after["_version"]
    assert run_retag(env, "--only-missing", "places")["scanned"] == 0  # both have places now
    only_other = run_retag(env, "--source", "other", "--since", "2023-03-01", "--until", "2023-03-07")
    assert only_other["scanned"] == 1 and only_other["total"] == 1
    assert run_retag(env, "--until", "2023-03-06")["scanned"] == 0


def test_an_alias_added_to_the_watchlist_later_tags_an_old_article_without_an_alert(
    es: Elasticsearch, es_url: str, index_prefix: str, index_names: IndexNames, tmp_path: Path
) -> None:
    index_old(es, index_names, [old_doc("z1", text=ALIAS_TEXT)])
    watchlist = tmp_path / "watchlist.yaml"
    aliases = ["Zeta Brigade"]
    group = {"id": "katiba-zeta", "name": "Katiba Zeta Brigade", "aliases": aliases}
    watchlist.write_text(yaml.safe_dump({"groups": [group]}), encoding="utf-8")
    env = env_for(es_url, index_prefix, tmp_path, WIREWATCH_WATCHLIST_FILE=str(watchlist))
    run_retag(env)
    assert stored(es, index_names, "z1")["_source"]["group_ids"] == []  # not yet tracked under that name

    aliases.append("Katiba Zeta")
    watchlist.write_text(yaml.safe_dump({"groups": [group]}), encoding="utf-8")
    summary = run_retag(env)
    assert summary["updated"] == 1, summary
    src = stored(es, index_names, "z1")["_source"]
    assert src["group_ids"] == ["katiba-zeta"]
    assert src["groups"][0]["surface_forms"] == ["Katiba Zeta"]
    assert not (tmp_path / "alerts.jsonl").exists()  # a re-tag raises no alert
    count = es.count(index=f"{index_prefix}wirewatch-alerts*", ignore_unavailable=True, allow_no_indices=True)
    assert count["count"] == 0


def test_dry_run_writes_nothing_and_counts_what_would_change(
    es: Elasticsearch, es_url: str, index_prefix: str, index_names: IndexNames, tmp_path: Path
) -> None:
    index_old(es, index_names, [old_doc("d1"), old_doc("d2")])
    versions = {i: stored(es, index_names, i)["_version"] for i in ("d1", "d2")}
    state = tmp_path / "state.json"
    summary = run_retag(env_for(es_url, index_prefix, tmp_path), "--dry-run", "--state-file", str(state))
    assert summary["dry_run"] and (summary["scanned"], summary["updated"]) == (2, 2), summary
    assert {i: stored(es, index_names, i)["_version"] for i in versions} == versions
    assert "places" not in stored(es, index_names, "d1")["_source"]
    assert not state.exists()


def test_plain_output_has_progress_lines_and_a_summary(
    es: Elasticsearch, es_url: str, index_prefix: str, index_names: IndexNames, tmp_path: Path
) -> None:
    index_old(es, index_names, [old_doc(f"p{i}") for i in range(3)])
    done = subprocess.run([WIREWATCH, "retag", "--batch", "2"], env=env_for(es_url, index_prefix, tmp_path),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.findall(r"scanned (\d)/3", done.stderr) == ["2", "3"], done.stderr
    assert "scanned 3, updated 3, unchanged 0, failed 0" in done.stdout


class SecondBulkHeld(HoldingProxy):
    """Forwards the first bulk and holds every later one (the run is killed while it waits)."""

    def __init__(self, target: str) -> None:
        self.bulks = 0
        super().__init__(target)

    def handle(self, request: Any) -> None:
        if "/_bulk" in request.path:
            self.bulks += 1
            if self.bulks == 2:
                self.hold_pattern = re.compile(r"/_bulk")
        super().handle(request)


def updated_ids(proxy: HoldingProxy) -> list[str]:
    """The article ids of the update actions in the bulks the proxy saw, in order."""
    ids = []
    for path, body in proxy.bodies:
        if "/_bulk" in path:
            ids += [json.loads(line)["update"]["_id"] for line in body.splitlines() if b'"update"' in line[:12]]
    return ids


@pytest.mark.parametrize("pit", ["kept", "expired"])
def test_a_killed_retag_resumes_and_writes_each_article_once_more_at_most(
    es: Elasticsearch, es_url: str, index_prefix: str, index_names: IndexNames, tmp_path: Path, pit: str
) -> None:
    ids = [f"k{i}" for i in range(5)]
    index_old(es, index_names, [old_doc(i) for i in ids])
    state = tmp_path / "state.json"
    args = ("retag", "--batch", "2", "--json", "--state-file", str(state))
    with SecondBulkHeld(es_url) as held:
        env = env_for(held.url, index_prefix, tmp_path)
        proc = subprocess.Popen(
            [WIREWATCH, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 180
            while not held.held.wait(0.2) and proc.poll() is None and time.monotonic() < deadline:
                pass
            assert held.held.is_set(), f"the retag never sent its second bulk (exit code {proc.poll()})"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        written_first, never_sent = updated_ids(held)[:2], updated_ids(held)[2:]
        assert written_first == ["k0", "k1"] and never_sent == ["k2", "k3"]
        checkpoint = json.loads(state.read_text())["checkpoint"]
        assert checkpoint["last_id"] == "k1"
        if pit == "expired":  # the resume takes the PIT-less fallback: id > last_id
            es.close_point_in_time(id=checkpoint["pit_id"])
        with HoldingProxy(es_url) as recorder:
            resumed = run_retag(env_for(recorder.url, index_prefix, tmp_path), *args[1:], "--resume")
        assert resumed["resumed_after"] == "k1" and resumed["scanned"] == 3 and resumed["updated"] == 3, resumed
        assert updated_ids(recorder) == ["k2", "k3", "k4"]
    writes = Counter(written_first + updated_ids(recorder))
    assert writes == dict.fromkeys(ids, 1)  # each article written once by the two runs together
    assert all("places" in stored(es, index_names, i)["_source"] for i in ids)
    assert json.loads(state.read_text())["done"] is True
    again = subprocess.run([WIREWATCH, *args, "--resume"], env=env_for(es_url, index_prefix, tmp_path),
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert again.returncode == 2 and "finished" in again.stderr and "without --resume" in again.stderr


def test_with_ner_on_the_entities_are_written_too(es: Elasticsearch, index_names: IndexNames, tmp_path: Path) -> None:
    from enrich.places.resolve import default_resolver
    from enrich.tagger import Tagger
    from enrich.watchlist import load_watchlist
    from search.rescan import scan_query
    from wirewatch.retag import RetagState, retag
    from wirewatch.settings import load_settings

    settings = load_settings()
    text = "Barack Obama met Angela Merkel in Berlin on Monday. " + REPORT
    index_old(es, index_names, [old_doc("n1", text=text)])
    watchlist = load_watchlist(settings.watchlist_file)
    with Tagger(watchlist=watchlist, model=settings.ner_model, places=default_resolver()) as tagger:
        state = RetagState(tmp_path / "state.json")
        summary = retag(es, index_names, tagger, scan_query(), batch=10, state=state)
        assert summary.updated == 1
        es.indices.refresh(index=index_names.articles)  # the scan reads what a refresh made visible
        assert retag(es, index_names, tagger, scan_query(), batch=10, state=state).updated == 0
    src = stored(es, index_names, "n1")["_source"]
    assert src["ner_model"] == settings.ner_model and src["ner_done"] is True
    assert "Barack Obama" in src["entity_names"]["person"], src["entity_names"]
    assert "gn:2453514" in src["place_ids"] and src["group_ids"] == ["jnim"]
