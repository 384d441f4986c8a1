"""The dependency rule of docs/design.md: a stage imports nothing of ours but netsafe; netsafe imports nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"ingest", "enrich", "search", "notify", "netsafe", "wirewatch", "seeds", "dags", "bench", "tests"}
ALLOWED = {
    "netsafe": {"netsafe"},
    "ingest": {"ingest", "netsafe"},
    "enrich": {"enrich", "netsafe"},
    "search": {"search", "netsafe"},
    "notify": {"notify", "netsafe"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_stage_imports_nothing_of_ours_but_netsafe(package: str) -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offending.items() if v} == {}
