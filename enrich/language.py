"""A small, dependency-free guess of a text's language from its most common function words.

Good enough to tell the languages a news monitor meets apart (and to keep the English NER model off other
languages); it answers None rather than guess on short or mixed text.
"""

from __future__ import annotations

import re
from collections import Counter


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words("the of and to in is that for it was on with as by at from his are be this have has"),
    "fr": _words("le la les de des du et en un une est que dans pour qui sur au par pas avec ce sont"),
    "de": _words("der die das und ist nicht den von zu mit sich des auf für ein eine dem im auch"),
    "es": _words("el la los las de del y en que un una por con para es se al lo como su"),
    "it": _words("il lo la gli le di del della e che un una per con non sono nel alla è"),
    "pt": _words("o a os as de do da dos das e que em um uma para com não por se na no"),
    "nl": _words("de het een en van is dat op te zijn met voor niet aan er die"),
}
_WORD = re.compile(r"[^\W\d_]+")
_MIN_WORDS = 8
_MIN_SHARE = 0.12  # share of the words that must be stopwords of the winning language


def detect_language(text: str, *, sample_chars: int = 5000) -> str | None:
    """ISO 639-1 code of the likeliest language, "ar" for mostly Arabic script, None when unsure."""
    sample = text[:sample_chars]
    letters = [c for c in sample if c.isalpha()]
    if letters and sum("\u0600" <= c <= "\u06ff" for c in letters) / len(letters) > 0.5:
        return "ar"
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < _MIN_WORDS:
        return None
    counts = Counter(words)
    scores = {lang: sum(counts[w] for w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    if scores[best] / len(words) < _MIN_SHARE or ranked[0] == ranked[1]:
        return None
    return best
