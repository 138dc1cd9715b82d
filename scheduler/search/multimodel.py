"""One schedule for several cores: `optimize --model a,b,c --objective worst|mean`.

A library ships one binary for every core it runs on, so a schedule that is fastest on one
core and much slower on another is a bad trade. Per block:

  1. each model's own search: the whole stage pipeline (scheduler/search/stages.py) with that model
     and its natural objective (steady-state out-of-order cycles; in-order cycles for an
     in-order core such as the Cortex-A55), on an equal share of the block's budget;
  2. a pool: each run's final and chosen schedule and its best few candidates, plus the input.
     Every schedule of the pool is timed under every model. A model's figure over the best
     figure any schedule of the pool reaches on that model (its "own best", normally its own
     run's result) is its normalised figure, 1.0 = as good as that core's own schedule;
  3. the pool's schedule with the lowest worst (or mean) normalised figure is kept, and a local
     search of single-instruction moves improves that objective with the rest of the budget;
  4. no core may get slower than the input: schedules slower than the input on any model are
     not considered, and the input is kept if nothing beats it under the objective.

The result is checked and proved exactly as a one-model schedule (optimize.check_schedule:
the dependencies, the renaming and the semantics do not depend on the model).

`llvm-mca:CPU` (machine.model.McaModel) is llvm-mca as one of the judges: its figure is
llvm-mca's cycles per iteration over 100 iterations of the schedule's listing, its own search
runs on the model of ours closest to it (CPU's `-llvm` variant), and no schedule slower than
the input under it is kept, as for any core. Each figure is one llvm-mca run (cached per
listing): measured 0.31 s per candidate for a 147-instruction kernel, 0.85 s for 412 and 1.6 s
for 824, against 0.08, 0.10 and 0.28 s for our out-of-order evaluator on the same orders
(docs/model.md section 8), so the joint search sees about 4-6x fewer candidates per second.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from scheduler.core.clock import Clock, Deadline
from scheduler.frontend.dag import build_dag
from scheduler.frontend.ir import Program
from scheduler.machine.evaluate import inorder, out_of_order, prepare, settles_within
from scheduler.machine.mca import mca_cycles_per_iteration
from scheduler.machine.model import McaModel, Model, ModelError
from scheduler.search.candidates import Candidate, candidate_key, unique_candidates
from scheduler.search.localsearch import SEARCH_ITERATIONS, move_search, objective_key
from scheduler.search.optimize import Checked, block_result, check_schedule, for_each_block
from scheduler.search.options import BlockResult, Options, ProofUnknown, VerificationFailed
from scheduler.search.pipeline import (
    SETUP_SECONDS_PER_INSTR,
    BlockProblem,
    Pick,
    ProgressEvent,
    ProgressFn,
    SearchState,
    StageRecord,
    problem,
    quick_setup,
    run,
)
from scheduler.search.stages import DECOMPOSE_FROM, STAGES

if TYPE_CHECKING:
    import networkx as nx

COMBINE: dict[str, Callable[[list[float]], float]] = {"worst": max, "mean": lambda xs: sum(xs) / len(xs)}
MULTI_OBJECTIVES = tuple(COMBINE)
OWN_SHARE = 0.75  # of the block's budget for the per-model runs (the rest: the joint search)
POOL_PER_MODEL = 6  # candidates of each run, by that run's objective, in the joint pool
# With llvm-mca among the judges, the candidates of the pool it judges (one llvm-mca run each,
# about 0.3-1.6 s, not bounded by the budget): the input and the best others by our models
MCA_POOL = 8


def resolve_objective(objective: str | None, models: list[Model]) -> str:
    """The objective a run uses: as given, else worst for several models, else the model's
    natural one. A one-core objective with several models is an input error (ModelError)."""
    if len(models) > 1:
        if objective not in (None, *MULTI_OBJECTIVES):
            raise ModelError(f"--objective {objective} judges one core; with several models "
                             f"use {' or '.join(MULTI_OBJECTIVES)}")
        return objective or "worst"
    if objective is None or objective in MULTI_OBJECTIVES:  # one model: its own figure
        return natural_objective(models[0])
    return objective


def natural_objective(model: Model) -> str:
    """What one core's own run optimises: the in-order figure is the judge of an in-order core."""
    return "inorder" if model.in_order else "ooo"


