"""Property tests on random kernels: any order the DAG allows is equivalent."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scheduler.checks.prove import prove
from scheduler.checks.verify import verify
from scheduler.frontend.dag import build_dag, is_valid_order, random_topological_order
from scheduler.frontend.parse import parse_text
from tests.support.kernels import kernel


@pytest.mark.slow  # Hypothesis over many kernels (6-9 s)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=kernel(), seed=st.integers(0, 2**32 - 1))
def test_every_dag_order_is_equivalent(text, seed):
    instrs = parse_text(text).instructions
    g = build_dag(instrs)
    order = random_topological_order(g, random.Random(seed))
    assert is_valid_order(g, order)
    res = verify(instrs, [instrs[i] for i in order], trials=12, seed=seed)
    assert res.equivalent, (res.mismatch, res.problems, [str(instrs[i]) for i in order])


@pytest.mark.slow  # Hypothesis over many kernels (6-9 s)
@settings(max_examples=40, deadline=None)
@given(text=kernel(min_size=6), seed=st.integers(0, 2**32 - 1))
def test_noalias_orders_are_equivalent_when_buffers_are_disjoint(text, seed):
    instrs = parse_text(text).instructions
    g = build_dag(instrs, noalias={"x0", "x1"})
    order = random_topological_order(g, random.Random(seed))
    res = verify(instrs, [instrs[i] for i in order], trials=12, seed=seed, noalias={"x0", "x1"})
    assert res.equivalent, (res.mismatch, res.problems)


@settings(max_examples=40, deadline=None)
@given(text=kernel(min_size=6), seed=st.integers(0, 2**32 - 1))
@example(text="adds x2, x2, x2\nadds x2, x2, x2\nsubs x2, x2, x2\nadds x2, x2, x2\nadds x3, x2, x3\n"
              "adds x2, x2, x2\n", seed=0)  # the swap cannot matter: x2 is 0 both times
def test_breaking_a_true_dependency_is_caught(text, seed):
    """Move the consumer of a RAW edge in front of its producer: verify must notice,
    unless the move provably cannot matter (the consumer's output is dead anyway)."""
    instrs = parse_text(text).instructions
    g = build_dag(instrs)
    raw = [(u, v) for u, v in g.edges if v == u + 1 and any(
        d.kind == "raw" and d.resource.startswith("x") for d in g.edges[u, v]["deps"])
        and instrs[v].mnemonic in ("mul", "umulh", "eor", "adds", "subs", "extr")
        and len({str(o) for o in instrs[v].operands[1:3]}) == 2  # not x op x (may cancel)
        and str(instrs[u]) != str(instrs[v])
        # v's result must survive the swap: u neither writes nor reads v's destination
        and not (instrs[v].writes - {"nzcv"}) & (instrs[u].writes | instrs[u].reads)]
    if not raw:
        return
    u, v = raw[random.Random(seed).randrange(len(raw))]
    swapped = list(range(len(instrs)))
    swapped[u], swapped[v] = v, u
    # Compare only the consumer's result right after the pair: the swap must change it.
    prefix = [instrs[i] for i in swapped[: v + 1]]
    dest = next(iter(instrs[v].writes - {"nzcv"}))
    # unless the swap provably cannot change it (e.g. the producer rewrites a value it already
    # had: `subs x2, x2, x2` then `adds x2, x2, x2` leaves 0 in x2), which the prover decides
    if prove(instrs[: v + 1], prefix, frozenset(), [dest]).status == "proved":
        return
    res = verify(instrs[: v + 1], prefix, trials=12, seed=seed, outputs=[dest])
    assert not res.equivalent
