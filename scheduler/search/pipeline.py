"""The block optimiser as a pipeline of named stages.

A `BlockProblem` holds what does not change while one block is optimised (its
instructions, DAG and timings, the fixup problem, bounds, options, clock and deadline);
a `SearchState` holds what the stages build (candidate orders and schedules, the chosen
schedule, the best proven bound, notes). Each stage (scheduler/search/stages.py) has one job
and reads the state, adds candidates or a bound, and reports progress. This module alone
decides how much time each stage may use (each `Stage` carries its budget) and when to stop: a stage
marked optional is skipped once the gap is closed under both evaluators. The final checks
and proof are not search stages: `optimize.optimize_block` always runs them afterwards and
records them (`setup`, `accept`, `checks`) beside the stages, so the records add up to the block's time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from scheduler.core.clock import Clock, Deadline
from scheduler.frontend.ir import Instruction
from scheduler.machine.bounds import Bounds, OooBound, lower_bounds, ooo_bound_detail, true_dependencies
from scheduler.machine.evaluate import (
    BlockTiming,
    InOrderResult,
    OoOResult,
    inorder,
    out_of_order,
    prepare,
)
from scheduler.machine.model import Model
from scheduler.search import fixup
from scheduler.search.candidates import (
    Candidate,
    candidate_key,
    fixed_candidate,
    score_candidate,
)
from scheduler.search.localsearch import Score, score
from scheduler.search.options import Options
from scheduler.search.solve import SolveResult


@dataclass(frozen=True)
class ProgressEvent:
    """What a block reports while it is optimised: the running stage's name (`done` once the
    checks passed, `model` when one core's own search of several finished), the best in-order
    cycles and the bound it holds, the steady state, and the stage's own details (windows:
    pass, windows, placed, total; renaming windows: round, sweep, window, of, accepted; model:
    model, of)."""

    block: int
    stage: str
    bound: int = 0
    best: int | None = None
    ooo: float | None = None
    detail: dict = field(default_factory=dict)


ProgressFn = Callable[[ProgressEvent], None]

# wall seconds per instruction to build and start a whole-block CP-SAT model (measured: about
# 0.3 s for 413 instructions on a 2-core VM): with less, the solve cannot start in time
CPSAT_BUILD_SECONDS_PER_INSTR = 0.0007


def solve_share(p: BlockProblem) -> float:
    """Fraction of the block's budget for the reorder-only solve (and as much again for the
    window passes of large blocks): less when renaming needs its own solve."""
    return (0.25 if p.opts.rename else 0.5) * (0.5 if p.decomposing else 1.0)


# Time a stage may use, in seconds (or deterministic units) of the block's clock: a function of
# the problem, the state and `left`, the time to the block's deadline when the stage (or, for
# per-solve budgets, the solve) starts. Each Stage carries its own (scheduler/search/stages.py).
Budget = Callable[["BlockProblem", "SearchState", float], float]


@dataclass
class BlockProblem:
    """What does not change while one block is optimised: its instructions, timings and the
    input's figures, the fixup problem, the bounds, the options, the clock and the deadline."""

    index: int
    instrs: list[Instruction]
    model: Model
    opts: Options
    budget: float  # seconds (or deterministic work units) on `clock` for this block
    clock: Clock
    live_out: frozenset[str]
    movable: frozenset[str]  # outputs renaming may move to another register (--rename-outputs)
    progress: ProgressFn | None
    start: float
    deadline: Deadline  # the block's
    bt: BlockTiming
    before_in: InOrderResult
    before_ooo: OoOResult
    base_score: Score
    fixups: fixup.FixupProblem
    relaxed_timing: BlockTiming  # bt with the edges offset fixups relax
    fixup_constraints: Callable | None  # CP-SAT constraints of the fixups
    bounds: Bounds
    ooo_detail: OooBound  # the steady-state bound with what binds it
    decomposing: bool
    whole: bool  # solve the whole block (not only windows)
    budgets: dict[str, Budget] = field(default_factory=dict)  # per stage name, from the stages run
    running: str = "setup"  # the stage running now: progress events carry its name
    quick_bounds: bool = False  # bounds without the one-machine strengthening (quick_setup)

    @property
    def ident(self) -> list[int]:
        """The block's own order (0, 1, ..., n-1)."""
        return list(range(self.bt.n))

    @property
    def ooo_bound(self) -> float:
        """The steady-state lower bound (cycles per iteration) every allowed schedule respects."""
        return self.ooo_detail.value

    def report(self, bound: int = 0, best: int | None = None, ooo: float | None = None, **detail) -> None:
        """Tell the progress display where the running stage stands."""
        if self.progress:
            self.progress(ProgressEvent(self.index, self.running, bound, best, ooo, detail))

    def allowance(self, stage: str, state: SearchState) -> float:
        """The named stage's time (its Stage's budget), but never past the block's deadline (a
        stage's minimum must not stretch the time limit)."""
        left = self.deadline.left()
        budget = self.budgets[stage]  # a KeyError is a stage asking for a budget it does not declare
        return min(budget(self, state, left), max(left, 0.01))

    def stage_deadline(self, stage: str, state: SearchState) -> Deadline:
        """The named stage's deadline: its allowance from now."""
        return Deadline.after(self.clock, self.allowance(stage, state))