def figure(model: Model, instrs, noalias, iterations: int | None = None) -> float:
    """The model's cycles for a schedule: steady-state cycles/iteration out of order, or the
    in-order cycles of one run for an in-order core."""
    return figures(model, instrs, noalias, iterations)[0]


def mca_figure(model: McaModel, instrs) -> float:
    """llvm-mca's cycles per iteration (100 iterations) for the instructions as listed."""
    return mca_cycles_per_iteration(tuple(str(i) for i in instrs), model.mcpu)


def figures(model: Model, instrs, noalias, iterations: int | None = None,
            dag: nx.DiGraph | None = None) -> tuple[float, int]:
    """(figure, cold): the model's figure and one cold run's cycles (out of order, or in order
    for an in-order core), the tie-break as in the one-model `ooo` objective. For llvm-mca the
    figure is its own, and the tie-break the total cycles of its 100 iterations. `dag`: the
    instructions' `build_dag`, if known (it is the same for every model)."""
    if isinstance(model, McaModel):
        f = mca_figure(model, instrs)
        return f, round(100 * f)
    bt = prepare(instrs, model, noalias, dag)
    ident = list(range(bt.n))
    if model.in_order:
        c = inorder(bt, ident, model).cycles
        return float(c), c
    o = out_of_order(bt, ident, model, iterations)
    return o.steady, o.single


@dataclass
class _Run:
    model: Model
    p: BlockProblem
    s: SearchState


def _judged(p: BlockProblem) -> SearchState:
    """The search state of a core that is only judged: its pick is the input as written."""
    s = SearchState(random.Random(0))
    keep = Candidate(p.instrs, p.ident)
    s.pick = Pick(keep, p.bt, p.base_score, final=keep)
    return s


def _own_runs(index, instrs, models, opts, budget, clock, live_out, movable, progress,
              deadline: Deadline | None = None) -> list[_Run]:
    runs = []
    short = quick_setup(budget, len(instrs), clock, len(models))  # not time for every core's own run
    for k, m in enumerate(models):
        share = budget * OWN_SHARE / (1 if short else len(models))
        if deadline is not None:  # an earlier core's run that overran takes from the later ones
            share = min(share, max(0.0, deadline.left() * OWN_SHARE) / (1 if short else len(models) - k))
        mopts = replace(opts, objective=natural_objective(m))
        t0 = time.monotonic()
        judged = short and k > 0
        p = problem(index, instrs, m, mopts, share, clock, live_out, movable, progress, DECOMPOSE_FROM,
                    quick_bounds=judged or (k == 0 and quick_setup(budget, len(instrs), clock)))
        setup = time.monotonic() - t0
        runs.append(_Run(m, p, _judged(p) if judged else run(p, STAGES)))
        start = (p.before_in.cycles, p.before_ooo.steady)
        runs[-1].s.records.insert(0, StageRecord("setup", setup, start, start, p.bounds.best).to_json())
        if progress:
            progress(ProgressEvent(index, "model", runs[-1].s.bound(p), runs[-1].s.best(p)[0],
                                   detail={"model": m.name, "of": f"{k + 1}/{len(models)}"}))
    if short:
        names = ", ".join(m.name for m in models[1:])
        runs[0].s.notes.append(
            f"{names}: judged, not searched, and bounds without the one-machine strengthening: "
            f"the block's {budget:.2f} s are less than every core's own run needs "
            f"(about {len(models) * SETUP_SECONDS_PER_INSTR * len(instrs):.1f} s)")
    return runs


def _pool(runs: list[_Run], instrs, extras: bool = True) -> list[Candidate]:
    """The input first, then per run its final and chosen schedule and (`extras`) its best
    candidates."""
    pool = [Candidate(list(instrs), list(range(len(instrs))))]
    for r in runs:
        pick = r.s.picked
        assert pick.final is not None  # local search, the last stage, always runs
        pool += [pick.final, pick.candidate]
        if not extras:
            continue
        scored = [r.s.scored(c, r.p) for c in r.s.candidates(r.p) + r.s.adopted()]
        scored.sort(key=lambda x: objective_key(x[2], r.p.opts.objective))
        pool += [c for c, _, _ in scored[:POOL_PER_MODEL]]
    return unique_candidates(pool)


