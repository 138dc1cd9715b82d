"""The optimisation of a file: per block, the pipeline of search stages, then the checks.

For each straight-line block:
  1. the search stages (scheduler/search/stages.py, run by scheduler/search/pipeline.py): list schedule,
     CP-SAT reordering (and window passes for large blocks), diversity solves, a bound
     valid under renaming, CP-SAT with renaming, the out-of-order judge, renaming windows
     for large blocks, local search;
  2. keep the result only if it is faster than the input under one evaluator and no
     worse under the other (else the input order is kept);
  3. re-check it without the solver (a permutation respecting every DAG edge, or a
     dataflow certificate for renamed code) and verify it equivalent with the simulator
     (and with --prove, prove it symbolically).
Nothing is written unless every block passed step 3.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from scheduler.checks.certificate import check_block, register_map
from scheduler.checks.verify import ALL_REGISTERS, verify
from scheduler.core.clock import WALL, Clock, stop_requested
from scheduler.frontend.cfg import BlockContext, block_contexts, is_straight_line
from scheduler.frontend.dag import is_valid_order
from scheduler.frontend.ir import Block, Program
from scheduler.frontend.isa.unpredictable import first_unpredictable
from scheduler.frontend.outputs import ends_in_ret
from scheduler.machine.evaluate import inorder, out_of_order, prepare, settles_within
from scheduler.machine.model import Model
from scheduler.search import fixup
from scheduler.search.candidates import Candidate, candidate_key
from scheduler.search.localsearch import OBJECTIVES, objective_key
from scheduler.search.options import (
    Alternative,
    BlockResult,
    Options,
    ProofUnknown,
    Status,
    VerificationFailed,
)
from scheduler.search.pipeline import BlockProblem, ProgressFn, SearchState, StageRecord, problem, quick_setup, run
from scheduler.search.stages import DECOMPOSE_FROM, STAGES

__all__ = ["BlockResult", "Options", "ProofUnknown", "VerificationFailed", "block_contexts_of", "live_out_of",
           "optimize_block",
           "optimize_program"]



def optimize_block(block_index: int, instrs, model: Model, opts: Options, budget: float,
                   progress: ProgressFn | None = None, live_out: frozenset[str] = frozenset(),
                   movable: frozenset[str] = frozenset(), clock: Clock = WALL) -> BlockResult:
    """`movable`: outputs renaming may move to another register (`--rename-outputs`).
    `budget`: seconds (or deterministic work units) on `clock` for this block."""
    wall_start = time.monotonic()
    p = problem(block_index, instrs, model, opts, budget, clock, live_out, movable, progress, DECOMPOSE_FROM,
                quick_bounds=quick_setup(budget, len(instrs), clock))
    setup = (time.monotonic() - wall_start, p.bounds.best)  # timings, evaluations of the input, bounds
    s = run(p, STAGES)
    start = (p.before_in.cycles, p.before_ooo.steady)
    s.records.insert(0, StageRecord("setup", setup[0], start, start, setup[1]).to_json())
    t0, searched = time.monotonic(), s.best(p)
    final, after_in, after_ooo = _no_worse(p, s)
    s.records.append(StageRecord.since("accept", t0, searched, (after_in, after_ooo.steady), s.bound(p)).to_json())
    t0, accepted = time.monotonic(), (after_in, after_ooo.steady)
    try:
        checked = check_schedule(p, final)
    except ProofUnknown:
        raise
    except VerificationFailed as failed:
        final, checked = _next_verified(p, s, final, str(failed))
        after_in, after_ooo = _figures(p, final)
    p.running = "done"
    p.report(best=after_in, bound=s.bound(p), ooo=after_ooo.steady)
    lower = s.bound(p)  # every term holds for every schedule the options allow (renaming, fixups)
    # under the objective: in-order cycles against `lower`, steady state against the out-of-order
    # bound; no bound is known for the single cold run
    met = {"inorder": after_in <= lower, "ooo": _ooo_at_bound(p, s, final, after_ooo.steady),
           "single": False}[opts.objective]
    s.records.append(StageRecord.since("checks", t0, accepted, (after_in, after_ooo.steady), lower).to_json())
    t0 = time.monotonic()
    alternatives = _alternatives(p, s, final, opts.judge_k - 1) if opts.judge_k > 1 else []
    if alternatives:
        s.records.append(StageRecord.since("alternatives", t0, (after_in, after_ooo.steady),
                                           (after_in, after_ooo.steady), lower).to_json())
    return block_result(
        p, s, final, checked, (after_in, after_ooo.steady, after_ooo.single), met, wall_start,
        bound_reason=p.bounds.binding if lower == p.bounds.best else (
            "true dependencies (solver)" if lower == s.relaxed_bound else "solver"),
        solver=(s.claimed, s.proven), solve_seconds=s.solve_time,
        candidates=len(s.candidates(p)) + len(s.adopted()) + s.evaluations, notes=s.notes, stages=s.records,
        alternatives=alternatives)


def block_result(p: BlockProblem, s: SearchState, final: Candidate, checked: Checked,
                 after: tuple[int, float, int], met: bool, wall_start: float, *, bound_reason: str,
                 solver: tuple[int | None, int | None], solve_seconds: float, candidates: int, notes: list[str],
                 stages: list[dict], per_model: list[dict] | None = None,
                 alternatives: list[Alternative] | None = None) -> BlockResult:
    """The one place a block's result is assembled, for one model and several: `after` is the
    chosen schedule's (in-order cycles, steady state, single run) under `p`'s model, `met` whether
    the objective's figure is proven at its bound. The status: OPTIMAL only when proven; FALLBACK
    when the input order is kept without such a proof; else FEASIBLE."""
    output_map, fixups, proof = checked
    after_in, after_steady, after_single = after
    kept = final.origin == p.ident and not final.renamed and not final.fixed
    status = Status.OPTIMAL if met else Status.FALLBACK if kept else Status.FEASIBLE
    return BlockResult(
        index=p.index, instructions=p.bt.n, order=final.origin,
        cycles_before=p.before_in.cycles, cycles_after=after_in,
        lower_bound=min(s.bound(p), after_in), bound_reason=bound_reason,
        status=status, solve_seconds=round(solve_seconds, 3), seconds=round(time.monotonic() - wall_start, 3),
        verified=p.opts.verify_trials > 0,  # check_schedule's random trials ran (and passed)
        ooo_cycles_before=p.before_ooo.steady, ooo_cycles_after=after_steady,
        ooo_single_before=p.before_ooo.single, ooo_single_after=after_single,
        ooo_lower_bound=p.ooo_bound,  # (unrounded: 19/3 must compare above 6.33)
        ooo_bound_reason=p.ooo_detail.binding,
        solver_cycles=solver[0], solver_bound=solver[1], proved=bool(proof), proof=proof,
        instructions_after=final.instrs, renamed=final.renamed,
        register_map=register_map([p.instrs[k] for k in final.origin], final.instrs) if final.renamed else [],
        offset_fixups=fixups, output_map=output_map, live_out=sorted(p.live_out),
        entry_facts=p.opts.alias.to_json()["entry"],
        candidates=candidates, notes=notes, stages=stages, per_model=per_model or [], alternatives=alternatives or [])


def _no_worse(p: BlockProblem, s: SearchState):
    """The search's schedule if it is faster than the input under one evaluator and no worse
    under the other; else the input as written (re-optimising an output is a fixed point)."""
    final = s.picked.final
    assert final is not None  # local search, the last stage, always runs
    fbt = prepare(final.instrs, p.model, p.opts.alias)
    after_in = inorder(fbt, list(range(fbt.n)), p.model).cycles
    after_ooo = out_of_order(fbt, list(range(fbt.n)), p.model)
    before_in, before_ooo, ident = p.before_in, p.before_ooo, p.ident
    if after_in > before_in.cycles or after_ooo.steady > before_ooo.steady:
        s.notes.append("no order found that is at least as fast under both evaluators: input order kept")
        final, after_in, after_ooo = Candidate(p.instrs, ident), before_in.cycles, before_ooo
    elif (after_in, after_ooo.steady, after_ooo.single) >= (before_in.cycles, before_ooo.steady, before_ooo.single) \
            and final.origin != ident:
        s.notes.append("no order faster than the input under either evaluator: input order kept")
        final, after_in, after_ooo = Candidate(p.instrs, ident), before_in.cycles, before_ooo
    return final, after_in, after_ooo


MIN_BLOCK_SECONDS = 0.05  # a block's time on the wall clock when the search's limit is spent
FALLBACK_TRIES = 8  # candidates checked after the best one failed a check, before the input order


def _figures(p: BlockProblem, c: Candidate):
    bt = prepare(c.instrs, p.model, p.opts.alias)
    return inorder(bt, list(range(bt.n)), p.model).cycles, out_of_order(bt, list(range(bt.n)), p.model)


def _next_verified(p: BlockProblem, s: SearchState, failed: Candidate, why: str):
    """The best schedule failed a check (a bug to report, never a kernel to write): the next
    candidates by the objective that are no slower than the input and pass every check, else the
    input order. Returns (candidate, check_schedule's result); the notes say which."""
    s.notes.append(f"the best schedule failed a check ({why})")
    tried = {candidate_key(failed)}
    pool = sorted((s.scored(c, p) for c in [*s.candidates(p), *s.adopted()]),
                  key=lambda t: objective_key(t[2], p.opts.objective if p.opts.objective in OBJECTIVES else "ooo"))
    for c, _, sc in pool:
        if len(tried) > FALLBACK_TRIES:
            break
        if candidate_key(c) in tried or sc.inorder > p.before_in.cycles or sc.ooo > p.before_ooo.steady:
            continue
        tried.add(candidate_key(c))
        try:
            checked = check_schedule(p, c)
        except ProofUnknown:
            raise
        except VerificationFailed as e:
            s.notes.append(f"the next candidate failed a check too ({e})")
            continue
        s.notes.append("emitted the next candidate that passes every check")
        return c, checked
    s.notes.append("no other candidate passed every check: input order kept")
    keep = Candidate(p.instrs, p.ident)
    return keep, check_schedule(p, keep)


def _alternatives(p: BlockProblem, s: SearchState, final: Candidate, k: int) -> list[Alternative]:
    """`--judge bench`: up to k candidates besides `final` and the input, best first by the
    objective, no slower than the input under either evaluator, that pass every check and keep
    the outputs in place."""
    tried = {candidate_key(final), candidate_key(Candidate(p.instrs, p.ident))}
    pool = sorted((s.scored(c, p) for c in [*s.candidates(p), *s.adopted()]),
                  key=lambda t: objective_key(t[2], p.opts.objective if p.opts.objective in OBJECTIVES else "ooo"))
    out: list[Alternative] = []
    for c, _, sc in pool:
        if len(out) >= k or stop_requested():
            break
        if candidate_key(c) in tried or sc.inorder > p.before_in.cycles or sc.ooo > p.before_ooo.steady:
            continue
        tried.add(candidate_key(c))
        try:
            output_map, fixups, proof = check_schedule(p, c)
        except (ProofUnknown, VerificationFailed):
            continue
        if output_map:
            continue
        cycles, ooo = _figures(p, c)
        rmap = register_map([p.instrs[j] for j in c.origin], c.instrs) if c.renamed else []
        out.append(Alternative(list(c.instrs), list(c.origin), c.renamed, rmap, fixups, proof, cycles,
                               ooo.steady, ooo.single))
    return out


def _ooo_at_bound(p: BlockProblem, s: SearchState, final: Candidate, measured: float) -> bool:
    """Steady state proven at the out-of-order bound: measured there, and the run shown to
    repeat at exactly that rate (the finite measurement alone can read below the rate the
    run settles to)."""
    if measured > p.ooo_bound + 1e-9:
        return False
    settled, exact = settles_within(prepare(final.instrs, p.model, p.opts.alias), p.model, p.ooo_bound)
    if settled:
        s.notes.append(f"OPTIMAL under the out-of-order objective: the run settles at {exact:g} cycles/iteration, "
                       f"the out-of-order bound (in-order cycles are not this objective)")
        return True
    s.notes.append(f"steady state measured at the bound ({measured:g} against {p.ooo_bound:g}) but "
                   + ("not shown periodic" if exact is None else f"the run settles to {exact:g}/iteration")
                   + ": not claimed optimal")
    return False


# what check_schedule establishes: (output_map, offset fixups, proof)
Checked = tuple[dict[str, str], list[dict], str]


def check_schedule(p: BlockProblem, final: Candidate) -> Checked:
    """Independent checks: a permutation of the block that computes the same thing (simulation),
    a dataflow certificate, and with --prove a symbolic proof. Raises VerificationFailed."""
    instrs, opts, block_index = p.instrs, p.opts, p.index
    if sorted(final.origin) != p.ident:
        raise VerificationFailed(f"block {block_index}: the schedule is not a permutation of the block")
    # never write what the parser would refuse (an UNPREDICTABLE register combination): the
    # allocators avoid it, this catches any pass that does not
    if (why := first_unpredictable(final.instrs)) is not None:
        raise VerificationFailed(f"block {block_index}: the schedule holds an UNPREDICTABLE form: {why}")
    if not final.renamed and not final.fixed and not is_valid_order(p.bt.dag, final.origin):
        raise VerificationFailed(f"block {block_index}: the schedule breaks a dependency")
    outputs = None if not final.renamed else sorted(p.live_out | {"sp"})
    output_map = _output_map(instrs, final, p.movable) if final.renamed else {}
    check = verify(instrs, final.instrs, trials=opts.verify_trials, seed=opts.seed,
                   noalias=opts.alias, outputs=outputs, output_map=output_map)
    if not check.equivalent:
        raise VerificationFailed(f"block {block_index}: the schedule is not equivalent "
                                 f"({check.mismatch or check.problems})")
    # and a proof for all inputs: the candidate follows from the original by a permutation and
    # a renaming that preserve every dataflow and memory-order relation (certificate.check_block)
    fixups = fixup.records(instrs, final.origin, final.instrs)
    result_cert = {"inst_map": [k + 1 for k in final.origin], "offset_fixups": fixups, "output_map": output_map,
                   "register_map": register_map([instrs[k] for k in final.origin], final.instrs),
                   "assumptions": {**opts.alias.to_json(), "outputs": outputs}}
    violations = check_block(instrs, final.instrs, result_cert)
    if violations:
        raise VerificationFailed(f"block {block_index}: dataflow check failed: {violations[0]}")
    proof = "certificate"
    if opts.prove and not output_map:  # (moved outputs: the certificate is the proof)
        from scheduler.checks.prove import prove

        pr = prove(instrs, final.instrs, opts.alias, outputs)
        if pr.status == "refuted":
            raise VerificationFailed(f"block {block_index}: the prover refutes the schedule: {pr.reason}")
        if pr.status != "proved":
            raise ProofUnknown(f"block {block_index}: not proved: {pr.reason}")
        proof = f"certificate and symbolic ({pr.method})"
    return output_map, fixups, proof


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


def block_contexts_of(program: Program, opts: Options) -> list[BlockContext]:
    """Per block: the registers live after it and the facts at its entry, from the control-flow
    analysis of the whole file (`frontend/cfg.py`). What matters when the function returns is
    the outputs rule's choice (`opts.outputs`, or every register with `opts.all_outputs`)."""
    exit_live = frozenset(ALL_REGISTERS) if opts.all_outputs else opts.outputs | frozenset(program.outputs)
    return block_contexts(program, exit_live, opts.noalias)


def live_out_of(program: Program, block: Block, declared: frozenset[str], all_outputs: bool = False) -> frozenset[str]:
    """The registers live after `block` (the control-flow analysis) when `declared` (and x0, the
    AAPCS64 result, when the code ends in `ret`) matter at the function's return; every register
    with `all_outputs`."""
    exit_live = frozenset(ALL_REGISTERS) if all_outputs else declared | (
        {"x0"} if ends_in_ret(program) else frozenset())
    return block_contexts(program, exit_live)[block.index].live_out


def optimize_program(program: Program, model: Model, opts: Options,
                     progress: ProgressFn | None = None) -> list[BlockResult]:
    """Optimise every block of `program` for one model, each checked (optimize_block)."""
    return for_each_block(program, opts, lambda index, instrs, bopts, share, live_out, movable, clock: optimize_block(
        index, instrs, model, bopts, share, progress, live_out, movable, clock))


def for_each_block(program: Program, opts: Options, optimize: Callable[..., BlockResult]) -> list[BlockResult]:
    """`optimize(index, instructions, block options, budget, live_out, movable, clock)` for every
    block, the time limit shared by instruction count; the block options carry its entry facts."""
    blocks = program.blocks()
    contexts = block_contexts_of(program, opts)
    results = []
    clock = Clock(opts.deterministic)
    movable = _movable_outputs(program, opts)
    for b, ctx in zip(blocks, contexts, strict=True):
        left = opts.time_limit - clock.now()
        # each block gets half a second at least; on the wall clock, never past the search's limit
        floor = 0.5 if opts.deterministic else min(0.5, max(left, MIN_BLOCK_SECONDS))
        share = max(floor, left * len(b.instructions) / max(
            1, sum(len(x.instructions) for x in blocks[b.index:])))
        if stop_requested():
            share = 0.0  # Ctrl-C: the remaining blocks keep their order (and are still checked)
        bopts = replace(opts, facts=ctx.facts)
        results.append(optimize(b.index, b.instructions, bopts, share, ctx.live_out, movable, clock))
    return results


def _movable_outputs(program: Program, opts: Options) -> frozenset[str]:
    """`--rename-outputs`: the declared outputs that may end in another register. Only in a
    straight-line kernel (another block would look for the value in its old register), and
    never x0 when the code ends in `ret` (the ABI result register)."""
    if not opts.rename_outputs or not is_straight_line(program):
        return frozenset()
    declared = opts.outputs | frozenset(program.outputs)
    return declared - ({"x0"} if ends_in_ret(program) else set())
