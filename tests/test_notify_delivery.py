"""Delivery against real servers on loopback: a threaded HTTP receiver and aiosmtpd."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notify import (
    AddressRules,
    Alert,
    Delivery,
    EmailChannel,
    JsonlFileChannel,
    Secret,
    SlackChannel,
    WebhookChannel,
    deliver,
)
from tests.support.alerting import Receiver, SmtpSink

LOOPBACK = AddressRules(allow_loopback=True)


def make_alert(n: int = 1, title: str = "Attack claimed by <b>Islamic State</b> & allies") -> Alert:
    return Alert(
        id=f"alert-{n}",
        watch_id="group-islamic-state",
        watch_name="Islamic State",
        article_id=f"article-{n}",
        title=title,
        url=f"https://news.example.org/{n}",
        source="demo",
        published_at="2024-05-01T10:00:00+00:00",
        group_id="islamic-state",
        group_name="Islamic State",
        surface_forms=("ISIS",),
        passage="…fighters of «ISIS» <script>alert(1)</script> said…",
    )


class Sleeps(list[float]):
    """Records the waits deliver asks for instead of sleeping through them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def test_webhook_signature_verifies_and_idempotency_key_is_alert_id(receiver: Receiver) -> None:
    hook = WebhookChannel(name="hook", url=receiver.url, secret=Secret("s3cret"), rules=LOOPBACK)
    outcomes = deliver([Delivery(alert=make_alert(), channel="hook")], {"hook": hook}, backoff_s=0.01)
    assert [o.state for o in outcomes] == ["delivered"]
    [request] = receiver.requests
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Wirewatch-Signature"] == f"sha256={expected}"
    assert request.headers["Idempotency-Key"] == "alert-1"
    payload = json.loads(request.body)
    assert payload["type"] == "alert" and payload["alert"]["surface_forms"] == ["ISIS"]
    wrong = hmac.new(b"other", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Wirewatch-Signature"] != f"sha256={wrong}"


def test_500_twice_then_200_is_delivered_once_after_three_attempts() -> None:
    receiver = Receiver(statuses=[500, 500])
    try:
        hook = WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK)
        sleeps = Sleeps()
        [outcome] = deliver(
            [Delivery(alert=make_alert(), channel="hook")], {"hook": hook}, backoff_s=0.01, sleep=sleeps
        )
    finally:
        receiver.stop()
    assert (outcome.state, outcome.attempts) == ("delivered", 3)
    assert len(receiver.requests) == 3
    assert sleeps == [0.01, 0.02]  # exponential backoff
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {"alert-1"}


def test_receiver_down_for_the_pass_stays_pending_and_is_delivered_next_call() -> None:
    receiver = Receiver()
    receiver.stop()
    hook = WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK, timeout_s=2)
    items = [Delivery(alert=make_alert(n), channel="hook") for n in (1, 2)]
    first = deliver(items, {"hook": hook}, max_attempts=3, backoff_s=0.01, sleep=Sleeps())
    assert [o.state for o in first] == ["pending", "pending"]
    assert first[0].attempts == 3 and "connection failed" in (first[0].error or "")
    # the channel is known to be down: the second alert is not hammered in the same pass
    assert first[1].attempts == 0 and "failed earlier in this pass" in (first[1].error or "")
    assert first[0].next_attempt_at is not None
    receiver.start()
    try:
        second = deliver(items, {"hook": hook}, backoff_s=0.01)
    finally:
        receiver.stop()
    assert [(o.state, o.attempts) for o in second] == [("delivered", 1), ("delivered", 1)]
    assert len(receiver.requests) == 2


def test_slack_429_is_retried_after_retry_after_and_escapes_mrkdwn() -> None:
    receiver = Receiver(statuses=[429], retry_after="1")
    try:
        slack = SlackChannel(name="slack", url=Secret(receiver.url), rules=LOOPBACK)
        sleeps = Sleeps()
        [outcome] = deliver(
            [Delivery(alert=make_alert(), channel="slack")], {"slack": slack}, backoff_s=0.01, sleep=sleeps
        )
    finally:
        receiver.stop()
    assert (outcome.state, outcome.attempts) == ("delivered", 2)
    assert sleeps == [1.0]  # Retry-After wins over the 0.01 s backoff
    text = json.loads(receiver.requests[-1].body)["text"]
    assert "&lt;b&gt;Islamic State&lt;/b&gt; &amp; allies" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "*ISIS*" in text


def test_a_long_retry_after_is_deferred_to_a_later_pass_not_slept() -> None:
    receiver = Receiver(statuses=[429], retry_after="600")
    try:
        slack = SlackChannel(name="slack", url=Secret(receiver.url), rules=LOOPBACK)
        sleeps = Sleeps()
        before = datetime.now(UTC)
        [outcome] = deliver(
            [Delivery(alert=make_alert(), channel="slack")], {"slack": slack}, backoff_s=0.01, sleep=sleeps
        )
    finally:
        receiver.stop()
    assert outcome.state == "pending" and outcome.attempts == 1 and sleeps == []
    assert outcome.next_attempt_at is not None and outcome.next_attempt_at >= before + timedelta(seconds=600)