def _for_mca(pool: list[Candidate], models: list[Model], alias) -> list[Candidate]:
    """The pool llvm-mca judges: the input, then the MCA_POOL - 1 candidates no slower than the
    input under any model of ours, best first by the worst of their normalised figures there
    (each llvm-mca figure is one llvm-mca process; ours take milliseconds)."""
    if len(pool) <= MCA_POOL or not any(isinstance(m, McaModel) for m in models):
        return pool
    ours = [m for m in models if not isinstance(m, McaModel)]
    figs = {candidate_key(c): [figure(m, c.instrs, alias) for m in ours] for c in pool}
    base = figs[candidate_key(pool[0])]
    own = [min(f[j] for f in figs.values()) for j in range(len(ours))]
    kept = [c for c in pool[1:] if all(f <= b for f, b in zip(figs[candidate_key(c)], base, strict=True))]
    kept.sort(key=lambda c: max(f / o if o else 1.0 for f, o in zip(figs[candidate_key(c)], own, strict=True)))
    return [pool[0], *kept[:MCA_POOL - 1]]


def optimize_block_multi(block_index: int, instrs, models: list[Model], opts: Options, budget: float,
                         progress: ProgressFn | None = None, live_out: frozenset[str] = frozenset(),
                         movable: frozenset[str] = frozenset(), clock: Clock | None = None) -> BlockResult:
    """One schedule of a block for every model (see the module's docstring)."""
    wall_start = time.monotonic()
    clock = clock or Clock(opts.deterministic)
    deadline = Deadline.after(clock, budget)
    combine = COMBINE[opts.objective]
    runs = _own_runs(block_index, instrs, models, opts, budget, clock, live_out, movable, progress, deadline)
    # every candidate costs an evaluation per model (seconds on a 1,000-instruction block): the
    # input and each core's picks always, the others while the block's time lasts
    essential = _pool(runs, instrs, extras=False)
    keys = {candidate_key(c) for c in essential}
    # with llvm-mca among the judges, only the input and the best few by our models (_for_mca)
    pool = _for_mca(essential + [c for c in _pool(runs, instrs) if candidate_key(c) not in keys], models, opts.alias)
    spans: dict[str, float] = {}  # the joint stages' wall seconds (the per-core runs record their own)
    t0 = time.monotonic()
    timed: dict = {candidate_key(pool[0]): _input_figures(runs, opts.alias)}  # each run timed the input
    dags = {candidate_key(pool[0]): runs[0].p.bt.dag}
    for c in pool:
        if candidate_key(c) not in keys and deadline.left() <= 0:
            break
        if candidate_key(c) not in timed:
            g = dags[candidate_key(c)] = build_dag(c.instrs, opts.alias)  # one DAG for every model's figures
            timed[candidate_key(c)] = [figures(m, c.instrs, opts.alias, dag=g) for m in models]
    pool = [c for c in pool if candidate_key(c) in timed]
    table = {k: [f for f, _ in v] for k, v in timed.items()}
    cold = {k: sum(c for _, c in v) for k, v in timed.items()}
    own = [min(t[j] for t in table.values()) for j in range(len(models))]
    base = table[candidate_key(pool[0])]

    def norm(figs) -> float:
        return combine([f / o if o else 1.0 for f, o in zip(figs, own, strict=True)])

    allowed = [c for c in pool if all(f <= b for f, b in zip(table[candidate_key(c)], base, strict=True))]
    mean = COMBINE["mean"]

    def rank(c: Candidate) -> tuple:
        fs = table[candidate_key(c)]
        return norm(fs), mean([f / o if o else 1.0 for f, o in zip(fs, own, strict=True)]), cold[candidate_key(c)]

    best = min(allowed, key=rank)
    spans["pool"], t0 = time.monotonic() - t0, time.monotonic()
    figs = table[candidate_key(best)]
    if deadline.left() > 0:  # its set-up alone evaluates the pick twice under every model
        moved = _joint_search(best, pool[0].instrs, models, opts, own, combine, runs[0].s, deadline)
        moved_figs = [figure(m, moved.instrs, opts.alias) for m in models]
        # (the search's shorter out-of-order runs may misjudge: then the pool's pick stands)
        if all(f <= b for f, b in zip(moved_figs, base, strict=True)) and norm(moved_figs) <= norm(figs):
            best, figs = moved, moved_figs
    else:
        runs[0].s.notes.append("joint search skipped: the block's time is up")
    if norm(figs) >= norm(base) and best is not pool[0]:
        runs[0].s.notes.append(f"no schedule beats the input under --objective {opts.objective}: input kept")
        best, figs = pool[0], base
    own = [min(o, f) for o, f in zip(own, figs, strict=True)]  # the joint search may beat a core's own run
    p0 = runs[0].p
    spans["joint-search"], t0 = time.monotonic() - t0, time.monotonic()
    try:
        checked = check_schedule(p0, best)
    except ProofUnknown:
        raise
    except VerificationFailed as failed:  # a bug to report, never a kernel to write: the next one
        runs[0].s.notes.append(f"the best schedule failed a check ({failed})")
        best, checked = _next_verified(p0, sorted(allowed, key=rank), best)
        figs = [figure(m, best.instrs, opts.alias) for m in models]
    spans["checks"] = time.monotonic() - t0
    return _result(runs, best, figs, own, norm, checked, wall_start, spans, opts, timed.get(candidate_key(best)),
                   dags.get(candidate_key(best)))


