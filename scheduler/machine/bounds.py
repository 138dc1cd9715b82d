"""Lower bounds on a block's cycles under the in-order model (and per iteration, out of order).

No order can beat any of these; the largest is reported, with the gap
`cycles / bound - 1`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import combinations

import numpy as np

from scheduler.core.forked import in_two
from scheduler.frontend.ir import FLAGS
from scheduler.machine.evaluate import BlockTiming
from scheduler.machine.model import Model

NEG = -(1 << 40)
FLAG_MACHINE = "NZCV"


@dataclass(frozen=True)
class Bounds:
    """Lower bounds on a block's cycles: critical path, pipe load, issue width and pipe with dependencies."""

    critical_path: int
    resource: int  # busiest pipe type or group of types
    resource_pipes: str  # which pipes give `resource`
    issue: int
    pipe_path: int = 0  # one unary resource's work with the dependencies around it (machine_bound)
    pipe_path_pipe: str = ""  # that resource: a single-pipe type, or "NZCV" (the flag values)

    @property
    def best(self) -> int:
        """The largest (tightest) bound, in cycles."""
        return max(self.critical_path, self.resource, self.issue, self.pipe_path)

    @property
    def binding(self) -> str:
        """Which bound is the largest, in words ("critical path", "pipes ...", "issue width" ...)."""
        b = self.best
        if b == self.critical_path:
            return "critical path"
        if b == self.resource:
            return f"pipes {self.resource_pipes}"
        if b == self.pipe_path:
            if self.pipe_path_pipe == FLAG_MACHINE:
                return "flag values with dependencies"
            return f"pipe {self.pipe_path_pipe} with dependencies" if self.pipe_path_pipe else "dependencies"
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


def resource_load(bt: BlockTiming, model: Model) -> tuple[Fraction, str]:
    """Pipe cycles per iteration, at least: the most loaded set of pipe types, its busy
    cycles over its pipes (exact, so a steady state of 5/3 per iteration is not rounded up)."""
    names = list(model.pipes)
    best, which = Fraction(0), ""
    # the busy cycles per set of pipes a uop may use, summed once: the subsets below (2^pipes
    # of them) then look at a few sets, not at every uop of the block
    by_pipes: dict[frozenset[str], int] = {}
    for t in bt.timings:
        for pipes, busy in t.uops:
            key = frozenset(pipes)
            by_pipes[key] = by_pipes.get(key, 0) + busy
    for r in range(1, len(names) + 1):
        for subset in combinations(names, r):
            cap = sum(model.pipes[p] for p in subset)
            within = set(subset)
            work = sum(busy for pipes, busy in by_pipes.items() if pipes <= within)
            if Fraction(work, cap) > best:
                best, which = Fraction(work, cap), "+".join(subset)
    return best, which


def resource_bound(bt: BlockTiming, model: Model) -> tuple[int, str]:
    """Cycles of one run, at least: the pipe load rounded up (a run takes whole cycles)."""
    load, which = resource_load(bt, model)
    return math.ceil(load), which


def true_dependencies(bt: BlockTiming) -> BlockTiming:
    """The block with register and flag WAR/WAW edges dropped (what renaming removes): its
    bounds hold for every renamed schedule. Memory order stays, and so do the edges on sp,
    which renaming never moves. NZCV is one register, but the renaming model may still swap
    whole flag live ranges (independent carry chains), so its WAR/WAW edges go too; that the
    flag values cannot overlap is kept by the flags machine of `machine_bound`."""
    order: list[list[int]] = [[] for _ in range(bt.n)]
    for v in range(bt.n):
        for u in bt.order[v]:
            # (an edge the DAG does not have was added by a caller, e.g. an offset-fixup
            # window boundary: it stays)
            if not bt.dag.has_edge(u, v) or any(d.resource in ("mem", "sp")
                                                for d in bt.dag.edges[u, v]["deps"]):
                order[v].append(u)
    return replace(bt, order=order)