def test_a_4xx_fails_for_good_without_retrying() -> None:
    receiver = Receiver(statuses=[404])
    try:
        hook = WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK)
        [outcome] = deliver([Delivery(alert=make_alert(), channel="hook")], {"hook": hook}, backoff_s=0.01)
    finally:
        receiver.stop()
    assert (outcome.state, outcome.attempts) == ("failed", 1)
    assert "HTTP 404" in (outcome.error or "")


def test_loopback_is_refused_unless_allowed(receiver: Receiver) -> None:
    hook = WebhookChannel(name="hook", url=receiver.url)  # default rules: no loopback
    [outcome] = deliver([Delivery(alert=make_alert(), channel="hook")], {"hook": hook}, backoff_s=0.01)
    assert outcome.state == "failed" and "loopback" in (outcome.error or "")
    assert receiver.requests == []


def test_slack_errors_never_show_the_webhook_url() -> None:
    receiver = Receiver(statuses=[403])
    try:
        url = receiver.url + "/T000/B000/XXXXSECRETTOKEN"
        slack = SlackChannel(name="slack", url=Secret(url), rules=LOOPBACK)
        [outcome] = deliver([Delivery(alert=make_alert(), channel="slack")], {"slack": slack})
    finally:
        receiver.stop()
    assert outcome.state == "failed"
    assert "SECRETTOKEN" not in (outcome.error or "") and "SECRETTOKEN" not in repr(slack)


def email_channel(sink: SmtpSink, **kw: object) -> EmailChannel:
    return EmailChannel(
        name="mail", host="127.0.0.1", port=sink.port, sender="ww@example.org",
        recipients=("desk@example.org",), security="none", rules=LOOPBACK, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_email_has_a_text_part_and_an_escaped_html_part() -> None:
    sink = SmtpSink()
    try:
        [outcome] = deliver([Delivery(alert=make_alert(), channel="mail")], {"mail": email_channel(sink)})
    finally:
        sink.stop()
    assert outcome.state == "delivered"
    [message] = sink.messages
    assert str(message["Subject"]).strip().startswith("[Wirewatch] Islamic State:")
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in message.walk()
        if not p.is_multipart()
    }
    assert "Passage: …fighters of ISIS <script>" in parts["text/plain"]
    html = parts["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>ISIS</mark>" in html and "&lt;b&gt;Islamic State&lt;/b&gt; &amp; allies" in html


def test_smtp_refusing_with_4xx_stays_pending_while_the_webhook_is_delivered(receiver: Receiver) -> None:
    sink = SmtpSink(refuse_with="451 4.3.0 try again later")
    try:
        channels = {
            "mail": email_channel(sink),
            "hook": WebhookChannel(name="hook", url=receiver.url, rules=LOOPBACK),
        }
        items = [Delivery(alert=make_alert(), channel=c) for c in ("hook", "mail")]
        outcomes = {o.channel: o for o in deliver(items, channels, max_attempts=2, backoff_s=0.01)}
    finally:
        sink.stop()
    assert outcomes["hook"].state == "delivered"
    assert outcomes["mail"].state == "pending" and outcomes["mail"].attempts == 2
    assert "451" in (outcomes["mail"].error or "")


def test_smtp_550_fails_for_good() -> None:
    sink = SmtpSink(refuse_with="550 5.7.1 rejected")
    try:
        [outcome] = deliver([Delivery(alert=make_alert(), channel="mail")], {"mail": email_channel(sink)})
    finally:
        sink.stop()
    assert (outcome.state, outcome.attempts) == ("failed", 1)


def test_smtp_password_never_shows_in_repr() -> None:
    sink = SmtpSink()
    try:
        channel = email_channel(sink, username="ww", password=Secret("hunter2"))
        assert "hunter2" not in repr(channel)
    finally:
        sink.stop()


def test_digest_sends_the_pass_alerts_in_one_message(receiver: Receiver, tmp_path: Path) -> None:
    hook = WebhookChannel(name="hook", url=receiver.url, digest=True, rules=LOOPBACK)
    items = [Delivery(alert=make_alert(n), channel="hook") for n in (1, 2, 3)]
    outcomes = deliver(items, {"hook": hook})
    assert [o.state for o in outcomes] == ["delivered"] * 3
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["type"] == "digest" and [a["id"] for a in body["alerts"]] == ["alert-1", "alert-2", "alert-3"]
    assert request.headers["Idempotency-Key"].startswith("digest-")


def test_jsonl_file_channel_appends_one_line_per_alert(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.jsonl"
    channel = JsonlFileChannel(name="file", path=path)
    deliver([Delivery(alert=make_alert(n), channel="file") for n in (1, 2)], {"file": channel})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["alert"]["id"] for line in lines] == ["alert-1", "alert-2"]


def test_an_unconfigured_channel_sets_the_alert_aside_not_due() -> None:
    [outcome] = deliver([Delivery(alert=make_alert(), channel="gone")], {})
    assert (outcome.state, outcome.attempts, outcome.next_attempt_at) == ("unconfigured", 0, None)
    assert outcome.error == "channel 'gone' is not configured"
