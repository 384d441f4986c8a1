"""Feeds: one incremental poll of one feed (the feed list is ingest/feedlist.py).

feedparser only ever sees bytes we fetched ourselves (it has no timeout and no size limit of its own, and
given a string it would fetch URLs or open local files), wrapped in a BytesIO so it never takes them for a
path.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from ingest.dates import http_date, plausible, set_aside
from ingest.errors import FeedParseError, FetchError
from ingest.feedcap import EntryLayout, entry_layout
from ingest.feedlist import FeedSpec
from ingest.fetch import Fetcher
from ingest.state import Backoff, FeedState, failed, merge_seen, succeeded
from ingest.urls import InvalidURLError, article_id, canonical_url

PollStatus = Literal["ok", "not_modified", "failed"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class FeedItem:
    """One entry of a feed. ``rejection`` is set (and ``id`` may be a stand-in) when its link is unusable."""

    feed_id: str
    id: str
    link: str
    canonical_url: str | None
    title: str | None = None
    published_at: datetime | None = None
    date_set_aside: tuple[str, ...] = ()  # dates the entry gave that cannot be publication dates (ingest/dates.py)
    author: str | None = None
    summary: str | None = None
    rejection: str | None = None
    skip_rule: str | None = None  # a rule leaves the entry out (``no_link``: nothing to fetch); not a failure


@dataclass(frozen=True)
class FeedPoll:
    """The result of polling one feed: its entries and the state proposed for when they are all settled."""

    spec: FeedSpec
    status: PollStatus
    proposed_state: FeedState
    previous_state: FeedState
    items: list[FeedItem] = field(default_factory=list)
    deferred: list[FeedItem] = field(default_factory=list)  # new entries over max_entries: taken on a later pass
    error: str | None = None
    permanent: bool = False  # a failure retrying will not mend soon (the feed is gone: 410, repeated 404)
    problem: str | None = None  # a non-fatal parse problem (bozo) recorded with the entries kept
    http_status: int | None = None


def poll_feed(
    spec: FeedSpec,
    state: FeedState,
    *,
    fetcher: Fetcher,
    now: datetime,
    max_entries: int,
    backoff: Backoff,
    max_parse_entries: int = 500,
    gone_after_404s: int = 3,
) -> FeedPoll:
    """Poll one feed with a conditional GET. Never raises for feed faults: they come back as ``failed``.

    At most ``max_parse_entries`` entries are read (the newest), and at most ``max_entries`` of those not
    seen before are taken in this pass (the newest first); the other new ones are ``deferred`` to later passes.
    """
    try:
        result = fetcher.fetch(spec.url, kind="feed", etag=state.etag, last_modified=state.last_modified)
    except FetchError as exc:
        failure = _Failure(exc.reason, exc.retry_after_s, exc.status)
        return _failed(spec, state, now, failure, backoff, gone_after_404s)
    hint = _server_hint_s(result.headers, None)
    body_hash = hashlib.sha256(result.body).hexdigest() if result.status != 304 else state.body_hash
    if result.status == 304 or body_hash == state.body_hash:
        proposed = succeeded(
            state,
            now=now,
            next_poll_at=backoff.after_success(now, hint),
            etag=result.headers.get("etag", state.etag),
            last_modified=http_date(result.headers.get("last-modified") or state.last_modified, now),
            body_hash=body_hash,
            new_ids=[],
            entries=0,
        )
        return FeedPoll(spec, "not_modified", proposed, state, http_status=result.status)
    try:
        parsed = parse_feed_bytes(
            result.body,
            url=result.url,
            content_type=result.headers.get("content-type", ""),
            max_entries=max_parse_entries,
        )
    except FeedParseError as exc:
        return _failed(spec, state, now, _Failure(str(exc), None, result.status), backoff, gone_after_404s)
    items = newest_first([_item(spec.id, entry, now) for entry in parsed.entries])[:max_parse_entries]
    taken, deferred = split_new(items, state.seen_ids, max_entries)
    proposed = succeeded(
        state,
        now=now,
        next_poll_at=backoff.after_success(now, _server_hint_s(result.headers, parsed.ttl_min)),
        etag=result.headers.get("etag"),
        last_modified=http_date(result.headers.get("last-modified"), now),
        body_hash=body_hash,
        new_ids=[i.id for i in taken],
        entries=len(items),
    )
    return FeedPoll(spec, "ok", proposed, state, taken, deferred, problem=parsed.problem, http_status=result.status)


def newest_first(items: list[FeedItem]) -> list[FeedItem]:
    """Dated entries newest first, then the undated ones in document order (feeds list newest first)."""
    return sorted(items, key=lambda i: (i.published_at is None, -(i.published_at or _EPOCH).timestamp()))


def split_new(
    items: list[FeedItem], seen_ids: tuple[str, ...], max_entries: int
) -> tuple[list[FeedItem], list[FeedItem]]:
    """(entries for this pass, new entries left for later): every seen entry (it settles as ``not_modified``)
    and the first ``max_entries`` new ones. Seen entries are removed *before* the cap, so the cap never keeps
    taking the same entries while the ones past it wait forever."""
    seen = set(seen_ids)
    new = [i for i in items if i.id not in seen]
    return [i for i in items if i.id in seen] + new[:max_entries], new[max_entries:]


def settle(poll: FeedPoll, unfinished_ids: set[str]) -> FeedState:
    """The state to commit once the poll's entries are settled, ``unfinished_ids`` being those to try again.

    When anything is unfinished (a transient failure, new entries over max_entries), the validators and body
    hash stay as they were so the next poll reads the whole feed again instead of getting a 304 and losing
    them. Once every listed entry is seen or final, they are saved and the next unchanged poll costs nothing.
    """
    if poll.status != "ok" or (not unfinished_ids and not poll.deferred):
        return poll.proposed_state
    done = [i.id for i in poll.items if i.id not in unfinished_ids]
    old = poll.previous_state
    return replace(
        poll.proposed_state,
        etag=old.etag,
        last_modified=old.last_modified,
        body_hash=old.body_hash,
        seen_ids=merge_seen(old.seen_ids, done),
    )


@dataclass(frozen=True)
class _Failure:
    error: str
    retry_after_s: float | None
    status: int | None


def _failed(
    spec: FeedSpec, state: FeedState, now: datetime, failure: _Failure, backoff: Backoff, gone_after_404s: int
) -> FeedPoll:
    proposed = failed(
        state,
        now=now,
        error=failure.error,
        backoff=backoff,
        retry_after_s=failure.retry_after_s,
        status=failure.status,
        gone_after_404s=gone_after_404s,
    )
    return FeedPoll(
        spec, "failed", proposed, state, error=proposed.last_error, http_status=failure.status, permanent=proposed.gone
    )


@dataclass(frozen=True)
class ParsedFeed:
    entries: list[Any]
    ttl_min: float | None
    problem: str | None


def parse_feed_bytes(body: bytes, *, url: str, content_type: str = "", max_entries: int | None = None) -> ParsedFeed:
    """Parse feed bytes with feedparser; raise FeedParseError when they hold no usable feed.

    With ``max_entries``, a document listing more is cut to its newest ``max_entries`` entries *before*
    feedparser reads it (the cost of parsing grows with the entries), and ``problem`` says so.
    """
    import feedparser

    if not body.strip():
        raise FeedParseError("empty body: the server sent no feed")
    head = body[:65536]
    # Searched in the whole body: a long leading comment could push the DOCTYPE past any fixed prefix.
    if _ENTITY_DECL.search(body):
        raise FeedParseError("refused: the feed declares XML entities (possible entity-expansion attack)")
    ctype = content_type.split(";", 1)[0].strip().lower()
    if _HTML_START.match(head) or (
        ctype == "text/html" and not any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:RDF"))
    ):
        raise FeedParseError(f"not a feed: the server sent an HTML page ({ctype or 'no content-type'})")
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    cut_note = None
    layout = entry_layout(body) if max_entries is not None else None
    if max_entries is not None and layout is not None and layout.count > max_entries:
        oldest_first = _lists_oldest_first(layout, headers)
        body = layout.last(max_entries) if oldest_first else layout.first(max_entries)
        cut_note = f"the feed lists {layout.count} entries: read only the newest {max_entries} (feed_max_parse_entries)"
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.entries and (error or not parsed.get("version")):
        raise FeedParseError(f"malformed XML, no entries could be read: {error or 'not an RSS or Atom document'}")
    problems = [cut_note] if cut_note else []
    if error:
        problems.append(f"{type(error).__name__}: {error} (kept {len(parsed.entries)} entries that parsed)")
    elif not parsed.entries:
        problems.append("the feed lists no entries")
    ttl = parsed.feed.get("ttl")
    problem = "; ".join(problems) or None
    return ParsedFeed(list(parsed.entries), _minutes(ttl), problem)


def _minutes(ttl: Any) -> float | None:
    """The RSS ttl in minutes: ASCII digits only (``"²".isdigit()`` is true, and float() refuses it)."""
    text = str(ttl or "").strip()
    return float(text) if text.isascii() and text.isdigit() else None


def _lists_oldest_first(layout: EntryLayout, headers: dict[str, str]) -> bool:
    """Whether the document's last entry is dated later than its first (two one-entry parses, cheap)."""
    import feedparser

    dates = []
    for one in (layout.first(1), layout.last(1)):
        entries = feedparser.parse(io.BytesIO(one), response_headers=headers).entries
        # the feed's own claims, unbounded: they only tell which end of the document to keep
        dates.append(_entry_date(entries[0], None)[0] if entries else None)
    first, last = dates
    return first is not None and last is not None and last > first


