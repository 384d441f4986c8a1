"""Scoring of the golden place sets (tests/golden_places/*.json): markup, and precision and recall per language.

A sentence marks each place mention as ``[[surface|place id]]``; :func:`parse` gives the plain sentence and the
gold mentions ``(place id, start, end)``. A found mention counts as right only with the same id and offsets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
_MARK = re.compile(r"\[\[([^|\]]+)\|([^\]]+)\]\]")

Gold = tuple[str, int, int]


def parse(marked: str) -> tuple[str, set[Gold]]:
    """The plain sentence and its gold mentions."""
    out: list[str] = []
    gold: set[Gold] = set()
    last = 0
    length = 0
    for match in _MARK.finditer(marked):
        out.append(marked[last : match.start()])
        length += match.start() - last
        surface, place_id = match.group(1), match.group(2)
        gold.add((place_id, length, length + len(surface)))
        out.append(surface)
        length += len(surface)
        last = match.end()
    out.append(marked[last:])
    return "".join(out), gold


def load(language: str) -> list[tuple[str, set[Gold]]]:
    data = json.loads((HERE / f"{language}.json").read_text(encoding="utf-8"))
    return [parse(s) for s in data["sentences"]]


@dataclass
class Score:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, text: str, gold: set[Gold], found: set[Gold]) -> None:
        self.true_pos += len(gold & found)
        self.false_pos += len(found - gold)
        self.false_neg += len(gold - found)
        for pid, start, end in sorted(found - gold, key=lambda g: g[1]):
            self.errors.append(f"extra {text[start:end]!r} as {pid} in {text!r}")
        for pid, start, end in sorted(gold - found, key=lambda g: g[1]):
            self.errors.append(f"missed {text[start:end]!r} ({pid}) in {text!r}")

    @property
    def precision(self) -> float:
        return self.true_pos / max(1, self.true_pos + self.false_pos)

    @property
    def recall(self) -> float:
        return self.true_pos / max(1, self.true_pos + self.false_neg)
