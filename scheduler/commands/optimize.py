"""`scheduler optimize`: schedule every block of a kernel, check it, write it with its report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from scheduler.commands import bench as bench_command
from scheduler.commands.common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_UNKNOWN,
    InputError,
    load,
    reg_list,
)
from scheduler.commands.options import add_input_options, add_no_alias_option, int_at_least, positive_float
from scheduler.core.clock import clear_stop, install_interrupt_handler, stop_requested
from scheduler.frontend.ir import Program
from scheduler.present.compare import draw_optimized
from scheduler.present.outfiles import atomic_path, check_paths, check_reads, write_atomic

if TYPE_CHECKING:
    from scheduler.search.pipeline import ProgressEvent


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
    add_no_alias_option(p, "removes the memory edges between them")
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


def _default_output(path: Path) -> Path:
    # a .S input keeps its suffix: the output keeps its #defines and goes through cpp too
    suffix = ".S" if path.suffix == ".S" else ".s"
    if path.parent.name == "inputs":
        return path.parent.parent / "outputs" / (path.stem + suffix)
    return path.with_name(path.stem + ".sched" + suffix)


class _BlockLine:
    """optimize's progress: one line for the running block and stage (ProgressEvent), live on a
    terminal, plain log lines (at most one a second) otherwise."""

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

    def __call__(self, ev: ProgressEvent) -> None:
        gap = f"{ev.best / ev.bound - 1:.1%}" if ev.best and ev.bound else "-"
        ooo = f", OoO {ev.ooo:.1f}" if ev.ooo is not None else ""
        info, win = ev.detail, ""
        if "pass" in info:  # window passes (windows, rename-windows)
            win = f" pass {info['pass']}, {info['windows']} windows ({info['placed']}/{info['total']} placed),"
        elif ev.stage == "model":  # several models: one core's own search finished
            win = f" {info['model']} searched ({info['of']}),"
        elif "sweep" in info:  # renaming windows
            win = (f" round {info['round']}, sweep {info['sweep']}, window {info['window']}/{info['of']}"
                   f" ({info['accepted']} improved),")
        # which bound: CP-SAT's while it reorders holds for reorderings only (renaming may beat
        # it, so the next stages show a lower one); the others hold for every schedule searched
        which = "reorder-only bound" if ev.stage == "reorder" else "lower bound"
        text = (f"block {ev.block + 1}/{self.total} {ev.stage}:{win} in-order {ev.best}, {which} {ev.bound}, "
                f"gap {gap}{ooo}, {time.monotonic() - self.start:.1f}s")
        if self.live is not None:
            self.live.update(text)
        elif ev.stage in ("list", "done") or time.monotonic() - self.last >= 1.0:
            self.last = time.monotonic()
            self.console.print(text, highlight=False)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def cmd_optimize(args) -> int:
    """`scheduler optimize`: search, check and write a faster kernel. Exit 0 written (or nothing
    better: the input's order, checked), 1 a check failed and nothing was written, 3 with --prove
    neither proved nor refuted; input errors raise InputError (exit 2 in cli.main)."""
    from scheduler.core.budget import CommandClock, search_limit, shortfall
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
    prog = load(args.file, args)
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
        elapsed, n = command.elapsed(), len(prog.instructions)
        opts = replace(opts, time_limit=search_limit(args.time_limit, elapsed, n, len(models)))
        if (short := shortfall(args.time_limit, elapsed, n, len(models))) and not args.quiet:
            print(f"scheduler: warning: {short}", file=sys.stderr)
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
        return _write_optimized(args, prog, model, opts, results, chosen, out_path, report_path, interrupted,
                                command)
    except VerificationFailed as e:  # the whole-file check (present/finalize.py)
        print(f"scheduler: verification failed, nothing written: {e}", file=sys.stderr)
        return EXIT_FAIL


def _optimize_options(args, prog: Program):
    from scheduler.frontend.abi import DEFAULT_RESERVED
    from scheduler.frontend.outputs import choose_outputs
    from scheduler.search.optimize import Options

    noalias = frozenset(reg_list(args.no_alias)) | prog.noalias
    reserve = DEFAULT_RESERVED | frozenset(reg_list(args.reserve))
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
    progress = _BlockLine(err, blocks)
    clear_stop()
    restore = install_interrupt_handler(
        b"\ninterrupted: finishing with the best schedule so far (verified before it is written; "
        b"Ctrl-C again to abort)\n") if _main_thread() else None
    return progress, restore


def _write_optimized(args, prog, model, opts, results, chosen, out_path, report_path, interrupted,
                     command=None) -> int:
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
    add_mca(doc, [b.instructions for b in prog.blocks()], results, load_models(args.model or DEFAULT_MODEL),
            None if args.deterministic or command is None else args.time_limit - command.elapsed())
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


NAMES = ['optimize']  # the subcommands this module adds
add_parser = _optimize_parser


def run(args) -> int:
    """Run `scheduler optimize`; its exit code."""
    return cmd_optimize(args)
