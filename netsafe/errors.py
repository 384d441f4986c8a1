"""netsafe's exceptions, one small tree. The stages wrap them into their own trees at their boundary.

    NetsafeError
    ├── AddressRefused     a host resolves to an address the rules refuse (permanent)
    ├── ResolveError       the name could not be resolved (no such host, invalid name)
    │   └── ResolveTimeout     the resolver did not answer in time
    └── DeadlineExceeded   the deadline of the whole operation passed (see ``netsafe.deadline``)
"""

from __future__ import annotations


class NetsafeError(Exception):
    """Base of every error raised by netsafe."""


class AddressRefused(NetsafeError):
    """``host`` resolves to ``ip``, which the address rules refuse; the message says which range and why."""

    def __init__(self, message: str, *, host: str, ip: str) -> None:
        super().__init__(message)
        self.host = host
        self.ip = ip


class ResolveError(NetsafeError):
    """DNS gave no address for the host."""


class ResolveTimeout(ResolveError):
    """DNS did not answer within the timeout (the lookup thread is abandoned, not waited for)."""


class DeadlineExceeded(NetsafeError):
    """The deadline set with ``netsafe.deadline_in`` passed before the operation finished."""
