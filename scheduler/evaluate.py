"""Cycle evaluators driven by a machine model.

`inorder()`   The in-order issue model the CP-SAT solver encodes: instructions issue
              in the given order, up to `issue_width` per cycle (several in one cycle
              allowed), each when its operands are ready (producer issue + latency)
              and every micro-op finds a free permitted pipe for its busy cycles.
              Result: the block's completion cycle, max(issue + latency).

`out_of_order()`  A cycle-level model of the out-of-order core: in-order decode and
              dispatch (decode and dispatch widths) into a window of `window`
              micro-ops, register renaming (only true dependencies wait), per-pipe
              issue as soon as operands and a pipe are free with older instructions
              first, in-order retirement. It runs the block back to back (as when a
              kernel is called in a loop; live-in registers written by the block are
              carried from the previous iteration) and reports the steady-state
              cycles per iteration and the cycles of one cold run.

Both use `PipeTable`, which books micro-ops on pipe types with capacities and keeps
the pipe choice of single-cycle micro-ops open (re-matching them when a later
micro-op needs a specific pipe), as the hardware's per-cycle pipe selection does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from .dag import build_dag
from .ir import Instruction
from .model import Model, Timing

# ------------------------------------------------------------------ pipe booking


class PipeTable:
    """Per-cycle occupancy of pipe types (`capacity[type]` pipes each).

    Multi-cycle reservations are pinned to a pipe type; a single-cycle micro-op keeps
    the set of types it may use and can be moved to another type of its set later
    (an augmenting path), so booking order does not waste a flexible pipe."""

    def __init__(self, capacity: dict[str, int], rematch: bool = True):
        self.rematch = rematch  # False: a pipe, once chosen, is final (issue-time arbitration)
        self.index = {name: i for i, name in enumerate(capacity)}
        self.cap = list(capacity.values())
        self.used: dict[int, list[int]] = {}
        # per cycle: single-cycle micro-ops as [allowed type indexes, current type]
        self.flex: dict[int, list[list]] = {}

    def _row(self, cycle: int) -> list[int]:
        row = self.used.get(cycle)
        if row is None:
            row = self.used[cycle] = [0] * len(self.cap)
        return row

    def _make_room(self, cycle: int, p: int, seen: set[int]) -> bool:
        """Free one unit of type p at `cycle` by moving single-cycle micro-ops."""
        row = self._row(cycle)
        if row[p] < self.cap[p]:
            return True
        if not self.rematch:
            return False
        seen.add(p)
        for entry in self.flex.get(cycle, ()):
            if entry[1] != p:
                continue
            for q in entry[0]:
                if q not in seen and self._make_room(cycle, q, seen):
                    row[q] += 1
                    row[p] -= 1
                    entry[1] = q
                    return True
        return False

    def _blocked(self, cycle: int, p: int) -> bool:
        """Type p is full at `cycle` and none of its single-cycle users could move."""
        row = self.used.get(cycle)
        if row is None or row[p] < self.cap[p]:
            return False
        return not self.rematch or not any(e[1] == p and len(e[0]) > 1 for e in self.flex.get(cycle, ()))

    def try_book(self, cycle: int, reservations) -> bool:
        """Book an instruction's reservations ((type indexes, busy) pairs) at `cycle`,
        or change nothing and return False if they do not fit."""
        for pipes, busy in reservations:  # cheap rejection first: no copying
            if all(any(self._blocked(c, p) for c in range(cycle, cycle + busy)) for p in pipes):
                return False
        span = max(b for _, b in reservations)
        saved = {c: (list(self._row(c)), [list(e) for e in self.flex.get(c, ())])
                 for c in range(cycle, cycle + span)}
        for pipes, busy in reservations:
            placed = False
            for p in pipes:
                if all(self._make_room(c, p, set()) for c in range(cycle, cycle + busy)):
                    for c in range(cycle, cycle + busy):
                        self.used[c][p] += 1
                    if busy == 1:
                        self.flex.setdefault(cycle, []).append([pipes, p])
                    placed = True
                    break
            if not placed:
                for c, (row, flex) in saved.items():
                    self.used[c] = row
                    self.flex[c] = flex
                return False
        return True


# ---------------------------------------------------------------- block timing


@dataclass
class BlockTiming:
    """A block's instructions with their model timing and latency-weighted dependencies."""

    instrs: list[Instruction]
    timings: list[Timing]
    dag: nx.DiGraph
    raw: list[list[tuple[int, int]]]  # per instruction: (producer, latency)
    order: list[list[int]]  # per instruction: predecessors with ordering-only edges
    carried: list[list[tuple[int, int]]]  # per instruction: (producer in previous iteration, latency)
    reservations: list[tuple[tuple[tuple[int, ...], int], ...]]  # pipe bookings, as type indexes
    successors: list[list[int]]  # DAG successors of each instruction (any edge kind)

    @property
    def n(self) -> int:
        return len(self.instrs)


