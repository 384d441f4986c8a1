"""The map in real Chromium (Debian's package through Playwright's ``executable_path``) at desktop and phone
widths: drawn inside its column (no sideways scrolling), its points visible and large enough to tap, a point
followed to the filtered search, and the place page of Gao. Screenshots go to a temporary folder, or to
``WIREWATCH_SCREENSHOTS`` when set (``make screenshots``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from search.indices import setup_indices
from search.names import IndexNames
from tests.support.web import WebServer, fill, web_settings
from tests.test_web_map import GAO, corpus  # noqa: F401 (the corpus fixture)

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(os.environ.get("WIREWATCH_SCREENSHOTS") or Path(tempfile.gettempdir()) / "wirewatch-screenshots")
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
QUERY = "/search?q=attacked+OR+attaqu%C3%A9+OR+attaque&collapse=0"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make setup` installs it"),
]


@pytest.fixture()
def base(es: Elasticsearch, index_names: IndexNames, corpus: list[dict[str, object]], es_url: str,  # noqa: F811
         index_prefix: str, tmp_path: Path) -> Iterator[str]:  # fmt: skip
    setup_indices(es, index_names)
    fill(es, index_names, corpus)
    with WebServer(web_settings(es_url, index_prefix, tmp_path, auth=False)) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _check_map(page: object, selector: str, width: int) -> None:
    """The map is drawn, fits the viewport, each point is a visible target of at least 8 CSS pixels and each
    name is at least 11 pixels high."""
    box = page.locator(f"{selector} svg").bounding_box()  # type: ignore[attr-defined]
    assert box and box["width"] > 0.6 * min(width, 800) and box["height"] > 150, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0  # type: ignore[attr-defined]
    points = page.locator(f"{selector} a.place-point circle")  # type: ignore[attr-defined]
    assert points.count() >= 1
    for i in range(points.count()):
        dot = points.nth(i).bounding_box()
        assert dot and dot["width"] >= 8 and box["x"] <= dot["x"] and dot["x"] + dot["width"] <= box["x"] + box["width"]
    labels = page.locator(f"{selector} svg text")  # type: ignore[attr-defined]
    assert labels.count() >= 1
    for i in range(labels.count()):
        label = labels.nth(i).bounding_box()
        assert label and label["height"] >= 11, label  # readable names at either width


@pytest.mark.parametrize("name", sorted(VIEWPORTS))
def test_map_at_desktop_and_phone_widths(base: str, browser: object, name: str) -> None:
    viewport = VIEWPORTS[name]
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}{QUERY}")
    _check_map(page, "#results-map", viewport["width"])
    assert page.locator("#results-map a.place-point").count() == 3
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"map-search-{viewport['width']}.png"), full_page=True)
    page.locator(f'#results-map a.place-point[data-place="{GAO}"]').click()
    page.wait_for_url("**place=gn%3A2457163**")
    assert page.locator("#total").inner_text() == "2"
    page.goto(f"{base}/places/{GAO}")
    _check_map(page, "#place-map", viewport["width"])
    assert page.locator("#place-name").inner_text() == "Gao"
    page.screenshot(path=str(SHOTS / f"map-place-{viewport['width']}.png"), full_page=True)
    context.close()