@dataclass
class Pick:
    """The judge's pick and what the stages after it make of it: the current schedule with its
    timing and score, every schedule they adopted, and local search's final order."""

    candidate: Candidate
    timing: BlockTiming
    score: Score
    adopted: list[Candidate] = field(default_factory=list)  # from stages after the judge
    final: Candidate | None = None  # set by local search, the last stage
    listed: int = 0  # schedules adopted from the register-aware list scheduler
    moved: int = 0  # reordering passes adopted over renamed code

    def adopt(self, candidate: Candidate, timing: BlockTiming, score: Score) -> None:
        """A later stage's better schedule becomes the current one (and a candidate of its own)."""
        self.adopted.append(candidate)
        self.candidate, self.timing, self.score = candidate, timing, score


@dataclass
class SearchState:
    """What the stages build for one block, split at the judge: before it the candidate pools
    (orders, solver solutions, renamed schedules), after it the `Pick`; and throughout the
    bounds the solvers proved, the notes and the stage records."""

    rng: random.Random
    notes: list[str] = field(default_factory=list)
    orders: list[list[int]] = field(default_factory=list)  # candidate orders of the block as written
    issues: list[list[int]] = field(default_factory=list)  # solver solutions (issue cycles)
    renamed: list[Candidate] = field(default_factory=list)  # from the renaming solve
    res: SolveResult = field(default_factory=lambda: SolveResult("UNKNOWN", None, 0, None, 0.0))
    hint_res: InOrderResult | None = None
    hint_order: list[int] = field(default_factory=list)
    best_in: int = 0
    claimed: int | None = None  # the solver's in-order cycles for its best schedule
    proven: int | None = None  # a bound proven by a solver, valid for every allowed schedule
    relaxed_bound: int = 0
    solve_time: float = 0.0
    target: int = 0  # in-order cycles a candidate may have
    pick: Pick | None = None  # the judge's (stages marked after_judge run only once it exists)
    evaluations: int = 0  # local-search evaluations
    scores: dict[tuple[str, ...], tuple[BlockTiming, Score]] = field(default_factory=dict)
    records: list[dict] = field(default_factory=list)  # StageRecord.to_json() of each stage that ran
    _built: tuple[tuple[int, int, int], list[Candidate]] | None = None  # candidates() cache

    @property
    def picked(self) -> Pick:
        """The judge's pick; a stage after the judge may rely on it (the pipeline checks)."""
        if self.pick is None:
            raise RuntimeError("no pick yet: a stage that refines the judge's pick ran before the judge")
        return self.pick

    def adopted(self) -> list[Candidate]:
        """The schedules the stages after the judge adopted (none before it)."""
        return self.pick.adopted if self.pick is not None else []

    def scored(self, c: Candidate, p: BlockProblem) -> tuple[Candidate, BlockTiming, Score]:
        """`c` with its timings and score under the block's model (each candidate scored once)."""
        key = candidate_key(c)
        if key not in self.scores:
            _, bt, sc = score_candidate(c, p.model, p.opts.alias)
            self.scores[key] = (bt, sc)
        return (c, *self.scores[key])

    def candidates(self, p: BlockProblem) -> list[Candidate]:
        """Every candidate so far, in the judge's order: orders, solver solutions, renamed.
        Built again only when one of the three lists grew (stages only append to them)."""
        from scheduler.search.candidates import unique_candidates, unique_orders

        sizes = (len(self.orders), len(self.issues), len(self.renamed))
        if self._built is None or self._built[0] != sizes:
            out = [Candidate([p.instrs[k] for k in o], list(o)) for o in unique_orders(self.orders)]
            out += unique_candidates(fixed_candidate(p.instrs, p.fixups, i) for i in self.issues)
            self._built = (sizes, out + self.renamed)
        return list(self._built[1])

    def bound(self, p: BlockProblem) -> int:
        """The lower bound on in-order cycles, the one rule: every term holds for every schedule
        the options allow (renaming and fixups included)."""
        return max(p.bounds.best, self.proven or 0, self.relaxed_bound)

    def best(self, p: BlockProblem) -> tuple[int, float]:
        """(best in-order cycles, best out-of-order cycles/iteration) over all candidates so far."""
        if self.pick is not None:
            pool = [self.pick.score]
        else:
            pool = [self.scored(c, p)[2] for c in self.candidates(p)]
        pool.append(p.base_score)
        return min(s.inorder for s in pool), min(s.ooo for s in pool)

    def closed(self, p: BlockProblem, best: tuple[int, float] | None = None) -> bool:
        """Nothing left to gain: the best schedule (`best`, else computed) meets the bound under
        both evaluators."""
        best_in, best_ooo = best or self.best(p)
        return best_in <= self.bound(p) and best_ooo <= p.ooo_bound


