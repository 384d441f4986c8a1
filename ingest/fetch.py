"""The safe fetcher: every HTTP request of the ingest stage goes through ``Fetcher.fetch``.

Bounded in every direction (docs/design.md invariant 4): connect/read timeouts, and one total deadline per fetch
covering everything it does (robots.txt, DNS, each connect and resolved address, TLS, headers, body, each
redirect, retries and their waits; see ``netsafe.deadline``); a cap on the decompressed body enforced while
streaming, at most ``max_redirects`` redirects (each one re-checked for scheme and address), connections in
total and per host, and retries only where a retry can help (timeouts, connection errors, 429, 5xx), with
exponential backoff that honours Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from ingest.errors import BlockedURLError, FetchError, PermanentFetchError, TransientFetchError
from ingest.http import decoded_chunks, guarded_transport
from ingest.robots import RobotsCache
from netsafe import AddressRefused, AddressRules, Backoff, DeadlineExceeded, deadline_in, parse_retry_after, remaining

FetchKind = Literal["page", "feed", "other"]
HTML_TYPES = ("text/html", "application/xhtml+xml")
_ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/rdf+xml,application/xml;q=0.9,text/xml;q=0.9,"
    "*/*;q=0.1",
    "other": "*/*",
}


@dataclass(frozen=True, kw_only=True)
class FetchPolicy:
    """Limits and manners of the fetcher (the ``http_*`` settings)."""

    user_agent: str = "WirewatchBot/0.1 (+https://example.org/wirewatch)"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    total_deadline_s: float = 30.0  # the whole fetch() call, robots.txt, DNS, redirects and retries included
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    max_connections: int = 20
    max_per_host: int = 4
    retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0  # the longest wait between two attempts
    max_retry_wait_s: float = 30.0  # a longer Retry-After is not waited for: the failure carries it instead
    allow_loopback: bool = False
    allow_private: bool = False
    respect_robots: bool = True


@dataclass(frozen=True)
class FetchResult:
    """One completed fetch (2xx or 304). ``url`` is where the body came from after redirects."""

    requested_url: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    attempts: int = 1
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


class Fetcher:
    """A thread-safe, reusable HTTP fetcher. Use as a context manager (it owns a connection pool)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        rules = AddressRules(allow_loopback=policy.allow_loopback, allow_private=policy.allow_private)
        self._client = httpx.Client(
            transport=guarded_transport(rules=rules, max_connections=policy.max_connections),
            timeout=httpx.Timeout(
                connect=policy.connect_timeout_s,
                read=policy.read_timeout_s,
                write=policy.read_timeout_s,
                pool=policy.total_deadline_s,
            ),
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
            trust_env=False,
        )
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()
        self._robots = RobotsCache(self._load_robots, user_agent=policy.user_agent)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(
        self,
        url: str,
        *,
        kind: FetchKind = "other",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET ``url`` with retries. Returns a 2xx or a 304 result; raises a FetchError subclass otherwise.

        ``kind="page"`` checks robots.txt (when the policy says so) and accepts only HTML content types. The
        whole call ends within ``total_deadline_s``, or raises TransientFetchError("total deadline ... passed").
        """
        _check_url(url)
        with deadline_in(self.policy.total_deadline_s):
            try:
                return self._fetch_in_deadline(url, kind, etag, last_modified)
            except DeadlineExceeded as exc:
                raise self._deadline_error(exc, url) from exc

    def _fetch_in_deadline(
        self, url: str, kind: FetchKind, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        if kind == "page" and self.policy.respect_robots:
            refusal = self._robots.refusal(url)
            if refusal:
                reason, passing = refusal
                raise (TransientFetchError if passing else PermanentFetchError)(reason, url=url)
        headers = {"Accept": _ACCEPT[kind]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        # One budget for the URL (the deadline of ``fetch``): the retries share it, so a fetch never takes longer
        # than total_deadline_s however many attempts the policy allows.
        attempt = 0
        while True:
            attempt += 1
            try:
                result = self._fetch_following(url, headers, kind)
            except TransientFetchError as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    if attempt <= self.policy.retries and not self._asks_long_pause(exc):  # the budget ran out
                        spent = f"fetch budget of {self.policy.total_deadline_s:g} s spent after {attempt} attempt(s)"
                        exc.reason = f"{exc.reason} ({spent})"
                    raise
                time.sleep(wait)
                continue
            return FetchResult(
                result.requested_url,
                result.url,
                result.status,
                result.headers,
                result.body,
                attempt,
                result.redirects,
            )

    def _retry_wait(self, exc: TransientFetchError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when no retry should be made."""
        if attempt > self.policy.retries:
            return None
        if self._asks_long_pause(exc):
            return None  # the server asked for a long pause: give up now, the feed state carries it
        wait = Backoff(self.policy.backoff_s, self.policy.max_backoff_s).delay(attempt, exc.retry_after_s)
        left = remaining()
        if left is not None and wait >= left:
            return None  # the retry could not even start before the deadline: report this failure instead
        return wait

    def _asks_long_pause(self, exc: TransientFetchError) -> bool:
        return exc.retry_after_s is not None and exc.retry_after_s > self.policy.max_retry_wait_s

    def _deadline_error(self, exc: DeadlineExceeded, url: str) -> TransientFetchError:
        detail = str(exc)
        suffix = f" ({detail})" if detail and detail != "deadline passed" else ""
        return TransientFetchError(f"total deadline of {self.policy.total_deadline_s:g} s passed{suffix}", url=url)

    def _fetch_following(self, url: str, headers: dict[str, str], kind: FetchKind) -> FetchResult:
        """One attempt, following redirects; the caller's deadline (``deadline_in``) bounds all of it."""
        current, seen, redirects = url, {url}, list[str]()
        while True:
            location, result = self._fetch_once(current, headers, kind)
            if location is None:
                assert result is not None
                return FetchResult(url, current, result.status, result.headers, result.body, 1, redirects)
            nxt = urljoin(current, location)
            _check_url(nxt)
            if nxt in seen:
                raise PermanentFetchError(f"redirect loop: {nxt} was already visited", url=url)
            if len(redirects) >= self.policy.max_redirects:
                raise PermanentFetchError(f"too many redirects (more than {self.policy.max_redirects})", url=url)
            seen.add(nxt)
            redirects.append(nxt)
            current = nxt

    def _fetch_once(
        self, url: str, headers: dict[str, str], kind: FetchKind
    ) -> tuple[str | None, FetchResult | None]:
        """One request: (redirect location, None) or (None, result). Maps every failure to a FetchError, except
        DeadlineExceeded, which ``fetch`` turns into the deadline's reason."""
        try:
            with (
                self._host_slot(url),
                self._client.stream("GET", url, headers=headers, timeout=self._timeouts()) as response,
            ):
                status = response.status_code
                if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                    return response.headers["location"], None
                _raise_for_status(response, url)
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                if status == 304:
                    return None, FetchResult(url, url, status, resp_headers, b"")
                if kind == "page":
                    _require_html(response, url)
                body = self._read_body(response, url)
                return None, FetchResult(url, url, status, resp_headers, body)
        except FetchError as exc:
            exc.url = exc.url or url
            raise
        except AddressRefused as exc:
            raise BlockedURLError(str(exc), url=url) from exc
        except httpx.InvalidURL as exc:
            raise PermanentFetchError(f"unusable URL: {exc}", url=url) from exc
        except UnicodeError as exc:  # idna's errors, e.g. for a Location header naming "xn--a.com"
            raise PermanentFetchError(f"unusable URL: {exc}", url=url) from exc
        except httpx.RemoteProtocolError as exc:
            # httpx parses a redirect's Location itself (even when not following it), and says so this way;
            # the server will send the same header next time: not worth a retry.
            if str(exc).startswith("Invalid URL in location header"):
                raise PermanentFetchError(f"unusable URL in the Location header: {exc}", url=url) from exc
            raise TransientFetchError(f"connection failed: {exc or type(exc).__name__}", url=url) from exc
        except httpx.TimeoutException as exc:
            left = remaining()
            if left is not None and left <= 0:
                raise DeadlineExceeded(f"{type(exc).__name__}") from exc
            raise TransientFetchError(f"timed out ({type(exc).__name__})", url=url) from exc
        except httpx.TransportError as exc:
            raise TransientFetchError(f"connection failed: {exc or type(exc).__name__}", url=url) from exc
        except httpx.HTTPError as exc:
            raise PermanentFetchError(f"invalid request: {exc}", url=url) from exc

    def _timeouts(self) -> httpx.Timeout:
        """This request's timeouts: the policy's, the wait for a pooled connection capped by the deadline (the
        network backend caps every connect, read and write by it too)."""
        left = remaining()
        pool = self.policy.total_deadline_s if left is None else max(left, 0.001)
        return httpx.Timeout(
            connect=self.policy.connect_timeout_s,
            read=self.policy.read_timeout_s,
            write=self.policy.read_timeout_s,
            pool=pool,
        )

    def _read_body(self, response: httpx.Response, url: str) -> bytes:
        # Each read is capped by the deadline in the network backend, so a server trickling bytes slower than
        # the read timeout still stops at the deadline (DeadlineExceeded, raised through httpx).
        buf = bytearray()
        encoding = response.headers.get("content-encoding", "")
        for chunk in decoded_chunks(response.iter_raw(), encoding, self.policy.max_bytes):
            buf += chunk
        return bytes(buf)

    @contextmanager
    def _host_slot(self, url: str) -> Iterator[None]:
        host = urlsplit(url).netloc.lower()
        with self._slots_lock:
            slot = self._host_slots.setdefault(host, threading.BoundedSemaphore(self.policy.max_per_host))
        left = remaining()
        if not slot.acquire(timeout=self.policy.total_deadline_s if left is None else max(left, 0.0)):
            raise DeadlineExceeded(f"no free connection to {host} before the deadline")
        try:
            yield
        finally:
            slot.release()

    def _load_robots(self, url: str) -> tuple[int, bytes]:
        """robots.txt within the deadline of the page fetch that asked for it (the per-host robots lock is held
        meanwhile, so this bounds the other pages' wait too)."""
        try:
            result = self._fetch_following(url, {}, "other")
        except PermanentFetchError as exc:
            if exc.status is not None:
                return exc.status, b""
            raise
        except DeadlineExceeded as exc:
            raise self._deadline_error(exc, url) from exc
        return result.status, result.body[:500_000]


def _check_url(url: str) -> None:
    """Refuse what is not http(s), and what httpx cannot parse (bad IPv4, invalid IDNA, bad port...)."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:  # "Invalid IPv6 URL"
        raise PermanentFetchError(f"unusable URL: {exc}", url=url) from exc
    if scheme not in ("http", "https"):
        raise BlockedURLError(f"refused: unsupported URL scheme {scheme or '(none)'!r}", url=url)
    try:
        httpx.URL(url).host  # noqa: B018  (decoding the IDNA host is where httpx rejects "xn--a.com")
    except (httpx.InvalidURL, ValueError) as exc:  # IDNA errors are ValueErrors (UnicodeError)
        raise PermanentFetchError(f"unusable URL: {exc}", url=url) from exc


def _raise_for_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status < 400 or status == 304:
        return
    reason = f"HTTP {status} {response.reason_phrase}".strip()
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 429 or status >= 500:
        raise TransientFetchError(reason, url=url, status=status, retry_after_s=retry_after)
    raise PermanentFetchError(reason, url=url, status=status)


def _require_html(response: httpx.Response, url: str) -> None:
    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype and ctype not in HTML_TYPES:
        raise PermanentFetchError(f"not an HTML page (content-type {ctype})", url=url, status=response.status_code)

