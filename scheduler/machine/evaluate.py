"""Cycle evaluators driven by a machine model.

`inorder()`   The in-order issue model the CP-SAT solver encodes: instructions issue
              in the given order, up to `issue_width` per cycle (several in one cycle
              allowed), each when its operands are ready (producer issue + latency)
              and every micro-op finds a free permitted pipe for its busy cycles.
              Result: the block's completion cycle, max(issue + latency).

`out_of_order()`  A cycle-driven model of the out-of-order core: in-order decode and
              dispatch (decode and dispatch widths) into a window of `window`
              micro-ops, register renaming (only true dependencies wait), issue cycle
              by cycle of every ready instruction whose micro-ops find free pipes in
              that cycle, oldest first, and in-order retirement. It runs the block back
              to back (as when a kernel is called in a loop; live-in registers written
              by the block are carried from the previous iteration) and reports the
              steady-state cycles per iteration and the cycles of one cold run.

`inorder()` uses `PipeTable`, which books micro-ops on pipe types with capacities and
keeps the pipe choice of single-cycle micro-ops open (re-matching them when a later
micro-op needs a specific pipe). `out_of_order()` only ever books the current cycle, so
it keeps per pipe unit the cycle it is free again (`_book`); a flexible single-cycle
micro-op booked earlier in the same cycle may still move to another free pipe of its
set, as the hardware's per-cycle pipe selection does.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from scheduler.frontend.dag import build_dag
from scheduler.frontend.ir import Instruction
from scheduler.machine.model import Model, Timing

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
        """Number of instructions in the block."""
        return len(self.instrs)


def prepare(instrs: Sequence[Instruction], model: Model, noalias=(), dag: nx.DiGraph | None = None) -> BlockTiming:
    """The block's `BlockTiming`: each instruction's timing, RAW edges with their latencies (cycles),
    ordering-only edges, loop-carried dependencies and pipe reservations."""
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
    """The in-order evaluation: total cycles and the issue cycle of each instruction."""

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
    """The out-of-order evaluation: steady-state cycles per iteration, cycles of one run, and iterations run."""

    steady: float  # cycles per iteration in steady state
    single: int  # cycles of one run from an idle core
    iterations: int


# Issue priority of out_of_order(). False: oldest ready instruction first (the hardware's
# age order). True: llvm-mca's DefaultSchedulerStrategy rank, the instruction's sequence
# number minus its number of dispatched, waiting dependants (ties: oldest first) -- a
# diagnostic to tell llvm-mca's scheduling heuristic apart from machine-model differences
# (docs/model.md section 7); not a claim about the N1.
MCA_RANK = False


def measure_window(n: int) -> int:
    """Iterations averaged for the steady state: many for small blocks, and a multiple
    of 12 where possible so periodic retire patterns (period 2, 3, 4, 6) average out."""
    w = max(4, min(60, 1200 // max(n, 1)))
    return w - w % 12 if w >= 12 else w


def default_iterations(n: int) -> int:
    """Iterations `out_of_order` runs by default: the measure window plus a start-up of at least 2."""
    w = measure_window(n)
    return w + max(2, w // 2)


def out_of_order(bt: BlockTiming, order: Sequence[int], model: Model, iterations: int | None = None,
                 trace: list | None = None) -> OoOResult:
    """Cycle-driven simulation of the block run back to back (see the module docstring).

    Every cycle, in this order: dispatch (in program order: at most `decode_width`
    instructions and `dispatch_width` micro-ops, while the window of `window` micro-ops
    has room; an instruction dispatched in cycle c may issue from c + 1), issue (every
    dispatched instruction whose operands are ready, oldest first, each if all its
    micro-ops find a free permitted pipe in this cycle: a pipe taken for `busy` cycles
    is not free again before then), retire (in order, `retire_width` micro-ops, once
    issue + max(latency, 1) has passed; the window entries are free from the next cycle).
    Issue is greedy in time, as in the hardware and in llvm-mca: a younger instruction
    that is ready now takes a free pipe before an older one that becomes ready later.

    `trace`, if a list, receives (iteration, instruction, dispatch, issue, retire) per
    dynamic instruction, in program order (for timelines and tests).

    `steady` is exact when the run's state repeats (see `exact_steady`; looked for over
    twice `iterations` unless tracing; on the bundled kernels it repeats after a few
    iterations, and the run stops there), else the average over the `measure_window(n)`
    iterations up to `iterations`."""
    iters = iterations or default_iterations(bt.n)
    if bt.n == 0:
        return OoOResult(0.0, 0, iters)
    # Without a trace to record, the run goes on for as many iterations again to find the
    # repeat, and stops once it has; if there is none, the window below is measured with
    # younger iterations still behind it, as in the endless loop. With issue queues the state
    # seldom repeats within a few iterations, so the run goes on only as far as the window
    # reaches (younger iterations behind the measured ones), and repeats are looked for there.
    extra = iters if model.steering == "issue" else min(iters, -(-model.core.window.value // bt.n) + 1)
    run = _new_run(bt, order, model, iters if trace is not None else iters + extra, trace)
    rate = _simulate(run, stop=trace is None)
    last_retire = run.last_retire
    if rate is not None:
        return OoOResult(rate, last_retire[0] + 1, iters)
    win = min(measure_window(bt.n), iters - 1)  # skip the start-up; average over the rest
    if win < 1:  # a single iteration: no steady state to measure, report the cold run
        return OoOResult(float(last_retire[0] + 1), last_retire[0] + 1, iters)
    warm = iters - win
    steady = (last_retire[iters - 1] - last_retire[warm - 1]) / win
    return OoOResult(steady, last_retire[0] + 1, iters)


def exact_steady(bt: BlockTiming, order: Sequence[int], model: Model, max_dynamic: int = 200_000) -> float | None:
    """The exact cycles per iteration of the back-to-back run, or None if not shown.

    A steady state measured over a finite window can read below the rate the run settles
    to: a start-up transient inside the window, or the last iterations running without the
    younger ones that would compete with them. The simulation is deterministic: if its
    whole state when iteration j starts to dispatch equals its state when iteration i did
    (times relative to the cycle, instructions relative to the iteration's first), the run
    repeats from i on with period j - i, and the rate is exactly (c_j - c_i) / (j - i).
    `out_of_order` watches for this within its own (short) run; this runs up to
    `max_dynamic` instructions (and 400 iterations), and is None if no state repeats."""
    n = bt.n
    if n == 0:
        return 0.0
    iters = max(8, min(400, max_dynamic // n))
    return _simulate(_new_run(bt, order, model, iters, None), stop=True)


def long_run_steady(bt: BlockTiming, order: Sequence[int], model: Model, iterations: int = 48,
                    warmup: int = 8) -> float:
    """Cycles per iteration over a long back-to-back run: exact if the state repeats within
    `iterations`, else the mean over the iterations after `warmup` (for benchmarks: a model with
    issue queues may not settle into a short period, and `out_of_order`'s few iterations then
    read a few percent either way)."""
    if bt.n == 0:
        return 0.0
    run = _new_run(bt, order, model, iterations, None)
    rate = _simulate(run, stop=False)
    if rate is not None:
        return rate
    last = run.last_retire
    return (last[iterations - 1] - last[warmup - 1]) / (iterations - warmup)


def settles_within(bt: BlockTiming, model: Model, bound: float) -> tuple[bool, float | None]:
    """Whether the block, run back to back as written, is shown to settle at `bound` cycles
    per iteration or below (the out-of-order OPTIMAL claim); and its exact rate, if shown."""
    exact = exact_steady(bt, list(range(bt.n)), model)
    return exact is not None and exact <= bound + 1e-9, exact


def _simulate(run: _OooRun, stop: bool) -> float | None:
    """Run the simulation, watching for the state at an iteration's start to repeat; the
    exact rate, or None if it did not within the run. With `stop`, the run ends as soon as
    the rate is known and the first iteration has retired (the cold-run figure)."""
    n, iters = run.n, run.iters
    seen: dict[tuple, tuple[int, int]] = {}
    nxt_iter = 1
    rate = None
    while run.head < run.total:
        if rate is not None and stop and run.head >= n:
            return rate
        # the loop top of the first cycle that starts with iteration nxt_iter reachable
        if rate is None and nxt_iter < iters - 1 and run.nxt >= nxt_iter * n:
            key = run.snapshot(nxt_iter * n)
            if key in seen:
                i, c = seen[key]
                rate = (run.c - c) / (nxt_iter - i)
                continue
            seen[key] = (nxt_iter, run.c)
            nxt_iter = run.nxt // n + 1
        run.dispatch()
        run.issue_ready()
        more = run.retire()
        run.advance(more)
    return rate


class _OooRun:
    """The state of one cycle-driven simulation; one method per phase of a cycle."""

    def __init__(self, bt: BlockTiming, order: Sequence[int], model: Model, iters: int, trace: list | None):
        core = model.core
        self.decode_w, self.dispatch_w = core.decode_width.value, core.dispatch_width.value
        self.window, self.retire_w = core.window.value, core.retire_width.value
        self.delay = model.dispatch_to_issue
        self.order, self.iters, self.trace, self.n = order, iters, trace, bt.n
        p = _ooo_plan(bt, order, model)
        self.nuops, self.done_lat, self.res_of, self.cons, self.prods = p.nuops, p.done_lat, p.res, p.cons, p.prods
        self.total = total = iters * bt.n
        self.units = [[0] * cnt for cnt in model.pipes.values()]  # per pipe type: cycle each unit is free from
        self.pending = p.pending[:] + p.pending_later * (iters - 1)
        self.earliest = [0] * total
        self.dispatched_at = [-1] * total
        self.issue = [-1] * total
        self.waiting: list[tuple[int, int]] = []  # (cycle operands are ready, seq) of dispatched instructions
        self.ready: list[int] = []  # dispatched, operands ready by now: seqs in age order
        # next seq to dispatch, oldest seq not retired, window use, cycle
        self.nxt = self.head = self.rob_uops = self.c = 0
        self.last_retire = [0] * iters
        self.users = [0] * total

    def snapshot(self, base: int) -> tuple:
        """Everything the next cycles read, relative to cycle `c` and instruction `base`:
        equal snapshots have equal futures (for `exact_steady`)."""
        c, head, nxt = self.c, self.head, self.nxt
        # instructions not retired, and those a producer's result may already have reached
        # (up to one iteration beyond the last dispatched: loop-carried edges span one)
        hi = min(self.total, nxt + 2 * self.n)
        inflight = tuple((self.dispatched_at[s] - c, self.issue[s] - c if self.issue[s] >= 0 else None,
                          max(self.earliest[s] - c, 0), self.pending[s])
                         for s in range(head, nxt))
        future = tuple((max(self.earliest[s] - c, 1), self.pending[s]) for s in range(nxt, hi))
        units = tuple(tuple(max(f - c, 0) for f in row) for row in self.units)
        waiting = tuple(sorted((max(t - c, 0), s - base) for t, s in self.waiting))
        users = tuple(self.users[head:nxt]) if MCA_RANK else ()
        return (head - base, nxt - base, self.rob_uops, tuple(s - base for s in self.ready), waiting, units,
                inflight, future, users)

    def release(self, s: int, t: int) -> None:
        """Instruction `s` issued at `t`: its consumers' operands are ready at t + latency."""
        n, iters, earliest, pending = self.n, self.iters, self.earliest, self.pending
        it, j = divmod(s, n)
        for cj, lat, dit in self.cons[j]:
            ci = it + dit
            if ci >= iters:
                continue
            cs = ci * n + cj
            if t + lat > earliest[cs]:
                earliest[cs] = t + lat
            pending[cs] -= 1
            if pending[cs] == 0 and self.dispatched_at[cs] >= 0:
                self.operands_ready(cs, max(earliest[cs], self.dispatched_at[cs] + self.delay))

    def operands_ready(self, s: int, t: int) -> None:
        """Dispatched instruction `s` has all its operands from cycle `t` on."""
        heapq.heappush(self.waiting, (t, s))

    def dispatch(self) -> None:
        """In program order: `decode_width` instructions, `dispatch_width` micro-ops, window room."""
        n, c, nuops, total = self.n, self.c, self.nuops, self.total
        k_i = k_u = 0
        while self.nxt < total and k_i < self.decode_w:
            nxt = self.nxt
            nu = nuops[nxt % n]
            if (k_u + nu > self.dispatch_w and k_u) or (self.rob_uops + nu > self.window and self.rob_uops):
                break
            self.dispatched_at[nxt] = c
            if MCA_RANK:
                it0 = nxt // n
                for pj, dit in self.prods[nxt % n]:
                    if it0 - dit >= 0:
                        ps = (it0 - dit) * n + pj
                        if self.issue[ps] < 0:
                            self.users[ps] += 1
            self.rob_uops += nu
            k_i += 1
            k_u += nu
            if self.pending[nxt] == 0:
                heapq.heappush(self.waiting, (max(self.earliest[nxt], c + self.delay), nxt))
            self.nxt = nxt + 1

    def issue_ready(self) -> None:
        """Oldest first; again while latency-0 results make more instructions ready."""
        c, n, waiting, users = self.c, self.n, self.waiting, self.users
        flex: list[list] = []
        again = True
        ready = self.ready
        while again:
            while waiting and waiting[0][0] <= c:
                bisect.insort(ready, heapq.heappop(waiting)[1])
            if MCA_RANK:
                ready.sort(key=lambda s: (s - users[s], s))
            failed = set()
            keep = []
            for s in ready:
                res = self.res_of[s % n]
                if res in failed or not _book(self.units, res, c, flex):
                    failed.add(res)
                    keep.append(s)
                    continue
                self.issue[s] = c
                self.release(s, c)
            ready = keep
            again = bool(waiting) and waiting[0][0] <= c
        self.ready = ready

    def retire(self) -> bool:
        """In order, `retire_width` micro-ops whose results are done; True if more could retire."""
        n, c, issue, done_lat, nuops = self.n, self.c, self.issue, self.done_lat, self.nuops
        k_u = 0
        while self.head < self.total and issue[self.head] >= 0 and issue[self.head] + done_lat[self.head % n] <= c:
            head = self.head
            nu = nuops[head % n]
            if k_u + nu > self.retire_w and k_u:
                return True
            k_u += nu
            self.rob_uops -= nu
            if head % n == n - 1:
                self.last_retire[head // n] = c
            if self.trace is not None:
                self.trace.append((head // n, self.order[head % n], self.dispatched_at[head], issue[head], c))
            self.head = head + 1
        return False

    def advance(self, more: bool) -> None:
        """To the next cycle where something can happen."""
        n, nxt = self.n, self.nxt
        if self.ready or more or (nxt < self.total and (self.rob_uops + self.nuops[nxt % n] <= self.window
                                                        or not self.rob_uops)):
            self.c += 1
            return
        nexts = [self.waiting[0][0]] if self.waiting else []
        head = self.head
        if head < self.total and self.issue[head] >= 0:
            nexts.append(self.issue[head] + self.done_lat[head % n])
        self.c = max(self.c + 1, min(nexts)) if nexts else self.c + 1


@dataclass
class _Plan:
    """Per position of the order: what the cycle-driven simulation needs."""

    nuops: list[int]
    done_lat: list[int]  # cycles from issue to completion, at least 1
    res: list[tuple]  # pipe reservations, most constrained first, preferred pipe type first
    cons: list[list[tuple[int, int, int]]]  # (consumer position, latency, 0 same / 1 next iteration)
    pending: list[int]  # RAW producers of each position in the first iteration
    pending_later: list[int]  # ... in every later iteration (loop-carried ones too)
    prods: list[list[tuple[int, int]]]  # (producer position, 0 same / 1 previous iteration)


def _ooo_plan(bt: BlockTiming, order: Sequence[int], model: Model) -> _Plan:
    n = bt.n
    pos = [0] * n
    for j, k in enumerate(order):
        pos[k] = j
    prefer = _pipe_preference(bt, model)
    res = []
    for k in order:
        rs = [(tuple(sorted(types, key=prefer.__getitem__)), busy) for types, busy in bt.reservations[k]]
        res.append(tuple(sorted(rs, key=lambda r: len(r[0]))))
    cons: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    for k in range(n):
        for p, lat in bt.raw[k]:
            cons[pos[p]].append((pos[k], lat, 0))
        for p, lat in bt.carried[k]:
            cons[pos[p]].append((pos[k], lat, 1))
    prods: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for j, row in enumerate(cons):
        for cj, _, dit in row:
            prods[cj].append((j, dit))
    first = [len(bt.raw[k]) for k in order]
    later = [len(bt.raw[k]) + len(bt.carried[k]) for k in order]
    return _Plan([bt.timings[k].n_uops for k in order], [max(bt.timings[k].latency, 1) for k in order],
                 res, cons, first, later, prods)


def _pipe_preference(bt: BlockTiming, model: Model) -> list[float]:
    """Rank of each pipe type when a micro-op may use several: the one with the least
    work that only it can do (per pipe) first, so a flexible micro-op leaves the pipe
    that others depend on free (ALU work goes to S rather than M, vector work to the V
    pipe the block's multiplies do not need). Ties keep the model's order."""
    counts = list(model.pipes.values())
    only = [0.0] * len(counts)
    for rs in bt.reservations:
        for types, busy in rs:
            if len(types) == 1:
                only[types[0]] += busy
    return [only[p] / counts[p] + p * 1e-9 for p in range(len(counts))]


def _book(units: list[list[int]], res, c: int, flex: list[list]) -> bool:
    """Take, in cycle c, a free unit for every reservation ((type indexes, busy) pairs)
    or change nothing and return False. `flex` lists this cycle's single-cycle micro-ops
    that could use another pipe type ([types, type, unit]): one may move to a free unit
    of another of its types to make room, since pipes are picked per cycle."""
    taken: list[tuple[int, int, int, tuple]] = []
    moved: list[tuple[list, int, int]] = []  # (flex entry, old type, old unit) to undo
    for types, busy in res:
        for p in types:
            u = _free_unit(units[p], c, p, taken)
            if u is None:
                u = _make_room(units, p, c, flex, taken, moved)
            if u is not None:
                taken.append((p, u, busy, types))
                break
        else:
            for e, p, u in reversed(moved):
                units[e[1]][e[2]] = c
                units[p][u] = c + 1
                e[1], e[2] = p, u
            return False
    for p, u, busy, types in taken:
        units[p][u] = c + busy
        if busy == 1 and len(types) > 1:
            flex.append([types, p, u])
    return True


def _free_unit(row: list[int], c: int, p: int, taken) -> int | None:
    for u, free in enumerate(row):
        if free <= c and not any(q == p and v == u for q, v, _, _ in taken):
            return u
    return None


def _make_room(units, p: int, c: int, flex: list[list], taken, moved) -> int | None:
    """Free a unit of type p in cycle c by moving a flexible single-cycle micro-op booked
    on it this cycle to a free unit of another of its types (one step, no chains)."""
    for e in flex:
        if e[1] != p:
            continue
        for q in e[0]:
            if q == p:
                continue
            v = _free_unit(units[q], c, q, taken)
            if v is not None:
                moved.append((e, e[1], e[2]))
                units[q][v] = c + 1
                u = e[2]
                units[p][u] = c
                e[1], e[2] = q, v
                return u
    return None



# ------------------------------------------------------- issue queues and steering

_NEVER = 1 << 40  # a cycle later than any run: no queue limit, operands not ready yet


def _new_run(bt: BlockTiming, order: Sequence[int], model: Model, iters: int, trace: list | None) -> _OooRun:
    """The simulation for the model's steering rule: pipes picked at issue, or issue queues."""
    if model.steering == "issue":
        return _OooRun(bt, order, model, iters, trace)
    return _QueuedRun(bt, order, model, iters, trace)


class _QueuedRun(_OooRun):
    """The simulation with an issue queue per pipe (`Model.queue_sizes`; a pipe type without
    one never makes dispatch wait). At dispatch each micro-op goes to one queue of a pipe it may
    use, by `Model.steering`: the least-occupied, those of `Model.steering_avoid` only when the
    others are full; dispatch waits, in program order, while a micro-op finds every permitted
    queue full. Every cycle each free pipe issues the oldest micro-op of its own queue whose
    instruction's operands are ready and whose held units (a multiplier behind the pipe) are
    free; the queue entry is free for dispatch from the next cycle. An instruction has issued
    when its last micro-op has: its results and its retirement count from then.

    A queue is kept as three parts: entries whose operands are not known yet (`parked`, by
    instruction), a heap of (ready cycle, seq, ...) and a heap of ready entries by age."""

    def __init__(self, bt: BlockTiming, order: Sequence[int], model: Model, iters: int, trace: list | None):
        super().__init__(bt, order, model, iters, trace)
        names = list(model.pipes)
        type_units: list[list[int]] = []
        unit_type: list[int] = []
        for p, name in enumerate(names):
            type_units.append(list(range(len(unit_type), len(unit_type) + model.pipes[name])))
            unit_type += [p] * model.pipes[name]
        sizes, avoid = model.queue_sizes, model.steering_avoid
        units = len(unit_type)
        self.cap = [sizes.get(names[p], _NEVER) for p in unit_type]
        self.free = [0] * units  # per pipe: the cycle it is free from
        self.count = [0] * units  # entries in each pipe's queue
        self.timed: list[list[tuple]] = [[] for _ in range(units)]  # (ready cycle, seq, busy, held)
        self.ready_q: list[list[tuple]] = [[] for _ in range(units)]  # (seq, busy, held): ready, by age
        self.parked: dict[int, list[tuple[int, int, tuple]]] = {}  # seq -> (pipe, busy, held)
        index = {name: p for p, name in enumerate(names)}
        # per position: its micro-ops as (permitted pipes with a steering penalty, busy, held units)
        self.uq: list[tuple] = []
        for k in order:
            uops = []
            for types, busy, holds in bt.timings[k].issue_uops:
                us = [u for t in sorted(index[x] for x in types) for u in type_units[t]]
                uops.append((tuple((u, _NEVER if names[unit_type[u]] in avoid else 0) for u in us), busy,
                             tuple((tuple(type_units[index[h[0]]]), b) for h, b in holds)))
            self.uq.append(tuple(uops))
        self.left = [0] * self.total  # micro-ops not issued yet
        self.issuing = sorted({u for uops in self.uq for units, _, _ in uops for u, _ in units})
        self.touched: set[int] = set()  # instructions not dispatched that a producer has reached
        self.zero_latency = False
        self.stop = ""  # why dispatch stopped this cycle: width, window, queue or end
        self.changed = False  # a queue or window entry was freed this cycle

    def release(self, s: int, t: int) -> None:
        """As `_OooRun.release`; consumers not dispatched yet are noted for `snapshot`."""
        n, iters, earliest, pending, nxt = self.n, self.iters, self.earliest, self.pending, self.nxt
        it, j = divmod(s, n)
        for cj, lat, dit in self.cons[j]:
            ci = it + dit
            if ci >= iters:
                continue
            cs = ci * n + cj
            if t + lat > earliest[cs]:
                earliest[cs] = t + lat
            pending[cs] -= 1
            if cs >= nxt:
                self.touched.add(cs)
            elif pending[cs] == 0:
                self.operands_ready(cs, max(earliest[cs], self.dispatched_at[cs] + self.delay))

    def operands_ready(self, s: int, t: int) -> None:
        for u, busy, held in self.parked.pop(s, ()):
            heapq.heappush(self.timed[u], (t, s, busy, held))
        if t <= self.c:
            self.zero_latency = True

    def steer(self, j: int) -> list[tuple[int, int, tuple]] | None:
        """A queue for each of position j's micro-ops, or None if one finds them all full."""
        count, cap = self.count, self.cap
        out: list[tuple[int, int, tuple]] = []
        for units, busy, held in self.uq[j]:
            best, key = -1, _NEVER * 2
            for u, penalty in units:
                ln = count[u]
                if out:
                    ln += sum(1 for v, _, _ in out if v == u)
                if ln < cap[u] and ln + penalty < key:
                    best, key = u, ln + penalty
            if best < 0:
                return None
            out.append((best, busy, held))
        return out

    def dispatch(self) -> None:
        n, c, nuops, total = self.n, self.c, self.nuops, self.total
        k_i = k_u = 0
        self.stop = "width"
        while True:
            nxt = self.nxt
            if nxt >= total:
                self.stop = "end"
                break
            if k_i >= self.decode_w:
                break
            nu = nuops[nxt % n]
            if k_u + nu > self.dispatch_w and k_u:
                break
            if self.rob_uops + nu > self.window and self.rob_uops:
                self.stop = "window"
                break
            placed = self.steer(nxt % n)
            if placed is None:
                self.stop = "queue"
                break
            for u, _, _ in placed:
                self.count[u] += 1
            self.left[nxt] = len(placed)
            self.dispatched_at[nxt] = c
            self.rob_uops += nu
            k_i += 1
            k_u += nu
            if self.pending[nxt] == 0:
                t = max(self.earliest[nxt], c + self.delay)
                for u, busy, held in placed:
                    heapq.heappush(self.timed[u], (t, nxt, busy, held))
            else:
                self.parked[nxt] = placed
            self.nxt = nxt + 1

    def _held_units(self, held: tuple, c: int) -> list[int] | None:
        """A free unit of each held pipe type at cycle c, or None."""
        got: list[int] = []
        for units, _ in held:
            u = next((u for u in units if self.free[u] <= c and u not in got), None)
            if u is None:
                return None
            got.append(u)
        return got

    def _take(self, u: int, c: int) -> tuple | None:
        """The oldest ready micro-op of pipe u's queue whose held units are free, removed."""
        timed, ready = self.timed[u], self.ready_q[u]
        while timed and timed[0][0] <= c:
            _, s, busy, held = heapq.heappop(timed)
            heapq.heappush(ready, (s, busy, held))
        if not ready:
            return None
        if not ready[0][2]:
            return heapq.heappop(ready), ()
        skipped = []
        found = None
        while ready:
            e = heapq.heappop(ready)
            units = self._held_units(e[2], c) if e[2] else []
            if units is not None:
                found = (e, units)
                break
            skipped.append(e)
        for e in skipped:
            heapq.heappush(ready, e)
        return found

    def issue_ready(self) -> None:
        """Each free pipe takes the oldest micro-op of its queue that can go."""
        c, free, count, left = self.c, self.free, self.count, self.left
        self.changed = False
        again = True
        while again:
            self.zero_latency = False
            for u in self.issuing:
                if not count[u] or free[u] > c:
                    continue
                got = self._take(u, c)
                if got is None:
                    continue
                (s, busy, held), units = got
                count[u] -= 1
                self.changed = True
                free[u] = c + busy
                for h, (_, b) in zip(units, held, strict=True):
                    free[h] = c + b
                left[s] -= 1
                if not left[s]:
                    self.issue[s] = c
                    self.release(s, c)
            again = self.zero_latency

    def retire(self) -> bool:
        head = self.head
        more = super().retire()
        if self.head != head:
            self.changed = True
        return more

    def advance(self, more: bool) -> None:
        """To the next cycle where something can happen: the next one if dispatch stopped only
        for its width or an entry was freed, else the next issue or completion."""
        n, c = self.n, self.c
        if more or self.stop == "width" or (self.changed and self.stop != "end"):
            self.c = c + 1
            return
        nexts = []
        for u in range(len(self.free)):
            if self.ready_q[u]:
                nexts.append(max(self.free[u], c + 1))
            elif self.timed[u]:
                nexts.append(max(self.free[u], self.timed[u][0][0]))
        head = self.head
        if head < self.total and self.issue[head] >= 0:
            nexts.append(self.issue[head] + self.done_lat[head % n])
        self.c = max(c + 1, min(nexts)) if nexts else c + 1

    def snapshot(self, base: int) -> tuple:
        """As `_OooRun.snapshot`, but only what decides the future: an issued instruction's
        completion, a waiting one's operand cycle (or what it still waits for) and micro-ops
        left; cycles that have passed count as now."""
        c, head, nxt, d = self.c, self.head, self.nxt, self.delay
        hi = min(self.total, nxt + 2 * self.n)
        inflight: list[int | tuple[int, int, int, int]] = []
        for s in range(head, nxt):
            if not self.left[s]:
                inflight.append(max(self.issue[s] + self.done_lat[s % self.n] - c, 0))
            else:
                inflight.append((max(self.earliest[s] - c, 0), max(self.dispatched_at[s] + d - c, 0),
                                 self.pending[s], self.left[s]))
        # instructions not dispatched: those no producer has reached are as the plan says
        cd, earliest, pending = c + d, self.earliest, self.pending
        self.touched = {s for s in self.touched if s >= nxt}
        future = tuple(sorted((s - base, earliest[s] - c if earliest[s] > cd else d, pending[s])
                              for s in self.touched if s < hi))
        queues: list[list[tuple]] = [[] for _ in self.free]
        for u in range(len(self.free)):
            queues[u] += [(s - base, b, h) for _, s, b, h in self.timed[u]]
            queues[u] += [(s - base, b, h) for s, b, h in self.ready_q[u]]
        for s, placed in self.parked.items():
            for u, b, h in placed:
                queues[u].append((s - base, b, h))
        free = tuple(max(f - c, 0) for f in self.free)
        return (head - base, nxt - base, self.rob_uops, tuple(tuple(sorted(q)) for q in queues), free,
                tuple(inflight), future)
