"""Lines of page furniture that extraction sometimes leaves in the text ("Print Friendly, PDF & Email").

Nothing is tagged inside them: a share widget must not produce an ORG called "PDF & Email". The patterns are
whole lines only, so an article sentence that happens to say "share" is never affected.
"""

from __future__ import annotations

import re

_LINE_PATTERNS = [
    r"print\s+friendly(?:\s*,\s*pdf\s*&\s*email)?",
    r"(?:share|tweet|email|print|pin)(?:\s+(?:this|it|on\s+\w+))*\s*:?",
    r"(?:click\s+to\s+share\s+on\s+\w+.*)",
    r"(?:related(?:\s+(?:posts|articles|stories))?|read\s+more|advertisement|sponsored(?:\s+content)?)\s*:?",
    r"(?:follow\s+us\s+on\s+.{1,60})",
    r"(?:copyright|©)\s*(?:©\s*)?\d{4}.{0,100}",
    r"(?:all\s+rights\s+reserved\.?)",
    r"(?:like\s+this:?|loading\.{0,3})",
]
_BOILERPLATE_LINE = re.compile(r"^[ \t]*(?:" + "|".join(_LINE_PATTERNS) + r")[ \t]*$", re.IGNORECASE | re.MULTILINE)


def boilerplate_spans(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` spans of whole lines of ``text`` that are page furniture."""
    return [(m.start(), m.end()) for m in _BOILERPLATE_LINE.finditer(text) if m.end() > m.start()]
