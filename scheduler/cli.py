"""Command-line interface: `scheduler <command> ...`.

Exit codes: 0 success; 1 the check failed (not equivalent / unverified);
2 bad input or usage (a `FILE:LINE: message` on stderr); 3 unknown (`verify --prove` could
neither prove nor refute; `optimize --prove`: a block was not proved, nothing written);
4 internal error. An interrupted `optimize` (Ctrl-C) writes the best verified schedule and exits 0.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from scheduler import __version__
from scheduler.bench import command as bench_command
from scheduler.checks.simulate import run_instructions
from scheduler.checks.verify import (
    live_ins,
    pointer_registers,
    random_state,
    segments,
    straight_line,
    verify,
)
from scheduler.core.clock import clear_stop, install_interrupt_handler, stop_requested
from scheduler.core.errors import SchedulerError
from scheduler.frontend.cfg import is_straight_line
from scheduler.frontend.dag import build_dag
from scheduler.frontend.ir import Program
from scheduler.frontend.isa.table import TABLE
from scheduler.frontend.parse import parse_file
from scheduler.present.batch import add_parser as add_batch_parser
from scheduler.present.batch import cmd_batch
from scheduler.present.cliopts import add_input_options, int_at_least, parse_kwargs, positive_float
from scheduler.present.compare import add_parser as add_compare_parser
from scheduler.present.compare import cmd_compare, draw_optimized
from scheduler.present.outfiles import atomic_path, check_paths, check_reads, write_atomic

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 4

EPILOG = """\
examples:
  scheduler optimize inputs/mul_4x4.s              # writes outputs/mul_4x4.s and outputs/mul_4x4.json
  scheduler optimize k.S -o k.sched.s --model neoverse-n1-llvm --time-limit 60 --json
  scheduler optimize inputs/large/p256_double.s --time-limit 300    # Ctrl-C writes the best so far
  scheduler models list
  scheduler parse inputs/mul_4x4.s                 # instructions with their reads/writes
  scheduler dag inputs/mul_4x4.s --dot dag.dot     # dependency DAG
  scheduler simulate inputs/mul_4x4.s --mem x1:32 --mem x2:32 --mem x0:64
  scheduler verify inputs/mul_4x4.s mine.s --trials 500 --outputs x0
  scheduler compare inputs/mul_4x4.s outputs/mul_4x4.s --timeline t.html

exit codes: 0 ok, 1 check failed (e.g. not equivalent), 2 bad input, 3 unknown (--prove),
            4 internal error
