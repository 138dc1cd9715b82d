"""Decomposition for large blocks: receding-horizon windows over the in-order schedule.

A whole-block CP-SAT model of 1,000+ instructions does not solve in useful time, so
a *pass* walks the current order from the front. The committed prefix is fixed,
with the issue cycles the in-order evaluator gives it. The next `size` uncommitted
instructions form a window, and CP-SAT re-schedules them with the boundary modelled
exactly as the evaluator sees it:
  * values in flight: an instruction reading a prefix result issues no earlier than
    that result's issue cycle + latency (ordering-only edges: no earlier than it);
  * pipe occupancy: prefix reservations still busy at the window's first possible
    cycle are constant intervals in the same no-overlap/cumulative constraints (a
    flexible single-cycle micro-op keeps its choice of pipe types, as in the evaluator);
  * issue width: prefix instructions issued in that cycle take their slots;
  * in-order issue: nothing issues before the last prefix instruction.
The objective looks past the window: minimise max(issue + tail), the tail being the
longest latency path from an instruction to the end of the block (instructions on
long paths go first), then the sum of issue cycles (pack the window early). The
first `step` instructions of the window's new order are committed with the solver's
issue cycles (its claim) and the window slides on; the last window commits all.

Every window is hinted with the current order's cycles, so it is never worse on its
own objective; a pass is kept only if the evaluator's cycles for the whole block
drop, and passes repeat (with the window boundaries shifted) while they do.
Window sizes adapt: a window solved to optimality well within its time share grows
the next one, one that hits its limit shrinks it.

With a window executor installed (scheduler/search/parallel.py, `scheduler batch` over Ray),
a pass instead cuts the current order into disjoint windows of a fixed size, solves each after
its prefix as the current order times it, all at once, and merges them in position order
(`parallel_pass`); the cuts alternate by half a window between passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import networkx as nx

from scheduler.core.clock import Clock, Deadline, searching, stop_requested
from scheduler.machine.bounds import tails
from scheduler.machine.evaluate import BlockTiming, inorder
from scheduler.machine.model import Model
from scheduler.search import parallel
from scheduler.search.cpsat import cp_model
from scheduler.search.solve import add_resources

MIN_SIZE, START_SIZE, MAX_SIZE = 24, 80, 240


@dataclass
class WindowResult:
    """One solved window: its new order, the solver's issue cycles, whether optimal, and what it cost."""

    order: list[int]  # the window's instructions in their new order
    issue: dict[int, int]  # the solver's issue cycles (its claim)
    optimal: bool
    cost: float  # seconds, or deterministic work units


@dataclass
class PassStats:
    """Counts of one pass: windows solved, optimal ones, committed instructions and window sizes."""

    windows: int = 0
    optimal: int = 0
    claims_exact: int = 0  # committed instructions whose evaluator cycle equals the solver's claim
    committed: int = 0
    sizes: list[int] = field(default_factory=list)


def solve_window(bt: BlockTiming, model: Model, prefix_issue: dict[int, int], t_last: int,
                 window: Sequence[int], hint: dict[int, int], tail: Sequence[int], deadline: Deadline,
                 workers: int = 0, seed: int = 0,
                 after_work: dict[str, int] | None = None) -> WindowResult | None:
    """Re-schedule `window` after a fixed prefix (see module docstring) until `deadline`; None if
    no solution. `after_work`: per pipe type, cycles of work the instructions after the window
    need. The result's `cost` is on the deadline's clock."""
    clock = deadline.clock
    m = cp_model.CpModel()
    members = set(window)
    after_work = after_work or {}
    horizon = max(hint[v] + tail[v] for v in window)
    horizon = max([horizon] + [hint_end(bt, model, hint, window, p) + w for p, w in after_work.items()])
    issue = {}
    for v in window:
        release = t_last
        for u, lat in bt.raw[v]:
            if u in prefix_issue:
                release = max(release, prefix_issue[u] + lat)
        for u in bt.order[v]:
            if u in prefix_issue:
                release = max(release, prefix_issue[u])
        issue[v] = m.new_int_var(release, max(release, horizon - tail[v]), f"issue_{v}")
    for v in window:
        for u, lat in bt.raw[v]:
            if u in members:
                m.add(issue[v] >= issue[u] + lat)
        for u in bt.order[v]:
            if u in members:
                m.add(issue[v] >= issue[u])
    # the prefix's pipe and issue-slot occupancy from the window's first cycle on
    boundary = [(k, s, [(types, busy) for types, busy in bt.reservations[k] if s + busy > t_last])
                for k, s in prefix_issue.items()
                if s == t_last or any(s + busy > t_last for _, busy in bt.reservations[k])]
    add_resources(m, model, boundary + [(v, issue[v], bt.reservations[v]) for v in window])
    done = m.new_int_var(0, horizon + sum(after_work.values()), "completion")
    for v in window:
        m.add(done >= issue[v] + tail[v])
    # resource lookahead: a pipe type's work after the window cannot start before the
    # window's last use of that type ends (what keeps a multiplier-bound block's pipe busy)
    names = list(model.pipes)
    for p, work in after_work.items():
        ends = [issue[v] + busy for v in window for types, busy in bt.reservations[v]
                if len(types) == 1 and names[types[0]] == p]
        if work and ends:
            end = m.new_int_var(0, horizon + work, f"end_{p}")
            m.add_max_equality(end, ends)
            m.add(done >= end + work)
    span = len(window) * (horizon + 1) + 1  # lexicographic: completion first, then the sum
    m.minimize(done * span + sum(issue.values()))
    for v in window:
        m.add_hint(issue[v], hint[v])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(0, workers)
    solver.parameters.random_seed = seed
    clock.limit_solver(solver.parameters, deadline.left())
    before = clock.now()
    with searching(solver):
        status = solver.solve(m)
    clock.account_solver(solver)
    cost = clock.now() - before
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    values = {v: solver.value(issue[v]) for v in window}
    pos = {v: i for i, v in enumerate(window)}
    order = sorted(window, key=lambda v: (values[v], pos[v]))
    return WindowResult(order, values, status == cp_model.OPTIMAL, cost)


