"""Canonical URLs, article ids, content hashes and page charsets."""

from __future__ import annotations

import pytest

from ingest.charset import decode_html
from ingest.urls import InvalidURLError, article_id, canonical_url, choose_canonical, content_hash


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTPS://WWW.Example.ORG/News/A?b=2&a=1#top", "https://www.example.org/News/A?a=1&b=2"),
        ("http://example.org:80/a?utm_source=x&utm_medium=y&id=7&fbclid=abc&gclid=z", "http://example.org/a?id=7"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/a?UTM_Campaign=q&mc_cid=1", "https://example.org/a"),
        ("  https://example.org./a  ", "https://example.org/a"),
    ],
)
def test_canonical_url(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


def test_relative_links_resolve_against_the_base() -> None:
    assert canonical_url("../b.html?x=1", base="https://example.org/news/a/") == "https://example.org/news/b.html?x=1"


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "file:///etc/passwd", "mailto:a@b.c", "https://", "//x"])
def test_non_http_urls_are_refused(bad: str) -> None:
    with pytest.raises(InvalidURLError):
        canonical_url(bad)


def test_article_id_is_stable_and_shared_by_share_links() -> None:
    a = article_id(canonical_url("https://example.org/a?utm_source=twitter"))
    b = article_id(canonical_url("https://EXAMPLE.org/a#comments"))
    assert a == b and len(a) == 32 and article_id("https://example.org/b") != a


def test_article_id_is_pinned() -> None:
    # Changing this breaks invariant 1 for every stored article: a reindex would duplicate the corpus.
    assert article_id("https://example.org/a") == "b5b10dd0429e69ac7cfaf0a20b6901c1"


def test_page_canonical_is_used_only_on_the_same_site() -> None:
    fetched = "https://www.example.org/a?utm_source=x"
    assert choose_canonical(fetched, "https://example.org/story/a") == "https://example.org/story/a"
    assert choose_canonical(fetched, "/story/a") == "https://www.example.org/story/a"
    assert choose_canonical(fetched, "https://evil.example.net/a") == "https://www.example.org/a"
    assert choose_canonical(fetched, "javascript:void(0)") == "https://www.example.org/a"
    assert choose_canonical(fetched, None) == "https://www.example.org/a"


def test_content_hash_ignores_whitespace() -> None:
    assert content_hash("a  b\n\nc") == content_hash(" a b c ") != content_hash("a b d")


@pytest.mark.parametrize(
    ("body", "header", "text", "source"),
    [
        ("<p>café</p>".encode(), "utf-8", "<p>café</p>", "header"),
        (
            '<meta charset="windows-1252"><p>café</p>'.encode("cp1252"),
            None,
            '<meta charset="windows-1252"><p>café</p>',
            "page",
        ),
        ("<p>café</p>".encode(), "iso-8859-1", "<p>café</p>", "header (utf-8 bytes)"),
        (b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "iso-8859-1", "<p>café</p>", "bom"),
    ],
)
def test_decode_html(body: bytes, header: str | None, text: str, source: str) -> None:
    decoded, how = decode_html(body, header)
    assert decoded == text
    assert how == source


def test_undeclared_non_utf8_page_is_detected() -> None:
    text = "<html><body><p>" + "Le ministre a déclaré que la sécurité du pays était prioritaire. " * 5 + "</p>"
    decoded, how = decode_html(text.encode("cp1252"), "utf-8")
    assert "déclaré" in decoded and "sécurité" in decoded and how == "detected"
