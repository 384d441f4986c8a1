"""The TAXII 2.1 feed, pulled by taxii2-client as OpenCTI or MISP would: discovery -> API root -> collections ->
objects, added_after pages, a second pull with only what is new, per-watch collections, tokens and roles; and
the STIX exports of the HTTP API and the search page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import requests
import stix2
from elasticsearch import Elasticsearch
from stix2validator import validate_string
from taxii2client.v21 import Server, as_pages

from search.names import IndexNames
from tests.support.stix import alerted, bulk_alerts, places_article, write_watchlist
from tests.support.web import WebServer, add_users, web_settings
from wirewatch.web.store import WebStore


class Bearer(requests.auth.AuthBase):
    """What a platform's TAXII connector sends: the workbench API token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    tmp = tmp_path_factory.mktemp("taxii")
    settings = web_settings(es_url, prefix, tmp, auth=True).model_copy(
        update={"watchlist_file": write_watchlist(tmp), "web_export_max": 100}
    )
    names = IndexNames(prefix=prefix)
    try:
        with WebServer(settings) as srv:
            add_users(settings)
            yield srv
    finally:
        found = es.indices.get(index=f"{prefix}*", expand_wildcards="all", allow_no_indices=True)
        if found:
            es.indices.delete(index=",".join(found), ignore_unavailable=True)
        del names


@pytest.fixture(scope="module")
def token(server: WebServer) -> str:
    rt_es = server.app.state.ctx.es
    return WebStore(rt_es, server.app.state.ctx.names).create_token("vera", "opencti")


def _objects(pages: Iterator[dict]) -> list[dict]:
    return [obj for page in pages for obj in page.get("objects", [])]


def test_a_platform_pulls_reports_page_by_page_and_then_only_what_is_new(
    server: WebServer, es: Elasticsearch, token: str
) -> None:
    names = server.app.state.ctx.names
    bulk_alerts(es, names, 30, start=datetime(2024, 6, 1, tzinfo=UTC))
    taxii = Server(f"{server.url}/taxii2/", auth=Bearer(token))
    assert taxii.title == "Wirewatch"
    root = taxii.default
    assert root.versions == ["application/taxii+json;version=2.1"]
    by_title = {c.title: c for c in root.collections}
    alerts = by_title["alerts"]
    assert "watch: Islamic State" in by_title and alerts.can_read and not alerts.can_write

    pages = list(as_pages(alerts.get_objects, per_request=20))
    assert len(pages) > 2  # 20 objects a page: a few reports each
    got = _objects(iter(pages))
    reports = [o for o in got if o["type"] == "report"]
    assert len(reports) == 30 and len({r["id"] for r in reports}) == 30
    assert all(len(p.get("objects", [])) <= 20 for p in pages)
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": got}
    stix2.parse(bundle, allow_custom=False)
    import json

    assert validate_string(json.dumps(bundle)).is_valid

    last = alerts.get_objects(limit=1000)  # the consumer keeps the newest date it saw
    assert len([o for o in last["objects"] if o["type"] == "report"]) == 30
    seen_until = alerts._conn.session.get(  # the header a connector keeps between pulls
        alerts.url + "objects/", headers={"Accept": "application/taxii+json;version=2.1"}, params={"limit": 1000}
    ).headers["X-TAXII-Date-Added-Last"]
    assert seen_until.startswith("2024-06-01T00:00:29")

    nothing = alerts.get_objects(added_after=seen_until)
    assert nothing["more"] is False and "objects" not in nothing
    bulk_alerts(es, names, 33, start=datetime(2024, 6, 1, tzinfo=UTC))  # three more, a second later each
    new = _objects(as_pages(alerts.get_objects, per_request=50, added_after=seen_until))
    assert sorted(r["name"].rsplit("#", 1)[1] for r in new if r["type"] == "report") == ["30", "31", "32"]


def test_a_watch_collection_holds_only_its_watch(server: WebServer, es: Elasticsearch, token: str) -> None:
    names = server.app.state.ctx.names
    doc = places_article("nw-taxii", group="nowiki", name="Katibat Nowhere")
    alerted(es, names, [doc], [{"id": "nowiki", "name": "Katibat Nowhere"}])
    root = Server(f"{server.url}/taxii2/", auth=Bearer(token)).default
    nowiki = next(c for c in root.collections if c.title == "watch: Katibat Nowhere")
    reports = [o for o in nowiki.get_objects()["objects"] if o["type"] == "report"]
    assert [r["name"] for r in reports] == [doc["title"]]


