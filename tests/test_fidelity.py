"""The out-of-order evaluator against llvm-mca-19 (recorded figures, no llvm-mca needed),
and unit tests of the cycle-driven issue model (docs/model.md section 7).

llvm-mca figures: `llvm-mca-19 -mtriple=aarch64 -mcpu=neoverse-n1 -iterations=100`, Total
Cycles / 100, on the listing of the named order (block 0 of the kernel, instructions only),
as printed by `python benchmarks/fidelity.py` (seed 1: `randomI` is the I-th order drawn by
`random_topological_order` from one `random.Random(1)`). The listing's hash pins the order,
so a change to the parser or the DAG that draws other orders fails loudly instead of
comparing the wrong schedules.
"""

from __future__ import annotations

import hashlib
import random

import pytest

import scheduler.machine.evaluate as ev
from scheduler.frontend.dag import random_topological_order
from scheduler.frontend.parse import parse_file, parse_text
from scheduler.machine.evaluate import _book, out_of_order, prepare
from scheduler.machine.model import Model, Param
from tests.support import N1_LLVM, ROOT

# llvm-mca's view: LLVM's N1 model (no issue queues, a pipe picked at issue one cycle after
# dispatch, M busy 3 per mul and umulh). The default model is calibrated on Graviton2 instead
# (tests/test_queues.py, outputs/GRAVITON2.md); here the issue-time evaluator's mechanics are
# checked against llvm-mca's where the two models agree.
N1 = N1_LLVM

# (kernel, order a, listing hash a, llvm-mca a, order b, listing hash b, llvm-mca b):
# llvm-mca finds b slower than a. The first two pairs were tied under the previous
# evaluator (130 vs 130; 302 vs 302); the last two it already ranked right.
PAIRS = [
    ("montgomery/montmul_4.s", "random34", "82d52a0be4c9481e", 146.16, "random10", "696293e1fecf15b4", 152.12),
    ("montgomery/montsqr_6.s", "input", "f05f97906ff720c5", 336.10, "random14", "5df951f7bbb70005", 346.08),
    ("mul_6x6_stack.s", "random33", "62e763053d1d14f3", 221.04, "random48", "7b5ae41a48ddf303", 226.06),
    ("montgomery/montsqr_9.s", "random15", "fd49a27eeb53f348", 701.26, "random1", "67c3b5c1e0a5f98c", 720.22),
]


def _orders(bt, labels):
    wanted = {int(lab[len("random"):]) for lab in labels if lab.startswith("random")}
    rng = random.Random(1)
    drawn = {}
    for i in range(max(wanted, default=-1) + 1):
        o = random_topological_order(bt.dag, rng)
        if i in wanted:
            drawn[f"random{i}"] = o
    drawn["input"] = list(range(bt.n))
    return drawn


@pytest.mark.parametrize("kernel,a,ha,ma,b,hb,mb", PAIRS, ids=[p[0] for p in PAIRS])
def test_ranking_agrees_with_llvm_mca(kernel, a, ha, ma, b, hb, mb):
    prog = parse_file(ROOT / "inputs" / kernel)
    code = prog.blocks()[0].instructions
    bt = prepare(code, N1, prog.noalias)
    orders = _orders(bt, [a, b])
    for lab, h in ((a, ha), (b, hb)):
        listing = "\n".join(str(code[k]) for k in orders[lab])
        assert hashlib.sha256(listing.encode()).hexdigest()[:16] == h, f"{kernel} {lab} is not the recorded order"
    assert mb > ma
    assert out_of_order(bt, orders[a], N1).steady < out_of_order(bt, orders[b], N1).steady


# ----------------------------------------------------------------- mechanisms

def _trace(text, model=N1, iterations=3):
    bt = prepare(parse_text(text).instructions, model)
    tr = []
    r = out_of_order(bt, list(range(bt.n)), model, iterations, trace=tr)
    return r, {(it, k): (d, i, rt) for it, k, d, i, rt in tr}


# 0 ldr: issue 1, x1 ready at 5; 1 mul: the older mul, ready at 5; 2-4 adds: issue 1, 2, 3
# (the fifth instruction is dispatched at 1: decode 4 a cycle); 5 mul: the younger, ready at 4
GREEDY = """\
ldr x1, [x0]
mul x2, x1, x1
add x4, x8, x9
add x5, x4, x9
add x6, x5, x9
mul x7, x6, x6
"""


