"""`scheduler verify`: are two kernels equivalent (random trials, `--prove`, `--exec`)?"""

from __future__ import annotations

import argparse
import json
import sys

from scheduler.checks.verify import (
    live_ins,
    segments,
    straight_line,
    verify,
)
from scheduler.commands.common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_UNKNOWN,
    InputError,
    load,
    reg_list,
)
from scheduler.commands.options import add_input_options, add_no_alias_option
from scheduler.frontend.cfg import is_straight_line
from scheduler.frontend.ir import Program


def _verify_parser(sub) -> None:
    p = sub.add_parser("verify", help="randomized differential equivalence of two kernels",
                       description="Check that CANDIDATE computes what ORIGINAL computes, on random "
                                   "initial states with edge values.\nCompared: all memory written, "
                                   "callee-saved x19-x29, sp, v8-v15 (low 64 bits), and the outputs: "
                                   "--outputs, else `// @outputs` in ORIGINAL, else x0 when ORIGINAL "
                                   "ends in `ret` (AAPCS64), else every register and the flags.\n"
                                   "--exec runs both kernels as real AArch64 code (GNU as, "
                                   "aarch64-linux-gnu-gcc, qemu-aarch64) instead of the built-in "
                                   "simulator.\n\nexamples:\n  scheduler verify inputs/mul_4x4.s "
                                   "outputs/mul_4x4.s --trials 1000 --no-alias x0,x1,x2\n"
                                   "  scheduler verify --exec inputs/mul_4x4.s outputs/mul_4x4.s --trials 500",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("original")
    p.add_argument("candidate")
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outputs", default=None, metavar="REGS",
                   help="comma-separated output registers, or 'none' (memory and callee-saved "
                        "registers only)")
    p.add_argument("--exec", action="store_true",
                   help="execution check: assemble both kernels with GNU as and run them under "
                        "qemu-aarch64 (natively on AArch64) on the random and edge-value states, "
                        "independently of the built-in simulator (see scripts/setup-debian.sh)")
    add_no_alias_option(p, "pointer aliasing is exercised for all other pairs")
    p.add_argument("--prove", action="store_true",
                   help="prove equivalence for all inputs: symbolic execution of both programs over "
                        "bit-vectors (structural identity for reorderings/renamings, the z3 SMT solver "
                        "for the rest) under the no-alias assumptions; exit 0 proved, 1 refuted with a "
                        "counterexample confirmed by the simulator, 3 unknown (time limit, or a form "
                        "without symbolic semantics; 2000+ random trials are run then)")
    p.add_argument("--prove-timeout", type=float, default=30.0, metavar="S",
                   help="time limit of the SMT part of --prove in seconds (default 30)")
    p.add_argument("--json", action="store_true")
    add_input_options(p)


def cmd_verify(args) -> int:
    """`scheduler verify`: check the candidate against the original (segment by segment, whole files or one block).
    Exit 0 equivalent, 1 a difference or a failed check, 3 unknown (--prove neither proved nor refuted)."""
    from scheduler.frontend.outputs import choose_outputs

    orig_prog = load(args.original, args)
    cand_prog = load(args.candidate, args)
    # one rule for every command (scheduler/frontend/outputs.py): --outputs, else `// @outputs` in the
    # ORIGINAL, else x0 when the original ends in `ret` (AAPCS64), else every register and the
    # flags. A candidate's own `@outputs` is never trusted to shrink what is compared.
    chosen = choose_outputs(orig_prog, args.outputs, args.original)
    noalias = set(reg_list(args.no_alias)) | set(orig_prog.noalias)
    if args.exec and args.prove:
        raise InputError("verify: use --prove or --exec, not both")
    if orig_prog.opaque_code or cand_prog.opaque_code:
        return _verify_segments(args, orig_prog, cand_prog, chosen, noalias)
    if not (is_straight_line(orig_prog) and is_straight_line(cand_prog)):  # branches: compare whole files
        from scheduler.present.verify_files import verify_files

        return verify_files(args, orig_prog, cand_prog, chosen, noalias)
    return _verify_pair(args, straight_line(orig_prog), straight_line(cand_prog), chosen, noalias)