def test_tokens_and_media_types(server: WebServer, token: str) -> None:
    store = WebStore(server.app.state.ctx.es, server.app.state.ctx.names)
    with pytest.raises(requests.HTTPError) as bad:
        Server(f"{server.url}/taxii2/", auth=Bearer("ww_not-a-token")).title  # noqa: B018 - the pull itself
    assert bad.value.response.status_code == 401
    revoked = store.create_token("vera", "old connector")
    assert Server(f"{server.url}/taxii2/", auth=Bearer(revoked)).title == "Wirewatch"
    store.revoke_token(revoked)
    answer = httpx.get(f"{server.url}/taxii2/", headers={"Authorization": f"Bearer {revoked}"})
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    # an expired sign-in is no way in either: a session cookie past its time gets 401, not the login page
    from wirewatch.web.security import SESSION_COOKIE
    from wirewatch.web.store import User as WebUser

    expired = store.create_session(WebUser(username="vera", role="viewer"), hours=-1)
    stale = httpx.get(f"{server.url}/taxii2/api/collections/", cookies={SESSION_COOKIE: expired})
    assert stale.status_code == 401 and stale.json()["error"] == "unauthorized"
    live = store.create_session(WebUser(username="vera", role="viewer"), hours=1)
    assert httpx.get(f"{server.url}/taxii2/api/collections/", cookies={SESSION_COOKIE: live}).status_code == 200
    auth = {"Authorization": f"Bearer {token}"}
    wrong = httpx.get(f"{server.url}/taxii2/", headers={**auth, "Accept": "text/html"})
    assert wrong.status_code == 406 and wrong.headers["content-type"] == "application/taxii+json;version=2.1"
    missing = httpx.get(f"{server.url}/taxii2/api/collections/{uuid.uuid4()}/objects/", headers=auth)
    assert missing.status_code == 404 and missing.json()["http_status"] == "404"
    forged = httpx.get(f"{server.url}/taxii2/api/collections/", headers=auth)
    cid = forged.json()["collections"][0]["id"]
    for params in ({"next": "garbage"}, {"added_after": "yesterday"}, {"limit": "0"}):
        refused = httpx.get(f"{server.url}/taxii2/api/collections/{cid}/objects/", headers=auth, params=params)
        assert refused.status_code == 400, (params, refused.text)


def test_api_and_search_export_stix_bundles(server: WebServer, es: Elasticsearch, token: str) -> None:
    names = server.app.state.ctx.names
    alerted(es, names, [places_article("api-1")], [{"id": "islamic-state", "name": "Islamic State"}])
    auth = {"Authorization": f"Bearer {token}"}
    answer = httpx.get(f"{server.url}/api/v1/stix", headers=auth, params={"group": "islamic-state", "tlp": "green"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/stix+json")
    assert validate_string(answer.text).is_valid
    bundle = stix2.parse(answer.text, allow_custom=False)
    assert {o.object_marking_refs[0] for o in bundle.objects if o.type == "report"} == {stix2.TLP_GREEN.id}
    found = httpx.get(f"{server.url}/api/v1/search/stix", headers=auth, params={"q": "Benghazi"})
    assert found.status_code == 200 and validate_string(found.text).is_valid
    stories = [o for o in stix2.parse(found.text, allow_custom=False).objects if o.type == "report"]
    assert stories and all("Benghazi" in r.name for r in stories)
    bad = httpx.get(f"{server.url}/api/v1/stix", headers=auth, params={"tlp": "amber+strict"})
    assert bad.status_code == 400 and "clear, green, amber or red" in bad.json()["message"]
    assert httpx.get(f"{server.url}/api/v1/stix").status_code == 401
    page = httpx.get(f"{server.url}/search", headers=auth, params={"q": "Benghazi"})
    assert 'id="export-stix"' in page.text and "/api/v1/search/stix?q=Benghazi" in page.text


def test_hostile_watch_names_stay_data(server: WebServer, token: str) -> None:
    """A watch named with markup and JSON-breaking characters is a collection title, as data."""
    from search.alerting.watches import add_query_watch

    hostile = '<script>alert(1)</script>"]}\u202e'
    add_query_watch(server.app.state.ctx.es, server.app.state.ctx.names, hostile, "Benghazi", channels=["file"])
    root = Server(f"{server.url}/taxii2/", auth=Bearer(token)).default
    assert f"watch: {hostile}" in {c.title for c in root.collections}


@pytest.mark.slow
def test_paging_ten_thousand_reports_holds_one_page(
    es: Elasticsearch, es_url: str, index_names: IndexNames, tmp_path: Path
) -> None:
    """Memory while a consumer pages through the whole feed does not grow with the feed: the peak over 10,000
    reports is that over 2,000 (server and consumer in this process, each page dropped once counted)."""
    import tracemalloc

    settings = web_settings(es_url, index_names.prefix, tmp_path, auth=False).model_copy(
        update={"watchlist_file": write_watchlist(tmp_path)}
    )

    def pull(alerts: object) -> tuple[int, int]:
        reports = 0
        tracemalloc.start()
        try:
            for page in as_pages(alerts.get_objects, per_request=1000):  # type: ignore[attr-defined]
                reports += sum(1 for obj in page.get("objects", []) if obj["type"] == "report")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return reports, peak

    bulk_alerts(es, index_names, 2_000)
    with WebServer(settings) as server:
        alerts = next(c for c in Server(f"{server.url}/taxii2/").default.collections if c.title == "alerts")
        small, small_peak = pull(alerts)
        bulk_alerts(es, index_names, 10_000)
        large, large_peak = pull(alerts)
    assert (small, large) == (2_000, 10_000)
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
