"""Snoozing a watch: until a given time it raises nothing; afterwards it raises again.

Articles matched while a watch sleeps do not alert later (a snooze mutes, it does not defer): the matching
checkpoint moves past them as usual. The snooze is a field of the watch document, so every pass and every
Airflow shard sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from search.alerting.watches import Watch, get_watch
from search.client import es_errors
from search.names import IndexNames


def snooze_watch(es: Elasticsearch, names: IndexNames, name: str, until: datetime | None) -> Watch:
    """Snooze the watch called ``name`` until ``until`` (None wakes it); raises WatchNotFound."""
    watch = get_watch(es, names, name)
    stamp = _iso(until) if until is not None else None
    with es_errors(f"snoozing watch {name!r}"):
        es.update(index=names.watches, id=watch.id, doc={"snoozed_until": stamp}, refresh=True)
    return Watch.from_doc({**watch.to_doc(), "snoozed_until": stamp})


def is_snoozed(watch: Watch, now: datetime) -> bool:
    if not watch.snoozed_until:
        return False
    return _parse(watch.snoozed_until) > now


def awake(watches: Sequence[Watch], now: datetime) -> list[Watch]:
    """The watches not snoozed at ``now``; one whose snooze has ended matches only articles indexed after
    the end (as a new watch matches only articles indexed after its creation), so the checkpoint's overlap
    cannot raise what was indexed while it slept."""
    out = []
    for watch in watches:
        if is_snoozed(watch, now):
            continue
        if watch.snoozed_until and _parse(watch.snoozed_until) > _parse(watch.created_at):
            watch = replace(watch, created_at=watch.snoozed_until)
        out.append(watch)
    return out


def _parse(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
