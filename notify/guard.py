"""The address guard for channel URLs and SMTP hosts: netsafe's rules (the same ones ingestion applies to
article links), with netsafe's errors turned into notify's.

For HTTP channels the check runs inside the connection layer (netsafe's network backend), so the address that
is dialled is the one that was checked, for every request and redirect alike, and a DNS answer cannot change
in between. DNS lookups have a timeout (getaddrinfo has none of its own)."""

from __future__ import annotations

import httpx

from netsafe import AddressRefused, AddressRules, ResolveError, guarded_pool
from netsafe import resolve_checked as _resolve_checked
from notify.errors import BlockedAddressError, TransientDeliveryError

__all__ = ["AddressRules", "guarded_client", "resolve_checked"]

DNS_TIMEOUT_S = 10.0


def resolve_checked(host: str, port: int, rules: AddressRules, *, timeout_s: float = DNS_TIMEOUT_S) -> list[str]:
    """The addresses of ``host``; BlockedAddressError when ANY of them is refused (no public/private mix),
    TransientDeliveryError when DNS gives none in ``timeout_s`` seconds."""
    try:
        return _resolve_checked(host, port, rules, timeout_s=timeout_s)
    except AddressRefused as exc:
        raise BlockedAddressError(str(exc)) from exc
    except ResolveError as exc:
        raise TransientDeliveryError(str(exc)) from exc


def guarded_client(*, rules: AddressRules, timeout_s: float) -> httpx.Client:
    """An httpx client that never follows redirects and dials only allowed addresses.

    A refused address comes out of its requests as ``netsafe.AddressRefused`` (see ``blocked``).
    ``trust_env=False``: an environment proxy would dial on our behalf, unguarded.
    """
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx does not expose httpcore's network_backend, so the pool is rebuilt around the guarded backend.
    transport._pool = guarded_pool(rules=rules, max_connections=4)
    return httpx.Client(transport=transport, timeout=timeout_s, follow_redirects=False, trust_env=False)


def blocked(exc: AddressRefused) -> BlockedAddressError:
    """notify's error for an address the guard refused during a request."""
    return BlockedAddressError(str(exc))
