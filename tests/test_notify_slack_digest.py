"""A Slack digest shows every alert it records as delivered (issue 11, defect 3), against a real receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from notify import AddressRules, Alert, Delivery, Secret, SlackChannel, deliver
from notify.render import MAX_SLACK_TEXT
from tests.support.alerting import Receiver
from tests.test_notify_delivery import make_alert

LOOPBACK = AddressRules(allow_loopback=True)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def wordy_alert(n: int) -> Alert:
    base = make_alert(n, title=f"Story number {n} about a border attack")
    passage = "…officials said «ISIS» fighters " + "moved along the river road at night and " * 5 + f"(story {n})…"
    return replace(base, passage=passage)


def texts(receiver: Receiver) -> list[str]:
    return [json.loads(request.body)["text"] for request in receiver.requests]


def test_a_digest_too_long_for_one_message_is_split_and_every_alert_is_shown(receiver: Receiver) -> None:
    slack = SlackChannel(name="slack", url=Secret(receiver.url), digest=True, rules=LOOPBACK)
    alerts = [wordy_alert(n) for n in range(1, 41)]
    outcomes = deliver([Delivery(alert=a, channel="slack") for a in alerts], {"slack": slack})
    assert [o.state for o in outcomes] == ["delivered"] * 40
    sent = texts(receiver)
    assert len(sent) > 1 and all(len(text) <= MAX_SLACK_TEXT for text in sent)
    for alert in alerts:  # each alert delivered is shown in full, in exactly one message
        assert sum(f"|Story number {alert.id.split('-')[1]} about" in text for text in sent) == 1, alert.id
        assert sum(f"(story {alert.id.split('-')[1]})…" in text for text in sent) == 1, alert.id


def test_an_alert_is_recorded_as_its_own_message_went(receiver: Receiver) -> None:
    receiver.statuses = [200, 404]  # the second message is rejected for good, the others accepted
    slack = SlackChannel(name="slack", url=Secret(receiver.url), digest=True, rules=LOOPBACK)
    alerts = [wordy_alert(n) for n in range(1, 41)]
    outcomes = deliver([Delivery(alert=a, channel="slack") for a in alerts], {"slack": slack})
    sent = texts(receiver)
    rejected = sent[1]
    for alert, outcome in zip(alerts, outcomes, strict=True):
        shown_in_rejected = f"(story {alert.id.split('-')[1]})…" in rejected
        assert outcome.state == ("failed" if shown_in_rejected else "delivered"), alert.id
    assert 0 < sum(o.state == "failed" for o in outcomes) < 40
