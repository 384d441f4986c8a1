"""Event watches in the workbench (real server on the real node): the form reached from the events view with its
filters, the API, and the inbox showing an event alert's fields and sentence (escaped, in its language)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from search.alerting.alerts import create_alerts
from search.alerting.eventwatch import EventCriteria
from search.alerting.matching import Match
from search.alerting.watches import get_watch
from search.indices import setup_indices
from search.names import IndexNames
from tests.support.web import WebServer, csrf_of, web_settings


@pytest.fixture()
def server(es: Elasticsearch, es_url: str, index_names: IndexNames, tmp_path: Path) -> Iterator[WebServer]:
    setup_indices(es, index_names)
    with WebServer(web_settings(es_url, index_names.prefix, tmp_path, auth=False)) as running:
        yield running


def test_the_events_view_leads_to_a_filled_form_that_saves_an_event_watch(
    server: WebServer, es: Elasticsearch, index_names: IndexNames
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as web:
        events = web.get("/events", params={"type": "attack", "group": "JNIM", "country": "BF"}).text
        assert 'id="events-watch"' in events
        link = events.split('id="events-watch"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        form = web.get(link + "&min_fatalities=5").text
        assert 'value="attack" checked' in form and 'value="explosion_remote_violence">' in form
        assert 'value="JNIM"' in form and 'value="BF"' in form and 'value="5"' in form
        fields = {"name": "JNIM in BF", "type": ["attack", "explosion_remote_violence"], "group": "JNIM",
                  "country": "bf", "min_fatalities": "5", "csrf_token": csrf_of(form)}  # fmt: skip
        saved = web.post("/watches/events", data=fields)
        assert saved.status_code == 303 and saved.headers["location"] == "/watches?saved=JNIM+in+BF"
        watch = get_watch(es, index_names, "jnim in bf")
        assert (
            watch.kind == "event" and watch.query_text == "attack|explosion_remote_violence by jnim in BF, >= 5 killed"
        )
        assert EventCriteria.from_doc(watch.query["events"]).min_fatalities == 5
        again = web.post("/watches/events", data={**fields, "min_fatalities": "many"})
        assert again.status_code == 400 and "Back" in again.text

        api = web.post("/api/v1/watches/events", json={"name": "Timbuktu kidnappings", "types": ["abduction"],
                                                       "countries": ["ML"]})  # fmt: skip
        assert api.status_code == 201 and api.json()["kind"] == "event", api.text
        assert web.post("/api/v1/watches/events", json={"name": "Timbuktu kidnappings", "types": ["abduction"]}
                        ).status_code == 409  # fmt: skip
        bad = web.post("/api/v1/watches/events", json={"name": "x", "types": ["riot"]})
        assert bad.status_code == 400 and "riot" in bad.json()["message"]
        nobody = web.post("/api/v1/watches/events", json={"name": "x", "groups": ["no such group"]})
        assert nobody.status_code == 400 and "no tracked group" in nobody.json()["message"]
        empty = web.post("/api/v1/watches/events", json={"name": "x"})
        assert empty.status_code == 400 and "at least one" in empty.json()["message"]
        listed = {w["name"]: w["kind"] for w in web.get("/api/v1/watches").json()}
        assert listed == {"JNIM in BF": "event", "Timbuktu kidnappings": "event"}
        tested = web.get("/api/v1/watches/JNIM in BF/test")
        assert tested.status_code == 400 and "event watch" in tested.json()["message"]


def test_the_inbox_shows_an_event_alert_escaped_and_in_its_language(
    server: WebServer, es: Elasticsearch, index_names: IndexNames
) -> None:
    sentence = "قتل مسلحون <script>alert(1)</script> خمسة جنود قرب جيبو"
    event = {"type": "attack", "subtype": None, "actor_ids": ["jnim"], "actors": ["<b>JNIM</b>"],
             "place": {"id": "djibo", "name": "Djibo", "country": "BF"}, "date": "2026-12-06", "fatalities": 5,
             "wounded": None, "claim": None, "sentence": sentence, "language": "ar"}  # fmt: skip
    match = Match(
        watch_id="query-x", watch_name="JNIM in BF", watch_kind="event", channels=(), group_id=None,
        group_name=None, article_id="a1", title="t", url="http://127.0.0.1/a1", source="s", published_at=None,
        indexed_at=None, content_hash=None, surface_forms=("<b>JNIM</b>",), passage=sentence, event=event,
    )  # fmt: skip
    assert len(create_alerts(es, index_names, [match], now=datetime.now(UTC)).created) == 1
    page = httpx.get(f"{server.url}/alerts", timeout=30).text
    assert '<p class="event">attack by &lt;b&gt;JNIM&lt;/b&gt; at Djibo (BF) on 2026-12-06, 5 killed</p>' in page
    quote = page.split('class="event-sentence"')[1].split("</blockquote>")[0]
    assert quote.startswith(' lang="ar" dir="rtl">') and "&lt;script&gt;" in quote and "<script>" not in quote
