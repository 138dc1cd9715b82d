"""Command-line interface: `scheduler <command> ...`.

Exit codes: 0 success; 1 the check failed (not equivalent / unverified);
2 bad input or usage (a `FILE:LINE: message` on stderr); 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence

from . import __version__
from .dag import build_dag
from .errors import SchedulerError
from .ir import Program
from .parse import parse_file
from .simulate import run_instructions
from .verify import live_ins, pointer_registers, random_state, straight_line, verify

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

EPILOG = """\
examples:
  scheduler parse inputs/mul_4x4.s                 # instructions with their reads/writes
  scheduler dag inputs/mul_4x4.s --dot dag.dot     # dependency DAG
  scheduler simulate inputs/mul_4x4.s --mem x1:32 --mem x2:32 --mem x0:64
  scheduler verify inputs/mul_4x4.s mine.s --trials 500 --outputs x0

exit codes: 0 ok, 1 check failed (e.g. not equivalent), 2 bad input, 3 internal error
"""


class InputError(SchedulerError):
    pass


def _reg_list(text: str) -> list[str]:
    from .isa.operands import parse_register

    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        reg = parse_register(item)
        res = "nzcv" if item.lower() == "nzcv" else getattr(reg, "resource", None)
        if res is None:
            raise InputError(f"'{item}' is not a register")
        out.append(res)
    return out


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="include directory for .S files (C preprocessor)")
    p.add_argument("-D", dest="define", action="append", default=[], metavar="SYM[=VAL]",
                   help="preprocessor definition for .S files")


def _load(path: str, args) -> Program:
    return parse_file(path, include_dirs=args.include, defines=args.define)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="scheduler",
        description="Instruction-scheduling superoptimizer for straight-line AArch64 kernels.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"scheduler {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("parse", help="list a file's blocks and instructions with their reads/writes",
                       description="Parse a file and list each block's instructions with what they "
                                   "read and write.\n\nexample:\n  scheduler parse inputs/mul_4x4.s --json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_input_options(p)

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
    _add_input_options(p)

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
    _add_input_options(p)

    p = sub.add_parser("verify", help="randomized differential equivalence of two kernels",
                       description="Check that CANDIDATE computes what ORIGINAL computes, on random "
                                   "initial states with edge values.\nCompared: all memory written, "
                                   "callee-saved x19-x29, sp, v8-v15 (low 64 bits), and the outputs "
                                   "(--outputs, else `// @outputs` in ORIGINAL, else every register "
                                   "and the flags).\n\nexample:\n  scheduler verify inputs/mul_4x4.s "
                                   "outputs/mul_4x4.s --trials 1000 --no-alias x0,x1,x2",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("original")
    p.add_argument("candidate")
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outputs", default="", metavar="REGS", help="comma-separated output registers")
    p.add_argument("--no-alias", default="", metavar="REGS",
                   help="base registers that point to disjoint buffers (pointer aliasing is "
                        "exercised for all other pairs)")
    p.add_argument("--json", action="store_true")
    _add_input_options(p)
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
            mem = f"  {i.mem.kind} {i.mem.size}B [{i.mem.base}{'' if i.mem.offset is None else f'{i.mem.offset:+d}'}]" if i.mem else ""
            print(f"  {i.loc.line:5d}  {str(i):40s} R={','.join(sorted(i.reads)) or '-'}"
                  f"  W={','.join(sorted(i.writes)) or '-'}{mem}")
    return EXIT_OK


def cmd_dag(args) -> int:
    prog = _load(args.file, args)
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
        with open(args.dot, "w") as f:
            f.write("\n".join(dot) + "\n")
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
    orig_prog = _load(args.original, args)
    cand_prog = _load(args.candidate, args)
    orig, cand = straight_line(orig_prog), straight_line(cand_prog)
    outputs = _reg_list(args.outputs) or list(orig_prog.outputs) or None
    noalias = set(_reg_list(args.no_alias)) | set(orig_prog.noalias)
    res = verify(orig, cand, trials=args.trials, seed=args.seed, outputs=outputs, noalias=noalias)
    relevant = sorted(live_ins(orig) | live_ins(cand))
    if args.json:
        doc = {"original": args.original, "candidate": args.candidate,
               "equivalent": res.equivalent, "trials": res.trials, "seed": args.seed,
               "compared": list(res.compared), "problems": res.problems, "mismatch": None}
        if res.mismatch:
            m = res.mismatch
            doc["mismatch"] = {"trial": m.trial, "location": m.location, "original": hex(m.expected),
                               "candidate": hex(m.actual),
                               "initial": {r: hex(v) for r, v in m.initial.registers().items()}}
        print(json.dumps(doc, indent=2))
        return EXIT_OK if res.equivalent else EXIT_FAIL
    if res.equivalent:
        outs = ", ".join(outputs) if outputs else "all registers and flags"
        print(f"equivalent: {res.trials} trials passed (seed {args.seed}); compared memory, "
              f"callee-saved registers and outputs: {outs}")
        return EXIT_OK
    print("NOT equivalent", file=sys.stdout)
    for p in res.problems:
        print(f"  problem: {p}")
    if res.mismatch:
        m = res.mismatch
        print(f"  trial {m.trial}: {m.location} differs: original {m.expected:#x}, candidate {m.actual:#x}")
        print("  initial state (registers either program reads before writing):")
        for r in relevant:
            print(f"    {r:5s} = {m.initial.get(r):#x}")
    return EXIT_FAIL


COMMANDS = {"parse": cmd_parse, "dag": cmd_dag, "simulate": cmd_simulate, "verify": cmd_verify}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SchedulerError as e:
        print(f"{e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - never show users a traceback
        print(f"scheduler: internal error: {type(e).__name__}: {e} (please report this)", file=sys.stderr)
        return EXIT_INTERNAL



