"""Which IP addresses may be dialled: public unicast always; loopback and private ranges only when allowed.

IPv6 can carry an IPv4 address inside it, and some of those forms reach that IPv4 host: IPv4-mapped
(``::ffff:127.0.0.1``), NAT64 (``64:ff9b::7f00:1``), 6to4 (``2002:7f00:1::``), Teredo (``2001::/32``, the client
address stored inverted) and the deprecated IPv4-compatible form (``::7f00:1``). The embedded address is judged
by the same rules, so none of them is a way around the guard.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
_OPENED_BY_PRIVATE = frozenset({"private", "link-local", "site-local"})


@dataclass(frozen=True)
class Verdict:
    """What ``classify`` decided: ``kind`` is the address's range, ``via`` how an embedded IPv4 was found."""

    allowed: bool
    kind: str  # public, loopback, private, link-local, site-local, multicast, reserved, unspecified
    via: str | None = None  # e.g. "the 6to4 form of 127.0.0.1"

    @property
    def reason(self) -> str | None:
        """Why the address is refused ("a loopback address (the 6to4 form of 127.0.0.1)"), or None."""
        if self.allowed:
            return None
        return f"a {self.kind} address" + (f" ({self.via})" if self.via else "")


def classify(ip: IPAddress | str, *, allow_loopback: bool = False, allow_private: bool = False) -> Verdict:
    """Whether ``ip`` may be dialled under the two flags, and its range.

    Never allowed: unspecified (0.0.0.0 and :: reach the local host on Linux), multicast, reserved.
    ``allow_private`` opens private, link-local (169.254.169.254, cloud metadata, lives there), site-local
    (``fec0::/10``) and every other non-global range; ``allow_loopback`` opens 127.0.0.0/8 and ``::1``.
    """
    address = ipaddress.ip_address(ip.split("%", 1)[0]) if isinstance(ip, str) else ip
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _judge_embedded(address, allow_loopback=allow_loopback, allow_private=allow_private)
        if embedded is not None:
            return embedded
    kind = _kind(address)
    allowed = (
        kind == "public"
        or (kind == "loopback" and allow_loopback)
        or (kind in _OPENED_BY_PRIVATE and allow_private)
    )
    return Verdict(allowed, kind)


@dataclass(frozen=True, kw_only=True)
class AddressRules:
    """Which resolved addresses may be dialled. Public unicast is always allowed."""

    allow_loopback: bool = False
    allow_private: bool = False

    def verdict(self, ip: IPAddress | str) -> Verdict:
        return classify(ip, allow_loopback=self.allow_loopback, allow_private=self.allow_private)

    def refusal(self, ip: IPAddress | str) -> str | None:
        """Why ``ip`` is refused, or None when it may be dialled."""
        return self.verdict(ip).reason


def _judge_embedded(ip: ipaddress.IPv6Address, *, allow_loopback: bool, allow_private: bool) -> Verdict | None:
    """The verdict an embedded IPv4 address decides, or None when the IPv6 address is judged on its own range.

    A translation (IPv4-mapped, NAT64) IS the IPv4 destination: its verdict is the embedded one, allowed or not.
    A tunnel (6to4, Teredo, IPv4-compatible) is refused when an embedded address is refused, and otherwise
    judged as the IPv6 address it is.
    """
    translated = _translated_ipv4(ip)
    if translated is not None:
        form, inner = translated
        verdict = classify(inner, allow_loopback=allow_loopback, allow_private=allow_private)
        return Verdict(verdict.allowed, verdict.kind, f"the {form} form of {inner}")
    for form, inner in _tunnelled_ipv4(ip):
        verdict = classify(inner, allow_loopback=allow_loopback, allow_private=allow_private)
        if not verdict.allowed:
            return Verdict(False, verdict.kind, f"the {form} form of {inner}")
    return None


def _translated_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64_WELL_KNOWN:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo (client)", client), ("Teredo (server)", server)]
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, IPv4-compatible (deprecated); :: and ::1 are not
        found.append(("IPv4-compatible", ipaddress.IPv4Address(value)))
    return found


def _kind(ip: IPAddress) -> str:
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"  # fec0::/10: deprecated, but still routed inside some networks
    if ip.is_private or not ip.is_global:
        return "private"  # RFC 1918, ULA fc00::/7, CGNAT 100.64/10, documentation and benchmark ranges...
    return "public"
