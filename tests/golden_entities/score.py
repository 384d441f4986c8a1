"""Scoring of the golden entity set (tests/golden_entities/en.json): the raw model's entities against the
cleaned ones (enrich/cleanup.py), precision and recall on PERSON, ORG and GPE mentions (type and offsets).

"Raw" is what the tagger gave before the clean-up: the model's spans made into entities
(``enrich.entities.build_entities``: trimmed, tracked-group mentions left out). "Clean" is ``Tagger.tag``.

    python -m tests.golden_entities.score
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from enrich.entities import build_entities
from enrich.ner import extract_raw
from enrich.tagger import Tagger
from enrich.tags import Entity
from tests.golden_places.score import parse

HERE = Path(__file__).resolve().parent
TYPES = ("PERSON", "ORG", "GPE")
Gold = tuple[str, int, int]


def load() -> list[tuple[str, set[Gold]]]:
    data = json.loads((HERE / "en.json").read_text(encoding="utf-8"))
    return [parse(text) for text in data["texts"]]


@dataclass
class Score:
    true_pos: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TYPES, 0))
    false_pos: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TYPES, 0))
    false_neg: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TYPES, 0))
    errors: list[str] = field(default_factory=list)

    def add(self, text: str, gold: set[Gold], found: set[Gold]) -> None:
        gold = {g for g in gold if g[0] in TYPES}
        found = {f for f in found if f[0] in TYPES}
        for label, start, end in found:
            bucket = self.true_pos if (label, start, end) in gold else self.false_pos
            bucket[label] += 1
            if bucket is self.false_pos:
                self.errors.append(f"extra {label} {text[start:end]!r}")
        for label, start, end in gold - found:
            self.false_neg[label] += 1
            self.errors.append(f"missed {label} {text[start:end]!r}")

    def precision(self, label: str | None = None) -> float:
        labels = [label] if label else list(TYPES)
        tp = sum(self.true_pos[t] for t in labels)
        return tp / max(1, tp + sum(self.false_pos[t] for t in labels))

    def recall(self, label: str | None = None) -> float:
        labels = [label] if label else list(TYPES)
        tp = sum(self.true_pos[t] for t in labels)
        return tp / max(1, tp + sum(self.false_neg[t] for t in labels))


def mentions(entities: tuple[Entity, ...]) -> set[Gold]:
    return {(e.label, m.start, m.end) for e in entities for m in e.mentions}


def score(tagger: Tagger) -> tuple[Score, Score]:
    """(raw, clean) scores of the set with ``tagger`` (its NER model, watchlist and place resolver)."""
    texts = load()
    plain = [text for text, _ in texts]
    raw_spans = extract_raw(plain, model=tagger.model)
    cleaned = tagger.tag(plain, ["en"] * len(plain))
    raw, clean = Score(), Score()
    for (text, gold), spans, tags in zip(texts, raw_spans, cleaned, strict=True):
        blocked = [(m.start, m.end) for g in tags.groups for m in g.mentions]
        raw.add(text, gold, mentions(build_entities(text, spans, blocked)))
        clean.add(text, gold, mentions(tags.entities))
    return raw, clean


def main() -> None:
    from enrich.places.resolve import default_resolver
    from enrich.watchlist import load_watchlist

    watchlist = load_watchlist(Path(__file__).resolve().parents[2] / "enrich" / "data" / "watchlist.yaml")
    raw, clean = score(Tagger(watchlist=watchlist, places=default_resolver()))
    for name, result in (("raw", raw), ("clean", clean)):
        per_type = ", ".join(f"{t} P {result.precision(t):.3f} R {result.recall(t):.3f}" for t in TYPES)
        print(f"{name}: P {result.precision():.3f} R {result.recall():.3f} ({per_type})")
    print("clean errors:", *clean.errors, sep="\n  ")


if __name__ == "__main__":
    main()
