"""Low-level HTTP safety: the address guard inside the connection layer, and a bounded body decoder.

The guard lives in the network backend, where httpcore opens the TCP connection, so it sees the address that
is actually dialled, after DNS, for the first request and for every redirect alike, and a DNS answer cannot
change between the check and the connect (the socket connects to the checked IP; TLS still uses the host name
for SNI and certificate checks).
"""

from __future__ import annotations

import ipaddress
import socket
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ingest.errors import BlockedURLError, PermanentFetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, kw_only=True)
class AddressRules:
    """Which resolved addresses may be dialled. Public unicast is always allowed."""

    allow_loopback: bool = False
    allow_private: bool = False

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused, or None when it may be dialled."""
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
    """Resolve ``host`` and return its addresses; refuse the host if ANY address is not allowed.

    Refusing on any (not only the first) address closes the trick of publishing one public and one private
    address and hoping the connect falls through to the private one.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"DNS lookup failed for {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = rules.refusal(ip)
        if reason:
            raise BlockedURLError(f"refused: {host} resolves to a {reason} address ({ip})")
    return addresses


class GuardedBackend(httpcore.SyncBackend):
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
        assert last_error is not None  # getaddrinfo never returns an empty list without raising
        raise last_error


def guarded_transport(*, rules: AddressRules, max_connections: int) -> httpx.HTTPTransport:
    """An httpx transport whose connections go through GuardedBackend, with the given connection limit."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = httpx.HTTPTransport(limits=limits, trust_env=False)
    # httpx does not expose httpcore's network_backend, so the pool is rebuilt with the same limits. An
    # environment proxy is deliberately never used (trust_env=False): it would dial on our behalf, unguarded.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(rules),
    )
    return transport


def decoded_chunks(raw: Iterable[bytes], content_encoding: str, max_bytes: int) -> Iterator[bytes]:
    """Decompress ``raw`` chunks, raising PermanentFetchError as soon as the output would pass ``max_bytes``.

    zlib's ``max_length`` keeps each step's output bounded, so a gzip bomb costs at most ``max_bytes`` of
    memory before it is cut off, however high its ratio.
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        yield from _capped(raw, max_bytes)
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise PermanentFetchError(f"unsupported content-encoding {encoding!r}")
    yield from _inflate(raw, gzip=encoding != "deflate", max_bytes=max_bytes)


def _capped(raw: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    total = 0
    for chunk in raw:
        total += len(chunk)
        if total > max_bytes:
            raise PermanentFetchError(f"body larger than the cap of {max_bytes} bytes")
        yield chunk


def _inflate(raw: Iterable[bytes], *, gzip: bool, max_bytes: int) -> Iterator[bytes]:
    decompressor: Any = None
    total = 0
    for chunk in raw:
        if decompressor is None:
            # "deflate" is zlib-wrapped by the RFC but raw DEFLATE in the wild: look at the first byte.
            wbits = 47 if gzip else (15 if chunk[:1] == b"\x78" else -15)
            decompressor = zlib.decompressobj(wbits)
        pending = chunk
        while pending:
            try:
                out = decompressor.decompress(pending, max_bytes - total + 1)
            except zlib.error as exc:
                raise PermanentFetchError(f"corrupt compressed body: {exc}") from exc
            total += len(out)
            if total > max_bytes:
                raise PermanentFetchError(f"decompressed body larger than the cap of {max_bytes} bytes")
            if out:
                yield out
            pending = decompressor.unconsumed_tail
    if decompressor is not None:
        tail = decompressor.flush()
        if total + len(tail) > max_bytes:
            raise PermanentFetchError(f"decompressed body larger than the cap of {max_bytes} bytes")
        if tail:
            yield tail