@dataclass(frozen=True)
class StageRecord:
    """Where one stage's wall seconds went and what it gained: the best in-order cycles and
    steady state before and after it, and the bound after it (the report's `stages`). The
    search stages, and around them the block's setup, acceptance and checks, each leave one,
    so a block's records add up to its seconds."""

    name: str
    seconds: float
    before: tuple[int, float]  # (best in-order cycles, best steady state)
    after: tuple[int, float]
    bound: int

    @classmethod
    def since(cls, name: str, t0: float, before: tuple[int, float], after: tuple[int, float],
              bound: int) -> StageRecord:
        """The record of a stage that started at `t0` (time.monotonic) and ends now."""
        return cls(name, time.monotonic() - t0, before, after, bound)

    def to_json(self) -> dict:
        """The report's entry (`blocks[].stages[]`)."""
        return {"name": self.name, "seconds": round(self.seconds, 3),
                "best_inorder_before": self.before[0], "best_inorder_after": self.after[0],
                "best_ooo_before": round(self.before[1], 2), "best_ooo_after": round(self.after[1], 2),
                "bound": self.bound}


@dataclass(frozen=True)
class Stage:
    """One step of the block's search: its function, when it applies, whether the closed gap
    skips it, and its time (a Budget of the block's clock)."""

    name: str
    run: Callable[[BlockProblem, SearchState], None]
    applies: Callable[[BlockProblem], bool] = lambda p: True
    optional: bool = False  # skipped once the gap is closed under both evaluators
    budget: Budget | None = None  # its time (None: it is cheap, or bounded by the block's deadline)
    after_judge: bool = False  # refines the judge's pick (SearchState.pick)
    # builds CP-SAT models over the block (whole, or window by window), which no time limit
    # interrupts: on the wall clock, skipped when its allowance is less than the building takes
    builds_cpsat: bool = False


# Wall seconds per instruction of one core's own run at its shortest: the setup with the
# strengthened one-machine bound, the list stage and the judge (measured: about 0.65 s for
# the 1,115 instructions of p256_double on neoverse-n1, the bound's two sweeps in two processes)
SETUP_SECONDS_PER_INSTR = 0.0006


def quick_setup(budget: float, instructions: int, clock: Clock, cores: int = 1) -> bool:
    """Whether a block's budget on the wall clock is less than `cores` cores' own runs need
    (SETUP_SECONDS_PER_INSTR): the block then sets up with the plain one-machine bound
    (weaker, still a bound) and, with several cores, searches with the first only. Never under
    --deterministic, whose results must not depend on the machine's speed."""
    return not clock.deterministic and budget < cores * SETUP_SECONDS_PER_INSTR * instructions


