"""What one pass over the whole seed corpus (seeds/feeds.yaml) yields: the English seed article and its
French and Arabic companions, and one alert per (article, tracked group) found in it."""

from __future__ import annotations

import json
from pathlib import Path

EXPECTED = json.loads((Path(__file__).resolve().parents[2] / "seeds" / "expected.json").read_text(encoding="utf-8"))
ENGLISH_GROUPS = ["al-qaeda", "islamic-state"]
COMPANION_GROUPS = {lang: list(c["group_ids"]) for lang, c in EXPECTED["companions"].items()}
ARTICLES = 1 + len(COMPANION_GROUPS)
# the group of every alert a first pass raises (one per article and group), sorted
ALERT_GROUPS = sorted([*ENGLISH_GROUPS, *(g for groups in COMPANION_GROUPS.values() for g in groups)])
ALERTS = len(ALERT_GROUPS)
# one message per article and channel, listing every group it matched (each group keeps its own alert)
MESSAGES = ARTICLES
