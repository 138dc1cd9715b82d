"""The optimisation of a file: per block, the pipeline of search stages, then the checks.

For each straight-line block:
  1. the search stages (scheduler/stages.py, run by scheduler/pipeline.py): list schedule,
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

from scheduler.checks.certificate import check_block, register_map
from scheduler.checks.verify import ALL_REGISTERS, verify
from scheduler.core.clock import WALL, Clock, stop_requested
from scheduler.frontend.dag import is_valid_order
from scheduler.frontend.ir import Block, Instruction, Program
from scheduler.machine.evaluate import inorder, out_of_order, prepare, settles_within
from scheduler.machine.model import Model
from scheduler.search import fixup
from scheduler.search.candidates import Candidate
from scheduler.search.options import (
    BlockResult,
    Options,
    ProofUnknown,
    VerificationFailed,
)
from scheduler.search.pipeline import BlockProblem, SearchState, problem, run
from scheduler.search.stages import DECOMPOSE_FROM, STAGES

__all__ = ["BlockResult", "Options", "ProofUnknown", "VerificationFailed", "live_out_of", "optimize_block",
           "optimize_program"]

ProgressFn = Callable[[int, str, dict], None]


def optimize_block(block_index: int, instrs, model: Model, opts: Options, budget: float,
                   progress: ProgressFn | None = None, live_out: frozenset[str] = frozenset(),
                   movable: frozenset[str] = frozenset(), clock: Clock = WALL) -> BlockResult:
    """`movable`: outputs renaming may move to another register (`--rename-outputs`).
    `budget`: seconds (or deterministic work units) on `clock` for this block."""
    wall_start = time.monotonic()
    p = problem(block_index, instrs, model, opts, budget, clock, live_out, movable, progress, DECOMPOSE_FROM)
    s = run(p, STAGES)
    final, after_in, after_ooo = _no_worse(p, s)
    output_map, fixups, proof = check_schedule(p, final)
    p.report("done", best=after_in, bound=max(s.proven or 0, p.bounds.best, s.relaxed_bound), ooo=after_ooo.steady)
    # every term holds for every schedule the options allow (renaming and fixups included)
    lower = max(p.bounds.best, s.proven or 0, s.relaxed_bound)
    # OPTIMAL only when proven; FALLBACK when the input order is kept without such a proof
    # (under the objective: in-order cycles against `lower`, steady state against the out-of-order
    # bound; no bound is known for the single cold run)
    kept = final.origin == p.ident and not final.renamed and not final.fixed
    met = {"inorder": after_in <= lower, "ooo": _ooo_at_bound(p, s, final, after_ooo.steady),
           "single": False}[opts.objective]
    s.status = "OPTIMAL" if met else "FALLBACK" if kept else "FEASIBLE"
    instrs = p.instrs
    return BlockResult(
        index=block_index, instructions=p.bt.n, order=final.origin,
        cycles_before=p.before_in.cycles, cycles_after=after_in,
        lower_bound=min(lower, after_in),
        bound_reason=p.bounds.binding if lower == p.bounds.best else (
            "true dependencies (solver)" if lower == s.relaxed_bound else "solver"),
        status=s.status, solve_seconds=round(s.solve_time, 3), seconds=round(time.monotonic() - wall_start, 3),
        verified=True,
        ooo_cycles_before=p.before_ooo.steady, ooo_cycles_after=after_ooo.steady,
        ooo_single_before=p.before_ooo.single, ooo_single_after=after_ooo.single,
        ooo_lower_bound=p.ooo_bound,  # (unrounded: 19/3 must compare above 6.33)
        solver_cycles=s.claimed, solver_bound=s.proven, proved=True, proof=proof,
        instructions_after=final.instrs, renamed=final.renamed,
        register_map=register_map([instrs[k] for k in final.origin], final.instrs) if final.renamed else [],
        offset_fixups=fixups, output_map=output_map, live_out=sorted(live_out),
        candidates=len(s.candidates(p)) + len(s.adopted) + s.evaluations, notes=s.notes, stages=s.records)


def _no_worse(p: BlockProblem, s: SearchState):
    """The search's schedule if it is faster than the input under one evaluator and no worse
    under the other; else the input as written (re-optimising an output is a fixed point)."""
    final = s.final
    assert final is not None
    fbt = prepare(final.instrs, p.model, p.opts.noalias)
    after_in = inorder(fbt, list(range(fbt.n)), p.model).cycles
    after_ooo = out_of_order(fbt, list(range(fbt.n)), p.model)
    before_in, before_ooo, ident = p.before_in, p.before_ooo, p.ident
    if after_in > before_in.cycles or after_ooo.steady > before_ooo.steady:
        s.notes.append("no order found that is at least as fast under both evaluators: input order kept")
        final, after_in, after_ooo, s.status = Candidate(p.instrs, ident), before_in.cycles, before_ooo, "FALLBACK"
    elif (after_in, after_ooo.steady, after_ooo.single) >= (before_in.cycles, before_ooo.steady, before_ooo.single) \
            and final.origin != ident:
        s.notes.append("no order faster than the input under either evaluator: input order kept")
        final, after_in, after_ooo = Candidate(p.instrs, ident), before_in.cycles, before_ooo
    if s.status == "OPTIMAL" and after_in != s.claimed:
        s.status = "FEASIBLE"
    return final, after_in, after_ooo


def _ooo_at_bound(p: BlockProblem, s: SearchState, final: Candidate, measured: float) -> bool:
    """Steady state proven at the out-of-order bound: measured there, and the run shown to
    repeat at exactly that rate (the finite measurement alone can read below the rate the
    run settles to)."""
    if measured > p.ooo_bound + 1e-9:
        return False
    settled, exact = settles_within(prepare(final.instrs, p.model, p.opts.noalias), p.model, p.ooo_bound)
    if settled:
        s.notes.append(f"OPTIMAL under the out-of-order objective: the run settles at {exact:g} cycles/iteration, "
                       f"the out-of-order bound (in-order cycles are not this objective)")
        return True
    s.notes.append(f"steady state measured at the bound ({measured:g} against {p.ooo_bound:g}) but "
                   + ("not shown periodic" if exact is None else f"the run settles to {exact:g}/iteration")
                   + ": not claimed optimal")
    return False


def check_schedule(p: BlockProblem, final: Candidate) -> tuple[dict[str, str], list[dict], str]:
    """Independent checks: a permutation of the block that computes the same thing (simulation),
    a dataflow certificate, and with --prove a symbolic proof. Raises VerificationFailed."""
    instrs, opts, block_index = p.instrs, p.opts, p.index
    if sorted(final.origin) != p.ident:
        raise VerificationFailed(f"block {block_index}: the schedule is not a permutation of the block")
    if not final.renamed and not final.fixed and not is_valid_order(p.bt.dag, final.origin):
        raise VerificationFailed(f"block {block_index}: the schedule breaks a dependency")
    outputs = None if not final.renamed else sorted(p.live_out | {"sp"})
    output_map = _output_map(instrs, final, p.movable) if final.renamed else {}
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
        from scheduler.checks.prove import prove

        pr = prove(instrs, final.instrs, opts.noalias, outputs)
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


def live_out_of(program: Program, block: Block, declared: frozenset[str], all_outputs: bool = False) -> frozenset[str]:
    """Registers whose value after `block` matters: read anywhere else in the file (a
    conservative stand-in for control flow), declared outputs, and x0 when `ret`
    follows the block (the AAPCS64 result register)."""
    members = {id(i) for i in block.instructions}
    out = set(declared)
    if program.opaque_code or all_outputs:
        # bytes the tool cannot decode may read any register, or no outputs were declared for code
        # that does not end in `ret` (the outputs rule, scheduler/outputs.py): every register's
        # final value counts, also of registers the block does not write (renaming may not use them)
        out |= set(ALL_REGISTERS)
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
    return for_each_block(program, opts, lambda index, instrs, share, live_out, movable, clock: optimize_block(
        index, instrs, model, opts, share, progress, live_out, movable, clock))


def for_each_block(program: Program, opts: Options, optimize: Callable[..., BlockResult]) -> list[BlockResult]:
    """`optimize(index, instructions, budget, live_out, movable, clock)` for every block, the time
    limit shared by instruction count."""
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
        results.append(optimize(b.index, b.instructions, share,
                                live_out_of(program, b, declared, opts.all_outputs), movable, clock))
    return results
