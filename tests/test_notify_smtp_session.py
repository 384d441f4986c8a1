"""Email against real aiosmtpd servers on loopback (issue 11): an accepted email is delivered whatever QUIT
answers (defect 6), and the connection goes to the very address the guard checked (defect 10)."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notify import AddressRules, Delivery, EmailChannel, deliver
from tests.support.alerting import free_port
from tests.test_notify_delivery import make_alert

LOOPBACK = AddressRules(allow_loopback=True)


class Inbox:
    """Stores each message accepted at DATA; answers QUIT with ``quit_reply`` when set."""

    def __init__(self, quit_reply: str | None = None) -> None:
        self.quit_reply = quit_reply
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return self.quit_reply or "221 Bye"


def serve(inbox: Inbox, host: str = "127.0.0.1", **kw: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname=host, port=port, **kw)
    controller.start()
    return controller, port


def mail(host: str, port: int, **kw: Any) -> EmailChannel:
    kw.setdefault("security", "none")
    kw.setdefault("rules", LOOPBACK)
    recipients = ("desk@example.org",)
    return EmailChannel(name="mail", host=host, port=port, sender="ww@example.org", recipients=recipients, **kw)


def send_one(channel: EmailChannel) -> Any:
    [outcome] = deliver(
        [Delivery(alert=make_alert(), channel="mail")], {"mail": channel}, max_attempts=3, backoff_s=0.01
    )
    return outcome


# --- defect 6: QUIT ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("quit_reply", ["421 4.3.2 service shutting down", "554 5.3.0 closing with an error"])
def test_an_accepted_email_is_delivered_once_whatever_quit_answers(quit_reply: str) -> None:
    inbox = Inbox(quit_reply=quit_reply)
    controller, port = serve(inbox)
    try:
        outcome = send_one(mail("127.0.0.1", port))
    finally:
        controller.stop()
    assert (outcome.state, outcome.attempts, outcome.error) == ("delivered", 1, None)
    assert len(inbox.messages) == 1


# --- defect 10: dial the checked address ------------------------------------------------------------------
class Resolver:
    """A resolver with a fixed answer that records the names asked: no DNS, no patched network."""

    def __init__(self, answer: list[str]) -> None:
        self.answer = answer
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return list(self.answer)


def test_a_name_resolving_to_loopback_is_refused_without_any_connection() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        outcome = send_one(mail("localhost", port, rules=AddressRules()))
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):  # a loopback connect would already wait in the backlog
            listener.accept()
    assert outcome.state == "failed" and "loopback" in (outcome.error or "")


def test_localhost_with_loopback_allowed_reaches_the_server() -> None:
    inbox = Inbox()
    controller, port = serve(inbox)
    try:
        outcome = send_one(mail("localhost", port))
    finally:
        controller.stop()
    assert outcome.state == "delivered", outcome.error
    assert len(inbox.messages) == 1


def test_the_connection_goes_to_the_checked_address_not_to_a_new_lookup_of_the_name() -> None:
    # The server listens on 127.0.0.2 only; the system resolves "localhost" to 127.0.0.1 (and ::1). The
    # channel's resolver answers 127.0.0.2: the mail arrives only if smtplib dials that address and does
    # not resolve the name again itself.
    inbox = Inbox()
    controller, port = serve(inbox, host="127.0.0.2")
    resolver = Resolver(["127.0.0.2"])
    try:
        outcome = send_one(mail("localhost", port, resolver=resolver))
    finally:
        controller.stop()
    assert outcome.state == "delivered", outcome.error
    assert len(inbox.messages) == 1
    assert resolver.asked == [("localhost", port)]


def test_the_checked_answer_is_what_is_refused() -> None:
    # a name the system would resolve to loopback, answered with a link-local address: refused on that
    resolver = Resolver(["127.0.0.1", "169.254.169.254"])
    outcome = send_one(mail("localhost", free_port(), resolver=resolver))
    assert outcome.state == "failed" and "link-local" in (outcome.error or "")


# --- TLS still verifies the host name while dialling the address ------------------------------------------
@pytest.fixture(scope="module")
def named_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name mail.wirewatch.test only (no IP address in it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.wirewatch.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("mail.wirewatch.test")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("named-tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture()
def starttls_inbox(named_cert: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(*map(str, named_cert))
    inbox = Inbox()
    controller, port = serve(inbox, tls_context=server_context, require_starttls=True)
    yield inbox, port
    controller.stop()


@pytest.mark.parametrize(("host", "delivered"), [("mail.wirewatch.test", True), ("other.wirewatch.test", False)])
def test_starttls_verifies_the_host_name_while_dialling_the_checked_address(
    starttls_inbox: tuple[Inbox, int], named_cert: tuple[Path, Path], host: str, delivered: bool
) -> None:
    inbox, port = starttls_inbox
    client_context = ssl.create_default_context(cafile=str(named_cert[0]))
    channel = mail(host, port, security="starttls", ssl_context=client_context, resolver=Resolver(["127.0.0.1"]))
    outcome = send_one(channel)
    assert (outcome.state == "delivered") is delivered, outcome.error
    assert len(inbox.messages) == (1 if delivered else 0)
    if not delivered:
        assert "SSLCertVerificationError" in (outcome.error or "")
