"""STIX 2.1 export: reports of alerts with their intrusion sets, places, people and sources; stable ids; TLP;
hostile text; a group without a Wikidata id; 10,000 alerts streamed in bounded memory; the CLI."""

from __future__ import annotations

import json
import tracemalloc
import uuid
from pathlib import Path

import pytest
import stix2
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from stix2validator import validate_string

from enrich.watchlist import load_watchlist
from search.alerting.scan import AlertFilter
from search.names import IndexNames
from tests.support.stix import HOSTILE, alerted, bulk_alerts, places_article, write_watchlist
from wirewatch.cli import cli as root_cli
from wirewatch.stix.bundle import BundleStats, stream_bundle
from wirewatch.stix.export import ExportNotes, TlpPolicy, alert_batches
from wirewatch.stix.ids import NAMESPACE, tlp_marking
from wirewatch.stix.objects import report_objects
from wirewatch.stix.places import Place, location_from_place
from wirewatch.stix.sources import from_alert


def _valid(text: str) -> stix2.Bundle:
    """The bundle parsed by the stix2 library (strict: no custom content) and passed by the OASIS validator."""
    bundle = stix2.parse(text, allow_custom=False)
    result = validate_string(text)
    assert result.is_valid, [str(e) for e in result.errors]
    return bundle


def _by_type(bundle: stix2.Bundle) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for obj in bundle.objects:
        out.setdefault(obj.type, []).append(obj)
    return out


ALERT = {
    "id": "a1", "watch": {"id": "group-islamic-state", "name": "Islamic State", "kind": "group"},
    "group": {"id": "islamic-state", "name": "Islamic State"}, "article_id": "art-1",
    "title": "Islamic State attack near Benghazi", "url": "https://news.example.org/art-1", "source": "wire-a",
    "published_at": "2024-05-01T10:00:00+00:00", "passage": "the «Islamic State» claimed it",
    "created_at": "2024-05-02T00:00:00+00:00",
    "also_seen": [{"article_id": "art-2", "url": "https://other.example.org/x", "source": "wire-b",
                   "seen_at": "2024-05-03T00:00:00+00:00"}],
}  # fmt: skip


def test_an_alert_becomes_a_report_naming_the_group_places_people_and_source(tmp_path: Path) -> None:
    watchlist = load_watchlist(write_watchlist(tmp_path))
    doc = places_article("art-1")
    doc["entity_names"]["gpe"].append("Libye")  # the French name of the same country: one location
    objects = report_objects(from_alert(ALERT, doc, watchlist), tlp_marking("clear"))
    bundle = _valid("".join(stream_bundle([objects])))
    kinds = _by_type(bundle)
    (group,) = kinds["intrusion-set"]
    assert group.id == f"intrusion-set--{uuid.uuid5(NAMESPACE, 'intrusion-set' + chr(31) + 'islamic-state')}"
    assert {"Daesh", "l'État islamique", "داعش", "ISIS"} <= set(group.aliases)  # Latin, French, Arabic script
    assert [(r.source_name, r.external_id) for r in group.external_references][1] == ("wikidata", "Q2429253")
    (libya,) = kinds["location"]  # Benghazi has no country or coordinates yet: left out
    assert (libya.name, libya.country) == ("Libya", "LY")
    assert {i.name for i in kinds["identity"]} == {"Wirewatch", "Khalifa Haftar", "Libyan National Army"}
    (targets,) = kinds["relationship"]
    assert (targets.source_ref, targets.relationship_type, targets.target_ref) == (group.id, "targets", libya.id)
    (report,) = kinds["report"]
    named = {group.id, libya.id, targets.id} | {i.id for i in kinds["identity"] if i.name != "Wirewatch"}
    assert set(report.object_refs) == named
    source, copy = report.external_references
    assert (source.source_name, source.url) == ("wire-a", "https://news.example.org/art-1")
    assert source.description == "published 2024-05-01T10:00:00+00:00; language en"
    assert copy.url == "https://other.example.org/x"
    assert report.lang == "en" and report.description == "the Islamic State claimed it"
    assert str(report.modified).startswith("2024-05-03")  # a new source moved it
    assert report.object_marking_refs == [stix2.TLP_WHITE.id]
    assert stix2.TLP_WHITE.id in {o.id for o in kinds["marking-definition"]}


