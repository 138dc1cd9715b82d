"""Command-line parsers and commands of `scheduler bench` and `scheduler calibrate`, and the
`optimize --judge bench` options and hooks (kept here so cli.py only calls them)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from scheduler.bench.measure import EMULATED_WARNING, BenchError, Executor, Kernel
from scheduler.commands.options import add_input_options, int_at_least, parse_kwargs
from scheduler.core.errors import SchedulerError

EXIT_OK = 0
TIMERS = ["auto", "perf", "cntvct", "clock"]


def _measure_options(p: argparse.ArgumentParser, calls: int, repeats: int) -> None:
    p.add_argument("--calls", type=int_at_least(1), default=calls, metavar="N",
                   help=f"back-to-back calls per timing (default {calls})")
    p.add_argument("--repeats", type=int_at_least(1), default=repeats, metavar="R",
                   help=f"timings per kernel, interleaved; min, median and noise are over these (default {repeats})")
    p.add_argument("--cpu", type=int_at_least(-1), default=-1, metavar="N",
                   help="pin the harness to this CPU (default: the one it starts on)")
    p.add_argument("--timer", choices=TIMERS, default="auto",
                   help="auto: perf_event_open cycles if permitted, else CNTVCT_EL0, else clock_gettime")
    p.add_argument("--seed", type=int, default=0, help="seed of the prepared registers and buffers")


def add_parsers(sub) -> None:
    """Add the `bench` and `calibrate` subcommands and their options."""
    p = sub.add_parser("bench", help="time kernels on this machine (natively on AArch64, else under qemu: flagged)",
                       description="Time straight-line kernels as AArch64 code: each is called N times back "
                                   "to back on prepared buffers (pointer registers and sizes by the rules "
                                   "`verify` uses, or --pointer), R times, all files interleaved; per call: "
                                   "min, median and noise (q3 - q1) in cycles and ns, net of the harness's "
                                   "own cost. Not on an AArch64 host it runs under qemu-user and says the "
                                   "figures are emulated (docs/bench.md).\n\nexamples:\n"
                                   "  scheduler bench inputs/mul_4x4.s outputs/mul_4x4.s\n"
                                   "  scheduler bench k.s --calls 5000 --repeats 31 --cpu 2 --json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE")
    _measure_options(p, 1000, 15)
    p.add_argument("--pointer", action="append", default=[], metavar="REG[:SIZE]",
                   help="also give REG a buffer of at least SIZE bytes (default 4096) besides the "
                        "registers `verify`'s rules find")
    p.add_argument("--json", action="store_true")
    add_input_options(p)

    c = sub.add_parser("calibrate", help="measure this core per class of a model and write a variant model",
                       description="Microbenchmarks per class of the base model (latency chains, independent "
                                   "throughput, mixes of classes that do or do not share pipes) and a model "
                                   "file with the measured numbers (source: `measured by scheduler calibrate "
                                   "on <cpu>, <date>`); unmeasured numbers keep the base model's. Under "
                                   "emulation the file is written with every measured number marked "
                                   "EMULATED (docs/bench.md).\n\nexamples:\n"
                                   "  scheduler calibrate -o my-core.toml\n"
                                   "  scheduler calibrate --model neoverse-v1 -o v1-measured.toml --repeats 31\n"
                                   "  scheduler calibrate --fake-core mul3-spill -o fake.toml   # the worked example",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--model", default="neoverse-n1", metavar="BASE", help="base model (default neoverse-n1)")
    c.add_argument("-o", "--output", required=True, metavar="FILE", help="the model file to write (.toml)")
    c.add_argument("--name", default=None, help="the new model's name (default: the output file's stem)")
    _measure_options(c, 500, 9)
    c.add_argument("--fake-core", default=None, metavar="NAME",
                   help="measure a synthetic core instead of this machine (mul3-spill, mul2-nospill): "
                        "for tests and the worked example of docs/bench.md")
    c.add_argument("--json", action="store_true", help="print what was measured and inferred as JSON")


def add_judge_options(p: argparse.ArgumentParser) -> None:
    """Add optimize's `--judge`, `--judge-k` and `--allow-emulated` options."""
    p.add_argument("--judge", choices=["model", "bench"], default="model",
                   help="bench: measure the best --judge-k verified candidates and the input with the "
                        "harness (`scheduler bench`) and keep the fastest only if it beats the input by "
                        "more than the measured noise (docs/bench.md); refused under emulation")
    p.add_argument("--judge-k", type=int_at_least(1), default=8, metavar="K",
                   help="candidates measured per block by --judge bench (default 8)")
    p.add_argument("--allow-emulated", action="store_true",
                   help="let --judge bench run under qemu-user (the timings mean nothing; for tests)")


def _executor(args) -> Executor:
    from scheduler.bench.harness import HarnessExecutor, pointer_flags

    return HarnessExecutor(seed=args.seed, cpu=args.cpu, timer=args.timer,
                           pointers=pointer_flags(getattr(args, "pointer", [])))


# ------------------------------------------------------------------ bench

