"""Export a search as STIX from the workbench in real Chromium: the STIX link beside CSV and JSON downloads a
bundle of the search's stories that the stix2 parser and the OASIS validator accept."""

from __future__ import annotations

from pathlib import Path

import pytest
import stix2
from stix2validator import validate_string

from tests.support.web import WebServer
from tests.test_web_browser import CHROMIUM, DESKTOP, _page, _sign_in, browser, server  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make setup` installs it"),
]


def test_a_search_exports_as_a_stix_bundle(server: WebServer, browser: object) -> None:  # noqa: F811
    page = _page(browser, DESKTOP)
    _sign_in(page, server.url, "vera")
    page.fill("input[name=q]", "Sahel OR Mogadishu")  # type: ignore[attr-defined]
    page.press("input[name=q]", "Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("#export-stix")  # type: ignore[attr-defined]
    with page.expect_download() as info:  # type: ignore[attr-defined]
        page.click("#export-stix")  # type: ignore[attr-defined]
    download = info.value
    assert download.suggested_filename == "wirewatch-search.stix.json"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert validate_string(text).is_valid
    bundle = stix2.parse(text, allow_custom=False)
    reports = sorted(o.name for o in bundle.objects if o.type == "report")
    assert reports == ["Attack in the Sahel", "Shabaab bombing in Mogadishu"]
    sets = {r.external_id: o for o in bundle.objects if o.type == "intrusion-set" for r in o.external_references
            if r.source_name == "wirewatch"}  # fmt: skip
    assert set(sets) == {"jnim", "isis", "shabaab"}
    assert sets["jnim"].name == "Jama'at Nusrat al-Islam wal-Muslimin"  # from the watchlist, with its aliases
    page.context.close()  # type: ignore[attr-defined]
