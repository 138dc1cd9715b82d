"""Critical-path list scheduler for the in-order model: a fast, always-valid order that
warm-starts the CP-SAT solver and is the fallback answer."""

from __future__ import annotations

from scheduler.machine.bounds import tails
from scheduler.machine.evaluate import BlockTiming, PipeTable
from scheduler.machine.model import Model


def list_schedule(bt: BlockTiming, model: Model, priority: list[float] | None = None) -> list[int]:
    """Cycle by cycle, issue the ready instruction with the longest path to the end first.
    Ready at cycle t: every predecessor issued in an earlier cycle and every true dependency's
    latency elapsed by t."""
    prio = priority if priority is not None else tails(bt)
    n = bt.n
    issue = [-1] * n
    table = PipeTable(model.pipes)
    # the frontier: instructions whose predecessors have all issued, with their earliest cycle
    # (kept incrementally: scanning every remaining instruction each cycle is quadratic)
    pending = [len(bt.order[k]) + len(bt.raw[k]) for k in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for k in range(n):
        for u in bt.order[k]:
            succs[u].append(k)
        for u, _ in bt.raw[k]:
            succs[u].append(k)
    frontier = {k for k in range(n) if pending[k] == 0}
    earliest = [0] * n
    order: list[int] = []
    t = 0
    while len(order) < n:
        issued_now: list[int] = []
        ready = sorted((k for k in frontier if earliest[k] <= t), key=lambda k: (-prio[k], k))
        for k in ready:
            if len(issued_now) >= model.issue_width:
                break
            if table.try_book(t, bt.reservations[k]):
                issue[k] = t
                order.append(k)
                issued_now.append(k)
        for k in issued_now:  # their successors can be ready from the next cycle on
            frontier.discard(k)
            for v in succs[k]:
                pending[v] -= 1
                if pending[v] == 0:
                    earliest[v] = max([issue[u] + lat for u, lat in bt.raw[v]], default=0)
                    frontier.add(v)
        t += 1
    return order
