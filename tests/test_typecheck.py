"""The package type-checks: `python -m mypy` from the repository root, with the
[tool.mypy] configuration in pyproject.toml (files, per-module ignores for the
third-party packages without types, check_untyped_defs, warn_unused_ignores)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.support import ROOT


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_passes() -> None:
    # the default cache (.mypy_cache at the root) keeps repeated runs to a few seconds
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
