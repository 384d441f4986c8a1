"""A receiver that answers one byte at a time cannot hold a delivery: every send has a total deadline, channels
are delivered independently (a slow webhook does not hold the email), and a delivery deadline (the pass's, or
the claims') stops every send and leaves what was not sent pending and due at once. A real trickling HTTP
server and a real SMTP server (aiosmtpd), both on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler

import pytest

from notify import AddressRules, Delivery, EmailChannel, WebhookChannel, deliver
from tests.support.alerting import SmtpSink
from tests.support.loopback import LoopbackServer
from tests.test_notify_delivery import email_channel, make_alert

LOOPBACK = AddressRules(allow_loopback=True)
TRICKLE_S = 1.0  # one byte of the answer every second
ANSWER = b"x" * 40  # a whole answer would take 40 s


class TricklingReceiver(LoopbackServer):
    """Reads the POST, sends 200 and its headers at once, then the body one byte every TRICKLE_S."""

    protocol_version = "HTTP/1.1"

    def __init__(self) -> None:
        self.posts = 0
        self.first_post_at: float | None = None  # time.monotonic() of the first POST
        self._lock = threading.Lock()
        super().__init__(start=True)

    @property
    def url(self) -> str:  # type: ignore[override]  # one URL
        return f"http://127.0.0.1:{self.port}/hook"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        request.rfile.read(int(request.headers.get("Content-Length", "0")))
        with self._lock:
            self.posts += 1
            self.first_post_at = self.first_post_at or time.monotonic()
        request.send_response(200)
        request.send_header("Content-Length", str(len(ANSWER)))
        request.end_headers()
        request.wfile.flush()
        try:
            for byte in ANSWER:
                request.wfile.write(bytes([byte]))
                request.wfile.flush()
                time.sleep(TRICKLE_S)
        except OSError:  # the client gave up: what the test wants
            request.close_connection = True


class _Arrivals(list[Message]):
    """The sink's message list, noting when each message arrived (time.monotonic())."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[float] = []

    def append(self, item: Message) -> None:
        self.at.append(time.monotonic())
        super().append(item)


class TimedSink(SmtpSink):
    def __init__(self) -> None:
        super().__init__()
        self.messages = self.arrivals = _Arrivals()


@pytest.fixture()
def slow() -> Iterator[TricklingReceiver]:
    server = TricklingReceiver()
    yield server
    server.stop()


@pytest.fixture()
def sink() -> Iterator[TimedSink]:
    server = TimedSink()
    yield server
    server.stop()


def test_a_send_to_a_trickling_webhook_ends_at_its_deadline(slow: TricklingReceiver) -> None:
    hook = WebhookChannel(name="hook", url=slow.url, rules=LOOPBACK, timeout_s=3.0)
    began = time.monotonic()
    try:
        [outcome] = deliver([Delivery(alert=make_alert(), channel="hook")], {"hook": hook}, max_attempts=1)
    finally:
        hook.close()
    took = time.monotonic() - began
    # each byte comes well within the read timeout: only a deadline over the whole send stops it
    assert took < 10.0, f"the send took {took:.1f} s"
    assert outcome.state == "pending" and outcome.attempts == 1
    assert "deadline" in (outcome.error or ""), outcome.error


def test_a_slow_webhook_does_not_hold_the_email(slow: TricklingReceiver, sink: TimedSink) -> None:
    channels = {
        "hook": WebhookChannel(name="hook", url=slow.url, rules=LOOPBACK, timeout_s=8.0),
        "mail": email_channel(sink),
    }
    items = [Delivery(alert=make_alert(), channel="hook"), Delivery(alert=make_alert(), channel="mail")]
    began = time.monotonic()
    try:
        outcomes = {o.channel: o for o in deliver(items, channels, max_attempts=1)}
    finally:
        channels["hook"].close()
    assert outcomes["mail"].state == "delivered" and outcomes["hook"].state == "pending"
    assert len(sink.arrivals.at) == 1
    waited = sink.arrivals.at[0] - began
    assert waited < 4.0, f"the email left {waited:.1f} s after the start, behind the 8 s webhook"


def test_the_delivery_deadline_stops_sends_and_leaves_the_rest_due(slow: TricklingReceiver) -> None:
    hook = WebhookChannel(name="hook", url=slow.url, rules=LOOPBACK, timeout_s=60.0)
    items = [Delivery(alert=make_alert(n), channel="hook") for n in range(1, 4)]
    began = time.monotonic()
    try:
        outcomes = deliver(items, {"hook": hook}, max_attempts=3, parallel=1, deadline=time.monotonic() + 3.0)
    finally:
        hook.close()
    took = time.monotonic() - began
    assert took < 8.0, f"delivery ran {took:.1f} s past a 3 s deadline"
    assert slow.posts == 1  # the first send was cut at the deadline; nothing started after it
    first, *rest = outcomes
    assert first.state == "pending" and first.attempts == 1
    assert all(o.state == "pending" and o.attempts == 0 and o.next_attempt_at is None for o in rest)
    assert all("deadline" in (o.error or "") for o in outcomes)


def test_an_smtp_server_that_trickles_its_greeting_is_cut_at_the_deadline() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        stop = threading.Event()

        def trickle() -> None:
            conn, _ = listener.accept()
            with conn:
                for byte in b"220 slow.example ESMTP ready\r\n" * 4:
                    if stop.wait(TRICKLE_S):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return

        threading.Thread(target=trickle, daemon=True).start()
        mail = EmailChannel(
            name="mail", host="127.0.0.1", port=port, sender="ww@example.org", recipients=("desk@example.org",),
            security="none", timeout_s=3.0, rules=LOOPBACK,
        )  # fmt: skip
        began = time.monotonic()
        try:
            [outcome] = deliver([Delivery(alert=make_alert(), channel="mail")], {"mail": mail}, max_attempts=1)
        finally:
            stop.set()
    took = time.monotonic() - began
    assert took < 10.0, f"the email send took {took:.1f} s"
    assert outcome.state == "pending" and "within 3 s" in (outcome.error or ""), outcome.error


def test_a_send_to_a_trickling_taxii_collection_ends_at_its_deadline(slow: TricklingReceiver) -> None:
    """The taxii channel's timeout_s bounds the whole send too (the collection answers one byte a second)."""
    from notify.taxii_channel import TaxiiChannel

    def render(ids: object, tlp: object) -> list[dict[str, object]]:
        return [{"type": "identity", "spec_version": "2.1", "id": "identity--2e0a2f7c-6d5b-4c4e-9a57-7d0f0b1d7c11"}]

    taxii = TaxiiChannel(name="cti", url=slow.url + "/", render=render, rules=LOOPBACK, timeout_s=3.0)
    began = time.monotonic()
    try:
        [outcome] = deliver([Delivery(alert=make_alert(), channel="cti")], {"cti": taxii}, max_attempts=1)
    finally:
        taxii.close()
    took = time.monotonic() - began
    assert took < 10.0, f"the send took {took:.1f} s"
    assert outcome.state == "pending" and outcome.attempts == 1
    assert "deadline" in (outcome.error or ""), outcome.error
