"""The fast list scheduler and window-chain bound give exactly what their plain quadratic
definitions give (they were rewritten for the --time-limit of large kernels, issue 28)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from scheduler.frontend.parse import parse_file, parse_text
from scheduler.machine.bounds import tails, true_dependencies, window_chain
from scheduler.machine.evaluate import BlockTiming, PipeTable, prepare
from scheduler.machine.model import Model, load_model
from scheduler.search.listsched import list_schedule
from tests.support import N1, ROOT
from tests.support.kernels import kernel


def plain_list_schedule(bt: BlockTiming, model: Model, prio: list[float]) -> list[int]:
    """The definition: each cycle, every remaining instruction whose predecessors issued in an
    earlier cycle and whose true dependencies' latencies have elapsed, by priority."""
    issue = [-1] * bt.n
    table = PipeTable(model.pipes)
    remaining, order, t = set(range(bt.n)), [], 0
    while remaining:
        ready = sorted((k for k in remaining if all(issue[u] >= 0 for u in bt.order[k])
                        and all(issue[u] >= 0 and issue[u] + lat <= t for u, lat in bt.raw[k])),
                       key=lambda k: (-prio[k], k))
        now = 0
        for k in ready:
            if now >= model.issue_width:
                break
            if table.try_book(t, bt.reservations[k]):
                issue[k], now = t, now + 1
                order.append(k)
                remaining.discard(k)
        t += 1
    return order


def plain_window_chain(bt: BlockTiming, window: int) -> float:
    """`window_chain`'s bound with the ancestors' micro-ops summed one by one."""
    if bt.n == 0:
        return 0.0
    from dataclasses import replace

    tail = tails(replace(bt, order=[[] for _ in range(bt.n)]))
    uops = [t.n_uops for t in bt.timings]
    anc: list[set[int]] = []
    for v in range(bt.n):
        a: set[int] = set()
        for u in [u for u, _ in bt.raw[v]] + list(bt.order[v]):
            a |= anc[u] | {u}
        anc.append(a)
    best = 0.0
    for y in range(bt.n):
        short = window - (sum(uops[u] for u in anc[y]) + min(uops) + uops[y])
        k = 1 if short < 0 else 2 + short // max(sum(uops), 1)
        best = max(best, (tail[y] + 2) / k)
    return best


MODELS = [N1, load_model("cortex-a55"), load_model("neoverse-v2")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel(min_size=2, max_size=60))
def test_random_kernels(text):
    instrs = parse_text(text).instructions
    for m in MODELS:
        bt = prepare(instrs, m)
        assert list_schedule(bt, m) == plain_list_schedule(bt, m, tails(bt))
        for x in (bt, true_dependencies(bt)):
            assert window_chain(x, m.core.window.value)[0] == plain_window_chain(x, m.core.window.value)


@pytest.mark.parametrize("name", ["montgomery/montmul_6.s", "mul_8x8_neon.s", "large/mul_16x16_neon.s"])
def test_library_kernels(name):
    for b in parse_file(ROOT / "inputs" / name).blocks():
        bt = prepare(b.instructions, N1)
        prio = [float((k * 7919) % 13) for k in range(bt.n)]  # another priority than the tails
        assert list_schedule(bt, N1, prio) == plain_list_schedule(bt, N1, prio)
        assert window_chain(bt, 128)[0] == plain_window_chain(bt, 128)
