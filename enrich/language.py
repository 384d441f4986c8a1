"""Language identification of an article's text, with the page's ``lang`` attribute as a hint.

py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams, 97 languages, 4.5 MB,
numpy only) classifies a sample of the text; the README's design notes say why it was chosen over Lingua.
The answer is an ISO 639-1 code, or None when there is too little text to tell and no hint.

The hint (``<html lang="fr">``, any case, region subtag allowed) is kept unless the text makes it implausible:
the classifier must give it at least ``HINT_FLOOR`` of the probability. So a page declaring Norwegian whose
text hesitates between Danish and Norwegian stays Norwegian, while an Arabic article inside an English site
template that declares ``lang="en"`` for every page is Arabic. Regional varieties the model tells apart
(Moroccan and Egyptian Arabic...) count as their macrolanguage: analysis and NER work per macrolanguage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# The classifier reads the first FIRST_SAMPLE characters (about 0.1 ms); only when that leaves it unsure
# (below SURE, or disagreeing with the page's hint) does it read up to SAMPLE_CHARS. The cost stays flat
# however long the article is (bench/README.md: well under 2 % of tagging an English or French article).
FIRST_SAMPLE = 400
SAMPLE_CHARS = 2000
SURE = 0.99
# Below this many letters the n-gram statistics say little: the hint (if any) decides.
MIN_LETTERS = 20
# The declared language is kept when the text gives it at least this probability.
HINT_FLOOR = 0.01
# Varieties py3langid tells apart, folded into the macrolanguage the rest of the project works with.
MACROLANGUAGE = {"ary": "ar", "arz": "ar", "apc": "ar", "acm": "ar", "afb": "ar", "ajp": "ar", "nb": "no"}
_HINT = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """The language of a text and how it was decided: ``text`` (the classifier), ``hint`` (the page's
    attribute, the text being inconclusive) or ``none`` (neither could tell)."""

    language: str | None
    source: str
    confidence: float


def identify_language(text: str, *, hint: str | None = None, sample_chars: int = SAMPLE_CHARS) -> LanguageGuess:
    """The language of ``text``; ``hint`` is the page's declared language (any case, region subtag allowed)."""
    declared = _clean_hint(hint)
    if sum(c.isalpha() for c in text[:sample_chars]) < MIN_LETTERS:
        return LanguageGuess(declared, "hint" if declared else "none", 0.0)
    for size in (min(FIRST_SAMPLE, sample_chars), sample_chars):
        scores = _macro_scores(_identifier().rank(text[:size]))
        best = max(scores, key=scores.__getitem__)
        if (scores[best] >= SURE and declared in (None, best)) or len(text) <= size:
            break
    if declared is None or declared == best:
        return LanguageGuess(best, "text", scores[best])
    if declared not in scores:  # a language the model does not know: trust the page
        return LanguageGuess(declared, "hint", 0.0)
    if scores[declared] >= HINT_FLOOR:
        return LanguageGuess(declared, "hint", scores[declared])
    return LanguageGuess(best, "text", scores[best])


def detect_language(text: str, *, hint: str | None = None) -> str | None:
    """ISO 639-1 code of the text's language (see :func:`identify_language`), None when it cannot tell."""
    return identify_language(text, hint=hint).language


def _macro_scores(ranked: list[tuple[str, float]]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for label, probability in ranked:
        code = MACROLANGUAGE.get(str(label), str(label))
        scores[code] = scores.get(code, 0.0) + float(probability)
    return scores


def _clean_hint(hint: str | None) -> str | None:
    if not hint:
        return None
    primary = hint.strip().lower().replace("_", "-").split("-", 1)[0]
    if not _HINT.fullmatch(primary):
        return None
    return MACROLANGUAGE.get(primary, primary)


@lru_cache(maxsize=1)
def _identifier() -> Any:
    # imported and loaded once per process, on first use (DAG files import enrich without paying for it)
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
