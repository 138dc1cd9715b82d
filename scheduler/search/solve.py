"""The CP-SAT model of the in-order issue problem (OR-Tools), in one place.

Data -> variables -> constraints -> objective -> solve -> read values, in the
style of the OR-Tools scheduling samples:

  * `issue[k]`: issue cycle of instruction k, within [head_k, horizon - tail_k];
  * per pipe reservation: an interval of `busy` cycles starting at `issue[k]`, on a
    fixed pipe type or, when several types are allowed, one optional interval per
    type with exactly one chosen;
  * per pipe type: `add_no_overlap` (one pipe) or `add_cumulative` (several);
  * issue width: a cumulative of unit intervals at `issue[k]`, capacity W;
  * dependencies: `issue[v] >= issue[u] + latency` for true (RAW) edges and
    `issue[v] >= issue[u]` for ordering edges (WAR, WAW, memory) — instructions
    issued in the same cycle are emitted in their original relative order, which
    respects every edge;
  * objective: the completion cycle max(issue[k] + latency_k).

The emitted order is the instructions sorted by (issue cycle, original index).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.core.clock import Deadline, searching, stop_requested
from scheduler.machine.bounds import flag_values, heads, tails
from scheduler.machine.evaluate import BlockTiming
from scheduler.machine.model import Model
from scheduler.search.cpsat import cp_model


@dataclass
class SolveResult:
    """A CP-SAT solve: status, claimed cycles and proven bound, the best order and every solution's issue cycles."""

    status: str  # OPTIMAL, FEASIBLE, or UNKNOWN (no solution beyond the hint)
    makespan: int | None  # the solver's claimed in-order cycles for `order`
    bound: int | None  # the solver's proven lower bound (None: not one, see rename_solve)
    order: list[int] | None
    seconds: float
    issues: list[list[int]] = field(default_factory=list)  # issue cycles of every solution seen, best last
    issue: list[int] | None = None  # issue cycles of the best solution

    @property
    def orders(self) -> list[list[int]]:
        """The order of every solution seen, best last."""
        return [order_from_issue(i) for i in self.issues]


def order_from_issue(issue: list[int]) -> list[int]:
    """Instruction indices sorted by issue cycle (ties in original order)."""
    return sorted(range(len(issue)), key=lambda k: (issue[k], k))


@functools.cache
def _collector_class() -> type:
    """The solution callback class (defined on first use: its base class is CP-SAT's)."""

    class Collector(cp_model.CpSolverSolutionCallback):
        """Streams progress and keeps every solution's order (candidates for the OoO judge)."""

        def __init__(self, issue_vars, makespan, on_progress, start):
            super().__init__()
            self.issue_vars = issue_vars
            self.makespan = makespan
            self.on_progress = on_progress
            self.start = start
            self.issues: list[list[int]] = []

        def on_solution_callback(self) -> None:
            self.issues.append([self.value(v) for v in self.issue_vars])
            if stop_requested():
                self.stop_search()  # Ctrl-C: keep what we have
            if self.on_progress:
                self.on_progress(int(self.objective_value), int(self.best_objective_bound),
                                 time.monotonic() - self.start)

    return Collector


# wall seconds per instruction below which a whole-block solve does without the LP relaxation
# (measured: with it, a 1 s solve of 824 instructions took 2.4 s and of 1,115 took 2.1 s)
LP_SECONDS_PER_INSTR = 0.002


@dataclass
class Boundary:
    """The rest of the block around a part solved on its own (cycles relative to the part's
    first possible cycle): per instruction its earliest issue (values in flight from before,
    single pipes still busy), the cycles from its issue to the block's end through what
    comes after the part, and per single-type pipe the work still to come after the part."""

    release: list[int]
    tail: list[int]
    after_work: dict[str, int] = field(default_factory=dict)


def build_model(bt: BlockTiming, model: Model, horizon: int, makespan_cap: int | None = None,
                extra: Callable | None = None, boundary: Boundary | None = None):
    """Returns (CpModel, issue vars, makespan var, per-instruction latencies)."""
    m = cp_model.CpModel()
    head, tail = heads(bt), tails(bt)
    if boundary is not None:
        head = [max(h, r) for h, r in zip(head, boundary.release, strict=True)]
    lat = [max(t.latency, 1) for t in bt.timings]
    issue = [m.new_int_var(head[k], max(head[k], horizon - tail[k]), f"issue_{k}") for k in range(bt.n)]
    add_resources(m, model, [(k, issue[k], bt.reservations[k]) for k in range(bt.n)])
    for v in range(bt.n):
        for u, gap in bt.raw[v]:
            m.add(issue[v] >= issue[u] + gap)
        for u in bt.order[v]:
            m.add(issue[v] >= issue[u])
    makespan = m.new_int_var(0, horizon, "makespan")
    for k in range(bt.n):
        m.add(makespan >= issue[k] + lat[k])
    if boundary is not None:
        names = list(model.pipes)
        for k in range(bt.n):
            if boundary.tail[k] > lat[k]:
                m.add(makespan >= issue[k] + boundary.tail[k])
            for types, busy in bt.reservations[k]:
                work = boundary.after_work.get(names[types[0]], 0) if len(types) == 1 else 0
                if work:  # the pipe's later work cannot start before this use ends
                    m.add(makespan >= issue[k] + busy + work)
    if makespan_cap is not None:
        m.add(makespan <= makespan_cap)
    if extra is not None:
        extra(m, issue)  # e.g. register-renaming constraints
    return m, issue, makespan, lat


