"""`scheduler compare`: kernels side by side (present/compare.py builds and prints the comparison)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scheduler.commands.common import reg_list
from scheduler.commands.options import add_input_options, add_no_alias_option
from scheduler.present.compare import CompareError, compare, load, print_diff, print_table, views_for


def cmd_compare(args) -> int:
    """`scheduler compare`: print the comparison (or JSON), the text timelines and draw the timeline file.
    Exit 0; bad input (e.g. a timeline with nothing to draw) raises (exit 2)."""
    from rich.console import Console

    from scheduler.machine.model import DEFAULT_MODEL, load_model
    from scheduler.present.timeline import check_path, draw, text_timeline

    if args.timeline:
        check_path(args.timeline)
        from scheduler.present.outfiles import check_paths

        # never draw over one of the kernels being compared
        check_paths({f"file {i + 1}": Path(f) for i, f in enumerate(args.files)}, {"--timeline": Path(args.timeline)},
                    in_place_hint=False)
    names = [n.strip() for item in (args.model or []) for n in item.split(",") if n.strip()]
    noalias = frozenset(reg_list(args.no_alias))
    doc = compare(args.files, names, args.include, args.define, noalias, mca=not args.no_mca, diff=args.diff,
                  max_statements=args.max_instructions)
    model = load_model(names[0] if names else DEFAULT_MODEL)
    files = [load(p, [model], args.include, args.define, noalias, args.max_instructions) for p in args.files] \
        if (args.timeline or args.text_timeline) else []
    views = []
    for f in files:
        for bi, instrs in enumerate(f.blocks):
            title = f.path if len(f.blocks) == 1 else f"{f.path} block {bi}"
            views += views_for([(title, instrs)], model, f.noalias)
    if args.timeline and not views:
        raise CompareError(f"{args.timeline}: nothing to draw: no instructions in {', '.join(args.files)}")
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        console = Console()  # the tables fit the console's width (80 columns when piped)
        print_table(doc, console)
        if args.diff:
            print_diff(doc, console)
    if args.text_timeline:
        out = sys.stderr if args.json else sys.stdout
        width = Console(stderr=args.json).width  # COLUMNS (80 when not a terminal)
        for v in views:
            print(text_timeline(v, args.cycles, width), file=out)
            print(file=out)
    if args.timeline:
        p = draw(views, model, args.timeline)
        print(f"wrote {p}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of cycles, got '{text}'")
    return n


def add_parser(sub) -> None:
    """Add the `compare` subcommand and its options."""
    p = sub.add_parser("compare", help="compare schedules side by side (cycles, stalls, pipes, llvm-mca, timelines)",
                       description="Compare kernels side by side: per file and block, in-order and out-of-order "
                                   "cycles under each model, lower bound and gap, critical path, pipe use, stall "
                                   "causes, and llvm-mca-19's figures when it is on PATH. The first file is the "
                                   "reference: the others are flagged as reorderings, renamed reorderings or "
                                   "different kernels.\n\nexamples:\n"
                                   "  scheduler compare inputs/mul_4x4.s outputs/mul_4x4.s\n"
                                   "  scheduler compare a.s b.s c.s --model neoverse-n1 neoverse-n1-llvm --diff\n"
                                   "  scheduler compare a.s b.s --timeline t.html --text-timeline",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="kernels; the first is the reference")
    p.add_argument("--model", action="extend", nargs="+", metavar="NAME",
                   help="machine model(s), repeatable or comma-separated (default neoverse-n1)")
    add_no_alias_option(p)
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--timeline", metavar="FILE", help="draw the schedules as Gantt charts (.html, .svg or .png)")
    p.add_argument("--text-timeline", action="store_true",
                   help="print a text timeline of each schedule, fitted to COLUMNS")
    p.add_argument("--cycles", type=_positive, metavar="N",
                   help="--text-timeline: show at most the first N cycles (as llvm-mca's -timeline-max-cycles)")
    p.add_argument("--diff", action="store_true", help="aligned listing of where each instruction moved")
    p.add_argument("--no-mca", action="store_true", help="do not run llvm-mca even if it is on PATH")
    add_input_options(p)


NAMES = ["compare"]


def run(args) -> int:
    """Run `scheduler compare`; its exit code."""
    return cmd_compare(args)
