"""Large-neighbourhood moves aimed at how back-to-back runs overlap.

The local search (scheduler/search/localsearch.py) moves one instruction at a time to a
random place in its dependency window; CP-SAT optimises one run in order. Neither is aimed
at what decides the steady state of an out-of-order core once the in-order cycles are
equal: while the previous run's carry chains drain, the next run's head can only start
if it is in the 128-entry window and independent of them. So the moves here:

  * hoist: an instruction that starts a long chain (a long tail: loads, multiplies) moves
    towards the start of its window, so the next run starts it while this one drains;
  * sink: an instruction near the end of a chain (a short tail) moves towards the end of
    its window, out of the way of the head;
  * block: a run of 2-8 consecutive instructions moves as a whole (a carry chain keeps its
    flags adjacent; single moves cannot cross a flag reader's partner);
  * boundary: an instruction of the last quarter moves to the first quarter, or back, as
    far as its window allows (the tail/head boundary of two consecutive runs).

Every candidate is scored by the out-of-order evaluator over back-to-back runs (the
objective), kept if it is no worse (sideways moves cross plateaus) and its in-order
cycles stay within `max_inorder`; the best is returned, so the result is never worse
than the start under the objective.
"""

from __future__ import annotations

import random

from scheduler.core.clock import Deadline
from scheduler.machine.bounds import tails
from scheduler.machine.evaluate import BlockTiming, inorder
from scheduler.machine.model import Model
from scheduler.search.localsearch import DEFAULT_OBJECTIVE, Score, _window, objective_key, score

MOVES = ("hoist", "sink", "block", "boundary")
MAX_BLOCK = 8


class _Mover:
    """Draws one candidate order from the current one, or None."""

    def __init__(self, bt: BlockTiming, rng: random.Random):
        self.bt, self.rng = bt, rng
        self.tail = tails(bt)
        self.preds = [[u for u, _ in bt.raw[k]] + bt.order[k] for k in range(bt.n)]
        top = max(self.tail) or 1
        # hoisting weight: long tails first; sinking weight: short tails first
        self.w_hoist = [1 + 8 * t / top for t in self.tail]
        self.w_sink = [1 + 8 * (1 - t / top) for t in self.tail]

    def _pick(self, order: list[int], weights: list[float], lo: int, hi: int) -> int:
        span = range(lo, hi)
        return self.rng.choices(span, weights=[weights[order[j]] for j in span])[0]

    def propose(self, order: list[int], move: str) -> list[int] | None:
        bt, rng, n = self.bt, self.rng, len(order)
        if move == "block":
            size = rng.randint(2, min(MAX_BLOCK, n - 1))
            i = rng.randrange(n - size + 1)
            seg = order[i:i + size]
            inside = set(seg)
            rest = order[:i] + order[i + size:]
            pos = {k: j for j, k in enumerate(rest)}
            # the segment keeps its inner order: it may go anywhere between its outside
            # predecessors and its outside successors
            lo = max((pos[u] + 1 for k in seg for u in self.preds[k] if u not in inside), default=0)
            hi = min((pos[v] for k in seg for v in bt.successors[k] if v not in inside), default=len(rest))
            if hi - lo < 1:
                return None
            j = rng.randint(lo, hi)
            if j == i:
                return None
            cand = rest[:j] + seg + rest[j:]
            return cand
        if move == "boundary":
            q = max(1, n // 4)
            i = rng.randrange(n - q, n) if rng.random() < 0.5 else rng.randrange(q)
            lo, hi = _window(bt, order, i)
            j = lo if i >= n - q else hi
        elif move == "hoist":
            i = self._pick(order, self.w_hoist, n // 4, n)
            lo, hi = _window(bt, order, i)
            if lo >= i:
                return None
            j = lo + int((i - lo) * rng.random() ** 2)  # mostly far towards the start
        else:  # sink
            i = self._pick(order, self.w_sink, 0, n - n // 4)
            lo, hi = _window(bt, order, i)
            if hi <= i:
                return None
            j = hi - int((hi - i) * rng.random() ** 2)
        if j == i or not lo <= j <= hi:
            return None
        cand = list(order)
        cand.insert(j, cand.pop(i))
        return cand


def overlap_search(bt: BlockTiming, model: Model, start: list[int], max_inorder: int, rng: random.Random,
                   evaluations: int, deadline: Deadline,
                   objective: str = DEFAULT_OBJECTIVE, patience: int | None = None
                   ) -> tuple[list[int], Score, int]:
    """Large-neighbourhood moves (module docstring) from `start`, at most `evaluations`
    candidates scored, until `deadline` or `patience` scored candidates without a
    strict gain (default: a quarter of `evaluations`). Returns (order, score, evaluations used);
    the score is never worse under `objective` than the start's."""
    clock = deadline.clock
    best = list(start)
    best_score = score(bt, best, model)
    best_key = objective_key(best_score, objective)
    used = stale = 0
    if bt.n < 4:
        return best, best_score, used
    mover = _Mover(bt, rng)
    patience = patience if patience is not None else max(40, evaluations // 4)
    tries = 0
    while used < evaluations and stale < patience and deadline.left() > 0 and tries < 50 * evaluations:
        tries += 1
        cand = mover.propose(best, rng.choice(MOVES))
        if cand is None or cand == best:
            continue
        clock.charge_evals()
        if inorder(bt, cand, model).cycles > max_inorder:
            continue
        clock.charge_evals(bt.n // 50 + 1)  # the out-of-order model costs more
        sc = score(bt, cand, model)
        key = objective_key(sc, objective)
        used += 1
        stale += 1
        if key < best_key:
            stale = 0
        if key <= best_key:
            best, best_score, best_key = cand, sc, key
    return best, best_score, used
