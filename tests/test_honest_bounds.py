"""Reported bounds and OPTIMAL hold for every schedule the options allow (renaming included)."""

from __future__ import annotations

import pytest

from scheduler.machine.evaluate import exact_steady, prepare
from scheduler.search import stages as opt_mod
from scheduler.machine.model import load_model
from scheduler.search.optimize import Options, optimize_block
from scheduler.frontend.parse import parse_text

# x2 is reused for three independent products: reordering alone must serialise them on the
# WAR/WAW edges of x2, renaming lets the multiplier pipeline them
REUSE = """\
\tmul x2, x3, x4
\tadd x5, x2, x2
\tmul x2, x6, x7
\tadd x8, x2, x2
\tmul x2, x9, x10
\tadd x11, x2, x2
\tmul x2, x12, x13
\tadd x14, x2, x2
\tstp x5, x8, [x0]
\tstp x11, x14, [x0, #16]
"""
N1 = load_model("neoverse-n1")


def _run(monkeypatch=None, rename=True, objective="inorder"):
    (block,) = parse_text(REUSE).blocks()
    opts = Options(time_limit=5, workers=1, seed=0, rename=rename, deterministic=True, objective=objective)
    from scheduler.core.clock import Clock

    return optimize_block(0, block.instructions, load_model("neoverse-n1"), opts, 5.0,
                          live_out=frozenset({"x0"}), clock=Clock(True))


def test_renaming_beats_the_reorder_only_optimum():
    reorder = _run(rename=False)
    renamed = _run(rename=True)
    assert reorder.status == "OPTIMAL"
    assert renamed.cycles_after < reorder.cycles_after
    assert renamed.lower_bound <= renamed.cycles_after


def test_no_optimal_claim_at_the_reorder_only_optimum(monkeypatch):
    """Renaming that finds nothing must not leave the reorder-only proof as the claim."""
    renamed = _run(rename=True)
    monkeypatch.setattr(opt_mod, "rename_candidates", lambda *a, **k: ([], None))
    monkeypatch.setattr(opt_mod, "reschedule", lambda *a, **k: [])  # nor the register-aware list scheduler
    crippled = _run(rename=True)
    assert crippled.cycles_after > renamed.cycles_after
    assert crippled.status != "OPTIMAL"
    assert crippled.lower_bound <= renamed.cycles_after
    assert crippled.solver_bound is None or crippled.solver_bound <= renamed.cycles_after


@pytest.mark.parametrize("rename", [False, True])
def test_optimal_means_the_bound_is_met(rename):
    r = _run(rename=rename)
    assert (r.status == "OPTIMAL") == (r.cycles_after == r.lower_bound)


def _settles_at(r) -> float | None:
    bt = prepare(r.instructions_after, N1)
    return exact_steady(bt, list(range(bt.n)), N1)


def test_optimal_under_the_out_of_order_objective_means_its_bound_is_met():
    r = _run(objective="ooo")
    exact = _settles_at(r)
    assert exact is not None
    met = r.ooo_cycles_after <= r.ooo_lower_bound + 1e-9 and exact <= r.ooo_lower_bound + 1e-9
    assert (r.status == "OPTIMAL") == met
    assert r.status == "OPTIMAL"  # 4 muls: M busy 8 per iteration, and the run settles there
    assert any(n.startswith("OPTIMAL under the out-of-order objective: the run settles at 8 ") for n in r.notes)


def test_no_out_of_order_optimal_claim_when_the_run_settles_above_the_bound(monkeypatch):
    """A finite window that reads at the bound is not a proof: the run must settle there."""
    from scheduler.search import optimize as optimize_mod

    monkeypatch.setattr(optimize_mod, "settles_within", lambda bt, model, bound: (False, 8.5))
    r = _run(objective="ooo")
    assert r.ooo_cycles_after <= r.ooo_lower_bound + 1e-9  # measured at the bound
    assert r.status == "FEASIBLE"
    assert any("settles to 8.5" in n and "not claimed optimal" in n for n in r.notes)
    monkeypatch.setattr(optimize_mod, "settles_within", lambda bt, model, bound: (False, None))
    r = _run(objective="ooo")
    assert r.status == "FEASIBLE" and any("not shown periodic" in n for n in r.notes)
