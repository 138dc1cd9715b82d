"""Every public definition of the package says what it is for (issue 29): a module-level
function or class not named with `_`, and such a class's public methods."""

from __future__ import annotations

import ast

from tests.support import ROOT


def public_without_docstring(source: str, name: str) -> list[str]:
    """`name:line:definition` of each public definition in `source` that has no docstring."""
    missing = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) or node.name.startswith("_"):
            continue
        if not ast.get_docstring(node):
            missing.append(f"{name}:{node.lineno}:{node.name}")
        if isinstance(node, ast.ClassDef):
            missing += [f"{name}:{m.lineno}:{node.name}.{m.name}" for m in node.body
                        if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
                        and not m.name.startswith("_") and not ast.get_docstring(m)]
    return missing


def test_every_public_definition_has_a_docstring():
    missing = [m for path in sorted((ROOT / "scheduler").rglob("*.py"))
               for m in public_without_docstring(path.read_text(), str(path.relative_to(ROOT)))]
    assert not missing, "\n".join(missing)


def test_the_check_can_fail():
    src = ('def f():\n    return 1\n\n\nclass C:\n    """C."""\n\n    def m(self):\n        pass\n\n\n'
           'def _p():\n    pass\n')
    assert public_without_docstring(src, "x.py") == ["x.py:1:f", "x.py:8:C.m"]
