"""The stages of the block optimiser, in the order the pipeline runs them (scheduler/search/pipeline.py).

Each stage has one job: it reads the problem and the state, adds candidate orders or
schedules, a proven bound and notes, and reports progress. Budgets come from
each `Stage`'s budget; the final checks are not search stages (scheduler/search/optimize.py
runs and records them).
"""

from __future__ import annotations

import random

from scheduler.core.clock import Deadline, stop_requested
from scheduler.frontend.dag import is_valid_order
from scheduler.machine.bounds import true_dependencies
from scheduler.machine.evaluate import inorder
from scheduler.search import fixup
from scheduler.search.candidates import Candidate
from scheduler.search.decompose import decompose
from scheduler.search.listsched import list_schedule
from scheduler.search.localsearch import Score, local_search, objective_key, score
from scheduler.search.overlap import overlap_search
from scheduler.search.pipeline import BlockProblem, Pick, SearchState, Stage, solve_share
from scheduler.search.regsched import VARIANTS as REGSCHED_VARIANTS
from scheduler.search.regsched import reschedule
from scheduler.search.rename_solve import rename_candidates
from scheduler.search.solve import add_flag_exclusion, solve
from scheduler.search.window import improve_by_windows

WINDOW_FROM = 250  # from this many instructions, rename window by window (the whole-block model stalls)
RENAME_WINDOW_SIZES = (120, 160, 90)  # renaming windows per round: sizes vary, so do the cuts
REGSCHED_COST = 1e-3  # deterministic work units per instruction and variant (about its wall time)
DECOMPOSE_FROM = 600  # from this many, window passes also refine the whole-block reordering
# time thresholds inside stages (seconds, or work units), beside their Stage budgets below
DIVERSITY_MIN_SOLVE = 0.3  # a diversity solve needs this much of the block's time left
RENAME_ROUND_FROM = 2.0  # another round of renaming windows needs this much of the stage's time
REGSCHED_ROUND_FROM = 10.0  # and a register-aware list-scheduling round first, this much


def warm_start(p: BlockProblem, s: SearchState) -> None:
    """A list schedule: the solver's hint and the fallback."""
    ls = list_schedule(p.bt, p.model)
    ls_in = inorder(p.bt, ls, p.model)
    s.hint_res, s.hint_order = (ls_in, ls) if ls_in.cycles < p.before_in.cycles else (p.before_in, p.ident)
    s.orders = [p.ident, ls, s.hint_order]
    s.best_in = s.hint_res.cycles
    p.report(best=s.hint_res.cycles, bound=p.bounds.best)


def reorder(p: BlockProblem, s: SearchState) -> None:
    """CP-SAT on the in-order model over the whole block, reordering only."""
    assert s.hint_res is not None  # set by warm_start
    res = solve(p.relaxed_timing, p.model, s.hint_res.issue, s.hint_res.cycles, p.stage_deadline("reorder", s),
                workers=p.opts.workers, seed=p.opts.seed, extra=p.fixup_constraints,
                on_progress=lambda best, bnd, el: p.report(best=best, bound=max(bnd, p.bounds.best)))
    s.res = res
    s.solve_time += res.seconds
    if res.order is None:
        s.notes.append("solver found no solution within its time: using the best known order")
        return
    assert res.makespan is not None  # a solution has its makespan
    # (issue is None only for an empty block, solve's shortcut: kept as it was)
    s.issues += res.issues + [res.issue]  # type: ignore[list-item]
    s.best_in = min(res.makespan, s.hint_res.cycles)
    # with renaming allowed, the reorder-only solver's bound and optimum are not bounds of
    # the problem: a renamed schedule may beat them (they only count without renaming)
    s.claimed, s.proven = res.makespan, (res.bound if not p.opts.rename else None)
    if p.opts.rename and res.status == "OPTIMAL":
        s.notes.append(f"reorder-only optimum {res.makespan} (proven; renaming may beat it)")


