"""The ingest stage's exceptions, one small tree (modelled on httpx's ``_exceptions.py``).

    IngestError
    ├── FeedListError          the feed list YAML cannot be used (fix the file)
    ├── FetchError             one HTTP fetch failed; ``reason`` is a short human sentence
    │   ├── TransientFetchError    worth retrying later: timeouts, connection errors, 429, 5xx
    │   └── PermanentFetchError    retrying will not help: 4xx, refused address or scheme, too big, wrong type
    │       └── BlockedURLError        the URL's scheme or resolved address is not allowed by the policy
    ├── FeedParseError         the bytes are not a usable feed (HTML, empty, malformed, entity bomb)
    └── ExtractionError        a page gave no usable article
        └── ExtractionTimeout      the page was still extracting at its deadline (the worker was killed)

Third-party errors (httpx, feedparser, trafilatura) are wrapped at the boundary with ``raise ... from exc`` so
callers only ever catch these.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error raised by the ingest stage."""


class FeedListError(IngestError):
    """The feed list is missing, is not valid YAML, or holds an invalid feed."""


class FetchError(IngestError):
    """A fetch failed. ``reason`` says why in a few words; ``transient`` says whether a retry may help."""

    transient: bool = False

    def __init__(
        self, reason: str, *, url: str = "", status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.status = status
        self.retry_after_s = retry_after_s


class TransientFetchError(FetchError):
    """Timeouts, connection failures, 429 and 5xx answers: the next pass may succeed."""

    transient = True


class PermanentFetchError(FetchError):
    """4xx answers, bodies over the cap, wrong content types, redirect loops, robots.txt refusals."""


class BlockedURLError(PermanentFetchError):
    """The URL's scheme is not http(s), or its host resolves to an address the policy refuses."""


class FeedParseError(IngestError):
    """The feed's bytes are not a usable feed; the message says what they were instead."""


class ExtractionError(IngestError):
    """Extraction produced nothing usable from the page."""


class ExtractionTimeout(ExtractionError):
    """The page was still being extracted at its deadline; its worker process was killed and replaced."""
