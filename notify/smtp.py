"""Email over SMTP: STARTTLS, implicit TLS (SSL) or plain (loopback tests), optional login.

The message is multipart/alternative: a plain-text part and an HTML part in which all article content is
escaped. SMTP replies are classified by their code: 4xx transient, 5xx permanent; a dropped connection or a
timeout is transient; a failed login is permanent (retrying a wrong password only locks the account).

The host name is resolved once, every address is checked by the guard, and smtplib dials exactly those
addresses (never the name, which a second DNS answer could point elsewhere); TLS still verifies the
certificate against the host name. Once the server accepts the message (DATA), it is delivered: QUIT is a
courtesy whose answer cannot turn a sent email into a failure and a resend.

``timeout_s`` bounds the whole send, not only each read: smtplib reads replies line by line, each under the
socket timeout, so a server answering one byte at a time could hold a send for hours. A watchdog shuts the
socket at the deadline (``timeout_s``, or sooner when the caller's ``netsafe.deadline`` ends first).
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from netsafe import remaining
from notify.digest import Digest, DigestSchedule, digest_html, digest_subject, digest_text
from notify.errors import BlockedAddressError, ChannelConfigError, PermanentDeliveryError, TransientDeliveryError
from notify.guard import AddressRules
from notify.model import Alert
from notify.render import html_body, subject, text_body
from notify.secret import Secret

Security = Literal["starttls", "ssl", "none"]
Resolver = Callable[[str, int], Sequence[str]]  # (host, port) -> the addresses to dial, in order


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (an IP literal is its own answer)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(kw_only=True)
class EmailChannel:
    name: str
    host: str
    port: int = 587
    sender: str
    recipients: tuple[str, ...]
    security: Security = "starttls"
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    digest: bool = False
    timeout_s: float = 15.0
    rules: AddressRules = field(default_factory=AddressRules)
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    resolver: Resolver = field(default=system_resolver, repr=False)
    digest_schedule: DigestSchedule | None = None  # a scheduled digest: notify.digest

    def __post_init__(self) -> None:
        if not self.recipients:
            raise ChannelConfigError(f"channel {self.name!r}: email needs at least one recipient")
        if self.security not in ("starttls", "ssl", "none"):
            raise ChannelConfigError(f"channel {self.name!r}: security must be starttls, ssl or none")
        if self.username and self.password is None:
            raise ChannelConfigError(f"channel {self.name!r}: username given without a password")

    def build_message(self, alerts: Sequence[Alert]) -> EmailMessage:
        message = self._envelope(subject(alerts))
        message["X-Wirewatch-Alert-Ids"] = ",".join(a.id for a in alerts)[:900]
        message.set_content(text_body(alerts))
        message.add_alternative(html_body(alerts), subtype="html")
        return message

    def build_digest_message(self, digest: Digest) -> EmailMessage:
        message = self._envelope(digest_subject(digest))
        message["X-Wirewatch-Alert-Ids"] = ",".join(digest.alert_ids)[:900]
        message.set_content(digest_text(digest))
        message.add_alternative(digest_html(digest), subtype="html")
        return message

    def _envelope(self, subject_line: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject_line
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="wirewatch")
        return message

    def send(self, alerts: Sequence[Alert]) -> None:
        self._send(self.build_message(alerts))

    def send_digest(self, digest: Digest) -> Digest:
        """One email (plain text and escaped HTML) listing the whole digest."""
        self._send(self.build_digest_message(digest))
        return digest

    def _send(self, message: EmailMessage) -> None:
        label = f"email {self.name!r} ({self.host}:{self.port})"
        left = remaining()
        budget = self.timeout_s if left is None else min(self.timeout_s, left)
        if budget <= 0:
            raise TransientDeliveryError(f"{label}: the deadline passed before the send")
        watchdog = _Watchdog(budget)
        try:
            smtp = self._connect(self._checked_addresses(), watchdog)
            try:
                if self.username and self.password is not None:
                    smtp.login(self.username, self.password.reveal())
                smtp.send_message(message)
            finally:
                _quit_quietly(smtp)
        except (smtplib.SMTPException, OSError) as exc:
            if watchdog.fired:
                raise TransientDeliveryError(f"{label}: no complete answer within {budget:g} s") from exc
            raise _classified(exc, label) from exc
        finally:
            watchdog.cancel()

    def _checked_addresses(self) -> list[str]:
        """The host's addresses, refused when ANY of them is not allowed (no public/private mix)."""
        addresses = list(self.resolver(self.host, self.port))
        if not addresses:
            raise TransientDeliveryError(f"email {self.name!r}: {self.host} has no address")
        for address in addresses:
            reason = self.rules.refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if reason:
                raise BlockedAddressError(f"refused: {self.host} resolves to a {reason} address ({address})")
        return addresses

    def _connect(self, addresses: list[str], watchdog: _Watchdog) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        timeout = min(self.timeout_s, watchdog.budget)
        if self.security == "ssl":
            return _PinnedSMTPSSL(
                self.host, self.port, addresses=addresses, timeout=timeout, context=context, watchdog=watchdog
            )
        smtp = _PinnedSMTP(self.host, self.port, addresses=addresses, timeout=timeout, watchdog=watchdog)
        if self.security == "starttls":
            try:
                smtp.starttls(context=context)  # verifies the certificate against self.host, not the address
            except BaseException:
                smtp.close()
                raise
        return smtp

    def close(self) -> None:
        """Nothing to release: each send opens and closes its own connection."""


