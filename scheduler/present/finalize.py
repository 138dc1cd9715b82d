"""The last gate before a kernel is written: the emitted file, parsed back, checked as a whole.

Each block was checked on its own under what the control-flow analysis said of its context
(live registers after it, facts at its entry). Here the emitted text is parsed back (it must
give the planned blocks) and run against the input as a whole file, branches, loops and calls
included, in the simulator (`checks/wholefile.py`) and, for a file with control flow when
GNU as and qemu are there, natively (`checks/wholefile_exec.py`), so that a wrong fact about
the context shows up. When that
fails, the blocks are put back in their input order until the file passes: first each changed
block on its own, then all that passed alone together, else every block. The notes say which;
a file whose blocks are all back in input order is the input, which cannot fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from scheduler.checks import execcheck
from scheduler.checks.wholefile import WholeFileResult, check_files
from scheduler.checks.wholefile_exec import ExecWholeFileResult, exec_check_files
from scheduler.core.errors import SchedulerError
from scheduler.frontend.cfg import is_straight_line
from scheduler.frontend.ir import Block, Program
from scheduler.frontend.parse import parse_preprocessed_text, parse_text
from scheduler.present.emit import Scheduled, emit
from scheduler.present.roundtrip import try_emit_source
from scheduler.search.options import BlockResult, Status, VerificationFailed

WHOLE_FILE_TRIALS = 32


@dataclass
class Finalized:
    """The results after the whole-file check, the check itself, notes and the qemu run (if any)."""

    results: list[BlockResult]
    check: WholeFileResult
    notes: list[str] = field(default_factory=list)
    native: ExecWholeFileResult | None = None  # the qemu run of the whole file (files with control flow)

    def to_json(self) -> dict:
        """The whole-file check (and qemu run) for the report, as plain data."""
        c, n = self.check, self.native
        doc: dict[str, object] = {"trials": c.trials, "runs_ended": c.ended, "equal": c.equivalent and not c.not_run,
               "not_run": c.not_run or None, "notes": self.notes}
        if n is not None:
            doc["native"] = {"runner": n.runner, "trials": n.trials, "of": n.candidates,
                             "equal": n.equivalent and not n.not_run, "not_run": n.not_run or None}
        return doc


def changed(r: BlockResult) -> bool:
    """Whether the block's code changed: reordered, renamed or with adjusted offsets."""
    return r.order != list(range(r.instructions)) or r.renamed or bool(r.offset_fixups)


def revert(r: BlockResult, block: Block, why: str) -> BlockResult:
    """`r` with the block back in its input order (the figures become the input's)."""
    per_model = [dict(d, after=d["before"]) for d in r.per_model]
    return replace(r, order=list(range(r.instructions)), instructions_after=list(block.instructions),
                   renamed=False, register_map=[], offset_fixups=[], output_map={}, status=Status.FALLBACK,
                   cycles_after=r.cycles_before, ooo_cycles_after=r.ooo_cycles_before,
                   ooo_single_after=r.ooo_single_before, per_model=per_model, notes=[*r.notes, why])


def expanded_output(prog: Program, name: str) -> bool:
    """An output named `*.s` of a `.S` input is written expanded (the preprocessor's text):
    GNU as would read its `#define`s as comments. Every other output keeps the source."""
    return prog.source is not None and name.endswith(".s")


def parse_back(prog: Program, text: str, name: str, expanded: bool = False) -> Program:
    """`text` parsed as the written file will be read: through cpp when it keeps a `.S` source."""
    if prog.source is not None and not expanded:
        return parse_preprocessed_text(text, name, prog.source)
    return parse_text(text, name)


def _emit(prog: Program, results: Sequence[BlockResult], name: str, header: Sequence[str],
          expanded: bool) -> tuple[str, Program | None, str, list[str]]:
    """(text, parsed back, problem, notes): the source kept when it can be (present/roundtrip.py)
    and parses back to the planned blocks, else the expanded text."""
    blocks: dict[int, Scheduled] = {r.index: list(zip(r.order, r.instructions_after, strict=True)) for r in results}
    planned = [[str(i) for i in r.instructions_after] for r in results]
    notes: list[str] = []
    if not expanded:
        got = try_emit_source(prog, blocks, header)
        if got is None:
            notes.append("the whole file written expanded: a changed block's lines are shared with "
                         "another block or come from an included file")
        else:
            text, notes = got
            try:
                back = parse_back(prog, text, name)
                if planned == [[str(i) for i in b.instructions] for b in back.blocks()]:
                    return text, back, "", notes
                notes = ["the whole file written expanded: the source with the new order does not "
                         "give the planned blocks when parsed back"]
            except SchedulerError as e:
                notes = [f"the whole file written expanded: the source with the new order does not parse "
                         f"back ({str(e).replace(name, 'the emitted text')})"]
    text = emit(prog, blocks, header)
    try:
        back = parse_text(text, name)
    except SchedulerError as e:
        return text, None, f"the emitted text does not parse back: {str(e).replace(name, 'the emitted text')}", notes
    if planned != [[str(i) for i in b.instructions] for b in back.blocks()]:
        return text, None, "the emitted text does not give the planned blocks when parsed back", notes
    return text, back, "", notes


