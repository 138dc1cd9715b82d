#!/usr/bin/env python3
"""Benchmark: optimise every kernel in inputs/ and print the figures.

Per kernel: instructions, in-order cycles before/after, lower bound, gap, status,
solve and total time, out-of-order cycles/iteration before/after, llvm-mca-19's
N1 Total Cycles (100 iterations) for input and output when llvm-mca-19 is on
PATH, the in-order optimum with register WAR/WAW edges dropped (how much of the
gap false dependencies cause), and model fidelity: over random valid orders of
the kernel, the Spearman rank correlation of each of our evaluators with
llvm-mca's Total Cycles.

    python benchmarks/bench.py [--time-limit 60] [--orders 50] [--out outputs/BENCHMARK.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ranking import spearman  # noqa: E402  (benchmarks/ranking.py)

from scheduler.checks.verify import straight_line  # noqa: E402
from scheduler.core.clock import WALL, Deadline  # noqa: E402
from scheduler.frontend.dag import random_topological_order  # noqa: E402
from scheduler.frontend.parse import parse_file  # noqa: E402
from scheduler.machine.evaluate import BlockTiming, inorder, out_of_order, prepare  # noqa: E402
from scheduler.machine.mca import find_llvm_mca, run_mca  # noqa: E402
from scheduler.machine.model import load_model  # noqa: E402
from scheduler.search.listsched import list_schedule  # noqa: E402
from scheduler.search.optimize import Options, live_out_of, optimize_block  # noqa: E402
from scheduler.search.solve import solve  # noqa: E402


def without_false_deps(instrs, model) -> BlockTiming:
    """The block's timing with register WAR/WAW edges dropped (flags and memory kept)."""
    bt = prepare(instrs, model)
    g = bt.dag.copy()
    for u, v in list(g.edges):
        deps = [d for d in g.edges[u, v]["deps"]
                if d.kind == "raw" or d.category != "register"]
        if deps:
            g.edges[u, v]["deps"] = deps
        else:
            g.remove_edge(u, v)
    return prepare(instrs, model, dag=g)


def relaxed_optimum(instrs, model, seconds: float) -> tuple[int, str]:
    bt = without_false_deps(instrs, model)
    ls = list_schedule(bt, model)
    hint = inorder(bt, ls, model)
    res = solve(bt, model, hint.issue, hint.cycles, Deadline.after(WALL, seconds), workers=0)
    return (res.makespan if res.makespan is not None else hint.cycles), res.status


def mca_lines(lines) -> int | None:
    r = run_mca(lines, iterations=100)
    return r.total_cycles if r else None


def mca_cycles(instrs, order) -> int | None:
    return mca_lines([str(instrs[k]) for k in order])


def bench_kernel(path: Path, model, args) -> dict:
    prog = parse_file(path)
    block = prog.blocks()[0]
    code = straight_line(prog)
    live = live_out_of(prog, block, frozenset(prog.outputs))
    runs = {}
    for mode, rename in (("reorder", False), ("rename", True)):
        opts = Options(time_limit=args.time_limit, workers=args.workers, seed=args.seed,
                       noalias=prog.noalias, rename=rename)
        runs[mode] = optimize_block(0, code, model, opts, args.time_limit, live_out=live)
    plain, res = runs["reorder"], runs["rename"]
    row = {
        "kernel": path.name, "instructions": len(code),
        "cycles_before": res.cycles_before, "cycles_reorder": plain.cycles_after,
        "cycles_after": res.cycles_after, "renamed": res.renamed,
        "lower_bound": res.lower_bound, "gap": round(res.gap, 4), "status": res.status,
        "status_reorder": plain.status, "lower_bound_reorder": plain.lower_bound,
        "solve_seconds_reorder": plain.solve_seconds,
        "solve_seconds": res.solve_seconds, "seconds": res.seconds,
        "ooo_before": res.ooo_cycles_before, "ooo_reorder": plain.ooo_cycles_after,
        "ooo_after": res.ooo_cycles_after, "ooo_lower_bound": res.ooo_lower_bound,
        "mca_before": mca_lines([str(i) for i in code]),
        "mca_reorder": mca_lines([str(i) for i in plain.instructions_after]),
        "mca_after": mca_lines([str(i) for i in res.instructions_after]),
    }
    row["no_false_deps"], row["no_false_deps_status"] = relaxed_optimum(code, model, min(20.0, args.time_limit))
    if find_llvm_mca() and args.orders:
        bt = prepare(code, model, prog.noalias)
        rng = random.Random(args.seed)
        ins_c, ooo_c, total_c, mca_c = [], [], [], []
        for _ in range(args.orders):
            o = random_topological_order(bt.dag, rng)
            ins_c.append(inorder(bt, o, model).cycles)
            r = out_of_order(bt, o, model)
            ooo_c.append(r.steady)
            total_c.append(r.steady * 99 + r.single)  # our estimate of 100 back-to-back runs
            mca_c.append(mca_cycles(code, o))
        row["spearman_inorder"] = spearman(ins_c, mca_c, min_n=1)
        row["spearman_ooo"] = spearman(ooo_c, mca_c, min_n=1)
        row["spearman_ooo_total"] = spearman(total_c, mca_c, min_n=1)
        row["mca_spread"] = round(max(mca_c) / min(mca_c) - 1, 4)
    return row