def test_issue_is_greedy_in_time():
    # the younger mul is ready at 4 and M is free: it takes M for cycles 4-6 (busy 3); the
    # older mul, ready at 5, waits until 7 (a booking model that lets older instructions
    # reserve M first would put the older at 5 and the younger at 8)
    _, tr = _trace(GREEDY, iterations=1)
    assert tr[(0, 5)][1] == 4
    assert tr[(0, 1)][1] == 7


def test_trace_records_dispatch_issue_retire_in_order():
    r, tr = _trace(GREEDY)
    assert len(tr) == 18
    assert tr[(0, 0)] == (0, 1, 5)  # dispatch 0, issue 1, retire at 1 + 4
    assert tr[(0, 4)][0] == 1  # the fifth instruction waits for the next decode cycle
    retire = [tr[(it, k)][2] for it in range(3) for k in range(6)]
    assert retire == sorted(retire)
    assert r.single == tr[(0, 5)][2] + 1


def test_book_moves_a_flexible_uop_within_the_cycle():
    units = [[0], [0]]  # V0, V1: one unit each, free
    flex = []
    assert _book(units, (((0, 1), 1),), 5, flex)  # a V micro-op takes V0 (first preference)
    assert units == [[6], [0]]
    assert _book(units, (((0,), 1),), 5, flex)  # a V0-only one: the first moves to V1
    assert units == [[6], [6]]
    assert not _book(units, (((0, 1), 1),), 5, flex)  # both taken now; nothing changes
    assert units == [[6], [6]]
    assert _book(units, (((0, 1), 1),), 6, [])


def test_book_all_or_nothing():
    units = [[0], [3]]  # V1 busy until 3
    assert not _book(units, (((0,), 1), ((1,), 1)), 1, [])
    assert units == [[0], [3]]


def test_extr_m_uop_is_not_flexible():
    # EXTR is I + M: its M micro-op cannot be moved away by a MUL in the same cycle, so a
    # block of one extr and one mul needs 1 + 3 M cycles per iteration
    r, _ = _trace("extr x1, x2, x3, #63\nmul x4, x5, x6\n", iterations=40)
    assert r.steady == 4.0


def test_mul_and_umulh_fill_the_multiplier():
    # independent mul + umulh: M busy 3 + 3 per iteration
    r, _ = _trace("mul x1, x2, x3\numulh x4, x2, x3\n", iterations=40)
    assert r.steady == 6.0


def test_pipe_preference_keeps_the_scarce_pipe_free():
    # ALU work prefers S (no instruction needs S alone; the mul needs M): six adds and a
    # mul per iteration fit in 3 cycles (M busy 3) only if every add goes to S0 or S1
    r, _ = _trace("add x1, x2, x3\nmul x4, x5, x6\n" + "".join(f"add x{i}, x2, x3\n" for i in range(7, 12)),
                  iterations=40)
    assert r.steady == 3.0


def test_mca_rank_prefers_instructions_with_waiting_dependants(monkeypatch):
    text = "mul x1, x2, x3\nmul x4, x5, x6\nadd x7, x4, x9\nadd x8, x4, x9\n"
    _, tr = _trace(text, iterations=1)
    assert (tr[(0, 0)][1], tr[(0, 1)][1]) == (1, 4)  # age order
    monkeypatch.setattr(ev, "MCA_RANK", True)
    _, tr = _trace(text, iterations=1)
    assert (tr[(0, 1)][1], tr[(0, 0)][1]) == (1, 4)  # rank 1 - 2 users beats 0 - 0


def test_instruction_wider_than_the_window_still_runs():
    spec = N1.spec.model_copy(update={"core": N1.spec.core.model_copy(
        update={"window": Param(value=2, source="test")})})
    tiny = Model("tiny-window", N1.path, spec)
    bt = prepare(parse_text("stp q0, q1, [x0]\nadd x1, x2, x3\n").instructions, tiny)
    assert bt.timings[0].n_uops > 2
    r = out_of_order(bt, [0, 1], tiny, 10)
    assert r.steady > 0


def test_vec_to_gpr_element_0_uses_either_v_pipe():
    # [MCA19]: mov x, v.d[0] is 2c on V0 or V1; element 1 only on V1
    t0 = N1.timing(parse_text("mov x1, v0.d[0]\n").instructions[0])
    t1 = N1.timing(parse_text("mov x1, v0.d[1]\n").instructions[0])
    assert t0.uops == ((("V0", "V1"), 1),) and t0.latency == 2
    assert t1.uops == ((("V1",), 1),)
    r, _ = _trace("mov x1, v0.d[0]\nmov x2, v1.d[0]\n", iterations=40)
    assert r.steady == 1.0
