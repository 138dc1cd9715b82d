"""Lower bounds on a block's cycles under the in-order model (and per iteration, out of order).

No order can beat any of these; the largest is reported, with the gap
`cycles / bound - 1`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

from .evaluate import BlockTiming
from .model import Model


@dataclass(frozen=True)
class Bounds:
    critical_path: int
    resource: int  # busiest pipe type or group of types
    resource_pipes: str  # which pipes give `resource`
    issue: int

    @property
    def best(self) -> int:
        return max(self.critical_path, self.resource, self.issue)

    @property
    def binding(self) -> str:
        b = self.best
        if b == self.critical_path:
            return "critical path"
        if b == self.resource:
            return f"pipes {self.resource_pipes}"
        return "issue width"


def heads(bt: BlockTiming) -> list[int]:
    """Earliest issue cycle of each instruction from true dependencies alone."""
    est = [0] * bt.n
    for v in range(bt.n):  # original order is topological
        for u, lat in bt.raw[v]:
            est[v] = max(est[v], est[u] + lat)
        for u in bt.order[v]:
            est[v] = max(est[v], est[u])
    return est


def tails(bt: BlockTiming) -> list[int]:
    """Cycles from an instruction's issue to the end of the block, at least."""
    tail = [max(t.latency, 1) for t in bt.timings]
    succ_raw: list[list[tuple[int, int]]] = [[] for _ in range(bt.n)]
    succ_ord: list[list[int]] = [[] for _ in range(bt.n)]
    for v in range(bt.n):
        for u, lat in bt.raw[v]:
            succ_raw[u].append((v, lat))
        for u in bt.order[v]:
            succ_ord[u].append(v)
    for u in reversed(range(bt.n)):
        for v, lat in succ_raw[u]:
            tail[u] = max(tail[u], lat + tail[v])
        for v in succ_ord[u]:
            tail[u] = max(tail[u], tail[v])
    return tail


def resource_bound(bt: BlockTiming, model: Model) -> tuple[int, str]:
    names = list(model.pipes)
    best, which = 0, ""
    for r in range(1, len(names) + 1):
        for subset in combinations(names, r):
            cap = sum(model.pipes[p] for p in subset)
            work = sum(busy for t in bt.timings for pipes, busy in t.uops if set(pipes) <= set(subset))
            b = -(-work // cap)
            if b > best:
                best, which = b, "+".join(subset)
    return best, which


def true_dependencies(bt: BlockTiming) -> BlockTiming:
    """The block with register and flag WAR/WAW edges dropped (what renaming removes):
    its bounds hold for every renamed schedule."""
    order: list[list[int]] = [[] for _ in range(bt.n)]
    for v in range(bt.n):
        for u in bt.order[v]:
            if any(d.resource in ("mem", "sp") for d in bt.dag.edges[u, v]["deps"]):
                order[v].append(u)  # sp is never renamed
    return replace(bt, order=order)


def lower_bounds(bt: BlockTiming, model: Model) -> Bounds:
    if bt.n == 0:
        return Bounds(0, 0, "", 0)
    est = heads(bt)
    cp = max(e + max(t.latency, 1) for e, t in zip(est, bt.timings, strict=True))
    res, which = resource_bound(bt, model)
    issue = -(-bt.n // model.issue_width)
    return Bounds(cp, res, which, issue)


def ooo_bound(bt: BlockTiming, model: Model) -> float:
    """Cycles per iteration in steady state, at least: pipe work, decode and dispatch rates."""
    if bt.n == 0:
        return 0.0
    res, _ = resource_bound(bt, model)
    uops = sum(t.n_uops for t in bt.timings)
    return max(res, bt.n / model.core.decode_width.value, uops / model.core.dispatch_width.value)