def prepare(instrs: Sequence[Instruction], model: Model, noalias=(), dag: nx.DiGraph | None = None) -> BlockTiming:
    instrs = list(instrs)
    g = dag if dag is not None else build_dag(instrs, noalias)
    timings = [model.timing(i) for i in instrs]
    raw: list[list[tuple[int, int]]] = [[] for _ in instrs]
    order: list[list[int]] = [[] for _ in instrs]
    for u, v in g.edges:
        lat = None
        for d in g.edges[u, v]["deps"]:
            if d.kind == "raw":
                if d.resource == "mem":
                    # store -> load through memory: the load waits for the store's data
                    cand = timings[u].latency
                else:
                    cand = model.latency(instrs[u], instrs[v], d.resource)
                lat = cand if lat is None else max(lat, cand)
        if lat is None:
            order[v].append(u)
        else:
            raw[v].append((u, lat))
    # loop-carried true dependencies: a live-in read takes the previous iteration's last write
    last_writer: dict[str, int] = {}
    for i, ins in enumerate(instrs):
        for r in ins.writes:
            last_writer[r] = i
    carried: list[list[tuple[int, int]]] = [[] for _ in instrs]
    written: set[str] = set()
    for i, ins in enumerate(instrs):
        for r in ins.reads - written:
            if r in last_writer:
                p = last_writer[r]
                carried[i].append((p, model.latency(instrs[p], ins, r)))
        written |= ins.writes
    index = {name: i for i, name in enumerate(model.pipes)}
    reservations = [tuple((tuple(index[p] for p in pipes), busy) for pipes, busy in tm.uops)
                    for tm in timings]
    successors = [sorted(g.successors(k)) for k in range(len(instrs))]
    return BlockTiming(instrs, timings, g, raw, order, carried, reservations, successors)


# -------------------------------------------------------------------- in-order


@dataclass
class InOrderResult:
    cycles: int
    issue: list[int]  # issue cycle of each instruction (indexed by original position)


def inorder(bt: BlockTiming, order: Sequence[int], model: Model) -> InOrderResult:
    """Completion cycle of the block issued in `order` (a permutation of 0..n-1)."""
    width = model.issue_width
    table = PipeTable(model.pipes)
    issue = [0] * bt.n
    per_cycle: dict[int, int] = {}
    t_prev = 0
    done = 0
    for k in order:
        t = t_prev
        for p, lat in bt.raw[k]:
            t = max(t, issue[p] + lat)
        res = bt.reservations[k]
        while per_cycle.get(t, 0) >= width or not table.try_book(t, res):
            t += 1
        per_cycle[t] = per_cycle.get(t, 0) + 1
        issue[k] = t
        t_prev = t
        done = max(done, t + max(bt.timings[k].latency, 1))
    return InOrderResult(done, issue)


# ---------------------------------------------------------------- out-of-order


@dataclass
class OoOResult:
    steady: float  # cycles per iteration in steady state
    single: int  # cycles of one run from an idle core
    iterations: int


REMATCH_OOO = False  # see out_of_order(): pipes are chosen at issue, oldest first, for good


def measure_window(n: int) -> int:
    """Iterations averaged for the steady state: many for small blocks, and a multiple
    of 12 where possible so periodic retire patterns (period 2, 3, 4, 6) average out."""
    w = max(4, min(60, 1200 // max(n, 1)))
    return w - w % 12 if w >= 12 else w


def default_iterations(n: int) -> int:
    w = measure_window(n)
    return w + max(2, w // 2)


def out_of_order(bt: BlockTiming, order: Sequence[int], model: Model, iterations: int | None = None) -> OoOResult:
    core = model.core
    decode_w, dispatch_w = core.decode_width.value, core.dispatch_width.value
    window, retire_w = core.window.value, core.retire_width.value
    iters = iterations or default_iterations(bt.n)
    n = bt.n
    table = PipeTable(model.pipes, rematch=REMATCH_OOO)
    ready_at: dict[tuple[int, int], int] = {}  # (iteration, instr) -> issue cycle
    inflight: list[tuple[int, int]] = []  # (retire cycle, uops) of dispatched instructions, in order
    head = 0  # first entry of `inflight` still occupying the window
    inflight_uops = 0
    dispatch_cycle, dispatched_instrs, dispatched_uops = 0, 0, 0
    retire_cycle, retired_uops = 0, 0
    last_retire: list[int] = []
    for it in range(iters):
        for k in order:
            tm = bt.timings[k]
            nu = tm.n_uops
            # --- dispatch (in order, decode and dispatch widths, window)
            d = dispatch_cycle
            while inflight_uops + nu > window:
                r, u = inflight[head]
                head += 1
                inflight_uops -= u
                d = max(d, r + 1)
            if d > dispatch_cycle:
                dispatch_cycle, dispatched_instrs, dispatched_uops = d, 0, 0
            if dispatched_instrs >= decode_w or dispatched_uops + nu > dispatch_w:
                dispatch_cycle, dispatched_instrs, dispatched_uops = dispatch_cycle + 1, 0, 0
            d = dispatch_cycle
            dispatched_instrs += 1
            dispatched_uops += nu
            # --- issue: operands ready and a pipe free, older instructions booked first
            t = d + 1
            for p, lat in bt.raw[k]:
                t = max(t, ready_at[(it, p)] + lat)
            if it > 0:
                for p, lat in bt.carried[k]:
                    t = max(t, ready_at[(it - 1, p)] + lat)
            res = bt.reservations[k]
            while not table.try_book(t, res):
                t += 1
            ready_at[(it, k)] = t
            complete = t + max(tm.latency, 1)
            # --- retire (in order, retire width in micro-ops)
            r = max(complete, retire_cycle)
            if r > retire_cycle:
                retire_cycle, retired_uops = r, 0
            if retired_uops + nu > retire_w:
                retire_cycle, retired_uops = retire_cycle + 1, 0
            retired_uops += nu
            inflight.append((retire_cycle, nu))
            inflight_uops += nu
        last_retire.append(retire_cycle)
        # drop bookkeeping of iterations that can no longer be referenced
        for k in range(n):
            ready_at.pop((it - 2, k), None)
    window = min(measure_window(bt.n), iters - 1)  # skip the start-up; average over the rest
    warm = iters - window
    steady = (last_retire[-1] - last_retire[warm - 1]) / window
    return OoOResult(steady, last_retire[0] + 1, iters)