def test_a_place_with_coordinates_becomes_a_location() -> None:
    """The one function the places work will feed: coordinates make any place a location."""
    assert location_from_place(Place(name="Benghazi")) is None
    located = location_from_place(Place(name="Benghazi", country="LY", latitude=32.1167, longitude=20.0667))
    assert located is not None and (located.latitude, located.longitude, located.country) == (32.1167, 20.0667, "LY")
    assert located.id == Place(name="benghazi ").stix_id  # same place, same id, however it is written


def test_tlp_per_watch_and_unknown_levels() -> None:
    policy = TlpPolicy("green", {"Islamic State": "amber"})
    assert policy.marking({"id": "x", "name": "Islamic State"}).id == stix2.TLP_AMBER.id
    assert policy.marking({"id": "other"}).id == stix2.TLP_GREEN.id
    with pytest.raises(ValueError, match="clear, green, amber or red"):
        TlpPolicy("amber+strict")


def test_hostile_text_in_every_field_stays_data(tmp_path: Path) -> None:
    watchlist = load_watchlist(write_watchlist(tmp_path))
    alert = {key: (HOSTILE if isinstance(value, str) else value) for key, value in ALERT.items()}
    alert.update(
        id="a-hostile", created_at="2024-05-02T00:00:00+00:00", url="javascript:alert(1)", published_at=HOSTILE,
        group={"id": HOSTILE, "name": HOSTILE}, also_seen=[{"url": HOSTILE}],
    )  # fmt: skip
    doc = {"language": HOSTILE, "entity_names": {"gpe": [HOSTILE], "person": [HOSTILE], "org": [HOSTILE, 7]}}
    text = "".join(stream_bundle([report_objects(from_alert(alert, doc, watchlist), tlp_marking("red"))]))
    bundle = _valid(text)
    report = _by_type(bundle)["report"][0]
    assert report.name == HOSTILE.strip()  # exact, as data: JSON escaping does the rest
    assert "javascript:" not in text  # a script link is never handed to a platform that may render it
    assert all(getattr(r, "url", "").startswith("https://") for r in report.external_references if "url" in r)
    assert str(report.published).startswith("2024-05-02")  # an unreadable time falls back to the alert's


def test_reexport_gives_the_same_ids_and_filters_by_group_and_watch(
    es: Elasticsearch, index_names: IndexNames, tmp_path: Path
) -> None:
    watchlist = load_watchlist(write_watchlist(tmp_path))
    docs = [places_article("is-1"), places_article("nw-1", group="nowiki", name="Katibat Nowhere")]
    groups = [{"id": "islamic-state", "name": "Islamic State"}, {"id": "nowiki", "name": "Katibat Nowhere"}]
    assert len(alerted(es, index_names, docs, groups)) == 2

    def export(which: AlertFilter) -> tuple[stix2.Bundle, ExportNotes]:
        notes = ExportNotes()
        text = "".join(stream_bundle(alert_batches(es, index_names, which, watchlist, TlpPolicy(), notes=notes)))
        return _valid(text), notes

    first, notes = export(AlertFilter())
    again, _ = export(AlertFilter())
    assert first.id != again.id and [o.id for o in first.objects] == [o.id for o in again.objects]
    assert len(_by_type(first)["report"]) == 2
    assert notes.groups_without_wikidata == {"nowiki"} and "nowiki" in notes.lines()[0]
    nowiki = next(o for o in first.objects if o.type == "intrusion-set" and o.name == "Katibat Nowhere")
    assert [r.source_name for r in nowiki.external_references] == ["wirewatch"]  # no Wikidata reference
    only, _ = export(AlertFilter(group="nowiki"))
    assert [r.name for r in _by_type(only)["report"]] == [docs[1]["title"]]
    by_watch, _ = export(AlertFilter(watch="Islamic State"))
    assert [r.name for r in _by_type(by_watch)["report"]] == [docs[0]["title"]]
    none, _ = export(AlertFilter(group="no-such-group"))
    assert [o.type for o in none.objects] == ["identity"]  # an empty export is still a valid bundle


