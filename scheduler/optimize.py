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
from dataclasses import dataclass, field, replace

from . import fixup
from .bounds import lower_bounds, ooo_bound, true_dependencies
from .certificate import check_block
from .clock import WALL, Clock, stop_requested
from .dag import is_valid_order
from .decompose import decompose
from .evaluate import BlockTiming, inorder, out_of_order, prepare
from .ir import Block, Instruction, Program
from .listsched import list_schedule
from .model import Model
from .regsched import VARIANTS as REGSCHED_VARIANTS
from .regsched import reschedule
from .rename import (
    DEFAULT_RESERVED,
    ColouringFailed,
    add_register_constraints,
    analyse,
    colour,
    emission_order,
    register_map,
    renaming_edges,
    rewrite,
)
from .search import Score, local_search, score
from .solve import SolveResult, add_flag_exclusion, order_from_issue, solve
from .verify import verify
from .window import improve_by_windows


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
    rename: bool = True  # register renaming inside the CP-SAT model
    reserve: frozenset[str] = DEFAULT_RESERVED  # registers never handed out by renaming
    outputs: frozenset[str] = frozenset()  # registers live after every block (--outputs)
    fixup: bool = True  # loads/stores may cross updates of their base register (offset adjusted)
    rename_outputs: bool = False  # declared outputs may end in other registers (recorded in output_map)
    decompose: str = "auto"  # window passes: "auto" (blocks of DECOMPOSE_FROM+), "always", "never"
    deterministic: bool = False  # time limits in CP-SAT deterministic time, one worker: repeatable runs
    prove: bool = False  # also prove each block by symbolic execution (scheduler/prove.py) before writing


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
    instructions_after: list[Instruction] = field(default_factory=list, repr=False)
    proved: bool = False  # equivalent for all inputs (certificate.check_block, and with --prove symbolically)
    proof: str = "certificate"  # how: "certificate", or the symbolic prover's method with --prove
    renamed: bool = False  # registers were re-assigned
    register_map: list[dict[str, str]] = field(default_factory=list)  # per output instruction
    offset_fixups: list[dict] = field(default_factory=list)  # accesses moved across base updates
    output_map: dict[str, str] = field(default_factory=dict)  # outputs now in other registers
    live_out: list[str] = field(default_factory=list)
    candidates: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return self.cycles_after / self.lower_bound - 1 if self.lower_bound else 0.0


class VerificationFailed(Exception):
    """A schedule failed an independent check: nothing may be written."""


class ProofUnknown(VerificationFailed):
    """`--prove`: the symbolic prover could neither prove nor refute a block (time limit)."""


WINDOW_FROM = 250  # from this many instructions, rename window by window (the whole-block model stalls)
RENAME_WINDOW_SIZES = (120, 160, 90)  # renaming windows per round: sizes vary, so do the cuts
REGSCHED_COST = 1e-3  # deterministic work units per instruction and variant (about its wall time)
DECOMPOSE_FROM = 600  # from this many, window passes also refine the whole-block reordering
DEBUG = bool(__import__("os").environ.get("SCHEDULER_DEBUG"))
ProgressFn = Callable[[int, str, dict], None]


@dataclass
class Candidate:
    """A block's instructions in program order, each with the index of its original."""

    instrs: list[Instruction]
    origin: list[int]
    renamed: bool = False
    fixed: bool = False  # some memory offsets were adjusted (fixup)


def _fixed_candidate(instrs, fprob: fixup.FixupProblem, issue, order: list[int] | None = None,
                     renamed: bool = False) -> Candidate:
    """The schedule of a solution's issue cycles (emitted in `order`, by default by cycle),
    with the offsets its order needs."""
    offsets = fixup.decide(issue, fprob) if fprob else {}
    body = fixup.apply(instrs, offsets)
    order = order_from_issue(issue) if order is None else order
    return Candidate([body[k] for k in order], order, renamed, bool(offsets))


def _score(c: Candidate, model: Model, noalias) -> tuple[Candidate, BlockTiming, Score]:
    bt = prepare(c.instrs, model, noalias)
    return c, bt, score(bt, list(range(bt.n)), model)


