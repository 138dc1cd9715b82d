"""Critical-path list scheduler for the in-order model: a fast, always-valid order that
warm-starts the CP-SAT solver and is the fallback answer."""

from __future__ import annotations

from scheduler.machine.bounds import tails
from scheduler.machine.evaluate import BlockTiming, PipeTable
from scheduler.machine.model import Model


def list_schedule(bt: BlockTiming, model: Model, priority: list[float] | None = None) -> list[int]:
    """Cycle by cycle, issue the ready instruction with the longest path to the end first."""
    prio = priority if priority is not None else tails(bt)
    n = bt.n
    issue = [-1] * n
    table = PipeTable(model.pipes)
    remaining = set(range(n))
    order: list[int] = []
    t = 0
    while remaining:
        issued_now = 0
        ready = [k for k in remaining
                 if all(issue[u] >= 0 for u in bt.order[k])
                 and all(issue[u] >= 0 and issue[u] + lat <= t for u, lat in bt.raw[k])]
        ready.sort(key=lambda k: (-prio[k], k))
        for k in ready:
            if issued_now >= model.issue_width:
                break
            # an instruction whose ordering predecessor is still waiting in this cycle must wait too
            if any(issue[u] < 0 for u in bt.order[k]):
                continue
            if table.try_book(t, bt.reservations[k]):
                issue[k] = t
                order.append(k)
                remaining.discard(k)
                issued_now += 1
        t += 1
    return order
