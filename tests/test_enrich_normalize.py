"""Normalisation for matching and the offset map back to the original text."""

from __future__ import annotations

import pytest

from enrich.normalize import normalize, normalize_form


@pytest.mark.parametrize(
    ("form", "key"),
    [
        ("Al-Qa'ida", "al qaida"),
        ("al Qaida", "al qaida"),
        ("AL\u2011QA\u2019IDA", "al qaida"),  # non-breaking hyphen, right single quote
        ("Dāʿish", "daish"),
        ("Da'esh", "daesh"),
        ("Islamic State – Khorasan", "islamic state khorasan"),
        ("Islamic\u00a0State", "islamic state"),
        ("ISIS's", "isis s"),
        ("ISIS’ defeats", "isis defeats"),
        ("Al-Qaïda au Maghreb", "al qaida au maghreb"),
        ("  spaced \t out  ", "spaced out"),
    ],
)
def test_forms_normalise_to_one_key(form: str, key: str) -> None:
    assert normalize_form(form) == key


def test_case_is_kept_without_folding() -> None:
    assert normalize_form("IS\u2011K", fold=False) == "IS K"
    assert normalize_form("Isis", fold=False) != normalize_form("ISIS", fold=False)


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII text with Islamic State inside.",
        "Dāʿish — and the al\u2011Qaʼida network’s men; Straße  \n\n  Islamic State.",
        "ﬁve ligatures then Islamic State",
        "\u00a0\u00a0Islamic State",
    ],
)
def test_offsets_map_back_to_the_original_words(text: str) -> None:
    norm = normalize(text)
    pos = norm.text.index("islamic state")
    start, end = norm.to_original(pos, pos + len("islamic state"))
    assert text[start:end] == "Islamic State"


def test_every_word_maps_back_to_text_that_normalises_to_it() -> None:
    text = "Jamā‘at Nuṣrat al-Islām wa’l-Muslimīn — “JNIM” — met ISIS’s envoys in Gao."
    norm = normalize(text)
    pos = 0
    for word in norm.text.split(" "):
        if word:
            start, end = norm.to_original(pos, pos + len(word))
            assert normalize_form(text[start:end]) == word
        pos += len(word) + 1


def test_an_arabic_text_is_a_few_segments_not_two_per_word() -> None:
    """Segments that continue the previous one's shift are merged: the offset map of a plain Arabic paragraph
    is one segment (it was two per word: the space and the word), and still maps every word back."""
    text = "قال مصدر أمني إن مسلحين هاجموا موقعا للجيش قرب مدينة غاو في شمال مالي يوم الثلاثاء " * 20
    norm = normalize(text)
    assert len(norm.norm_starts) <= 2
    pos = 0
    for word in norm.text.split(" "):
        if word:
            start, end = norm.to_original(pos, pos + len(word))
            assert normalize_form(text[start:end]) == word
        pos += len(word) + 1
    voweled = normalize("الدَّوْلَة الإسلاميّة في غاو")
    start, end = voweled.to_original(voweled.text.index("غاو"), len(voweled.text))
    assert "الدَّوْلَة الإسلاميّة في غاو"[start:end] == "غاو"


def test_an_article_is_normalised_once_for_every_matcher() -> None:
    """The groups, the tracked people, the places and the events all scan one article: it is normalised once,
    and normalising short forms in between (entity names, watchlist forms) does not push it out."""
    text = "Des combattants de l'État islamique ont attaqué Ménaka. " * 30
    first = normalize(text)
    for word in ("Mali", "Gao", "Iyad Ag Ghaly") * 10:
        normalize_form(word)
    assert normalize(text) is first and normalize(text, fold=False) is not first