def problem(index: int, instrs, model: Model, opts: Options, budget: float, clock: Clock,
            live_out: frozenset[str], movable: frozenset[str], progress: ProgressFn | None,
            decompose_from: int, quick_bounds: bool = False) -> BlockProblem:
    """Set up one block: timings, the input's figures, the fixup problem and the bounds (valid for
    every schedule the options allow: with renaming, over the true dependencies only).
    `quick_bounds`: without the one-machine strengthening (bounds.lower_bounds), for a core
    that is only judged, not searched."""
    instrs = list(instrs)
    start = clock.now()
    bt = prepare(instrs, model, opts.alias)
    ident = list(range(bt.n))
    before_in = inorder(bt, ident, model)
    before_ooo = out_of_order(bt, ident, model)
    # offset fixups relax the register edges between accesses and their base updates
    fixups = fixup.analyse(instrs, bt.dag) if opts.fixup else fixup.FixupProblem()
    fixup_constraints, relaxed_timing = None, bt
    if fixups:
        gap = fixup.gap_function(instrs, model)
        relaxed_timing = replace(bt, **dict(zip(("raw", "order"), fixup.relax_edges(bt.raw, bt.order, fixups, gap),
                                     strict=True)))

        def fixup_constraints(m, issue):
            fixup.add_constraints(m, issue, fixups, gap)
    # with renaming only true dependencies bind: the bound must hold for renamed schedules too
    # (the edges every allowed schedule keeps)
    kept = true_dependencies(relaxed_timing) if opts.rename else relaxed_timing
    bounds = lower_bounds(kept, model, strengthen=not quick_bounds)
    decomposing = opts.decompose == "always" or (opts.decompose == "auto" and bt.n >= decompose_from)
    return BlockProblem(index, instrs, model, opts, budget, clock, live_out, movable, progress, start,
                        Deadline(clock, start + budget), bt, before_in, before_ooo, score(bt, ident, model), fixups,
                        relaxed_timing, fixup_constraints, bounds, ooo_bound_detail(kept, model), decomposing,
                        opts.decompose != "always", quick_bounds=quick_bounds)


def run(p: BlockProblem, stages: list[Stage]) -> SearchState:
    """Run the stages in order, recording for each its time and what it gained."""
    s = SearchState(random.Random(p.opts.seed * 7919 + p.index))
    # the input as written is scored already: its timings and score are the block's own
    s.scores[candidate_key(Candidate(p.instrs, p.ident))] = (p.bt, p.base_score)
    if p.quick_bounds:
        s.notes.append("bounds without the one-machine strengthening (weaker, still bounds): the block's "
                       f"time is less than its own run with it needs (about {SETUP_SECONDS_PER_INSTR * p.bt.n:.1f} s)")
    p.budgets = {st.name: st.budget for st in stages if st.budget is not None}
    records = s.records
    for stage in stages:
        if not stage.applies(p):
            continue
        if stage.after_judge and s.pick is None:
            raise RuntimeError(f"stage {stage.name} refines the judge's pick: list it after the judge")
        t0 = time.monotonic()  # (scoring the pool for `before` is the stage's time too)
        before = s.best(p)
        if stage.optional and s.closed(p, before):
            s.notes.append(f"stage {stage.name} skipped: the gap is closed")
            continue
        if stage.optional and p.deadline.left() <= 0:
            s.notes.append(f"stage {stage.name} skipped: the block's time is up")
            continue
        if stage.builds_cpsat and not p.clock.deterministic and (
                (allowance := p.allowance(stage.name, s)) < CPSAT_BUILD_SECONDS_PER_INSTR * p.bt.n):
            s.notes.append(f"stage {stage.name} skipped: {allowance:.2f} s left, less than building "
                           f"its CP-SAT model of {p.bt.n} instructions takes")
            continue
        p.running = stage.name
        stage.run(p, s)
        records.append(StageRecord.since(stage.name, t0, before, s.best(p), s.bound(p)).to_json())
    return s
