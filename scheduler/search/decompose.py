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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from scheduler.core.clock import WALL, Clock, searching, stop_requested
from scheduler.machine.bounds import tails
from scheduler.machine.evaluate import BlockTiming, inorder
from scheduler.machine.model import Model
from scheduler.search.solve import add_resources

MIN_SIZE, START_SIZE, MAX_SIZE = 24, 80, 240


@dataclass
class WindowResult:
    order: list[int]  # the window's instructions in their new order
    issue: dict[int, int]  # the solver's issue cycles (its claim)
    optimal: bool
    cost: float  # seconds, or deterministic work units


@dataclass
class PassStats:
    windows: int = 0
    optimal: int = 0
    claims_exact: int = 0  # committed instructions whose evaluator cycle equals the solver's claim
    committed: int = 0
    sizes: list[int] = field(default_factory=list)


def solve_window(bt: BlockTiming, model: Model, prefix_issue: dict[int, int], t_last: int,
                 window: Sequence[int], hint: dict[int, int], tail: Sequence[int], limit: float,
                 workers: int = 0, seed: int = 0, clock: Clock = WALL,
                 after_work: dict[str, int] | None = None) -> WindowResult | None:
    """Re-schedule `window` after a fixed prefix (see module docstring); None if no solution.
    `after_work`: per pipe type, cycles of work the instructions after the window need."""
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
    clock.limit_solver(solver.parameters, limit)
    before = clock.now()
    wall = WALL.now()
    with searching(solver):
        status = solver.solve(m)
    clock.account_solver(solver)
    cost = clock.now() - before if clock.deterministic else WALL.now() - wall
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


def window_pass(bt: BlockTiming, model: Model, order: Sequence[int], deadline: float, clock: Clock,
                size: int, offset: int = 0, workers: int = 0, seed: int = 0,
                on_window: Callable[[int, int, int], None] | None = None) -> tuple[list[int], int, PassStats]:
    """One left-to-right pass; returns (order, the solver's claimed cycles, stats). The first
    window commits `offset` fewer instructions, to shift the boundaries between passes."""
    tail = tails(bt)
    committed: list[int] = []
    remaining = list(order)
    stats = PassStats()
    claims: dict[int, int] = {}
    first = True
    while remaining:
        left = clock.left(deadline)
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
        res = solve_window(bt, model, prefix_issue, t_last, window, hint, tail, limit, workers, seed, clock,
                           after)
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
    order: list[int]
    cycles: int
    passes: int
    windows: int
    improved: bool
    stats: list[PassStats] = field(default_factory=list)


def decompose(bt: BlockTiming, model: Model, order: Sequence[int], deadline: float, clock: Clock = WALL,
              workers: int = 0, seed: int = 0, size: int = START_SIZE,
              on_progress: Callable[[dict], None] | None = None) -> DecomposeResult:
    """Window passes from `order` while the block's in-order cycles drop (and time remains)."""
    best = list(order)
    best_cycles = inorder(bt, best, model).cycles
    out = DecomposeResult(best, best_cycles, 0, 0, False)
    while clock.left(deadline) > 0 and not stop_requested():
        offset = (out.passes * size // 4) % max(1, size // 2)

        def tick(done: int, placed: int, total: int, p=out.passes, b=best_cycles) -> None:
            if on_progress:
                on_progress({"pass": p + 1, "windows": out.windows + done, "placed": placed,
                             "total": total, "best": b})

        new, _, stats = window_pass(bt, model, best, deadline, clock, size, offset, workers, seed, tick)
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
