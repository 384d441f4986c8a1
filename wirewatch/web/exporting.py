"""The rows of a search export: every matching article, page after page, as CSV (UTF-8 with a byte-order mark,
cells a spreadsheet would run as formulas quoted as text) or JSON lines; an export Elasticsearch cuts short says
so in its last line."""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

from wirewatch.web import backend
from wirewatch.web.backend import MAX_LIMIT, SearchRequest
from wirewatch.web.context import WebContext

log = logging.getLogger("wirewatch.web")
# the first twelve in the order earlier exports had them, so a spreadsheet built on those keeps working
EXPORT_FIELDS = (
    "id", "title", "url", "source", "published_at", "groups", "language", "site_name", "entities", "snippet",
    "story_copies", "story_sources", "fetched_at", "group_names", "places", "story_id",
)  # fmt: skip
# spreadsheets (Excel above all) read a CSV without it in the local code page, garbling é and Arabic
UTF8_BOM = "\ufeff"


@dataclass(frozen=True)
class ExportCut:
    """The last item of an export that Elasticsearch failed mid-way: its file must say it is incomplete."""

    rows: int

    @property
    def message(self) -> str:
        return (f"export cut short after {self.rows} row(s): Elasticsearch failed while reading the next page; "
                "this file is incomplete, export again")  # fmt: skip


def export_rows(ctx: WebContext, req: SearchRequest, cap: int) -> Iterator[dict[str, Any] | ExportCut]:
    """Hits page by page through ``search_after`` until ``cap`` rows or the last page: memory stays one page.
    The first page is read now (its errors are raised to the caller); a later page that fails ends the rows
    with an ``ExportCut``."""
    return _rows_from(ctx, req, cap, _export_page(ctx, req, None, cap))


def _export_page(ctx: WebContext, req: SearchRequest, after: str | None, left: int) -> backend.SearchResult:
    page_req = replace(req, after=after, limit=min(MAX_LIMIT, left))
    return backend.search_articles(ctx.es, ctx.names, page_req)


def _rows_from(
    ctx: WebContext, req: SearchRequest, cap: int, page: backend.SearchResult
) -> Iterator[dict[str, Any] | ExportCut]:
    sent = 0
    while True:
        for hit in page.hits:
            yield {k: v for k, v in asdict(hit).items() if k != "score"}
            sent += 1
        if not page.next or not page.hits or sent >= cap:
            return
        try:
            page = _export_page(ctx, req, page.next, cap - sent)
        except Exception:  # the status line is gone: all that is left is to say so in the file, and log why
            log.warning("export cut short after %d rows", sent, exc_info=True)
            yield ExportCut(rows=sent)
            return


def json_lines(rows: Iterator[dict[str, Any] | ExportCut]) -> Iterator[str]:
    for row in rows:
        if isinstance(row, ExportCut):
            line = {"error": "export incomplete", "message": row.message, "rows": row.rows}
        else:  # the CSV's columns, lists kept as lists
            line = dict(zip(EXPORT_FIELDS, _export_values(row), strict=True))
        yield json.dumps(line, ensure_ascii=False) + "\n"


def csv_lines(rows: Iterator[dict[str, Any] | ExportCut]) -> Iterator[str]:
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    for row in rows:
        if isinstance(row, ExportCut):
            writer.writerow([f"error: {row.message}"])
        else:
            writer.writerow([_csv_cell(value) for value in _export_values(row)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _export_values(row: dict[str, Any]) -> list[Any]:
    """A hit's cells in EXPORT_FIELDS order: the snippet is its passages as plain text; the story's size is
    known when results are collapsed by story (empty otherwise)."""
    story = row.get("story") or {}
    values = {
        **row,
        "snippet": " … ".join(html.unescape(_MARKS.sub("", p)) for p in row.get("passages") or ()),
        "story_copies": story.get("copies"),
        "story_sources": len(story["sources"]) if story.get("sources") is not None else None,
    }
    return [values.get(k) for k in EXPORT_FIELDS]


_MARKS = re.compile(r"</?em>")


def _csv_cell(value: Any) -> str:
    text = ";".join(value) if isinstance(value, list) else ("" if value is None else str(value))
    # a cell a spreadsheet would run as a formula is quoted as text (titles come from hostile pages)
    return "'" + text if starts_formula(text) else text


FORMULA_STARTS = frozenset("=+-@\t\r\n")
# minus signs NFKC leaves alone but a spreadsheet may read as "-"
_MINUS_LOOKALIKES = frozenset("\u2212\u2796")  # MINUS SIGN, HEAVY MINUS SIGN


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula: its first character is = + - @ (or a tab or line
    break), also in a full-width or other compatibility form (``＝``, ``﹦``, ``＋``, ``－``, ``＠``...) that
    some spreadsheets fold to the ASCII one, or a minus-sign lookalike."""
    first = text[:1]
    folded = unicodedata.normalize("NFKC", first)[:1]
    return bool(first) and (first in FORMULA_STARTS or first in _MINUS_LOOKALIKES or folded in FORMULA_STARTS)
