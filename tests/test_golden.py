"""Golden tests: the emitted kernel text, its header and the report's keys, pinned for three
kernels under `--deterministic --workers 1 --seed 0` (in the spirit of LLVM's FileCheck tests:
the expected text lives beside the test, and a change shows as a diff).

A deliberate change of the output regenerates the files:
    SCHEDULER_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
and the diff of tests/golden/ is then reviewed like code.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from scheduler.cli import main
from tests.support import ROOT

GOLDEN = ROOT / "tests" / "golden"
LOOP = ROOT / "tests" / "golden" / "loop_carried.s"
KERNELS: dict[str, tuple[Path, list[str]]] = {
    "mul_4x4": (ROOT / "inputs" / "mul_4x4.s", []),
    "add_8_walk": (ROOT / "inputs" / "add_8_walk.s", []),
    "loop_carried": (LOOP, []),  # a loop with a carried register: the whole-file path
}
UPDATE = bool(os.environ.get("SCHEDULER_UPDATE_GOLDEN"))


def _keys(doc, prefix: str = "") -> list[str]:
    """The report's key structure (values change with the model; the keys are the contract)."""
    if isinstance(doc, dict):
        return [k for key in sorted(doc) for k in [f"{prefix}{key}", *_keys(doc[key], f"{prefix}{key}.")]]
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        return _keys(doc[0], f"{prefix}[].")
    return []


def _same(name: str, got: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(got)
        return
    want = path.read_text()
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), f"golden/{name}", "now"))
        pytest.fail(f"{name} differs from its golden file (SCHEDULER_UPDATE_GOLDEN=1 to accept):\n{diff}")


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_emitted_kernel_matches_its_golden_file(tmp_path: Path, name: str, monkeypatch):
    # the header quotes llvm-mca when it is on PATH: pinned without it, as on a machine lacking it
    monkeypatch.setattr("scheduler.machine.mca.find_llvm_mca", lambda: None)
    src, extra = KERNELS[name]
    out = tmp_path / f"{name}.s"
    code = main(["optimize", str(src), "-o", str(out), "--deterministic", "--workers", "1", "--seed", "0",
                 "--time-limit", "2", "--quiet", *extra])
    assert code == 0
    _same(f"{name}.out.s", out.read_text())
    report = json.loads(out.with_suffix(".json").read_text())
    _same(f"{name}.keys", "\n".join(_keys(report)) + "\n")
