"""The golden tagging set in French and Arabic (tests/golden_tags/fr_ar.json, written for issue 15).

Every listed mention is found with its exact offsets into the original sentence, nothing else is tagged, and no
hard negative (l'État, Islamic art, the goddess Isis, القاعدة as "the base" or "the rule"...) tags anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from enrich.gazetteer import GroupMatcher
from enrich.watchlist import load_watchlist

ROOT = Path(__file__).resolve().parent.parent
GOLDEN: dict[str, Any] = json.loads((ROOT / "tests" / "golden_tags" / "fr_ar.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def matcher() -> GroupMatcher:
    return GroupMatcher(load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml"))


def test_the_set_is_as_large_as_promised() -> None:
    for lang in ("fr", "ar"):
        assert len(GOLDEN[lang]) >= 20 and len(GOLDEN[f"{lang}_negatives"]) >= 10
        for case in GOLDEN[lang]:  # the file itself is consistent
            assert all(case["text"][m["start"] : m["end"]] == m["surface"] for m in case["mentions"])


def _cases(lang: str) -> list[Any]:
    return [pytest.param(case, id=f"{lang}{i:02d}") for i, case in enumerate(GOLDEN[lang])]


@pytest.mark.parametrize("case", [*_cases("fr"), *_cases("ar")])
def test_every_mention_found_with_its_offsets(matcher: GroupMatcher, case: dict[str, Any]) -> None:
    got = [
        {"group": m.group_id, "surface": m.surface, "start": m.start, "end": m.end} for m in matcher.find(case["text"])
    ]
    assert got == case["mentions"]


@pytest.mark.parametrize("text", [*GOLDEN["fr_negatives"], *GOLDEN["ar_negatives"]])
def test_hard_negatives_tag_nothing(matcher: GroupMatcher, text: str) -> None:
    assert matcher.find(text) == []


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("قاتل عناصر داعش", "داعش"),
        ("وداعش", "داعش"),
        ("فداعش", "داعش"),
        ("بداعش", "داعش"),
        ("لداعش", "داعش"),
        ("كداعش", "داعش"),
        ("والدولة الإسلامية في العراق والشام", "الدولة الإسلامية في العراق والشام"),
        ("بالدولة الإسلامية في العراق والشام", "الدولة الإسلامية في العراق والشام"),
        ("فبالدولة الإسلامية في العراق والشام", "الدولة الإسلامية في العراق والشام"),
        ("للدولة الإسلامية في العراق والشام", "للدولة الإسلامية في العراق والشام"),
        ("وللدولة الإسلامية في العراق والشام", "للدولة الإسلامية في العراق والشام"),
        ("الدَّوْلَةُ الإِسْلامِيَّةُ فِي العِرَاقِ وَالشَّامِ", "الدَّوْلَةُ الإِسْلامِيَّةُ فِي العِرَاقِ وَالشَّامِ"),
        ("الدولـــة الاسلامـية في العراق والشام", "الدولـــة الاسلامـية في العراق والشام"),
        ("\u200fداعش\u200f", "داعش"),
    ],
)
def test_arabic_prefixes_marks_and_letter_variants(matcher: GroupMatcher, text: str, surface: str) -> None:
    (match,) = matcher.find(text)
    assert match.group_id == "islamic-state" and match.surface == surface
    assert text[match.start : match.end] == surface


@pytest.mark.parametrize("text", ["مداعش", "داعشي", "سالدولة الإسلامية في العراق والشام", "وبلداعش"])
def test_arabic_prefixes_only_on_word_boundaries(matcher: GroupMatcher, text: str) -> None:
    assert matcher.find(text) == []


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("les ravisseurs d'Al-Qaïda", "Al-Qaïda"),
        ("les ravisseurs d’AQMI", "AQMI"),
        ("qu'Al-Qaida", "Al-Qaida"),
        ("jusqu'au GSIM", "GSIM"),
    ],
)
def test_french_elisions(matcher: GroupMatcher, text: str, surface: str) -> None:
    (match,) = matcher.find(text)
    assert match.surface == surface and text[match.start : match.end] == surface
