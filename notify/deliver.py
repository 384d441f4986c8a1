"""The delivery step of the outbox: send each pending (alert, channel), retry with backoff, report outcomes.

Within one pass a transient failure is retried up to ``max_attempts`` times with exponential backoff,
waiting at least the receiver's Retry-After; a wait longer than ``max_wait_s`` is not slept through but
becomes the outcome's ``next_attempt_at`` for a later pass. Permanent failures stop at once. A channel that
exhausts its retries is not tried again for the rest of the pass (its remaining alerts stay pending,
untouched), so one dead receiver cannot stall the pass. An alert for a channel missing from the configuration
is not sent and not retried: it ends ``unconfigured`` (not due, so it never crowds the outbox; the outbox
offers it again once a channel of that name is configured). Outcomes are per (alert, channel): the caller
records them, and a channel that failed never causes a resend on a channel that succeeded, because each pair
is tracked on its own.

Channels are delivered independently, each in a thread of its own: a slow receiver holds only its own channel.
``deadline`` (a ``time.monotonic()`` value: the end of the pass, or of the delivery claims) bounds the whole
call: every send runs under it (``netsafe.deadline``, which the channels' sockets obey), no send or retry starts
after it, and what was not attempted comes back ``pending`` and due at once (its claim released), never sent
by a runner whose claim may have lapsed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from netsafe import Backoff, deadline_in
from notify.errors import PermanentDeliveryError, TransientDeliveryError
from notify.model import Alert, Delivery, story_of

log = logging.getLogger("wirewatch.notify")

State = Literal["delivered", "pending", "failed", "unconfigured"]


class Channel(Protocol):
    """What every channel offers. ``send`` gets one alert, or the pass's alerts when ``digest`` is set."""

    name: str
    digest: bool

    def send(self, alerts: Sequence[Alert]) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class SplitsDigests(Protocol):
    """A channel whose messages have a size limit (Slack): it cuts a digest into messages that fit whole."""

    def digest_batches(self, alerts: Sequence[Alert]) -> list[list[Alert]]: ...


@dataclass(frozen=True, kw_only=True)
class DeliveryOutcome:
    """What happened to one (alert, channel) in this pass; ``attempts`` counts this pass's sends only."""

    alert_id: str
    channel: str
    state: State
    attempts: int
    delivered_at: datetime | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class _Result:
    delivered: bool
    attempts: int
    error: str | None = None
    permanent: bool = False
    retry_after_s: float | None = None


def deliver(
    pending: Sequence[Delivery],
    channels: Mapping[str, Channel],
    *,
    max_attempts: int = 4,
    backoff_s: float = 0.5,
    max_wait_s: float = 30.0,
    max_defer_s: float = 3600.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    parallel: int = 1,
    deadline: float | None = None,
) -> list[DeliveryOutcome]:
    """Send every pending delivery; one outcome per (alert, channel) in ``pending``, in channel order.

    ``parallel``: sends in flight at once per channel (channels are thread-safe: HTTP clients are shared,
    SMTP and files open per send). ``deadline``: a ``time.monotonic()`` value no send outlives."""
    if max_attempts < 1 or parallel < 1:
        raise ValueError("max_attempts and parallel must be at least 1")
    by_channel: dict[str, list[Delivery]] = {}
    for item in pending:
        by_channel.setdefault(item.channel, []).append(item)
    policy = _Policy(max_attempts, backoff_s, max_wait_s, max_defer_s, clock, sleep, parallel, deadline)
    configured = {name: items for name, items in by_channel.items() if name in channels}
    # One thread per channel: a webhook that answers one byte at a time must not hold the email after it.
    with ThreadPoolExecutor(max_workers=max(1, len(configured)), thread_name_prefix="deliver") as pool:
        running = {n: pool.submit(_deliver_channel, channels[n], todo, policy) for n, todo in configured.items()}
        outcomes: list[DeliveryOutcome] = []
        for name, items in by_channel.items():
            outcomes += running[name].result() if name in running else _unconfigured(name, items)
    return outcomes


