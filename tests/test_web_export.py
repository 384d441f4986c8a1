"""The export's columns (language, site, published and fetched times, group names, places, entities, snippet,
story id and number of sources) in CSV with a UTF-8 BOM and in JSON lines, over a real uvicorn server and the
real node: the CSV read back with the csv module keeps French and Arabic intact."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from elasticsearch import Elasticsearch

from search.names import IndexNames
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, add_users, fill, login, web_settings

ARABIC_TITLE = "اختطاف مهندسين قرب غاو، والقاعدة تتبنى."
FRENCH_TITLE = "Enlèvement près de Gao : l'AQMI revendique « l'opération »"
GAO = {"id": "gn:2457163", "name": "Gao", "name_fr": "Gao", "name_ar": "غاو", "kind": "city", "country": "ML",
       "lat": 16.27, "lon": -0.04, "location": {"lat": 16.27, "lon": -0.04}, "count": 1}  # fmt: skip


def corpus() -> list[dict[str, object]]:
    arabic = make_doc("x-ar", title=ARABIC_TITLE, text="اختطف مسلحون مهندسين قرب غاو في مالي.", source="wire-ar",
                      language="ar", groups=["aqim"], published_at="2026-11-12T09:00:00+00:00",
                      entities={"GPE": ["مالي"]})  # fmt: skip
    arabic.update(site_name="الجزيرة", fetched_at="2026-11-12T09:05:00+00:00", places=[GAO], place_ids=[GAO["id"]])
    arabic["groups"] = [{"id": "aqim", "name": "Al-Qaeda in the Islamic Maghreb", "parent": None,
                         "surface_forms": ["القاعدة"], "count": 1, "mentions": []}]  # fmt: skip
    french = make_doc("x-fr", title=FRENCH_TITLE, text="Des hommes armés ont enlevé deux ingénieurs près de Gao.",
                      source="wire-fr", language="fr", published_at="2026-11-11T09:00:00+00:00",
                      entities={"PERSON": ["Iyad Ag Ghaly"]})  # fmt: skip
    french.update(site_name="Le Sahel Quotidien", fetched_at="2026-11-11T10:00:00+00:00", places=[GAO],
                  story_id="story-gao", story_first_seen="2026-11-11T09:00:00+00:00")  # fmt: skip
    copy = {**french, "id": "x-fr-copy", "url": "http://127.0.0.1/x-fr-copy", "canonical_url": "http://127.0.0.1/c",
            "source": "wire-fr2", "published_at": "2026-11-11T12:00:00+00:00"}  # fmt: skip
    return [arabic, french, copy]


@pytest.fixture(scope="module")
def ana(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("export"), auth=True)
    settings = settings.model_copy(update={"web_export_max": 50})
    try:
        with WebServer(settings) as srv:
            fill(es, IndexNames(prefix=prefix), corpus())
            add_users(settings)
            client = login(srv.url, "ana")
            yield client
            client.close()
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


COLUMNS = ["id", "title", "url", "source", "published_at", "groups", "language", "site_name", "entities", "snippet",
           "story_copies", "story_sources", "fetched_at", "group_names", "places", "story_id"]  # fmt: skip


def test_the_csv_export_opened_back_keeps_every_column_and_script(ana: httpx.Client) -> None:
    done = ana.get("/api/v1/search/export", params={"format": "csv", "sort": "newest"})
    assert done.status_code == 200 and done.content.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(done.content.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == COLUMNS
    rows = {row["id"]: row for row in reader}
    assert sorted(rows) == ["x-ar", "x-fr-copy"]  # one row per story
    arabic, french = rows["x-ar"], rows["x-fr-copy"]
    assert arabic["title"] == ARABIC_TITLE and arabic["site_name"] == "الجزيرة" and arabic["language"] == "ar"
    assert arabic["group_names"] == "Al-Qaeda in the Islamic Maghreb" and arabic["groups"] == "aqim"
    assert arabic["places"] == "Gao" and arabic["entities"] == "GPE:مالي"
    assert arabic["snippet"] == "اختطف مسلحون مهندسين قرب غاو في مالي."
    assert arabic["published_at"].startswith("2026-11-12T09:00") and arabic["fetched_at"].startswith("2026-11-12T09:05")
    assert french["title"] == FRENCH_TITLE and french["site_name"] == "Le Sahel Quotidien"
    assert french["story_id"] == "story-gao" and (french["story_copies"], french["story_sources"]) == ("2", "2")
    assert french["entities"] == "PERSON:Iyad Ag Ghaly" and french["snippet"].startswith("Des hommes armés ont enlevé")


def test_the_json_lines_have_the_same_columns(ana: httpx.Client) -> None:
    done = ana.get("/api/v1/search/export", params={"format": "json", "sort": "newest"})
    assert done.status_code == 200 and done.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in done.text.splitlines()]
    assert [list(line) for line in lines] == [COLUMNS, COLUMNS]
    arabic = next(line for line in lines if line["id"] == "x-ar")
    assert arabic["title"] == ARABIC_TITLE and arabic["group_names"] == ["Al-Qaeda in the Islamic Maghreb"]
    assert arabic["places"] == ["Gao"] and arabic["fetched_at"].startswith("2026-11-12T09:05")
