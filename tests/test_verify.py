"""`verify`: equivalent reorderings pass, broken ones fail with a counterexample."""

from __future__ import annotations

import pytest

from scheduler.checks.verify import live_ins, straight_line, verify
from scheduler.frontend.dag import build_dag, random_topological_order
from scheduler.frontend.parse import parse_file, parse_text
from tests.support import ROOT

EXAMPLES = sorted(p for p in (ROOT / "inputs").iterdir() if p.suffix in (".s", ".S"))


def instrs(text: str):
    return parse_text(text).instructions


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("seed", [1, 2])
def test_example_reorderings_verify(path, seed):
    import random

    code = straight_line(parse_file(path))
    g = build_dag(code)
    order = random_topological_order(g, random.Random(seed))
    if order == list(range(len(code))):
        # only possible if the kernel is a chain as written (mix64_x2_reuse.s: register reuse
        # leaves reordering no freedom at all; renaming is what frees it)
        assert all(g.has_edge(i, i + 1) for i in range(len(code) - 1))
        return
    res = verify(code, [code[i] for i in order], trials=40, seed=seed)
    assert res.equivalent, res.mismatch


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_broken_dependency_fails(path):
    """Swap a producer with its first consumer: a wrong program, which verify must catch."""
    code = straight_line(parse_file(path))
    g = build_dag(code)
    u, v = next((u, v) for u, v in sorted(g.edges) if code[u].mnemonic in ("mul", "umulh", "adds", "adcs")
                and any(d.kind == "raw" for d in g.edges[u, v]["deps"]))
    broken = list(code)
    broken.insert(u, broken.pop(v))  # consumer before producer
    res = verify(code, broken, trials=20, seed=0)
    assert not res.equivalent
    m = res.mismatch
    assert m is not None and m.expected != m.actual
    assert m.initial.x  # the counterexample's initial state is reported


def test_memory_mismatch_location():
    res = verify(instrs("str x2, [x0]"), instrs("str x3, [x0]"), trials=5)
    assert res.mismatch.location.startswith("mem[")


def test_outputs_restrict_comparison():
    a = instrs("mov x3, #1\nmov x0, #7")
    b = instrs("mov x3, #2\nmov x0, #7")
    assert not verify(a, b, trials=3).equivalent  # default: every register
    assert verify(a, b, trials=3, outputs=["x0"]).equivalent


def test_callee_saved_always_compared():
    a = instrs("mov x0, #7")
    b = instrs("mov x0, #7\nmov x19, #0")
    res = verify(a, b, trials=3, outputs=["x0"])
    assert res.mismatch.location == "x19"
    c = instrs("mov x0, #7\nmovi d8, #0")
    assert verify(a, c, trials=3, outputs=["x0"]).mismatch.location == "v8"


def test_candidate_reading_undefined_register_is_flagged():
    a = instrs("mov x0, #1")
    b = instrs("mov x0, #1\nadd x5, x9, #0\nmov x5, #0")
    res = verify(a, b, trials=3, outputs=["x0"])
    assert not res.equivalent
    assert any("x9" in p for p in res.problems)
    assert live_ins(b) == {"x9"}


def test_candidate_reading_untouched_memory_is_flagged():
    a = instrs("ldr x2, [x0]\nmov x2, #0")
    b = instrs("ldr x2, [x0, #64]\nmov x2, #0")
    res = verify(a, b, trials=3)
    assert any("memory" in p for p in res.problems)


def test_aliasing_pointers_are_exercised():
    """Store through x0 then load through x1: swapping is only valid if they never alias.
    Without a no-alias declaration verify must find the aliasing counterexample."""
    a = instrs("str x2, [x0]\nldr x3, [x1]")
    b = instrs("ldr x3, [x1]\nstr x2, [x0]")
    assert not verify(a, b, trials=40).equivalent
    assert verify(a, b, trials=40, noalias={"x0", "x1"}).equivalent


def test_edge_values_catch_carry_bug():
    """An adc dropped for `add` differs only when a carry comes in: the all-ones trial finds it."""
    a = instrs("adds x2, x2, x3\nadc x4, x4, xzr")
    b = instrs("adds x2, x2, x3\nadd x4, x4, xzr")
    res = verify(a, b, trials=4)
    assert not res.equivalent


def test_all_registers_means_all_of_v8_to_v15():
    a = instrs("dup v8.2d, x1")
    b = instrs("fmov d8, x1")  # same low 64 bits, different upper half
    assert not verify(a, b, trials=3).equivalent  # every register compared: in full
    assert verify(a, b, trials=3, outputs=[]).equivalent  # callee-saved rule: low halves only