@dataclass(frozen=True)
class _Policy:
    max_attempts: int
    backoff_s: float
    max_wait_s: float
    max_defer_s: float
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    parallel: int = 1
    deadline: float | None = None  # time.monotonic(): nothing is sent after it

    def left(self) -> float | None:
        """Seconds before the deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def expired(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    @property
    def backoff(self) -> Backoff:
        return Backoff(self.backoff_s, self.max_defer_s)

    def next_attempt(self, prior_attempts: int, retry_after_s: float | None) -> datetime:
        """When a later pass should try again: exponential in all attempts so far, at least Retry-After."""
        return self.clock() + timedelta(seconds=self.backoff.delay(prior_attempts + 1, retry_after_s))


def _unconfigured(name: str, items: list[Delivery]) -> list[DeliveryOutcome]:
    # Not pending: an alert that is due again at once, pass after pass, would fill the outbox's batch and
    # starve every newer alert. Not failed either: configuring the channel again delivers these alerts.
    error = f"channel {name!r} is not configured"
    log.warning("%s: %d alert(s) set aside until it is", error, len(items))
    return [
        DeliveryOutcome(alert_id=i.alert.id, channel=name, state="unconfigured", attempts=0, error=error)
        for i in items
    ]


def _deliver_channel(channel: Channel, items: list[Delivery], policy: _Policy) -> list[DeliveryOutcome]:
    units = _digest_units(channel, items) if channel.digest else _story_units(items)
    outcomes: list[DeliveryOutcome] = []
    broken: DeliveryOutcome | None = None  # the outcome that showed the channel is down for this pass
    # Up to ``parallel`` sends in flight at once (a burst of alerts must not queue behind one slow POST);
    # a wave that finds the channel down stops the waves after it.
    with ThreadPoolExecutor(max_workers=policy.parallel, thread_name_prefix=f"deliver-{channel.name}") as pool:
        for start in range(0, len(units), policy.parallel):
            wave = units[start : start + policy.parallel]
            if policy.expired():  # first: a send the deadline cut says nothing about the receiver
                outcomes += [_too_late(item) for unit in wave for item in unit]
                continue
            if broken is not None:
                outcomes += [_skipped(item, broken) for unit in wave for item in unit]
                continue
            results = list(pool.map(lambda unit: _send_with_retries(channel, [i.alert for i in unit], policy), wave))
            for unit, result in zip(wave, results, strict=True):
                unit_outcomes = [_outcome(item, result, policy) for item in unit]
                outcomes += unit_outcomes
                if broken is None and not result.delivered and not result.permanent:
                    broken = unit_outcomes[0]
    return outcomes


def _story_units(items: list[Delivery]) -> list[list[Delivery]]:
    # One message per story on a channel, listing every watch it matched: an article naming four groups
    # must not wake anyone four times. Each alert keeps its own outcome, but the unit's outcomes are one
    # (the message was accepted or not), so the grouped alerts are recorded, and retried, together.
    units: dict[str, list[Delivery]] = {}
    for item in items:
        units.setdefault(story_of(item.alert), []).append(item)
    return list(units.values())


def _digest_units(channel: Channel, items: list[Delivery]) -> list[list[Delivery]]:
    # Each message of a split digest is its own unit with its own outcomes: an alert is recorded delivered
    # only when the message that shows it was accepted, and a failed message never resends the others.
    if not isinstance(channel, SplitsDigests):
        return [items]
    remaining = iter(items)
    return [[next(remaining) for _ in batch] for batch in channel.digest_batches([i.alert for i in items])]


def _skipped(item: Delivery, cause: DeliveryOutcome) -> DeliveryOutcome:
    # not attempted, so no attempt is counted; it backs off with the alert that found the channel down
    return DeliveryOutcome(
        alert_id=item.alert.id, channel=item.channel, state="pending", attempts=0,
        error=f"not attempted: channel {item.channel!r} failed earlier in this pass ({cause.error})",
        next_attempt_at=cause.next_attempt_at,
    )  # fmt: skip


def _too_late(item: Delivery) -> DeliveryOutcome:
    # due again at once: the next pass (or round) sends it; its claim is released when this is recorded
    return DeliveryOutcome(
        alert_id=item.alert.id, channel=item.channel, state="pending", attempts=0,
        error=f"not attempted: the delivery deadline passed before channel {item.channel!r} could send it",
    )  # fmt: skip


def _outcome(item: Delivery, result: _Result, policy: _Policy) -> DeliveryOutcome:
    alert_id, channel, attempts = item.alert.id, item.channel, result.attempts
    if result.delivered:
        return DeliveryOutcome(
            alert_id=alert_id,
            channel=channel,
            state="delivered",
            attempts=attempts,
            delivered_at=policy.clock(),
        )
    if result.permanent:
        return DeliveryOutcome(
            alert_id=alert_id, channel=channel, state="failed", attempts=attempts, error=result.error
        )
    later = policy.next_attempt(item.prior_attempts + attempts, result.retry_after_s)
    return DeliveryOutcome(
        alert_id=alert_id, channel=channel, state="pending", attempts=attempts, error=result.error,
        next_attempt_at=later,
    )  # fmt: skip


def _send_with_retries(channel: Channel, alerts: list[Alert], policy: _Policy) -> _Result:
    error: TransientDeliveryError | None = None
    for attempt in range(1, policy.max_attempts + 1):
        try:
            _send_before_deadline(channel, alerts, policy)
            return _Result(delivered=True, attempts=attempt)
        except PermanentDeliveryError as exc:
            log.warning("delivery failed for good: %s", exc)
            return _Result(delivered=False, attempts=attempt, error=str(exc), permanent=True)
        except TransientDeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug in one channel must not stop the pass; the type only, no secrets
            error = TransientDeliveryError(f"{channel.name!r}: unexpected {type(exc).__name__}")
        log.info("delivery attempt %d failed: %s", attempt, error)
        if attempt == policy.max_attempts:
            break
        delay = policy.backoff.delay(attempt, error.retry_after_s)
        if delay > policy.max_wait_s:
            break  # the receiver asked for a long pause: a later pass honours it via next_attempt_at
        left = policy.left()
        if left is not None and delay >= left:
            break  # the retry could not start before the deadline: a later pass makes it
        policy.sleep(delay)
    assert error is not None
    log.warning("delivery still pending after %d attempt(s): %s", attempt, error)
    return _Result(delivered=False, attempts=attempt, error=str(error), retry_after_s=error.retry_after_s)


def _send_before_deadline(channel: Channel, alerts: list[Alert], policy: _Policy) -> None:
    """One send under the deadline: the channels' sockets obey ``netsafe.deadline`` (a context variable, so
    it is set here, in the thread that sends)."""
    left = policy.left()
    if left is None:
        channel.send(alerts)
        return
    if left <= 0:
        raise TransientDeliveryError(f"{channel.name!r}: the delivery deadline passed before the send")
    with deadline_in(left):
        channel.send(alerts)
