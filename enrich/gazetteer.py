"""Find every mention of the watchlist's tracked groups in a text, with offsets into the original text.

Two Aho-Corasick automata (pyahocorasick) scan the text once each, whatever the number of aliases: one over
the case-folded normalisation (aliases) and one over the case-kept normalisation (case-sensitive and ambiguous
forms). Candidates must sit on token boundaries; overlapping candidates are resolved longest first, so
"Islamic State West Africa Province" is ISWAP and not Islamic State.

Arabic writes conjunctions, prepositions and the article joined to the next word, so an Arabic form also
matches after an attached prefix that ends at a word start: و ف ب ل ك (and pairs such as وب), the article ال
and its compounds وال بال فال كال, and لل (ل + ال: "للقاعدة"). A form that itself starts with ال gets a second
key with the contracted لل ("الدولة" -> "للدولة"). The mention starts after the prefix (except in the fused لل
form), so offsets still cover the name in the original text. French elisions (l', d', qu') are separators in
the normalisation, so "d'Al-Qaïda" matches "Al-Qaïda".

Two guards keep acronyms honest: an ``ambiguous`` form ("IS", "AQ") counts only when the same text also names
its group by a form that is not ambiguous, and a case-sensitive form inside an ALL-CAPS run (a shouted headline,
where case says nothing) is treated as ambiguous.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from enrich.normalize import Normalized, normalize, normalize_form
from enrich.watchlist import TrackedGroup, TrackedPerson, Watchlist

_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff]")
_ARTICLE = "ال"
_CONJUNCTIONS = ("", "و", "ف")
# What may be attached before an Arabic form inside one written word (normalised spelling).
_PROCLITICS = frozenset(
    {c + p for c in _CONJUNCTIONS for p in ("", "ب", "ل", "ك")} - {""}
    | {c + p + _ARTICLE for c in _CONJUNCTIONS for p in ("", "ب", "ك")}
    | {c + "لل" for c in _CONJUNCTIONS}
)


@dataclass(frozen=True, slots=True)
class GroupMatch:
    """One mention of a tracked group: ``text[start:end] == surface``."""

    group_id: str
    surface: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Form:
    group_id: str
    length: int  # of the normalised key
    ambiguous: bool


@dataclass(frozen=True, slots=True)
class _Candidate:
    group_id: str
    start: int
    end: int
    weak: bool  # needs a confirming strong mention of the same group


class GroupMatcher:
    """Matches the forms of ``watchlist``. Build once (it compiles the automata), call :meth:`find` often."""

    def __init__(self, watchlist: Watchlist, *, people: bool = False) -> None:
        """``people``: match the watchlist's tracked people instead of its groups (the same rules: Arabic
        prefixes, spelling variants, case-sensitive and ambiguous forms); a match's ``group_id`` is then the
        person's id."""
        self.watchlist = watchlist
        self._folded = _automaton()
        self._cased = _automaton()
        entries: tuple[TrackedGroup | TrackedPerson, ...] = watchlist.people if people else watchlist.groups
        for group in entries:
            for form in group.insensitive_forms():
                _add(self._folded, normalize_form(form), _Form(group.id, 0, ambiguous=False))
            for form in group.case_sensitive:
                _add(self._cased, normalize_form(form, fold=False), _Form(group.id, 0, ambiguous=False))
            for form in group.ambiguous:
                _add(self._cased, normalize_form(form, fold=False), _Form(group.id, 0, ambiguous=True))
        for automaton in (self._folded, self._cased):
            if len(automaton):
                automaton.make_automaton()

    def find(self, text: str) -> list[GroupMatch]:
        """All mentions in ``text``, in text order, none overlapping."""
        candidates = [  # an empty automaton (no case-sensitive form among the people) needs no normalisation
            *(_scan(self._folded, normalize(text, fold=True), text, cased=False) if len(self._folded) else []),
            *(_scan(self._cased, normalize(text, fold=False), text, cased=True) if len(self._cased) else []),
        ]
        chosen = _longest_first(candidates)
        confirmed = {c.group_id for c in chosen if not c.weak}
        return [
            GroupMatch(c.group_id, text[c.start : c.end], c.start, c.end)
            for c in sorted(chosen, key=lambda c: c.start)
            if not c.weak or c.group_id in confirmed
        ]


def _automaton() -> Any:
    import ahocorasick  # imported here: DAG files import enrich without paying for it

    return ahocorasick.Automaton()


def _add(automaton: Any, key: str, form: _Form) -> None:
    for variant in form_keys(key):
        if variant in automaton:
            continue  # the first group listing a form owns it; check_watchlist reports the duplicate
        automaton.add_word(variant, _Form(form.group_id, len(variant), form.ambiguous))


def form_keys(key: str) -> tuple[str, ...]:
    """The automaton keys of a normalised form: itself, and "لل..." for an Arabic form starting with ال."""
    if not key:
        return ()
    if key.startswith(_ARTICLE) and len(key) > 2 and _ARABIC_LETTER.match(key[2]):
        return key, "لل" + key[2:]
    return (key,)


def _scan(automaton: Any, norm: Normalized, text: str, *, cased: bool) -> list[_Candidate]:
    if not len(automaton):
        return []
    found = []
    haystack = norm.text
    for last, form in automaton.iter(haystack):
        start = last - form.length + 1
        end = last + 1
        if not on_boundaries(haystack, start, end):
            continue
        o_start, o_end = norm.to_original(start, end)
        o_end = past_marks(text, o_end)
        weak = form.ambiguous or (cased and _in_caps_run(text, o_start, o_end))
        found.append(_Candidate(form.group_id, o_start, o_end, weak))
    return found


def past_marks(text: str, end: int) -> int:
    """``end`` moved past the vowel marks and tatweel that normalisation dropped after the last letter."""
    while end < len(text) and (unicodedata.combining(text[end]) or text[end] == "\u0640"):
        end += 1
    return end


def on_boundaries(text: str, start: int, end: int) -> bool:
    after_ok = end == len(text) or not text[end].isalnum()
    return after_ok and (start == 0 or not text[start - 1].isalnum() or _after_arabic_prefix(text, start))


def _after_arabic_prefix(text: str, start: int) -> bool:
    """True when an Arabic match is preceded, inside its word, by nothing but attached prefixes."""
    if not _ARABIC_LETTER.match(text[start]):
        return False
    word_start = start
    while word_start > 0 and text[word_start - 1].isalnum() and start - word_start <= 4:
        word_start -= 1
    at_word_start = word_start == 0 or not text[word_start - 1].isalnum()
    return at_word_start and text[word_start:start] in _PROCLITICS


def _in_caps_run(text: str, start: int, end: int) -> bool:
    """True when the match is one of three or more all-capital words in a row (a shouted headline)."""
    before = text[max(0, start - 60) : start].split()[-2:]
    after = text[end : end + 60].split()[:2]
    run = 1 + _caps_streak(reversed(before)) + _caps_streak(after)
    return run >= 3


def _caps_streak(words: Iterable[str]) -> int:
    count = 0
    for word in words:
        if not _is_caps_word(word):
            break
        count += 1
    return count


def _is_caps_word(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _longest_first(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep the longest candidates that do not overlap a longer (or earlier, equally long) one."""
    taken: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: (c.start - c.end, c.start, c.weak)):
        if all(cand.end <= t.start or cand.start >= t.end for t in taken):
            taken.append(cand)
    return taken
