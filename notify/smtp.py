"""Email over SMTP: STARTTLS, implicit TLS (SSL) or plain (loopback tests), optional login.

The message is multipart/alternative: a plain-text part and an HTML part in which all article content is
escaped. SMTP replies are classified by their code: 4xx transient, 5xx permanent; a dropped connection or a
timeout is transient; a failed login is permanent (retrying a wrong password only locks the account).

The host name is resolved once, every address is checked by the guard, and smtplib dials exactly those
addresses (never the name, which a second DNS answer could point elsewhere); TLS still verifies the
certificate against the host name. Once the server accepts the message (DATA), it is delivered: QUIT is a
courtesy whose answer cannot turn a sent email into a failure and a resend.
"""

from __future__ import annotations

import ipaddress
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

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
        try:
            smtp = self._connect(self._checked_addresses())
            try:
                if self.username and self.password is not None:
                    smtp.login(self.username, self.password.reveal())
                smtp.send_message(message)
            finally:
                _quit_quietly(smtp)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentDeliveryError(f"{label}: login refused (code {exc.smtp_code})") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _msg in exc.recipients.values()})
            raise _by_code(codes[-1] if codes else 550, f"{label}: recipients refused {codes}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, f"{label}: server answered {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            # SMTPServerDisconnected, DNS failures, refused connections, timeouts, TLS failures
            raise TransientDeliveryError(f"{label}: {type(exc).__name__}") from exc

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

    def _connect(self, addresses: list[str]) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            return _PinnedSMTPSSL(self.host, self.port, addresses=addresses, timeout=self.timeout_s, context=context)
        smtp = _PinnedSMTP(self.host, self.port, addresses=addresses, timeout=self.timeout_s)
        if self.security == "starttls":
            try:
                smtp.starttls(context=context)  # verifies the certificate against self.host, not the address
            except BaseException:
                smtp.close()
                raise
        return smtp

    def close(self) -> None:
        """Nothing to release: each send opens and closes its own connection."""


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

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        self._addresses = addresses
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # smtplib's hook for subclasses: connect() calls it with the host name, which is not resolved again
        last_error: OSError | None = None
        for address in self._addresses:
            try:
                return socket.create_connection((address, port), timeout, self.source_address)
            except OSError as exc:
                last_error = exc
        assert last_error is not None  # _checked_addresses never returns an empty list
        raise last_error


class _PinnedSMTPSSL(smtplib.SMTP_SSL, _PinnedSMTP):
    """Implicit TLS over a pinned address: SMTP_SSL wraps _PinnedSMTP's socket, checking the host name."""

    def __init__(
        self, host: str, port: int, *, addresses: list[str], timeout: float, context: ssl.SSLContext
    ) -> None:
        self._addresses = addresses
        smtplib.SMTP_SSL.__init__(self, host, port, timeout=timeout, context=context)
