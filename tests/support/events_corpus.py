"""Article documents for the events tests: cross-language golden reports (tests/golden_crossstory) of one day, tagged
by the real tagger with places and events (no NER: groups, places and events do not need it), each published
on its golden day, in its language, from a source named after its language."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from enrich.places.resolve import default_resolver
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from tests.support.search_docs import make_doc

ROOT = Path(__file__).resolve().parents[2]
# a regional news day: the Djibo ambush, the Timbuktu and Gao kidnappings and their distractors
DAY = {"kidnap-timbuktu", "ambush-djibo", "kidnap-gao", "attack-timbuktu", "kidnap-timbuktu-later", "attack-djibo-big"}
REPORTS: list[dict[str, str]] = [
    r
    for r in json.loads((ROOT / "tests" / "golden_crossstory" / "reports.json").read_text())["reports"]
    if r["event"] in DAY
]


def tagged_docs(reports: list[dict[str, str]] = REPORTS) -> list[dict[str, Any]]:
    """One stored document per report, with the tagger's group, place and event fields."""
    tagger = Tagger(watchlist=load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml"), ner=False,
                    places=default_resolver())  # fmt: skip
    texts, langs = [r["text"] for r in reports], [r["lang"] for r in reports]
    tags = tagger.tag(texts, langs, [date.fromisoformat(r["day"]) for r in reports])
    docs = []
    for report, tag in zip(reports, tags, strict=True):
        fields = tag.to_dict()
        doc = make_doc(report["id"], title=report["text"][:60], text=report["text"], language=report["lang"],
                       source=f"wire-{report['lang']}", published_at=f"{report['day']}T09:00:00+00:00")  # fmt: skip
        docs.append({**doc, **{k: v for k, v in fields.items() if k not in ("entities", "entity_names")}})
    return docs
