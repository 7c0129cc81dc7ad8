"""The package layout is the architecture: imports run down the stage graph, never up or round.

Read from the source with ``ast`` (every import, function-local ones too, as
they are the usual way a cycle hides), so the test needs no import of ctdc and
fails on the line that breaks a rule.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ctdc"

MAX_LINES = 500

#: modules over MAX_LINES while they are being split: must shrink to empty
TOO_LONG_FOR_NOW: set[str] = set()

#: modules every layer may use, which import only each other
FOUNDATION = {"catalogue", "config", "errors", "limits", "org_name", "progress", "row_errors",
              "scratch", "slugs", "text", "yamlio"}  # fmt: skip

#: stage packages each stage package must not import (beyond the general rules below)
FORBIDDEN: dict[str, set[str]] = {
    "schema": {"store", "formats", "mapping", "ingest", "onboard", "quarantine", "anonymize",
               "harmonize", "query", "report", "sample", "cli", "package"},
    "store": {"formats", "mapping", "ingest", "onboard", "quarantine", "anonymize", "harmonize",
              "query", "report", "sample", "cli", "package"},
    "formats": {"mapping", "ingest", "onboard", "harmonize", "quarantine", "cli"},
    "mapping": {"ingest", "onboard", "harmonize", "quarantine", "cli"},
    "quarantine": {"ingest", "onboard", "anonymize", "harmonize", "query", "report", "cli"},
    "ingest": {"onboard", "harmonize", "cli"},
    "onboard": {"ingest", "harmonize", "quarantine", "cli"},
    "audit": {"harmonize", "ingest", "cli", "sample", "formats", "mapping", "onboard",
              "quarantine"},
    "stats": {"harmonize", "ingest", "cli", "sample", "formats", "mapping", "onboard",
              "quarantine", "anonymize", "audit", "report"},
    # the public release's derived files, from its Parquet and the schema; harmonize calls it
    "package": {"harmonize", "ingest", "cli", "sample", "formats", "mapping", "onboard",
                "quarantine", "query", "audit", "stats", "report"},
    # the release's HTML report: safe tables (stats, query), the manifests and the ledger
    "release_report": {"ingest", "cli", "sample", "formats", "mapping", "onboard", "quarantine",
                       "audit", "report", "package"},
    # the operations log: a leaf every command may use; it reads no stage's data
    "runlog": {"store", "formats", "mapping", "ingest", "onboard", "quarantine", "anonymize",
               "harmonize", "query", "report", "sample", "cli", "package", "status", "audit",
               "stats", "release_report"},
    # DP products of the staged data (harmonize's merge): ``ctdc stats --dp`` (OpenDP), ``ctdc
    # synthesize`` (pac-synth), the budget they spend (status reads it); never read by a stage
    "dp": {"cli", "ingest", "sample", "formats", "mapping", "onboard", "quarantine", "query",
           "audit", "report", "status", "stats", "release_report"},
    # ``ctdc status``: reads the workspace (store, quarantine, the log), runs no stage
    "status": {"cli", "ingest", "harmonize", "formats", "mapping", "onboard", "sample",
               "anonymize", "query", "audit", "stats", "report", "package", "release_report"},
}  # fmt: skip


def _modules() -> dict[str, Path]:
    """Dotted name (``ctdc.formats.csv``; a package by its own name) -> file."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _unit(module: str) -> str:
    """The layer of a module: ``ctdc.formats.csv`` -> ``formats``, ``ctdc.text`` -> ``text``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "ctdc"


def _imports(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """Every ctdc module ``module`` imports, with the line; ``from ctdc import x`` resolved."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append((child if child in modules else base, node.lineno))
    return [(name, line) for name, line in found if name == "ctdc" or name.startswith("ctdc.")]


@functools.cache
def _edges() -> dict[str, dict[str, list[str]]]:
    """Layer -> layer it imports -> where; parsed once per process, when a test first asks
    (not at collection, which every xdist worker repeats)."""
    modules = _modules()
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, path in modules.items():
        for target, line in _imports(module, path, modules):
            a, b = _unit(module), _unit(target)
            if a != b and b != "ctdc":  # ``ctdc`` itself holds only __version__
                where = f"{path.relative_to(SRC)}:{line} imports {target}"
                if where not in edges[a][b]:
                    edges[a][b].append(where)
    return edges


@pytest.mark.slow
@pytest.mark.parametrize("unit", sorted(FORBIDDEN))
def test_stage_imports_run_down_the_graph(unit: str) -> None:
    upward = [where for bad in FORBIDDEN[unit] for where in _edges()[unit].get(bad, [])]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("unit", sorted(FOUNDATION))
def test_foundation_modules_import_only_each_other(unit: str) -> None:
    above = [w for dep, lines in _edges()[unit].items() if dep not in FOUNDATION for w in lines]
    assert not above, "\n".join(above)


def test_nothing_imports_the_cli() -> None:
    edges = _edges()
    callers = [w for unit, deps in edges.items() if unit != "__main__" for w in deps.get("cli", [])]
    assert not callers, "\n".join(callers)


def _cycles() -> set[frozenset[str]]:
    """Every pair of layers that reach each other (a cycle through them, however long)."""
    edges = _edges()
    reach: dict[str, set[str]] = {}
    for start in list(edges):
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), {}):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        reach[start] = seen
    return {frozenset({a, b}) for a in reach for b in reach[a] if a != b and a in reach.get(b, ())}


def test_no_cycles_between_layers() -> None:
    cycles, edges = _cycles(), _edges()
    detail = sorted({w for pair in cycles for a in pair for b in pair for w in edges[a].get(b, [])})
    assert not cycles, f"cycles: {sorted(map(sorted, cycles))}\n" + "\n".join(detail)


def test_modules_are_small() -> None:
    sizes = {
        str(p.relative_to(SRC)): len(p.read_text(encoding="utf-8").splitlines())
        for p in SRC.rglob("*.py")
    }
    over = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in TOO_LONG_FOR_NOW}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


def test_the_allow_list_only_names_long_modules() -> None:
    """A split module leaves TOO_LONG_FOR_NOW, so the list only shrinks."""
    short = {
        name
        for name in TOO_LONG_FOR_NOW
        if not (SRC / name).is_file()
        or len((SRC / name).read_text(encoding="utf-8").splitlines()) <= MAX_LINES
    }
    assert not short, f"no longer over {MAX_LINES} lines (remove from TOO_LONG_FOR_NOW): {short}"
