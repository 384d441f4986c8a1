"""Network safety shared by the stages (docs/design.md, Layout): the one piece of code ``ingest`` and ``notify`` share.

Imports nothing of ours. Modules, one task each:

- ``addresses`` which IP addresses may be dialled: ``classify(ip, allow_loopback=, allow_private=)`` -> ``Verdict``,
  ``AddressRules``; IPv4 addresses hidden inside IPv6 ones (mapped, compatible, 6to4, Teredo, NAT64) are judged too
- ``dns``       ``resolve`` / ``resolve_checked``: getaddrinfo with a timeout (it has none of its own)
- ``deadline``  one deadline for a whole operation (``deadline_in``), seen by every socket step below it
- ``backend``   an httpcore network backend that resolves with the timeout, dials only checked addresses and
  bounds every connect, TLS handshake, read and write by the current deadline
- ``retry``     ``Backoff``: the one backoff formula (first wait, doubled, capped, Retry-After honoured) and
  ``parse_retry_after``
- ``errors``    the exception tree
"""

from netsafe.addresses import AddressRules, Verdict, classify
from netsafe.backend import GuardedBackend, guarded_pool
from netsafe.deadline import deadline_in, remaining
from netsafe.dns import resolve, resolve_checked
from netsafe.errors import AddressRefused, DeadlineExceeded, NetsafeError, ResolveError, ResolveTimeout
from netsafe.retry import Backoff, parse_retry_after

__all__ = [
    "AddressRefused",
    "AddressRules",
    "Backoff",
    "DeadlineExceeded",
    "GuardedBackend",
    "NetsafeError",
    "ResolveError",
    "ResolveTimeout",
    "Verdict",
    "classify",
    "deadline_in",
    "guarded_pool",
    "parse_retry_after",
    "remaining",
    "resolve",
    "resolve_checked",
]
