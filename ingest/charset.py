"""Bytes to text for HTML pages: the header's charset, then the page's own declaration, then detection.

A declaration is used only when the bytes actually decode with it; a page that says UTF-8 but is really
windows-1252 falls through to the next source instead of turning into replacement characters.
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Labels that decode any byte sequence, so "it decoded" proves nothing about them.
_SINGLE_BYTE = {"latin-1", "iso8859-1", "cp1252", "ascii"}


def decode_html(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """Decode a page; returns (text, where the charset came from: header, page, bom, detected, fallback)."""
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "bom"
    meta = _META_CHARSET.search(body[:4096])
    candidates = [(header_charset, "header"), (meta.group(1).decode("ascii") if meta else None, "page")]
    for label, source in candidates:
        codec = _codec(label)
        if codec is None:
            continue
        if codec in _SINGLE_BYTE and _is_utf8_with_non_ascii(body):
            # Servers often label UTF-8 pages as latin-1 by default; the bytes say otherwise.
            return body.decode("utf-8"), f"{source} (utf-8 bytes)"
        try:
            return body.decode(codec), source
        except UnicodeDecodeError:
            continue
    return _detect(body)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    # WHATWG: pages labelled latin-1 / ascii are decoded as windows-1252.
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(body: bytes) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, errors="replace"), "detected"
    return body.decode("utf-8", errors="replace"), "fallback"