def _rename_candidates(instrs, bt: BlockTiming, model: Model, opts: Options, live_out, hint_issue, horizon,
                       limit: float, notes: list[str], fprob: fixup.FixupProblem,
                       movable: frozenset[str] = frozenset(), clock: Clock = WALL, boundary=None):
    """CP-SAT with renaming; every solution that can be coloured becomes a candidate.
    When no solution can be coloured (registers handed over inside one cycle need an
    order that does not exist), hold one more register back from the model and retry."""
    prob = analyse(instrs, live_out, opts.reserve, movable)
    gap = fixup.gap_function(instrs, model)
    if fprob:
        fixup.prepare_renaming(prob, fprob)
    raw, order = renaming_edges(bt, prob)
    if fprob:
        raw, order = fixup.relax_edges(raw, order, fprob, gap)
    rbt = replace(bt, raw=raw, order=order)

    def extra(m, issue):
        add_register_constraints(m, issue, prob, horizon)
        if fprob:
            fixup.add_constraints(m, issue, fprob, gap)

    deadline = clock.now() + limit
    out, res, seconds = [], None, 0.0
    for attempt in range(4):
        left = clock.left(deadline)
        if left < 0.2:
            break
        res = solve(rbt, model, hint_issue, horizon, time_limit=left / (2 if attempt < 3 else 1),
                    workers=opts.workers, seed=opts.seed, extra=extra, clock=clock, boundary=boundary)
        seconds += res.seconds
        failed: set[str] = set()
        for issue in reversed(res.issues[-20:]):  # the best solutions, best first
            try:
                alloc = colour(prob, issue, horizon, order)
            except ColouringFailed as e:
                failed.add(e.cls)
                continue
            order_ = emission_order(issue, prob, alloc, order, raw)
            if order_ is None:
                continue
            out.append(_fixed_candidate(rewrite(instrs, prob, alloc), fprob, issue, order_, renamed=True))
            if len(out) >= 8:
                break
        if out or not failed:
            break
        # hold a register back: the model becomes a restriction, so its bound no longer holds
        for cls in failed:
            prob.margin[cls] = prob.margin.get(cls, 0) + 1
    if res is not None and res.issues and not out:
        notes.append("renaming: no solution could be given registers; reorder-only schedule used")
    if res is not None:
        res.seconds = seconds
        if any(prob.margin.values()):
            res.bound = None  # not a lower bound of the unrestricted problem
            if res.status == "OPTIMAL":
                res.status = "FEASIBLE"
    return out, res


