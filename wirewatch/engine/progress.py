"""Live counters of the engine, for the progress display and the service's health line."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields


@dataclass
class Progress:
    started: float = field(default_factory=time.monotonic)
    feeds_due: int = 0
    feeds_polled: int = 0
    feeds_committed: int = 0
    pages_fetched: int = 0
    extracted: int = 0
    indexed: int = 0
    alerts: int = 0
    delivered: int = 0
    ner_done: int = 0
    ner_backlog: int = 0
    in_flight_feeds: int = 0
    es_down_since: float | None = None
    es_error: str | None = None
    match_refused: int = 0  # articles the node refused to match (429), waiting for a retry
    match_left: int = 0  # articles left to the reconcile because too many waited for the matcher
    unsearchable: int = 0  # story members the writer keeps in memory until a refresh (engine/recent.py)

    def copy(self) -> Progress:
        return Progress(**{f.name: getattr(self, f.name) for f in fields(self)})

    def rate(self, name: str) -> float:
        """Per second since the start."""
        elapsed = max(1e-6, time.monotonic() - self.started)
        value = getattr(self, name)
        return float(value) / elapsed if isinstance(value, int) else 0.0

    def line(self) -> str:
        """One line: counts with rates, and the state of Elasticsearch."""
        parts = [
            f"feeds {self.feeds_polled}/{self.feeds_due} polled ({self.rate('feeds_polled'):.1f}/s)",
            f"pages {self.pages_fetched} ({self.rate('pages_fetched'):.1f}/s)",
            f"extracted {self.extracted}",
            f"indexed {self.indexed} ({self.rate('indexed'):.1f}/s)",
            f"alerts {self.alerts}, delivered {self.delivered}",
            f"NER {self.ner_done} done, backlog {self.ner_backlog}",
        ]
        if self.match_refused or self.match_left:
            parts.append(
                f"MATCHING REFUSED by Elasticsearch (429): {self.match_refused} article(s) waiting for a retry, "
                f"{self.match_left} left to the reconcile"
            )
        if self.es_down_since is not None:
            parts.append(
                f"ELASTICSEARCH DOWN for {time.time() - self.es_down_since:.0f} s, holding writes and retrying"
            )
        return "; ".join(parts)
