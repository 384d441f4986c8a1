"""Accessibility in real Chromium (Debian's package through Playwright's ``executable_path``) on a real uvicorn
server over the real node: axe-core (from the npm registry, pinned, installed by ``make setup`` into .cache/axe)
runs on every page and finds no serious or critical violation; every page has one h1 and a skip link as its first
stop; on the search page the skip link lands in the query box; times carry their zone. And triage by a second
user: an analyst acknowledges an alert for the team and gives it to a colleague, who finds it under "assigned to
me" with who did what."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from search.names import IndexNames
from tests.support.search_docs import make_doc
from tests.support.web import PASSWORD, WebServer, add_users, corpus_without_seed, fill, seed_story, web_settings

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = Path(__file__).resolve().parents[1] / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
GAO = "gn:2457163"
SIGNED_IN_PAGES = [
    "/search", "/search?q=attack", "/articles/seed", "/articles/ar-gao", "/alerts", "/watches",
    "/watches/new?q=Libya&preview=true", "/feeds", "/saved", "/users", f"/places/{GAO}", "/articles/no-such-article",
    "/entities/group/aqim", "/entities/person/Khalifa Haftar", "/events", "/events?type=attack&min_fatalities=1",
    "/compare?s=group:aqim&s=attack&y=share", "/watches/events/new",
]  # fmt: skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make setup` installs it"),
    pytest.mark.skipif(not AXE.is_file(), reason="axe-core is not installed: `make setup` installs it"),
]


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=True)
    arabic = make_doc("ar-gao", title="هجوم مسلح قرب غاو.", text="قال مسؤولون إن مسلحين هاجموا موقعا للجيش قرب غاو.",
                      language="ar", source="wire-ar", entities={"GPE": ["غاو"]})  # fmt: skip
    try:
        with WebServer(settings) as srv:
            seed_story(es, IndexNames(prefix=prefix))  # and the AQIM watch's alert for it
            fill(es, IndexNames(prefix=prefix), [*corpus_without_seed(), arabic])
            add_users(settings)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def _signed_in(chromium: Any, base: str, username: str) -> Any:
    # the workbench's CSP allows no inline script: the test's own context may inject axe-core past it
    page = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/search")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/search")
    return page


def _serious(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, as "rule: first offending element"."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes[0].html.slice(0, 200))"
    )
    return list(found)


def _first_tab_stop(page: Any) -> str:
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    return str(page.evaluate("() => document.activeElement.className"))


def test_every_page_passes_axe_and_has_one_h1_and_a_skip_link_first(server: WebServer, chromium: Any) -> None:
    page = _signed_in(chromium, server.url, "adam")  # an admin sees every page, /users too
    checked = []
    for path in SIGNED_IN_PAGES:
        page.goto(server.url + path)
        assert page.locator("h1").count() == 1, path
        assert _first_tab_stop(page) == "skip-link", path
        assert _serious(page) == [], path
        checked.append(path)
    page.context.close()
    signed_out = chromium.new_context(bypass_csp=True).new_page()
    signed_out.goto(f"{server.url}/login")
    assert signed_out.locator("h1").count() == 1 and _serious(signed_out) == []
    signed_out.context.close()
    assert len(checked) == len(SIGNED_IN_PAGES)


def test_the_skip_link_of_the_search_page_lands_in_the_query_box(server: WebServer, chromium: Any) -> None:
    page = _signed_in(chromium, server.url, "vera")
    page.goto(f"{server.url}/search")
    assert _first_tab_stop(page) == "skip-link"
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to the search box"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "q"
    page.keyboard.type("Libya")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=Libya*")
    page.goto(f"{server.url}/alerts")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link of other pages: to the content, whose first field comes next
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name") == "watch"
    assert " UTC" in page.locator("ol.alerts .meta").first.inner_text()  # times say their zone
    page.context.close()


def test_a_second_user_triages_an_alert_the_first_one_took_on(server: WebServer, chromium: Any) -> None:
    ana = _signed_in(chromium, server.url, "ana")
    ana.goto(f"{server.url}/alerts")
    alert = ana.locator("ol.alerts > li").first
    alert.get_by_label("Assignee").select_option("adam")
    alert.locator("button.assign").click()
    ana.wait_for_url("**/alerts*")
    alert = ana.locator("ol.alerts > li").first
    alert.get_by_label("for the team").check()
    alert.locator("button.ack").click()
    ana.wait_for_url("**/alerts*")
    ana.context.close()

    adam = _signed_in(chromium, server.url, "adam")
    adam.goto(f"{server.url}/alerts")
    adam.get_by_label("assigned to me").check()
    adam.locator("form.filters-inline button[type=submit]").click()
    adam.wait_for_url("**mine=true*")
    rows = adam.locator("ol.alerts > li")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "assigned to adam by ana" in text and "acknowledged for the team by ana" in text
    assert _serious(adam) == []
    adam.get_by_label("not acknowledged").check()  # acknowledged by the team: gone from adam's open work too
    adam.locator("form.filters-inline button[type=submit]").click()
    adam.wait_for_url("**unacknowledged=true*")
    assert adam.locator("ol.alerts > li").count() == 0 and adam.locator("#no-alerts").is_visible()
    adam.context.close()
