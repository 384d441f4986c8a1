"""Email over STARTTLS and implicit TLS with login, against aiosmtpd with a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notify import AddressRules, Delivery, EmailChannel, Secret, deliver
from tests.support.alerting import free_port
from tests.test_notify_delivery import make_alert


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is also its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"ww", b"right-password")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, cert))
    return context


def client_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))  # verifies the chain and the 127.0.0.1 SAN


@pytest.fixture()
def starttls_server(cert: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=server_context(cert), require_starttls=True,
        authenticator=authenticator, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    yield inbox, port
    controller.stop()


def channel(port: int, cert: tuple[Path, Path], *, security: str, password: str) -> EmailChannel:
    return EmailChannel(
        name="mail", host="127.0.0.1", port=port, sender="ww@example.org", recipients=("desk@example.org",),
        security=security, username="ww", password=Secret(password),  # type: ignore[arg-type]
        rules=AddressRules(allow_loopback=True), ssl_context=client_context(cert),
    )  # fmt: skip


def test_starttls_with_login_delivers(starttls_server: tuple[Inbox, int], cert: tuple[Path, Path]) -> None:
    inbox, port = starttls_server
    mail = channel(port, cert, security="starttls", password="right-password")
    [outcome] = deliver([Delivery(alert=make_alert(), channel="mail")], {"mail": mail})
    assert outcome.state == "delivered", outcome.error
    assert len(inbox.messages) == 1


def test_a_wrong_password_fails_for_good_and_never_shows_the_password(
    starttls_server: tuple[Inbox, int], cert: tuple[Path, Path]
) -> None:
    inbox, port = starttls_server
    mail = channel(port, cert, security="starttls", password="wrong-password")
    [outcome] = deliver([Delivery(alert=make_alert(), channel="mail")], {"mail": mail}, backoff_s=0.01)
    assert (outcome.state, outcome.attempts) == ("failed", 1)
    assert "login refused" in (outcome.error or "") and "wrong-password" not in (outcome.error or "")
    assert inbox.messages == []


def test_implicit_tls_delivers(cert: tuple[Path, Path]) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=server_context(cert),
        authenticator=authenticator, auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        mail = channel(port, cert, security="ssl", password="right-password")
        [outcome] = deliver([Delivery(alert=make_alert(), channel="mail")], {"mail": mail})
    finally:
        controller.stop()
    assert outcome.state == "delivered", outcome.error
    assert len(inbox.messages) == 1
