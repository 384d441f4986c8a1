"""Events on the article: found by the tagger, written by the NER phase with the publication day, stored
nested in the real index (a filter on type and actor matches one event), read back as the API reads them,
and shown by ``wirewatch tag``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from search.bulk import index_articles, update_entities
from search.indices import setup_indices
from search.names import IndexNames
from search.querying.query import SearchRequest, search_articles
from search.reuse import articles_waiting_for_entities
from tests.support.search_docs import make_doc
from wirewatch.cli import cli
from wirewatch.reuse import entity_updates
from wirewatch.web.backend import get_article

WATCHLIST = Path(__file__).resolve().parents[1] / "enrich" / "data" / "watchlist.yaml"
TEXT = (
    "Regional news.\n"
    "On Sunday, JNIM fighters ambushed an army convoy near Djibo in Burkina Faso, killing 12 soldiers.\n"
    "Gunmen kidnapped seven villagers near Timbuktu on Tuesday."
)


@pytest.fixture(scope="module")
def tagger() -> Iterator[Tagger]:
    with Tagger(watchlist=load_watchlist(WATCHLIST), workers=1) as opened:
        yield opened


def test_the_tagger_finds_events_with_actor_place_day_and_toll(tagger: Tagger) -> None:
    [tags] = tagger.tag([TEXT], published=[date(2026, 12, 7)])
    attack, kidnap = tags.events
    assert (attack.type, attack.actor_ids, attack.fatalities, attack.date) == ("attack", ["jnim"], 12, "2026-12-06")
    assert attack.place is not None and attack.place.name == "Burkina Faso"  # a GPE of NER, nearest the trigger
    assert (kidnap.type, kidnap.actor_ids, kidnap.date, kidnap.fatalities) == (
        "abduction",
        ["unidentified_gunmen"],
        "2026-12-01",
        None,
    )
    assert [e["type"] for e in tags.to_dict()["events"]] == ["attack", "abduction"]


def test_without_a_publication_day_events_keep_the_phrase_and_no_date(tagger: Tagger) -> None:
    [tags] = tagger.tag([TEXT])
    assert [(e.date, e.date_phrase) for e in tags.events] == [(None, "Sunday"), (None, "Tuesday")]


def _events_matching(es: Elasticsearch, names: IndexNames, kind: str, actor: str) -> list[str]:
    query = {
        "nested": {
            "path": "events",
            "query": {"bool": {"filter": [{"term": {"events.type": kind}}, {"term": {"events.actor_ids": actor}}]}},
        }
    }
    found = es.search(index=names.articles, query=query)
    return [h["_id"] for h in found["hits"]["hits"]]


def _ner_pass(es: Elasticsearch, names: IndexNames, tagger: Tagger) -> None:
    es.indices.refresh(index=names.articles)
    plan = entity_updates(es, names, tagger, articles_waiting_for_entities(es, names))
    assert update_entities(es, names, plan.updates).failed == {}
    es.indices.refresh(index=names.articles)


def test_the_ner_phase_stores_events_nested_and_dated(
    es: Elasticsearch, index_names: IndexNames, tagger: Tagger
) -> None:
    setup_indices(es, index_names)
    doc: dict[str, Any] = make_doc("wire", text=TEXT, published_at="2026-12-07T09:00:00+00:00")
    index_articles(es, index_names, [doc, make_doc("calm", text="The council met on Monday.")])
    _ner_pass(es, index_names, tagger)

    stored = get_article(es, index_names, "wire")  # what the API's article JSON returns
    assert stored is not None
    assert [(e["type"], e["date"], e["fatalities"]) for e in stored["events"]] == [
        ("attack", "2026-12-06", 12),
        ("abduction", "2026-12-01", None),
    ]
    assert get_article(es, index_names, "calm")["events"] == []  # type: ignore[index]
    assert _events_matching(es, index_names, "attack", "jnim") == ["wire"]
    # nested: the abduction's actor is the gunmen, not JNIM, so no article matches both in one event
    assert _events_matching(es, index_names, "abduction", "jnim") == []
    assert _events_matching(es, index_names, "abduction", "unidentified_gunmen") == ["wire"]

    # the analyst's search: a filter by event type and a facet counting articles (not events) per type
    index_articles(es, index_names, [make_doc("arrest", text="Police arrested three suspects in Niamey.")])
    _ner_pass(es, index_names, tagger)
    every = search_articles(es, index_names, SearchRequest(collapse=False))
    assert {b["value"]: b["count"] for b in every.facets["event_types"]} == {"attack": 1, "abduction": 1, "arrest": 1}
    found = search_articles(es, index_names, SearchRequest(event_types=["arrest", "abduction"], collapse=False))
    assert sorted(h.id for h in found.hits) == ["arrest", "wire"]
    assert search_articles(es, index_names, SearchRequest(event_types=["armed_clash"])).total == 0


def test_tag_json_shows_events(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WIREWATCH_WATCHLIST_FILE", "WIREWATCH_NER_ENABLED", "WIREWATCH_NER_MODEL", "WIREWATCH_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["tag", "-", "--json", "--no-ner", "--published", "2026-12-07"], input=TEXT)
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)["events"]
    assert [(e["type"], e["actor_ids"], e["fatalities"], e["date"]) for e in events] == [
        ("attack", ["jnim"], 12, "2026-12-06"),
        ("abduction", ["unidentified_gunmen"], None, "2026-12-01"),
    ]
    assert TEXT[events[0]["sentence"]["start"] : events[0]["sentence"]["end"]] == events[0]["sentence"]["text"]
    tables = runner.invoke(cli, ["tag", "-", "--no-ner"], input=TEXT)
    assert tables.exit_code == 0 and "Events" in tables.stdout and "abduction" in tables.stdout


def test_an_event_is_placed_by_the_resolved_place_in_every_language() -> None:
    """With place resolution on, an event's place is a place id: the same kidnapping reported in English,
    French and Arabic is placed at one town (the NER name is only the fallback when resolution is off)."""
    from enrich.places.resolve import default_resolver

    texts = {
        "en": "Gunmen kidnapped seven villagers near Timbuktu on Tuesday.",
        "fr": "Des hommes armés ont enlevé sept villageois près de Tombouctou mardi.",
        "ar": "خطف مسلحون سبعة قرويين قرب تمبكتو يوم الثلاثاء.",
    }
    with Tagger(watchlist=load_watchlist(WATCHLIST), workers=1, places=default_resolver()) as placed:
        tagged = placed.tag(list(texts.values()), list(texts), published=[date(2026, 12, 7)] * 3)
    timbuktu = {p.id for tags in tagged for p in tags.places}
    assert len(timbuktu) == 1, timbuktu  # one town whatever the language
    for language, tags in zip(texts, tagged, strict=True):
        (event,) = tags.events
        assert event.type == "abduction", language
        assert event.place is not None and event.place.id in timbuktu, (language, event.place)