def optimize_block(block_index: int, instrs, model: Model, opts: Options, budget: float,
                   progress: ProgressFn | None = None, live_out: frozenset[str] = frozenset(),
                   movable: frozenset[str] = frozenset(), clock: Clock = WALL) -> BlockResult:
    """`movable`: outputs renaming may move to another register (`--rename-outputs`).
    `budget`: seconds (or deterministic work units) on `clock` for this block."""
    start = clock.now()
    wall_start = time.monotonic()
    deadline = start + budget
    rng = random.Random(opts.seed * 7919 + block_index)
    instrs = list(instrs)
    bt = prepare(instrs, model, opts.noalias)
    ident = list(range(bt.n))
    before_in = inorder(bt, ident, model)
    before_ooo = out_of_order(bt, ident, model)
    # offset fixups relax the register edges between accesses and their base updates
    fprob = fixup.analyse(instrs, bt.dag) if opts.fixup else fixup.FixupProblem()
    fextra, sbt = None, bt
    if fprob:
        gap = fixup.gap_function(instrs, model)
        sbt = replace(bt, **dict(zip(("raw", "order"), fixup.relax_edges(bt.raw, bt.order, fprob, gap),
                                     strict=True)))

        def fextra(m, issue):
            fixup.add_constraints(m, issue, fprob, gap)
    # with renaming only true dependencies bind: the bound must hold for renamed schedules too
    bounds = lower_bounds(true_dependencies(sbt) if opts.rename else sbt, model)
    notes: list[str] = []

    def report(stage: str, **kw) -> None:
        if progress:
            progress(block_index, stage, kw)

    # 2. warm start
    ls = list_schedule(bt, model)
    ls_in = inorder(bt, ls, model)
    hint_res, hint_order = (ls_in, ls) if ls_in.cycles < before_in.cycles else (before_in, ident)
    report("list", best=hint_res.cycles, bound=bounds.best)

    # 3. CP-SAT on the in-order model, reordering only: the whole block, then (large blocks)
    # window passes over the best order (scheduler/decompose.py)
    decomposing = opts.decompose == "always" or (opts.decompose == "auto" and bt.n >= DECOMPOSE_FROM)
    whole = opts.decompose != "always"
    share = (0.25 if opts.rename else 0.5) * (0.5 if decomposing else 1.0)
    if whole:
        res = solve(sbt, model, hint_res.issue, hint_res.cycles, time_limit=max(0.2, budget * share),
                    workers=opts.workers, seed=opts.seed, extra=fextra, clock=clock,
                    on_progress=lambda best, bnd, el: report("solve", best=best, bound=max(bnd, bounds.best)))
    else:
        res = SolveResult("UNKNOWN", None, 0, None, 0.0)
    orders: list[list[int]] = [ident, ls, hint_order]
    issues: list[list[int]] = []  # solver solutions: with fixups, the order alone is not the schedule
    solve_time = res.seconds
    if res.order is not None:
        issues += res.issues + [res.issue]
        best_in = min(res.makespan, hint_res.cycles)
        status = "OPTIMAL" if res.status == "OPTIMAL" and not opts.rename else "FEASIBLE"
        # with renaming allowed, the reorder-only solver's bound and optimum are not bounds of
        # the problem: a renamed schedule may beat them (they only count without renaming)
        claimed, proven = res.makespan, (res.bound if not opts.rename else None)
        if opts.rename and res.status == "OPTIMAL":
            notes.append(f"reorder-only optimum {res.makespan} (proven; renaming may beat it)")
    else:
        best_in, status, claimed, proven = hint_res.cycles, "FALLBACK", None, None
        if whole:
            notes.append("solver found no solution within its time: using the best known order")
    if decomposing and bt.n > 1:
        solved = res.order is not None and res.makespan <= hint_res.cycles and is_valid_order(bt.dag, res.order)
        start_order = res.order if solved else hint_order
        t0 = clock.now()
        dec = decompose(bt, model, start_order, clock.now() + max(0.5, budget * share), clock,
                        workers=opts.workers, seed=opts.seed,
                        on_progress=lambda info: report("windows", bound=bounds.best, **info))
        solve_time += clock.now() - t0
        orders.append(dec.order)
        notes.append(f"decomposition: {dec.passes} pass(es), {dec.windows} windows, "
                     f"in-order {dec.cycles}")
        if dec.cycles < best_in:
            best_in, status, claimed, proven = dec.cycles, "FEASIBLE", dec.cycles, None

    # 3b. more orders with the same in-order cycles
    target = int(best_in * (1 + opts.slack))
    if res.order is not None and bt.n > 1:
        best_issue = res.issue
        for s_ in range(opts.diversity_solves if not decomposing else 0):
            left = clock.left(deadline)
            if left < 0.3:
                break
            # short: these only add variety; the first solve already found the optimum
            limit = min(left * 0.1, max(0.3, 2 * res.seconds))
            weights = [rng.choice((0, 1, 1, 2, 5)) for _ in range(bt.n)]
            extra = solve(sbt, model, best_issue, target, time_limit=limit, workers=opts.workers,
                          seed=opts.seed + s_ + 1, makespan_cap=target, secondary=weights, extra=fextra,
                          clock=clock)
            solve_time += extra.seconds
            if extra.order is not None:
                issues += extra.issues + [extra.issue]
    candidates = [Candidate([instrs[k] for k in o], list(o)) for o in _unique(orders)]
    candidates += _unique_candidates(_fixed_candidate(instrs, fprob, i) for i in issues)

    # 3b'. with renaming, a bound that holds for every renamed schedule: the in-order problem
    # with only true dependencies (no register limit) — CP-SAT's proven bound on it
    relaxed_bound = 0
    if opts.rename and bt.n > 1 and not decomposing:
        tbt = true_dependencies(sbt)

        def rextra(m, issue):
            if fextra:
                fextra(m, issue)
            add_flag_exclusion(m, issue, tbt, hint_res.cycles)

        rel = solve(tbt, model, hint_res.issue, hint_res.cycles, time_limit=min(5.0, max(0.3, budget * 0.05)),
                    workers=opts.workers, seed=opts.seed, extra=rextra, clock=clock)
        solve_time += rel.seconds
        relaxed_bound = rel.bound or 0

    # 3c. with register renaming: removes false (WAR/WAW) dependencies; large blocks are
    # renamed window by window after the judge has picked a schedule (step 4b)
    if opts.rename and 1 < bt.n < WINDOW_FROM:
        hint_issue, horizon = (res.issue, res.makespan) if res.order is not None else (hint_res.issue,
                                                                                      hint_res.cycles)
        left = max(0.3, clock.left(deadline) * 0.5)
        rprob = fixup.analyse(instrs, bt.dag, renaming=True) if opts.fixup else fixup.FixupProblem()
        renamed, rres = _rename_candidates(instrs, bt, model, opts, live_out, hint_issue, horizon, left, notes,
                                           rprob, movable, clock)
        solve_time += rres.seconds if rres else 0.0
        candidates += renamed
        if rres is not None and rres.bound is not None:
            # the renaming model relaxes every renamed schedule (a bound only without held-back registers)
            proven = max(proven or 0, rres.bound)
        if renamed and rres is not None and rres.makespan is not None:
            claimed = rres.makespan

    # 4. the out-of-order judge among candidates no worse than the input under either model and
    # within the in-order target, then local search
    scored = [_score(c, model, opts.noalias) for c in candidates]
    base_score = score(bt, ident, model)
    scored = [x for x in scored if x[2].inorder <= base_score.inorder and x[2].ooo <= base_score.ooo] or [
        (Candidate(instrs, ident), bt, base_score)]
    if DEBUG:
        for c, _, sc_ in scored:
            print("candidate", "renamed" if c.renamed else "reorder", sc_)
    best_in = min(s.inorder for _, _, s in scored)
    target = int(best_in * (1 + opts.slack))
    within = [x for x in scored if x[2].inorder <= target]
    cand, cbt, sc = min(within, key=lambda x: x[2].key)
    # 4b. large blocks: rename in overlapping windows of the chosen schedule
    if opts.rename and bt.n >= WINDOW_FROM:
        # rounds: renaming windows, then (large blocks) reordering windows over the renamed
        # code, whose false dependencies are now fewer; again while a round gains and time is left
        w_deadline = clock.now() + max(1.0, clock.left(deadline) * 0.8)
        t0 = clock.now()
        total, moved, rounds, idle, listed = 0, 0, 0, 0, 0

        def adopt(c: Candidate) -> tuple[Candidate, BlockTiming, Score]:
            candidates.append(c)
            return _score(c, model, opts.noalias)

        while True:
            if not movable and clock.left(w_deadline) > 10.0:
                # long-range moves the windows cannot make: the register-aware list scheduler
                # over the whole block, from the current schedule (scheduler/regsched.py)
                report("regsched", best=sc.inorder, bound=bounds.best, round=rounds + 1)
                before_list, base = listed, cand
                tries = reschedule(base.instrs, model, live_out, opts.reserve, opts.noalias)
                clock.charge(REGSCHED_COST * len(base.instrs) * len(REGSCHED_VARIANTS))
                for body, src in tries:
                    c = Candidate(body, [base.origin[k] for k in src], True, base.fixed)
                    _, nbt, nsc = _score(c, model, opts.noalias)
                    if nsc.inorder <= sc.inorder and nsc.ooo <= sc.ooo and (nsc.inorder, nsc.ooo) < (sc.inorder, sc.ooo):
                        candidates.append(c)
                        cand, cbt, sc = c, nbt, nsc
                        listed += 1
                accepted_list = listed > before_list
            else:
                accepted_list = False
            size = RENAME_WINDOW_SIZES[rounds % len(RENAME_WINDOW_SIZES)]
            w_instrs, w_origin, accepted = improve_by_windows(cand.instrs, cand.origin, model, opts, live_out,
                                                              w_deadline, size=size, step=size // 2,
                                                              clock=clock, offset=30 * rounds,
                                                              on_window=lambda info, r=rounds: report(
                                                                  "rename", bound=bounds.best, round=r + 1, **info))
            rounds += 1
            if accepted:
                total += accepted
                cand, cbt, sc = adopt(Candidate(w_instrs, w_origin, True, True))
            if clock.left(w_deadline) < 2.0 or stop_requested():
                break
            if not decomposing:
                idle = 0 if (accepted or accepted_list) else idle + 1
                if idle >= 2:  # two rounds of window sizes without a gain
                    break
                continue
            left = clock.left(w_deadline)
            dec = decompose(cbt, model, list(range(cbt.n)), clock.now() + left * 0.4, clock,
                            workers=opts.workers, seed=opts.seed,
                            on_progress=lambda info: report("windows", bound=bounds.best, **info))
            gained = False
            if dec.improved:
                dsc = score(cbt, dec.order, model)
                if dsc.ooo <= sc.ooo:
                    cand, cbt, sc = adopt(Candidate([cand.instrs[k] for k in dec.order],
                                                    [cand.origin[k] for k in dec.order], cand.renamed, cand.fixed))
                    moved += 1
                    gained = True
            idle = 0 if (accepted or gained or accepted_list) else idle + 1
            if idle >= 2 or clock.left(w_deadline) < 2.0:
                break
        solve_time += clock.now() - t0
        if listed:
            notes.append(f"register-aware list scheduling: {listed} schedule(s) adopted")
        if total or moved or listed:
            notes.append(f"renamed in windows: {total} window(s) improved"
                         + (f"; {moved} reordering pass(es) over the renamed code, {rounds} round(s)" if moved else ""))
            if status == "OPTIMAL":
                status = "FEASIBLE"  # the reorder-only optimum was improved on: no longer a proof
            claimed, proven = sc.inorder, None
    report("search", best=sc.inorder, bound=max(proven or 0, bounds.best), ooo=sc.ooo)
    lorder, sc, used = local_search(cbt, model, list(range(cbt.n)), target, rng, opts.search_evaluations,
                                    deadline=max(deadline, clock.now() + 0.5), clock=clock)
    final = Candidate([cand.instrs[k] for k in lorder], [cand.origin[k] for k in lorder], cand.renamed, cand.fixed)

    # 5. never worse than the input under either evaluator
    fbt = prepare(final.instrs, model, opts.noalias)
    after_in = inorder(fbt, list(range(fbt.n)), model).cycles
    after_ooo = out_of_order(fbt, list(range(fbt.n)), model)
    if after_in > before_in.cycles or after_ooo.steady > before_ooo.steady:
        notes.append("no order found that is at least as fast under both evaluators: input order kept")
        final, after_in, after_ooo, status = Candidate(instrs, ident), before_in.cycles, before_ooo, "FALLBACK"
    elif (after_in, after_ooo.steady, after_ooo.single) >= (before_in.cycles, before_ooo.steady, before_ooo.single) \
            and final.origin != ident:
        # not faster under any evaluator: keep the input as written (re-optimising an output is a
        # fixed point, and no change is made that gains nothing)
        notes.append("no order faster than the input under either evaluator: input order kept")
        final, after_in, after_ooo = Candidate(instrs, ident), before_in.cycles, before_ooo
    if status == "OPTIMAL" and after_in != claimed:
        status = "FEASIBLE"

    # 6. independent checks: a permutation of the block that computes the same thing
    if sorted(final.origin) != ident:
        raise VerificationFailed(f"block {block_index}: the schedule is not a permutation of the block")
    if not final.renamed and not final.fixed and not is_valid_order(bt.dag, final.origin):
        raise VerificationFailed(f"block {block_index}: the schedule breaks a dependency")
    outputs = None if not final.renamed else sorted(live_out | {"sp"})
    output_map = _output_map(instrs, final, movable) if final.renamed else {}
    check = verify(instrs, final.instrs, trials=opts.verify_trials, seed=opts.seed,
                   noalias=opts.noalias, outputs=outputs, output_map=output_map)
    if not check.equivalent:
        raise VerificationFailed(f"block {block_index}: the schedule is not equivalent "
                                 f"({check.mismatch or check.problems})")
    # and a proof for all inputs: the candidate follows from the original by a permutation and
    # a renaming that preserve every dataflow and memory-order relation (certificate.check_block)
    fixups = fixup.records(instrs, final.origin, final.instrs)
    result_cert = {"inst_map": [k + 1 for k in final.origin], "offset_fixups": fixups, "output_map": output_map,
                   "register_map": register_map([instrs[k] for k in final.origin], final.instrs),
                   "assumptions": {"no_alias": sorted(opts.noalias), "outputs": outputs}}
    violations = check_block(instrs, final.instrs, result_cert)
    if violations:
        raise VerificationFailed(f"block {block_index}: dataflow check failed: {violations[0]}")
    proof = "certificate"
    if opts.prove and not output_map:  # (moved outputs: the certificate is the proof)
        from .prove import prove

        pr = prove(instrs, final.instrs, opts.noalias, outputs)
        if pr.status == "refuted":
            raise VerificationFailed(f"block {block_index}: the prover refutes the schedule: {pr.reason}")
        if pr.status != "proved":
            raise ProofUnknown(f"block {block_index}: not proved: {pr.reason}")
        proof = f"certificate and symbolic ({pr.method})"
    report("done", best=after_in, bound=max(proven or 0, bounds.best, relaxed_bound), ooo=after_ooo.steady)
    # every term holds for every schedule the options allow (renaming and fixups included)
    lower = max(bounds.best, proven or 0, relaxed_bound)
    if status != "FALLBACK":
        status = "OPTIMAL" if after_in <= lower else "FEASIBLE"  # OPTIMAL only when proven
    return BlockResult(
        index=block_index, instructions=bt.n, order=final.origin,
        cycles_before=before_in.cycles, cycles_after=after_in,
        lower_bound=min(lower, after_in),
        bound_reason=bounds.binding if lower == bounds.best else (
            "true dependencies (solver)" if lower == relaxed_bound else "solver"),
        status=status, solve_seconds=round(solve_time, 3), seconds=round(time.monotonic() - wall_start, 3),
        verified=True,
        ooo_cycles_before=before_ooo.steady, ooo_cycles_after=after_ooo.steady,
        ooo_single_before=before_ooo.single, ooo_single_after=after_ooo.single,
        ooo_lower_bound=round(ooo_bound(bt, model), 2),
        solver_cycles=claimed, solver_bound=proven, proved=True, proof=proof,
        instructions_after=final.instrs, renamed=final.renamed,
        register_map=register_map([instrs[k] for k in final.origin], final.instrs) if final.renamed else [],
        offset_fixups=fixups, output_map=output_map, live_out=sorted(live_out), candidates=len(candidates) + used, notes=notes)


