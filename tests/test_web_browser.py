"""The workbench in real Chromium (Debian's package, driven by Playwright through ``executable_path``), against a
real uvicorn server and the real node: the analyst's path from a search to a saved watch, signing in, a viewer
refused, the hostile article inert, and every page at desktop and phone widths. Screenshots go to a temporary
folder, or to ``WIREWATCH_SCREENSHOTS`` when set: ``make screenshots`` sets it to ``docs/img/`` (the README shows
them), so a test run never changes tracked files."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from search.names import IndexNames
from tests.support.web import PASSWORD, WebServer, add_users, corpus_without_seed, fill, seed_story, web_settings

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(os.environ.get("WIREWATCH_SCREENSHOTS") or Path(tempfile.gettempdir()) / "wirewatch-screenshots")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make setup` installs it"),
]


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=True)
    settings = settings.model_copy(update={"web_page_size": 20})
    try:
        with WebServer(settings) as srv:
            seed_story(es, IndexNames(prefix=prefix))  # the seed article and two copies: one story
            fill(es, IndexNames(prefix=prefix), corpus_without_seed())
            add_users(settings)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _page(browser: object, viewport: dict[str, int]) -> object:
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _sign_in(page: object, base: str, username: str, then: str = "/search") -> None:
    page.goto(f"{base}{then}")  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}{then}")  # type: ignore[attr-defined]


def _shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_search_facet_article_watch_preview_save(server: WebServer, browser: object) -> None:
    page = _page(browser, DESKTOP)
    _sign_in(page, server.url, "ana")
    page.fill("#q", "attack OR Islamic")
    page.click("form#searchform button[type=submit]")
    page.wait_for_url("**/search?q=attack+OR+Islamic*")
    # six articles in four stories: the seed story's three copies are one row
    assert page.inner_text("#total") == "6" and page.inner_text("#stories") == "4"
    assert page.locator("ol.hits li.hit").count() == 4
    assert page.locator("svg.chart rect.bar").count() >= 1
    _shot(page, "search")
    page.click("a.facet[data-facet=group] >> text=jnim")
    page.wait_for_url("**group=jnim*")
    assert page.inner_text("#total") == "1"
    assert "group jnim" in page.inner_text("#active-filters")
    page.go_back()  # the URL is the state: back is the previous search
    assert "group=jnim" not in page.url
    assert page.inner_text("#total") == "6"
    page.go_forward()
    page.click("ol.hits a.title")
    page.wait_for_url("**/articles/sahel")
    assert page.locator("#article-text mark.m-group").count() >= 1
    _shot(page, "article")
    page.go_back()
    page.click("#watch-this")
    page.wait_for_url("**/watches/new?*")
    page.fill("#watch-name", "sahel-attacks")
    page.click("#preview")
    page.wait_for_selector("#preview-results")
    # the search's group filter comes along as a field of the watch's query: the preview keeps it
    assert page.input_value("#watch-q") == "(attack OR Islamic) AND group:jnim"
    assert "It would have raised 1 alert(s)" in page.inner_text("#preview-results h2")
    _shot(page, "watch-preview")
    page.click("#save")
    page.wait_for_url("**/watches?saved=sahel-attacks")
    assert "sahel-attacks" in page.inner_text("#watches")
    _shot(page, "watches")


def test_a_story_of_three_copies_is_one_row_that_expands(server: WebServer, browser: object) -> None:
    page = _page(browser, DESKTOP)
    _sign_in(page, server.url, "ana", then="/search?q=Belmokhtar")
    assert page.locator("ol.hits li.hit").count() == 1
    story = page.locator("ol.hits li.hit details.story")
    assert "3 sources, first seen 2018-02-01 08:00" in story.locator("summary").inner_text()
    assert not story.locator("ul.copies").is_visible()
    story.locator("summary").click()  # a <details>: no script needed
    assert story.locator("ul.copies").is_visible() and story.locator("ul.copies li").count() == 2
    _shot(page, "search-story")
    page.click("#collapse-toggle")
    page.wait_for_url("**collapse=0*")
    assert page.locator("ol.hits li.hit").count() == 3 and page.locator("details.story").count() == 0
    page.fill("#q", "Belmokhtar Libya")  # a new search keeps "every copy"
    page.click("form#searchform button[type=submit]")
    page.wait_for_url("**collapse=0*")
    page.goto(f"{server.url}/articles/seed-copy-1")
    assert page.locator("#copies li").count() == 2


def test_syntax_error_points_with_a_caret(server: WebServer, browser: object) -> None:
    page = _page(browser, DESKTOP)
    _sign_in(page, server.url, "ana", then='/search?q=Libya+%22Islamic+State')
    assert page.inner_text("#caret") == 'Libya "Islamic State\n      ^'
    _shot(page, "syntax-error")


def test_a_viewer_is_refused_an_analyst_action(server: WebServer, browser: object) -> None:
    page = _page(browser, DESKTOP)
    _sign_in(page, server.url, "vera", then="/alerts")
    assert page.locator("form.save-search").count() == 0
    page.goto(f"{server.url}/watches/new?q=attack&preview=true")
    assert "needs the analyst role" in page.inner_text("#error-message")
    # a hand-made form post (the viewer's own valid CSRF token) is refused by role, not just hidden
    page.goto(f"{server.url}/search")
    page.evaluate(
        """() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/saved';
        for (const [k, v] of [['name', 'x'], ['params', 'q=x'],
             ['csrf_token', document.querySelector('meta[name=csrf-token]').content]]) {
          const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }
        document.body.appendChild(f); f.submit(); }"""
    )
    page.wait_for_url(f"{server.url}/saved")
    assert "needs the analyst role" in page.inner_text("#error-message")


def test_the_hostile_article_is_inert(server: WebServer, browser: object) -> None:
    page = _page(browser, DESKTOP)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _sign_in(page, server.url, "ana", then="/articles/hostile")
    assert page.inner_text("#article-title").startswith("<script>window.__pwned=1</script>Breaking")
    assert page.inner_text("#article-author").startswith("<img src=x")
    assert page.locator("#article-text script, #article-text img, #article-text svg, #article-text a").count() == 0
    assert page.locator("#original-link").count() == 0  # javascript: URL shown as text, not a link
    page.goto(f"{server.url}/search?q=Officials")
    assert page.locator("ol.hits script, ol.hits img").count() == 0
    page.goto(f"{server.url}/articles/hostile")
    assert page.evaluate("() => window.__pwned === undefined")
    assert dialogs == []
    _shot(page, "hostile-article")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_pages_fit_the_screen(server: WebServer, browser: object, viewport: dict[str, int]) -> None:
    page = _page(browser, viewport)
    _sign_in(page, server.url, "adam", then="/search?q=attack")
    for path, name in (
        ("/search?q=attack", "search"), ("/articles/seed", "article"), ("/alerts", "alerts"),
        ("/watches", "watches"), ("/feeds", "feeds"), ("/saved", "saved"),
    ):  # fmt: skip
        page.goto(f"{server.url}{path}")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a {viewport['width']}px screen"
        if viewport is PHONE or name in ("alerts", "feeds"):
            _shot(page, f"{name}-{viewport['width']}" if viewport is PHONE else name)
