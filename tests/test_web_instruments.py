"""The analyst's instruments on a real uvicorn server over the real node: a disabled watch enabled again from the
web, the API and the CLI, and the export's UTF-8 BOM and added columns (language, site, entities, snippet,
story size), with French and Arabic text round-tripping."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.alerting.watches import get_watch
from search.names import IndexNames
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, csrf_of, login, served_corpus
from wirewatch.cli import cli as root_cli

ARABIC_TITLE = "هجوم مسلح في غاو."
ARABIC_TEXT = "قال مسؤولون إن مسلحين هاجموا موقعا للجيش قرب غاو في مالي."
FRENCH_TITLE = "Enlèvement près de Gao : l'armée malienne répond"


def corpus() -> list[dict[str, object]]:
    arabic = make_doc(
        "ar-gao", title=ARABIC_TITLE, text=ARABIC_TEXT, source="wire-ar", language="ar",
        published_at="2024-05-12T09:00:00+00:00", entities={"GPE": ["غاو", "مالي"]},
    )  # fmt: skip
    arabic["site_name"] = "الجزيرة"
    french = make_doc(
        "fr-gao", title=FRENCH_TITLE, text="Des hommes armés ont enlevé un élu près de Gao, au Mali.",
        source="wire-fr", language="fr", published_at="2024-05-11T09:00:00+00:00",
        entities={"GPE": ["Gao", "Mali"], "PERSON": ["=HYPERLINK(\"http://evil\")"]},
    )  # fmt: skip
    french["site_name"] = "Le Sahel Quotidien"
    french.update(story_id="fr-gao", story_first_seen=french["published_at"])
    copy = {**french, "id": "fr-gao-copy", "url": "http://127.0.0.1/fr-gao-copy", "source": "wire-fr2",
            "canonical_url": "http://127.0.0.1/fr-gao-copy", "published_at": "2024-05-11T12:00:00+00:00"}  # fmt: skip
    english = make_doc("en-gao", title="Attack near Gao.", text="Gunmen attacked an army post near Gao.",
                       source="wire-en", published_at="2024-05-10T09:00:00+00:00")  # fmt: skip
    english["site_name"] = '=HYPERLINK("http://evil.example/","x")'  # hostile page metadata
    return [arabic, french, copy, english]


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with served_corpus(es, es_url, tmp_path_factory.mktemp("web"), corpus(), web_export_max=50) as srv:
        yield srv


@pytest.fixture(scope="module")
def names(server: WebServer) -> IndexNames:
    return IndexNames(prefix=server.settings.es_index_prefix)


@pytest.fixture(scope="module")
def ana(server: WebServer) -> Iterator[httpx.Client]:
    client = login(server.url, "ana")
    yield client
    client.close()


def test_a_disabled_watch_is_enabled_again_from_the_api(
    ana: httpx.Client, es: Elasticsearch, names: IndexNames
) -> None:
    assert ana.post("/api/v1/watches", json={"name": "gao-api", "query": "Gao"}).status_code == 201
    assert ana.post("/api/v1/watches/gao-api/disable", json={}).json()["enabled"] is False
    enabled = ana.post("/api/v1/watches/gao-api/enable", json={})
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    assert get_watch(es, names, "gao-api").enabled is True
    off = ana.patch("/api/v1/watches/gao-api", json={"enabled": False})
    assert off.status_code == 200 and get_watch(es, names, "gao-api").enabled is False
    on = ana.patch("/api/v1/watches/gao-api", json={"enabled": True})
    assert on.status_code == 200 and get_watch(es, names, "gao-api").enabled is True
    assert ana.patch("/api/v1/watches/gao-api", json={"enabled": "maybe"}).status_code == 422
    assert ana.post("/api/v1/watches/no-such-watch/enable", json={}).status_code == 404


def test_a_disabled_watch_is_enabled_again_from_its_page(
    ana: httpx.Client, es: Elasticsearch, names: IndexNames
) -> None:
    assert ana.post("/api/v1/watches", json={"name": "gao-web", "query": "Gao"}).status_code == 201
    csrf = csrf_of(ana.get("/watches").text)
    assert ana.post("/watches/disable", data={"name": "gao-web", "csrf_token": csrf}).status_code == 303
    page = ana.get("/watches").text
    assert 'action="/watches/enable"' in page
    assert ana.post("/watches/enable", data={"name": "gao-web"}).status_code == 403  # no CSRF token
    assert get_watch(es, names, "gao-web").enabled is False
    done = ana.post("/watches/enable", data={"name": "gao-web", "csrf_token": csrf_of(page)})
    assert done.status_code == 303 and get_watch(es, names, "gao-web").enabled is True


def test_a_disabled_watch_is_enabled_again_from_the_cli(
    server: WebServer, es: Elasticsearch, names: IndexNames
) -> None:
    env = {"WIREWATCH_ES_URL": server.settings.es_url or "", "WIREWATCH_ES_INDEX_PREFIX": names.prefix}
    runner = CliRunner()
    added = runner.invoke(root_cli, ["watch", "add", "gao-cli", "--query", "Gao"], env=env)
    assert added.exit_code == 0, added.output
    off = runner.invoke(root_cli, ["watch", "disable", "gao-cli"], env=env)
    assert off.exit_code == 0 and get_watch(es, names, "gao-cli").enabled is False, off.output
    on = runner.invoke(root_cli, ["watch", "enable", "GAO-CLI"], env=env)
    assert on.exit_code == 0 and "enabled" in on.output, on.output
    assert get_watch(es, names, "gao-cli").enabled is True
    missing = runner.invoke(root_cli, ["watch", "enable", "nope"], env=env)
    assert missing.exit_code != 0 and "watch list" in missing.output


def _export(ana: httpx.Client, **params: str) -> tuple[bytes, list[dict[str, str]]]:
    done = ana.get("/api/v1/search/export", params={"format": "csv", "sort": "newest", **params})
    assert done.status_code == 200, done.text
    return done.content, list(csv.DictReader(io.StringIO(done.content.decode("utf-8-sig"))))


def test_the_csv_export_has_a_bom_and_the_article_columns(ana: httpx.Client) -> None:
    raw, rows = _export(ana)
    assert raw.startswith(b"\xef\xbb\xbf") and not raw.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    by_id = {r["id"]: r for r in rows}
    assert sorted(by_id) == ["ar-gao", "en-gao", "fr-gao-copy"]  # collapsed: one row per story, its newest copy
    arabic, french, english = by_id["ar-gao"], by_id["fr-gao-copy"], by_id["en-gao"]
    assert arabic["title"] == ARABIC_TITLE and arabic["language"] == "ar" and arabic["site_name"] == "الجزيرة"
    assert arabic["entities"] == "GPE:غاو;GPE:مالي" and arabic["snippet"] == ARABIC_TEXT
    assert (
        french["title"] == FRENCH_TITLE and french["language"] == "fr" and french["site_name"] == "Le Sahel Quotidien"
    )
    assert french["snippet"].startswith("Des hommes armés ont enlevé")
    assert (french["story_copies"], french["story_sources"]) == ("2", "2")
    assert english["site_name"] == '\'=HYPERLINK("http://evil.example/","x")'  # neutralised, not a formula
    assert english["language"] == "en" and english["entities"] == ""


def test_the_export_marks_the_search_terms_nowhere_and_leaves_story_size_empty_per_copy(ana: httpx.Client) -> None:
    raw, rows = _export(ana, q="enlevé", collapse="0")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert sorted(r["id"] for r in rows) == ["fr-gao", "fr-gao-copy"]
    for row in rows:
        assert "enlevé" in row["snippet"] and "<em>" not in row["snippet"] and "&" not in row["snippet"]
        assert row["story_copies"] == "" and row["entities"] == 'PERSON:=HYPERLINK("http://evil");GPE:Gao;GPE:Mali'
