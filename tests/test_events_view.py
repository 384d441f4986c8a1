"""The events view against the real node: the cross-language golden reports tagged by the real tagger (groups,
places, events) and indexed; ``/api/v1/events``, its CSV and JSON export, the ``/events`` page and
``wirewatch events`` filter on one event (type, group, country, region, place, days, fatalities)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.indices import setup_indices
from search.names import IndexNames
from tests.support.events_corpus import REPORTS, tagged_docs
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, fill, web_settings
from wirewatch.cli import cli as root
from wirewatch.events import ACLED_COLUMNS

HOSTILE = '=HYPERLINK("http://x") <script>alert(1)</script> police arrested three suspects in Niamey on Monday.'


@pytest.fixture(scope="module")
def prefix(es: Elasticsearch) -> Iterator[str]:
    """One index set for the module (read-only tests): the web app's setup is slow on a loaded machine."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    yield prefix
    es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def base(es: Elasticsearch, es_url: str, prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    names = IndexNames(prefix=prefix)
    setup_indices(es, names)
    hostile = {"id": "hostile", "lang": "en", "day": "2026-12-08", "text": HOSTILE}
    fill(es, names, [*tagged_docs([*REPORTS, hostile]), make_doc("calm", text="The council met on Monday.")])
    with WebServer(web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=False)) as server:
        yield server.url


def _ids(base: str, **params: object) -> set[str]:
    got = httpx.get(f"{base}/api/v1/events", params=params, timeout=30)  # type: ignore[arg-type]
    assert got.status_code == 200, got.text
    return {row["article_id"] for row in got.json()["events"]}


def test_filters_apply_to_one_event(base: str) -> None:
    jnim_bf = {"group": "JNIM", "type": "attack", "country": "bf"}  # a group's alias, a country in lower case
    assert _ids(base, **jnim_bf) == {"amb-en", "amb-fr", "amb-ar", "djibo-big-fr"}
    # the Arabic report states no toll: "at least 5 killed" never guesses it
    assert _ids(base, **jnim_bf, min_fatalities=5) == {"amb-en", "amb-fr", "djibo-big-fr"}
    assert _ids(base, **jnim_bf, min_fatalities=20) == {"djibo-big-fr"}
    assert _ids(base, group="JNIM", type="abduction") == set()  # the group of one event, the type of none
    kidnaps = {"kid-en", "kid-fr", "kid-ar"}
    assert _ids(base, region="Tombouctou", type="abduction") == kidnaps | {"kid-later-fr", "kid-later-ar"}
    assert _ids(base, region="Tombouctou", type="abduction", until="2026-12-10") == kidnaps
    assert _ids(base, region="Tombouctou", since="2026-12-10") == {"kid-later-fr", "kid-later-ar"}
    assert _ids(base, place="gn:2457163") == {"gao-en", "gao-fr", "gao-ar"}
    assert _ids(base, country="TD") == set()  # no place of the index in Chad: nothing, not everything
    bad = httpx.get(f"{base}/api/v1/events", params={"type": "picnic"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["field"] == "type"
    bad = httpx.get(f"{base}/api/v1/events", params={"min_fatalities": "five"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["field"] == "min_fatalities"


def test_rows_in_acled_columns_and_series_per_group(base: str) -> None:
    got = httpx.get(f"{base}/api/v1/events", params={"place": "gn:2361177", "min_fatalities": 10}, timeout=30).json()
    row = next(r for r in got["events"] if r["article_id"] == "amb-en")
    assert list(row) == list(ACLED_COLUMNS)
    assert (row["event_date"], row["event_type"], row["actor1"], row["country"], row["admin1"], row["location"]) == (
        "2026-12-06", "attack", "Jama'at Nusrat al-Islam wal-Muslimin", "BF", "Sahel", "Djibo",
    )  # fmt: skip
    assert (round(row["latitude"], 2), round(row["longitude"], 2), row["fatalities"]) == (14.1, -1.63, 12)
    assert row["notes"] == "JNIM fighters killed 12 soldiers in an ambush near Djibo on Sunday."
    assert (row["source"], row["source_url"], row["language"]) == ("wire-en", "http://127.0.0.1/amb-en", "en")
    series = httpx.get(f"{base}/api/v1/events", timeout=30).json()["series"]
    # four reports of events by JNIM on the 6th; "unidentified gunmen" is a force, not a tracked group
    assert series["groups"] == {"jnim": [4]} and series["days"] == ["2026-12-06"] and series["interval"] == "day"


def test_csv_and_json_export(base: str) -> None:
    got = httpx.get(f"{base}/api/v1/events/export", params={"group": "jnim", "format": "csv"}, timeout=30)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert {r["article_id"] for r in rows} == {"amb-en", "amb-fr", "amb-ar", "djibo-big-fr"}
    arabic = next(r for r in rows if r["article_id"] == "amb-ar")
    assert arabic["notes"].startswith("قتلت جماعة") and arabic["fatalities"] == "" and arabic["location"] == "Djibo"
    as_json = httpx.get(f"{base}/api/v1/events/export", params={"group": "jnim", "format": "json"}, timeout=30)
    assert {r["article_id"] for r in as_json.json()} == {r["article_id"] for r in rows}
    got = httpx.get(f"{base}/api/v1/events/export", params={"type": "arrest"}, timeout=30)
    [cells] = csv.DictReader(io.StringIO(got.content.decode("utf-8-sig")))
    assert cells["notes"].startswith("'=HYPERLINK(") and cells["country"] == "NE"  # a formula stays text
    page = httpx.get(f"{base}/events", params={"type": "arrest"}, timeout=30).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_page_keeps_its_state_and_marks_the_language(base: str) -> None:
    page = httpx.get(f"{base}/events", params={"type": "attack", "group": "JNIM", "min_fatalities": 5}, timeout=30)
    assert page.status_code == 200
    text = page.text
    assert text.count('class="event-row"') == 3
    assert 'value="attack" checked' in text and 'name="group" value="JNIM"' in text and 'value="5"' in text
    assert 'id="event-map"' in text and 'data-place="gn:2361177"' in text and 'id="event-series"' in text
    assert "type=attack&amp;group=JNIM&amp;min_fatalities=5&amp;format=csv" in text
    arabic = httpx.get(f"{base}/events", params={"place": "gn:2457163", "type": "abduction"}, timeout=30).text
    assert 'lang="ar" dir="rtl">اختطف مسلحون خمسة تجار' in arabic
    bad = httpx.get(f"{base}/events", params={"since": "last week"}, timeout=30)
    assert bad.status_code == 400 and 'id="events-error"' in bad.text


def test_cli_table_and_json(base: str, es_url: str, prefix: str) -> None:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": prefix, "COLUMNS": "200"}
    args = ["events", "--type", "attack", "--group", "JNIM", "--country", "BF", "--min-fatalities", "5"]
    result = CliRunner().invoke(root, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert {r["article_id"] for r in json.loads(result.output)} == {"amb-en", "amb-fr", "djibo-big-fr"}
    table = CliRunner().invoke(root, [*args, "--since", "2026-12-01"], env=env)
    assert table.exit_code == 0, table.output
    assert "Djibo" in table.output and "3 event report(s)" in table.output and "40" in table.output
    bad = CliRunner().invoke(root, ["events", "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "--since" in bad.output
    helped = CliRunner().invoke(root, ["events", "--help"], env=env)
    assert "ACLED" in helped.output or "notes (the sentence)" in helped.output
