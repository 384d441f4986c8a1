"""netsafe: the one address guard (every range, IPv4 hidden in IPv6) and DNS with a timeout."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from ingest.errors import BlockedURLError
from ingest.fetch import Fetcher
from netsafe import AddressRefused, AddressRules, ResolveError, ResolveTimeout, classify, resolve, resolve_checked
from notify import Delivery, WebhookChannel, deliver
from tests.support.ingest_servers import fast_policy
from tests.test_notify_delivery import make_alert

# (address, kind, opened by): "loopback" -> allow_loopback, "private" -> allow_private, None -> never allowed
RANGES = [
    ("8.8.8.8", "public", "always"),
    ("2606:4700::1111", "public", "always"),
    ("127.0.0.1", "loopback", "loopback"),
    ("127.8.9.10", "loopback", "loopback"),
    ("::1", "loopback", "loopback"),
    ("10.1.2.3", "private", "private"),
    ("172.16.0.1", "private", "private"),
    ("192.168.7.7", "private", "private"),
    ("100.64.0.1", "private", "private"),  # carrier-grade NAT
    ("192.0.2.1", "private", "private"),  # documentation
    ("198.18.0.1", "private", "private"),  # benchmarking
    ("0.1.2.3", "private", "private"),  # "this network"
    ("fd00::1", "private", "private"),  # unique local
    ("2001:db8::1", "private", "private"),  # documentation
    ("169.254.169.254", "link-local", "private"),  # cloud metadata
    ("fe80::1", "link-local", "private"),
    ("fec0::1", "site-local", "private"),  # deprecated site-local: Python calls it global
    ("0.0.0.0", "unspecified", None),
    ("::", "unspecified", None),
    ("224.0.0.1", "multicast", None),
    ("ff02::1", "multicast", None),
    ("240.0.0.1", "reserved", None),
    ("255.255.255.255", "reserved", None),
]


def _allowed_when(opened_by: str | None) -> dict[tuple[bool, bool], bool]:
    """Expected verdict for each (allow_loopback, allow_private)."""
    flags = [(False, False), (True, False), (False, True), (True, True)]
    if opened_by == "always":
        return dict.fromkeys(flags, True)
    if opened_by == "loopback":
        return {f: f[0] for f in flags}
    if opened_by == "private":
        return {f: f[1] for f in flags}
    return dict.fromkeys(flags, False)


@pytest.mark.parametrize(("address", "kind", "opened_by"), RANGES)
def test_every_range_is_classified(address: str, kind: str, opened_by: str | None) -> None:
    for (loopback, private), allowed in _allowed_when(opened_by).items():
        verdict = classify(address, allow_loopback=loopback, allow_private=private)
        assert (verdict.kind, verdict.allowed) == (kind, allowed), (loopback, private)
        assert (verdict.reason is None) == allowed


@pytest.mark.parametrize(
    ("address", "kind", "via"),
    [
        ("2002:7f00:1::", "loopback", "the 6to4 form of 127.0.0.1"),
        ("2002:a00:1::5", "private", "the 6to4 form of 10.0.0.1"),
        ("2002:a9fe:a9fe::", "link-local", "the 6to4 form of 169.254.169.254"),
        ("::ffff:127.0.0.1", "loopback", "the IPv4-mapped form of 127.0.0.1"),
        ("::ffff:192.168.1.1", "private", "the IPv4-mapped form of 192.168.1.1"),
        ("64:ff9b::7f00:1", "loopback", "the NAT64 form of 127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "link-local", "the NAT64 form of 169.254.169.254"),
        ("::7f00:1", "loopback", "the IPv4-compatible form of 127.0.0.1"),
        # Teredo: server 65.54.227.120, client 127.0.0.1 (stored inverted: 80ff:fffe)
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback", "the Teredo (client) form of 127.0.0.1"),
    ],
)
def test_ipv4_hidden_in_ipv6_is_judged_too(address: str, kind: str, via: str) -> None:
    verdict = classify(address, allow_private=True)  # even with private ranges opened
    if kind == "loopback":
        assert not verdict.allowed and (verdict.kind, verdict.via) == (kind, via)
        assert verdict.reason == f"a loopback address ({via})"
    else:
        assert classify(address).reason == f"a {kind} address ({via})"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("2002:808:808::1", True),  # 6to4 of a public address: a public address
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address (DNS64 networks): reachable as that address
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 prefix: never global
        ("::808:808", False),  # IPv4-compatible is deprecated: reserved whatever it holds
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", False),  # Teredo of a public client: not global either
    ],
)
def test_ipv4_in_ipv6_of_a_public_address(address: str, allowed: bool) -> None:
    assert classify(address).allowed is allowed


def test_allow_loopback_opens_a_6to4_loopback_but_allow_private_does_not() -> None:
    assert classify("2002:7f00:1::", allow_loopback=True).allowed
    assert not classify("2002:7f00:1::", allow_private=True).allowed


def test_rules_refusal_and_scope_ids() -> None:
    rules = AddressRules(allow_loopback=True)
    assert rules.refusal("127.0.0.1") is None and rules.refusal("fe80::1%eth0") == "a link-local address"


def test_dns_lookup_that_never_answers_times_out() -> None:
    started, release = threading.Event(), threading.Event()

    def never_answers(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        started.set()
        release.wait(30)
        raise socket.gaierror("released")

    try:
        with pytest.raises(ResolveTimeout, match=r"DNS lookup for slow\.example timed out"):
            resolve("slow.example", 80, timeout_s=0.5, lookup=never_answers)
        assert started.is_set()
    finally:
        release.set()


def test_resolve_failures_and_literals() -> None:
    def no_such_name(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(ResolveError, match=r"DNS lookup failed for nowhere\.example"):
        resolve("nowhere.example", 80, timeout_s=5, lookup=no_such_name)
    # An IP literal needs no lookup at all.
    assert resolve("[::1]", 80, timeout_s=5, lookup=no_such_name) == ["::1"]
    assert resolve("localhost", 80, timeout_s=5)  # the real resolver, /etc/hosts


def test_one_refused_address_refuses_the_host() -> None:
    def mixed(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2002:7f00:1::", port, 0, 0)),
        ]

    with pytest.raises(AddressRefused, match=r"resolves to a loopback address \(the 6to4 form of 127\.0\.0\.1\)"):
        resolve_checked("mixed.example", 80, AddressRules(), timeout_s=5, lookup=mixed)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[2002:7f00:1::]/", "loopback address (the 6to4 form of 127.0.0.1)"),
        ("http://[fec0::1]/", "site-local address"),
        ("http://[64:ff9b::7f00:1]/", "loopback address (the NAT64 form of 127.0.0.1)"),
    ],
)
def test_fetcher_refuses_hidden_loopback_and_site_local_before_dialling(url: str, why: str) -> None:
    # Regression (issue 11, defect 11): the old guard let 2002::/16 and fec0::/10 through to a connect.
    with Fetcher(fast_policy(allow_loopback=False)) as fetcher, pytest.raises(BlockedURLError) as info:
        fetcher.fetch(url)
    assert info.value.reason.startswith("refused: ") and why in info.value.reason


def test_webhook_to_a_6to4_loopback_is_refused_for_good() -> None:
    hook = WebhookChannel(name="hook", url="http://[2002:7f00:1::]:8080/hook")
    [outcome] = deliver([Delivery(alert=make_alert(), channel="hook")], {"hook": hook}, backoff_s=0.01)
    assert outcome.state == "failed" and "6to4 form of 127.0.0.1" in (outcome.error or "")
