"""Event extraction's parts: numbers, relative dates, the nearest place, tolls never guessed, claims, and
the hard negatives that must stay negative."""

from __future__ import annotations

from datetime import date

import pytest

from enrich.events.dates import DateFinder, event_date
from enrich.events.extract import extract_events, sentence_spans
from enrich.events.model import PlaceSpan
from enrich.events.numbers import number_runs, words_of
from enrich.events.places import nearest_place
from enrich.events.tokens import tokenize

MONDAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("twenty three", 23),
        ("vingt-trois", 23),
        ("quatre-vingts", 80),
        ("soixante dix", 70),
        ("12", 12),
        ("خمسة وعشرين", 25),
        ("ثلاثة عشر", 13),
        ("أحد عشر", 11),
        ("١٢", 12),
        ("seven", 7),
        ("سبعة", 7),
    ],
)
def test_numbers_in_digits_and_words(text: str, value: int) -> None:
    words = [t.norm for t in tokenize(text, "ar")] if any("\u0600" <= c <= "\u06ff" for c in text) else words_of(text)
    runs = number_runs(words)
    assert [r[2] for r in runs] == [value]


@pytest.mark.parametrize(
    ("language", "text", "day"),
    [
        ("en", "Gunmen attacked on Sunday night.", date(2026, 12, 6)),
        ("fr", "lundi, des hommes armés", MONDAY),
        ("ar", "هاجم مسلحون يوم الثلاثاء", date(2026, 12, 1)),
        ("en", "yesterday", date(2026, 12, 6)),
        ("fr", "aujourd'hui", MONDAY),
        ("ar", "أمس", date(2026, 12, 6)),
        ("en", "no day here", MONDAY),
    ],
)
def test_relative_days_against_publication(language: str, text: str, day: date) -> None:
    found = DateFinder(language).find(tokenize(text, language), text)
    assert event_date(found, MONDAY) == day
    assert event_date(found, None) is None


def test_the_nearest_place_in_the_sentence_wins_over_the_paragraph() -> None:
    places = [PlaceSpan("p1", "Gao", 0, 3), PlaceSpan("p2", "Djibo", 30, 35), PlaceSpan("p3", "Mopti", 50, 55)]
    assert nearest_place(places, (44, 48), (20, 60), (0, 60)) == places[2]
    assert nearest_place(places, (20, 25), (10, 28), (0, 60)) == places[1]  # none in the sentence
    assert nearest_place(places, (20, 25), (10, 28), (10, 28)) is None


def test_an_event_carries_its_fields_and_evidence() -> None:
    text = (
        "Intro line.\nOn Sunday, JNIM fighters ambushed an army convoy near Djibo, "
        "killing 12 soldiers and wounding five."
    )
    start = text.index("JNIM")
    djibo = text.index("Djibo")
    [event] = extract_events(
        text,
        "en",
        groups=[("jnim", start, start + 4)],
        places=[PlaceSpan("2361", "Djibo", djibo, djibo + 5)],
        published=MONDAY,
    )
    assert (event.type, event.actor_ids, event.fatalities, event.wounded) == ("attack", ["jnim"], 12, 5)
    assert event.date == "2026-12-06" and event.date_phrase == "Sunday"
    assert event.place is not None and event.place.id == "2361"
    assert text[event.sentence_start : event.sentence_end] == event.sentence and event.sentence.startswith("On Sunday")
    assert text[event.trigger_start : event.trigger_end] == "ambushed"
    assert "army" in event.to_dict()["targets"]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Gunmen attacked the village, killing dozens of people."),
        ("fr", "Des hommes armés ont attaqué le village, tuant plusieurs civils."),
        ("ar", "هاجم مسلحون القرية ما أسفر عن مقتل عشرات المدنيين."),
    ],
)
def test_vague_tolls_are_never_guessed(language: str, text: str) -> None:
    [event] = extract_events(text, language)
    assert event.fatalities is None and event.wounded is None


@pytest.mark.parametrize(
    ("language", "text", "claim"),
    [
        ("en", "JNIM denied responsibility for the ambush that killed 4 soldiers.", "denied"),
        ("fr", "Le JNIM a revendiqué l'embuscade qui a tué 4 soldats.", "claimed"),
        ("ar", "اتهمت السلطات مسلحين بتنفيذ الهجوم على قرية قرب غاو.", "attributed"),
    ],
)
def test_claim_status(language: str, text: str, claim: str) -> None:
    [event] = extract_events(text, language)
    assert event.claim == claim


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "The army denied any attack on its base near Gao."),
        ("en", "In 2012 the rebels attacked Kidal, killing 40 soldiers."),
        ("fr", "Le JNIM menace d'attaquer les convois."),
        ("ar", "نفى الجيش وقوع أي هجوم على قاعدته."),
    ],
)
def test_hard_negatives_stay_negative(language: str, text: str) -> None:
    assert extract_events(text, language, published=MONDAY) == []


def test_the_publication_year_is_no_history() -> None:
    text = "In 2026 alone, gunmen attacked the village three times, killing 9 people."
    assert extract_events(text, "en", published=MONDAY)
    assert not extract_events(text, "en", published=date(2030, 1, 1))


def test_languages_without_rules_get_no_events() -> None:
    assert extract_events("Gunmen attacked the village, killing 9 people.", None) == []
    assert extract_events("Schützen griffen das Dorf an.", "de") == []


def test_sentences_keep_offsets() -> None:
    text = "  First one.  Second one?\nThird"
    assert [text[a:b] for a, b in sentence_spans(text)] == ["First one.", "Second one?", "Third"]