def lower_bounds(bt: BlockTiming, model: Model, strengthen: bool = True) -> Bounds:
    """Every lower bound on the block's in-order cycles under `model` (all 0 for an empty block).
    `strengthen=False`: the one-machine bound without raising heads and tails (`machine_bound`),
    weaker but about 20x cheaper on a 1,000-instruction block."""
    if bt.n == 0:
        return Bounds(0, 0, "", 0)
    est = heads(bt)
    cp = max(e + max(t.latency, 1) for e, t in zip(est, bt.timings, strict=True))
    res, which = resource_bound(bt, model)
    issue = -(-bt.n // model.issue_width)
    path, machine = machine_bound(bt, model, est, strengthen)
    return Bounds(cp, res, which, issue, path, machine)


def preemptive_one_machine(jobs: Sequence[tuple[int, int, int]]) -> int:
    """Jackson's preemptive schedule: the least max(completion + q) over preemptive schedules
    of jobs (release r, processing p, delivery q) on one machine. It equals the best subset
    bound max_S(min r + sum p + min q) (Carlier), so it bounds every real schedule."""
    if not jobs:
        return NEG
    pending = sorted(jobs)
    n = len(pending)
    ready: list[list[int]] = []  # [-q, remaining processing]
    push, pop = heapq.heappush, heapq.heappop
    t, best, i = pending[0][0], NEG, 0
    while i < n or ready:
        if not ready and t < pending[i][0]:
            t = pending[i][0]
        while i < n and pending[i][0] <= t:
            _, p, q = pending[i]
            push(ready, [-q, p])
            i += 1
        top = ready[0]
        left = top[1]
        if i < n and t + left > pending[i][0]:  # preempted by the next release
            top[1] = left - (pending[i][0] - t)
            t = pending[i][0]
        else:
            pop(ready)
            t += left
            if t - top[0] > best:
                best = t - top[0]
    return best


def machines(bt: BlockTiming, model: Model) -> dict[str, list[tuple[int, int]]]:
    """The block's unary resources, as (instruction, busy cycles) jobs: every pipe type with a
    single pipe (its pinned micro-ops), and NZCV: a flag value with readers holds the flags
    from its writer's issue until its last reader's, at least its longest latency to a
    reader, and no two flag values overlap."""
    names = list(model.pipes)
    out: dict[str, list[tuple[int, int]]] = {}
    for p, count in model.pipes.items():
        if count == 1:
            jobs = [(k, busy) for k in range(bt.n) for types, busy in bt.reservations[k]
                    if len(types) == 1 and names[types[0]] == p and busy > 0]
            if jobs:
                out[p] = jobs
    flags = [(w, hold) for w, _, hold in flag_values(bt) if hold > 0]
    if flags:
        out[FLAG_MACHINE] = flags
    return out


def flag_values(bt: BlockTiming) -> list[tuple[int, list[int], int]]:
    """(writer, its flag readers, the longest latency to one) for each flag value that is read."""
    readers: dict[int, list[tuple[int, int]]] = {}
    for v in range(bt.n):
        for u, lat in bt.raw[v]:
            if bt.dag.has_edge(u, v) and any(d.kind == "raw" and d.resource == FLAGS
                                             for d in bt.dag.edges[u, v]["deps"]):
                readers.setdefault(u, []).append((v, lat))
    return [(w, [v for v, _ in rs], max(lat for _, lat in rs)) for w, rs in sorted(readers.items())]


def _topological(n: int, preds: list[list[tuple[int, int]]]) -> list[int]:
    indeg = [len(p) for p in preds]
    succ: list[list[int]] = [[] for _ in range(n)]
    for v in range(n):
        for u, _ in preds[v]:
            succ[u].append(v)
    todo = [v for v in range(n) if not indeg[v]]
    out = []
    while todo:
        u = todo.pop()
        out.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if not indeg[v]:
                todo.append(v)
    return out


def machine_bound(bt: BlockTiming, model: Model, head: list[int] | None = None,
                  strengthen: bool = True) -> tuple[int, str]:
    """The one-machine bound with strengthened heads and tails, per unary resource
    (`machines`). An instruction's head is raised to the preemptive one-machine bound of its
    ancestors on each machine (they all run there, one at a time, and each is still a
    latency path away), its tail likewise from its descendants; the block's bound is then the
    largest head + tail and each machine's preemptive bound over all its jobs. This sees
    what plain heads miss: a chain of dependent field operations leaves the multiplier idle
    between them, and the idle time adds up along the chain. `head`: `heads(bt)`, if known.
    `strengthen=False`: plain heads and tails (each machine's preemptive bound over its jobs)."""
    if bt.n == 0:
        return 0, ""
    ms = machines(bt, model)
    preds = [list(bt.raw[v]) + [(u, 0) for u in bt.order[v]] for v in range(bt.n)]
    topo = _topological(bt.n, preds)
    base_head, base_tail = heads(bt) if head is None else head, tails(bt)
    if not ms or len(topo) != bt.n:
        return max(h + t for h, t in zip(base_head, base_tail, strict=True)), ""
    names = list(ms)
    node = np.array([k for m in names for k, _ in ms[m]], dtype=np.int64)
    busy = np.array([b for m in names for _, b in ms[m]], dtype=np.int64)
    which = np.array([i for i, m in enumerate(names) for _ in ms[m]], dtype=np.int64)
    if not strengthen:
        head, tail = base_head, base_tail
    else:
        head, tail = _strengthened(preds, topo, base_head, base_tail, node, busy, which, len(names))
    best, which_name = max(h + t for h, t in zip(head, tail, strict=True)), ""
    for mi, m in enumerate(names):
        sel = np.flatnonzero(which == mi)
        b = preemptive_one_machine([(head[k], bb, tail[k] - bb)
                                    for k, bb in zip(node[sel].tolist(), busy[sel].tolist(), strict=True)])
        if b >= best:
            best, which_name = b, m
    return best, which_name


# job-instruction pairs of a sweep that take about as long as simulating one instruction (in_two)
SWEEP_WORK_PER_STEP = 8


def _strengthened(preds, topo, base_head, base_tail, node, busy, which,
                  machines_n: int) -> tuple[list[int], list[int]]:
    """Heads and tails raised by the one-machine bound of each job's ancestors (descendants)."""
    n = len(preds)
    at: dict[int, list[int]] = {}  # per instruction, its jobs (indexes into node)
    for j, k in enumerate(node.tolist()):
        at.setdefault(k, []).append(j)
    succs: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for v in range(n):
        for u, lat in preds[v]:
            succs[u].append((v, lat))

    def sweep(seq, links, base, job_row):
        """Distances to/from every job along `seq`; raise `base` at each job's node."""
        dist = np.full((n, len(node)), NEG, dtype=np.int64)
        out = list(base)
        for v in seq:
            row = dist[v]
            for u, lat in links[v]:
                np.maximum(row, dist[u] + lat, out=row)
                out[v] = max(out[v], out[u] + lat)
            for j in at.get(v, ()):
                row[j] = max(row[j], 0)
            if v in at:  # a job's own node: (its jobs are in the set, at distance 0)
                reach = row > NEG // 2
                for mi in range(machines_n):
                    sel = np.flatnonzero(reach & (which == mi))
                    if len(sel):
                        out[v] = max(out[v], preemptive_one_machine(job_row(out, row, sel)))
        return out

    def one(which_sweep: int) -> list[int]:
        if which_sweep == 0:
            return sweep(topo, preds, base_head,
                         lambda h, row, sel: list(zip([h[k] for k in node[sel].tolist()], busy[sel].tolist(),
                                                      (row[sel] - busy[sel]).tolist(), strict=True)))
        return sweep(list(reversed(topo)), succs, base_tail,
                     lambda t, row, sel: list(zip(row[sel].tolist(), busy[sel].tolist(),
                                                  [t[k] - b for k, b in zip(node[sel].tolist(), busy[sel].tolist(),
                                                                             strict=True)], strict=True)))

    # the two sweeps are independent: on a large block, the tail's runs in a second process
    head, tail = in_two(one, [0, 1], len(node) * n // SWEEP_WORK_PER_STEP)
    return head, tail


@dataclass(frozen=True)
class OooBound:
    """Cycles per iteration in steady state, at least, and the term that gives it."""

    value: float
    binding: str  # what binds: "pipes M", "decode", "dispatch", "window: chain ...", ...
    terms: dict[str, float]  # every term, by name


def window_chain(bt: BlockTiming, window: int) -> tuple[float, str]:
    """The window's limit on overlapping back-to-back runs, for every valid order of `bt`.

    Instruction y of run i issues no earlier than a cycle after its dispatch, and the chain of
    true dependencies after it (its `tails` over RAW edges: only those wait in an out-of-order
    core) completes tail(y) cycles later at least. The run's last instruction retires after
    that (in-order retirement), and until it has, an instruction whose micro-ops would take
    the window past `window` entries cannot dispatch. y's ancestors always come before it,
    so y is at least A_y micro-ops (theirs) into its run; copy k of y (run i + k) is then
    more than `window` micro-ops after run i's last instruction once
    (k - 1) * U + A_y + min uops + uops(y) > window (U: micro-ops per run). So y dispatches
    at least tail(y) + 2 cycles later every k runs: T >= (tail(y) + 2) / k. Returns the best
    such bound and a description. `bt` should hold only edges every allowed schedule keeps
    (true dependencies when renaming, offset fixups relaxed)."""
    n = bt.n
    if n == 0:
        return 0.0, ""
    raw_only = replace(bt, order=[[] for _ in range(n)])
    tail = tails(raw_only)
    uops = [t.n_uops for t in bt.timings]
    total, least = sum(uops), min(uops)
    anc = [0] * n  # ancestor sets as bit masks (the original order is topological)
    for v in range(n):
        m = 0
        for u, _ in bt.raw[v]:
            m |= anc[u] | (1 << u)
        for u in bt.order[v]:
            m |= anc[u] | (1 << u)
        anc[v] = m
    # micro-ops of a set of instructions (a bit mask): per micro-op count, the bits that have it
    by_count: dict[int, int] = {}
    for u, c in enumerate(uops):
        by_count[c] = by_count.get(c, 0) | (1 << u)
    best, why = 0.0, ""
    for y in range(n):
        before = sum(c * (anc[y] & m).bit_count() for c, m in by_count.items()) if anc[y] else 0
        short = window - (before + least + uops[y])  # micro-ops still missing in the first run
        k = 1 if short < 0 else 2 + short // max(total, 1)
        b = (tail[y] + 2) / k
        if b > best:
            best, why = b, f"window: a {tail[y]}-cycle dependency chain after {before} micro-ops, every {k} run(s)"
    return best, why


def ooo_bound_detail(bt: BlockTiming, model: Model) -> OooBound:
    """Cycles per iteration in steady state, at least: pipe work, decode and dispatch rates,
    the window's occupancy (Little's law: every micro-op holds an entry from its dispatch
    through a cycle to issue, its latency, and its retirement cycle) and the window's limit
    on overlapping chains (`window_chain`)."""
    if bt.n == 0:
        return OooBound(0.0, "", {})
    # not rounded: back to back, iterations share cycles
    res, which = resource_load(bt, model)
    uops = sum(t.n_uops for t in bt.timings)
    window = model.core.window.value
    occupancy = sum(t.n_uops * (max(t.latency, 1) + 2) for t in bt.timings) / window
    chain, chain_why = window_chain(bt, window)
    terms = {f"pipes {which}": float(res), "decode": bt.n / model.core.decode_width.value,
             "dispatch": uops / model.core.dispatch_width.value, "window occupancy": occupancy,
             chain_why or "window: chains": chain}
    # ties go to the first term: the pipes, as the bound always said
    name = max(terms, key=lambda k: terms[k])
    return OooBound(terms[name], name, terms)


def ooo_bound(bt: BlockTiming, model: Model) -> float:
    """Cycles per iteration in steady state, at least (`ooo_bound_detail`)."""
    return ooo_bound_detail(bt, model).value
