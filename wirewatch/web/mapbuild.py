"""Build ``wirewatch/web/data/countries.topo.json.gz``: the country outlines the map draws (``make map-data``).

Source: the npm registry's ``world-atlas`` (Natural Earth 4.1.0 as TopoJSON; Natural Earth is public domain,
the package ISC), fetched with ``npm pack`` so nothing but the registry is needed. From ``countries-50m.json``
it keeps the countries whose outline comes within REGION (Africa north of the equator, the Mediterranean, the
Middle East) and only the arcs they use, renumbered: a TopoJSON file of the same form, about a tenth the size,
shipped so that the web server and CI need neither node nor the network.

    python -m wirewatch.web.mapbuild [--from countries-50m.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "world-atlas@2.0.2"
SOURCE = "package/countries-50m.json"
OUT = Path(__file__).resolve().parent / "data" / "countries.topo.json.gz"
REGION = (-30.0, -15.0, 65.0, 55.0)  # west, south, east, north: wider than any map drawn, so outlines are whole


def fetch_source(workdir: Path) -> dict[str, Any]:
    """``countries-50m.json`` out of the package tarball from the npm registry."""
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True, capture_output=True, timeout=300)
    tarball = next(workdir.glob("world-atlas-*.tgz"))
    with tarfile.open(tarball) as tar:
        member = tar.extractfile(SOURCE)
        if member is None:
            raise SystemExit(f"{SOURCE} is not in {tarball.name}: check the version in PACKAGE")
        return dict(json.load(member))


def _arc_refs(arcs: Any) -> Iterator[int]:
    """Every arc index a geometry's nested ``arcs`` lists."""
    if isinstance(arcs, int):
        yield arcs
        return
    for item in arcs:
        yield from _arc_refs(item)


def _renumber(arcs: Any, new: dict[int, int]) -> Any:
    if isinstance(arcs, int):  # ~i (negative) is arc i reversed
        return new[arcs] if arcs >= 0 else ~new[~arcs]
    return [_renumber(item, new) for item in arcs]


def _arc_bounds(arc: list[list[int]], transform: dict[str, Any]) -> tuple[float, float, float, float]:
    x = y = 0
    xs, ys = [], []
    for dx, dy, *_ in arc:
        x, y = x + dx, y + dy
        xs.append(x)
        ys.append(y)
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    return min(xs) * sx + tx, min(ys) * sy + ty, max(xs) * sx + tx, max(ys) * sy + ty


def subset(topo: dict[str, Any], region: tuple[float, float, float, float] = REGION) -> dict[str, Any]:
    """The countries of ``topo`` with an arc inside ``region``, and only their arcs, renumbered."""
    west, south, east, north = region
    bounds = [_arc_bounds(arc, topo["transform"]) for arc in topo["arcs"]]

    def inside(geometry: dict[str, Any]) -> bool:
        for ref in _arc_refs(geometry.get("arcs", [])):
            x0, y0, x1, y1 = bounds[ref if ref >= 0 else ~ref]
            if x0 <= east and x1 >= west and y0 <= north and y1 >= south:
                return True
        return False

    kept = [g for g in topo["objects"]["countries"]["geometries"] if g.get("arcs") and inside(g)]
    used = sorted({r if r >= 0 else ~r for g in kept for r in _arc_refs(g["arcs"])})
    new = {old: i for i, old in enumerate(used)}
    geometries = [
        {"type": g["type"], "id": g.get("id"), "properties": {"name": g["properties"]["name"]},
         "arcs": _renumber(g["arcs"], new)}
        for g in kept
    ]  # fmt: skip
    return {
        "type": "Topology",
        "transform": topo["transform"],
        "objects": {"countries": {"type": "GeometryCollection", "geometries": geometries}},
        "arcs": [topo["arcs"][old] for old in used],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, help="a countries-50m.json already on disk")
    args = parser.parse_args(argv)
    if args.source:
        topo = json.loads(args.source.read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            topo = fetch_source(Path(tmp))
    out = subset(topo)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(out, separators=(",", ":")).encode()
    OUT.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))  # mtime 0: a rebuild of the same data is identical
    count = len(out["objects"]["countries"]["geometries"])
    print(f"{OUT}: {count} countries, {len(out['arcs'])} arcs, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
