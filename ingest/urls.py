"""Canonical URLs and the stable article id derived from them (docs/design.md invariant 1).

The canonical form lowercases scheme and host, drops the fragment, default ports, tracking parameters
(utm_*, fbclid, gclid, ...) and sorts the query, so the same story reached through different share links gets
one id. A page's own ``<link rel=canonical>`` is used only when it points at the same site as the fetched URL,
so a hostile page cannot claim another site's id.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Letters, digits, hyphens and (seen in the wild, though not in host names proper) underscores, dot-separated.
_DNS_NAME = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "_gl",
        "ref_src",
        "cmpid",
        "ocid",
        "smid",
        "sr_share",
    }
)


class InvalidURLError(ValueError):
    """The string is not an absolute http(s) URL."""


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of ``url`` (resolved against ``base`` when relative).

    Raises InvalidURLError for anything that is not an absolute http(s) URL with a host (``file:``,
    ``javascript:``, ``mailto:``...), so callers can record the refusal.
    """
    raw = url.strip()
    try:
        if base:
            raw = urljoin(base, raw)
        parts = urlsplit(raw)
    except ValueError as exc:  # "Invalid IPv6 URL" and the like
        raise InvalidURLError(f"unparsable URL ({exc}): {url[:200]!r}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidURLError(
            f"unsupported URL scheme {scheme + ':' if scheme else '(none)'} in {url[:200]!r}"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidURLError(f"URL has no host: {url[:200]!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidURLError(f"URL has an invalid port: {url[:200]!r}") from exc
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    query = urlencode(sorted(_without_tracking(parse_qsl(parts.query, keep_blank_values=True))))
    canonical = urlunsplit((scheme, netloc, path, query, ""))
    _require_fetchable(canonical, url)
    return canonical


def _require_fetchable(canonical: str, original: str) -> None:
    """Refuse a URL the HTTP client could not request, so it becomes a named bad link, not a failed fetch.

    httpx is the judge (the fetcher uses it): a dotted-number host that is no IPv4 address (``999.1.1.1``),
    a host the IDNA rules reject (``xn--a.com``), a bad port. Its encoded host must also be a plain DNS name
    or an IP literal: a space or other odd character there would otherwise go to DNS on every pass.
    """
    try:
        parsed = httpx.URL(canonical)
        parsed.host  # noqa: B018  (decoding the IDNA host is where httpx rejects "xn--a.com")
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, ValueError) as exc:  # IDNA errors are ValueErrors (UnicodeError)
        raise InvalidURLError(f"invalid host or port ({exc}) in {original[:200]!r}") from exc
    if not (_DNS_NAME.fullmatch(host) or _is_ip_literal(host)):
        raise InvalidURLError(f"invalid host {host[:100]!r} in {original[:200]!r}")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _without_tracking(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (k, v)
        for k, v in pairs
        if k.lower() not in _TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)
    ]


def same_site(a: str, b: str) -> bool:
    """True when both URLs have the same host, ignoring a leading ``www.``."""
    return _site(a) == _site(b)


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def choose_canonical(fetched_url: str, page_canonical: str | None) -> str:
    """The page's declared canonical URL when it is valid and on the same site, else the fetched URL's."""
    fetched = canonical_url(fetched_url)
    if not page_canonical:
        return fetched
    try:
        declared = canonical_url(page_canonical, base=fetched_url)
    except InvalidURLError:
        return fetched
    return declared if same_site(declared, fetched) else fetched


def article_id(canonical: str) -> str:
    """A stable 32-hex-digit id for a canonical URL (the article's ``_id``)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def content_hash(text: str) -> str:
    """A hash of the whitespace-normalised text: the same story copied to another URL gets the same hash."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:32]