def _output_map(instrs, final: Candidate, movable) -> dict[str, str]:
    """Where each movable output's final value ended up (only the ones that moved)."""
    last = {}
    for k, ins in enumerate(instrs):
        for r in ins.writes:
            last[r] = k
    out = {}
    for r in sorted(movable):
        if r in last:
            pos = final.origin.index(last[r])
            new = register_map([instrs[last[r]]], [final.instrs[pos]])[0]["write"].get(r, r)
            if new != r:
                out[r] = new
    return out


def _unique_candidates(cands):
    seen, out = set(), []
    for c in cands:
        key = tuple(str(i) for i in c.instrs)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _unique(orders):
    seen, out = set(), []
    for o in orders:
        if tuple(o) not in seen:
            seen.add(tuple(o))
            out.append(o)
    return out


def live_out_of(program: Program, block: Block, declared: frozenset[str]) -> frozenset[str]:
    """Registers whose value after `block` matters: read anywhere else in the file (a
    conservative stand-in for control flow), declared outputs, and x0 when `ret`
    follows the block (the AAPCS64 result register)."""
    members = {id(i) for i in block.instructions}
    out = set(declared)
    if program.opaque_code:
        # bytes the tool cannot decode may read any register: every value the block leaves counts
        out |= {r for i in block.instructions for r in i.writes}
    for stmt in program.statements:
        if isinstance(stmt, Instruction) and id(stmt) not in members and stmt.mnemonic != "ret":
            out |= stmt.reads
    end = block.start + len(block.instructions)
    nxt = next((s for s in program.statements[end:] if isinstance(s, Instruction)), None)
    if nxt is not None and nxt.mnemonic == "ret":
        out.add("x0")
    return frozenset(out)  # includes nzcv when a later instruction (say `b.ne`) reads the flags


def optimize_program(program: Program, model: Model, opts: Options,
                     progress: ProgressFn | None = None) -> list[BlockResult]:
    blocks = program.blocks()
    results = []
    clock = Clock(opts.deterministic)
    declared = opts.outputs | frozenset(program.outputs)
    for b in blocks:
        left = opts.time_limit - clock.now()
        share = max(0.5, left * len(b.instructions) / max(
            1, sum(len(x.instructions) for x in blocks[b.index:])))
        # an output may move only if nothing else in the file reads it (other blocks would
        # look for it in its old register) and it is not the ABI result register at `ret`
        movable = declared - live_out_of(program, b, frozenset()) if opts.rename_outputs else frozenset()
        if stop_requested():
            share = 0.0  # Ctrl-C: the remaining blocks keep their order (and are still checked)
        results.append(optimize_block(b.index, b.instructions, model, opts, share, progress,
                                      live_out_of(program, b, declared), movable, clock))
    return results
