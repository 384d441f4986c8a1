"""Parallel sends per channel: a burst of alerts does not queue behind one POST at a time."""

from __future__ import annotations

from notify import Delivery, WebhookChannel, deliver
from tests.support.alerting import Receiver
from tests.test_notify_delivery import LOOPBACK, make_alert


def test_parallel_sends_deliver_each_alert_once(receiver: Receiver) -> None:
    hook = WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK)
    pending = [Delivery(alert=make_alert(n), channel="hook") for n in range(1, 12)]
    outcomes = deliver(pending, {"hook": hook}, backoff_s=0.01, parallel=4)
    hook.close()
    assert [o.state for o in outcomes] == ["delivered"] * 11
    assert [o.alert_id for o in outcomes] == [f"alert-{n}" for n in range(1, 12)]  # order of the input
    assert sorted(r.headers["Idempotency-Key"] for r in receiver.requests) == sorted(o.alert_id for o in outcomes)


def test_a_channel_down_stops_the_waves_after_it() -> None:
    receiver = Receiver()
    url = receiver.url
    receiver.stop()  # nothing listens: every send is refused
    hook = WebhookChannel(name="hook", url=url, rules=LOOPBACK)
    pending = [Delivery(alert=make_alert(n), channel="hook") for n in range(1, 10)]
    outcomes = deliver(pending, {"hook": hook}, max_attempts=2, backoff_s=0.001, parallel=3)
    hook.close()
    assert all(o.state == "pending" for o in outcomes)
    attempted = [o for o in outcomes if o.attempts]
    assert len(attempted) == 3  # the first wave tried, the other six waited without a send
    assert all("not attempted" in (o.error or "") for o in outcomes if not o.attempts)
