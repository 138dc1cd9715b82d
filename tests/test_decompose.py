"""Window decomposition (scheduler/decompose.py), the deterministic clock, Ctrl-C handling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from scheduler.checks.verify import verify
from scheduler.core.clock import Clock, Deadline
from scheduler.frontend.dag import is_valid_order
from scheduler.frontend.parse import parse_file
from scheduler.machine.evaluate import inorder, prepare
from scheduler.search.decompose import decompose, pipe_work, window_pass
from scheduler.search.listsched import list_schedule
from tests.support import N1, ROOT


def block(name: str):
    return parse_file(ROOT / "inputs" / name).blocks()[0].instructions


@pytest.fixture(scope="module")
def neon():
    instrs = block("mul_8x8_neon.s")
    return instrs, prepare(instrs, N1)


@pytest.mark.slow  # window passes over large blocks (8-40 s)
@pytest.mark.parametrize("size", [24, 60])
def test_windows_compose_exactly(neon, size):
    """Every committed instruction issues, under the evaluator, exactly when the window's
    solver claimed it would; so the block's cycles are the solver's claimed total."""
    instrs, bt = neon
    start = list(range(bt.n))
    order, claimed, stats = window_pass(bt, N1, start, deadline=Deadline(Clock(True), 8.0), size=size,
                                        workers=1)
    assert sorted(order) == start and is_valid_order(bt.dag, order)
    assert stats.windows >= 2
    assert stats.committed == bt.n and stats.claims_exact == bt.n
    assert inorder(bt, order, N1).cycles == claimed
    assert claimed < inorder(bt, start, N1).cycles  # and the windows did improve the block


@pytest.mark.slow  # window passes over large blocks (8-40 s)
def test_decompose_never_worse_and_valid(neon):
    instrs, bt = neon
    ls = list_schedule(bt, N1)
    before = inorder(bt, ls, N1).cycles
    res = decompose(bt, N1, ls, deadline=Deadline(Clock(True), 10.0), workers=1)
    assert res.cycles <= before and res.cycles == inorder(bt, res.order, N1).cycles
    assert is_valid_order(bt.dag, res.order)
    assert verify(instrs, [instrs[k] for k in res.order], trials=10).equivalent


def test_deterministic_clock_counts_work_not_time():
    c = Clock(deterministic=True)
    t0 = c.now()
    time.sleep(0.05)
    assert c.now() == t0
    c.charge(1.5)
    c.charge_evals(10)
    assert c.now() > t0 + 1.5
    wall = Clock()
    time.sleep(0.02)
    assert wall.now() > 0


def test_pipe_work_counts_single_type_reservations(neon):
    instrs, bt = neon
    work = pipe_work(bt, N1, range(bt.n))
    scalar = [i for i in instrs if i.operands and getattr(i.operands[0], "bits", 0) == 64]
    muls = sum(1 for i in scalar if i.mnemonic == "mul")
    umulhs = sum(1 for i in scalar if i.mnemonic == "umulh")
    assert muls and umulhs
    # the calibrated N1 (model file): each takes M's port one cycle, and holds the multiplier
    # behind it 3 (mul) or 4 (umulh) cycles
    assert work["M"] == muls + umulhs
    assert work["MUL"] == 3 * muls + 4 * umulhs


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "scheduler", *args], capture_output=True, text=True,
                          cwd=ROOT, **kw)


@pytest.mark.slow  # window passes over large blocks (8-40 s)
def test_deterministic_runs_are_identical(tmp_path):
    """--deterministic --seed --workers 1: the same output, byte for byte, with window passes too."""
    outs = []
    for n in range(2):
        out = tmp_path / f"o{n}.s"
        r = _cli("optimize", "inputs/mul_6x6_stack.s", "-o", str(out), "--deterministic", "--seed", "3",
                 "--workers", "1", "--time-limit", "4", "--decompose", "always", "--json")
        assert r.returncode == 0, r.stderr
        outs.append(out.read_text())
        doc = json.loads(r.stdout)
        assert doc["options"]["deterministic"] is True
    assert outs[0] == outs[1]


@pytest.mark.slow  # window passes over large blocks (8-40 s)
def test_ctrl_c_writes_best_verified_result(tmp_path):
    out = tmp_path / "n.s"
    proc = subprocess.Popen([sys.executable, "-m", "scheduler", "optimize", "inputs/mul_8x8_neon.s", "-o", str(out),
                             "--time-limit", "300", "--decompose", "always", "--workers", "1"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until the window passes are under way, then interrupt once
    for line in proc.stderr:
        if "windows" in line:
            break
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "interrupted" in err
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["interrupted"] is True and doc["verified"] is True and doc["proved"] is True
    assert doc["cycles_after"] <= doc["cycles_before"]
    assert _cli("verify", "inputs/mul_8x8_neon.s", str(out)).returncode == 0
