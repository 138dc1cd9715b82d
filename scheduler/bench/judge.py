"""`optimize --judge bench`: the search keeps its model; at the end the harness decides.

For every block the search changed (or that has other verified candidates), the input, the
best schedule and up to K-1 other distinct verified candidates (BlockResult.alternatives,
collected by search/optimize.py when Options.judge_k > 1) are measured together, interleaved
(measure.py). The fastest by median cycles per call is kept only if it beats the input by
more than the measured noise (measure.faster); otherwise the block goes back to its input
order. The block's report gets a `measured` entry with every candidate's measured figures
beside the model's.

A trailing branch or `ret` is left out of the timed body (it ends every candidate alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scheduler.bench.measure import BenchError, Executor, Kernel, faster
from scheduler.frontend.ir import Instruction, Program
from scheduler.search.options import Alternative, BlockResult, Status

CALLS = 1000
REPEATS = 15
RULE = "kept only if median(input) - median(candidate) > max(noise(input), noise(candidate)), noise = q3 - q1"


@dataclass
class Entry:
    """One candidate of a block to measure: its instructions and the model's cycles for it."""

    name: str
    instrs: list[Instruction]
    alternative: Alternative | None  # None: the input ("input") or the search's best ("best")
    model_inorder: float
    model_ooo: float


def _body(instrs: Sequence[Instruction]) -> list[Instruction] | None:
    """The timed body: without a trailing branch; None if anything else cannot be simulated."""
    body = list(instrs)
    while body and (body[-1].is_branch or body[-1].mnemonic == "ret"):
        body.pop()
    if any(i.is_branch or i.mnemonic == "ret" for i in body):
        return None
    return body


def _key(instrs: Sequence[Instruction]) -> tuple[str, ...]:
    return tuple(str(i) for i in instrs)


def entries(block_instrs: Sequence[Instruction], r: BlockResult, k: int) -> list[Entry]:
    """The input first, then up to k distinct candidates (the best, then the alternatives)."""
    out = [Entry("input", list(block_instrs), None, r.cycles_before, r.ooo_cycles_before)]
    seen = {_key(block_instrs)}
    cands = [Entry("best", list(r.instructions_after), None, r.cycles_after, r.ooo_cycles_after)]
    cands += [Entry(f"candidate {j + 2}", a.instrs, a, a.cycles, a.ooo_steady) for j, a in enumerate(r.alternatives)]
    for e in cands:
        if len(out) > k:
            break
        if _key(e.instrs) not in seen:
            seen.add(_key(e.instrs))
            out.append(e)
    return out


def judge_block(block_instrs: Sequence[Instruction], r: BlockResult, executor: Executor, k: int,
                calls: int = CALLS, repeats: int = REPEATS) -> str | None:
    """Measure, choose, and update `r` in place; a one-line summary, or None if nothing to judge."""
    es = entries(block_instrs, r, k)
    bodies = [_body(e.instrs) for e in es]
    if len(es) < 2:
        return None
    if any(b is None for b in bodies):
        r.notes.append("--judge bench: not measured (the block has control flow inside)")
        return None
    kernels = [Kernel(e.name, tuple(b or ())) for e, b in zip(es, bodies, strict=True)]
    try:
        m = executor.measure(kernels, calls, repeats)
    except BenchError as e:  # e.g. a kernel faults in the harness: the model's choice stands
        r.notes.append(f"--judge bench: not measured ({e}); the model's choice is kept")
        return f"block {r.index}: not measured: {e}"
    inp = m.samples[0]
    best_j = min(range(1, len(es)), key=lambda j: (m.samples[j].cycle_stats.median, j))
    win = faster(m.samples[best_j], inp)
    chosen = best_j if win else 0
    r.measured = {
        "emulated": m.emulated, "timer": m.timer, "cpu": m.cpu, "calls": m.calls, "repeats": m.repeats,
        "rule": RULE, "chosen": es[chosen].name,
        "candidates": [{"name": e.name, "model_inorder": e.model_inorder, "model_ooo": round(e.model_ooo, 2),
                        "cycles": s.cycle_stats.to_json(), "ns": s.ns_stats.to_json()}
                       for e, s in zip(es, m.samples, strict=True)],
    }
    _apply(r, es[chosen], block_instrs)
    si, sc = inp.cycle_stats, m.samples[best_j].cycle_stats
    verdict = (f"kept {es[chosen].name}" if win else
               f"input order kept: the fastest ({es[best_j].name}) does not beat it by more than the noise")
    r.notes.append(f"--judge bench: {len(es) - 1} candidate(s) measured; {verdict}")
    return (f"block {r.index}: measured input {si.median:.1f} cycles/call (noise {si.noise:.1f}), "
            f"fastest {es[best_j].name} {sc.median:.1f} (noise {sc.noise:.1f}): {verdict}"
            + (" [emulated]" if m.emulated else ""))


def _apply(r: BlockResult, e: Entry, block_instrs: Sequence[Instruction]) -> None:
    if e.name == "best":
        return
    # the search's optimality note was about the schedule now dropped
    r.notes = [n for n in r.notes if not n.startswith("OPTIMAL")]
    if e.name == "input":
        r.order, r.instructions_after = list(range(r.instructions)), list(block_instrs)
        r.renamed, r.register_map, r.offset_fixups, r.output_map = False, [], [], {}
        r.cycles_after, r.ooo_cycles_after, r.ooo_single_after = r.cycles_before, r.ooo_cycles_before, \
            r.ooo_single_before
        r.status, r.proof = Status.FALLBACK, "certificate"
        return
    a = e.alternative
    assert a is not None
    r.order, r.instructions_after, r.renamed = a.order, a.instrs, a.renamed
    r.register_map, r.offset_fixups, r.output_map, r.proof = a.register_map, a.offset_fixups, {}, a.proof
    r.cycles_after, r.ooo_cycles_after, r.ooo_single_after = a.cycles, a.ooo_steady, a.ooo_single
    r.status = Status.FEASIBLE  # (the model's optimality claim was for another schedule)


def judge_program(prog: Program, results: Sequence[BlockResult], executor: Executor, k: int,
                  calls: int = CALLS, repeats: int = REPEATS) -> list[str]:
    """Judge every block of `prog` by measurement (updating `results`); one summary line per judged block."""
    lines = []
    for block, r in zip(prog.blocks(), results, strict=True):
        line = judge_block(block.instructions, r, executor, k, calls, repeats)
        if line:
            lines.append(line)
    return lines
