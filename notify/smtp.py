"""Email over SMTP: STARTTLS, implicit TLS (SSL) or plain (loopback tests), optional login.

The message is multipart/alternative: a plain-text part and an HTML part in which all article content is
escaped. SMTP replies are classified by their code: 4xx transient, 5xx permanent; a dropped connection or a
timeout is transient; a failed login is permanent (retrying a wrong password only locks the account).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from notify.errors import ChannelConfigError, PermanentDeliveryError, TransientDeliveryError
from notify.guard import AddressRules, resolve_checked
from notify.model import Alert
from notify.render import html_body, subject, text_body
from notify.secret import Secret

Security = Literal["starttls", "ssl", "none"]


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

    def __post_init__(self) -> None:
        if not self.recipients:
            raise ChannelConfigError(f"channel {self.name!r}: email needs at least one recipient")
        if self.security not in ("starttls", "ssl", "none"):
            raise ChannelConfigError(f"channel {self.name!r}: security must be starttls, ssl or none")
        if self.username and self.password is None:
            raise ChannelConfigError(f"channel {self.name!r}: username given without a password")

    def build_message(self, alerts: Sequence[Alert]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject(alerts)
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="wirewatch")
        message["X-Wirewatch-Alert-Ids"] = ",".join(a.id for a in alerts)[:900]
        message.set_content(text_body(alerts))
        message.add_alternative(html_body(alerts), subtype="html")
        return message

    def send(self, alerts: Sequence[Alert]) -> None:
        label = f"email {self.name!r} ({self.host}:{self.port})"
        try:
            # checked before connecting; smtplib dials by name (needed for TLS certificate checks)
            resolve_checked(self.host, self.port, self.rules)
            with self._connect() as smtp:
                if self.username and self.password is not None:
                    smtp.login(self.username, self.password.reveal())
                smtp.send_message(self.build_message(alerts))
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentDeliveryError(f"{label}: login refused (code {exc.smtp_code})") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _msg in exc.recipients.values()})
            raise _by_code(codes[-1] if codes else 550, f"{label}: recipients refused {codes}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, f"{label}: server answered {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            # SMTPServerDisconnected, refused connections, timeouts, TLS failures
            raise TransientDeliveryError(f"{label}: {type(exc).__name__}") from exc

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        if self.security == "starttls":
            try:
                smtp.starttls(context=context)
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
