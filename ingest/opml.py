"""OPML, the feed list readers exchange (Miniflux, FreshRSS, Feedly...): read into rows of the feed list, and
written from it.

Reading uses expat directly, with every DTD refused: an OPML file never needs one, and a DOCTYPE is how entity
expansion ("billion laughs") and external entities get in. Nested outlines are categories: a feed keeps the path
of category titles above it as its ``tags``. A feed whose URL is unusable, or that repeats one already listed,
is reported with its line and skipped; the rest are read. Writing escapes every attribute (titles are the web's
text) and drops the characters XML 1.0 cannot hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from ingest.errors import FeedListError
from ingest.urls import InvalidURLError, canonical_url

MAX_ID = 40
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SLUG = re.compile(r"[^a-z0-9]+")


class OpmlError(FeedListError):
    """The file is not OPML that can be read (not XML, a DTD, no body)."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None
    html_url: str | None
    categories: tuple[str, ...]
    line: int


@dataclass
class OpmlRead:
    feeds: list[OpmlFeed] = field(default_factory=list)
    invalid: list[dict[str, Any]] = field(default_factory=list)  # {"line", "url", "reason"}
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # {"line", "url", "same_as"}


def _refuse(*_: object) -> int:
    raise OpmlError("refused: the file declares a DTD or entities (OPML needs none; possible entity-expansion attack)")


def _attr(attrs: dict[str, str], name: str) -> str | None:
    """An attribute by name, whatever its case (exporters write xmlUrl, xmlurl or XMLURL); blank is None."""
    for key, value in attrs.items():
        if key.lower() == name.lower() and value.strip():
            return value.strip()
    return None


def read_opml(data: bytes, *, known_urls: dict[str, str] | None = None) -> OpmlRead:
    """The feeds of an OPML document. ``known_urls`` ({canonical URL: feed id}) are feeds already listed: an
    outline naming one of them is a duplicate, as is a second outline for the same feed."""
    seen = dict(known_urls or {})
    result = OpmlRead()
    path: list[str | None] = []  # one item per open outline: its category title, or None for a feed
    tags: list[str] = []
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    in_body = [False]

    def start(name: str, attrs: dict[str, str]) -> None:
        if name.lower() == "body":
            in_body[0] = True
        if name.lower() != "outline" or not in_body[0]:
            return
        url = _attr(attrs, "xmlUrl")
        title = _attr(attrs, "title") or _attr(attrs, "text")
        if url is None:
            path.append(title or "")
            tags.append(title or "")
            return
        path.append(None)
        line = parser.CurrentLineNumber
        feed = OpmlFeed(url, title, _attr(attrs, "htmlUrl"), tuple(t for t in tags if t), line)
        _take(feed, seen, result)

    def end(name: str) -> None:
        if name.lower() == "outline" and in_body[0] and path and path.pop() is not None:
            tags.pop()
        elif name.lower() == "body":
            in_body[0] = False

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OpmlError(f"not readable as OPML: {exc}") from exc
    return result


def _take(feed: OpmlFeed, seen: dict[str, str], result: OpmlRead) -> None:
    try:
        key = canonical_url(feed.url)
    except InvalidURLError as exc:
        result.invalid.append({"line": feed.line, "url": feed.url, "reason": str(exc)})
        return
    if not key.startswith(("http://", "https://")):
        result.invalid.append({"line": feed.line, "url": feed.url, "reason": "not an http(s) URL"})
        return
    if key in seen:
        result.duplicates.append({"line": feed.line, "url": feed.url, "same_as": seen[key]})
        return
    seen[key] = f"line {feed.line}"
    result.feeds.append(feed)


def feed_id(feed: OpmlFeed, taken: set[str]) -> str:
    """A feed-list id from the title (or the URL's host), unique among ``taken`` (which it joins)."""
    base = _SLUG.sub("-", (feed.title or feed.url.split("://", 1)[-1].split("/", 1)[0]).lower()).strip("-")
    base = base[:MAX_ID].strip("-") or "feed"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def write_opml(rows: list[dict[str, Any]], *, title: str = "Wirewatch feeds") -> str:
    """OPML 2.0 of feed-list rows (``id``, ``url``, ``name``, ``tags``, ``html_url``), nested by their tags."""
    tree: dict[str, Any] = {"feeds": [], "children": {}}
    for row in rows:
        node = tree
        for tag in row.get("tags") or ():
            node = node["children"].setdefault(str(tag), {"feeds": [], "children": {}})
        node["feeds"].append(row)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             f"  <head><title>{escape(_text(title))}</title></head>", "  <body>"]  # fmt: skip
    _write_node(tree, lines, depth=2)
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _write_node(node: dict[str, Any], lines: list[str], depth: int) -> None:
    pad = "  " * depth
    for row in node["feeds"]:
        name = _text(str(row.get("name") or row["id"]))
        attrs = f"type=\"rss\" text={quoteattr(name)} title={quoteattr(name)} xmlUrl={quoteattr(_text(row['url']))}"
        if row.get("html_url"):
            attrs += f" htmlUrl={quoteattr(_text(str(row['html_url'])))}"
        lines.append(f"{pad}<outline {attrs}/>")
    for category, child in node["children"].items():
        label = quoteattr(_text(category))
        lines.append(f"{pad}<outline text={label} title={label}>")
        _write_node(child, lines, depth + 1)
        lines.append(f"{pad}</outline>")