def _next_verified(p0: BlockProblem, ranked: list[Candidate], failed: Candidate):
    """The best-ranked candidate after `failed` that passes every check (the input order last)."""
    for c in [c for c in ranked if candidate_key(c) != candidate_key(failed)][:8]:
        try:
            return c, check_schedule(p0, c)
        except ProofUnknown:
            raise
        except VerificationFailed:
            continue
    keep = Candidate(p0.instrs, p0.ident)
    return keep, check_schedule(p0, keep)


def _joint_search(start: Candidate, input_instrs, models, opts, own, combine, s0: SearchState,
                  deadline: Deadline) -> Candidate:
    """Single-instruction moves of `start` judged by the combined objective (search iterations
    of the out-of-order evaluator, as the one-model local search), never slower than the input
    on any model."""
    bts = [prepare(start.instrs, m, opts.alias) for m in models]
    n = bts[0].n

    def one(bt, m, order) -> float:
        if isinstance(m, McaModel):
            return mca_figure(m, [start.instrs[k] for k in order])
        if m.in_order:
            return float(inorder(bt, order, m).cycles)
        return out_of_order(bt, order, m, SEARCH_ITERATIONS).steady

    def figs(order) -> list[float]:
        return [one(bt, m, order) for bt, m in zip(bts, models, strict=True)]

    def key(fs) -> tuple:
        return combine([f / o if o else 1.0 for f, o in zip(fs, own, strict=True)]), sum(fs)

    limits = [figure(m, input_instrs, opts.alias, SEARCH_ITERATIONS) for m in models]

    def evaluate(order):
        deadline.clock.charge_evals(len(models) * (n // 50 + 1))
        fs = figs(order)
        if any(f > lim + 1e-9 for f, lim in zip(fs, limits, strict=True)):
            return None
        return key(fs), fs

    ident = list(range(n))
    first = figs(ident)
    order, _, used = move_search(bts[0], ident, (key(first), first), evaluate, s0.rng,
                                 opts.search_evaluations * 2, deadline)
    s0.evaluations += used
    return Candidate([start.instrs[k] for k in order], [start.origin[k] for k in order], start.renamed, start.fixed)


def _mca_doc(m: McaModel, p: BlockProblem, figs_after: float, own: float, instrs_after, noalias,
             dag: nx.DiGraph | None = None) -> dict:
    """llvm-mca's figures in the keys of ours: `ooo` its cycles per iteration (100 iterations),
    `single` its cycles for one, `inorder` the in-order cycles of the model searched with; no
    bound (0)."""
    fbt = prepare(instrs_after, m, noalias, dag)
    lines_before, lines_after = tuple(str(i) for i in p.instrs), tuple(str(i) for i in instrs_after)
    return {"model": m.name, "figure": "llvm-mca cycles/iteration (100 iterations)", "searched_with": m.base_name,
            "before": {"inorder": p.before_in.cycles, "ooo": mca_figure(m, p.instrs),
                       "single": mca_cycles_per_iteration(lines_before, m.mcpu, 1)},
            "after": {"inorder": inorder(fbt, list(range(fbt.n)), m).cycles, "ooo": figs_after,
                      "single": mca_cycles_per_iteration(lines_after, m.mcpu, 1)},
            "own_best": round(own, 2), "normalised": round(figs_after / own, 4) if own else 1.0,
            "bound": 0.0, "meets_bound": False}


def _input_figures(runs: list[_Run], noalias) -> list[tuple[float, int]]:
    """`figures` of the input under every run's model, from what the run's setup computed
    (llvm-mca's are its own runs)."""
    out: list[tuple[float, int]] = []
    for r in runs:
        p = r.p
        if isinstance(r.model, McaModel):
            out.append(figures(r.model, p.instrs, noalias))
        elif r.model.in_order:
            out.append((float(p.before_in.cycles), p.before_in.cycles))
        else:
            out.append((p.before_ooo.steady, p.before_ooo.single))
    return out


def _model_doc(r: _Run, figs_after: float, own: float, instrs_after, noalias,
               dag: nx.DiGraph | None = None, known: tuple[float, int] | None = None) -> dict:
    """One core's figures of the block's pick; `known`: its `figures` there, if the pool's."""
    m, p = r.model, r.p
    if isinstance(m, McaModel):
        return _mca_doc(m, p, figs_after, own, instrs_after, noalias, dag)
    fbt = prepare(instrs_after, m, noalias, dag)
    ident = list(range(fbt.n))
    if known is not None and not m.in_order:  # figures() is this very run
        steady, single = known
    else:
        after_ooo = out_of_order(fbt, ident, m)
        steady, single = after_ooo.steady, after_ooo.single
    bound = float(r.s.bound(p)) if m.in_order else p.ooo_bound
    return {"model": m.name, "figure": "in-order cycles" if m.in_order else "out-of-order cycles/iteration",
            "before": {"inorder": p.before_in.cycles, "ooo": p.before_ooo.steady, "single": p.before_ooo.single},
            "after": {"inorder": inorder(fbt, ident, m).cycles, "ooo": steady, "single": single},
            "own_best": round(own, 2), "normalised": round(figs_after / own, 4) if own else 1.0,
            # an out-of-order core: also shown to settle there (as optimize._ooo_at_bound)
            "bound": bound,
            "meets_bound": figs_after <= bound + 1e-9 and (m.in_order or settles_within(fbt, m, bound)[0])}


def _result(runs: list[_Run], best: Candidate, figs, own, norm, checked: Checked, wall_start: float,
            spans: dict[str, float], opts: Options, known: list[tuple[float, int]] | None = None,
            dag: nx.DiGraph | None = None) -> BlockResult:
    p0, s0 = runs[0].p, runs[0].s
    t0 = time.monotonic()
    g = dag if dag is not None else build_dag(best.instrs, opts.alias)  # the same for every model
    per_model = [_model_doc(r, f, o, best.instrs, opts.alias, g, known[j] if known else None)
                 for j, (r, f, o) in enumerate(zip(runs, figs, own, strict=True))]
    spans["figures"] = time.monotonic() - t0  # every core's figures of the pick, for the report
    a0 = per_model[0]["after"]
    worst = max(per_model, key=lambda d: d["normalised"])
    # the joint stages, in the first core's figures: its own search's best, then the block's pick
    searched, picked = s0.best(p0), (a0["inorder"], a0["ooo"])
    joint = [dict(StageRecord(name, secs, searched, picked, s0.bound(p0)).to_json(), model="joint")
             for name, secs in spans.items()]
    notes = s0.notes + [f"--objective {opts.objective}: {norm(figs):.4f} of the cores' own best "
                        f"(worst {worst['model']} {worst['normalised']:.4f})"]
    return block_result(
        p0, s0, best, checked, (a0["inorder"], a0["ooo"], a0["single"]),
        all(d["meets_bound"] for d in per_model), wall_start, bound_reason=p0.bounds.binding,
        solver=(None, None), solve_seconds=sum(r.s.solve_time for r in runs),
        candidates=sum(len(r.s.candidates(r.p)) + len(r.s.adopted()) + r.s.evaluations for r in runs),
        notes=notes, stages=[dict(st, model=r.model.name) for r in runs for st in r.s.records] + joint,
        per_model=per_model)


def optimize_program_multi(program: Program, models: list[Model], opts: Options,
                           progress: ProgressFn | None = None) -> list[BlockResult]:
    """optimize.optimize_program for several models (opts.objective worst or mean)."""
    return for_each_block(program, opts, lambda index, instrs, bopts, share, live_out, movable, clock: (
        optimize_block_multi(index, instrs, models, bopts, share, progress, live_out, movable, clock)))
