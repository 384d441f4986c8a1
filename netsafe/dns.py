"""DNS resolution with a timeout, and the address check of every answer.

``socket.getaddrinfo`` has no timeout: a resolver that does not answer holds the caller for as long as libc
retries. The lookup runs in a daemon thread instead, and the caller waits at most the timeout; an abandoned
lookup finishes (or not) on its own, and a cap on lookups in flight keeps a dead resolver from piling up threads.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from netsafe.addresses import AddressRules
from netsafe.errors import AddressRefused, ResolveError, ResolveTimeout

# getaddrinfo's signature; a parameter so the timeout can be shown with a resolver that never answers.
Lookup = Callable[..., Sequence[tuple[Any, ...]]]
MAX_LOOKUPS_IN_FLIGHT = 32
_in_flight = threading.BoundedSemaphore(MAX_LOOKUPS_IN_FLIGHT)


def resolve(host: str, port: int, *, timeout_s: float, lookup: Lookup = socket.getaddrinfo) -> list[str]:
    """The distinct addresses of ``host`` (in the resolver's order), within ``timeout_s`` seconds.

    Raises ResolveTimeout when the resolver does not answer in time, ResolveError when it has no address.
    An IP literal is returned as it is, without a lookup.
    """
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    if timeout_s <= 0 or not _in_flight.acquire(timeout=timeout_s):
        raise ResolveTimeout(f"DNS lookup for {host} timed out")
    answer: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            answer["infos"] = lookup(host, port, type=socket.SOCK_STREAM)
        except Exception as exc:  # handed to the caller below
            answer["error"] = exc
        finally:
            _in_flight.release()
            done.set()

    threading.Thread(target=run, name=f"netsafe-dns-{host[:40]}", daemon=True).start()
    if not done.wait(timeout_s):
        raise ResolveTimeout(f"DNS lookup for {host} timed out after {timeout_s:g} s")
    if "error" in answer:
        # gaierror (no such name), UnicodeError (a host name the IDNA codec refuses), ...
        raise ResolveError(f"DNS lookup failed for {host}: {answer['error']}") from answer["error"]
    addresses = list(dict.fromkeys(str(info[4][0]) for info in answer["infos"]))
    if not addresses:
        raise ResolveError(f"DNS lookup for {host} returned no address")
    return addresses


def resolve_checked(
    host: str, port: int, rules: AddressRules, *, timeout_s: float, lookup: Lookup = socket.getaddrinfo
) -> list[str]:
    """``resolve``, then refuse the host when ANY of its addresses is refused (AddressRefused).

    Refusing on any address, not only the first, closes the trick of publishing one public and one private
    address and hoping a connect falls through to the private one.
    """
    addresses = resolve(host, port, timeout_s=timeout_s, lookup=lookup)
    for address in addresses:
        reason = rules.refusal(address)
        if reason:
            raise AddressRefused(f"refused: {host} resolves to {reason} ({address})", host=host, ip=address)
    return addresses


def _ip_literal(host: str) -> str | None:
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return None
    return bare  # with its scope id, if any: the check ignores it, the connect needs it