def windows(p: BlockProblem, s: SearchState) -> None:
    """Large blocks: window passes over the best order (scheduler/search/decompose.py)."""
    res = s.res
    assert s.hint_res is not None  # set by warm_start
    start_order = s.hint_order
    if res.order is not None:
        assert res.makespan is not None  # a solution has its makespan
        if res.makespan <= s.hint_res.cycles and is_valid_order(p.bt.dag, res.order):
            start_order = res.order
    t0 = p.clock.now()
    dec = decompose(p.bt, p.model, start_order, p.stage_deadline("windows", s),
                    workers=p.opts.workers, seed=p.opts.seed,
                    on_progress=lambda info: p.report(bound=p.bounds.best, **info))
    s.solve_time += p.clock.now() - t0
    s.orders.append(dec.order)
    s.notes.append(f"decomposition: {dec.passes} pass(es), {dec.windows} windows, in-order {dec.cycles}")
    if dec.cycles < s.best_in:
        s.best_in, s.claimed, s.proven = dec.cycles, dec.cycles, None


def diversity(p: BlockProblem, s: SearchState) -> None:
    """More orders with the same in-order cycles: solves that pull random instructions early."""
    s.target = int(s.best_in * (1 + p.opts.slack))
    res = s.res
    if res.order is None or p.bt.n <= 1:
        return
    assert res.issue is not None  # a solution of a non-empty block has its issue cycles
    for k in range(p.opts.diversity_solves if not p.decomposing else 0):
        if p.deadline.left() < DIVERSITY_MIN_SOLVE:
            break
        deadline = p.stage_deadline("diversity", s)
        weights = [s.rng.choice((0, 1, 1, 2, 5)) for _ in range(p.bt.n)]
        extra = solve(p.relaxed_timing, p.model, res.issue, s.target, deadline, workers=p.opts.workers,
                      seed=p.opts.seed + k + 1, makespan_cap=s.target, secondary=weights, extra=p.fixup_constraints)
        s.solve_time += extra.seconds
        if extra.order is not None:
            assert extra.issue is not None  # as above
            s.issues += extra.issues + [extra.issue]


def relaxed_bound(p: BlockProblem, s: SearchState) -> None:
    """With renaming, a bound that holds for every renamed schedule: CP-SAT's proven bound of the
    in-order problem with only true dependencies (no register limit), flags kept exclusive."""
    true_deps = true_dependencies(p.relaxed_timing)

    def extra(m, issue):
        if p.fixup_constraints:
            p.fixup_constraints(m, issue)
        assert s.hint_res is not None  # set by warm_start
        add_flag_exclusion(m, issue, true_deps, s.hint_res.cycles)

    assert s.hint_res is not None  # set by warm_start
    rel = solve(true_deps, p.model, s.hint_res.issue, s.hint_res.cycles, p.stage_deadline("relaxed-bound", s),
                workers=p.opts.workers, seed=p.opts.seed, extra=extra)
    s.solve_time += rel.seconds
    s.relaxed_bound = rel.bound or 0


def rename(p: BlockProblem, s: SearchState) -> None:
    """CP-SAT with register renaming over the whole block: removes false (WAR/WAW) dependencies."""
    res = s.res
    assert s.hint_res is not None  # set by warm_start
    hint_issue, horizon = (res.issue, res.makespan) if res.order is not None else (s.hint_res.issue,
                                                                                  s.hint_res.cycles)
    rprob = fixup.analyse(p.instrs, p.bt.dag, renaming=True) if p.opts.fixup else fixup.FixupProblem()
    renamed, rename_result = rename_candidates(p.instrs, p.bt, p.model, p.opts, p.live_out, hint_issue, horizon,
                                      p.stage_deadline("rename", s), s.notes, rprob, p.movable)
    s.solve_time += rename_result.seconds if rename_result else 0.0
    s.renamed += renamed
    if rename_result is not None and rename_result.bound is not None:
        # the renaming model relaxes every renamed schedule (a bound only without held-back registers)
        s.proven = max(s.proven or 0, rename_result.bound)
    if renamed and rename_result is not None and rename_result.makespan is not None:
        s.claimed = rename_result.makespan


