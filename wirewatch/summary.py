"""What one pass did: counts per final state, time per stage, failures with reasons, alerts.

The counts obey docs/design.md invariant 6: every entry the feeds offered ends in exactly one named state, so
``sum(entries.values()) == offered``. The summary is what the CLI prints, what ``--json`` emits and what the
Airflow summary task logs; it never holds article text.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from wirewatch.settings import masked_url

ENTRY_STATES = ("indexed", "duplicate", "not_modified", "skipped", "failed")


class ExitStatus(IntEnum):
    """Exit statuses of ``wirewatch ingest``: scripts and schedulers tell the three cases apart."""

    OK = 0  # every feed and entry succeeded
    PARTIAL = 3  # the pass ran, but some feeds, pages or deliveries failed (see the summary)
    NOT_RUN = 4  # the pass could not run at all (settings, Elasticsearch unreachable...)


@dataclass
class Failure:
    stage: str  # a wirewatch.steps.Step value: where it failed
    subject: str  # feed id, URL or alert id
    reason: str
    transient: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PassSummary:
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    feeds: Counter[str] = field(default_factory=Counter)  # ok / not_modified / failed / not_due
    offered: int = 0  # entries the feeds offered this pass
    entries: Counter[str] = field(default_factory=Counter)  # ENTRY_STATES
    skipped_rules: Counter[str] = field(default_factory=Counter)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    alerts: Counter[str] = field(default_factory=Counter)  # created / duplicate / attached
    deliveries: Counter[str] = field(default_factory=Counter)  # delivered / pending / failed
    channel_deliveries: dict[str, Counter[str]] = field(default_factory=dict)  # channel -> state -> count
    feed_failures: Counter[str] = field(default_factory=Counter)  # failed polls by kind (failure_kind)
    pages_fetched: int = 0
    es_outage_s: float = 0.0  # seconds Elasticsearch was unreachable while the pass waited
    entities_added: int = 0
    entities_reused: int = 0  # of those, copied from an identical text instead of running NER
    abandoned: list[str] = field(default_factory=list)  # feeds given up at the pass deadline (state not moved)
    fatal: str | None = None

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.perf_counter() - start

    def fail(self, stage: str, subject: str, reason: str, *, transient: bool = False) -> None:
        # a subject is often a feed or page URL, which may hold user:pass@ or a key: the summary is printed,
        # written to a file and shown, so it keeps them masked
        self.failures.append(
            Failure(stage=stage, subject=masked_url(subject), reason=masked_url(reason), transient=transient)
        )

    def delivered(self, channel: str, state: str, count: int = 1) -> None:
        """One (alert, channel) outcome: counted by state and by channel (the metrics' label)."""
        self.deliveries[state] += count
        self.channel_deliveries.setdefault(channel, Counter())[state] += count

    def merge(self, other: PassSummary) -> None:
        """Adds another partial summary (one Airflow mapped batch) into this one."""
        self.feeds.update(other.feeds)
        self.offered += other.offered
        self.entries.update(other.entries)
        self.skipped_rules.update(other.skipped_rules)
        for stage, seconds in other.stage_seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds
        self.failures.extend(other.failures)
        self.alerts.update(other.alerts)
        self.deliveries.update(other.deliveries)
        for channel, states in other.channel_deliveries.items():
            self.channel_deliveries.setdefault(channel, Counter()).update(states)
        self.feed_failures.update(other.feed_failures)
        self.pages_fetched += other.pages_fetched
        self.es_outage_s += other.es_outage_s
        self.entities_added += other.entities_added
        self.entities_reused += other.entities_reused
        self.abandoned.extend(other.abandoned)
        self.fatal = self.fatal or other.fatal

    @property
    def accounted(self) -> bool:
        """Invariant 6: the final states add up to what the feeds offered."""
        return sum(self.entries[s] for s in ENTRY_STATES) == self.offered

    @property
    def exit_status(self) -> ExitStatus:
        if self.fatal:
            return ExitStatus.NOT_RUN
        if self.failures or self.feeds.get("failed") or self.deliveries.get("failed") or self.abandoned:
            return ExitStatus.PARTIAL
        return ExitStatus.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.exit_status.name.lower(),
            "exit_status": int(self.exit_status),
            "started_at": self.started_at,
            "duration_s": round((self.finished_at or time.time()) - self.started_at, 3),
            "feeds": dict(self.feeds),
            "offered": self.offered,
            "entries": {s: self.entries.get(s, 0) for s in ENTRY_STATES},
            "accounted": self.accounted,
            "skipped_rules": dict(self.skipped_rules),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "failures": [f.to_dict() for f in self.failures],
            "alerts": dict(self.alerts),
            "deliveries": dict(self.deliveries),
            "channel_deliveries": {name: dict(states) for name, states in self.channel_deliveries.items()},
            "feed_failures": dict(self.feed_failures),
            "pages_fetched": self.pages_fetched,
            "es_outage_s": round(self.es_outage_s, 3),
            "entities_added": self.entities_added,
            "entities_reused": self.entities_reused,
            "abandoned": list(self.abandoned),
            "fatal": self.fatal,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PassSummary:
        summary = cls(started_at=data.get("started_at", time.time()))
        summary.feeds.update(data.get("feeds", {}))
        summary.offered = data.get("offered", 0)
        summary.entries.update(data.get("entries", {}))
        summary.skipped_rules.update(data.get("skipped_rules", {}))
        summary.stage_seconds.update(data.get("stage_seconds", {}))
        summary.failures = [Failure(**f) for f in data.get("failures", [])]
        summary.alerts.update(data.get("alerts", {}))
        summary.deliveries.update(data.get("deliveries", {}))
        for name, states in data.get("channel_deliveries", {}).items():
            summary.channel_deliveries[name] = Counter(states)
        summary.feed_failures.update(data.get("feed_failures", {}))
        summary.pages_fetched = data.get("pages_fetched", 0)
        summary.es_outage_s = data.get("es_outage_s", 0.0)
        summary.entities_added = data.get("entities_added", 0)
        summary.entities_reused = data.get("entities_reused", 0)
        summary.abandoned = list(data.get("abandoned", []))
        summary.fatal = data.get("fatal")
        return summary


def failure_kind(http_status: int | None, error: str | None) -> str:
    """A failed poll's reason as a bounded label: ``http_<status>`` for an HTTP answer, ``parse`` when the
    server answered 2xx with no usable feed, else a word from the fetch error (``timeout``, ``connection``,
    ``blocked``, ``too_large``) or ``other``. The full reason stays in the failures and the feed's state."""
    if http_status is not None and http_status >= 300:
        return f"http_{http_status}"
    if http_status is not None:
        return "parse"
    text = (error or "").lower()
    for kind, words in _FAILURE_WORDS:
        if any(word in text for word in words):
            return kind
    return "other"


_FAILURE_WORDS = (  # in order: the first kind whose words the error holds (errors of ingest/fetch.py, netsafe)
    ("timeout", ("timed out", "timeout", "deadline")),
    ("blocked", ("refused", "not allowed", "robots")),
    ("too_large", ("larger than the cap",)),
    ("redirect", ("redirect",)),
    ("bad_url", ("unusable url", "invalid request")),
    ("connection", ("connection failed", "dns lookup", "no address")),
    ("crashed", ("crashed",)),
)


def write_summary(path: Path, data: dict[str, Any]) -> None:
    """The last pass summary as JSON, for operators (and `make run`) to read without the Airflow UI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