def _item(feed_id: str, entry: Any, now: datetime) -> FeedItem:
    link = _entry_link(entry)
    title, author, summary = entry.get("title"), entry.get("author"), entry.get("summary")
    published, aside = _entry_date(entry, now)
    if not link.strip():
        # Nothing to fetch: a rule leaves it out (skipped, ``no_link``), it is not a fault of the feed.
        stand_in = hashlib.sha256(f"{feed_id}\nno-link\n{title or ''}\n{published or ''}".encode()).hexdigest()[:32]
        return FeedItem(
            feed_id=feed_id, id=stand_in, link="", canonical_url=None, title=title, published_at=published,
            date_set_aside=aside, author=author, summary=summary, skip_rule="no_link: the entry has no link",
        )  # fmt: skip
    try:
        canonical = canonical_url(link)
    except InvalidURLError as exc:
        stand_in = hashlib.sha256(f"{feed_id}\n{entry.get('id') or link}".encode()).hexdigest()[:32]
        return FeedItem(
            feed_id=feed_id,
            id=stand_in,
            link=link,
            canonical_url=None,
            title=title,
            published_at=published,
            date_set_aside=aside,
            author=author,
            summary=summary,
            rejection=f"bad link: {exc}",
        )
    return FeedItem(
        feed_id=feed_id,
        id=article_id(canonical),
        link=link,
        canonical_url=canonical,
        title=title,
        published_at=published,
        date_set_aside=aside,
        author=author,
        summary=summary,
    )