def test_cli_export_streams_a_valid_bundle(es_url: str, es: Elasticsearch, index_names: IndexNames,
                                           tmp_path: Path) -> None:  # fmt: skip
    alerted(es, index_names, [places_article("cli-1")], [{"id": "islamic-state", "name": "Islamic State"}])
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_names.prefix,
           "WIREWATCH_WATCHLIST_FILE": str(write_watchlist(tmp_path)),
           "WIREWATCH_STIX_TLP_BY_WATCH": json.dumps({"Islamic State": "amber"})}  # fmt: skip
    result = CliRunner().invoke(root_cli, ["stix", "export", "--since", "2000-01-01", "--group", "islamic-state"],
                                env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    bundle = _valid(result.stdout)
    assert _by_type(bundle)["report"][0].object_marking_refs == [stix2.TLP_AMBER.id]
    assert "1 report(s)" in result.stderr
    bad = CliRunner().invoke(root_cli, ["stix", "export", "--tlp", "purple"], env=env)
    assert bad.exit_code == 2 and "clear, green, amber or red" in bad.stderr


@pytest.mark.slow
def test_ten_thousand_alerts_stream_in_bounded_memory(es: Elasticsearch, index_names: IndexNames,
                                                       tmp_path: Path) -> None:  # fmt: skip
    bulk_alerts(es, index_names, 10_000)
    watchlist = load_watchlist(write_watchlist(tmp_path))
    stats, size, pieces = BundleStats(), 0, []
    tracemalloc.start()
    try:
        for i, piece in enumerate(stream_bundle(alert_batches(es, index_names, AlertFilter(), watchlist,
                                                              TlpPolicy()), stats)):  # fmt: skip
            size += len(piece)
            if i < 40:
                pieces.append(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.reports == 10_000
    assert peak < size / 4, (peak, size)  # the bundle is never held: a page of alerts is
    head = "".join(pieces)
    assert head.startswith('{"type": "bundle"') and '"type": "report"' in head


def test_one_town_reported_in_three_languages_is_one_located_location(tmp_path: Path) -> None:
    """Places resolved by the real tagger (issue 23) feed STIX: Timbuktu, Tombouctou and تمبكتو are one location
    with the place table's coordinates, and an article from before place resolution keeps its country names."""
    from enrich.places.resolve import default_resolver
    from enrich.tagger import Tagger

    watchlist = load_watchlist(write_watchlist(tmp_path))
    tagger = Tagger(watchlist=watchlist, places=default_resolver(), ner=False)
    texts = {
        "en": "Gunmen of the Islamic State attacked a market in Timbuktu, in northern Mali, on Sunday.",
        "fr": "Des hommes armés de l'État islamique ont attaqué un marché à Tombouctou, dans le nord du Mali.",
        "ar": "هاجم مسلحون من داعش سوقا في تمبكتو شمال مالي يوم الأحد.",
    }
    tags = tagger.tag(list(texts.values()), list(texts))
    towns = []
    for (language, text), tagged in zip(texts.items(), tags, strict=True):
        doc = places_article(f"tb-{language}")
        doc.update(text=text, language=language, **{k: v for k, v in tagged.to_dict().items() if k.startswith("place")})
        objects = report_objects(from_alert(ALERT, doc, watchlist), tlp_marking("clear"))
        bundle = _valid("".join(stream_bundle([objects])))
        (town,) = [loc for loc in _by_type(bundle)["location"] if getattr(loc, "latitude", None) is not None
                   and loc.country == "ML" and abs(loc.latitude - 16.77) < 0.2]  # fmt: skip
        assert validate_string(bundle.serialize()).is_valid
        towns.append((town.id, round(town.latitude, 2), round(town.longitude, 2)))
    assert len(set(towns)) == 1, towns  # one id and one point whatever the language
    mali = {loc.id for loc in _by_type(bundle)["location"] if loc.name in {"Mali", "مالي"}}
    assert mali == {Place(name="Mali", country="ML").stix_id}  # a resolved country keeps the country's id
