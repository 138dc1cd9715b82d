"""OR-Tools' CP-SAT module (`cp_model`), imported on first use.

Importing it takes about a quarter of a second (it pulls in pandas and numpy). A run whose
time is too short to build any CP-SAT model (a large block under a small `--time-limit`,
whose model-building stages are skipped) never uses it, so it should not pay for it either.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING

NAME = "ortools.sat.python.cp_model"


def _lazy(name: str):
    """`name` as a module that is executed when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from ortools.sat.python import cp_model
else:
    cp_model = _lazy(NAME)
