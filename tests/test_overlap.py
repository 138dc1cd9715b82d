"""The overlap stage: large-neighbourhood moves judged over back-to-back runs
(scheduler/search/overlap.py, the `overlap` stage of scheduler/search/stages.py)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from scheduler.core.clock import Clock, Deadline
from scheduler.frontend.dag import is_valid_order, random_topological_order
from scheduler.frontend.parse import parse_file
from scheduler.machine.evaluate import inorder, prepare
from scheduler.search import optimize as optimize_mod
from scheduler.search import stages
from scheduler.search.localsearch import objective_key, score
from scheduler.search.optimize import Options, optimize_block
from scheduler.search.overlap import MOVES, _Mover, overlap_search
from tests.support import N1

INPUTS = Path(__file__).resolve().parent.parent / "inputs"


def _body(name: str):
    return [i for i in parse_file(INPUTS / name).instructions if i.mnemonic != "ret"]


@pytest.mark.parametrize(("objective", "seed"), [("ooo", 0), ("single", 1)])
def test_never_worse_than_its_start_and_valid(objective, seed):
    instrs = _body("mul_6x6_stack.s")
    bt0 = prepare(instrs, N1)
    start = random_topological_order(bt0.dag, random.Random(seed))
    cap = inorder(bt0, start, N1).cycles
    first = objective_key(score(bt0, start, N1), objective)
    order, sc, used = overlap_search(bt0, N1, start, cap, random.Random(seed), 60, deadline=Deadline(Clock(True), 1e9),
                                     objective=objective)
    assert 0 < used <= 60
    assert is_valid_order(bt0.dag, order) and sorted(order) == list(range(bt0.n))
    assert objective_key(sc, objective) <= first
    assert sc == score(bt0, order, N1)  # the score returned is the order's
    assert inorder(bt0, order, N1).cycles <= cap


def test_every_move_keeps_the_dependencies():
    instrs = _body("mul_6x6_stack.s")
    bt = prepare(instrs, N1)
    rng = random.Random(3)
    mover = _Mover(bt, rng)
    order = list(range(bt.n))
    made = {m: 0 for m in MOVES}
    for _ in range(400):
        m = rng.choice(MOVES)
        cand = mover.propose(order, m)
        if cand is not None:
            assert is_valid_order(bt.dag, cand), m
            made[m] += 1
            order = cand
    assert all(made.values()), made  # each kind of move happens


def test_the_stage_runs_on_large_blocks_under_out_of_order_objectives_only():
    names = [s.name for s in stages.STAGES]
    assert names.index("overlap") == names.index("local-search") - 1
    stage = stages.STAGES[names.index("overlap")]

    class P:  # what `applies` reads
        def __init__(self, n, objective):
            self.bt = type("bt", (), {"n": n})()
            self.opts = Options(objective=objective)

    assert stage.applies(P(stages.OVERLAP_FROM, "ooo"))
    assert not stage.applies(P(stages.OVERLAP_FROM - 1, "ooo"))  # small kernels keep their outputs
    assert not stage.applies(P(1000, "inorder"))


def test_optimize_with_the_stage_verifies_and_never_loses(monkeypatch):
    # a small kernel (quick) with the stage's threshold lowered to reach it
    monkeypatch.setattr(stages, "OVERLAP_FROM", 20)
    instrs = _body("mul_4x4.s")
    opts = Options(time_limit=1, workers=1, seed=0, deterministic=True)
    # mul_4x4 reaches its out-of-order bound before the stage, which would then be skipped as
    # optional: here it runs anyway
    k = next(i for i, st in enumerate(stages.STAGES) if st.name == "overlap")
    patched = list(stages.STAGES)
    patched[k] = dataclasses.replace(patched[k], optional=False)
    monkeypatch.setattr(optimize_mod, "STAGES", patched)
    r = optimize_block(0, instrs, N1, opts, 1.0, live_out=frozenset({"x0"}), clock=Clock(True))
    assert r.verified and r.proved
    assert any(s["name"] == "overlap" for s in r.stages)
    rec = next(s for s in r.stages if s["name"] == "overlap")
    assert rec["best_ooo_after"] <= rec["best_ooo_before"]
    assert r.ooo_cycles_after <= r.ooo_cycles_before