def add_resources(m: cp_model.CpModel, model: Model, items) -> None:
    """Pipes and issue width for `items`: (name, start, reservations) with start a variable
    or a constant (an instruction fixed outside the part being solved). A reservation with
    several permitted pipe types gets one optional interval per type, exactly one chosen."""
    names = list(model.pipes)
    per_type: dict[str, list[cp_model.IntervalVar]] = {p: [] for p in names}
    slots = []
    for k, start, res in items:
        for r, (types, busy) in enumerate(res):
            if len(types) == 1:
                per_type[names[types[0]]].append(m.new_fixed_size_interval_var(start, busy, f"pipe_{k}_{r}"))
                continue
            lits = []
            for ti in types:
                lit = m.new_bool_var(f"on_{k}_{r}_{names[ti]}")
                lits.append(lit)
                per_type[names[ti]].append(
                    m.new_optional_fixed_size_interval_var(start, busy, lit, f"pipe_{k}_{r}_{names[ti]}"))
            m.add_exactly_one(lits)
        slots.append(m.new_fixed_size_interval_var(start, 1, f"slot_{k}"))
    for p, ivs in per_type.items():
        if not ivs:
            continue
        if model.pipes[p] == 1:
            m.add_no_overlap(ivs)
        else:
            m.add_cumulative(ivs, [1] * len(ivs), model.pipes[p])
    m.add_cumulative(slots, [1] * len(slots), model.issue_width)


def add_flag_exclusion(m: cp_model.CpModel, issue: list, bt: BlockTiming, horizon: int) -> None:
    """NZCV holds one flag value at a time: a value that is read occupies it from its
    writer's issue to its last reader's. (For models without the flag WAR/WAW edges, such
    as the true-dependency relaxation that bounds renamed schedules.)"""
    ivs = []
    for w, readers, hold in flag_values(bt):
        end = m.new_int_var(0, horizon, f"flags_{w}_end")
        for r in readers:
            m.add(end >= issue[r])
        size = m.new_int_var(hold, horizon, f"flags_{w}_size")
        ivs.append(m.new_interval_var(issue[w], size, end, f"flags_{w}"))
    if len(ivs) > 1:
        m.add_no_overlap(ivs)


def solve(
    bt: BlockTiming,
    model: Model,
    hint_issue: list[int],
    horizon: int,
    deadline: Deadline,
    workers: int = 0,
    seed: int = 0,
    on_progress: Callable[[int, int, float], None] | None = None,
    makespan_cap: int | None = None,
    secondary: list[int] | None = None,
    extra: Callable | None = None,
    boundary: Boundary | None = None,
) -> SolveResult:
    """Minimise the completion cycle (or, with `makespan_cap` and `secondary` weights,
    minimise sum(w_k * issue_k) among schedules within the cap). With `boundary`, the block
    is a part of a larger one and the completion is the larger block's, seen from the part.
    The solve stops at `deadline`; its `seconds` are on the deadline's clock (work units when
    deterministic)."""
    clock = deadline.clock
    start, wall_start = clock.now(), time.monotonic()
    if bt.n == 0:
        return SolveResult("OPTIMAL", 0, 0, [], 0.0)
    m, issue, makespan, _ = build_model(bt, model, horizon, makespan_cap, extra, boundary)
    if secondary is not None:
        m.minimize(sum(w * x for w, x in zip(secondary, issue, strict=True)))
    else:
        m.minimize(makespan)
    for k, v in enumerate(issue):
        m.add_hint(v, hint_issue[k])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(0, workers)
    solver.parameters.random_seed = seed
    clock.limit_solver(solver.parameters, deadline.left())
    if not clock.deterministic and deadline.left() < LP_SECONDS_PER_INSTR * bt.n:
        # CP-SAT builds its LP relaxation without looking at the time limit (1-1.5 s on 800+
        # instructions): a solve shorter than that goes without it, or it overruns --time-limit
        solver.parameters.linearization_level = 0
    collector = _collector_class()(issue, makespan, on_progress if secondary is None else None, wall_start)
    with searching(solver):
        status = solver.solve(m, collector)
    clock.account_solver(solver)
    seconds = clock.now() - start
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SolveResult("UNKNOWN", None, int(solver.best_objective_bound) if secondary is None else 0,
                           None, seconds, collector.issues)
    values = [solver.value(v) for v in issue]
    return SolveResult(name, solver.value(makespan),
                       int(solver.best_objective_bound) if secondary is None else solver.value(makespan),
                       order_from_issue(values), seconds, collector.issues, values)