def hint_end(bt: BlockTiming, model: Model, hint: dict[int, int], window: Sequence[int], p: str) -> int:
    """When the hinted schedule's last use of pipe type p in the window ends."""
    names = list(model.pipes)
    return max([0] + [hint[v] + busy for v in window for types, busy in bt.reservations[v]
                      if len(types) == 1 and names[types[0]] == p])


def pipe_work(bt: BlockTiming, model: Model, instrs: Sequence[int]) -> dict[str, int]:
    """Cycles each single-type pipe needs for `instrs` (work / number of pipes, rounded up)."""
    names = list(model.pipes)
    work = dict.fromkeys(names, 0)
    for v in instrs:
        for types, busy in bt.reservations[v]:
            if len(types) == 1:
                work[names[types[0]]] += busy
    return {p: -(-w // model.pipes[p]) for p, w in work.items() if w}


def disjoint_windows(n: int, size: int, shift: int) -> list[tuple[int, int]]:
    """[a, b) windows covering 0..n, cut at shift, shift + size, ... (parallel sweeps: every
    window solved at once); a piece shorter than a quarter window at either end joins its neighbour."""
    bounds = [0] + list(range(shift % size or size, n, size)) + [n]
    wins = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    small = max(8, size // 4)
    if len(wins) > 1 and wins[0][1] - wins[0][0] < small:
        wins[:2] = [(wins[0][0], wins[1][1])]
    if len(wins) > 1 and wins[-1][1] - wins[-1][0] < small:
        wins[-2:] = [(wins[-2][0], wins[-1][1])]
    return wins


def window_pass(bt: BlockTiming, model: Model, order: Sequence[int], deadline: Deadline,
                size: int, offset: int = 0, workers: int = 0, seed: int = 0,
                on_window: Callable[[int, int, int], None] | None = None) -> tuple[list[int], int, PassStats]:
    """One left-to-right pass; returns (order, the solver's claimed cycles, stats). The first
    window commits `offset` fewer instructions, to shift the boundaries between passes."""
    clock = deadline.clock
    tail = tails(bt)
    committed: list[int] = []
    remaining = list(order)
    stats = PassStats()
    claims: dict[int, int] = {}
    first = True
    while remaining:
        left = deadline.left()
        if left <= 0 or stop_requested():
            committed += remaining  # out of time: the rest stays as it is
            break
        size = max(MIN_SIZE, min(MAX_SIZE, size))
        step = max(1, size // 2 - (offset if first else 0))
        window = remaining[:size]
        current = inorder(bt, committed + remaining, model)
        clock.charge_evals(bt.n // 50 + 1)
        prefix_issue = {k: current.issue[k] for k in committed}
        t_last = current.issue[committed[-1]] if committed else 0
        hint = {v: current.issue[v] for v in window}
        windows_left = max(1, -(-len(remaining) // max(1, size // 2)))
        limit = max(0.2, min(20.0, left / windows_left))
        after = pipe_work(bt, model, remaining[size:])
        res = solve_window(bt, model, prefix_issue, t_last, window, hint, tail, Deadline.after(clock, limit),
                           workers, seed, after)
        new = window if res is None else res.order
        take = len(window) if len(window) == len(remaining) else step
        for v in new[:take]:
            claims[v] = res.issue[v] if res is not None else hint[v]
        committed += new[:take]
        remaining = new[take:] + remaining[size:]
        stats.windows += 1
        stats.sizes.append(size)
        if res is not None and res.optimal:
            stats.optimal += 1
            if res.cost < 0.25 * limit:
                size = int(size * 1.25) + 1
        else:
            size = int(size * 0.8)
        first = False
        if on_window:
            on_window(stats.windows, len(committed), bt.n)
    final = inorder(bt, committed, model)
    stats.committed = len(claims)
    stats.claims_exact = sum(1 for v, c in claims.items() if final.issue[v] == c)
    claimed = max((claims.get(v, final.issue[v]) + max(bt.timings[v].latency, 1) for v in committed), default=0)
    return committed, claimed, stats


@dataclass
class DecomposeResult:
    """The best order the window passes found, its in-order cycles, and the passes and windows it took."""

    order: list[int]
    cycles: int
    passes: int
    windows: int
    improved: bool
    stats: list[PassStats] = field(default_factory=list)


def decompose(bt: BlockTiming, model: Model, order: Sequence[int], deadline: Deadline,
              workers: int = 0, seed: int = 0, size: int = START_SIZE,
              on_progress: Callable[[dict], None] | None = None) -> DecomposeResult:
    """Window passes from `order` while the block's in-order cycles drop (and time remains); with a
    window executor installed for blocks of this size (scheduler/search/parallel.py), parallel
    passes of disjoint windows (`parallel_pass`)."""
    ex = parallel.current()
    if not ex.serial and bt.n >= ex.min_instructions and bt.n > size:
        return _parallel_decompose(bt, model, order, deadline, workers, seed, size, ex, on_progress)
    best = list(order)
    best_cycles = inorder(bt, best, model).cycles
    out = DecomposeResult(best, best_cycles, 0, 0, False)
    while deadline.left() > 0 and not stop_requested():
        offset = (out.passes * size // 4) % max(1, size // 2)

        def tick(done: int, placed: int, total: int, p=out.passes, b=best_cycles) -> None:
            if on_progress:
                on_progress({"pass": p + 1, "windows": out.windows + done, "placed": placed,
                             "total": total, "best": b})

        new, _, stats = window_pass(bt, model, best, deadline, size, offset, workers, seed, tick)
        out.passes += 1
        out.windows += stats.windows
        out.stats.append(stats)
        cycles = inorder(bt, new, model).cycles
        if cycles >= best_cycles:
            break
        best, best_cycles = new, cycles
        out.order, out.cycles, out.improved = best, best_cycles, True
        if stats.sizes:
            size = stats.sizes[-1]
    return out


# ------------------------------------------------------------------ parallel passes


@dataclass
class ReorderJob:
    """One window of a parallel pass as plain picklable data. Renumbered: 0..len(window)-1 are
    the window's instructions in the current order, then the prefix instructions that bind it
    (its predecessors, and those in flight on a pipe or issued in the window's first cycle)."""

    start: int  # the window's first position in the order
    window: list[int]  # the block's indices of the window's instructions
    raw: list[list[tuple[int, int]]]
    order: list[list[int]]
    reservations: list[tuple[tuple[tuple[int, ...], int], ...]]
    prefix_issue: dict[int, int]
    t_last: int
    hint: dict[int, int]
    tail: list[int]
    after_work: dict[str, int]
    model: Model
    limit: float
    workers: int
    seed: int
    deterministic: bool


@dataclass
class ReorderJobResult:
    """One window of a parallel pass as solved: its new order, whether optimal, and the work it took."""

    order: list[int]  # the block's indices of the window, in the new order
    optimal: bool
    work: float  # the job's time on its own clock


def reorder_job(bt: BlockTiming, model: Model, order: Sequence[int], issue: Sequence[int], a: int, b: int,
                tail: Sequence[int], limit: float, workers: int, seed: int, deterministic: bool) -> ReorderJob:
    """The window order[a:b] after the fixed prefix order[:a], as `solve_window` sees it."""
    window = list(order[a:b])
    members = set(window)
    t_last = issue[order[a - 1]] if a else 0
    binding = {u for v in window for u, _ in bt.raw[v] if u not in members}
    binding |= {u for v in window for u in bt.order[v] if u not in members}
    binding |= {k for k in order[:a] if issue[k] == t_last or any(issue[k] + busy > t_last
                                                                  for _, busy in bt.reservations[k])}
    nodes = window + sorted(binding)
    loc = {g: i for i, g in enumerate(nodes)}
    inner = range(len(window))
    return ReorderJob(a, window, [[(loc[u], lat) for u, lat in bt.raw[window[i]]] for i in inner] + [[]] * len(binding),
                      [[loc[u] for u in bt.order[window[i]]] for i in inner] + [[]] * len(binding),
                      [bt.reservations[g] for g in nodes], {loc[g]: issue[g] for g in binding}, t_last,
                      {i: issue[window[i]] for i in inner}, [tail[g] for g in window] + [0] * len(binding),
                      pipe_work(bt, model, order[b:]), model, limit, workers, seed, deterministic)


def solve_reorder_job(job: ReorderJob) -> ReorderJobResult | None:
    """Solve one window job (in any process); None if the solver found no solution."""
    clock = Clock(job.deterministic)
    # only the fields solve_window reads: dependencies and pipe bookings
    bt = BlockTiming([], [], nx.DiGraph(), job.raw, job.order, [], job.reservations, [])
    res = solve_window(bt, job.model, job.prefix_issue, job.t_last, list(range(len(job.window))), job.hint,
                       job.tail, Deadline.after(clock, job.limit), job.workers, job.seed, job.after_work)
    return None if res is None else ReorderJobResult([job.window[v] for v in res.order], res.optimal, clock.now())


def parallel_pass(bt: BlockTiming, model: Model, order: Sequence[int], deadline: Deadline, size: int,
                  offset: int, workers: int, seed: int, ex: parallel.Executor) -> tuple[list[int], int, PassStats]:
    """One pass of disjoint windows, all solved at once from the current order, each after its
    prefix as the current order times it. Merged in position order: a window's new order is kept
    when the whole block's in-order cycles do not grow (edges between windows all point forward,
    so any merge is a valid order). Returns (order, in-order cycles, stats)."""
    clock = deadline.clock
    tail = tails(bt)
    timed = inorder(bt, list(order), model)
    issue = timed.issue
    clock.charge_evals(bt.n // 50 + 1)
    wins = disjoint_windows(len(order), size, offset)
    rounds = -(-len(wins) // ex.slots)
    limit = max(0.2, min(20.0, deadline.left() / (2 * rounds)))  # at least two passes
    jobs = [reorder_job(bt, model, order, issue, a, b, tail, limit, workers, seed, clock.deterministic)
            for a, b in wins]
    outcomes = parallel.run_jobs(solve_reorder_job, jobs, timeout=rounds * (3 * limit + 30))
    done = [o for o in outcomes if isinstance(o, ReorderJobResult)]
    # the pass's critical path: its longest job, or the jobs' work over the executor's slots
    clock.charge(max([o.work for o in done] + [sum(o.work for o in done) / ex.slots]))
    new, best = list(order), timed.cycles
    stats = PassStats(windows=len(wins), sizes=[b - a for a, b in wins])
    for (a, b), o in zip(wins, outcomes, strict=True):
        if not isinstance(o, ReorderJobResult):
            continue  # failed, or no solution: the window stays as it is
        stats.optimal += o.optimal
        trial = new[:a] + o.order + new[b:]
        cycles = inorder(bt, trial, model).cycles
        clock.charge_evals(bt.n // 50 + 1)
        if cycles <= best:
            new, best = trial, cycles
            stats.committed += b - a
    return new, best, stats


def _parallel_decompose(bt: BlockTiming, model: Model, order: Sequence[int], deadline: Deadline,
                        workers: int, seed: int, size: int, ex: parallel.Executor,
                        on_progress: Callable[[dict], None] | None) -> DecomposeResult:
    """`decompose` with parallel passes: kept while a pass lowers the block's in-order cycles; the
    cuts alternate by half a window, and two passes in a row without a gain end it."""
    best = list(order)
    best_cycles = inorder(bt, best, model).cycles
    out = DecomposeResult(best, best_cycles, 0, 0, False)
    idle = 0
    while deadline.left() > 0 and not stop_requested() and idle < 2:
        new, cycles, stats = parallel_pass(bt, model, best, deadline, size, (out.passes % 2) * (size // 2),
                                           workers, seed, ex)
        out.passes += 1
        out.windows += stats.windows
        out.stats.append(stats)
        if cycles < best_cycles:
            best, best_cycles, idle = new, cycles, 0
            out.order, out.cycles, out.improved = best, best_cycles, True
        else:
            idle += 1
        if on_progress:
            on_progress({"pass": out.passes, "windows": out.windows, "placed": bt.n, "total": bt.n,
                         "best": best_cycles})
    return out
