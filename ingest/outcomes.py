"""Every feed entry ends in one named state (docs/design.md invariant 6), and the counts add up.

``indexed``      the article was durably written (decided by the pipeline after the write)
``duplicate``    the article is already in the index, or came from another entry in this pass
``not_modified`` the entry was taken on an earlier pass of the same feed
``skipped``      a rule left it out; ``detail`` names the rule (too short, over max entries per pass)
``failed``       something went wrong; ``detail`` is the reason, ``transient`` whether a retry may help
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

OutcomeState = Literal["indexed", "duplicate", "not_modified", "skipped", "failed"]
STATES: tuple[OutcomeState, ...] = ("indexed", "duplicate", "not_modified", "skipped", "failed")


@dataclass(frozen=True, kw_only=True)
class EntryOutcome:
    feed_id: str
    entry_id: str
    url: str
    state: OutcomeState
    detail: str | None = None
    transient: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "feed_id": self.feed_id,
            "entry_id": self.entry_id,
            "url": self.url,
            "state": self.state,
            "detail": self.detail,
            "transient": self.transient,
        }


def tally(outcomes: Iterable[EntryOutcome]) -> dict[str, int]:
    """Counts per state (every state present, zeros included) plus ``total``."""
    counts = Counter(o.state for o in outcomes)
    result: dict[str, int] = {state: counts.get(state, 0) for state in STATES}
    result["total"] = sum(counts.values())
    return result


def reasons(outcomes: Iterable[EntryOutcome]) -> dict[str, int]:
    """How many entries failed or were skipped for each reason, for the pass summary."""
    return dict(Counter(f"{o.state}: {o.detail}" for o in outcomes if o.state in ("failed", "skipped")))
