"""Words of a text with their offsets, and the phrase matchers that find lexicon phrases among them.

English and French are tokenised by spaCy's rules for the language (``spacy.blank``: the tokenizer of the NER
models, no weights) and matched with spaCy's ``PhraseMatcher`` (the lexicons are exact word sequences: five
times cheaper than the token-pattern ``Matcher``) over a ``Doc`` whose words are the tokens in the project's
matching normalisation (enrich.normalize: case, diacritics, apostrophes). Arabic has no spaCy model here: its
words are cut from the normalised text (same normalisation: alef forms, ta marbuta, tashkeel)
and matched as token sequences, each word also tried without its proclitics (و ف ب ل ك ال), so "والجيش"
matches "جيش" and "الجيش".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from enrich.normalize import normalize, normalize_form

SPACY_LANGUAGES = ("en", "fr")
_ARABIC_WORD = re.compile(r"\w+")
_PROCLITICS = ("وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


@dataclass(frozen=True, slots=True)
class Token:
    """One word: ``forms`` are its normalised spellings (the word itself first, then without proclitics)."""

    forms: tuple[str, ...]
    start: int
    end: int

    @property
    def norm(self) -> str:
        return self.forms[0]


@dataclass(frozen=True, slots=True)
class Hit:
    """A lexicon phrase found at tokens ``[first, last)``."""

    label: str
    first: int
    last: int


def tokenize(text: str, language: str) -> list[Token]:
    """The words of ``text`` with offsets into it."""
    if language in SPACY_LANGUAGES:
        return [Token((_norm(t.text),), t.idx, t.idx + len(t.text)) for t in _blank(language)(text) if not t.is_space]
    normalized = normalize(text.translate(_ARABIC_DIGITS))
    tokens = []
    for match in _ARABIC_WORD.finditer(normalized.text):
        start, end = normalized.to_original(match.start(), match.end())
        tokens.append(Token(_arabic_forms(match.group()), start, end))
    return tokens


class PhraseMatcher:
    """Finds labelled phrases in a token list: spaCy's ``PhraseMatcher`` for English and French, token sequences
    over normalised words (with proclitics off) for Arabic."""

    def __init__(self, language: str, phrases: Mapping[str, Sequence[str]]) -> None:
        self.language = language
        self._keys = {label: [tuple(normalize_form(p).split()) for p in items] for label, items in phrases.items()}
        self._by_first: dict[str, list[tuple[str, tuple[str, ...]]]] = {}  # Arabic: phrases by first word
        for label, keys in self._keys.items():
            for key in keys:
                if key:
                    self._by_first.setdefault(key[0], []).append((label, key))
        self._spacy: Any = None
        if language in SPACY_LANGUAGES:
            from spacy.matcher import PhraseMatcher as SpacyPhraseMatcher
            from spacy.tokens import Doc

            vocab = _blank(language).vocab
            # the Doc's words are the normalised forms already (see _find_spacy): LOWER is that form
            self._spacy = SpacyPhraseMatcher(vocab, attr="LOWER")
            for label, keys in self._keys.items():
                self._spacy.add(label, [Doc(vocab, words=list(key)) for key in keys if key])

    def find(self, tokens: Sequence[Token]) -> list[Hit]:
        """Every match, longest first at each position, overlapping matches included."""
        hits = self._find_spacy(tokens) if self._spacy is not None else self._find_tokens(tokens)
        return sorted(hits, key=lambda h: (h.first, h.first - h.last))

    def _find_spacy(self, tokens: Sequence[Token]) -> list[Hit]:
        from spacy.tokens import Doc

        nlp = _blank(self.language)
        doc = Doc(nlp.vocab, words=[t.norm or "_" for t in tokens])
        return [Hit(nlp.vocab.strings[match_id], start, end) for match_id, start, end in self._spacy(doc)]

    def _find_tokens(self, tokens: Sequence[Token]) -> list[Hit]:
        hits = []
        for i, token in enumerate(tokens):
            for form in token.forms:
                for label, key in self._by_first.get(form, ()):
                    size = len(key)
                    if i + size <= len(tokens) and all(key[j] in tokens[i + j].forms for j in range(1, size)):
                        hits.append(Hit(label, i, i + size))
        return list(dict.fromkeys(hits))


class Lexicons:
    """Several named lexicons matched in one pass (one spaCy ``Doc`` and one ``Matcher`` run per text
    instead of one per lexicon): ``scan(tokens)[name]`` are the hits of lexicon ``name``."""

    def __init__(self, language: str, lexicons: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        self.names = tuple(lexicons)
        joined = {f"{name}|{label}": phrases for name, labels in lexicons.items() for label, phrases in labels.items()}
        self._matcher = PhraseMatcher(language, joined)

    def scan(self, tokens: Sequence[Token]) -> dict[str, list[Hit]]:
        found: dict[str, list[Hit]] = {name: [] for name in self.names}
        for hit in self._matcher.find(tokens):
            name, label = hit.label.split("|", 1)
            found[name].append(Hit(label, hit.first, hit.last))
        return found


@lru_cache(maxsize=4)
def _blank(language: str) -> Any:
    import spacy

    return spacy.blank(language)


@lru_cache(maxsize=65536)  # news vocabulary repeats: most words are normalised once per process
def _norm(word: str) -> str:
    # spaCy keeps an elided "l'" as one token: normalised, that is "l" (the apostrophe becomes a space)
    return normalize_form(word).replace(" ", "")


def _arabic_forms(word: str) -> tuple[str, ...]:
    forms = [word]
    for clitic in _PROCLITICS:
        if word.startswith(clitic) and len(word) - len(clitic) >= 2:
            forms.append(word[len(clitic) :])
    # the accusative ending (tanween fatha written as alef): "هجوما", "كمينا" are "هجوم", "كمين"
    forms += [form[:-1] for form in forms if form.endswith("ا") and len(form) > 3]
    return tuple(dict.fromkeys(forms))
