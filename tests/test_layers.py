"""The package's layers, checked by reading the imports (no import is executed).

scheduler/
  core      errors, clock                       (no project imports)
  frontend  isa/, ir, parse, assemble, dag, outputs, abi
  machine   model, evaluate, bounds, stalls, mca
  checks    state, simulate, verify, symbolic, smt, prove, pairing, certificate, execcheck
  search    solvers, renaming, windows, list schedulers, local search, the stage pipeline
  present   emit, report, compare, timeline, outfiles, batch
  cli.py    on top

A module may import from its own layer or a lower one, never a higher one; and no two
modules import each other, directly or through others (no cycles).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scheduler"
LAYERS = ["core", "frontend", "machine", "checks", "search", "present", "bench", "commands", "cli"]
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Project modules `path` imports (at any depth, lazy imports included)."""
    tree = ast.parse(path.read_text())
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("scheduler"):
                continue
            for alias in node.names:  # `from scheduler.x import y`: y may be a module
                sub = f"{mod}.{alias.name}"
                out.add(sub if _exists(sub) else mod)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("scheduler")}
    return out


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").exists() or (PACKAGE.parent / rel / "__init__.py").exists()


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) == 1:
        return None  # the root package (its __version__): below everything
    name = "cli" if parts[1] in ("cli", "__main__") else parts[1]
    return LAYERS.index(name) if name in LAYERS else -1


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        mod = _module_name(path)
        g.add_node(mod)
        for dep in _imports(path):
            if dep != mod:
                g.add_edge(mod, dep)
    return g


def test_every_module_belongs_to_a_layer():
    strays = [m for m in _graph() if _layer(m) == -1]
    assert not strays, f"modules outside the layers {LAYERS}: {strays}"


def test_no_upward_imports():
    g = _graph()
    upward = [(a, b) for a, b in g.edges if _layer(b) is not None and _layer(a) is not None
              and _layer(b) > _layer(a)]
    assert not upward, "imports from a higher layer: " + ", ".join(f"{a} -> {b}" for a, b in upward)


def test_no_import_cycles():
    g = _graph()
    # a package's __init__ importing its own submodules (isa/__init__ registers the forms) is not a cycle
    g.remove_edges_from([(a, b) for a, b in list(g.edges) if b.startswith(a + ".")])
    cycles = list(nx.simple_cycles(g))
    assert not cycles, f"import cycles: {cycles[:5]}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_are_short(path):
    tree = ast.parse(path.read_text())
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