def _verify_segments(args, orig_prog: Program, cand_prog: Program, chosen, noalias) -> int:
    """Files with code the tool cannot decode (`.byte`, `.inst` outside the table, ...): the
    undecodable parts must be the same, in the same order; each straight-line segment between
    them is verified on its own, every register counting before undecodable code (it may read
    any), the outputs rule after the last one."""
    import contextlib
    import io

    from scheduler.frontend.outputs import Outputs

    (osegs, odirs), (csegs, cdirs) = segments(orig_prog), segments(cand_prog)
    if [" ".join(d.text.split()) for d in odirs] != [" ".join(d.text.split()) for d in cdirs]:
        print("NOT equivalent: the code the tool cannot decode (.byte, .inst, ...) differs between the files")
        return EXIT_FAIL
    codes, docs = [], []
    for k, (o, c) in enumerate(zip(osegs, csegs, strict=True)):
        last = k == len(osegs) - 1
        seg_outputs = chosen if last else Outputs(None, f"every register: undecodable code follows ({odirs[k].loc})")
        if not args.json:
            print(f"segment {k + 1}/{len(osegs)} ({len(o)} instructions):")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf) if args.json else contextlib.nullcontext():
            codes.append(_verify_pair(args, o, c, seg_outputs, noalias))
        if args.json:
            docs.append(json.loads(buf.getvalue()))
    if args.json:
        print(json.dumps({"original": args.original, "candidate": args.candidate, "segments": docs}, indent=2))
    return EXIT_FAIL if EXIT_FAIL in codes else EXIT_UNKNOWN if EXIT_UNKNOWN in codes else max(codes)


def _verify_pair(args, orig, cand, chosen, noalias) -> int:
    """verify (or --prove, --exec) of two straight-line instruction lists."""
    outputs = chosen.as_list()
    compared = f"compared memory, callee-saved registers and {chosen.describe()}"
    if args.exec:
        return _verify_exec(args, orig, cand, chosen, noalias)
    proof = None
    if args.prove:
        from scheduler.checks.prove import prove

        proof = prove(orig, cand, noalias, outputs, timeout=args.prove_timeout)
        if proof.status == "proved" and not args.json:
            how = {"certificate": "the candidate is a reordering/renaming of the original that preserves "
                                  "every dataflow and memory-order relation (certificate check)",
                   "structural": "both programs compute identical symbolic terms for every output "
                                 "(reordering/renaming)",
                   "simplify": "every output's symbolic terms are equal after normalisation",
                   "smt": "every output's symbolic terms are equal (SMT solver)"}[proof.method]
            print(f"proved equivalent for all inputs: {how} ({len(orig)} instructions; "
                  f"{proof.stats.get('seconds', 0):.2f} s; assumptions: no-alias {sorted(noalias) or 'none'}, "
                  f"incoming sp disjoint from other incoming pointers); {compared}")
            return EXIT_OK
        if proof.status == "refuted" and not args.json:
            print(f"NOT equivalent (refuted by the prover; counterexample confirmed by simulation); {compared}")
            for line in proof.counterexample.lines():  # type: ignore[union-attr]  # refuted: it has one
                print(f"  {line}")
            return EXIT_FAIL
    if proof is not None and proof.status == "refuted":
        res = None
    else:
        # unknown: look hard for a counterexample
        trials = max(args.trials, 2000) if proof is not None and proof.status == "unknown" else args.trials
        res = verify(orig, cand, trials=trials, seed=args.seed, outputs=outputs, noalias=noalias)
    relevant = sorted(live_ins(orig) | live_ins(cand))
    if proof is not None and proof.status == "unknown" and res is not None and res.equivalent and not args.json:
        print(f"unknown: not proved ({proof.reason}); no counterexample in {res.trials} random trials; "
              f"{compared}")
        if proof.unproved:
            shown = ", ".join(proof.unproved[:10]) + (", ..." if len(proof.unproved) > 10 else "")
            print(f"  unproved: {shown}")
        return EXIT_UNKNOWN
    if args.json:
        print(json.dumps(_verify_doc(args, proof, res, chosen, compared), indent=2))
        if proof is not None and proof.status == "proved":
            return EXIT_OK
        if res is None or not res.equivalent:
            return EXIT_FAIL
        return EXIT_UNKNOWN if proof is not None else EXIT_OK
    assert res is not None  # None only when refuted, which returned above without --json
    if res.equivalent:
        print(f"equivalent: {res.trials} trials passed (seed {args.seed}); {compared}")
        return EXIT_OK
    print(f"NOT equivalent; {compared}", file=sys.stdout)
    for p in res.problems:
        print(f"  problem: {p}")
    if res.mismatch:
        m = res.mismatch
        print(f"  trial {m.trial}: {m.location} differs: original {m.expected:#x}, candidate {m.actual:#x}")
        print("  initial state (registers either program reads before writing):")
        for r in relevant:
            print(f"    {r:5s} = {m.initial.get(r):#x}")
    return EXIT_FAIL