def judge(p: BlockProblem, s: SearchState) -> None:
    """The out-of-order evaluator picks among the candidates no worse than the input under
    either model and within the in-order target."""
    scored = [s.scored(c, p) for c in s.candidates(p)]
    base = p.base_score
    scored = [x for x in scored if x[2].inorder <= base.inorder and x[2].ooo <= base.ooo] or [
        (Candidate(p.instrs, p.ident), p.bt, base)]
    if p.opts.objective == "inorder":
        best_in = min(sc.inorder for _, _, sc in scored)
        s.target = int(best_in * (1 + p.opts.slack))
    else:  # out of order: any candidate no slower in-order than the input may win
        s.target = base.inorder
    within = [x for x in scored if x[2].inorder <= s.target]
    s.pick = Pick(*min(within, key=lambda x: objective_key(x[2], p.opts.objective)))


def better(p: BlockProblem, s: SearchState, new: Score, cur: Score, sideways: bool = False) -> bool:
    """Whether a schedule scoring `new` replaces the current one. In-order objective: the
    judge's rule, lexicographic (in-order cycles, then OoO) among schedules no slower out of
    order than the input (`sideways`: in-order no worse and OoO no worse is enough).
    Out-of-order objectives: better under the objective, in-order within the target."""
    if p.opts.objective == "inorder":
        if new.ooo > p.base_score.ooo or new.inorder > cur.inorder:
            return False
        return new.ooo <= cur.ooo if sideways else (new.inorder, new.ooo) < (cur.inorder, cur.ooo)
    key = objective_key(new, p.opts.objective), objective_key(cur, p.opts.objective)
    return new.inorder <= s.target and (key[0] <= key[1] if sideways else key[0] < key[1])


def _regsched_round(p: BlockProblem, s: SearchState, rounds: int, from_input: bool = False) -> bool:
    """Long-range moves the windows cannot make: the register-aware list scheduler over the
    whole block, from the current schedule (scheduler/search/regsched.py) and, with `from_input`,
    from the order as written. True if one was adopted."""
    pick = s.picked
    cand, sc = pick.candidate, pick.score
    p.report(best=sc.inorder, bound=p.bounds.best, round=rounds + 1)
    adopted = False
    # a hand order keeps the author's grouping of carry chains: often a better base than the
    # solver's (p256_montsqr_neon: in-order 82 from the input, 109 from the reorder optimum)
    bases = [cand] + ([Candidate(p.instrs, p.ident)] if from_input and cand.origin != p.ident else [])
    tries: list[Candidate] = []
    def time_up() -> bool:
        return p.deadline.left() <= 0

    for base in bases:
        if tries and time_up():
            break
        got = reschedule(base.instrs, p.model, p.live_out, p.opts.reserve, p.opts.alias, time_up=time_up)
        p.clock.charge(REGSCHED_COST * len(base.instrs) * len(REGSCHED_VARIANTS))
        tries += [Candidate(body, [base.origin[k] for k in src], True, base.fixed) for body, src in got]
    for c in tries:
        _, new_timing, new_score = s.scored(c, p)
        if better(p, s, new_score, pick.score):
            pick.adopt(c, new_timing, new_score)
            pick.listed += 1
            adopted = True
    return adopted


def _reorder_renamed(p: BlockProblem, s: SearchState, w_deadline: Deadline) -> bool:
    """Window passes of reordering over the renamed code, whose false dependencies are fewer."""
    pick = s.picked
    cand, chosen_timing, sc = pick.candidate, pick.timing, pick.score
    left = w_deadline.left()
    dec = decompose(chosen_timing, p.model, list(range(chosen_timing.n)), Deadline.after(p.clock, left * 0.4),
                    workers=p.opts.workers, seed=p.opts.seed,
                    on_progress=lambda info: p.report(bound=p.bounds.best, **info))
    if not dec.improved or not better(p, s, score(chosen_timing, dec.order, p.model), sc, sideways=True):
        return False
    c = Candidate([cand.instrs[k] for k in dec.order], [cand.origin[k] for k in dec.order], cand.renamed, cand.fixed)
    pick.adopt(*s.scored(c, p))
    pick.moved += 1
    return True


