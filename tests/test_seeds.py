"""The seed corpus: the page gives back the seed body through plain trafilatura, the server behaves like a
well-mannered news site (ETag, Last-Modified, 304), and the feeds point at the page."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ingest.feedlist import load_feed_list
from ingest.feeds import parse_feed_bytes
from seeds.server import ARTICLE_PATH, COMPANION_PATHS, SeedServer, render

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
EXPECTED = json.loads((SEEDS / "expected.json").read_text(encoding="utf-8"))


def _normalised(text: str) -> str:
    return " ".join(text.split())


def test_expected_json_matches_the_seed_text() -> None:
    title, _, body = (SEEDS / "000_696f0085cf931ac6.txt").read_text(encoding="utf-8").partition("\n")
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    assert EXPECTED["title"] == title.strip()
    assert paragraphs[-1] == "Print Friendly, PDF & Email"  # the seed's scraped boilerplate line
    assert EXPECTED["paragraphs"] == paragraphs[:-1]


def test_trafilatura_gives_back_the_body_and_none_of_the_boilerplate() -> None:
    import trafilatura

    html = render("article.html", "http://127.0.0.1:8000").decode("utf-8")
    text = trafilatura.extract(html)
    assert text is not None
    headline, _, body = text.partition("\n")
    assert headline == EXPECTED["title"]  # trafilatura keeps the <h1> that opens the article
    assert _normalised(body) == _normalised(EXPECTED["text"])
    for snippet in EXPECTED["boilerplate"]:
        assert snippet not in text, snippet


def test_page_has_the_metadata_a_news_page_carries() -> None:
    html = render("article.html", "http://seed.test").decode("utf-8")
    assert f'<h1 class="entry-title">{EXPECTED["title"].replace("&", "&amp;")}</h1>' in html
    assert '<link rel="canonical" href="http://seed.test/news/2018/02/isis-terror-path-libya.html">' in html
    for tag in ("og:title", "og:site_name", "og:url", "article:published_time"):
        assert f'property="{tag}"' in html
    for paragraph in EXPECTED["paragraphs"]:
        assert paragraph.replace("&", "&amp;") in html


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_server_renders_its_base_url_and_answers_conditional_requests() -> None:
    with SeedServer() as server:
        status, headers, body = _get(server.base_url + "/rss.xml")
        assert status == 200 and server.article_url.encode() in body and b"{base}" not in body
        assert _get(server.base_url + "/rss.xml", {"If-None-Match": headers["ETag"]})[0] == 304
        assert _get(server.base_url + "/rss.xml", {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
        assert _get(server.base_url + "/rss.xml", {"If-None-Match": '"other"'})[0] == 200
        assert _get(server.base_url + "/news/2018/02/sabha-clashes-army.html")[0] == 404
        assert [h.status for h in server.hits] == [200, 304, 304, 200, 404]


@pytest.mark.parametrize("feed", ["rss.xml", "atom.xml"])
def test_each_feed_links_the_article_and_a_missing_page(feed: str) -> None:
    base = "http://127.0.0.1:8000"
    parsed = parse_feed_bytes(render(feed, base), url=f"{base}/{feed}")
    links = [entry["link"] for entry in parsed.entries]
    assert len(links) == 2 and parsed.problem is None
    assert links[0].split("?")[0] == base + ARTICLE_PATH
    assert links[1].startswith(base + "/news/") and links[1].split("?")[0] != base + ARTICLE_PATH


def test_feed_list_uses_the_server_base_url() -> None:
    feeds = load_feed_list(SEEDS / "feeds.yaml", base_url="http://127.0.0.1:5555")
    assert [(f.id, f.url) for f in feeds] == [
        ("seed-rss", "http://127.0.0.1:5555/rss.xml"),
        ("seed-atom", "http://127.0.0.1:5555/atom.xml"),
        ("seed-fr", "http://127.0.0.1:5555/fr/rss.xml"),
        ("seed-ar", "http://127.0.0.1:5555/ar/rss.xml"),
    ]


COMPANIONS = sorted(EXPECTED["companions"])


@pytest.mark.parametrize("lang", COMPANIONS)
def test_companion_page_gives_back_its_body_and_none_of_the_boilerplate(lang: str) -> None:
    import trafilatura

    expected = EXPECTED["companions"][lang]
    html = render(expected["page"], "http://127.0.0.1:8000").decode("utf-8")
    text = trafilatura.extract(html)
    assert text is not None
    headline, _, body = text.partition("\n")
    assert headline == expected["title"]
    assert body.split("\n") == expected["paragraphs"] and expected["text"] == body
    for snippet in expected["boilerplate"]:
        assert snippet not in text, snippet
        assert snippet in html  # the page does carry it: a realistic page, not a bare article


@pytest.mark.parametrize("lang", COMPANIONS)
def test_companion_page_declares_its_language_and_direction(lang: str) -> None:
    expected = EXPECTED["companions"][lang]
    html = render(expected["page"], "http://seed.test").decode("utf-8")
    opening = html.split("\n", 2)[1]
    assert f'lang="{lang}' in opening and ('dir="rtl"' in opening) == (expected["direction"] == "rtl")
    assert f'<link rel="canonical" href="http://seed.test{COMPANION_PATHS[lang]}">' in html
    for tag in ("og:title", "og:site_name", "og:url", "article:published_time"):
        assert f'property="{tag}"' in html


@pytest.mark.parametrize("lang", COMPANIONS)
def test_companion_feed_links_its_page(lang: str) -> None:
    base = "http://127.0.0.1:8000"
    parsed = parse_feed_bytes(render(f"rss_{lang}.xml", base), url=f"{base}/{lang}/rss.xml")
    assert parsed.problem is None
    assert [entry["link"] for entry in parsed.entries] == [base + COMPANION_PATHS[lang]]
    assert parsed.entries[0]["title"] == EXPECTED["companions"][lang]["title"]


def test_server_serves_the_companions() -> None:
    with SeedServer() as server:
        for lang, url in server.companion_urls.items():
            status, headers, body = _get(url)
            assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
            assert EXPECTED["companions"][lang]["title"].encode() in body
            assert _get(f"{server.base_url}/{lang}/rss.xml")[0] == 200
