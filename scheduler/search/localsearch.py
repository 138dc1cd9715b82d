"""Choosing among schedules: the out-of-order evaluator is the judge.

The in-order model has many optimal orders and they differ on the real
(out-of-order) core. Candidates come from the CP-SAT solutions, extra solves
that keep the optimal completion cycle but pull a random subset of instructions
early, and a local search of dependency-respecting moves; every candidate must
keep the in-order cycles within the allowed target, and the one with the best
steady-state out-of-order cycles wins.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scheduler.core.clock import Deadline
from scheduler.machine.bounds import ooo_bound
from scheduler.machine.evaluate import BlockTiming, inorder, out_of_order
from scheduler.machine.model import Model
from scheduler.search.options import Objective

SEARCH_ITERATIONS = 8  # out-of-order iterations while searching (final figures use more)


@dataclass(frozen=True)
class Score:
    """A schedule's figures under both evaluators: steady-state and single-run out-of-order cycles, in-order cycles."""

    ooo: float  # steady-state cycles per iteration (primary)
    inorder: int
    single: int  # one cold run, out of order

    @property
    def key(self) -> tuple[float, int, int]:
        """Sort key of the default objective: steady-state cycles, then the cold run, then in-order cycles."""
        # back-to-back runs cost about steady * (runs - 1) + single: steady first, then the cold run
        return (self.ooo, self.single, self.inorder)


# What "faster" means (--objective): the first figure decides, the others break ties.
OBJECTIVES: dict[str, Callable[[Score], tuple]] = {
    # back-to-back runs on an out-of-order core: about steady * (runs - 1) + single
    Objective.OOO: lambda s: (s.ooo, s.single, s.inorder),
    Objective.SINGLE: lambda s: (s.single, s.ooo, s.inorder),  # one cold run, out of order
    Objective.INORDER: lambda s: (s.inorder, s.ooo, s.single),  # the in-order issue model (CP-SAT's)
}
DEFAULT_OBJECTIVE = Objective.OOO


def objective_key(sc: Score, objective: str = DEFAULT_OBJECTIVE) -> tuple:
    """Sort key of `sc` under `objective` (smaller is faster): its first figure decides, the others break ties."""
    return OBJECTIVES[objective](sc)


def score(bt: BlockTiming, order: Sequence[int], model: Model, iterations: int | None = SEARCH_ITERATIONS) -> Score:
    """The figures of an order. The steady state of a few iterations can read below the
    out-of-order bound (with issue queues the run seldom settles that soon: add_8_walk read
    12.43 against a bound of 12.5), which no order reaches: such a reading counts as the bound,
    so orders at the bound are told apart by their cold run and in-order cycles."""
    o = out_of_order(bt, order, model, iterations)
    return Score(max(o.steady, ooo_bound(bt, model)), inorder(bt, order, model).cycles, o.single)


def _window(bt: BlockTiming, order: list[int], i: int) -> tuple[int, int]:
    """Positions the instruction at position i may move to without breaking an edge."""
    pos = {k: j for j, k in enumerate(order)}
    k = order[i]
    preds = [u for u, _ in bt.raw[k]] + bt.order[k]
    lo = max((pos[u] for u in preds), default=-1) + 1
    succ = bt.successors[k]
    hi = min((pos[v] for v in succ), default=len(order)) - 1
    return lo, hi


def local_search(
    bt: BlockTiming,
    model: Model,
    start: list[int],
    max_inorder: int,
    rng: random.Random,
    evaluations: int,
    deadline: Deadline,
    patience: int = 40,
    objective: str = DEFAULT_OBJECTIVE,
) -> tuple[list[int], Score, int]:
    """Move single instructions within their dependency window; keep a move if the
    out-of-order steady state does not get worse and the in-order cycles stay within
    `max_inorder`. Returns (order, score, evaluations used)."""
    clock = deadline.clock

    def evaluate(order: list[int]) -> tuple[tuple, Score] | None:
        clock.charge_evals()
        if inorder(bt, order, model).cycles > max_inorder:
            return None
        clock.charge_evals(bt.n // 50 + 1)  # the out-of-order model costs more
        s = score(bt, order, model)
        return objective_key(s, objective), s

    first = score(bt, start, model)
    return move_search(bt, start, (objective_key(first, objective), first), evaluate, rng, evaluations,
                       deadline, patience)


# Draws per instruction without a move to evaluate before the search gives up: a block with no
# legal move would otherwise spin until the deadline, forever under --deterministic (its clock
# advances only with evaluations).
IDLE_DRAWS = 50


def move_search(bt: BlockTiming, start: list[int], first: tuple[tuple, Any],
                evaluate: Callable[[list[int]], tuple[tuple, Any] | None], rng: random.Random,
                evaluations: int, deadline: Deadline, patience: int = 40) -> tuple[list[int], Any, int]:
    """Single-instruction moves within the dependency window (the DAG of `bt`, the same for
    every model of the same instructions). `first` is (key, payload) of `start`; `evaluate(order)`
    gives (key, payload), lower keys better, or None to reject the order; sideways moves are
    kept too, to cross plateaus.
    Returns (order, payload of the best, evaluations used)."""
    best = list(start)
    best_key, best_payload = first
    used = 0
    stale = 0  # evaluations since the last strict improvement
    if bt.n < 2:
        return best, best_payload, used
    idle = 0  # draws in a row that gave no move to evaluate (none may exist: a dependency chain)
    while used < evaluations and stale < patience and deadline.left() > 0 and idle < IDLE_DRAWS * bt.n:
        idle += 1
        i = rng.randrange(bt.n)
        lo, hi = _window(bt, best, i)
        if hi <= lo:
            continue
        j = rng.randint(lo, hi)
        if j == i:
            continue
        cand = list(best)
        k = cand.pop(i)
        cand.insert(j, k)
        got = evaluate(cand)
        if got is None:
            continue
        idle = 0
        used += 1
        stale += 1
        if got[0] < best_key:
            stale = 0
        if got[0] <= best_key:
            best, (best_key, best_payload) = cand, got
    return best, best_payload, used
