"""When to try again: one backoff formula and the one Retry-After parser of the project.

Every retry in Wirewatch waits ``Backoff.delay(failures, retry_after_s)``: the first wait, doubled per failure
in a row, capped; a server's Retry-After wins when it asks for longer (capped by ``retry_after_max_s``, by
default the same cap). Its users and their settings, named ``<area>_backoff_s`` (the first wait) and
``<area>_max_backoff_s`` (the cap):

- a fetch's retries within one pass (``http_backoff_s``, ``http_max_backoff_s``);
- a failing feed's next poll (first wait: the feed's interval; ``feed_max_backoff_s``);
- a delivery's retries within a pass and its next attempt on a later pass (``delivery_backoff_s``,
  ``delivery_max_backoff_s``);
- bulk writes to Elasticsearch (``es_backoff_s``, ``es_max_backoff_s``).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime

# A server may ask for anything ("9999..." or a date in year 9999); every wait is capped by its Backoff, and
# the value itself stays a finite number of seconds that a timedelta and a JSON document can hold.
RETRY_AFTER_MAX_S = 30 * 24 * 3600.0


@dataclass(frozen=True)
class Backoff:
    """``first_s`` x 2^(failures - 1), at most ``max_s``; at least the Retry-After asked (up to its own cap)."""

    first_s: float
    max_s: float
    retry_after_max_s: float | None = None  # None: Retry-After is capped by max_s too

    def __post_init__(self) -> None:
        if self.first_s < 0 or self.max_s < 0:
            raise ValueError("backoff delays must not be negative")

    def delay(self, failures: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after failure number ``failures`` in a row (1 for the first)."""
        exponent = min(max(failures - 1, 0), 60)  # 2^60 x any delay is past every cap: no float overflow
        wait = min(self.first_s * 2.0**exponent, self.max_s)
        if retry_after_s is not None:
            cap = self.max_s if self.retry_after_max_s is None else self.retry_after_max_s
            wait = max(wait, min(retry_after_s, cap))
        return wait


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds asked by a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone takes "²" or "١", which float() refuses
        return min(float(value), RETRY_AFTER_MAX_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - (now or datetime.now(UTC))).total_seconds()), RETRY_AFTER_MAX_S)