"""


class InputError(SchedulerError):
    pass


class _ArgumentParser(argparse.ArgumentParser):
    """A bad option value (`--time-limit 0`, an unknown --objective) is one line, exit 2:
    the usage, pages long, would bury it. Other usage errors still show the usage."""

    def error(self, message: str):
        if message.startswith("argument ") and ("invalid" in message or ": must be" in message
                                               or "is not" in message):
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        super().error(message)


def _reg_list(text: str) -> list[str]:
    from scheduler.frontend.isa.operands import parse_register

    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        reg = parse_register(item)
        res = "nzcv" if item.lower() == "nzcv" else getattr(reg, "resource", None)
        if res is None:
            raise InputError(f"'{item}' is not a register")
        out.append(res)
    return out


def _load(path: str, args) -> Program:
    return parse_file(path, **parse_kwargs(args))


def _optimize_parser(sub) -> None:
    p = sub.add_parser("optimize", help="reorder every straight-line block for a machine model",
                       description="Schedule every straight-line block of a kernel for a machine model "
                                   "(CP-SAT on the in-order model, candidates judged by the out-of-order "
                                   "model), verify it, and write it with a JSON report.\n\n"
                                   "Default output: for a file in a directory named `inputs`, the sibling "
                                   "`outputs/<name>.s`; otherwise `<name>.sched.s` next to the input; "
                                   "`-o -` writes the kernel to stdout. The report goes next to the output "
                                   "as `<output>.json` unless --report says otherwise.\n\n"
                                   "examples:\n  scheduler optimize inputs/mul_4x4.s\n"
                                   "  scheduler optimize k.S -I include -o out.s --time-limit 120 --workers 2 "
                                   "--seed 1\n"
                                   "  scheduler optimize k.s --model neoverse-n1,neoverse-v1,neoverse-v2 "
                                   "--objective worst",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the scheduled kernel ('-' = stdout)")
    p.add_argument("--model", default=None, metavar="NAME[,NAME...]",
                   help="machine model (see `scheduler models list`); several, comma-separated: one "
                        "schedule for all of them under --objective worst or mean")
    p.add_argument("--time-limit", type=positive_float, default=30.0, metavar="S",
                   help="total seconds (default 30)")
    p.add_argument("--workers", type=int_at_least(0), default=0, help="CP-SAT workers (default: all cores)")
    p.add_argument("--in-place", action="store_true",
                   help="replace the input file with the scheduled kernel, keeping a backup: FILE.orig, or "
                        "FILE.orig.1, FILE.orig.2, ... when that exists (a backup is never overwritten); "
                        "without it, no output may name an input")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--objective", choices=["ooo", "single", "inorder", "worst", "mean"], default=None,
                   help="what faster means: ooo = back-to-back runs on the out-of-order core (steady "
                        "state, then the cold run; default), single = one cold run, out of order, "
                        "inorder = the in-order issue model CP-SAT optimises (default for an in-order "
                        "core); with several models: worst (default) or mean of each core's cycles "
                        "over that core's own best")
    p.add_argument("--slack", type=float, default=0.0,
                   help="accept in-order cycles up to this fraction above the best found, if the "
                        "out-of-order model prefers it (default 0)")
    p.add_argument("--no-alias", default="", metavar="REGS",
                   help="base registers that point to disjoint buffers")
    p.add_argument("--no-rename", action="store_true",
                   help="reorder only: keep every register as written")
    p.add_argument("--outputs", default=None, metavar="REGS",
                   help="registers live after the kernel, kept in place by renaming: --outputs, else "
                        "`// @outputs` in the file, else x0 when the code ends in ret, else every "
                        "register (callee-saved registers, sp and memory always count); `none`: only "
                        "memory and callee-saved registers")
    p.add_argument("--exec", action="store_true",
                   help="before writing, also run input and output as real AArch64 code (GNU as, "
                        "aarch64-linux-gnu-gcc, qemu-aarch64; see scripts/setup-debian.sh) and compare")
    p.add_argument("--rename-outputs", action="store_true",
                   help="let renaming move declared outputs (--outputs, // @outputs) that nothing else "
                        "in the file reads to other registers; the report's output_map says where")
    p.add_argument("--decompose", choices=["auto", "always", "never"], default="auto",
                   help="window passes (receding horizon, see docs/scheduling.md): auto = after the "
                        "whole-block solve for blocks of 600+ instructions; always = instead of it")
    p.add_argument("--deterministic", action="store_true",
                   help="repeatable runs: --time-limit counts CP-SAT deterministic time (plus a fixed "
                        "charge per evaluation), one CP-SAT worker; same input and --seed, same output")
    p.add_argument("--prove", action="store_true",
                   help="also prove every block by symbolic execution (as `verify --prove`) before "
                        "writing; a refuted block exits 1, an unproved one 3, and nothing is written")
    p.add_argument("--no-fixup", action="store_true",
                   help="never adjust load/store offsets to move them across updates of their base "
                        "register (add/sub #imm, writeback)")
    p.add_argument("--reserve", default="", metavar="REGS",
                   help="registers renaming must never use (always reserved: x18, x29, x30, sp; "
                        "x19-x28 and v8-v15 unless the block writes them)")
    p.add_argument("--report", metavar="FILE", help="JSON report path")
    p.add_argument("--certificate", metavar="FILE",
                   help="write a certificate (inst_map, register maps, assumptions per block)")
    p.add_argument("--certificate-format", choices=["json", "hol"], default="json",
                   help="hol: each block's inst_map as a HOL Light list, one per line")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    p.add_argument("--quiet", action="store_true",
                   help="no live progress and no per-stage summary (the table and the paths still print)")
    p.add_argument("--timeline", metavar="FILE", help="draw before/after Gantt charts (.html, .svg or .png)")
    bench_command.add_judge_options(p)
    add_input_options(p)


def _check_certificate_parser(sub) -> None:
    p = sub.add_parser("check-certificate", help="check an optimisation certificate independently",
                       description="Re-derive CANDIDATE from ORIGINAL and the certificate written by "
                                   "`optimize --certificate` (permutation, renaming) and check that every "
                                   "dataflow and memory-order relation is preserved.\n\nexample:\n"
                                   "  scheduler check-certificate inputs/mul_4x4.s outputs/mul_4x4.s cert.json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("original")
    p.add_argument("candidate")
    p.add_argument("certificate")
    add_input_options(p)


def _models_parser(sub) -> None:
    p = sub.add_parser("models", help="list, show and check machine models",
                       description="Machine models live in models/*.toml (and $SCHEDULER_MODELS_PATH).\n\n"
                                   "examples:\n  scheduler models list\n  scheduler models show neoverse-n1\n"
                                   "  scheduler models check neoverse-n1-llvm",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["list", "show", "check"])
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--json", action="store_true")


def _parse_parser(sub) -> None:
    p = sub.add_parser("parse", help="list a file's blocks and instructions with their reads/writes",
                       description="Parse a file and list each block's instructions with what they "
                                   "read and write.\n\nexample:\n  scheduler parse inputs/mul_4x4.s --json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_input_options(p)


def _dag_parser(sub) -> None:
    p = sub.add_parser("dag", help="dependency DAG of each block",
                       description="Build each block's dependency DAG (RAW/WAR/WAW over registers, "
                                   "flags and memory).\n\nexample:\n  scheduler dag inputs/mul_4x4.s "
                                   "--no-alias x0,x1,x2 --dot out.dot",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("--no-alias", default="", metavar="REGS",
                   help="comma-separated base registers that point to disjoint buffers")
    p.add_argument("--dot", metavar="FILE", help="write Graphviz DOT")
    p.add_argument("--json", action="store_true")
    add_input_options(p)


def _simulate_parser(sub) -> None:
    p = sub.add_parser("simulate", help="run a straight-line kernel in the built-in simulator",
                       description="Run a kernel from a given or random initial state and print "
                                   "the final state.\n\nexamples:\n"
                                   "  scheduler simulate k.s --set x3=0x10 --mem x1:32\n"
                                   "  scheduler simulate k.s --mem x1:16=00112233445566778899aabbccddeeff --json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("--set", action="append", default=[], metavar="REG=VALUE",
                   help="initial register value (x0-x30, sp, v0-v31, nzcv)")
    p.add_argument("--mem", action="append", default=[], metavar="REG:SIZE[=HEX]",
                   help="point REG at a buffer of SIZE bytes (optionally initialised, little-endian "
                        "byte order as written) and print it after the run")
    p.add_argument("--seed", type=int, default=0, help="seed of the random initial state")
    p.add_argument("--all", action="store_true", help="print every register, not just those written")
    p.add_argument("--json", action="store_true")
    add_input_options(p)


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
    p.add_argument("--no-alias", default="", metavar="REGS",
                   help="base registers that point to disjoint buffers (pointer aliasing is "
                        "exercised for all other pairs)")
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


def build_parser() -> argparse.ArgumentParser:
    ap = _ArgumentParser(
        prog="scheduler",
        description="Instruction-scheduling superoptimizer for straight-line AArch64 kernels.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"scheduler {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _optimize_parser(sub)
    add_compare_parser(sub)
    add_batch_parser(sub)
    bench_command.add_parsers(sub)
    for add in (_check_certificate_parser, _models_parser, _parse_parser, _dag_parser, _simulate_parser,
                _verify_parser):
        add(sub)
    return ap



# ------------------------------------------------------------------ commands

def cmd_parse(args) -> int:
    prog = _load(args.file, args)
    blocks = prog.blocks()
    if args.json:
        print(json.dumps({"file": args.file, "blocks": [
            {"index": b.index, "instructions": [
                {"line": i.loc.line, "text": str(i), "form": i.form.key, "opclass": i.opclass,
                 "reads": sorted(i.reads), "writes": sorted(i.writes),
                 "memory": None if i.mem is None else {
                     "kind": i.mem.kind, "base": i.mem.base, "offset": i.mem.offset,
                     "size": i.mem.size, "index": i.mem.index}}
                for i in b.instructions]} for b in blocks]}, indent=2))
        return EXIT_OK
    for b in blocks:
        print(f"block {b.index}: {len(b.instructions)} instructions")
        for i in b.instructions:
            off = "" if i.mem is None or i.mem.offset is None else f"{i.mem.offset:+d}"
            mem = f"  {i.mem.kind} {i.mem.size}B [{i.mem.base}{off}]" if i.mem else ""
            print(f"  {i.loc.line:5d}  {i!s:40s} R={','.join(sorted(i.reads)) or '-'}"
                  f"  W={','.join(sorted(i.writes)) or '-'}{mem}")
    return EXIT_OK


def cmd_dag(args) -> int:
    dot_out = {"--dot": Path(args.dot)} if args.dot else {}
    check_paths({"input": Path(args.file)}, dot_out, in_place_hint=False)  # never over the input
    prog = _load(args.file, args)
    check_reads(dot_out, prog.sources[1:], args.file)
    noalias = set(_reg_list(args.no_alias)) | set(prog.noalias)
    out = []
    dot = ["digraph dag {", "  node [shape=box, fontname=monospace];"]
    for b in prog.blocks():
        g = build_dag(b.instructions, noalias)
        edges = [{"from": u, "to": v, "deps": [f"{d.kind}:{d.resource}" for d in g.edges[u, v]["deps"]]}
                 for u, v in g.edges]
        out.append({"block": b.index, "nodes": len(b.instructions), "edges": edges})
        for n in g.nodes:
            dot.append(f'  b{b.index}_{n} [label="{n}: {g.nodes[n]["instr"]}"];')
        for e in edges:
            dot.append(f'  b{b.index}_{e["from"]} -> b{b.index}_{e["to"]} [label="{" ".join(e["deps"])}"];')
        if not args.json:
            print(f"block {b.index}: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges")
            for e in edges:
                print(f"  {e['from']:4d} -> {e['to']:4d}  {' '.join(e['deps'])}")
    dot.append("}")
    if args.dot:
        write_atomic(Path(args.dot), "\n".join(dot) + "\n")
    if args.json:
        print(json.dumps({"file": args.file, "blocks": out}, indent=2))
    return EXIT_OK


def _parse_int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise InputError(f"{what}: '{text}' is not an integer") from None


def cmd_simulate(args) -> int:
    prog = _load(args.file, args)
    instrs = straight_line(prog)
    bases, indexes = pointer_registers(instrs)
    st = random_state(random.Random(args.seed), 5, bases, indexes)
    for item in args.set:
        name, _, value = item.partition("=")
        try:
            st.set(name.strip(), _parse_int(value.strip(), f"--set {item}"))
        except KeyError:
            raise InputError(f"--set {item}: unknown register '{name}'") from None
    dumps = []
    next_buffer = 0x7000_0000_0000
    set_regs = {i.partition("=")[0].strip().lower() for i in args.set}
    for item in args.mem:
        spec, _, hexdata = item.partition("=")
        reg, _, size = spec.partition(":")
        reg = reg.strip().lower()
        try:
            if reg not in set_regs:
                st.set(reg, next_buffer)
                next_buffer += 0x1_0000_0000
            addr = st.get(reg)
        except KeyError:
            raise InputError(f"--mem {item}: unknown register '{reg}'") from None
        n = _parse_int(size, f"--mem {item}")
        if hexdata:
            try:
                st.mem.load_bytes(addr, bytes.fromhex(hexdata))
            except ValueError:
                raise InputError(f"--mem {item}: bad hex data") from None
        dumps.append((reg, addr, n))
    final = run_instructions(instrs, st)
    written = set().union(*(i.writes for i in instrs)) if instrs else set()
    shown = [r for r in final.registers() if args.all or r in written]
    if args.json:
        print(json.dumps({
            "file": args.file, "instructions": len(instrs),
            "initial": {r: hex(v) for r, v in st.registers().items()},
            "final": {r: hex(v) for r, v in final.registers().items()},
            "written": sorted(written),
            "memory": {f"{reg}:{n}": final.mem.dump(addr, n).hex() for reg, addr, n in dumps},
        }, indent=2))
        return EXIT_OK
    print(f"{args.file}: ran {len(instrs)} instructions")
    for r in shown:
        before, after = st.get(r), final.get(r)
        mark = "" if before == after else f"   (was {before:#x})"
        print(f"  {r:5s} = {after:#x}{mark}")
    for reg, addr, n in dumps:
        print(f"  mem[{reg}={addr:#x}, {n} bytes] = {final.mem.dump(addr, n).hex()}")
    return EXIT_OK


def cmd_verify(args) -> int:
    from scheduler.frontend.outputs import choose_outputs

    orig_prog = _load(args.original, args)
    cand_prog = _load(args.candidate, args)
    # one rule for every command (scheduler/frontend/outputs.py): --outputs, else `// @outputs` in the
    # ORIGINAL, else x0 when the original ends in `ret` (AAPCS64), else every register and the
    # flags. A candidate's own `@outputs` is never trusted to shrink what is compared.
    chosen = choose_outputs(orig_prog, args.outputs, args.original)
    noalias = set(_reg_list(args.no_alias)) | set(orig_prog.noalias)
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


def _default_output(path: Path) -> Path:
    # a .S input keeps its suffix: the output keeps its #defines and goes through cpp too
    suffix = ".S" if path.suffix == ".S" else ".s"
    if path.parent.name == "inputs":
        return path.parent.parent / "outputs" / (path.stem + suffix)
    return path.with_name(path.stem + ".sched" + suffix)


class _Progress:
    """A live line on a terminal, plain log lines (at most one a second) otherwise."""

    def __init__(self, console, total_blocks: int):
        self.console = console
        self.total = total_blocks
        self.live = None
        self.last = 0.0
        self.start = time.monotonic()
        if console.is_terminal:
            from rich.live import Live

            self.live = Live("", console=console, transient=True, refresh_per_second=8)
            self.live.start()

    def __call__(self, block: int, stage: str, info: dict) -> None:
        bound = info.get("bound") or 0
        best = info.get("best")
        gap = f"{best / bound - 1:.1%}" if best and bound else "-"
        ooo = f", OoO {info['ooo']:.1f}" if "ooo" in info else ""
        win = ""
        if stage == "windows":
            win = f" pass {info['pass']}, {info['windows']} windows ({info['placed']}/{info['total']} placed),"
        elif stage == "model":  # several models: one core's own search finished
            win = f" {info['model']} searched ({info['of']}),"
        elif stage == "rename":
            win = (f" round {info['round']}, sweep {info['sweep']}, window {info['window']}/{info['of']}"
                   f" ({info['accepted']} improved),")
        # which bound: CP-SAT's while it solves holds for reorderings only (renaming may beat it,
        # so the next stages show a lower one); the others hold for every schedule searched
        which = "reorder-only bound" if stage == "solve" else "lower bound"
        text = (f"block {block + 1}/{self.total} {stage}:{win} in-order {best}, {which} {bound}, gap {gap}{ooo}, "
                f"{time.monotonic() - self.start:.1f}s")
        if self.live is not None:
            self.live.update(text)
        elif stage in ("list", "done") or time.monotonic() - self.last >= 1.0:
            self.last = time.monotonic()
            self.console.print(text, highlight=False)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def cmd_optimize(args) -> int:
    from scheduler.core.budget import CommandClock, search_limit
    from scheduler.machine.model import DEFAULT_MODEL, load_models
    from scheduler.present.timeline import check_path as check_timeline_path
    from scheduler.search.multimodel import resolve_objective
    from scheduler.search.optimize import (
        ProofUnknown,
        VerificationFailed,
        optimize_program,
    )

    # --time-limit counts from the process's start (main), or from here when called in-process
    command = CommandClock(getattr(args, "command_start", None) or time.monotonic())
    if args.timeline:
        check_timeline_path(args.timeline)
    out_path, report_path = _optimize_paths(args)
    models = load_models(args.model or DEFAULT_MODEL)
    model = models[0]  # the certificate's and the summary's model (the first named)
    prog = _load(args.file, args)
    # and none may name a file the input reads (a header it #includes, an .incbin file)
    check_reads(_output_files(args, out_path, report_path), prog.sources[1:], args.file)
    for m in models:
        missing = [i for b in prog.blocks() for i in b.instructions if i.opclass not in m.spec.opclasses]
        if missing:
            raise InputError(f"{missing[0].loc}: model {m.name} cannot place '{missing[0]}' "
                             f"(opclass {missing[0].opclass})")
    args.objective = resolve_objective(args.objective, models)
    bench_command.optimize_preflight(args, models)
    opts, chosen = _optimize_options(args, prog)
    if not args.deterministic:  # (deterministic time is work, not seconds: the limit is the search's)
        opts = replace(opts, time_limit=search_limit(args.time_limit, command.elapsed(), len(prog.instructions),
                                                     len(models)))
    opts = bench_command.judge_options(args, opts)
    progress, restore = _start_progress(args, len(prog.blocks()))
    try:
        if len(models) > 1:
            from scheduler.search.multimodel import optimize_program_multi

            results = optimize_program_multi(prog, models, opts, progress)
        else:
            results = optimize_program(prog, model, opts, progress)
    except ProofUnknown as e:
        print(f"scheduler: unknown, nothing written: {e}", file=sys.stderr)
        return EXIT_UNKNOWN
    except VerificationFailed as e:
        print(f"scheduler: verification failed, nothing written: {e}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        progress.stop()
        if restore is not None:
            restore()
    interrupted = stop_requested()
    bench_command.judge_results(args, prog, results)
    problem = _exec_blocks(prog, results, opts) if args.exec else None
    if problem:
        print(f"scheduler: verification failed, nothing written: {problem}", file=sys.stderr)
        return EXIT_FAIL
    try:
        return _write_optimized(args, prog, model, opts, results, chosen, out_path, report_path, interrupted)
    except VerificationFailed as e:  # the whole-file check (present/finalize.py)
        print(f"scheduler: verification failed, nothing written: {e}", file=sys.stderr)
        return EXIT_FAIL


def _optimize_options(args, prog: Program):
    from scheduler.frontend.abi import DEFAULT_RESERVED
    from scheduler.frontend.outputs import choose_outputs
    from scheduler.search.optimize import Options

    noalias = frozenset(_reg_list(args.no_alias)) | prog.noalias
    reserve = DEFAULT_RESERVED | frozenset(_reg_list(args.reserve))
    chosen = choose_outputs(prog, args.outputs, args.file)  # the one rule verify and compare use
    opts = Options(time_limit=args.time_limit, workers=args.workers, seed=args.seed,
                   noalias=noalias, slack=args.slack, rename=not args.no_rename, reserve=reserve,
                   outputs=frozenset(chosen.registers or ()), all_outputs=chosen.every,
                   fixup=not args.no_fixup,
                   rename_outputs=args.rename_outputs, decompose=args.decompose,
                   deterministic=args.deterministic, prove=args.prove, objective=args.objective)
    return opts, chosen


def _start_progress(args, blocks: int):
    from rich.console import Console

    err = Console(stderr=True, quiet=args.json or args.quiet)  # --json: the report is the only output
    progress = _Progress(err, blocks)
    clear_stop()
    restore = install_interrupt_handler(
        b"\ninterrupted: finishing with the best schedule so far (verified before it is written; "
        b"Ctrl-C again to abort)\n") if _main_thread() else None
    return progress, restore


def _write_optimized(args, prog, model, opts, results, chosen, out_path, report_path, interrupted) -> int:
    """Emit the kernel (checked by parsing it back), then write it, the certificate, the report
    and the timeline, and print the summary."""
    from rich.console import Console

    from scheduler.machine.model import DEFAULT_MODEL, load_models
    from scheduler.present.emit import own_header
    from scheduler.present.finalize import emitted, finalize
    from scheduler.present.report import (
        add_mca,
        header_lines,
        print_stages,
        print_summary,
        report_json,
    )

    # the whole file, branches and calls included, against the input; blocks that make it
    # differ go back to their input order (the report's notes say which)
    fin = finalize(prog, results, chosen.as_list(), opts.noalias, opts.seed)
    results = fin.results
    doc = report_json(args.file, str(out_path) if out_path else "-", model, opts, results)
    doc["interrupted"] = interrupted
    doc["options"]["search_time_limit"] = round(opts.time_limit, 3)  # what the search got of it
    doc["options"]["time_limit"] = args.time_limit  # the whole command's (core/budget.py)
    doc["outputs"] = chosen.to_json()
    doc["whole_file_check"] = fin.to_json()
    # llvm-mca beside the objective's figure, for every model's -mcpu (present/figures.py)
    add_mca(doc, [b.instructions for b in prog.blocks()], results, load_models(args.model or DEFAULT_MODEL))
    header = header_lines(model, doc)
    old = own_header(prog)
    if old and old[0].startswith(header[0].split(" (")[0] + " (") and all(
            r.order == list(range(r.instructions)) and not r.renamed and not r.offset_fixups for r in results):
        header = old  # an earlier output of ours, and nothing better found: a fixed point
    # The emitter is checked too: the written text must parse back to the planned blocks.
    source_notes: list[str] = []
    text, problem = emitted(prog, results, str(out_path or "<stdout>"), header, source_notes)
    doc["source_notes"] = source_notes  # blocks written expanded instead of through their source lines
    if problem:
        print(f"scheduler: verification failed, nothing written: {problem}", file=sys.stderr)
        return EXIT_FAIL
    backup = None
    if out_path is None:
        sys.stdout.write(text)
    else:
        backup = write_atomic(out_path, text, backup=args.in_place)
    if args.certificate:
        _write_certificate(args, prog, results, model, opts)
    if report_path is not None:
        write_atomic(report_path, json.dumps(doc, indent=2) + "\n")
    if args.timeline:
        _draw_atomic(args.timeline, [b.instructions for b in prog.blocks()], results, model, opts.noalias)
    if args.json:
        print(json.dumps(doc, indent=2), file=sys.stderr if out_path is None else sys.stdout)
        return EXIT_OK
    console = Console(stderr=out_path is None)
    if not args.quiet:
        print_stages(doc, console)
    print_summary(doc, console)
    for note in source_notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"wrote {out_path or 'stdout'}" + (f" and {report_path}" if report_path else "")
                  + (f"; the input was saved as {backup}" if backup else ""))
    return EXIT_OK


def _exec_blocks(prog: Program, results, opts) -> str | None:
    """`optimize --exec`: every changed block run before and after as real AArch64 code; the
    first difference, or None."""
    from scheduler.checks.execcheck import exec_check

    for block, r in zip(prog.blocks(), results, strict=True):
        if r.order == list(range(r.instructions)) and not r.renamed and not r.offset_fixups:
            continue
        if r.output_map:
            r.notes.append("not executed (--exec): outputs moved to other registers")
            continue
        outputs = None if r.live_out is None else sorted(set(r.live_out) | {"sp"})
        res = exec_check(block.instructions, r.instructions_after, trials=200, seed=opts.seed,
                         outputs=outputs, noalias=opts.noalias)
        if not res.equivalent:
            return f"block {r.index}: the execution check (qemu) differs: {res.mismatch or res.problems}"
        r.notes.append(f"executed as AArch64 code: {res.trials} trials equal")
    return None


def _optimize_paths(args) -> tuple[Path | None, Path | None]:
    """The kernel's and the report's paths; every output checked against the input and each
    other, and for writability, before any work."""
    if args.in_place and args.output not in (None, args.file):
        raise InputError(f"{args.file}: --in-place writes the input file; it cannot be combined with -o")
    if args.in_place:
        out_path: Path | None = Path(args.file)
    else:
        out_path = None if args.output == "-" else Path(args.output) if args.output else _default_output(
            Path(args.file))
    report_path = Path(args.report) if args.report else (
        out_path.with_name(out_path.name + ".json") if args.in_place and out_path
        else out_path.with_suffix(".json") if out_path else None)
    outputs = _output_files(args, out_path, report_path)
    check_paths({"input": Path(args.file)}, outputs, in_place="-o" if args.in_place else None)
    return out_path, report_path


def _output_files(args, out_path: Path | None, report_path: Path | None) -> dict[str, Path]:
    return {name: Path(p) for name, p in (("-o", out_path), ("--report", report_path),
                                          ("--certificate", args.certificate),
                                          ("--timeline", args.timeline)) if p is not None}


def _draw_atomic(path: str, blocks, results, model, noalias) -> None:
    """Draw into a temporary file beside `path`, then rename it into place."""
    with atomic_path(Path(path)) as tmp:
        draw_optimized(tmp, blocks, results, model, noalias)


def _write_certificate(args, prog, results, model, opts) -> None:
    from scheduler.checks.certificate import block_certificate, hol_list

    blocks = [block_certificate(r, model.name, opts.noalias, opts.reserve) for r in results]
    if args.certificate_format == "hol":
        text = "".join(f"(* block {b['block']} *) {hol_list(b['inst_map'])}\n" for b in blocks)
    else:
        text = json.dumps({"input": args.file, "blocks": blocks}, indent=2) + "\n"
    write_atomic(Path(args.certificate), text)


def cmd_check_certificate(args) -> int:
    from scheduler.checks.certificate import check_block

    orig_prog = _load(args.original, args)
    cand_prog = _load(args.candidate, args)
    try:
        cert = json.loads(Path(args.certificate).read_text())
        entries = cert["blocks"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{args.certificate}: not a certificate ({type(e).__name__}: {e})") from None
    orig_blocks, cand_blocks = orig_prog.blocks(), cand_prog.blocks()
    if len(orig_blocks) != len(cand_blocks) or len(entries) != len(orig_blocks):
        print(f"certificate does not match: {len(orig_blocks)} original blocks, {len(cand_blocks)} "
              f"candidate blocks, {len(entries)} certificate entries")
        return EXIT_FAIL
    for ob, cb, entry in zip(orig_blocks, cand_blocks, entries, strict=True):
        problems = check_block(ob.instructions, cb.instructions, entry)
        if problems:
            print(f"block {ob.index}: certificate violated: {problems[0]}")
            return EXIT_FAIL
    print(f"certificate checked: {len(entries)} block(s); the candidate follows from the original")
    return EXIT_OK


def _console():
    """stdout as rich sees it: COLUMNS wide (80 when not a terminal), no colour codes in pipes."""
    from rich.console import Console

    return Console(highlight=False)


def cmd_models(args) -> int:
    from scheduler.machine.model import DEFAULT_MODEL, available_models, load_model

    if args.action == "list":
        broken: dict[str, str] = {}
        models = available_models(broken)
        for err in broken.values():
            print(f"warning: skipped a model file: {err.splitlines()[0]}", file=sys.stderr)
        if args.json:
            print(json.dumps({n: {"file": str(p), "variant": v} for n, (p, v) in models.items()}, indent=2))
        else:
            from scheduler.present.tablefit import Col, fit_table

            rows = [[n, p.name, load_model(n).spec.description if v is None
                     else load_model(n).spec.variants[v].description] for n, (p, v) in models.items()]
            _console().print(fit_table(_console(), [Col("model", "left"), Col("file", "left", 1),
                                                    Col("description", "left", kind="prose")], rows))
        return EXIT_OK
    model = load_model(args.name or DEFAULT_MODEL)
    if args.action == "show":
        spec = model.spec
        if args.json:
            print(json.dumps(spec.model_dump(by_alias=True), indent=2))
            return EXIT_OK
        from scheduler.present.tablefit import Col, fit_table, shorten

        console = _console()
        for line in (f"{model.name}: {spec.description}", f"file: {shorten(str(model.path), console.width - 6)}",
                     "core: " + ", ".join(f"{k}={getattr(spec.core, k).value}" for k in type(spec.core).model_fields),
                     "pipes: " + ", ".join(f"{k}x{v}" for k, v in model.pipes.items())
                     + "; groups: " + ", ".join(f"{g}={'+'.join(x.pipes)}" for g, x in spec.groups.items())):
            console.print(line, highlight=False, markup=False)
        rows = [[name, str(c.latency), " ".join(f"{u.pipe}" + (f"/{u.busy}" if u.busy > 1 else "") for u in c.uops),
                 c.source] for name, c in spec.classes.items()]
        console.print(fit_table(console, [Col("class", "left"), Col("latency"), Col("uops", "left"),
                                          Col("source", "left", kind="prose")], rows))
        return EXIT_OK
    missing = model.coverage()
    classes = sum(len(f.opclasses) for f in TABLE)
    if args.json:
        print(json.dumps({"model": model.name, "forms": len(TABLE), "missing": missing}, indent=2))
    else:
        print(f"{model.name}: {len(TABLE)} instruction forms ({classes} form/opclass pairs), "
              f"{len(missing)} without a class")
        for m in missing:
            print(f"  missing: {m}")
    return EXIT_OK if not missing else EXIT_FAIL


COMMANDS = {
    "optimize": cmd_optimize, "compare": cmd_compare, "models": cmd_models, "parse": cmd_parse,
    "dag": cmd_dag, "simulate": cmd_simulate, "verify": cmd_verify,
    "check-certificate": cmd_check_certificate,
    "batch": cmd_batch,
    **bench_command.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    from scheduler.core.budget import process_age

    # a command line counts its time from the process's start (start-up and imports included);
    # a call from Python (argv given: tests, scripts) from this call
    start = time.monotonic() - (process_age() if argv is None else 0.0)
    args = build_parser().parse_args(argv)
    args.command_start = start
    try:
        return COMMANDS[args.command](args)
    except SchedulerError as e:
        print(f"{e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `scheduler models show | head`
        sys.stderr.close()
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - never show users a traceback
        print(f"scheduler: internal error: {type(e).__name__}: {e} (please report this)", file=sys.stderr)
        return EXIT_INTERNAL



