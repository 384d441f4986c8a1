"""The map of the search page and the place pages: real place table, real node, real workbench server on loopback.

The corpus: an attack on Ménaka reported in English, French and Arabic, two reports from Gao naming JNIM, one
from Kidal, one naming no place; the places come from the tagger, as the pipeline gives them.
"""

from __future__ import annotations

import gzip
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from enrich.places.resolve import default_resolver
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from search.indices import setup_indices
from search.names import IndexNames
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, fill, web_settings
from wirewatch.web.geomap import DATA_PATH, REGION, decode_arcs, load_countries, ring, view_box
from wirewatch.web.mapbuild import subset

ROOT = Path(__file__).resolve().parent.parent
MENAKA, KIDAL, GAO = "gn:2453514", "gn:2455290", "gn:2457163"
REPORTS = {
    "en": ("en", "Gunmen attacked an army post in Menaka on Tuesday, killing four soldiers.", []),
    "fr": ("fr", "Des hommes armés ont attaqué un poste de l'armée à Ménaka mardi, tuant quatre soldats.", []),
    "ar": ("ar", "هاجم مسلحون موقعا للجيش في ميناكا يوم الثلاثاء وقتلوا أربعة جنود.", []),
    "kidal": ("en", "Gunmen attacked a checkpoint in Kidal on Wednesday, killing two guards.", []),
    "gao1": ("en", "JNIM fighters attacked a convoy near Gao on Monday.", ["jnim"]),
    "gao2": ("fr", "Le JNIM a revendiqué une attaque à Gao jeudi.", ["jnim"]),
}
# (place, articles naming it) for the search "attacked OR attaqué OR attaque OR هاجم" over every copy
EXPECTED = {MENAKA: 3, GAO: 2, KIDAL: 1}


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, object]]:
    tagger = Tagger(watchlist=load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml"), ner=False,
                    places=default_resolver())  # fmt: skip
    tags = tagger.tag([text for _, text, _ in REPORTS.values()], [lang for lang, _, _ in REPORTS.values()])
    docs: list[dict[str, object]] = []
    for i, ((doc_id, (lang, text, groups)), tag) in enumerate(zip(REPORTS.items(), tags, strict=True)):
        day = f"2024-05-0{i + 1}T10:00:00+00:00"
        docs.append({**make_doc(doc_id, title=text[:40], text=text, language=lang, groups=groups, published_at=day),
                     **tag.place_fields()})  # fmt: skip
    assert [d["place_ids"] for d in docs] == [[MENAKA]] * 3 + [[KIDAL], [GAO], [GAO]]
    return [*docs, make_doc("nowhere", text="Nothing happened in any town today.")]


@pytest.fixture()
def client(es: Elasticsearch, index_names: IndexNames, corpus: list[dict[str, object]], es_url: str,
           index_prefix: str, tmp_path: Path) -> Iterator[httpx.Client]:  # fmt: skip
    setup_indices(es, index_names)
    fill(es, index_names, corpus)
    server = WebServer(web_settings(es_url, index_prefix, tmp_path, auth=False))
    with server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def test_topojson_arcs_are_delta_decoded_and_reversed() -> None:
    """Quantized deltas are summed, then scaled and translated; ~i walks arc i backwards, shared ends once."""
    topo = {"transform": {"scale": [0.5, 2.0], "translate": [10, -5]},
            "arcs": [[[0, 0], [2, 0], [0, 1]], [[0, 0], [2, 1]]]}  # fmt: skip
    arcs = decode_arcs(topo)
    assert arcs == [[(10.0, -5.0), (11.0, -5.0), (11.0, -3.0)], [(10.0, -5.0), (11.0, -3.0)]]
    assert ring([0, ~1], arcs) == ((10.0, -5.0), (11.0, -5.0), (11.0, -3.0), (10.0, -5.0))


def test_the_subset_keeps_the_region_and_renumbers_its_arcs() -> None:
    """A country far from the region goes with its arcs; the kept ones point at their arcs' new places."""
    topo = {"type": "Topology", "transform": {"scale": [1, 1], "translate": [0, 0]},
            "arcs": [[[100, 60], [1, 0]], [[0, 10], [1, 0], [0, 1]], [[1, 10], [0, 1], [-1, -1]]],
            "objects": {"countries": {"type": "GeometryCollection", "geometries": [
                {"type": "Polygon", "id": "1", "properties": {"name": "Far"}, "arcs": [[0]]},
                {"type": "Polygon", "id": "2", "properties": {"name": "Near"}, "arcs": [[1, ~2]]}]}}}  # fmt: skip
    out = subset(topo, (-10, 0, 20, 20))
    assert [g["properties"]["name"] for g in out["objects"]["countries"]["geometries"]] == ["Near"]
    assert out["arcs"] == topo["arcs"][1:] and out["objects"]["countries"]["geometries"][0]["arcs"] == [[0, ~1]]


