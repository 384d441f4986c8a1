"""Digests on a schedule: when a channel's digest is due, ONE message lists the stories waiting for it, per watch.

A channel's ``digest`` in the channels file is one of:

- ``true``: the pass's pending alerts are batched into one message per pass (``deliver``'s digest mode);
- ``{every: hourly}`` (or a period that divides a day: ``15m``, ``30m``, ``2h``, ``6h``...): due at every
  multiple of the period from local midnight, in the channel's ``timezone`` (default UTC);
- ``{daily_at: "08:00", timezone: "Africa/Tripoli"}``: due once a day at that local time.

A scheduled digest channel does not send alerts as they come. ``parse_digest`` validates the setting;
``DigestSchedule.next_due`` says when the next one is due; ``Digest`` is the message's content (built by the
caller from the alert documents), rendered per channel format here: plain text and HTML for email (escaped),
Slack mrkdwn (escaped, cut to fit one message: the stories cut stay pending for the next digest), JSON for
webhooks and files. ``send_digest`` sends one with retries and says which alerts the message listed, so the
caller marks exactly those delivered.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import time as _time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netsafe import Backoff
from notify.errors import ChannelConfigError, PermanentDeliveryError, TransientDeliveryError
from notify.render import MAX_SLACK_TEXT, safe_href, slack_escape

log = logging.getLogger("wirewatch.notify")

DAY_S = 24 * 3600
MIN_PERIOD_S = 5 * 60
_PERIOD = re.compile(r"^\s*(\d+)\s*(m|min|h)\s*$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_KEYS = {"every", "daily_at", "timezone"}


@dataclass(frozen=True, kw_only=True)
class DigestSchedule:
    """Every ``every_s`` seconds from local midnight, or daily at ``daily_at``, in ``timezone``."""

    every_s: int | None = None
    daily_at: time | None = None
    timezone: str = "UTC"

    def next_due(self, after: datetime) -> datetime:
        """The first due time strictly after ``after`` (UTC); missed slots are skipped, never caught up."""
        zone = ZoneInfo(self.timezone)
        local = after.astimezone(zone)
        if self.daily_at is not None:
            candidate = datetime.combine(local.date(), self.daily_at, tzinfo=zone)
            if candidate.astimezone(UTC) <= after:
                candidate = datetime.combine(local.date() + timedelta(days=1), self.daily_at, tzinfo=zone)
            return _normalised(candidate)
        assert self.every_s is not None
        midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
        elapsed = (local.replace(tzinfo=None) - midnight.replace(tzinfo=None)).total_seconds()  # wall clock
        slot = (int(elapsed) // self.every_s + 1) * self.every_s
        if slot >= DAY_S:
            return _normalised(datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone))
        candidate = _normalised(midnight + timedelta(seconds=slot))
        # a wall-clock slot inside a DST change can land at or before ``after``: take the next one
        return candidate if candidate > after else self.next_due(after + timedelta(seconds=self.every_s))

    def describe(self) -> str:
        if self.daily_at is not None:
            return f"daily at {self.daily_at.strftime('%H:%M')} {self.timezone}"
        assert self.every_s is not None
        every = "hourly" if self.every_s == 3600 else f"every {self.every_s // 60} min"
        return every if self.timezone == "UTC" else f"{every} ({self.timezone})"


def _normalised(local: datetime) -> datetime:
    # through UTC and back: a wall time that does not exist (spring forward) becomes a real instant
    return local.astimezone(UTC)


def parse_digest(value: Any, channel: str) -> bool | DigestSchedule:
    """The channel's ``digest`` setting: False (send as they come), True (per pass) or a schedule.

    Raises ChannelConfigError naming the channel and what is wrong."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    where = f"channel {channel!r}: digest"
    if not isinstance(value, Mapping):
        raise ChannelConfigError(f"{where} must be true, false, {{every: hourly}} or {{daily_at: 'HH:MM'}}")
    unknown = set(value) - _KEYS
    if unknown:
        raise ChannelConfigError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    zone = _zone(value.get("timezone", "UTC"), where)
    if ("every" in value) == ("daily_at" in value):
        raise ChannelConfigError(f"{where}: give exactly one of 'every' (hourly, 30m, 2h...) or 'daily_at' (HH:MM)")
    if "daily_at" in value:
        return DigestSchedule(daily_at=_clock(value["daily_at"], where), timezone=zone)
    return DigestSchedule(every_s=_period(value["every"], where), timezone=zone)