def _classified(exc: smtplib.SMTPException | OSError, label: str) -> TransientDeliveryError | PermanentDeliveryError:
    """notify's error for what smtplib raised: 4xx transient, 5xx permanent, a failed login permanent."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentDeliveryError(f"{label}: login refused (code {exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _msg in exc.recipients.values()})
        return _by_code(codes[-1] if codes else 550, f"{label}: recipients refused {codes}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, f"{label}: server answered {exc.smtp_code}")
    # SMTPServerDisconnected, DNS failures, refused connections, timeouts, TLS failures
    return TransientDeliveryError(f"{label}: {type(exc).__name__}")


class _Watchdog:
    """Shuts the connection's socket once ``budget`` seconds have passed: every read and write then fails
    at once, whatever smtplib was waiting for."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.fired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(budget, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                _shut(self._sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _by_code(code: int, message: str) -> TransientDeliveryError | PermanentDeliveryError:
    if 400 <= code < 500:
        return TransientDeliveryError(message)
    return PermanentDeliveryError(message)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    # Not ``with smtp``: its __exit__ raises when QUIT is answered with anything but 221, after the message
    # was accepted, and the email would then be retried (sent again) or marked failed though delivered.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


class _PinnedSMTP(smtplib.SMTP):
    """smtplib.SMTP that dials the given (checked) addresses; the host name is kept for STARTTLS and EHLO."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float, watchdog: _Watchdog) -> None:
        self._addresses = addresses
        self._watchdog = watchdog
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # smtplib's hook for subclasses: connect() calls it with the host name, which is not resolved again
        last_error: OSError | None = None
        for address in self._addresses:
            try:
                sock = socket.create_connection((address, port), timeout, self.source_address)
            except OSError as exc:
                last_error = exc
                continue
            self._watchdog.watch(sock)  # before the greeting: a server may trickle even that
            return sock
        assert last_error is not None  # _checked_addresses never returns an empty list
        raise last_error


class _PinnedSMTPSSL(smtplib.SMTP_SSL, _PinnedSMTP):
    """Implicit TLS over a pinned address: SMTP_SSL wraps _PinnedSMTP's socket, checking the host name."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: list[str],
        timeout: float,
        context: ssl.SSLContext,
        watchdog: _Watchdog,
    ) -> None:
        self._addresses = addresses
        self._watchdog = watchdog
        smtplib.SMTP_SSL.__init__(self, host, port, timeout=timeout, context=context)
