"""Event rows in ACLED-like columns, for the events page, ``/api/v1/events``, their exports and ``wirewatch events``.

ACLED's columns, from what one article's event says: ``actor1`` is who did it (a tracked group's name, or the
named force: army, militia, unidentified gunmen), ``actor2`` the second actor when the sentence names two
(a clash), else its targets; ``country``/``admin1``/``location``/``latitude``/``longitude`` come from the resolved
place (empty when the sentence names none the table knows); ``fatalities`` only when stated (never guessed:
empty is "not stated", not 0); ``notes`` is the sentence, the analyst's evidence. ``source_url`` is the article.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from search.events import EventFilter

ACLED_COLUMNS = (
    "event_date", "event_type", "sub_event_type", "actor1", "actor2", "country", "admin1", "location", "latitude",
    "longitude", "fatalities", "wounded", "claim", "source", "source_url", "notes", "language", "article_id",
    "story_id",
)  # fmt: skip
UTF8_BOM = "\ufeff"  # spreadsheets read a CSV without it in the local code page, garbling é and Arabic
EVENT_TYPES = (
    "armed_clash", "attack", "explosion_remote_violence", "abduction", "violence_against_civilians", "arrest",
)  # fmt: skip


class BadEventFilter(ValueError):
    """A filter value the events view cannot use; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def event_filter(
    *,
    types: Iterable[str] = (),
    groups: Iterable[str] = (),
    countries: Iterable[str] = (),
    regions: Iterable[str] = (),
    places: Iterable[str] = (),
    since: str | None = None,
    until: str | None = None,
    min_fatalities: int | None = None,
) -> EventFilter:
    """An :class:`EventFilter` from typed values (empty strings dropped); BadEventFilter says which is wrong."""
    kinds = tuple(t for t in types if t)
    unknown = [t for t in kinds if t not in EVENT_TYPES]
    if unknown:
        raise BadEventFilter("type", f"unknown event type {unknown[0]!r}: one of {', '.join(EVENT_TYPES)}")
    if min_fatalities is not None and min_fatalities < 0:
        raise BadEventFilter("min_fatalities", "minimum fatalities must be 0 or more")
    return EventFilter(
        types=kinds, groups=tuple(g for g in groups if g), countries=tuple(c.upper() for c in countries if c),
        regions=tuple(r for r in regions if r), places=tuple(p for p in places if p),
        since=_day(since, "since"), until=_day(until, "until"), min_fatalities=min_fatalities,
    )  # fmt: skip


def _day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise BadEventFilter(field, f"{field}: {text!r} is not a date; write it as YYYY-MM-DD") from None


def _actor_name(actor: dict[str, Any], group_names: dict[str, str]) -> str:
    if actor.get("kind") == "group":
        return group_names.get(actor["id"]) or str(actor["id"])
    return str(actor.get("id") or "").replace("_", " ")


def acled_row(row: dict[str, Any]) -> dict[str, Any]:
    """One event row of :func:`search.events.find_events` in ACLED_COLUMNS."""
    actors = [_actor_name(a, row["group_names"]) for a in row.get("actors") or ()]
    place, where, article = row.get("place") or {}, row["location"], row["article"]
    return {
        "event_date": row.get("date"),
        "event_type": row.get("type"),
        "sub_event_type": row.get("subtype"),
        "actor1": actors[0] if actors else None,
        "actor2": actors[1] if len(actors) > 1 else ", ".join(row.get("targets") or ()) or None,
        "country": where.get("country"),
        "admin1": where.get("admin1"),
        "location": place.get("name"),
        "latitude": where.get("lat"),
        "longitude": where.get("lon"),
        "fatalities": row.get("fatalities"),
        "wounded": row.get("wounded"),
        "claim": row.get("claim"),
        "source": article.get("source"),
        "source_url": article.get("url"),
        "notes": (row.get("sentence") or {}).get("text"),
        "language": article.get("language"),
        "article_id": article["id"],
        "story_id": article.get("story_id"),
    }


FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20\u2212")


def csv_cell(value: Any) -> str:
    """A cell as text; one a spreadsheet would run as a formula is quoted (sentences come from hostile pages)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The rows as CSV (UTF-8 byte-order mark, header of ACLED_COLUMNS), one chunk per row."""
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    writer.writerow(ACLED_COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in ACLED_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