def _zone(value: Any, where: str) -> str:
    name = str(value or "").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ChannelConfigError(f"{where}: unknown time zone {name!r} (an IANA name such as Africa/Tripoli)") from None
    return name


def _clock(value: Any, where: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:00 as the sexagesimal number 480
        value = f"{value // 60:02d}:{value % 60:02d}"
    match = _CLOCK.match(str(value).strip())
    if not match:
        raise ChannelConfigError(f"{where}: daily_at must be a time HH:MM (24 h), not {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _period(value: Any, where: str) -> int:
    text = str(value).strip().lower()
    if text == "hourly":
        return 3600
    if text == "daily":
        raise ChannelConfigError(f"{where}: for a daily digest give daily_at: 'HH:MM' (and a timezone)")
    match = _PERIOD.match(text)
    if not match:
        raise ChannelConfigError(f"{where}: every must be hourly or a period such as 30m or 2h, not {value!r}")
    seconds = int(match.group(1)) * (3600 if match.group(2) == "h" else 60)
    if seconds < MIN_PERIOD_S or DAY_S % seconds:
        raise ChannelConfigError(f"{where}: every must be at least 5m and divide a day evenly (15m, 1h, 6h...)")
    return seconds


# --- the message ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class DigestStory:
    """One story of a digest: the alert raised for it and what the story looks like now."""

    alert_id: str
    title: str
    url: str
    sources: int  # distinct sources that carried the story
    first_seen: str | None
    kind: str = "story"  # "story", or "spike" for a spike alert (its numbers are in the title)


@dataclass(frozen=True, kw_only=True)
class DigestSection:
    watch: str
    stories: tuple[DigestStory, ...]


@dataclass(frozen=True, kw_only=True)
class Digest:
    channel: str
    due_at: str  # the scheduled time this digest is for (ISO, UTC)
    schedule: str  # DigestSchedule.describe()
    sections: tuple[DigestSection, ...]
    waiting: int = 0  # alerts left for the next digest (over the size of one message)

    @property
    def alert_ids(self) -> list[str]:
        return [story.alert_id for section in self.sections for story in section.stories]

    @property
    def key(self) -> str:
        """Idempotency key: the same digest resent (after a crash before it was recorded) keeps it."""
        joined = "\x1f".join([self.channel, self.due_at, *sorted(self.alert_ids)])
        return "digest-" + hashlib.sha256(joined.encode()).hexdigest()[:32]

    def without_last(self) -> Digest:
        """This digest with its last story dropped (to fit a size limit); the dropped one waits."""
        sections = list(self.sections)
        last = sections[-1]
        if len(last.stories) > 1:
            sections[-1] = replace(last, stories=last.stories[:-1])
        else:
            sections.pop()
        return replace(self, sections=tuple(sections), waiting=self.waiting + 1)

    def to_payload(self) -> dict[str, Any]:
        """What webhooks and the JSON-lines file receive."""
        return {
            "type": "scheduled_digest",
            "channel": self.channel,
            "due_at": self.due_at,
            "schedule": self.schedule,
            "stories": len(self.alert_ids),
            "waiting": self.waiting,
            "watches": [{"watch": s.watch, "stories": [asdict(story) for story in s.stories]} for s in self.sections],
        }


def digest_json(digest: Digest) -> bytes:
    return json.dumps(digest.to_payload(), ensure_ascii=False, sort_keys=True).encode("utf-8")


def digest_subject(digest: Digest) -> str:
    count = len(digest.alert_ids)
    return f"[Wirewatch] digest: {count} stor{'y' if count == 1 else 'ies'} ({digest.schedule})"


def _about(story: DigestStory) -> str:
    """ "3 sources, first seen 2018-02-23 09:30" (a spike alert: "spike of mentions, 2018-02-23 09:30")."""
    when = story.first_seen[:16].replace("T", " ") if story.first_seen else "-"
    if story.kind == "spike":
        return f"spike of mentions, {when}"
    return f"{story.sources} source{'s' if story.sources != 1 else ''}, first seen {when}"


def digest_text(digest: Digest) -> str:
    lines = [digest_subject(digest), ""]
    for section in digest.sections:
        lines.append(f"Watch: {section.watch}")
        for story in section.stories:
            lines.append(f"  - {' '.join(story.title.split())}")
            lines.append(f"    {_about(story)}")
            if story.url:
                lines.append(f"    {story.url}")
        lines.append("")
    if digest.waiting:
        lines.append(f"{digest.waiting} more alert(s) wait for the next digest.")
    return "\n".join(lines) + "\n"


def digest_html(digest: Digest) -> str:
    parts = [f"<!DOCTYPE html><html><body><h2>{html.escape(digest_subject(digest))}</h2>"]
    for section in digest.sections:
        parts.append(f"<h3>{html.escape(section.watch)}</h3><ul>")
        for story in section.stories:
            title = html.escape(story.title)
            href = safe_href(story.url)
            heading = f'<a href="{html.escape(href, quote=True)}">{title}</a>' if href else title
            parts.append(f"<li>{heading}<br><small>{html.escape(_about(story))}</small></li>")
        parts.append("</ul>")
    if digest.waiting:
        parts.append(f"<p>{digest.waiting} more alert(s) wait for the next digest.</p>")
    parts.append("</body></html>")
    return "".join(parts)


def digest_slack(digest: Digest) -> str:
    lines = [f"*{slack_escape(digest_subject(digest))}*"]
    for section in digest.sections:
        lines.append(f"*{slack_escape(section.watch)}*")
        for story in section.stories:
            title = slack_escape(" ".join(story.title.split())).replace("|", "¦")  # '|' ends the link text
            href = safe_href(story.url)
            link = f"<{slack_escape(href)}|{title}>" if href else title
            lines.append(f"• {link} · {slack_escape(_about(story))}")
    if digest.waiting:
        lines.append(f"_{digest.waiting} more alert(s) wait for the next digest._")
    return "\n".join(lines)


def fit(digest: Digest, render: Callable[[Digest], str], limit: int) -> Digest:
    """``digest`` with stories dropped from the end until ``render`` fits ``limit`` (at least one story stays,
    cut by the renderer if it must): what was dropped is not listed, so it is not marked delivered."""
    while len(render(digest)) > limit and len(digest.alert_ids) > 1:
        digest = digest.without_last()
    return digest


SLACK_DIGEST_LIMIT = MAX_SLACK_TEXT


# --- sending -------------------------------------------------------------------------------------------------
@runtime_checkable
class SendsDigests(Protocol):
    """A channel that can send a scheduled digest; ``send_digest`` returns the digest it actually listed."""

    name: str
    digest_schedule: DigestSchedule | None

    def send_digest(self, digest: Digest) -> Digest: ...


def schedule_of(channel: object) -> DigestSchedule | None:
    """The channel's digest schedule, None when it sends as alerts come (or per pass)."""
    return channel.digest_schedule if isinstance(channel, SendsDigests) else None


@dataclass(frozen=True, kw_only=True)
class DigestOutcome:
    state: Literal["delivered", "pending", "failed"]
    attempts: int
    listed: Digest | None = None  # what the sent message listed (delivered only)
    error: str | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class DigestRetry:
    max_attempts: int = 3
    backoff_s: float = 0.5
    max_wait_s: float = 30.0
    sleep: Callable[[float], None] = field(default=_time.sleep, repr=False)


def send_digest(channel: SendsDigests, digest: Digest, retry: DigestRetry | None = None) -> DigestOutcome:
    """Send one digest, retrying transient failures within ``retry``; never raises for a delivery problem."""
    retry = retry or DigestRetry()
    backoff = Backoff(retry.backoff_s, retry.max_wait_s, retry_after_max_s=24 * 3600.0)
    error: TransientDeliveryError | None = None
    attempt = 0
    for attempt in range(1, retry.max_attempts + 1):
        try:
            listed = channel.send_digest(digest)
            return DigestOutcome(state="delivered", attempts=attempt, listed=listed)
        except PermanentDeliveryError as exc:
            log.warning("digest failed for good: %s", exc)
            return DigestOutcome(state="failed", attempts=attempt, error=str(exc))
        except TransientDeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug in one channel must not stop the pass; the type only, no secrets
            error = TransientDeliveryError(f"{channel.name!r}: unexpected {type(exc).__name__}")
        delay = backoff.delay(attempt, error.retry_after_s)
        if attempt == retry.max_attempts or delay > retry.max_wait_s:
            break
        retry.sleep(delay)
    assert error is not None
    return DigestOutcome(state="pending", attempts=attempt, error=str(error), retry_after_s=error.retry_after_s)


def sections_from(stories: Sequence[tuple[str, DigestStory]]) -> tuple[DigestSection, ...]:
    """(watch name, story) pairs grouped per watch, watches in order of first appearance."""
    by_watch: dict[str, list[DigestStory]] = {}
    for watch, story in stories:
        by_watch.setdefault(watch, []).append(story)
    return tuple(DigestSection(watch=w, stories=tuple(s)) for w, s in by_watch.items())
