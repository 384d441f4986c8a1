"""Page HTML to an ``Article`` with trafilatura: text, title, author, date, site name, language, description.

trafilatura (and lxml behind it) is imported inside the functions, never at module import, so importing the
ingest stage stays cheap and the extraction workers pay for it once, at start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ingest.dates import plausible, set_aside
from ingest.errors import ExtractionError
from ingest.urls import InvalidURLError, article_id, canonical_url, choose_canonical, content_hash

DateSource = Literal["page", "feed", "none"]
_HTML_LANG = re.compile(r"<html[^>]*\slang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
# No extensive search: its guesses (a copyright year becomes 1 January) are worse than the feed's date.
_DATE_PARAMS = {"outputformat": "%Y-%m-%dT%H:%M:%S%z", "extensive_search": False, "original_date": True}


@dataclass(frozen=True, kw_only=True)
class Article:
    """One clean article, ready for tagging and indexing (see docs/article-document.md)."""

    id: str
    url: str
    canonical_url: str
    source: str
    title: str | None
    text: str
    author: str | None
    published_at: datetime | None
    date_source: DateSource
    site_name: str | None
    language: str | None
    description: str | None
    fetched_at: datetime
    content_hash: str
    extraction_method: str
    # dates the page or feed gave that cannot be publication dates (ingest/dates.py), as "source value"
    date_set_aside: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PageInput:
    """What the extractor needs about one fetched page (picklable: it crosses into worker processes)."""

    html: str
    url: str
    source: str
    fetched_at: datetime
    feed_published_at: datetime | None = None
    feed_date_set_aside: tuple[str, ...] = ()  # the feed entry's dates refused when it was polled
    feed_title: str | None = None
    min_chars: int = 250
    # A page read from disk has no site of its own to check its <link rel=canonical> against: trust it.
    trust_page_canonical: bool = False


class TooShort(ExtractionError):
    """The page has less main text than ``min_chars``: skipped, not failed."""


def extract_article(page: PageInput) -> Article:
    """Extract one page. Raises TooShort for thin pages and ExtractionError when nothing usable comes out."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            page.html,
            url=page.url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            favor_precision=True,
            date_extraction_params=_DATE_PARAMS,
        )
    except Exception as exc:  # trafilatura and lxml raise many types on hostile markup
        raise ExtractionError(f"trafilatura failed: {type(exc).__name__}: {exc}") from exc
    meta: dict[str, Any] = {} if doc is None else (doc if isinstance(doc, dict) else doc.as_dict())
    if not str(meta.get("text") or "").strip():
        raise TooShort("no main text found on the page")
    title = meta.get("title") or page.feed_title
    text = _without_headline(str(meta["text"]), title)
    if len(text) < page.min_chars:
        raise TooShort(f"main text too short ({len(text)} < {page.min_chars} characters)")
    published, date_source, aside = _published(meta.get("date"), page)
    try:
        canonical = _canonical(page, meta.get("url"))
    except InvalidURLError as exc:
        raise ExtractionError(str(exc)) from exc
    return Article(
        id=article_id(canonical),
        url=page.url,
        canonical_url=canonical,
        source=page.source,
        title=title,
        text=text,
        author=meta.get("author") or None,
        published_at=published,
        date_source=date_source,
        site_name=meta.get("sitename") or None,
        language=meta.get("language") or _html_lang(page.html),
        description=meta.get("description") or None,
        fetched_at=page.fetched_at,
        content_hash=content_hash(text),
        extraction_method=f"trafilatura {trafilatura.__version__}",
        date_set_aside=aside,
    )


def _canonical(page: PageInput, declared: str | None) -> str:
    if page.trust_page_canonical and declared:
        try:
            return canonical_url(declared)
        except InvalidURLError:
            pass
    return choose_canonical(page.url, declared)


def _without_headline(text: str, title: str | None) -> str:
    """trafilatura keeps an ``<h1>`` that sits inside the article body; the title has its own field."""
    text = text.strip()
    first, _, rest = text.partition("\n")
    if title and " ".join(first.split()) == " ".join(title.split()):
        return rest.strip()
    return text


def _published(page_date: str | None, page: PageInput) -> tuple[datetime | None, DateSource, tuple[str, ...]]:
    """The page's own date (normalised to UTC) when it has a plausible one, else the feed entry's; which one;
    and the dates set aside on the way (later than the fetch plus a day, or before 1990: ingest/dates.py)."""
    aside: list[str] = []
    candidates: list[tuple[datetime, DateSource]] = []
    parsed = _parse_iso(page_date)
    if parsed is not None:
        candidates.append((parsed, "page"))
    if page.feed_published_at is not None:
        candidates.append((page.feed_published_at.astimezone(UTC), "feed"))
    for when, source in candidates:
        if plausible(when, page.fetched_at):
            return when, source, (*aside, *page.feed_date_set_aside)
        aside.append(set_aside(source, when))
    return None, "none", (*aside, *page.feed_date_set_aside)


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # unreadable, or past the last year a datetime holds once in UTC
        return None


def _html_lang(html: str) -> str | None:
    match = _HTML_LANG.search(html[:5000])
    return match.group(1).lower() if match else None
