"""Leases: one holder at a time for a subject (a feed), with an expiry, kept in Elasticsearch.

A lease is one document in ``names.leases`` (id: a hash of kind and subject) holding its ``owner`` and
``expires_at``. It is taken with ``op_type=create``; a lease whose holder let it expire (a crashed runner) is
taken over with ``if_seq_no``/``if_primary_term`` of the document that was read, so of two runners racing
for it exactly one wins. The holder renews it (again guarded by its sequence number) while it works and
deletes it when done. Everything is realtime (create, get, index, delete): no refresh is needed.

Leases are a courtesy between runners, not what keeps data right: a runner that lost its lease (it stalled
longer than the lease lasts) and goes on writing is still safe, because every write downstream is
idempotent. They keep two runners from polling the same feed at once, and so from doing the work twice.
Expiry compares the holder's clock with the taker's: keep runners' clocks in sync (NTP) and leases much
longer than any skew.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from search.client import es_errors
from search.errors import SearchError
from search.indices import ensure_plain_index
from search.names import IndexNames

log = logging.getLogger("wirewatch.search.leases")
_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}


def leases_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "kind": _KEYWORD,  # what is leased: "feed"
            "subject": {"type": "keyword", "ignore_above": 2048},  # its id (a feed id)
            "owner": _KEYWORD,  # the runner holding it (host:pid:random)
            "acquired_at": _DATE,
            "renewed_at": _DATE,
            "expires_at": _DATE,
        },
    }


def setup_lease_index(es: Elasticsearch, names: IndexNames) -> bool:
    """Create the leases index when missing; True when created."""
    with es_errors("setting up the leases index"):
        return ensure_plain_index(es, names.leases, leases_mappings())


def lease_id(kind: str, subject: str) -> str:
    """The lease document's ``_id``: fixed length whatever the subject (feed ids may be long)."""
    return hashlib.sha256(f"{kind}\x1f{subject}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Version:
    seq_no: int
    primary_term: int


@dataclass(kw_only=True)
class AcquireReport:
    granted: list[str] = field(default_factory=list)  # subjects now held by this owner
    taken_over: list[str] = field(default_factory=list)  # of those, expired leases of another owner
    elsewhere: dict[str, str] = field(default_factory=dict)  # subject -> owner holding a live lease


class Leases:
    """The leases one runner holds on subjects of one kind; thread-safe.

    ``acquire`` takes what it can, ``renew`` extends everything held (``renewing`` does it in a thread every
    third of ``ttl_s``), ``release`` gives leases back. A lease found taken over at renewal is dropped from
    the held set and reported by ``lost``."""

    def __init__(self, es: Elasticsearch, names: IndexNames, *, kind: str, owner: str, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self._es, self._index = es, names.leases
        self.kind, self.owner, self.ttl_s = kind, owner, ttl_s
        self._held: dict[str, _Version] = {}
        self._lost: set[str] = set()
        self._lock = threading.Lock()
        # One guarded write at a time per lease holder: two renewals (the renewing thread, a ``confirm``)
        # sending the same sequence number would make one of them look like a lease taken over.
        self._writing = threading.Lock()

    # --- what is held ---------------------------------------------------------------------------------
    @property
    def held(self) -> list[str]:
        with self._lock:
            return sorted(self._held)

    @property
    def lost(self) -> list[str]:
        """Subjects whose lease another owner took over while this one held it (it stalled too long)."""
        with self._lock:
            return sorted(self._lost)

    # --- acquire ----------------------------------------------------------------------------------------
    def acquire(self, subjects: Iterable[str], *, now: datetime | None = None) -> AcquireReport:
        """Take a lease on every subject that has none or an expired one; the others are reported
        ``elsewhere`` with their holder. Subjects this owner already holds are renewed and granted."""
        now = now or datetime.now(UTC)
        report = AcquireReport()
        wanted = list(dict.fromkeys(subjects))
        mine = set(self.held)
        again = [s for s in wanted if s in mine]
        if again:
            self._renew(again, now)
            report.granted += [s for s in again if s in set(self.held)]
        fresh = [s for s in wanted if s not in mine]
        conflicts = self._create(fresh, now, report)
        if conflicts:
            self._take_over_expired(conflicts, now, report)
        order = {s: i for i, s in enumerate(wanted)}
        report.granted.sort(key=order.__getitem__)
        return report

    def _doc(self, subject: str, now: datetime, acquired_at: datetime | None = None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": subject,
            "owner": self.owner,
            "acquired_at": (acquired_at or now).isoformat(),
            "renewed_at": now.isoformat(),
            "expires_at": (now + timedelta(seconds=self.ttl_s)).isoformat(),
        }

    def _create(self, subjects: Sequence[str], now: datetime, report: AcquireReport) -> list[str]:
        """op_type=create for each subject; returns those that already had a lease document."""
        if not subjects:
            return []
        ops: list[dict[str, Any]] = []
        for subject in subjects:
            ops += [{"create": {"_index": self._index, "_id": lease_id(self.kind, subject)}}, self._doc(subject, now)]
        items = self._bulk(ops, "taking leases")
        conflicts = []
        for subject, item in zip(subjects, items, strict=True):
            result = item["create"]
            if result.get("status") in (200, 201):
                self._hold(subject, result)
                report.granted.append(subject)
            elif result.get("status") == 409:
                conflicts.append(subject)
            else:
                raise SearchError(f"taking the lease on {subject!r} failed: {result.get('error')}")
        return conflicts

    def _take_over_expired(self, subjects: Sequence[str], now: datetime, report: AcquireReport) -> None:
        docs = self._mget(subjects, "reading leases held elsewhere")
        ops: list[dict[str, Any]] = []
        candidates: list[str] = []
        for subject, doc in zip(subjects, docs, strict=True):
            if not doc.get("found"):
                # released between our create and this read: the next acquire takes it; not held by us now
                report.elsewhere[subject] = "(just released)"
                continue
            source = doc["_source"]
            if source.get("owner") != self.owner and _parse(source["expires_at"]) > now:
                report.elsewhere[subject] = str(source.get("owner"))
                continue
            candidates.append(subject)
            meta = {"_index": self._index, "_id": doc["_id"], "if_seq_no": doc["_seq_no"],
                    "if_primary_term": doc["_primary_term"]}  # fmt: skip
            ops += [{"index": meta}, self._doc(subject, now)]
            if source.get("owner") != self.owner:
                log.info("taking over the expired lease on %s %s from %s", self.kind, subject, source.get("owner"))
        if not ops:
            return
        for subject, item in zip(candidates, self._bulk(ops, "taking over expired leases"), strict=True):
            result = item["index"]
            if result.get("status") in (200, 201):
                self._hold(subject, result)
                report.granted.append(subject)
                report.taken_over.append(subject)
            elif result.get("status") == 409:
                report.elsewhere[subject] = "(taken over by another runner first)"
            else:
                raise SearchError(f"taking over the lease on {subject!r} failed: {result.get('error')}")

    # --- renew ------------------------------------------------------------------------------------------
    def renew(self, *, now: datetime | None = None) -> list[str]:
        """Extend every lease held; returns the subjects lost to another owner (no longer held)."""
        return self._renew(self.held, now or datetime.now(UTC))

    def _renew(self, subjects: Sequence[str], now: datetime) -> list[str]:
        with self._writing:
            return self._renew_held(subjects, now)

    def _renew_held(self, subjects: Sequence[str], now: datetime) -> list[str]:
        with self._lock:
            versions = {s: self._held[s] for s in subjects if s in self._held}
        if not versions:
            return []
        ops: list[dict[str, Any]] = []
        for subject, version in versions.items():
            meta = {"_index": self._index, "_id": lease_id(self.kind, subject), "if_seq_no": version.seq_no,
                    "if_primary_term": version.primary_term}  # fmt: skip
            expires = (now + timedelta(seconds=self.ttl_s)).isoformat()
            ops += [{"update": meta}, {"doc": {"renewed_at": now.isoformat(), "expires_at": expires}}]
        lost: list[str] = []
        for subject, item in zip(versions, self._bulk(ops, "renewing leases"), strict=True):
            result = item["update"]
            if result.get("status") in (200, 201):
                self._hold(subject, result)
            elif result.get("status") in (404, 409):
                lost.append(subject)
            else:
                raise SearchError(f"renewing the lease on {subject!r} failed: {result.get('error')}")
        if lost:
            log.warning("lost %d lease(s) to another runner (held too long without renewal): %s", len(lost), lost)
            with self._lock:
                for subject in lost:
                    self._held.pop(subject, None)
                    self._lost.add(subject)
        return lost

    def confirm(self, subjects: Iterable[str], *, now: datetime | None = None) -> list[str]:
        """Renew the leases on ``subjects`` now and return those this owner does not hold (lost before or
        found taken over now): a holder checks this just before writing what only the holder may write."""
        wanted = list(dict.fromkeys(subjects))
        self._renew(wanted, now or datetime.now(UTC))
        held = set(self.held)
        return [s for s in wanted if s not in held]

    @contextmanager
    def renewing(self) -> Iterator[Leases]:
        """Renew everything held every third of ``ttl_s`` in a daemon thread until the block ends; then
        release what is still held."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.ttl_s / 3):
                try:
                    self.renew()
                except SearchError as exc:  # an outage: try again next time; the lease may expire meanwhile
                    log.warning("renewing leases failed: %s", exc)

        thread = threading.Thread(target=loop, name=f"leases-{self.kind}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.release_quietly()

    # --- release ----------------------------------------------------------------------------------------
    def release(self, subjects: Iterable[str] | None = None) -> None:
        """Delete the leases on ``subjects`` (all held when None) if still ours; others are left alone."""
        with self._writing:
            self._release_held(subjects)

    def _release_held(self, subjects: Iterable[str] | None) -> None:
        with self._lock:
            chosen = list(self._held) if subjects is None else [s for s in subjects if s in self._held]
            versions = {s: self._held.pop(s) for s in chosen}
        if not versions:
            return
        ops = [
            {"delete": {"_index": self._index, "_id": lease_id(self.kind, s), "if_seq_no": v.seq_no,
                        "if_primary_term": v.primary_term}}
            for s, v in versions.items()
        ]  # fmt: skip
        for subject, item in zip(versions, self._bulk(ops, "releasing leases"), strict=True):
            status = item["delete"].get("status")
            if status not in (200, 404, 409):  # gone or taken over meanwhile: nothing of ours to delete
                raise SearchError(f"releasing the lease on {subject!r} failed: {item['delete'].get('error')}")

    def release_quietly(self, subjects: Iterable[str] | None = None) -> None:
        """``release``, logging instead of raising: an unreleased lease only delays others until it expires."""
        try:
            self.release(subjects)
        except SearchError as exc:
            log.warning("releasing leases failed (they expire in %.0fs): %s", self.ttl_s, exc)

    # --- plumbing ---------------------------------------------------------------------------------------
    def _hold(self, subject: str, result: dict[str, Any]) -> None:
        with self._lock:
            self._held[subject] = _Version(int(result["_seq_no"]), int(result["_primary_term"]))
            self._lost.discard(subject)  # held again (taken anew after it was lost)

    def _bulk(self, ops: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
        with es_errors(action):
            response = self._es.bulk(operations=ops)
        return list(response["items"])

    def _mget(self, subjects: Sequence[str], action: str) -> list[dict[str, Any]]:
        with es_errors(action):
            docs = self._es.mget(index=self._index, ids=[lease_id(self.kind, s) for s in subjects])["docs"]
        return list(docs)


def list_leases(
    es: Elasticsearch, names: IndexNames, *, kind: str | None = None, size: int = 1000
) -> list[dict[str, Any]]:
    """Lease documents (for operators and tests), soonest expiry first."""
    query: dict[str, Any] = {"term": {"kind": kind}} if kind else {"match_all": {}}
    with es_errors("listing leases"):
        es.indices.refresh(index=names.leases)
        found = es.search(index=names.leases, query=query, size=size, sort=[{"expires_at": "asc"}])
    return [hit["_source"] for hit in found["hits"]["hits"]]


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
