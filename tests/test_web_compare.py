"""Attention over time, compared: two groups on one chart over the real node and the real workbench server
(counts, shares, the default window that no old or future article stretches, the CSV and JSON of the series,
errors with suggestions), and in real Chromium at desktop and phone widths, a bar leading to its search."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.support.search_docs import make_doc
from tests.support.web import PASSWORD, WebServer, login, served_corpus

TODAY = datetime.now(UTC).date()


def _day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def _docs() -> list[dict[str, object]]:
    def doc(doc_id: str, days_ago: int, groups: list[str]) -> dict[str, object]:
        at = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
        return make_doc(doc_id, title=f"Report {doc_id}", groups=groups, published_at=at.isoformat())

    return [
        doc("c-j1", 1, ["jnim"]), doc("c-j3", 3, ["jnim"]), doc("c-j3b", 3, ["jnim"]), doc("c-j10", 10, ["jnim"]),
        doc("c-s3", 3, ["is-sahel"]), doc("c-s20", 20, ["is-sahel"]), doc("c-n3", 3, []),
        make_doc("c-old", groups=["jnim"], published_at="2018-03-01T09:00:00+00:00"),  # an outlier years back
        doc("c-future", -5, ["jnim"]),  # dated in the future: never on the chart
    ]  # fmt: skip


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with served_corpus(es, es_url, tmp_path_factory.mktemp("compare"), _docs()) as srv:
        yield srv


@pytest.fixture(scope="module")
def ana(server: WebServer) -> Iterator[httpx.Client]:
    client = login(server.url, "ana")
    yield client
    client.close()


TWO = [("s", "group:jnim"), ("s", "group:is-sahel")]


def test_two_groups_per_day_with_their_share(ana: httpx.Client) -> None:
    got = ana.get("/api/v1/compare", params=TWO)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["interval"] == "day"
    # the default window: 90 days up to the latest article published (yesterday), not the 2018 outlier
    assert body["dates"][-1] == _day(1) and body["dates"][0] == (TODAY - timedelta(days=1 + 90)).isoformat()
    assert len(body["dates"]) == 91 and all(d <= TODAY.isoformat() for d in body["dates"])
    jnim, sahel = ({d: c for d, c in zip(body["dates"], s["counts"], strict=True) if c} for s in body["series"])
    assert jnim == {_day(10): 1, _day(3): 2, _day(1): 1}
    assert sahel == {_day(20): 1, _day(3): 1}
    day3 = body["dates"].index(_day(3))
    assert body["totals"][day3] == 4  # two JNIM, one IS Sahel, one untagged
    assert body["series"][0]["shares"][day3] == 0.5 and body["series"][1]["shares"][day3] == 0.25
    assert body["series"][0]["shares"][body["dates"].index(_day(2))] is None  # no article that day: no share
    weekly = ana.get("/api/v1/compare", params=[*TWO, ("interval", "week"), ("since", "2018-01-01")]).json()
    assert weekly["interval"] == "week" and sum(weekly["series"][0]["counts"]) == 5  # 2018 included, the future not
    assert weekly["until"][:10] <= TODAY.isoformat()


def test_the_series_as_csv_and_the_errors(ana: httpx.Client) -> None:
    got = ana.get("/api/v1/compare", params=[*TWO, ("format", "csv"), ("since", _day(3)), ("until", _day(1))])
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["date", "all_articles", "group:jnim count", "group:jnim share", "group:is-sahel count",
                       "group:is-sahel share"]  # fmt: skip
    assert rows[1] == [_day(3), "4", "2", "0.5000", "1", "0.2500"]
    assert rows[2] == [_day(2), "0", "0", "", "0", ""] and len(rows) == 4
    bad = ana.get("/api/v1/compare", params=[("s", "group:jnim"), ("s", "group:jnlm")])
    assert bad.status_code == 400
    assert bad.json()["series"] == 1 and "did you mean group:jnim?" in bad.json()["message"]
    six = ana.get("/api/v1/compare", params=[("s", f"word{i}") for i in range(6)])
    assert six.status_code == 400 and "at most 5 series" in six.json()["message"]
    page = ana.get("/compare", params=[("s", "group:<b>jnim")])
    assert page.status_code == 400 and "&lt;b&gt;jnim" in page.text and "<b>jnim" not in page.text


def test_the_page_has_a_chart_a_table_and_links(ana: httpx.Client) -> None:
    page = ana.get("/compare", params=[*TWO, ("since", _day(10)), ("until", _day(1))])
    assert page.status_code == 200
    text = page.text
    assert text.count('class="bar s0"') == 10 and text.count('class="bar s1"') == 10  # one bar per day and series
    assert "articles per day" in text and "publication date (UTC)" in text  # both axes labelled
    link = f'href="/search?q=group%3Ajnim&amp;since={_day(3)}&amp;until={_day(3)}"'
    assert link in text
    table = text[text.index('id="compare-table"') :]
    assert re.search(rf"<th scope=\"row\">{_day(3)}</th><td>4</td><td><a [^>]+>2</a> <span class=\"hint\">50.0%", table)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make setup` installs it")
def test_browser_compares_two_groups(server: WebServer) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for width, height in ((1280, 900), (390, 844)):
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{server.url}/compare")
            page.fill("input[name=username]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server.url}/compare")
            page.fill("#s0", "group:jnim")
            page.fill("#s1", "group:is-sahel")
            page.fill("#since", _day(20))
            page.click("#compare-submit")
            page.wait_for_selector("#compare-chart svg")
            assert "s=group%3Ajnim&s=group%3Ais-sahel" in page.url  # the URL keeps the state
            assert page.locator("#compare-chart rect.bar.s0").count() == 20
            assert page.locator("#compare-chart rect.bar.s1").count() == 20
            # the page itself does not overflow the screen (the chart scrolls in its own box)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.evaluate("document.querySelector('#compare-chart svg').getBoundingClientRect().width") >= 600
            page.screenshot(path=f"/tmp/wirewatch-compare-{width}.png", full_page=True)
            bar = page.locator(f"#compare-chart a[href*='since={_day(3)}'] rect.bar.s0")
            bar.scroll_into_view_if_needed()
            bar.click()
            page.wait_for_url("**/search?*")
            assert page.inner_text("#total") == "2"  # the bar's two JNIM articles of that day
            assert date.fromisoformat(_day(3)).isoformat() in page.url
            page.context.close()
        browser.close()
