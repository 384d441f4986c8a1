"""Scores event extraction on the golden sets (tests/golden_events/<language>.tsv).

Each line: sentence, type, actor (group id or force label), fatalities; "-" means none (a hard negative has
"-" as its type). Used by tests/test_events_golden.py and runnable to print the figures:
``python -m tests.golden_events.score``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from enrich.events.extract import extract_events
from enrich.gazetteer import GroupMatcher
from enrich.watchlist import load_watchlist

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
PUBLISHED = date(2026, 12, 7)


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    type: str | None
    actor: str | None
    fatalities: int | None


@dataclass
class Score:
    gold: int = 0
    predicted: int = 0
    type_ok: int = 0
    actor_ok: int = 0
    tolls_stated: int = 0
    tolls_exact: int = 0
    tolls_invented: int = 0
    negatives: int = 0
    negatives_clean: int = 0
    misses: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        return {
            "type_precision": self.type_ok / max(1, self.predicted),
            "type_recall": self.type_ok / max(1, self.gold),
            "actor_precision": self.actor_ok / max(1, self.predicted),
            "actor_recall": self.actor_ok / max(1, self.gold),
            "fatalities_exact": self.tolls_exact / max(1, self.tolls_stated),
            "fatalities_invented": float(self.tolls_invented),
            "negatives_clean": self.negatives_clean / max(1, self.negatives),
            "gold_events": float(self.gold),
            "negatives": float(self.negatives),
        }


def load_cases(name: str) -> list[Case]:
    """The cases of one set: "en" (the set the rules were written against) or "en_heldout" (written before
    the rules were run on it, and not tuned on)."""
    cases = []
    for line in (HERE / f"{name}.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        text, kind, actor, toll = line.split("\t")
        cases.append(Case(text, _opt(kind), _opt(actor), None if toll == "-" else int(toll)))
    return cases


def score(language: str, suffix: str = "") -> Score:
    matcher = GroupMatcher(load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml"))
    result = Score()
    for case in load_cases(language + suffix):
        groups = [(m.group_id, m.start, m.end) for m in matcher.find(case.text)]
        events = extract_events(case.text, language, groups=groups, published=PUBLISHED)
        result.predicted += len(events)
        if case.type is None:
            result.negatives += 1
            result.negatives_clean += not events
            if events:
                result.misses.append(f"NEG {events[0].type} {case.text}")
            continue
        result.gold += 1
        found = [e for e in events if e.type == case.type]
        if not found:
            result.misses.append(f"TYPE {[e.type for e in events]} != {case.type}: {case.text}")
            continue
        event = found[0]
        result.type_ok += 1
        actor_ok = case.actor in event.actor_ids if case.actor else not event.actors
        result.actor_ok += actor_ok
        if not actor_ok:
            result.misses.append(f"ACTOR {event.actor_ids} != {case.actor}: {case.text}")
        if case.fatalities is not None:
            result.tolls_stated += 1
            result.tolls_exact += event.fatalities == case.fatalities
            if event.fatalities != case.fatalities:
                result.misses.append(f"TOLL {event.fatalities} != {case.fatalities}: {case.text}")
        elif event.fatalities is not None:
            result.tolls_invented += 1
            result.misses.append(f"TOLL {event.fatalities} invented: {case.text}")
    return result


def _opt(value: str) -> str | None:
    return None if value == "-" else value


if __name__ == "__main__":
    for lang, suffix in [(lang, suffix) for suffix in ("", "_heldout") for lang in ("en", "fr", "ar")]:
        s = score(lang, suffix)
        print(lang + suffix, json.dumps({k: round(v, 3) for k, v in s.figures().items()}))
        for miss in s.misses:
            print("   ", miss)
