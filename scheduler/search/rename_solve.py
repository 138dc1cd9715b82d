"""CP-SAT with register renaming for one block (or window): solutions made into candidates."""

from __future__ import annotations

from dataclasses import replace

from scheduler.core.clock import Deadline
from scheduler.machine.evaluate import BlockTiming
from scheduler.machine.model import Model
from scheduler.search import fixup
from scheduler.search.candidates import Candidate, fixed_candidate
from scheduler.search.rename import (
    ColouringFailed,
    UnpredictableRewrite,
    add_register_constraints,
    analyse,
    colour,
    emission_order,
    renaming_edges,
    rewrite,
)
from scheduler.search.solve import solve

MAX_RENAMED = 8  # candidates taken from one renaming solve
ATTEMPTS = 4  # solves, each holding one more register back when no solution could be coloured


def rename_candidates(instrs, bt: BlockTiming, model: Model, opts, live_out, hint_issue, horizon,
                      deadline: Deadline, notes: list[str], fixups: fixup.FixupProblem,
                      movable: frozenset[str] = frozenset(), boundary=None):
    """CP-SAT with renaming until `deadline`; every solution that can be coloured becomes a
    candidate. When no solution can be coloured (registers handed over inside one cycle need an
    order that does not exist), hold one more register back from the model and retry."""
    prob = analyse(instrs, live_out, opts.reserve, movable)
    gap = fixup.gap_function(instrs, model)
    if fixups:
        fixup.prepare_renaming(prob, fixups)
    raw, order = renaming_edges(bt, prob)
    if fixups:
        raw, order = fixup.relax_edges(raw, order, fixups, gap)
    rbt = replace(bt, raw=raw, order=order)

    def extra(m, issue):
        add_register_constraints(m, issue, prob, horizon)
        if fixups:
            fixup.add_constraints(m, issue, fixups, gap)

    out: list[Candidate]
    out, res, seconds = [], None, 0.0
    proven: int | None = None  # bound of an attempt with nothing held back (valid for every schedule)
    for attempt in range(ATTEMPTS):
        left = deadline.left()
        if left < 0.2:
            break
        attempt_deadline = Deadline.after(deadline.clock, left / (2 if attempt < ATTEMPTS - 1 else 1))
        res = solve(rbt, model, hint_issue, horizon, attempt_deadline,
                    workers=opts.workers, seed=opts.seed, extra=extra, boundary=boundary)
        seconds += res.seconds
        if not any(prob.margin.values()) and res.bound is not None:
            proven = max(proven or 0, res.bound)
        failed, best_coloured = _colour_solutions(instrs, prob, res, horizon, order, raw, fixups, out)
        # stop once the solver's best schedule got registers; when only worse ones did (the
        # best needs a hand-over inside one cycle that no order allows), hold a register back
        # and solve again: the renamed schedule that exists should not be lost to colouring
        if best_coloured or not failed:
            break
        for cls in failed:
            prob.margin[cls] = prob.margin.get(cls, 0) + 1
    if res is not None and res.issues and not out:
        notes.append("renaming: no solution could be given registers; reorder-only schedule used")
    if res is not None:
        res.seconds = seconds
        if any(prob.margin.values()):
            res.bound = proven  # a restricted model's bound does not hold for the whole problem
            if res.status == "OPTIMAL":
                res.status = "FEASIBLE"
    return out, res


def _colour_solutions(instrs, prob, res, horizon, order, raw, fixups, out: list) -> tuple[set[str], bool]:
    """Give registers to the best solutions (best first) and append them to `out`; returns
    the register classes that could not be coloured and whether the best solution was."""
    failed: set[str] = set()
    best_coloured = False
    for n, issue in enumerate(reversed(res.issues[-20:])):
        try:
            alloc = colour(prob, issue, horizon, order)
        except ColouringFailed as e:
            failed.add(e.cls)
            continue
        order_ = emission_order(issue, prob, alloc, order, raw)
        if order_ is None:
            continue
        try:
            body = rewrite(instrs, prob, alloc)
        except UnpredictableRewrite:
            continue  # (never expected: the colouring keeps `prob.apart` values apart)
        best_coloured = best_coloured or n == 0
        out.append(fixed_candidate(body, fixups, issue, order_, renamed=True))
        if len(out) >= MAX_RENAMED:
            break
    return failed, best_coloured
