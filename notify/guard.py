"""The address guard for channel URLs and SMTP hosts (the same rules ingestion applies to article links).

``notify`` imports nothing of ours, so this is its own small copy of the rule. For HTTP channels the check
runs inside the connection layer (an httpcore network backend), so the address that is dialled is the one
that was checked, for every request and redirect alike, and a DNS answer cannot change in between."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from notify.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, kw_only=True)
class AddressRules:
    """Which resolved addresses a channel may reach. Public unicast is always allowed."""

    allow_loopback: bool = False
    allow_private: bool = False

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused, or None when it may be reached."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            return self.refusal(ip.ipv4_mapped)
        if ip.is_loopback:
            return None if self.allow_loopback else "loopback"
        if ip.is_multicast:
            return "multicast"
        if ip.is_unspecified or ip.is_reserved:
            return "reserved"
        if ip.is_link_local:
            # 169.254.169.254 (cloud metadata) lives here: only allow_private opens it.
            return None if self.allow_private else "link-local"
        if ip.is_private or not ip.is_global:
            return None if self.allow_private else "private"
        return None


def resolve_checked(host: str, port: int, rules: AddressRules) -> list[str]:
    """The addresses of ``host``; refuse the host when ANY of them is not allowed (no public/private mix)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"DNS lookup failed for {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = rules.refusal(ip)
        if reason:
            raise BlockedAddressError(f"refused: {host} resolves to a {reason} address ({ip})")
    return addresses


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, dialling only addresses the rules allow."""

    def __init__(self, rules: AddressRules) -> None:
        self._rules = rules

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        for address in resolve_checked(host, port, self._rules):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # getaddrinfo returns at least one address or raises
        raise last_error


def guarded_client(*, rules: AddressRules, timeout_s: float) -> httpx.Client:
    """An httpx client that never follows redirects and dials only allowed addresses.

    ``trust_env=False``: an environment proxy would dial on our behalf, unguarded.
    """
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx does not expose httpcore's network_backend, so the pool is rebuilt around the guarded backend.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=4,
        max_keepalive_connections=4,
        keepalive_expiry=5.0,
        network_backend=_GuardedBackend(rules),
    )
    return httpx.Client(transport=transport, timeout=timeout_s, follow_redirects=False, trust_env=False)
