"""Floors on event extraction over the golden sets (tests/golden_events), per language and per field.

Two sets per language: ``<lang>.tsv`` (the rules were written against it: high floors, a regression guard)
and ``<lang>_heldout.tsv`` (written before the rules ever ran on it and never tuned on: the issue's targets).
"""

from __future__ import annotations

import pytest

from tests.golden_events.score import load_cases, score

LANGUAGES = ("en", "fr", "ar")


@pytest.mark.parametrize("language", LANGUAGES)
def test_golden_sets_are_big_enough(language: str) -> None:
    cases = load_cases(language) + load_cases(language + "_heldout")
    negatives = [c for c in cases if c.type is None]
    assert len(cases) >= 40 and len(negatives) >= 20


@pytest.mark.parametrize("language", LANGUAGES)
def test_floors_on_the_development_set(language: str) -> None:
    figures = score(language).figures()
    for field in ("type_precision", "type_recall", "actor_precision", "actor_recall"):
        assert figures[field] >= 0.9, (field, figures)
    assert figures["fatalities_exact"] >= 0.9, figures
    assert figures["fatalities_invented"] == 0, figures
    assert figures["negatives_clean"] >= 0.95, figures


@pytest.mark.parametrize("language", LANGUAGES)
def test_floors_on_the_held_out_set(language: str) -> None:
    figures = score(language, "_heldout").figures()
    assert figures["type_precision"] >= 0.85 and figures["actor_precision"] >= 0.85, figures
    assert figures["type_recall"] >= 0.65 and figures["actor_recall"] >= 0.65, figures
    assert figures["fatalities_exact"] >= 0.8, figures
    assert figures["fatalities_invented"] == 0, figures
    assert figures["negatives_clean"] >= 0.95, figures
