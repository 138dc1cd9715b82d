"""Issue queues, steering at dispatch and units held by a micro-op (the out-of-order model of
docs/model.md section 8), against hand-computed traces.

The default N1 model: one issue queue per pipe (S0, S1, M, B: 16 entries; L0, L1: 12; V0, V1:
16; D: none), a micro-op that may use several pipes is steered at dispatch to the
least-occupied queue (M's only when S0's and S1's are full), dispatch waits in program order
while a micro-op finds its queues full, each pipe issues the oldest ready micro-op of its own
queue, a micro-op dispatched in cycle c issues from c + 2, and a 64-bit mul is one micro-op on
M that holds the multiplier (pipe MUL) 3 cycles (umulh 4) while M takes other work the next
cycle. `neoverse-n1-llvm` has none of this (no queues, a pipe picked at issue from c + 1, M
itself busy 3 cycles per mul), which keeps the earlier evaluator's behaviour.
"""

from __future__ import annotations

import pytest

from scheduler.frontend.parse import parse_text
from scheduler.machine.evaluate import exact_steady, inorder, long_run_steady, out_of_order, prepare
from scheduler.machine.model import Model, QueueSpec, SteeringSpec
from tests.support import N1, N1_LLVM


def lines(*instrs: str) -> str:
    return "\n".join(instrs) + "\n"


def trace_of(text: str, model: Model = N1) -> list[tuple[int, int, int, int, int]]:
    """(iteration, instruction, dispatch, issue, retire) of one iteration."""
    bt = prepare(parse_text(text).instructions, model)
    tr: list = []
    out_of_order(bt, list(range(bt.n)), model, iterations=1, trace=tr)
    return sorted(tr, key=lambda t: t[1])


def with_steering(model: Model, rule: str, avoid: tuple[str, ...] = ()) -> Model:
    spec = model.spec.model_copy(update={"steering": SteeringSpec(rule=rule,  # type: ignore[arg-type]  # a test picks the rule by name
                                                                 avoid=list(avoid), source="test")})
    return Model(f"{model.name}-{rule}", model.path, spec)


def test_dispatch_to_issue_is_two_cycles():
    # dispatch 0, issue 2, complete 3 and retire at 3
    assert [t[2:] for t in trace_of("add x1, x2, x3\n")] == [(0, 2, 3)]
    assert [t[2:] for t in trace_of("add x1, x2, x3\n", N1_LLVM)] == [(0, 1, 2)]


def test_a_full_queue_stops_dispatch_in_program_order():
    """20 independent muls and an add: 4 a cycle fill M's queue (16) by cycle 3; the mul issued
    at 2 frees an entry, taken at 4 by the 17th; from then on one mul leaves every 3 cycles
    (the multiplier), and each later instruction, the add too, waits for an entry ahead of it."""
    text = lines(*(f"mul x{i}, x0, x1" for i in range(2, 22)), "add x25, x0, x1")
    tr = trace_of(text)
    dispatch = [t[2] for t in tr]
    assert dispatch[:16] == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    assert dispatch[16:] == [4, 6, 9, 12, 12]
    assert [t[3] for t in tr[:4]] == [2, 5, 8, 11]  # the multiplier: one mul every 3 cycles
    # without queues the whole block is in the window by cycle 5 (decode: 4 a cycle)
    assert max(t[2] for t in trace_of(text, N1_LLVM)) == 5


def test_alu_work_issues_on_m_under_a_busy_multiplier():
    # a mul holds the multiplier 3 cycles; `add ..., lsr #3` runs on M only, the next cycle
    tr = trace_of(lines("mul x1, x2, x3", "add x4, x5, x6, lsr #3"))
    assert [t[3] for t in tr] == [2, 3]
    tr = trace_of(lines("mul x1, x2, x3", "add x4, x5, x6, lsr #3"), N1_LLVM)
    assert [t[3] for t in tr] == [1, 4]  # M itself is busy 3 cycles under the llvm variant


def test_oldest_ready_first_within_a_queue():
    # both S queues hold adds waiting for a mul's result; the independent add dispatched
    # after them is ready first and does not wait behind them
    text = lines("mul x1, x2, x3", "add x4, x1, x1", "add x5, x1, x1", "add x6, x7, x8")
    tr = trace_of(text)
    assert [t[3] for t in tr] == [2, 6, 6, 2]


def test_steering_puts_alu_work_on_m_only_when_the_s_queues_are_full():
    """Four independent adds behind a mul that M's queue holds: with M last they all go to S0
    and S1 (two a cycle: issue 2, 2, 3, 3); least-occupied alone sends one to M's queue, where
    it issues at 3, behind the mul."""
    text = lines("mul x1, x2, x3", *(f"add x{i}, x9, x9" for i in range(10, 14)))
    assert [t[3] for t in trace_of(text)][1:] == [2, 2, 3, 3]
    least = with_steering(N1, "least")
    assert sorted(t[3] for t in trace_of(text, least)[1:]) == [2, 2, 3, 3]
    # either way the block takes the same time here; the difference shows under load (below)


def test_chain_of_adds_settles_slower_when_steered_at_dispatch():
    # three dependent adds per iteration, iterations independent: three pipes allow 1 cycle per
    # iteration; a micro-op bound to its queue at dispatch waits there while another pipe idles
    text = lines("add x2, x1, x3", "add x4, x2, x3", "add x5, x4, x3")
    bt = prepare(parse_text(text).instructions, N1)
    assert exact_steady(bt, [0, 1, 2], N1) == pytest.approx(37 / 35)
    bt = prepare(parse_text(text).instructions, N1_LLVM)
    assert exact_steady(bt, [0, 1, 2], N1_LLVM) == pytest.approx(1.0)


def test_queue_sizes_are_model_data():
    # a 2-entry M queue: the third mul waits for the first to issue (cycle 2) and dispatches at 3
    spec = N1.spec.model_copy(update={"queues": {**N1.spec.queues, "M": QueueSpec(size=2, source="test")}})
    small = Model("n1-small-m", N1.path, spec)
    tr = trace_of(lines("mul x1, x2, x3", "mul x4, x2, x3", "mul x5, x2, x3"), small)
    assert [t[2] for t in tr] == [0, 0, 3]


def test_in_order_model_and_bounds_use_the_same_occupancies():
    """One set of numbers: the in-order model (what CP-SAT optimises) and the bounds book the
    mul's M micro-op for one cycle and the multiplier for three, as the out-of-order model."""
    text = lines("mul x1, x2, x3", "mul x4, x2, x3", "add x5, x6, x7, lsr #2")
    bt = prepare(parse_text(text).instructions, N1)
    # in order: the second mul waits for the multiplier (3), the add for M's port after it (4)
    assert inorder(bt, [0, 1, 2], N1).issue == [0, 3, 4]
    # the add between the muls takes M's port in the multiplier's shadow
    assert inorder(bt, [0, 2, 1], N1).issue == [0, 3, 1]
    from scheduler.machine.bounds import ooo_bound, resource_load

    assert resource_load(bt, N1) == (6, "MUL")
    assert ooo_bound(bt, N1) == 6
    assert long_run_steady(bt, [0, 1, 2], N1) == 6.0


def test_queued_run_repeats_are_exact():
    # 4 independent muls: the multiplier binds, 12 cycles an iteration, found as a repeat
    text = lines(*(f"mul x{i}, x0, x1" for i in range(2, 6)))
    bt = prepare(parse_text(text).instructions, N1)
    r = out_of_order(bt, list(range(4)), N1)
    assert r.steady == 12.0 == exact_steady(bt, list(range(4)), N1)
