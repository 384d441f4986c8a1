"""HTML fragments built in Python: highlighted snippets, the annotated article text and the attention chart.

Every piece of article content goes through ``html.escape`` here; the templates mark only these return values
safe. Snippets from Elasticsearch are HTML-escaped by its highlighter already, but they are taken apart and
escaped again (not trusted), so only our own ``<mark>`` tags survive whatever the stored text holds.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

_EM = re.compile(r"(<em>.*?</em>)", re.DOTALL)
# one colour per kind of mention; the legend on the article page uses the same classes
MENTION_KINDS = ("group", "PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT")
SAFE_SCHEMES = ("http://", "https://")


def snippet(highlighted: str | None, fallback: str | None = None) -> Markup:
    """An Elasticsearch highlight (escaped text, matches in ``<em>``) as markup with the matches in ``<mark>``."""
    if not highlighted:
        return Markup(html.escape(fallback or ""))
    out = []
    for part in _EM.split(highlighted):
        if part.startswith("<em>") and part.endswith("</em>"):
            out.append(f"<mark>{html.escape(html.unescape(part[4:-5]))}</mark>")
        elif part:
            out.append(html.escape(html.unescape(part)))
    return Markup("".join(out))


# scripts written right to left: their text gets dir="rtl" outright, the rest dir="auto" (the first strong
# character decides), so an Arabic full stop or "…" lands on the left and an English title stays left-to-right
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ps", "ur", "yi", "dv", "ku", "sd", "ug"})
# a language's name in that language, for the language facet (the code for any other)
LANGUAGE_NAMES = {"en": "English", "fr": "français", "ar": "العربية", "es": "español", "de": "Deutsch",
                  "pt": "português", "it": "italiano", "ru": "русский", "tr": "Türkçe", "fa": "فارسی"}  # fmt: skip
_LANG_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


def text_attrs(language: str | None) -> Markup:
    """The ``lang`` and ``dir`` attributes for a piece of article text (title, snippet, name) in ``language``,
    the article's stored ISO 639-1 code: screen readers then speak it in its own voice. Without a well-formed
    code only ``dir="auto"`` (the page's ``lang="en"`` would be a lie, so no ``lang`` is claimed)."""
    code = (language or "").strip()
    if not _LANG_TAG.fullmatch(code):
        return Markup(' dir="auto"')
    direction = "rtl" if code.split("-")[0].lower() in RTL_LANGUAGES else "auto"
    return Markup(f' lang="{html.escape(code)}" dir="{direction}"')


def language_name(code: str | None) -> str:
    """The language's own name for its code (``fr`` -> ``français``), or the code."""
    return LANGUAGE_NAMES.get((code or "").lower(), code or "")


def safe_url(url: str | None) -> str | None:
    """``url`` when it is http(s), else None: a ``javascript:`` or ``data:`` link from a page is never a link."""
    if url and url.strip().lower().startswith(SAFE_SCHEMES):
        return url.strip()
    return None


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "group" or an entity type
    label: str  # the canonical name or group id, shown as a tooltip


def mention_spans(doc: dict[str, Any]) -> list[Span]:
    """Group and entity mentions whose offsets really point at their surface form in ``doc["text"]``,
    without overlaps (groups win over entities, then the earlier and longer mention)."""
    text = doc.get("text") or ""
    spans: list[Span] = []
    for group in doc.get("groups") or ():
        spans += _spans(text, group.get("mentions"), "group", str(group.get("name") or group.get("id")))
    for entity in doc.get("entities") or ():
        kind = str(entity.get("type") or "")
        if kind in MENTION_KINDS:
            spans += _spans(text, entity.get("mentions"), kind, str(entity.get("canonical") or ""))
    spans.sort(key=lambda s: (s.start, s.kind != "group", -(s.end - s.start)))
    kept: list[Span] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def _spans(text: str, mentions: Any, kind: str, label: str) -> list[Span]:
    out = []
    for m in mentions or ():
        try:
            start, end = int(m["start"]), int(m["end"])
        except (KeyError, TypeError, ValueError):
            continue
        surface = str(m.get("surface") or "")
        if 0 <= start < end <= len(text) and (not surface or text[start:end].casefold() == surface.casefold()):
            out.append(Span(start, end, kind, label))
    return out


def annotated_text(doc: dict[str, Any]) -> Markup:
    """The article text as paragraphs, each mention in a ``<mark class="m-KIND">`` with its canonical name."""
    text = doc.get("text") or ""
    pieces: list[str] = []
    cursor = 0
    for span in mention_spans(doc):
        pieces.append(html.escape(text[cursor : span.start]))
        pieces.append(
            f'<mark class="m m-{span.kind.lower()}" title="{html.escape(span.kind)}: {html.escape(span.label)}">'
            f"{html.escape(text[span.start : span.end])}</mark>"
        )
        cursor = span.end
    pieces.append(html.escape(text[cursor:]))
    joined = "".join(pieces)
    paragraphs = [p for p in re.split(r"\n\s*\n|\n", joined) if p.strip()]
    return Markup("".join(f"<p>{p}</p>" for p in paragraphs))


def attention_svg(
    buckets: Sequence[tuple[str, int, int]], *, interval: str, width: int = 720, height: int = 180
) -> Markup:
    """Bars: matching articles per bucket; line: their share of all articles in that bucket.

    Drawn on the server as SVG with presentation attributes only (no script, no inline style), so the page's
    content security policy needs nothing extra and the chart works without JavaScript.
    """
    if not buckets:
        return Markup("")
    pad_left, pad_right, pad_top, pad_bottom = 36, 36, 10, 24
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    peak = max(count for _, count, _ in buckets) or 1
    step = plot_w / len(buckets)
    bar_w = max(step * 0.8, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" preserveAspectRatio="none" '
        f'aria-label="Matching articles per {html.escape(interval)} and share of all articles" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{pad_left + plot_w}" y2="{pad_top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{pad_left - 4}" y="{pad_top + 10}" text-anchor="end" font-size="10" fill="#555">{peak}</text>',
        f'<text x="{pad_left + plot_w + 4}" y="{pad_top + 10}" font-size="10" fill="#b35900">100%</text>',
    ]
    points = []
    for i, (day, count, total) in enumerate(buckets):
        x = pad_left + i * step
        h = plot_h * count / peak
        share = count / total if total else 0.0
        label = f"{day}: {count} matching of {total} ({share:.0%})"
        parts.append(
            f'<rect class="bar" x="{x + (step - bar_w) / 2:.1f}" y="{pad_top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="#3465a4"><title>{html.escape(label)}</title></rect>'
        )
        points.append(f"{x + step / 2:.1f},{pad_top + plot_h * (1 - share):.1f}")
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#b35900" stroke-width="2"/>')
    for i in sorted({0, len(buckets) - 1}):
        anchor = "start" if i == 0 else "end"
        x = pad_left + (i * step if i == 0 else (i + 1) * step)
        parts.append(
            f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}" font-size="10" fill="#555">'
            f"{html.escape(buckets[i][0])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
