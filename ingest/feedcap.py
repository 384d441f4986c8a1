"""Cutting a feed document down to a number of entries before feedparser reads it.

feedparser builds every entry of a document and has no limit of its own: a feed listing 20,000 entries cost
18 MB and seconds of CPU on every pass. Entry boundaries are found here with a byte pattern (milliseconds on
megabytes), and a longer document is rebuilt from its head, the entries kept and its tail (the closing
``</channel></rss>``, ``</rdf:RDF>`` or ``</feed>``), so it stays well-formed XML.

When the opening and closing tags do not pair up (an entry tag inside CDATA, an encoding that is not
ASCII-compatible such as UTF-16), nothing is cut: the body is still bounded by the fetcher's byte cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RSS <item>, Atom <entry>, with or without a namespace prefix; <items> (RSS 1.0's table of contents) is not one.
_ENTRY_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")
_ENTRY_CLOSE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


@dataclass(frozen=True)
class EntryLayout:
    """Where a document's entries are: the start of the first, and the end of each."""

    body: bytes
    first_start: int
    ends: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.ends)

    def first(self, n: int) -> bytes:
        """The document with only its first ``n`` entries (document order)."""
        return self.body[: self.ends[n - 1]] + self.body[self.ends[-1] :] if n < self.count else self.body

    def last(self, n: int) -> bytes:
        """The document with only its last ``n`` entries (document order)."""
        return self.body[: self.first_start] + self.body[self.ends[-n - 1] :] if n < self.count else self.body


def entry_layout(body: bytes) -> EntryLayout | None:
    """The document's entry boundaries, or None when its tags do not pair up (then it is not cut)."""
    ends = tuple(m.end() for m in _ENTRY_CLOSE.finditer(body))
    if not ends:
        return None
    opens = [m.start() for m in _ENTRY_OPEN.finditer(body)]
    if len(opens) != len(ends) or any(start >= end for start, end in zip(opens, ends, strict=True)):
        return None
    return EntryLayout(body, opens[0], ends)
