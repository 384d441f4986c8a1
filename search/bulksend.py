"""The bulk engine under search/bulk.py: chunking, retries with backoff, per-document outcome.

Written by hand rather than with ``helpers.streaming_bulk`` because that helper retries per-document 429s
only, never splits a chunk Elasticsearch refuses as too large (413) and has no notion of "transient, keep it
for later" versus "permanent, a person must look". Each outcome lands in exactly one bucket of the report.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch

from netsafe import Backoff
from search.errors import IndexMissing, SearchUnavailable

# Per-document or per-request statuses worth another attempt: overload, proxies, unavailable shards.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# A write block (an index being migrated) or a rejected queue: the document is fine, the moment is not.
TRANSIENT_ERROR_TYPES = frozenset({"cluster_block_exception", "es_rejected_execution_exception"})


@dataclass(kw_only=True)
class BulkReport:
    """What happened to each document id: exactly one of written, unchanged, transient, permanent."""

    written: list[str] = field(default_factory=list)  # durably written by this call
    unchanged: list[str] = field(default_factory=list)  # already indexed with the same content hash
    transient: dict[str, str] = field(default_factory=dict)  # id -> reason; retry in a later pass
    permanent: dict[str, str] = field(default_factory=dict)  # id -> reason (a 4xx: mapping error...); never retried

    @property
    def durable(self) -> list[str]:
        """Ids that are in the index now: the pipeline may move feed cursors past exactly these."""
        return [*self.written, *self.unchanged]

    @property
    def failed(self) -> dict[str, str]:
        return {**self.transient, **self.permanent}

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "unchanged": self.unchanged,
            "transient": self.transient,
            "permanent": self.permanent,
        }


@dataclass(frozen=True)
class Op:
    """One bulk operation, already serialised: the action line and its body line."""

    doc_id: str
    lines: tuple[bytes, bytes]

    @property
    def size(self) -> int:
        return len(self.lines[0]) + len(self.lines[1]) + 2  # two newlines


@dataclass(frozen=True, kw_only=True)
class Policy:
    chunk_docs: int
    chunk_bytes: int
    max_retries: int
    backoff_s: float
    max_backoff_s: float = 30.0

    def __post_init__(self) -> None:
        if self.chunk_docs < 1 or self.chunk_bytes < 1 or self.max_retries < 0 or self.backoff_s < 0:
            raise ValueError("chunk_docs and chunk_bytes must be >= 1, max_retries and backoff_s >= 0")

    def pause(self, attempt: int) -> None:
        time.sleep(Backoff(self.backoff_s, self.max_backoff_s).delay(attempt + 1))


def chunks(ops: list[Op], policy: Policy) -> Iterator[list[Op]]:
    """Runs of at most chunk_docs ops and chunk_bytes bytes (a single bigger op goes alone)."""
    chunk: list[Op] = []
    size = 0
    for op in ops:
        if chunk and (len(chunk) >= policy.chunk_docs or size + op.size > policy.chunk_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(op)
        size += op.size
    if chunk:
        yield chunk


def send_all(es: Elasticsearch, ops: list[Op], policy: Policy, report: BulkReport) -> None:
    """Send every op, filling ``report``; SearchUnavailable (report attached) if ES stays unreachable."""
    for chunk in chunks(ops, policy):
        send_chunk(es, chunk, policy, report)


def send_chunk(es: Elasticsearch, chunk: list[Op], policy: Policy, report: BulkReport) -> None:
    pending = chunk
    for attempt in range(policy.max_retries + 1):
        if attempt:
            policy.pause(attempt - 1)
        last = attempt == policy.max_retries
        try:
            items = _post(es, pending)
        except (ConnectionError, ConnectionTimeout) as exc:
            if last:
                raise SearchUnavailable(
                    f"Elasticsearch is unreachable while indexing: {exc.message}", partial=report
                ) from exc
            continue
        except ApiError as exc:
            if exc.status_code == 413:
                _split(es, pending, policy, report, exc)
                return
            _refuse_missing_index(exc.error, exc.message)
            if _is_transient(exc.status_code, exc.error) and not last:
                continue
            _record_all(report, pending, exc.status_code, exc.error, exc.message)
            return
        pending = _sort_items(pending, items, report, final=last)
        if not pending:
            return


def _post(es: Elasticsearch, ops: list[Op]) -> list[dict[str, Any]]:
    lines = [line for op in ops for line in op.lines]
    # require_alias: writing before setup must fail loudly, not auto-create an index with a guessed mapping
    response = es.bulk(operations=lines, require_alias=True, refresh=False)  # type: ignore[arg-type]
    return [next(iter(item.values())) for item in response["items"]]


def _sort_items(ops: list[Op], items: list[dict[str, Any]], report: BulkReport, *, final: bool) -> list[Op]:
    """File each item's outcome; return the ops to try again."""
    retry: list[Op] = []
    for op, item in zip(ops, items, strict=True):
        status = int(item.get("status", 500))
        if 200 <= status < 300:
            report.written.append(op.doc_id)
            continue
        error = item.get("error") or {}
        kind, reason = str(error.get("type", "unknown")), str(error.get("reason", ""))
        _refuse_missing_index(kind, reason)
        if _is_transient(status, kind):
            if final:
                report.transient[op.doc_id] = f"{status} {kind}: {reason}"
            else:
                retry.append(op)
        else:
            report.permanent[op.doc_id] = f"{status} {kind}: {_with_cause(error)}"
    return retry


def _with_cause(error: dict[str, Any]) -> str:
    cause = error.get("caused_by") or {}
    reason = str(error.get("reason", ""))
    return f"{reason} ({cause.get('type')}: {cause.get('reason')})" if cause else reason


def _is_transient(status: int, kind: str) -> bool:
    # Only a refusal of the document itself (a 4xx other than 429) is permanent: the pipeline settles those
    # entries for good, so a server-side error (5xx) must stay transient and be tried again.
    return status in TRANSIENT_STATUSES or status >= 500 or kind in TRANSIENT_ERROR_TYPES


def _refuse_missing_index(kind: str, reason: str) -> None:
    if kind == "index_not_found_exception":
        raise IndexMissing(f"{reason}: run `wirewatch es setup` first")


def _split(es: Elasticsearch, ops: list[Op], policy: Policy, report: BulkReport, exc: ApiError) -> None:
    """ES refused the request body as too large: halve it until it fits, or a lone op is too big."""
    if len(ops) == 1:
        report.permanent[ops[0].doc_id] = f"413 document too large for one request ({ops[0].size} bytes)"
        return
    half = len(ops) // 2
    send_chunk(es, ops[:half], policy, report)
    send_chunk(es, ops[half:], policy, report)


def _record_all(report: BulkReport, ops: list[Op], status: int, kind: object, message: str) -> None:
    bucket = report.transient if _is_transient(status, str(kind)) else report.permanent
    for op in ops:
        bucket[op.doc_id] = f"{status} {kind}: {message}"
