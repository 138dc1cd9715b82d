"""`scheduler parse`, `dag` and `simulate`: look at a kernel the way the tool sees it."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from scheduler.checks.simulate import run_instructions
from scheduler.checks.verify import (
    pointer_registers,
    random_state,
    straight_line,
)
from scheduler.commands.common import (
    EXIT_OK,
    InputError,
    load,
    parse_int,
    reg_list,
)
from scheduler.commands.options import add_input_options, add_no_alias_option
from scheduler.frontend.dag import build_dag
from scheduler.present.outfiles import check_paths, check_reads, write_atomic


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
    add_no_alias_option(p)
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


def cmd_parse(args) -> int:
    """`scheduler parse`: print each block's instructions with their form, reads, writes and memory access
    (or JSON); exit 0."""
    prog = load(args.file, args)
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
    """`scheduler dag`: print each block's dependency edges (or JSON), optionally writing a Graphviz file; exit 0."""
    dot_out = {"--dot": Path(args.dot)} if args.dot else {}
    check_paths({"input": Path(args.file)}, dot_out, in_place_hint=False)  # never over the input
    prog = load(args.file, args)
    check_reads(dot_out, prog.sources[1:], args.file)
    noalias = set(reg_list(args.no_alias)) | set(prog.noalias)
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


def cmd_simulate(args) -> int:
    """`scheduler simulate`: run the kernel from a random state (with --set/--mem) and print the registers it
    changed and the memory asked for (or JSON). Exit 0; a bad --set/--mem raises InputError (exit 2)."""
    prog = load(args.file, args)
    instrs = straight_line(prog)
    bases, indexes = pointer_registers(instrs)
    st = random_state(random.Random(args.seed), 5, bases, indexes)
    for item in args.set:
        name, _, value = item.partition("=")
        try:
            st.set(name.strip(), parse_int(value.strip(), f"--set {item}"))
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
        n = parse_int(size, f"--mem {item}")
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


NAMES = ['parse', 'dag', 'simulate']  # the subcommands this module adds
def add_parser(sub) -> None:
    """Add the `parse`, `dag` and `simulate` subcommands."""
    for add in (_parse_parser, _dag_parser, _simulate_parser):
        add(sub)


def run(args) -> int:
    """Run `parse`, `dag` or `simulate`, whichever `args.command` names; its exit code."""
    return {"parse": cmd_parse, "dag": cmd_dag, "simulate": cmd_simulate}[args.command](args)
