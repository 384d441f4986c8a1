"""The events page in real Chromium at desktop and phone widths: the table, the chart and the map fit the
viewport (the table scrolls inside its own box, the page never sideways), the Arabic sentence is right to left,
a map point narrows the view to its place and the filters survive in the URL. Screenshots as in
tests/test_web_map_browser.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.test_events_view import base, prefix  # noqa: F401 (the module's server and its indices)
from tests.test_web_map_browser import SHOTS, VIEWPORTS

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make setup` installs it"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.mark.parametrize("name", sorted(VIEWPORTS))
def test_events_page_at_desktop_and_phone_widths(base: str, browser: object, name: str) -> None:  # noqa: F811
    viewport = VIEWPORTS[name]
    width = viewport["width"]
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/events?type=abduction&type=attack")
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
    for selector in ("#event-map svg", "#event-series svg", "#event-table"):
        box = page.locator(selector).bounding_box()
        assert box and box["width"] > 0.6 * min(width, 800) and box["x"] >= 0, (selector, box)
    for selector in ("#event-map svg", "#event-series svg"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] + box["width"] <= width + 0.5, (selector, box)
    arabic = page.locator("td.sentence[lang=ar]").first
    assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert page.locator("tr.event-row").count() == 14  # every golden report; the arrest is left out
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"events-{width}.png"), full_page=True)
    page.locator('#event-map a.place-point[data-place="gn:2457163"]').first.click()
    page.wait_for_url("**place=gn%3A2457163**")
    assert page.locator("tr.event-row").count() == 3  # Gao's kidnapping, in three languages
    assert page.locator('input[name="type"][value="abduction"]').is_checked()  # the filters are kept
    context.close()
