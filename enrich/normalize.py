"""Text normalisation for matching, with a map from every normalised offset back to the original text.

Watchlist forms and article text go through the same function, so "Al-Qa’ida", "al Qaida" and "AL‑QAIDA"
(non-breaking hyphen) all become "al qaida". The rules:

* runs of whitespace and dashes (hyphen-minus, Unicode hyphens, en/em dashes, minus) become one space;
* an apostrophe inside a word is dropped ("Da'esh" -> "daesh"), except the possessive "'s" at the end of a
  word, which becomes a space so "ISIS's" still ends a match at "ISIS", and a French elision ("l'Etat",
  "d'Al-Qaïda"), which becomes a space too; any other apostrophe is a space;
* diacritics are removed (NFKD minus combining marks: "Dāʿish" -> "daish");
* Arabic script is normalised as Arabic writers vary it: tashkeel (short vowels, shadda, sukun, dagger alef)
  goes with the combining marks, tatweel (kashida) and invisible format characters (RLM, ZWNJ, soft hyphen)
  are dropped, every alef form (أ إ آ ٱ) becomes ا, ta marbuta ة becomes ه, alef maqsura ى becomes ي, the
  hamza seats ؤ ئ their base letter, and the Persian ی ک the Arabic ي ك (so "الدَّوْلَة الإسلاميّة" and
  "الدولة الاسلامية" are one key);
* with ``fold=True`` case is folded too (case-sensitive watchlist forms use ``fold=False``; Arabic has no case).

The map is kept as segments rather than one integer per character: plain ASCII runs map linearly, so do runs
of other letters that map one to one (most of an Arabic or French text), and each character that vanishes or
grows gets its own segment, so mapping back is a binary search.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

APOSTROPHES = "'’‘ʼʻ`´ʹʾʿ′"
DASHES = "\\-‐‑‒–—―−﹣－"

# What needs rewriting: separator runs, single non-space separators, apostrophes, runs of other non-ASCII
# characters ("wide"). Everything else is ASCII whose lower-case form has the same length: one to one.
_REWRITE = re.compile(
    f"(?P<sep>[\\s{DASHES}]{{2,}}|[^\\S ]|[{DASHES}])|(?P<apos>[{APOSTROPHES}])"
    f"|(?P<wide>[^\\x00-\\x7f\\s{DASHES}{APOSTROPHES}]+)"
)
_APOSTROPHE_SET = frozenset(APOSTROPHES)
# Arabic letters written in several ways for one letter; NFKD already takes the hamza off أ إ آ ؤ ئ.
_ARABIC_FOLD = {"ٱ": "ا", "ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك", "ـ": ""}
_ELISIONS = frozenset({"l", "d", "j", "s", "n", "m", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"})


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text and the way back to the original offsets."""

    text: str
    # segment i starts at norm_starts[i] (normalised) / orig_starts[i] (original); linear[i] tells whether
    # offsets advance together inside it (False: the whole segment came from the single char orig_starts[i]).
    norm_starts: tuple[int, ...]
    orig_starts: tuple[int, ...]
    linear: tuple[bool, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` span of the normalised span ``[start, end)`` (end > start)."""
        return self._orig_index(start), self._orig_index(end - 1) + 1

    def _orig_index(self, pos: int) -> int:
        seg = bisect_right(self.norm_starts, pos) - 1
        if self.linear[seg]:
            return self.orig_starts[seg] + (pos - self.norm_starts[seg])
        return self.orig_starts[seg]


def normalize(text: str, *, fold: bool = True) -> Normalized:
    """Normalise ``text`` for matching (see the module docstring) and keep the offset map.

    The last few results are kept: the group gazetteer, the tracked people, the place automaton and the events
    all scan the same article, and normalising it once instead of four times is most of what places and the
    NER clean-up would otherwise add to an Arabic article's tagging (bench/README.md, Places)."""
    return _normalize_recent(text, fold)


@lru_cache(maxsize=8)
def _normalize_recent(text: str, fold: bool) -> Normalized:
    return _normalize(text, fold)


def _normalize(text: str, fold: bool) -> Normalized:
    out: list[str] = []
    norm_starts: list[int] = []
    orig_starts: list[int] = []
    linear: list[bool] = []
    length = 0
    last = 0
    segments = (norm_starts, orig_starts, linear)
    for match in _REWRITE.finditer(text):
        start = match.start()
        length = _emit_plain(text, last, start, fold, out, segments, length)
        last = match.end()
        if match.lastgroup == "wide":
            length = _emit_wide(match.group(), start, fold, out, segments, length)
            continue
        piece = " " if match.lastgroup == "sep" else _apostrophe(text, start)
        if piece == " " and out and out[-1].endswith(" "):
            piece = ""  # never two spaces in a row
        if piece:
            norm_starts.append(length)
            orig_starts.append(start)
            # a multi-char separator run collapses to one space that maps to its first char
            linear.append(False)
            out.append(piece)
            length += len(piece)
    _emit_plain(text, last, len(text), fold, out, segments, length)
    return Normalized("".join(out), tuple(norm_starts), tuple(orig_starts), tuple(linear))


def _emit_plain(
    text: str,
    begin: int,
    end: int,
    fold: bool,
    out: list[str],
    segments: tuple[list[int], list[int], list[bool]],
    length: int,
) -> int:
    """Append the plain ASCII run ``text[begin:end]`` (one to one) and return the new normalised length."""
    if begin < end and text[begin] == " " and out and out[-1].endswith(" "):
        begin += 1  # a space after a rewritten separator: never two spaces in a row
    if begin >= end:
        return length
    plain = text[begin:end]
    _add_segment(segments, length, begin, True)
    out.append(plain.lower() if fold else plain)
    return length + len(plain)


def _add_segment(segments: tuple[list[int], list[int], list[bool]], norm: int, orig: int, linear: bool) -> None:
    """A segment, unless it continues the previous linear one (same shift between the two texts): an Arabic text
    is then a few segments, not two per word (the space, the word)."""
    norm_starts, orig_starts, flags = segments
    if linear and flags and flags[-1] and norm - norm_starts[-1] == orig - orig_starts[-1]:
        return
    norm_starts.append(norm)
    orig_starts.append(orig)
    flags.append(linear)


def _emit_wide(
    chunk: str,
    begin: int,
    fold: bool,
    out: list[str],
    segments: tuple[list[int], list[int], list[bool]],
    length: int,
) -> int:
    """Append the folded non-ASCII run ``chunk`` (at ``begin`` in the original) and return the new length."""
    folded, pieces = _fold_run(chunk, fold)
    for norm, orig, linear in pieces:
        _add_segment(segments, length + norm, begin + orig, linear)
    out.append(folded)
    return length + len(folded)


@lru_cache(maxsize=65536)
def _fold_run(chunk: str, fold: bool) -> tuple[str, tuple[tuple[int, int, bool], ...]]:
    """A non-ASCII run (mostly one word) folded, and its segments relative to the run: (normalised offset,
    offset in the run, linear). Cached: the words of a language come back text after text, and folding one
    character at a time was most of an Arabic text's normalisation (bench/README.md, Places).

    Characters that fold to exactly one character extend a linear segment; one that vanishes (a vowel mark,
    tatweel) or grows (a ligature) ends it and, when it leaves something, gets a segment of its own.
    """
    out: list[str] = []
    pieces: list[tuple[int, int, bool]] = []
    length = 0
    in_run = False
    for i, char in enumerate(chunk):
        folded = _fold_char(char, fold)
        if len(folded) == 1:
            if not in_run:
                in_run = True
                pieces.append((length, i, True))
            out.append(folded)
            length += 1
            continue
        in_run = False
        if folded:
            pieces.append((length, i, False))
            out.append(folded)
            length += len(folded)
    return "".join(out), tuple(pieces)


def normalize_form(form: str, *, fold: bool = True) -> str:
    """The normalised key of a watchlist form or entity name (no offset map, outer spaces trimmed)."""
    return _normalize(form, fold).text.strip()


def _apostrophe(text: str, pos: int) -> str:
    before = text[pos - 1] if pos > 0 else ""
    after = text[pos + 1] if pos + 1 < len(text) else ""
    if not (before.isalnum() and after.isalnum()):
        return " "
    following = text[pos + 2] if pos + 2 < len(text) else ""
    if after in "sS" and not following.isalnum():
        return " "  # possessive: "State's" -> "state s", so "state" still ends on a boundary
    word_start = pos
    while word_start > 0 and text[word_start - 1].isalnum():
        word_start -= 1
    if text[word_start:pos].lower() in _ELISIONS:
        return " "  # French elision: "l'Etat islamique", "d'Al-Qaïda"
    return ""  # inside a word: "Qa'ida" -> "qaida"


@lru_cache(maxsize=4096)
def _fold_char(char: str, fold: bool) -> str:
    if unicodedata.category(char) == "Cf":
        return ""  # invisible: direction marks, zero-width (non-)joiners, soft hyphen
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = "".join(_ARABIC_FOLD.get(c, c) for c in decomposed if not unicodedata.combining(c))
    if stripped and all(c in _APOSTROPHE_SET for c in stripped):
        return ""  # modifier letters used as ʿayn/hamza
    return stripped.casefold() if fold else stripped
