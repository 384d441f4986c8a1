"""A STIX bundle written as a stream: the objects go out as they are made, so memory does not grow with the
number of reports. Objects shared by many reports (groups, places, people, relationships, the marking and
Wirewatch's identity) are written once per bundle: what is remembered is their ids, not the reports."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stix2 import Report

from wirewatch.stix.ids import TLP_LEVELS
from wirewatch.stix.objects import WIREWATCH

__all__ = ["BundleStats", "first_time", "stream_bundle"]


@dataclass
class BundleStats:
    """What a streamed bundle held, readable once the stream is exhausted."""

    reports: int = 0
    objects: int = 0
    seen: set[str] = field(default_factory=set, repr=False)


def stream_bundle(batches: Iterable[list[Any]], stats: BundleStats | None = None) -> Iterator[str]:
    """The text of one bundle, piece by piece: ``batches`` yields each report's objects (the report last).

    An empty export holds Wirewatch's identity alone: STIX forbids an empty ``objects`` list, and the stix2
    library cannot read a bundle without one."""
    stats = stats if stats is not None else BundleStats()
    head = f'{{"type": "bundle", "id": "bundle--{uuid.uuid4()}"'
    opened = False
    for batch in batches:
        for obj in first_time(batch, stats):
            yield (",\n" if opened else head + ', "objects": [\n') + obj.serialize()
            opened = True
    if not opened:
        stats.objects += 1
        yield head + ', "objects": [\n' + WIREWATCH.serialize()
    yield "\n]}\n"


def first_time(batch: list[Any], stats: BundleStats) -> Iterator[Any]:
    """The objects of ``batch`` not yet sent (reports always are), after Wirewatch's identity and the markings."""
    if batch and WIREWATCH.id not in stats.seen:
        stats.seen.add(WIREWATCH.id)
        stats.objects += 1
        yield WIREWATCH
    for obj in batch:
        markings = [m for m in getattr(obj, "object_marking_refs", ()) if m not in stats.seen]
        for marking in markings:
            stats.seen.add(marking)
            stats.objects += 1
            yield _marking(marking)
        if isinstance(obj, Report):
            stats.reports += 1
        elif obj.id in stats.seen:
            continue
        else:
            stats.seen.add(obj.id)
        stats.objects += 1
        yield obj


def _marking(marking_id: str) -> Any:
    return next(m for m in TLP_LEVELS.values() if m.id == marking_id)
