"""Right-to-left text in real Chromium (Debian's package through Playwright's ``executable_path``), on a real
uvicorn server over the real node: an Arabic article's title, snippet and text carry ``lang="ar"`` and run right
to left (computed ``direction: rtl``), an English one stays left to right, and the page itself stays English."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from search.names import IndexNames
from tests.support.search_docs import make_doc
from tests.support.web import PASSWORD, WebServer, add_users, fill, web_settings

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARABIC_TITLE = "هجوم مسلح قرب غاو."
ARABIC_TEXT = "قال مسؤولون إن مسلحين هاجموا موقعا للجيش قرب غاو في مالي."

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make setup` installs it"),
]


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=True)
    docs = [
        make_doc("ar-gao", title=ARABIC_TITLE, text=ARABIC_TEXT, language="ar", source="wire-ar",
                 published_at="2024-05-12T09:00:00+00:00", entities={"GPE": ["غاو"]}),
        make_doc("en-gao", title="Attack near Gao.", text="Gunmen attacked an army post near Gao in Mali.",
                 source="wire-en", published_at="2024-05-10T09:00:00+00:00", entities={"GPE": ["Gao"]}),
    ]  # fmt: skip
    try:
        with WebServer(settings) as srv:
            fill(es, IndexNames(prefix=prefix), docs)
            add_users(settings)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def page(server: WebServer) -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{server.url}/search")
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/search")
        yield page
        chromium.close()


def _looks(locator: Any) -> tuple[str, str]:
    """(computed direction, language as the browser resolves it for screen readers: the nearest lang)."""
    return locator.evaluate("e => [getComputedStyle(e).direction, e.closest('[lang]').getAttribute('lang')]")  # type: ignore[no-any-return]


def test_arabic_results_run_right_to_left_and_english_ones_left_to_right(server: WebServer, page: Any) -> None:
    page.goto(f"{server.url}/search?q=Gao+OR+غاو&sort=newest")
    assert page.locator("ol.hits li.hit").count() == 2
    assert page.evaluate("document.documentElement.lang") == "en"
    arabic, english = page.locator("ol.hits li.hit").nth(0), page.locator("ol.hits li.hit").nth(1)
    assert arabic.locator("a.title").inner_text() == ARABIC_TITLE
    assert _looks(arabic.locator("a.title")) == ["rtl", "ar"]
    assert _looks(arabic.locator("p.passage").first) == ["rtl", "ar"]
    # the snippet's closing ellipsis sits at the left end of the line, where Arabic ends
    box = arabic.locator("p.passage").first.evaluate(
        "p => { const r = document.createRange(); const t = p.lastChild; r.setStart(t, t.length - 1);"
        " r.setEnd(t, t.length); const e = r.getBoundingClientRect(); const b = p.getBoundingClientRect();"
        " return [e.left - b.left, b.right - e.right]; }"
    )
    assert box[0] < box[1], box
    assert english.locator("a.title").inner_text() == "Attack near Gao."
    assert _looks(english.locator("a.title")) == ["ltr", "en"]
    assert _looks(english.locator("p.passage").first) == ["ltr", "en"]
    facet = page.locator("a.facet[data-facet=entity] >> text=غاو")
    assert facet.evaluate("e => getComputedStyle(e).direction") == "rtl"  # a name in Arabic, dir="auto"


def test_an_arabic_article_page_runs_right_to_left(server: WebServer, page: Any) -> None:
    page.goto(f"{server.url}/articles/ar-gao")
    assert _looks(page.locator("#article-title")) == ["rtl", "ar"]
    assert _looks(page.locator("#article-text")) == ["rtl", "ar"]
    assert page.locator("#article-text").inner_text().strip() == ARABIC_TEXT
    assert _looks(page.locator("main dl.meta-grid")) == ["ltr", "en"]  # the labels stay English
    page.goto(f"{server.url}/articles/en-gao")
    assert _looks(page.locator("#article-title")) == ["ltr", "en"]