def cmd_bench(args) -> int:
    """`scheduler bench`: time the files' straight-line code and print the figures (or JSON).
    Exit 0; a measurement that cannot be made raises BenchError (exit 2)."""
    from scheduler.checks.verify import straight_line
    from scheduler.frontend.parse import parse_file

    kernels = []
    for f in args.files:
        body = straight_line(parse_file(f, **parse_kwargs(args)))
        kernels.append(Kernel(f, tuple(body)))
    if len({k.name for k in kernels}) != len(kernels):
        raise BenchError("bench: a file is named twice")
    m = _executor(args).measure(kernels, args.calls, args.repeats)
    for w in m.warnings:
        print(w, file=sys.stderr)
    if args.json:
        print(json.dumps(m.to_json(), indent=2))
        return EXIT_OK
    ghz = f", core clock {m.ghz:.2f} GHz (known loop)" if m.ghz else ""
    print(f"{'EMULATED (qemu-user): ' if m.emulated else ''}{m.cpu}; timer {m.timer}{ghz}; {m.pinned}; "
          f"{m.calls} calls x {m.repeats} repetitions")
    width = max(len(k) for k in m.kernels)
    print(f"{'kernel':{width}s}  {'min':>9s} {'median':>9s} {'noise':>8s} {'spread':>7s}  {'median ns':>10s}")
    for name, s in zip(m.kernels, m.samples, strict=True):
        c = s.cycle_stats
        print(f"{name:{width}s}  {c.min:9.1f} {c.median:9.1f} {c.noise:8.1f} {c.spread:7.1%}  "
              f"{s.ns_stats.median:10.1f}")
    print("cycles per call, net of the harness's own cost; noise = q3 - q1 over the repetitions")
    return EXIT_OK


# ------------------------------------------------------------------ calibrate

def cmd_calibrate(args) -> int:
    """`scheduler calibrate`: measure the base model's classes, write the variant model and print what changed.
    Exit 0; a bad output name, an unknown --fake-core or a failed measurement raises BenchError (exit 2)."""
    from scheduler.bench.calibrate import calibrate, write_model
    from scheduler.bench.fakecore import FAKE_CORES
    from scheduler.machine.model import load_model

    out = Path(args.output)
    if out.suffix != ".toml":
        raise BenchError(f"{out}: a model file must end in .toml")
    base = load_model(args.model)
    if args.fake_core is not None:
        if args.fake_core not in FAKE_CORES:
            raise BenchError(f"--fake-core {args.fake_core}: unknown; known: {', '.join(FAKE_CORES)}")
        executor: Executor = FAKE_CORES[args.fake_core]()
    else:
        executor = _executor(args)
    cal = calibrate(base, executor, args.calls, args.repeats)
    model = write_model(cal, out, args.name or out.stem)
    m = cal.measurement
    for w in m.warnings:
        print(w, file=sys.stderr)
    rows: list[dict] = []
    for c, f in cal.fits.items():
        old = base.spec.classes[c]
        new = model.spec.classes[c]
        rows.append({"class": c, "probe": f.probe,
                     "latency": {"base": old.latency, "measured": new.latency,
                                 "chain_cycles": round(cal.figures[f"chain:{c}"], 2)},
                     "uops": {"base": [f"{u.pipe}/{u.busy}" for u in old.uops],
                              "measured": [f"{u.pipe}/{u.busy}" for u in new.uops] if f.fitted else None,
                              "throughput_cycles": round(cal.figures[f"alone:{c}"], 2)}})
    if args.json:
        print(json.dumps({"model": model.name, "file": str(out), "base": base.name, "emulated": m.emulated,
                          "cpu": m.cpu, "timer": m.timer, "classes": rows}, indent=2))
        return EXIT_OK
    print(f"{'EMULATED (qemu-user): ' if m.emulated else ''}calibrated {base.name} on {m.cpu} "
          f"(timer {m.timer}, {len(m.kernels)} microbenchmarks)")
    for r in rows:
        lat, u = r["latency"], r["uops"]
        uops = " ".join(u["measured"]) if u["measured"] else "(kept) " + " ".join(u["base"])
        print(f"  {r['class']:10s} probe {r['probe']:9s} latency {lat['base']} -> {lat['measured']}   "
              f"uops {' '.join(u['base'])} -> {uops}")
    print(f"wrote {out} (model {model.name}; `scheduler models check {out}`, "
          f"`scheduler optimize --model {out} ...`)")
    return EXIT_OK


# ------------------------------------------------------------------ optimize hooks

def optimize_preflight(args, models) -> None:
    """Before the search: refuse --judge bench under emulation (exit 2), and warn about a model
    written by `calibrate` under emulation."""
    from scheduler.bench.calibrate import is_emulated
    from scheduler.bench.harness import check_toolchain, emulated

    for m in models:
        if is_emulated(m):
            print(f"warning: model {m.name} ({m.path}) was calibrated under emulation (qemu-user): its "
                  "measured numbers say nothing about any core", file=sys.stderr)
    if getattr(args, "judge", "model") == "bench" and emulated() and not args.allow_emulated:
        raise SchedulerError("optimize --judge bench: this is not an AArch64 core, so the harness would run "
                             "under qemu-user, whose timings mean nothing about speed; run it on the target "
                             "machine (docs/bench.md), or pass --allow-emulated (for tests)")
    if getattr(args, "judge", "model") == "bench":
        check_toolchain()  # before the search, not after it


def judge_options(args, opts):
    """`opts` with `judge_k` set under `--judge bench`, else unchanged."""
    return replace(opts, judge_k=args.judge_k) if getattr(args, "judge", "model") == "bench" else opts


def judge_results(args, prog, results, executor: Executor | None = None) -> None:
    """After the search: measure and choose per block (scheduler/bench/judge.py)."""
    if getattr(args, "judge", "model") != "bench":
        return
    from scheduler.bench.harness import HarnessExecutor
    from scheduler.bench.judge import judge_program

    executor = executor or HarnessExecutor(seed=args.seed)
    if executor.emulated:
        print(EMULATED_WARNING, file=sys.stderr)
    for line in judge_program(prog, results, executor, args.judge_k):
        print(f"judge bench: {line}", file=sys.stderr)


COMMANDS = {"bench": cmd_bench, "calibrate": cmd_calibrate}

NAMES = list(COMMANDS)
add_parser = add_parsers


def run(args) -> int:
    """Run `bench` or `calibrate`, whichever `args.command` names; its exit code."""
    return COMMANDS[args.command](args)
