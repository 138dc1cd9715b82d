"""The register-aware list scheduler (scheduler/regsched.py): its schedules fit the
registers, keep carry chains whole, keep inputs, outputs and reserved registers in place,
never deadlock on an order that fits, and every one verifies and passes the certificate
check."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.checks.certificate import check_block, register_map
from scheduler.checks.verify import verify
from scheduler.frontend.ir import FLAGS
from scheduler.frontend.parse import parse_file, parse_text
from scheduler.machine.evaluate import inorder, prepare
from scheduler.search.regsched import VARIANTS, flag_chains, pressure_schedule, reschedule
from scheduler.search.rename import DEFAULT_RESERVED, analyse, lifetimes, renaming_edges
from tests.support import N1
from tests.support.kernels import kernel

# Two independent 2x2 products whose carry chains are written one after the other with
# a register reused: the second product's multiplies may start long before the first
# chain ends, if registers allow.
TWO = """
    ldp x2, x3, [x1]
    ldp x4, x5, [x1, #16]
    mul x8, x2, x4
    umulh x9, x2, x4
    mul x10, x3, x5
    umulh x11, x3, x5
    adds x8, x8, x10
    adcs x9, x9, x11
    adc x12, xzr, xzr
    stp x8, x9, [x0]
    str x12, [x0, #16]
    mul x8, x2, x5
    umulh x9, x2, x5
    mul x10, x3, x4
    umulh x11, x3, x4
    adds x8, x8, x10
    adcs x9, x9, x11
    adc x12, xzr, xzr
    stp x8, x9, [x0, #24]
    str x12, [x0, #40]
"""


def setup(instrs, live_out=frozenset()):
    bt = prepare(instrs, N1)
    prob = analyse(instrs, live_out, DEFAULT_RESERVED)
    raw, order = renaming_edges(bt, prob)
    return bt, prob, replace(bt, raw=raw, order=order)


def peak(prob, issue):
    """Most values of each class holding a register at one time."""
    life = lifetimes(prob, issue, max(issue) + 2)
    out = {}
    for cls in prob.available:
        events = sorted(e for v in prob.values if v.cls == cls and prob.shares_pool(v)
                        for e in ((life[v.id][0], 1), (life[v.id][1], -1)))
        cur = best = 0
        for _, d in events:
            cur += d
            best = max(best, cur)
        out[cls] = best
    return out


def test_schedule_fits_the_registers_and_respects_dependencies():
    instrs = parse_text(TWO).instructions
    bt, prob, rbt = setup(instrs)
    for lookahead in (1, 4, 30):
        issue, alloc = pressure_schedule(rbt, prob, N1, list(range(bt.n)), lookahead)
        for v in range(bt.n):
            for u, lat in rbt.raw[v]:
                assert issue[v] >= issue[u] + lat
            for u in rbt.order[v]:
                assert issue[v] >= issue[u]
        for cls, most in peak(prob, issue).items():
            assert most <= prob.capacity(cls), cls
        # every value has a register; fixed ones keep theirs
        for v in prob.values:
            assert v.id in alloc.reg_of
            if v.fixed:
                assert alloc.reg_of[v.id] == v.reg


def test_a_tight_register_budget_is_kept():
    """Whatever the pool, a schedule that comes back fits it; one too small for the base
    order itself gives none."""
    instrs = parse_text(TWO).instructions
    bt, prob, rbt = setup(instrs)
    full = prob.capacity("x")
    fitted = []
    for cap in range(full, 0, -1):
        prob.margin = {"x": full - cap}
        res = pressure_schedule(rbt, prob, N1, list(range(bt.n)), 30)
        if res is not None:
            assert peak(prob, res[0])["x"] <= cap
            fitted.append(cap)
    assert fitted and min(fitted) > 1
    assert fitted == list(range(full, min(fitted) - 1, -1))  # down to the base order's need, no further


def test_carry_chains_stay_whole_and_in_base_order():
    """Without free chains, in the base order's sequence."""
    instrs = parse_text(TWO).instructions
    bt, prob, rbt = setup(instrs)
    chain = flag_chains(bt.n, prob)
    assert len({c for c in chain if c >= 0}) == 2
    issue, _ = pressure_schedule(rbt, prob, N1, list(range(bt.n)), 30)
    first = [issue[k] for k in range(bt.n) if chain[k] == chain[6]]
    second = [issue[k] for k in range(bt.n) if chain[k] == chain[15]]
    assert max(first) <= min(second)


# Three carry chains in the order A, B, C: A waits on a multiply chain, B is ready at
# once, C needs A's result.
THREE = """
    ldp x2, x3, [x1]
    mul x4, x2, x3
    umulh x5, x2, x3
    mul x6, x4, x5
    adds x7, x6, x2
    adc x8, xzr, xzr
    adds x9, x2, x3
    adc x10, xzr, xzr
    add x11, x8, x3
    adds x12, x11, x2
    adc x13, xzr, xzr
    stp x7, x8, [x0]
    stp x9, x10, [x0, #16]
    stp x12, x13, [x0, #32]
"""


def test_free_chains_open_a_ready_chain_first_but_never_one_that_waits_on_another():
    instrs = parse_text(THREE).instructions
    bt, prob, rbt = setup(instrs)
    chain = flag_chains(bt.n, prob)
    a, b, c = chain[4], chain[6], chain[9]
    assert len({a, b, c}) == 3
    spans = {}
    for free in (False, True):
        issue, _ = pressure_schedule(rbt, prob, N1, list(range(bt.n)), 30, free_chains=free)
        span = {x: (min(issue[k] for k in range(bt.n) if chain[k] == x),
                    max(issue[k] for k in range(bt.n) if chain[k] == x)) for x in (a, b, c)}
        order = sorted(span, key=span.get)
        for x, y in pairwise(order):
            assert span[x][1] <= span[y][0]  # whole chains, never overlapping
        spans[free] = (order, span[b][0], max(issue))
    assert spans[False][0] == [a, b, c]
    assert spans[True][0] == [b, a, c]  # B runs in A's wait; C still after A
    assert spans[True][1] < spans[False][1]  # B no longer waits for A
    assert spans[True][2] <= spans[False][2]


def test_long_range_moves_beat_the_input_order():
    instrs = parse_text(TWO).instructions
    before = inorder(prepare(instrs, N1), list(range(len(instrs))), N1).cycles
    outs = reschedule(instrs, N1, frozenset(), DEFAULT_RESERVED)
    assert len(outs) == len(VARIANTS)
    best = min(inorder(prepare(body, N1), list(range(len(body))), N1).cycles for body, _ in outs)
    assert best < before
    for body, src in outs:
        assert sorted(src) == list(range(len(instrs)))
        assert verify(instrs, body, trials=30, seed=1, outputs=["sp"], noalias=frozenset({"x0", "x1"})).equivalent


def test_every_schedule_of_a_large_kernel_verifies_and_is_certified():
    path = "inputs/mul_8x8_neon.s"
    prog = parse_file(path)
    block = max(prog.blocks(), key=lambda b: len(b.instructions))
    instrs = block.instructions
    from scheduler.search.optimize import live_out_of

    live = live_out_of(prog, block, frozenset(prog.outputs))
    outs = reschedule(instrs, N1, live, DEFAULT_RESERVED, prog.noalias)
    assert outs
    for body, src in outs:
        assert_certified(instrs, body, src, live, prog.noalias)
        assert verify(instrs, body, trials=10, seed=0, outputs=sorted(live | {"sp"}), noalias=prog.noalias).equivalent


def assert_certified(instrs, body, src, live, noalias=frozenset()):
    """The dataflow certificate of a renamed schedule (a proof for all inputs)."""
    cert = {"inst_map": [k + 1 for k in src], "offset_fixups": [], "output_map": {},
            "register_map": register_map([instrs[k] for k in src], body),
            "assumptions": {"no_alias": sorted(noalias), "outputs": sorted(live | {"sp"})}}
    assert check_block(instrs, body, cert) == []


@pytest.mark.slow  # about 13 s
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=kernel(min_size=4, max_size=40), lookahead=st.sampled_from([1, 3, 10, 50]), seed=st.integers(0, 50),
       free=st.booleans())
def test_random_kernels_never_stall_and_verify(text, lookahead, seed, free):
    instrs = parse_text(text).instructions
    bt, prob, rbt = setup(instrs)
    res = pressure_schedule(rbt, prob, N1, list(range(bt.n)), lookahead, free_chains=free)
    assert res is not None  # the input order fits its own registers: the witness never deadlocks
    issue, _ = res
    for cls, most in peak(prob, issue).items():
        if cls != FLAGS:
            assert most <= prob.capacity(cls)
    for body, src in reschedule(instrs, N1, frozenset(), DEFAULT_RESERVED):
        assert verify(instrs, body, trials=15, seed=seed, outputs=["sp"]).equivalent
        assert_certified(instrs, body, src, frozenset())
        assert not set().union(*(i.writes for i in body)) & {"x18", "x29", "x30"}
