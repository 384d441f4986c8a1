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


# --- inside wirewatch/: no import cycle, counting the imports inside functions --------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _typing_only(tree: ast.Module) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:``: imported for annotations only, never at run time."""
    nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nodes.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return nodes


def module_imports(package: str, *, typing_too: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports anywhere (at the top, or inside a function)."""
    paths = {_module_name(p): p for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set() if typing_too else _typing_only(tree)
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in paths)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in paths else base)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function() -> None:
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_wirewatch() -> None:
    """Imports inside functions count: a cycle they hide is still a knot (the engine and the pipeline were one)."""
    assert import_cycles(module_imports("wirewatch")) == []


def test_no_engine_stage_knows_the_engine() -> None:
    """Each stage is built with its queues and collaborators: none imports ``engine.core``, not even for types."""
    graph = module_imports("wirewatch", typing_too=True)
    wirers = {"wirewatch.engine", "wirewatch.engine.core", "wirewatch.engine.passes"}
    knowing = sorted(m for m, targets in graph.items() if "wirewatch.engine.core" in targets and m.startswith(
        "wirewatch.engine") and m not in wirers)  # fmt: skip
    assert knowing == []
    below = {"wirewatch.pipeline", "wirewatch.service", "wirewatch.cli.ingest"}
    assert not {m for m in graph if m.startswith("wirewatch.engine") for t in graph[m] if t in below}


def test_the_web_does_not_import_the_cli() -> None:
    """Rows both show live below both (``wirewatch.rows``); the CLI may start the web app, never the reverse."""
    graph = module_imports("wirewatch", typing_too=True)
    offending = {m: sorted(t for t in targets if t.startswith("wirewatch.cli")) for m, targets in graph.items()
                 if m.startswith("wirewatch.web")}  # fmt: skip
    assert {m: t for m, t in offending.items() if t} == {}
