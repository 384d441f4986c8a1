"""Numbers written in digits or in words, in English, French and Arabic, and the tolls they state.

A toll is a number next to a casualty word ("12 soldiers were killed", "tuant sept civils", "مقتل سبعة
جنود"): the number within a few words before the word, or just after it. Anything vaguer ("dozens",
"plusieurs", "عشرات") is no number: tolls are never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from enrich.normalize import normalize_form

_UNITS_EN = (  # noqa: SIM905
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS_EN = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_UNITS_FR = ("zero un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize").split()  # noqa: SIM905
_TENS_FR = {"vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60}
# Arabic words after normalisation (ة -> ه, أ -> ا, ى -> ي), masculine and feminine, case endings.
_UNITS_AR = {
    "واحد": 1,
    "واحده": 1,
    "اثنان": 2,
    "اثنين": 2,
    "اثنتين": 2,
    "ثلاثه": 3,
    "ثلاث": 3,
    "اربعه": 4,
    "اربع": 4,
    "خمسه": 5,
    "خمس": 5,
    "سته": 6,
    "ست": 6,
    "سبعه": 7,
    "سبع": 7,
    "ثمانيه": 8,
    "ثماني": 8,
    "ثمان": 8,
    "تسعه": 9,
    "تسع": 9,
    "عشره": 10,
    "عشر": 10,
}
_TENS_AR = {
    "عشرون": 20,
    "عشرين": 20,
    "ثلاثون": 30,
    "ثلاثين": 30,
    "اربعون": 40,
    "اربعين": 40,
    "خمسون": 50,
    "خمسين": 50,
    "ستون": 60,
    "ستين": 60,
}
_SPECIAL_AR = {"احد عشر": 11, "اثنا عشر": 12, "اثني عشر": 12, "مئه": 100, "مائه": 100}
WORD_VALUES: dict[str, int] = {
    **{w: i for i, w in enumerate(_UNITS_EN)},
    **_TENS_EN,
    "hundred": 100,
    "dozen": 12,
    **{w: i for i, w in enumerate(_UNITS_FR)},
    **_TENS_FR,
    "vingts": 20,
    "cent": 100,
    "une": 1,
    **_UNITS_AR,
    **_TENS_AR,
    "احد": 1,
    "اثنا": 2,
    "اثني": 2,
}
# articles, names or "one of" more often than tolls when alone
_AMBIGUOUS = frozenset({"un", "une", "one", "a", "احد"})
_DIGITS = re.compile(r"\d{1,5}")


def number_value(words: Sequence[str]) -> int | None:
    """The value of a run of normalised words ("twenty three", "dix sept", "خمسه وعشرين", "12"), or None."""
    joined = " ".join(words)
    if joined in _SPECIAL_AR:
        return _SPECIAL_AR[joined]
    total = 0
    for index, word in enumerate(words):
        word = _strip_and(word, index)
        if _DIGITS.fullmatch(word):
            if len(words) > 1:
                return None
            return int(word)
        if word in {"et", "and", "و"}:
            continue
        value = WORD_VALUES.get(word)
        if value is None:
            return None
        if value == 20 and total == 4 and word in {"vingt", "vingts"}:
            total = 80  # "quatre-vingts"
        elif value == 10 and 0 < total < 10 and word in {"عشر", "عشره"}:
            total += 10  # "ثلاثه عشر": thirteen
        elif value == 100 and total:
            total *= 100
        else:
            total += value
    return total or None


def is_number_word(word: str, index: int = 0) -> bool:
    word = _strip_and(word, index)
    return bool(_DIGITS.fullmatch(word)) or word in WORD_VALUES or word in {"et", "and"}


def number_runs(words: Sequence[str]) -> list[tuple[int, int, int]]:
    """(first, last, value) for each maximal run of number words; a lone ambiguous word ("un") is skipped."""
    runs = []
    i = 0
    while i < len(words):
        if not is_number_word(words[i]) or words[i] in {"et", "and"}:
            i += 1
            continue
        j = i + 1
        while j < len(words) and is_number_word(words[j], j - i) and not _DIGITS.fullmatch(words[j]):
            j += 1
        while j > i + 1 and words[j - 1] in {"et", "and"}:
            j -= 1
        value = number_value(words[i:j])
        if value is not None and not (j == i + 1 and words[i] in _AMBIGUOUS):
            runs.append((i, j, value))
        i = j
    return runs


def words_of(text: str) -> list[str]:
    """Normalised words of a token's text: "vingt-trois" -> ["vingt", "trois"]."""
    return normalize_form(text).split()


def _strip_and(word: str, index: int) -> str:
    # Arabic writes "and" as a prefix: "وعشرين" in "خمسه وعشرين"
    if index > 0 and word.startswith("و") and word[1:] in WORD_VALUES:
        return word[1:]
    return word
