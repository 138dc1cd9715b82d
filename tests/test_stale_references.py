"""Text that stays true: a docstring, comment or doc that names a module path or a function of the
package names one that exists (modules move; the text that points at them must move too)."""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

from tests.support import ROOT

PKG = ROOT / "scheduler"
SOURCE_DIRS = ("scheduler", "benchmarks", "scripts", "tests")


@cache
def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


@cache
def defined(module: str) -> frozenset[str]:
    """Names a module defines or imports at any level (functions, classes, assignments)."""
    names: set[str] = set()
    for n in ast.walk(ast.parse(modules()[module].read_text())):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(n.name)
        elif isinstance(n, ast.Assign):
            names |= {t.id for t in n.targets if isinstance(t, ast.Name)}
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            names.add(n.target.id)
        elif isinstance(n, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in n.names}
    return frozenset(names)


@cache
def by_basename() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in modules():
        out.setdefault(d.split(".")[-1], []).append(d)
    return out


@cache
def file_names() -> frozenset[str]:
    return frozenset(p.name for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py"))


def texts() -> list[tuple[Path, str]]:
    """(file, text): the package's docstrings and comments, the docs and the README."""
    out = []
    for p in sorted(PKG.rglob("*.py")):
        src = p.read_text()
        for n in ast.walk(ast.parse(src)):
            if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                doc = ast.get_docstring(n, clean=False)
                if doc:
                    out.append((p, doc))
        out += [(p, line[line.index("#"):]) for line in src.splitlines() if "#" in line]
    out += [(p, p.read_text()) for p in sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])]
    return out


def _dotted_ok(parts: list[str]) -> bool:
    for k in range(len(parts), 0, -1):
        d = "scheduler." + ".".join(parts[:k])
        if d in modules():
            rest = parts[k:]
            return not rest or rest[0] in defined(d)
    return False


def stale_references() -> list[str]:
    bad = []
    for p, text in texts():
        where = p.relative_to(ROOT)
        for m in re.finditer(r"\bscheduler/([\w/]+)\.py\b", text):
            if not (PKG / f"{m.group(1)}.py").exists():
                bad.append(f"{where}: {m.group(0)}")
        for m in re.finditer(r"\bscheduler((?:\.\w+)+)", text):
            if not _dotted_ok(m.group(1)[1:].split(".")):
                bad.append(f"{where}: {m.group(0)}")
        for m in re.finditer(r"`(\w+)\.py`", text):
            if f"{m.group(1)}.py" not in file_names():
                bad.append(f"{where}: {m.group(0)}")
        for m in re.finditer(r"`(\w+)\.(\w+)(?:\(\))?`", text):
            mod, name = m.groups()
            if name != "py" and mod in by_basename():
                if not any(name in defined(d) or f"{d}.{name}" in modules() for d in by_basename()[mod]):
                    bad.append(f"{where}: {m.group(0)}")
    return bad


def test_no_text_names_a_module_or_function_that_does_not_exist():
    assert stale_references() == []


def test_the_scanner_sees_a_stale_reference(tmp_path, monkeypatch):
    """The rules can fail: a moved module, a dotted path and a function that do not exist are found."""
    fake = [(ROOT / "docs" / "x.md", "see scheduler/simulate.py, scheduler.search.nowhere and `verify.no_such`; "
                                     "but scheduler/checks/simulate.py and `verify.verify` are fine")]
    monkeypatch.setattr(sys.modules[__name__], "texts", lambda: fake)
    assert stale_references() == ["docs/x.md: scheduler/simulate.py", "docs/x.md: scheduler.search.nowhere",
                                  "docs/x.md: `verify.no_such`"]
