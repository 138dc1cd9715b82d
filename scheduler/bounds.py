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
    pipe_path: int = 0  # one pipe's work together with the dependencies around it
    pipe_path_pipe: str = ""

    @property
    def best(self) -> int:
        return max(self.critical_path, self.resource, self.issue, self.pipe_path)

    @property
    def binding(self) -> str:
        b = self.best
        if b == self.critical_path:
            return "critical path"
        if b == self.resource:
            return f"pipes {self.resource_pipes}"
        if b == self.pipe_path:
            return f"pipe {self.pipe_path_pipe} with dependencies"
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
    """The block with register WAR/WAW edges dropped (what renaming removes): its bounds
    hold for every renamed schedule. Memory order stays, and so do the edges on sp and the
    flags, which renaming never moves (NZCV is one register: a flag value's readers come
    before the next flag writer)."""
    order: list[list[int]] = [[] for _ in range(bt.n)]
    for v in range(bt.n):
        for u in bt.order[v]:
            # (an edge the DAG does not have was added by a caller, e.g. an offset-fixup
            # window boundary: it stays)
            if not bt.dag.has_edge(u, v) or any(d.resource in ("mem", "sp", "nzcv")
                                                for d in bt.dag.edges[u, v]["deps"]):
                order[v].append(u)
    return replace(bt, order=order)


def lower_bounds(bt: BlockTiming, model: Model) -> Bounds:
    if bt.n == 0:
        return Bounds(0, 0, "", 0)
    est = heads(bt)
    cp = max(e + max(t.latency, 1) for e, t in zip(est, bt.timings, strict=True))
    res, which = resource_bound(bt, model)
    issue = -(-bt.n // model.issue_width)
    path, pipe = pipe_path_bound(bt, model, est)
    return Bounds(cp, res, which, issue, path, pipe)


def pipe_path_bound(bt: BlockTiming, model: Model, head: list[int] | None = None) -> tuple[int, str]:
    """The one-machine bound per single pipe: for a set S of micro-ops pinned to that pipe,
    the block ends no earlier than min(head) + sum(busy) + min(tail - busy) over S (the pipe
    cannot start S before its earliest head, works through all of it, and the last one
    still has its tail to go). Maximised over the sets {head >= a, tail - busy >= b}."""
    head = heads(bt) if head is None else head
    tail = tails(bt)
    names = list(model.pipes)
    best, which = 0, ""
    for p, count in model.pipes.items():
        if count != 1:
            continue
        ops = [(head[k], busy, tail[k] - busy) for k in range(bt.n)
               for types, busy in bt.reservations[k] if len(types) == 1 and names[types[0]] == p]
        if not ops:
            continue
        for a in sorted({h for h, _, _ in ops}):
            chosen = sorted((q, busy) for h, busy, q in ops if h >= a)
            work = 0
            for q, busy in reversed(chosen):  # largest q first: S = {q' >= q}
                work += busy
                if a + work + q > best:
                    best, which = a + work + q, p
    return best, which


def ooo_bound(bt: BlockTiming, model: Model) -> float:
    """Cycles per iteration in steady state, at least: pipe work, decode and dispatch rates."""
    if bt.n == 0:
        return 0.0
    res, _ = resource_bound(bt, model)
    uops = sum(t.n_uops for t in bt.timings)
    return max(res, bt.n / model.core.decode_width.value, uops / model.core.dispatch_width.value)
