"""`verify` of files with control flow (labels jumped to, loops, calls): the whole-file checks.

A straight-line file is one block and `verify` compares it directly. A file with branches is
compared as a whole: both files run from the function's entry through their branches, loops
and calls, in the simulator (`checks/wholefile.py`) and, with `--exec`, under qemu
(`checks/wholefile_exec.py`). `--prove` adds a proof of each block against its counterpart
under the facts the control-flow analysis gives it (`frontend/cfg.py`), when both files have
the same blocks between the same branches; the proof covers the blocks, the runs cover how
they are put together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from scheduler.checks.verify import Mismatch
from scheduler.checks.wholefile import check_files
from scheduler.frontend.cfg import BLOCK, block_contexts, build
from scheduler.frontend.ir import Program
from scheduler.frontend.outputs import Outputs

EXIT_OK, EXIT_FAIL, EXIT_UNKNOWN = 0, 1, 3


def _shape(program: Program) -> list[str]:
    """The file's control flow with the blocks left out: what must match for block-by-block proof."""
    return [u.kind if u.kind == BLOCK else f"{u.kind}:{u.instr}" for u in build(program).units]


def prove_blocks(orig: Program, cand: Program, chosen: Outputs, noalias: Iterable[str],
                 timeout: float) -> tuple[str, list[str]]:
    """("proved" | "refuted" | "unknown", notes): each block proved under its context."""
    from scheduler.checks.prove import prove

    if _shape(orig) != _shape(cand):
        return "unknown", ["the files do not have the same branches between their blocks: no block-by-block proof"]
    contexts = block_contexts(orig, chosen.as_list() or [], noalias)
    notes, status = [], "proved"
    for k, (a, b, ctx) in enumerate(zip(orig.blocks(), cand.blocks(), contexts, strict=True)):
        res = prove(a.instructions, b.instructions, ctx.facts, sorted(ctx.live_out), timeout=timeout)
        if res.status != "proved":
            notes.append(f"block {k}: {res.status}: {res.reason}")
            status = "refuted" if res.status == "refuted" else ("unknown" if status == "proved" else status)
    return status, notes


def _mismatch_lines(m: Mismatch) -> list[str]:
    return [f"  trial {m.trial}: {m.location} differs: original {m.expected:#x}, candidate {m.actual:#x}"]


def verify_files(args, orig: Program, cand: Program, chosen: Outputs, noalias: set[str]) -> int:
    """The verdict of `verify` on two files with control flow; printed, and the exit code."""
    from scheduler.checks import execcheck
    from scheduler.checks.wholefile_exec import exec_check_files

    outputs = chosen.as_list()
    compared = f"compared memory (call log included), callee-saved registers and {chosen.describe()}"
    sim = check_files(orig, cand, trials=args.trials, seed=args.seed, outputs=outputs, noalias=noalias)
    native = None
    if args.exec and sim.equivalent:
        execcheck.toolchain()  # ToolchainMissing: exit 2 with the setup hint
        native = exec_check_files(orig, cand, trials=args.trials, seed=args.seed, outputs=outputs, noalias=noalias)
    proof, notes = "", list[str]()
    if args.prove and sim.equivalent and (native is None or native.equivalent):
        proof, notes = prove_blocks(orig, cand, chosen, noalias, args.prove_timeout)
    failed = (not sim.equivalent or (native is not None and not native.equivalent and not native.not_run)
              or proof == "refuted")
    code = EXIT_FAIL if failed else EXIT_UNKNOWN if proof == "unknown" or sim.not_run else EXIT_OK
    if args.json:
        doc = {"original": args.original, "candidate": args.candidate, "mode": "whole-file",
               "equivalent": not failed, "seed": args.seed, "outputs": chosen.to_json(), "verdict_note": compared,
               "simulator": {"trials": sim.trials, "runs_ended": sim.ended, "problem": sim.problem or None,
                             "not_run": sim.not_run or None, "mismatch": _mismatch_doc(sim.mismatch)},
               "native": None if native is None else {
                   "runner": native.runner, "trials": native.trials, "problem": native.problem or None,
                   "not_run": native.not_run or None, "mismatch": _mismatch_doc(native.mismatch)},
               "proof": None if not args.prove else {"status": proof or "not run", "notes": notes}}
        print(json.dumps(doc, indent=2))
        return code
    if failed:
        print(f"NOT equivalent (whole files); {compared}")
        for res, how in ((sim, "simulator"), (native, "qemu")):
            if res is not None and not res.equivalent:
                if res.problem:
                    print(f"  problem ({how}): {res.problem}")
                if res.mismatch:
                    print(f"  ({how})" + _mismatch_lines(res.mismatch)[0])
        for n in notes:
            print(f"  {n}")
        return code
    runs = f"{sim.trials} whole-file runs in the simulator ({sim.ended} ended within the step limit)"
    if native is not None:
        runs += (f", native check not run: {native.not_run}" if native.not_run else
                 f", {native.trials} under {native.runner}")
    if sim.not_run:
        print(f"unknown: the files cannot be run as a whole: {sim.not_run}")
    elif proof == "proved":
        print(f"proved equivalent block by block under the control-flow facts; {runs} agree; {compared}")
    elif proof == "unknown":
        print(f"unknown: not proved ({'; '.join(notes)}); {runs} agree; {compared}")
    else:
        print(f"equivalent: {runs} agree (seed {args.seed}); {compared}")
    return code


def _mismatch_doc(m: Mismatch | None) -> dict | None:
    if m is None:
        return None
    return {"trial": m.trial, "location": m.location, "original": hex(m.expected), "candidate": hex(m.actual)}