def fmt(v, spec=""):
    if v is None:
        return "-"
    return format(v, spec) if spec else str(v)


def markdown(rows: list[dict], meta: dict) -> str:
    out = [f"# Benchmark ({meta['date']})", "",
           f"Machine: {meta['machine']}; model `{meta['model']}`; time limit {meta['time_limit']} s per kernel; "
           f"workers {meta['workers'] or 'all cores'}; llvm-mca: {meta['llvm_mca'] or 'not found'}.", "",
           "Each kernel is optimised twice: reordering only (`--no-rename`) and with register renaming "
           "(the default); `status`, `lower bound` and `gap` are for the renaming run. "
           "In-order = cycles of one run under the in-order issue model (CP-SAT's objective); "
           "OoO = steady-state cycles per iteration under our out-of-order model; "
           "mca = llvm-mca-19 N1 Total Cycles for 100 iterations; "
           "no-false-deps = in-order optimum with register WAR/WAW edges dropped; "
           "rho = Spearman correlation with llvm-mca's Total Cycles over random valid orders (steady: our "
           "steady-state cycles/iteration; 100 runs: 99 x steady + one cold run); mca spread = how far apart "
           "llvm-mca's best and worst random order are (rank correlation means little when this is tiny).", "",
           "| kernel | instrs | in-order before | reorder (status) | rename | lower bound | gap | status | solve s "
           "| total s | OoO before | reorder | rename | mca before | reorder | rename | no-false-deps "
           "| rho in-order | rho OoO steady | rho OoO 100 runs | mca spread |",
           "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(
            f"| {r['kernel']} | {r['instructions']} | {r['cycles_before']} | {r['cycles_reorder']} "
            f"({r['status_reorder']}, bound {r['lower_bound_reorder']}, {r['solve_seconds_reorder']:.1f} s) | "
            f"{r['cycles_after']} | {r['lower_bound']} | {r['gap']:.1%} | {r['status']} | "
            f"{r['solve_seconds']:.1f} | {r['seconds']:.1f} | {r['ooo_before']:.1f} | {r['ooo_reorder']:.1f} | "
            f"{r['ooo_after']:.1f} | {fmt(r['mca_before'])} | {fmt(r['mca_reorder'])} | {fmt(r['mca_after'])} | "
            f"{r['no_false_deps']} | {fmt(r.get('spearman_inorder'), '.2f')} | {fmt(r.get('spearman_ooo'), '.2f')} | "
            f"{fmt(r.get('spearman_ooo_total'), '.2f')} | {fmt(r.get('mca_spread'), '.1%')} |")
    out += ["", FIDELITY_NOTE]
    return "\n".join(out) + "\n"


FIDELITY_NOTE = """\
**Reading the fidelity columns.** These kernels are bound by the single multiplier pipe, so every
valid order runs within 0-2.3% of every other one under llvm-mca (`mca spread`), and our
out-of-order model reaches the multiplier bound for almost all of them (its steady state is then
the same number for every order, and Spearman's rho is undefined, shown as `-`). What is left to
rank are one- or two-cycle effects of the issue policy: llvm-mca picks among ready instructions
with its own priorities and binds a group's pipe at issue, while our model issues oldest-first and
keeps loop-carried register dependencies through inputs the kernel clobbers (as llvm-mca does).
Neither source documents N1's real selection policy, so neither ranking is "right"; the target
rho >= 0.8 is not met on these kernels, and we did not tune the model to llvm-mca to meet it.
Where the spread is largest (mul_6x6_stack, 2.3%), rho reaches 0.76-0.78."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--orders", type=int, default=50, help="random orders for the fidelity figure")
    ap.add_argument("--model", default="neoverse-n1")
    ap.add_argument("--kernels", nargs="*", help="kernel files (default: inputs/*)")
    ap.add_argument("--out", default=str(ROOT / "outputs" / "BENCHMARK.md"))
    args = ap.parse_args()
    model = load_model(args.model)
    kernels = [Path(k) for k in args.kernels] if args.kernels else sorted(
        p for p in (ROOT / "inputs").iterdir() if p.suffix in (".s", ".S"))
    rows = []
    for k in kernels:
        t = time.monotonic()
        rows.append(bench_kernel(k, model, args))
        print(f"{k.name}: done in {time.monotonic() - t:.1f}s", file=sys.stderr)
    meta = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
                       f"{platform.python_version()}",
            "model": model.name, "time_limit": args.time_limit, "workers": args.workers,
            "llvm_mca": find_llvm_mca()}
    md = markdown(rows, meta)
    print(md)
    Path(args.out).write_text(md)
    Path(args.out).with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