def test_the_shipped_outlines_cover_the_region() -> None:
    with gzip.open(DATA_PATH, "rt", encoding="utf-8") as fh:
        topo = json.load(fh)
    names = {g["properties"]["name"] for g in topo["objects"]["countries"]["geometries"]}
    assert {"Mali", "Niger", "Libya", "Chad", "Burkina Faso", "Algeria", "Nigeria", "Mauritania", "Sudan"} <= names
    mali = next(c for c in load_countries() if c.name == "Mali")
    west, south, east, north = mali.bounds  # Natural Earth's Mali: 12.2W..4.2E, 10.1N..25.0N
    assert -12.5 < west < -11.9 and 3.9 < east < 4.5 and 9.9 < south < 10.4 and 24.8 < north < 25.2


def test_view_box_zooms_to_the_points_inside_the_region() -> None:
    assert view_box([]) == REGION
    west, south, east, north = view_box([(16.27, -0.04), (15.92, 2.40), (18.44, 1.41)])  # Gao, Ménaka, Kidal
    assert north - south == pytest.approx(7.0)  # MIN_SPAN high, and as wide as the region's shape asks
    assert (east - west) / (north - south) == pytest.approx((REGION[2] - REGION[0]) / (REGION[3] - REGION[1]))
    assert west < -0.04 and east > 2.40 and south < 15.92 and north > 18.44
    assert view_box([(48.85, 2.35)]) == REGION  # Paris is outside the region: the region is drawn


def _points(page: str) -> dict[str, tuple[str, str]]:
    """place id -> (href, title) of the map's points."""
    found = re.findall(r'<a class="place-point" href="([^"]+)" data-place="([^"]+)">.*?<title>([^<]+)</title></a>',
                       page)  # fmt: skip
    return {place: (html.unescape(href), html.unescape(title)) for href, place, title in found}


def test_search_page_map_has_the_countries_and_a_linked_point_per_place(client: httpx.Client) -> None:
    query = "attacked OR attaqué OR attaque OR هاجم"
    page = client.get("/search", params={"q": query, "collapse": "0"})
    assert page.status_code == 200 and re.search(r'id="total">6<', page.text)
    svg = re.search(r'<figure class="map" id="results-map">\s*(<svg.*?</svg>)', page.text, re.DOTALL)
    assert svg, "the search page has no map"
    countries = re.findall(r'<path class="country" d="M[^"]+"[^>]*><title>([^<]+)</title>', svg.group(1))
    assert {"Mali", "Niger", "Burkina Faso", "Algeria"} <= set(countries)
    points = _points(svg.group(1))
    assert set(points) == set(EXPECTED)
    for place, count in EXPECTED.items():
        href, title = points[place]
        assert title.endswith(f": {count} article{'s' if count > 1 else ''}"), title
        assert href.startswith("/search?") and f"place={place.replace(':', '%3A')}" in href and "collapse=0" in href
    assert points[GAO][1] == "Gao: 2 articles"
    radii = {p: float(r) for r, p in re.findall(r'r="([\d.]+)"[^>]*/><title>(\w+):', svg.group(1))}
    assert radii["Ménaka"] > radii["Gao"] > radii["Kidal"]  # sized by articles
    narrowed = client.get(points[GAO][0])
    assert narrowed.status_code == 200 and re.search(r'id="total">2<', narrowed.text)
    assert set(_points(narrowed.text)) == {GAO}


def test_search_without_places_has_no_map(client: httpx.Client) -> None:
    page = client.get("/search", params={"q": "happened"})
    assert page.status_code == 200 and re.search(r'id="total">1<', page.text) and 'class="map"' not in page.text


def test_place_page_for_gao(client: httpx.Client) -> None:
    facet = client.get("/search", params={"q": "JNIM"}).text
    assert f'href="/places/{GAO.replace(":", "%3A")}"' in facet  # linked from the place facet
    page = client.get(f"/places/{GAO}")
    assert page.status_code == 200
    text = page.text
    assert re.search(r'<h1 id="place-name">Gao</h1>', text) and 'id="place-name-ar">غاو<' in text
    assert "Mali (ML)" in text and re.search(r'id="place-region">Gao<', text)
    groups = re.search(r'<ul id="place-groups">(.*?)</ul>', text, re.DOTALL)
    assert groups and "jnim" in groups.group(1) and '<span class="count">2</span>' in groups.group(1)
    latest = re.findall(r'<a class="title" href="/articles/([^"]+)"', text)
    assert latest == ["gao2", "gao1"]  # newest first
    assert 'id="place-attention"' in text and text.count('class="bar"') == 2
    assert set(_points(text)) == {GAO} and "<title>Mali</title>" in text
    missing = client.get("/places/gn:0")
    assert missing.status_code == 404 and "no place with id" in missing.text