def _entry_link(entry: Any) -> str:
    """The entry's link; feedparser blanks unsafe schemes in ``link``, so look at the raw links too."""
    if entry.get("link"):
        return str(entry["link"])
    for link in entry.get("links") or ():
        if link.get("href") and link.get("rel", "alternate") == "alternate":
            return str(link["href"])
    # an id is a link only when it is one (RSS guid isPermaLink, Atom ids that are URLs); "urn:..." is not
    entry_id = str(entry.get("id") or "")
    return entry_id if entry_id.lower().startswith(("http://", "https://")) else ""


_DATE_KEYS = (("published_parsed", "feed"), ("updated_parsed", "feed-updated"), ("created_parsed", "feed-created"))


def _entry_date(entry: Any, now: datetime | None) -> tuple[datetime | None, tuple[str, ...]]:
    """The entry's first plausible date at ``now`` (published, else updated, else created) and the ones set
    aside; with ``now`` None, the first date it gives, whatever it is."""
    aside: list[str] = []
    for key, source in _DATE_KEYS:
        # dict.get: feedparser's own get answers a missing updated_parsed with published_parsed (and a warning)
        value = dict.get(entry, key)
        if not value:
            continue
        try:
            when = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
        except (OverflowError, ValueError, OSError):  # a year past what datetime can hold
            continue
        if now is None or plausible(when, now):
            return when, tuple(aside)
        aside.append(set_aside(source, when))
    return None, tuple(aside)


def _server_hint_s(headers: dict[str, str], ttl_min: float | None) -> float | None:
    """How long the server asks us to wait: Cache-Control max-age or the RSS ttl (minutes), the longer one."""
    hints = [ttl_min * 60] if ttl_min else []
    match = re.search(r"max-age\s*=\s*(\d+)", headers.get("cache-control", ""))
    if match:
        hints.append(float(match.group(1)))
    return max(hints) if hints else None
