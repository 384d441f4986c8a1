"""Bounds on the dates that come from outside (feeds, pages, HTTP headers).

A date written by a feed or a page is a claim, not a fact: "31 Dec 9999" or "1 Jan 1900" is not when an
article was published, and stored as one it stretches every date histogram over millennia (one such document
made every search answer 400 for every user). A publication date later than the fetch plus ``FUTURE_SLACK``
(time zones, clocks a little ahead) or earlier than ``EARLIEST`` is set aside: the caller falls back to the
next source and records what it set aside.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # no news feed or web page predates this
FUTURE_SLACK = timedelta(days=1)


def plausible(when: datetime, reference: datetime) -> bool:
    """Whether ``when`` can be a publication date of something fetched at ``reference``."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    ref = reference if reference.tzinfo else reference.replace(tzinfo=UTC)
    return EARLIEST <= aware <= ref + FUTURE_SLACK


def set_aside(source: str, when: datetime) -> str:
    """How a refused date is recorded on the article (``extraction.date_set_aside``): its source and value."""
    return f"{source} {when.astimezone(UTC).isoformat()}"


def http_date(value: str | None, reference: datetime) -> str | None:
    """A ``Last-Modified`` worth sending back as ``If-Modified-Since``: an HTTP date between ``EARLIEST`` and
    ``reference`` plus the slack, as the server sent it; None for anything else (the next poll is then
    unconditional, and the body hash still spares the work of an unchanged feed)."""
    if not value or len(value) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return value.strip() if plausible(when, reference) else None