def emitted(prog: Program, results: Sequence[BlockResult], name: str, header: Sequence[str] = (),
            notes: list[str] | None = None) -> tuple[str, str]:
    """(text, problem): the kernel's text, and "" if it parses back to the planned blocks, else
    what went wrong (never blaming a file that does not exist). `notes` receives what the
    source round trip says (blocks written expanded, and why)."""
    text, _, problem, said = _emit(prog, results, name, header, expanded_output(prog, name))
    if notes is not None:
        notes.extend(said)
    return text, problem


@dataclass
class _Checked:
    problem: str  # "" when the emitted file passed
    sim: WholeFileResult
    native: ExecWholeFileResult | None = None


def _check(prog: Program, results: Sequence[BlockResult], outputs, noalias, seed: int) -> _Checked:
    """Check the file emitted from `results` (as it will be written, source round trip included)
    as a whole: in the simulator, and under qemu when the file has control flow and the
    toolchain is there (a straight-line file is a block, which the block checks and `--exec` cover)."""
    _, cand, problem, _ = _emit(prog, results, "<emitted>", (), False)
    if problem or cand is None:
        return _Checked(problem, WholeFileResult())
    moved = {r: m for b in results for r, m in b.output_map.items()}  # (straight-line kernels only)
    res = check_files(prog, cand, trials=WHOLE_FILE_TRIALS, seed=seed, outputs=outputs,
                      noalias=noalias, output_map=moved)
    if not res.equivalent:
        return _Checked(f"the whole file differs from the input ({_why(res)})", res)
    if is_straight_line(prog) or not execcheck.available():
        return _Checked("", res)
    native = exec_check_files(prog, cand, trials=WHOLE_FILE_TRIALS, seed=seed, outputs=outputs,
                              noalias=noalias, output_map=moved)
    if native.equivalent:
        return _Checked("", res, native)
    return _Checked(f"the whole file differs from the input under {native.runner} ({_why(native)})", res, native)


def _why(res: WholeFileResult | ExecWholeFileResult) -> str:
    """What made a whole-file run fail: its problem, else the first differing location."""
    m = res.mismatch
    return res.problem or (f"trial {m.trial}: {m.location} differs" if m else "")


def finalize(prog: Program, results: list[BlockResult], outputs, noalias, seed: int = 0) -> Finalized:
    """`results` that emit a file equal to the input as a whole, reverting blocks as needed.
    Raises VerificationFailed only if the input order itself fails (a bug in the checker)."""
    blocks = prog.blocks()
    first = _check(prog, results, outputs, noalias, seed)
    if not first.problem:
        return _finalized(results, first, [])
    notes = [f"the optimized file failed the whole-file check: {first.problem}"]
    keep = list(results)
    for i in [r.index for r in results if changed(r)]:
        trial = [r if r.index == i or not changed(r) else revert(r, blocks[r.index], "") for r in results]
        bad = _check(prog, trial, outputs, noalias, seed).problem
        if bad:
            keep[i] = revert(results[i], blocks[i], f"block {i} back in input order: with it the whole file "
                                                    f"differs from the input ({bad})")
            notes.append(f"block {i} kept in input order")
    last = _check(prog, keep, outputs, noalias, seed)
    if last.problem:
        keep = [revert(r, blocks[r.index], "block back in input order: the whole-file check failed")
                if changed(r) else r for r in keep]
        notes.append("every block kept in input order")
        last = _check(prog, keep, outputs, noalias, seed)
        if last.problem:
            raise VerificationFailed(f"the input order itself fails the whole-file check: {last.problem}")
    return _finalized(keep, last, notes)


def _finalized(results: list[BlockResult], checked: _Checked, notes: list[str]) -> Finalized:
    if checked.sim.not_run:
        notes.append(f"whole file not run: {checked.sim.not_run}")
    if checked.native is not None and checked.native.not_run:
        notes.append(f"whole file not run under {checked.native.runner}: {checked.native.not_run}")
    return Finalized(results, checked.sim, notes, checked.native)
