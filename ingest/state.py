"""Feed state and health, the backoff arithmetic, and the store interface ``search/`` implements.

A feed's state is what lets the next poll be incremental (validators, body hash, entries already taken) and
what tells an operator how the feed is doing (last success, last error, consecutive failures, next poll).
Ingest only ever *proposes* a new state; the pipeline commits it after the feed's articles are indexed
(docs/design.md invariant 2), through a ``FeedStateStore``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from netsafe import Backoff as RetryBackoff

if TYPE_CHECKING:
    from ingest.feedlist import FeedSpec

MAX_SEEN_IDS = 2000  # the newest entry ids kept per feed; feeds rarely list more than a few hundred


@dataclass(frozen=True, kw_only=True)
class FeedState:
    feed_id: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    seen_ids: tuple[str, ...] = ()
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    entries_last_pass: int = 0
    gone: bool = False  # the feed answered 410, or 404 several times in a row: polled at the maximum backoff
    consecutive_not_found: int = 0  # 404 answers in a row (a 404 can be a passing mistake; a run of them is not)
    # entry id -> extraction attempts that failed transiently (deadline, dead worker); kept across passes so
    # a page that never extracts ends in a named permanent failure instead of being retried forever
    extraction_attempts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (dates as ISO 8601 strings), the form stores keep."""
        out = asdict(self)
        out["seen_ids"] = list(self.seen_ids)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedState:
        """Inverse of ``to_dict``; unknown keys (fields of a newer version) are ignored."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("last_polled_at", "last_success_at", "last_error_at", "next_poll_at"):
            if isinstance(values.get(key), str):
                values[key] = datetime.fromisoformat(values[key])
        values["seen_ids"] = tuple(values.get("seen_ids") or ())
        attempts = values.get("extraction_attempts") or {}
        values["extraction_attempts"] = {str(k): int(v) for k, v in attempts.items()}
        return cls(**values)

    def is_due(self, now: datetime) -> bool:
        return self.next_poll_at is None or self.next_poll_at <= now


def is_due(state: FeedState | None, now: datetime) -> bool:
    """The one rule for "is this feed due": a feed never polled (no state) is; else its next poll time has come."""
    return state is None or state.is_due(now)


def due_feeds(feeds: Sequence[FeedSpec], states: Mapping[str, FeedState], now: datetime) -> list[FeedSpec]:
    """The feeds of ``feeds`` due at ``now`` by their ``states`` (``is_due``), in their order."""
    return [f for f in feeds if is_due(states.get(f.id), now)]


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Poll spacing: the feed's interval on success, doubling per consecutive failure, capped."""

    interval_s: int = 900
    max_backoff_s: int = 6 * 3600
    max_interval_s: int = 24 * 3600  # a server's max-age or ttl cannot push the next poll further than this

    def after_success(self, now: datetime, server_hint_s: float | None = None) -> datetime:
        """Next poll after a success; a Cache-Control max-age or RSS ttl longer than the interval wins."""
        wait = max(float(self.interval_s), server_hint_s or 0.0)
        return now + timedelta(seconds=min(wait, float(self.max_interval_s)))

    def after_failure(self, now: datetime, failures: int, retry_after_s: float | None = None) -> datetime:
        """Next poll after failure number ``failures`` in a row: interval x 2^(failures-1), capped."""
        policy = RetryBackoff(float(self.interval_s), float(self.max_backoff_s), float(self.max_interval_s))
        return now + timedelta(seconds=policy.delay(failures, retry_after_s))

    def after_gone(self, now: datetime) -> datetime:
        """Next poll of a feed that is gone: the longest backoff at once (never dropped: it may come back)."""
        return now + timedelta(seconds=float(self.max_backoff_s))


def succeeded(
    state: FeedState,
    *,
    now: datetime,
    next_poll_at: datetime,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    new_ids: list[str],
    entries: int,
) -> FeedState:
    """The state after a successful poll whose entries all reached a final state."""
    return replace(
        state,
        etag=etag,
        last_modified=last_modified,
        body_hash=body_hash,
        seen_ids=merge_seen(state.seen_ids, new_ids),
        last_polled_at=now,
        last_success_at=now,
        consecutive_failures=0,
        next_poll_at=next_poll_at,
        entries_last_pass=entries,
        gone=False,
        consecutive_not_found=0,
    )


def failed(
    state: FeedState,
    *,
    now: datetime,
    error: str,
    backoff: Backoff,
    retry_after_s: float | None = None,
    status: int | None = None,
    gone_after_404s: int = 3,
) -> FeedState:
    """The state after a failed poll: validators kept, failure counted, next poll backed off.

    A 410, or ``gone_after_404s`` 404 answers in a row, make the feed ``gone``: a permanent failure, polled
    again only at the maximum backoff (and back to normal on its first success).
    """
    failures = state.consecutive_failures + 1
    not_found = state.consecutive_not_found + 1 if status == 404 else 0
    gone = status == 410 or (status == 404 and not_found >= max(1, gone_after_404s))
    if gone:
        why = "HTTP 410" if status == 410 else f"{not_found} HTTP 404 answers in a row"
        error = f"gone ({why}): {error}; polled again every {backoff.max_backoff_s} s"
    return replace(
        state,
        last_polled_at=now,
        last_error=error,
        last_error_at=now,
        consecutive_failures=failures,
        consecutive_not_found=not_found,
        gone=gone,
        next_poll_at=backoff.after_gone(now) if gone else backoff.after_failure(now, failures, retry_after_s),
        entries_last_pass=0,
    )


def merge_seen(old: tuple[str, ...], new: list[str]) -> tuple[str, ...]:
    """Newest first, no repeats, at most MAX_SEEN_IDS."""
    merged = list(dict.fromkeys([*new, *old]))
    return tuple(merged[:MAX_SEEN_IDS])


class FeedStateStore(Protocol):
    """Where feed states live between passes (``search/`` keeps them in the wirewatch-feeds index)."""

    def load(self, feed_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored state dict of each known feed id; unknown ids are simply absent."""
        ...

    def save(self, states: dict[str, dict[str, Any]]) -> None:
        """Store (replace) the given states, keyed by feed id."""
        ...


@dataclass
class MemoryFeedStateStore:
    """A FeedStateStore in a dict: for the CLI without Elasticsearch, and for tests."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    def load(self, feed_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {fid: dict(self.states[fid]) for fid in feed_ids if fid in self.states}

    def save(self, states: dict[str, dict[str, Any]]) -> None:
        for fid, state in states.items():
            self.states[fid] = dict(state)


def load_states(store: FeedStateStore, feed_ids: list[str]) -> dict[str, FeedState]:
    """FeedState for every id: the stored one, or a fresh one for a feed never polled."""
    stored = store.load(feed_ids)
    return {
        fid: FeedState.from_dict(stored[fid]) if fid in stored else FeedState(feed_id=fid) for fid in feed_ids
    }
