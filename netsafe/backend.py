"""An httpcore network backend that dials only checked addresses, within the current deadline.

The guard lives where httpcore opens the TCP connection, so it sees the address that is actually dialled,
after DNS, for the first request and every redirect alike, and a DNS answer cannot change between the check
and the connect (the socket connects to the checked IP; TLS still uses the host name for SNI and certificates).

Every step is bounded by ``netsafe.deadline``: the DNS lookup, each connect (one per resolved address), the
TLS handshake, and each read and write of a connection (kept-alive connections included), so a server that
answers one byte at a time cannot stretch a request past its deadline.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterable
from typing import Any

import httpcore

from netsafe.addresses import AddressRules
from netsafe.deadline import bounded, remaining
from netsafe.dns import resolve_checked
from netsafe.errors import DeadlineExceeded, ResolveError, ResolveTimeout

_READ_TIMEOUTS = (httpcore.ReadTimeout,)
_WRITE_TIMEOUTS = (httpcore.WriteTimeout,)
_CONNECT_TIMEOUTS = (httpcore.ConnectTimeout,)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, dialling only addresses the rules allow, within the current deadline.

    Raises AddressRefused (netsafe) for a refused address and DeadlineExceeded when the deadline passes;
    httpx lets both through unchanged, so the caller maps them into its own errors. A failed or slow DNS
    lookup is an httpcore ConnectError / ConnectTimeout, like any other connect failure.
    """

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
        addresses = self._resolve(host, port, timeout)
        last_error: Exception | None = None
        for address in addresses:
            try:
                stream = bounded(
                    lambda t, a=address: self._dial(a, port, t, local_address, socket_options),  # type: ignore[misc]
                    timeout,
                    _CONNECT_TIMEOUTS,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return DeadlineStream(stream)
        assert last_error is not None  # resolve returns at least one address or raises
        raise last_error

    def _dial(
        self,
        address: str,
        port: int,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[Any] | None,
    ) -> httpcore.NetworkStream:
        return super().connect_tcp(address, port, timeout, local_address, socket_options)

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        # A DNS lookup gets the connect timeout (30 s when there is none), capped by the deadline.
        try:
            return bounded(
                lambda t: resolve_checked(host, port, self._rules, timeout_s=30.0 if t is None else t),
                timeout,
                (ResolveTimeout,),
            )
        except ResolveTimeout as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except ResolveError as exc:
            raise httpcore.ConnectError(str(exc)) from exc


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake is capped by the deadline in force at the call
    (a kept-alive connection serves the deadline of each fetch that reuses it)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return bounded(lambda t: self._inner.read(max_bytes, t), timeout, _READ_TIMEOUTS)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        bounded(lambda t: self._inner.write(buffer, t), timeout, _WRITE_TIMEOUTS)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        # The handshake reads many records, each under the socket timeout: a watchdog shuts the socket at the
        # deadline so a handshake sent one byte at a time cannot outlive it.
        left = remaining()
        sock = self._inner.get_extra_info("socket")
        watchdog = None
        if left is not None and isinstance(sock, socket.socket):
            watchdog = threading.Timer(max(left, 0.0), _shut, args=(sock,))
            watchdog.daemon = True
            watchdog.start()
        try:
            upgraded = bounded(
                lambda t: self._inner.start_tls(ssl_context, server_hostname, t), timeout, _CONNECT_TIMEOUTS
            )
        except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
            after = remaining()
            if after is not None and after <= 0:
                raise DeadlineExceeded("deadline passed during the TLS handshake") from exc
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
        return DeadlineStream(upgraded)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def guarded_pool(
    *, rules: AddressRules, max_connections: int, keepalive_expiry: float = 5.0
) -> httpcore.ConnectionPool:
    """A connection pool dialling through GuardedBackend; httpx does not expose the network backend, so a
    transport's ``_pool`` is replaced by this one."""
    import httpx  # only for its SSL context defaults (certifi), as httpx's own transport uses

    return httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=keepalive_expiry,
        network_backend=GuardedBackend(rules),
    )
