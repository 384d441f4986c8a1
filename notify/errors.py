"""The notify stage's exceptions, one tree (like httpx's _exceptions).

    NotifyError
    ├── ChannelConfigError        a channel definition cannot be used (missing field, unknown type, no secret)
    └── DeliveryError             one send failed
        ├── TransientDeliveryError    worth retrying: timeout, connection refused, 429, 5xx, SMTP 4xx
        └── PermanentDeliveryError    retrying cannot help: 4xx, SMTP 5xx, refused address
            └── BlockedAddressError   the channel's host resolves to an address the guard refuses

Messages never carry secrets (webhook keys, SMTP passwords, Slack webhook paths): they name the channel
and say what happened.
"""

from __future__ import annotations


class NotifyError(Exception):
    """Base of every error raised by ``notify``."""


class ChannelConfigError(NotifyError):
    """A channel definition is invalid; the message says which channel and which field."""


class DeliveryError(NotifyError):
    """Sending one message on one channel failed."""


class TransientDeliveryError(DeliveryError):
    """A failure that may pass: retry later, no sooner than ``retry_after_s`` when the receiver said so."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentDeliveryError(DeliveryError):
    """A failure retrying cannot fix (the receiver rejected the message, or the address is forbidden)."""


class BlockedAddressError(PermanentDeliveryError):
    """The channel's host resolves to a loopback/private/reserved address and the guard does not allow it."""
