"""The optimisation pipeline for one file: per block, solve, judge, check, verify.

For each straight-line block:
  1. time it under the model (in-order and out-of-order) as written;
  2. list-schedule it (warm start and fallback);
  3. solve the in-order problem with CP-SAT (hinted with the better of the two);
  4. gather candidates that keep the best in-order cycles (every CP-SAT solution,
     extra solves that pull random instructions early) and run a local search,
     judged by the out-of-order evaluator;
  5. keep the result only if it is no worse than the input under both evaluators;
  6. re-check it without the solver (a permutation respecting every DAG edge, its
     in-order cycles recomputed) and verify it equivalent with the simulator.
Nothing is written unless every block passed step 6.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .bounds import lower_bounds, ooo_bound
from .dag import is_valid_order
from .evaluate import inorder, out_of_order, prepare
from .ir import Program
from .listsched import list_schedule
from .model import Model
from .search import local_search, pick_best
from .solve import solve
from .verify import verify


@dataclass(frozen=True)
class Options:
    time_limit: float = 30.0  # seconds, shared by all blocks
    workers: int = 0  # CP-SAT workers; 0 = all cores
    seed: int = 0
    noalias: frozenset[str] = frozenset()
    slack: float = 0.0  # allowed in-order cycles above the best found, as a fraction
    diversity_solves: int = 4
    search_evaluations: int = 150
    verify_trials: int = 100


@dataclass
class BlockResult:
    index: int
    instructions: int
    order: list[int]
    cycles_before: int
    cycles_after: int
    lower_bound: int
    bound_reason: str
    status: str  # OPTIMAL, FEASIBLE or FALLBACK
    solve_seconds: float  # CP-SAT time
    seconds: float  # everything: solve, candidate search, checks
    verified: bool
    ooo_cycles_before: float
    ooo_cycles_after: float
    ooo_single_before: int
    ooo_single_after: int
    ooo_lower_bound: float
    solver_cycles: int | None  # the solver's claimed in-order cycles for its best order
    solver_bound: int | None
    candidates: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return self.cycles_after / self.lower_bound - 1 if self.lower_bound else 0.0


class VerificationFailed(Exception):
    """A schedule failed an independent check: nothing may be written."""


ProgressFn = Callable[[int, str, dict], None]


def optimize_block(block_index: int, instrs, model: Model, opts: Options, budget: float,
                   progress: ProgressFn | None = None) -> BlockResult:
    start = time.monotonic()
    deadline = start + budget
    rng = random.Random(opts.seed * 7919 + block_index)
    bt = prepare(instrs, model, opts.noalias)
    ident = list(range(bt.n))
    before_in = inorder(bt, ident, model)
    before_ooo = out_of_order(bt, ident, model)
    bounds = lower_bounds(bt, model)
    notes: list[str] = []

    def report(stage: str, **kw) -> None:
        if progress:
            progress(block_index, stage, kw)

    # 2. warm start
    ls = list_schedule(bt, model)
    ls_in = inorder(bt, ls, model)
    hint_res, hint_order = (ls_in, ls) if ls_in.cycles < before_in.cycles else (before_in, ident)
    report("list", best=hint_res.cycles, bound=bounds.best)

    # 3. CP-SAT on the in-order model
    phase1 = max(0.2, (deadline - time.monotonic()) * 0.5)
    res = solve(bt, model, hint_res.issue, hint_res.cycles, time_limit=phase1, workers=opts.workers,
                seed=opts.seed,
                on_progress=lambda best, bnd, el: report("solve", best=best, bound=max(bnd, bounds.best)))
    candidates: list[list[int]] = [ident, ls, hint_order]
    if res.order is not None:
        candidates += res.orders + [res.order]
        best_in = min(res.makespan, hint_res.cycles)
        status = "OPTIMAL" if res.status == "OPTIMAL" else "FEASIBLE"
    else:
        best_in = hint_res.cycles
        status = "FALLBACK"
        notes.append("solver found no solution within its time: using the best known order")
    solver_bound = max(res.bound, bounds.best) if res.bound is not None else bounds.best
    solve_time = res.seconds

    # 4. more orders with the same in-order cycles, then local search, judged out of order
    target = int(best_in * (1 + opts.slack))
    if res.order is not None and bt.n > 1:
        for s in range(opts.diversity_solves):
            left = deadline - time.monotonic()
            if left < 0.3:
                break
            weights = [rng.choice((0, 1, 1, 2, 5)) for _ in range(bt.n)]
            # short: these only add variety; the first solve already found the optimum
            limit = min(left * 0.1, max(0.3, 2 * res.seconds))
            extra = solve(bt, model, inorder(bt, res.order, model).issue, target, time_limit=limit,
                          workers=opts.workers, seed=opts.seed + s + 1, makespan_cap=target, secondary=weights)
            solve_time += extra.seconds
            if extra.order is not None:
                candidates += extra.orders + [extra.order]
    picked = pick_best(bt, model, candidates, target)
    assert picked is not None  # the hint order is always within target
    order, sc = picked
    report("search", best=sc.inorder, bound=solver_bound, ooo=sc.ooo)
    order, sc, used = local_search(bt, model, order, target, rng, opts.search_evaluations,
                                   deadline=max(deadline, time.monotonic() + 0.5))

    # 5. never worse than the input under either evaluator
    after_in = inorder(bt, order, model).cycles
    after_ooo = out_of_order(bt, order, model)
    if after_in > before_in.cycles or after_ooo.steady > before_ooo.steady:
        notes.append("no order found that is at least as fast under both evaluators: input order kept")
        order, after_in, after_ooo, status = ident, before_in.cycles, before_ooo, "FALLBACK"
    if status == "OPTIMAL" and after_in != res.makespan:
        status = "FEASIBLE"

    # 6. independent checks
    if not is_valid_order(bt.dag, order):
        raise VerificationFailed(f"block {block_index}: the schedule breaks a dependency")
    check = verify(list(instrs), [instrs[k] for k in order], trials=opts.verify_trials,
                   seed=opts.seed, noalias=opts.noalias)
    if not check.equivalent:
        raise VerificationFailed(f"block {block_index}: the schedule is not equivalent "
                                 f"({check.mismatch or check.problems})")
    report("done", best=after_in, bound=solver_bound, ooo=after_ooo.steady)
    return BlockResult(
        index=block_index, instructions=bt.n, order=order,
        cycles_before=before_in.cycles, cycles_after=after_in,
        lower_bound=max(bounds.best, solver_bound), bound_reason=bounds.binding,
        status=status, solve_seconds=round(solve_time, 3), seconds=round(time.monotonic() - start, 3),
        verified=True,
        ooo_cycles_before=before_ooo.steady, ooo_cycles_after=after_ooo.steady,
        ooo_single_before=before_ooo.single, ooo_single_after=after_ooo.single,
        ooo_lower_bound=round(ooo_bound(bt, model), 2),
        solver_cycles=res.makespan, solver_bound=res.bound if res.order is not None else None,
        candidates=len(candidates) + used, notes=notes)


def optimize_program(program: Program, model: Model, opts: Options,
                     progress: ProgressFn | None = None) -> list[BlockResult]:
    blocks = program.blocks()
    results = []
    start = time.monotonic()
    for b in blocks:
        left = opts.time_limit - (time.monotonic() - start)
        share = max(0.5, left * len(b.instructions) / max(
            1, sum(len(x.instructions) for x in blocks[b.index:])))
        results.append(optimize_block(b.index, b.instructions, model, opts, share, progress))
    return results
