"""Distance and box filters over the articles' places (``near:Ménaka 100km``, ``near=``, ``bbox=``) and the place
facet of the search page: real Elasticsearch, the real place table, the real workbench server on loopback.

The corpus: one attack on Ménaka reported in English, French and Arabic, one on Kidal (300 km north-west of
Ménaka), one naming no place.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from enrich.places.resolve import default_resolver
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from search.errors import QuerySyntaxError
from search.indices import setup_indices
from search.names import IndexNames
from search.querying.query import SearchRequest, build_query, search_articles
from search.querying.querylang import parse_query
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, fill, web_settings
from wirewatch.cli import cli
from wirewatch.places import locate_place

ROOT = Path(__file__).resolve().parent.parent
MENAKA, KIDAL = "gn:2453514", "gn:2455290"
REPORTS = {
    "en": ("en", "Gunmen attacked an army post in Menaka on Tuesday, killing four soldiers."),
    "fr": ("fr", "Des hommes armés ont attaqué un poste de l'armée à Ménaka mardi, tuant quatre soldats."),
    "ar": ("ar", "هاجم مسلحون موقعا للجيش في ميناكا يوم الثلاثاء وقتلوا أربعة جنود."),
    "kidal": ("en", "Gunmen attacked a checkpoint in Kidal on Wednesday, killing two guards."),
}
SAME_TOWN = ["ar", "en", "fr"]
AROUND_MENAKA = "1.5,15,3.5,16.5"  # west,south,east,north: Ménaka inside, Kidal (18.4N 1.4E) outside


@pytest.fixture(scope="module")
def corpus(es_url: str) -> list[dict[str, object]]:
    """The articles as the pipeline indexes them: the tagger (gazetteer and place table; NER is not needed for
    these towns) gives their place fields."""
    tagger = Tagger(watchlist=load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml"), ner=False,
                    places=default_resolver())  # fmt: skip
    langs = [lang for lang, _ in REPORTS.values()]
    tags = tagger.tag([text for _, text in REPORTS.values()], langs)
    docs: list[dict[str, object]] = []
    for (doc_id, (lang, text)), tag in zip(REPORTS.items(), tags, strict=True):
        docs.append({**make_doc(doc_id, title=text[:40], text=text, language=lang), **tag.place_fields()})
    assert [d["place_ids"] for d in docs] == [[MENAKA]] * 3 + [[KIDAL]]
    return [*docs, make_doc("nowhere", text="Nothing happened in any town today.")]


@pytest.fixture()
def indexed(es: Elasticsearch, index_names: IndexNames, corpus: list[dict[str, object]]) -> IndexNames:
    setup_indices(es, index_names)
    fill(es, index_names, corpus)
    return index_names


def _ids(es: Elasticsearch, names: IndexNames, **kwargs: object) -> list[str]:
    req = SearchRequest(collapse=False, locate=locate_place, **kwargs)  # type: ignore[arg-type]
    return sorted(h.id for h in search_articles(es, names, req).hits)


def test_near_in_the_query_finds_the_town_in_three_languages(es: Elasticsearch, indexed: IndexNames) -> None:
    for spelling in ("Ménaka", "menaka", "ميناكا", MENAKA):
        assert _ids(es, indexed, query=f"near:{spelling} 100km") == SAME_TOWN, spelling
    assert _ids(es, indexed, query="attacked near:Menaka 100km") == ["en"]  # words and distance together
    assert _ids(es, indexed, query="near:Ménaka 350km") == [*SAME_TOWN, "kidal"]  # Kidal is 300 km away
    assert _ids(es, indexed, query="near:Kidal 100km OR near:Ménaka 50km") == [*SAME_TOWN, "kidal"]
    assert _ids(es, indexed, query='-near:"Ménaka" 100km') == ["kidal", "nowhere"]


def test_near_and_bbox_filters(es: Elasticsearch, indexed: IndexNames) -> None:
    assert _ids(es, indexed, near="Ménaka 100km") == SAME_TOWN
    assert _ids(es, indexed, near="Ménaka 250000m") == SAME_TOWN  # metres work too; Kidal is 300 km away
    assert _ids(es, indexed, near="Menaka 400km") == [*SAME_TOWN, "kidal"]
    assert _ids(es, indexed, bbox=AROUND_MENAKA) == SAME_TOWN
    assert _ids(es, indexed, bbox="-2,17,4,20") == ["kidal"]


def test_near_errors_say_what_to_write() -> None:
    with pytest.raises(QuerySyntaxError, match="unknown place 'Atlantis'") as unknown:
        parse_query("attack near:Atlantis 100km", locate_place)
    assert unknown.value.position == 7
    for bad, reason in (("near:Gao", "distance is missing"), ("near:Gao 100", "'100' is not a distance"),
                        ("near:Gao tenkm", "'tenkm' is not a distance"), ("near:Gao 9000km", "at most 5000 km"),
                        ("near: 100km", "near: needs a place"), ("near:Gao 0km", "above 0")):  # fmt: skip
        with pytest.raises(QuerySyntaxError, match=reason):
            parse_query(bad, locate_place)
    with pytest.raises(QuerySyntaxError, match="near: is not available here"):
        parse_query("near:Gao 100km")  # a watch query: no place table behind it
    with pytest.raises(QuerySyntaxError, match="one place and one distance only"):
        build_query(SearchRequest(near="Gao 100km Kidal", locate=locate_place))
    with pytest.raises(ValueError, match="west,south,east,north"):
        build_query(SearchRequest(bbox="1,2,3"))
    with pytest.raises(ValueError, match="out of range"):
        build_query(SearchRequest(bbox="1,20,3,10"))


def test_cli_near_and_bbox(indexed: IndexNames, es_url: str, index_prefix: str) -> None:
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_prefix, "COLUMNS": "160"}

    def run(*args: str) -> list[str]:
        result = CliRunner().invoke(cli, ["search", *args, "--no-collapse", "--json"], env=env)
        assert result.exit_code == 0, result.output
        return sorted(h["id"] for h in json.loads(result.stdout)["hits"])

    assert run("near:ميناكا 100km") == SAME_TOWN
    assert run("--near", "Ménaka 100km") == SAME_TOWN
    assert run("--bbox", AROUND_MENAKA) == SAME_TOWN
    bad = CliRunner().invoke(cli, ["search", "--near", "Atlantis 100km"], env=env)
    assert bad.exit_code == 2 and "--near: unknown place 'Atlantis'" in bad.stderr


def test_api_and_page_filter_by_distance_and_box(indexed: IndexNames, es_url: str, index_prefix: str,
                                                 tmp_path: Path) -> None:  # fmt: skip
    server = WebServer(web_settings(es_url, index_prefix, tmp_path, auth=False))
    with server, httpx.Client(base_url=server.url, timeout=30) as client:

        def api(**params: str) -> list[str]:
            got = client.get("/api/v1/search", params={**params, "collapse": "0"})
            assert got.status_code == 200, got.text
            return sorted(h["id"] for h in got.json()["hits"])

        assert api(q="near:Ménaka 100km") == api(near="Ménaka 100km") == api(bbox=AROUND_MENAKA) == SAME_TOWN
        assert api(near="Ménaka 400km") == [*SAME_TOWN, "kidal"]
        unknown = client.get("/api/v1/search", params={"near": "Atlantis 100km"})
        assert unknown.status_code == 400 and unknown.json()["field"] == "near"
        assert "unknown place 'Atlantis'" in unknown.json()["message"]
        bad_box = client.get("/api/v1/search", params={"bbox": "north"})
        assert bad_box.status_code == 400 and bad_box.json()["field"] == "bbox"
        page = client.get("/search", params={"q": "near:Atlantis 5km"})
    assert page.status_code == 400 and "unknown place &#39;Atlantis&#39;" in page.text


def test_the_place_facet_links_narrow_the_search(indexed: IndexNames, es_url: str, index_prefix: str,
                                                tmp_path: Path) -> None:  # fmt: skip
    """Each entry of the page's place facet is a link that keeps the search and adds the place."""
    settings = web_settings(es_url, index_prefix, tmp_path, auth=False).model_copy(update={"web_page_size": 10})
    server = WebServer(settings)
    with server, httpx.Client(base_url=server.url, timeout=30) as client:
        page = client.get("/search", params={"q": "attacked OR attaqué OR هاجم", "collapse": "0", "lang": ""})
        assert page.status_code == 200 and re.search(r'id="total">4<', page.text)
        facet = re.search(r'<ul id="place-facet">(.*?)</ul>', page.text, re.DOTALL)
        assert facet, "the page has no place facet"
        links = dict(re.findall(r'href="(/search\?[^"]+)" title="([^"]+)">', facet.group(1)))
        by_place = {place: html.unescape(href) for href, place in links.items()}
        assert set(by_place) == {MENAKA, KIDAL} and "Ménaka" in facet.group(1)
        href = by_place[MENAKA]
        assert "q=attacked+OR+attaqu%C3%A9" in href and "collapse=0" in href and "place=gn%3A2453514" in href
        narrowed = client.get(href)
    assert narrowed.status_code == 200 and re.search(r'id="total">3<', narrowed.text)
    assert "Kidal on Wednesday" not in narrowed.text and "place gn:2453514 ✕" in narrowed.text


def test_a_saved_search_keeps_its_place_filters() -> None:
    """Saving a search keeps only the search state's keys: the place, country, near and box filters are some."""
    from urllib.parse import parse_qsl

    from wirewatch.web.routers.saved import clean_params

    kept = parse_qsl(clean_params("q=attack&place=gn%3A2453514&country=ML&near=Gao+100km&bbox=1%2C15%2C3%2C17&after=x"))
    assert kept == [("q", "attack"), ("place", MENAKA), ("country", "ML"), ("near", "Gao 100km"),
                    ("bbox", "1,15,3,17")]  # fmt: skip