def _verify_doc(args, proof, res, chosen, compared: str) -> dict:
    """`verify --json`: the verdict as a document."""
    doc = {"original": args.original, "candidate": args.candidate,
           "equivalent": False if res is None else res.equivalent,
           "trials": 0 if res is None else res.trials, "seed": args.seed,
           "proved": None if proof is None else proof.status == "proved",
           "proof_note": None if proof is None else proof.reason,
           "outputs": chosen.to_json(), "verdict_note": compared,
           "compared": [] if res is None else list(res.compared),
           "problems": [] if res is None else res.problems, "mismatch": None}
    if proof is not None:
        doc["proof"] = {"status": proof.status, "method": proof.method, "reason": proof.reason,
                        "unproved": proof.unproved,
                        "seconds": round(proof.stats.get("seconds", 0.0), 3),
                        "counterexample": proof.counterexample.to_json() if proof.counterexample else None}
    if res is not None and res.mismatch:
        m = res.mismatch
        doc["mismatch"] = {"trial": m.trial, "location": m.location, "original": hex(m.expected),
                           "candidate": hex(m.actual),
                           "initial": {r: hex(v) for r, v in m.initial.registers().items()}}
    return doc


def _verify_exec(args, orig, cand, chosen, noalias) -> int:
    """`verify --exec`: both kernels run as AArch64 code (scheduler/checks/execcheck.py)."""
    from scheduler.checks.execcheck import exec_check

    res = exec_check(orig, cand, trials=args.trials, seed=args.seed, outputs=chosen.as_list(),
                     noalias=noalias)
    compared = f"compared memory, callee-saved registers and {chosen.describe()}"
    how = f"GNU as + {'native execution' if res.runner == 'native' else 'qemu-aarch64'}"
    relevant = sorted(live_ins(orig) | live_ins(cand))
    m = res.mismatch
    if args.json:
        doc = {"original": args.original, "candidate": args.candidate, "mode": "exec",
               "equivalent": res.equivalent, "trials": res.trials, "seed": args.seed,
               "outputs": chosen.to_json(), "verdict_note": compared, "compared": list(res.compared),
               "problems": res.problems, "seconds": res.seconds, "mismatch": None}
        if m is not None:
            doc["mismatch"] = {"trial": m.trial, "location": m.location, "where": res.where or None,
                               "original": hex(m.expected), "candidate": hex(m.actual),
                               "initial": {r: hex(v) for r, v in m.initial.registers().items()}}
        print(json.dumps(doc, indent=2))
        return EXIT_OK if res.equivalent else EXIT_FAIL
    if res.equivalent:
        print(f"equivalent (executed: {how}): {res.trials} trials passed (seed {args.seed}); {compared}")
        return EXIT_OK
    print(f"NOT equivalent (executed: {how}); {compared}")
    for p in res.problems:
        print(f"  problem: {p}")
    if m is not None:
        if m.location.startswith("crash"):
            print(f"  trial {m.trial}: the candidate crashed {m.location[len('crash '):]}; the original ran")
        else:
            at = f" (incoming {res.where})" if res.where else ""
            print(f"  trial {m.trial}: {m.location}{at} differs: original {m.expected:#x}, "
                  f"candidate {m.actual:#x}")
        print("  initial state (registers either program reads before writing):")
        for r in relevant:
            print(f"    {r:5s} = {m.initial.get(r):#x}")
        if m.location.startswith("mem["):
            addr = int(m.location[4:-1], 16) & ~7
            print(f"  initial memory word at {addr:#x}: {int.from_bytes(m.initial.mem.dump(addr, 8), 'little'):#018x}")
    return EXIT_FAIL


NAMES = ['verify']  # the subcommands this module adds
add_parser = _verify_parser


def run(args) -> int:
    """Run `scheduler verify`; its exit code."""
    return cmd_verify(args)
