"""The golden set: news pages of varied layouts, each with text that must and must not be extracted.

Scored like trafilatura's own evaluation (tests/eval_gate.py over evaldata.json): every must-contain snippet
found is a true positive, missed a false negative; every must-not-contain snippet present is a false positive,
absent a true negative. The test fails when precision, recall or F1 drop below their pinned floors, so a
change to extraction (options, trafilatura version, our post-processing) that loses quality is caught.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.extract import Article, PageInput, extract_article

GOLDEN = Path(__file__).resolve().parent / "golden"
SPEC = json.loads((GOLDEN / "golden.json").read_text(encoding="utf-8"))["pages"]
# Pinned just under the measured scores with trafilatura 2.3.1 and favor_precision. The whole set (20 pages):
# precision 0.816, recall 1.000, f1 0.899; the misses are the table-layout pages (English, French and Arabic:
# trafilatura keeps their side column and footer cells) and an AMP share line.
FLOORS = {"precision": 0.80, "recall": 0.97, "f1": 0.88}
# Each language on its own, so French or Arabic pages cannot hide behind the English ones (nor the reverse).
# Measured: en (11 pages) 0.897 / 1.000 / 0.946 (as before the French and Arabic pages came), fr (5 pages)
# 0.714 / 1.000 / 0.833, ar (4 right-to-left pages) 0.750 / 1.000 / 0.857.
LANGUAGE_FLOORS = {
    "en": {"precision": 0.88, "recall": 0.97, "f1": 0.93},
    "fr": {"precision": 0.70, "recall": 0.97, "f1": 0.82},
    "ar": {"precision": 0.73, "recall": 0.97, "f1": 0.84},
}


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _extract(name: str) -> Article:
    html = (GOLDEN / f"{name}.html").read_text(encoding="utf-8")
    page = PageInput(
        html=html,
        url=f"https://golden.example.org/{name}",
        source="golden",
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
        min_chars=0,
    )
    return extract_article(page)


def _score_page(name: str, score: Score) -> list[str]:
    text = _normalised(_extract(name).text)
    misses = []
    for snippet in SPEC[name]["must_contain"]:
        found = _normalised(snippet) in text
        score.tp, score.fn = score.tp + found, score.fn + (not found)
        if not found:
            misses.append(f"{name}: missing {snippet!r}")
    for snippet in SPEC[name]["must_not_contain"]:
        present = _normalised(snippet) in text
        score.fp, score.tn = score.fp + present, score.tn + (not present)
        if present:
            misses.append(f"{name}: boilerplate {snippet!r}")
    return misses


def test_golden_set_is_big_enough() -> None:
    assert len(SPEC) >= 10
    assert sorted(SPEC) == sorted(p.stem for p in GOLDEN.glob("*.html"))
    for lang in ("fr", "ar"):
        assert len([name for name, spec in SPEC.items() if spec.get("lang") == lang]) >= 4


@pytest.mark.parametrize("lang", sorted(LANGUAGE_FLOORS))
def test_golden_score_per_language_stays_above_its_floor(lang: str) -> None:
    names = sorted(name for name, spec in SPEC.items() if spec.get("lang", "en") == lang)
    score, misses = Score(), []
    for name in names:
        misses += _score_page(name, score)
        if lang != "en":  # the page's lang attribute, read by extraction (some English pages have none)
            assert _extract(name).language == lang, name
    print(
        f"golden {lang}: {len(names)} pages, precision {score.precision:.3f}, recall {score.recall:.3f}, "
        f"f1 {score.f1:.3f} (tp {score.tp}, fn {score.fn}, fp {score.fp}, tn {score.tn})"
    )
    print("\n".join(misses))
    for metric, floor in LANGUAGE_FLOORS[lang].items():
        assert getattr(score, metric) >= floor, f"{lang} {metric} fell below {floor}: " + "; ".join(misses)


def test_golden_score_stays_above_its_floor() -> None:
    score, misses = Score(), []
    for name in sorted(SPEC):
        misses += _score_page(name, score)
    print(
        f"golden: {len(SPEC)} pages, precision {score.precision:.3f}, recall {score.recall:.3f}, "
        f"f1 {score.f1:.3f} (tp {score.tp}, fn {score.fn}, fp {score.fp}, tn {score.tn})"
    )
    print("\n".join(misses))
    for metric, floor in FLOORS.items():
        assert getattr(score, metric) >= floor, f"{metric} fell below {floor}: " + "; ".join(misses)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_golden_page_has_a_title_and_no_headline_in_the_text(name: str) -> None:
    article = _extract(name)
    assert article.title and not _normalised(article.text).startswith(_normalised(article.title))