def rename_windows(p: BlockProblem, s: SearchState) -> None:
    """Large blocks: rounds of renaming windows over the chosen schedule (and register-aware
    list scheduling, and reordering passes over the renamed code) while a round gains."""
    w_deadline = p.stage_deadline("rename-windows", s)
    t0 = p.clock.now()
    total, rounds, idle = 0, 0, 0
    large = p.bt.n >= WINDOW_FROM
    pick = s.picked
    listed_before = pick.listed
    accept = None if p.opts.objective == "inorder" else (lambda new, cur: better(p, s, new, cur))
    while True:
        listed = (large and not p.movable and w_deadline.left() > REGSCHED_ROUND_FROM and _regsched_round(p, s, rounds))
        cand = pick.candidate
        size = RENAME_WINDOW_SIZES[rounds % len(RENAME_WINDOW_SIZES)]
        if not large:  # small blocks (out-of-order objectives): windows of about half the block
            size = max(24, min(size, p.bt.n * 2 // 3))
        w_instrs, w_origin, accepted = improve_by_windows(
            cand.instrs, cand.origin, p.model, p.opts, p.live_out, w_deadline, size=size, step=size // 2,
            offset=30 * rounds, accept=accept,
            on_window=lambda info, r=rounds: p.report(bound=p.bounds.best, round=r + 1, **info))
        rounds += 1
        if accepted:
            total += accepted
            pick.adopt(*s.scored(Candidate(w_instrs, w_origin, True, True), p))
        if w_deadline.left() < RENAME_ROUND_FROM or stop_requested():
            break
        gained = p.decomposing and _reorder_renamed(p, s, w_deadline)
        idle = 0 if (accepted or gained or listed) else idle + 1
        if idle >= 2 or (p.decomposing and w_deadline.left() < RENAME_ROUND_FROM):
            break  # two rounds without a gain
    s.solve_time += p.clock.now() - t0
    _rename_window_notes(s, total, rounds, pick.listed - listed_before)


def _rename_window_notes(s: SearchState, total: int, rounds: int, listed: int) -> None:
    if listed:
        s.notes.append(f"register-aware list scheduling: {listed} schedule(s) adopted")
    pick = s.picked
    if total or pick.moved or listed:
        s.notes.append(f"renamed in windows: {total} window(s) improved"
                       + (f"; {pick.moved} reordering pass(es) over the renamed code, {rounds} round(s)"
                          if pick.moved else ""))
        s.claimed, s.proven = pick.score.inorder, None


def regsched(p: BlockProblem, s: SearchState) -> None:
    """Renamed schedules under any budget: the register-aware list scheduler from the judge's
    pick (cheap; the CP-SAT renaming may find none in a short time)."""
    _regsched_round(p, s, 0, from_input=True)
    if s.picked.listed:
        s.notes.append(f"register-aware list scheduling: {s.picked.listed} schedule(s) adopted")


def polish(p: BlockProblem, s: SearchState) -> None:
    """Local search: single-instruction moves judged by the out-of-order evaluator."""
    pick = s.picked
    cand, chosen_timing, sc = pick.candidate, pick.timing, pick.score
    p.report(best=sc.inorder, bound=s.bound(p), ooo=sc.ooo)
    deadline = Deadline(p.clock, max(p.deadline.at, p.clock.now() + p.allowance("local-search", s)))
    lorder, sc, used = local_search(chosen_timing, p.model, list(range(chosen_timing.n)), s.target, s.rng,
                                    p.opts.search_evaluations, deadline=deadline,
                                    objective=p.opts.objective)
    s.evaluations += used
    pick.final = Candidate([cand.instrs[k] for k in lorder], [cand.origin[k] for k in lorder], cand.renamed,
                           cand.fixed)
    pick.candidate, pick.score = pick.final, sc  # (the same instructions: the timing stands)


OVERLAP_FROM = 150  # from this many instructions (small blocks: the local search is enough)
OVERLAP_EVALS_PER_INSTR = 2.0  # at most this many scored candidates per instruction


def overlap(p: BlockProblem, s: SearchState) -> None:
    """Large-neighbourhood moves aimed at the overlap of back-to-back runs
    (scheduler/search/overlap.py): hoist chain heads, sink chain tails, move blocks, cross
    the tail/head boundary; scored by the objective, in-order cycles within the target."""
    pick = s.picked
    cand, chosen_timing, sc = pick.candidate, pick.timing, pick.score
    p.report(best=sc.inorder, bound=s.bound(p), ooo=sc.ooo)
    deadline = p.stage_deadline("overlap", s)
    # its own generator: the stages after it draw the same numbers whether it ran or not
    rng = random.Random(p.opts.seed * 104729 + p.index)
    order, osc, used = overlap_search(chosen_timing, p.model, list(range(chosen_timing.n)),
                                      max(s.target, sc.inorder), rng,
                                      int(OVERLAP_EVALS_PER_INSTR * chosen_timing.n), deadline,
                                      objective=p.opts.objective)
    s.evaluations += used
    if objective_key(osc, p.opts.objective) < objective_key(sc, p.opts.objective):
        s.notes.append(f"overlap moves: steady state {sc.ooo:g} -> {osc.ooo:g} ({used} evaluations)")
        c = Candidate([cand.instrs[k] for k in order], [cand.origin[k] for k in order], cand.renamed, cand.fixed)
        pick.adopt(c, s.scored(c, p)[1], osc)


def _small_renaming(p: BlockProblem) -> bool:
    return p.opts.rename and 1 < p.bt.n < WINDOW_FROM


STAGES = [
    Stage("list", warm_start),
    Stage("reorder", reorder, applies=lambda p: p.whole, builds_cpsat=True,
          budget=lambda p, s, left: max(0.2, p.budget * solve_share(p))),
    Stage("windows", windows, applies=lambda p: p.decomposing and p.bt.n > 1, builds_cpsat=True,
          budget=lambda p, s, left: max(0.5, p.budget * solve_share(p))),
    Stage("relaxed-bound", relaxed_bound, applies=lambda p: p.opts.rename and p.bt.n > 1 and not p.decomposing,
          builds_cpsat=True,
          budget=lambda p, s, left: min(5.0, max(0.3, p.budget * 0.05))),
    # renaming first, most of what is left: on hand-allocated code it is where the gains are
    Stage("rename", rename, applies=_small_renaming, optional=True, builds_cpsat=True,
          budget=lambda p, s, left: max(0.3, left * 0.6)),
    # per extra solve: short, these only add variety once the first solve found its optimum
    Stage("diversity", diversity, optional=True, builds_cpsat=True,
          budget=lambda p, s, left: min(left * 0.1, max(0.3, 2 * s.res.seconds))),
    Stage("judge", judge),
    # cheap (charged per instruction): no budget of its own
    Stage("regsched", regsched, after_judge=True, optional=True,
          applies=lambda p: _small_renaming(p) and not p.movable),
    # large blocks always; small ones when the objective is out of order (large-neighbourhood
    # search: CP-SAT re-solves windows, the out-of-order evaluator decides)
    Stage("rename-windows", rename_windows, optional=True, after_judge=True, applies=lambda p: p.opts.rename and (
        p.bt.n >= WINDOW_FROM or (p.opts.objective != "inorder" and p.bt.n >= 24)),
        budget=lambda p, s, left: max(1.0, left * 0.8)),
    # out-of-order objectives on large blocks: moves aimed at back-to-back overlap, half of
    # what is left (it also stops by evaluations)
    Stage("overlap", overlap, optional=True, after_judge=True,
          applies=lambda p: p.opts.objective != "inorder" and p.bt.n >= OVERLAP_FROM,
          budget=lambda p, s, left: max(0.5, left * 0.5)),
    # at least this, else until the deadline
    Stage("local-search", polish, after_judge=True, budget=lambda p, s, left: 0.5),
]
