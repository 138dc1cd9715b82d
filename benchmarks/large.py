#!/usr/bin/env python3
"""Benchmark of the large kernels (issue: scale to 500-3,000 instructions).

Runs the real command line, `scheduler optimize FILE --time-limit T --json`, one kernel at a
time under GNU time, and records per kernel: instructions, in-order cycles before/after,
lower bound and gap, out-of-order cycles/iteration before/after, llvm-mca-19's N1 Total
Cycles for input and output when llvm-mca-19 is on PATH (one cold run, i.e. one call of the
kernel, and 100 back-to-back iterations with llvm-mca's own resource bound, Block
RThroughput: an input already at that bound cannot improve in steady state), wall time, peak
resident memory, and whether the output was verified and proved. Then, on kernels of about
300-450 instructions, the whole-block solver against decomposition alone (reordering only,
the same budget): how much the windows lose. And the parallelism question: CP-SAT with all
cores against one worker on the same kernel and budget.

    python benchmarks/large.py [--quick] [--out outputs/BENCHMARK_LARGE.md]

--quick uses a tenth of the budgets (a smoke run, not the committed figures).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.machine.mca import find_llvm_mca, run_mca
from scheduler.frontend.parse import parse_file

LARGE = [  # (kernel, time limit in seconds): the budgets, 5 min for ~1,000, 10 min for ~2,000+
    ("inputs/large/p256_double.s", 300),
    ("inputs/large/mul_16x16.s", 300),
    ("inputs/large/mul_16x16_neon.s", 300),
    ("inputs/large/karatsuba_16x16_neon.s", 300),
    ("inputs/large/mul_24x24.s", 600),
]
MEDIUM = [("inputs/mul_8x8_neon.s", 60), ("GEN:8", 60)]  # GEN:8 = gen_mul.py 8 (302 instructions)
PARALLEL = ("inputs/large/p256_double.s", 120)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def materialise(kernel: str, tmp: Path) -> Path:
    if kernel.startswith("GEN:"):
        n = kernel[4:]
        out = tmp / f"mul_{n}x{n}.s"
        subprocess.run([sys.executable, str(ROOT / "inputs/large/gen_mul.py"), n, "-o", str(out)], check=True)
        return out
    return ROOT / kernel


def optimize(path: Path, limit: float, tmp: Path, *extra: str) -> dict:
    out = tmp / (path.stem + "_".join(["", *[e.strip("-") for e in extra]]) + ".out.s")
    cmd = ["/usr/bin/time", "-f", "%M %e", sys.executable, "-m", "scheduler", "optimize", str(path), "-o", str(out),
           "--time-limit", str(limit), "--json", *extra]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    rss_kb, wall = proc.stderr.strip().splitlines()[-1].split()
    doc = json.loads(proc.stdout)
    doc["peak_mib"] = round(int(rss_kb) / 1024)
    doc["wall"] = float(wall)
    doc["output_path"] = str(out)
    return doc


def mca(path: Path) -> dict | None:
    """llvm-mca's view: 100 back-to-back iterations (steady state), one cold run (a single
    call of the kernel), and its own resource bound per iteration (Block RThroughput)."""
    if not find_llvm_mca():
        return None
    lines = [str(i) for b in parse_file(path).blocks() for i in b.instructions]
    many, one = run_mca(lines, iterations=100), run_mca(lines, iterations=1)
    return {"cycles100": many.total_cycles, "cycles1": one.total_cycles, "rthroughput": many.block_rthroughput}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "outputs" / "BENCHMARK_LARGE.md"))
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: large,medium,parallel")
    args = ap.parse_args()
    scale = 0.1 if args.quick else 1.0
    skip = set(filter(None, args.skip.split(",")))
    results: dict = {"date": datetime.date.today().isoformat(), "machine": machine(),
                     "large": [], "medium": [], "parallel": []}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for kernel, limit in ([] if "large" in skip else LARGE):
            path = materialise(kernel, tmp)
            doc = optimize(path, limit * scale, tmp)
            row = {"kernel": kernel, "instructions": doc["instructions"], "limit": limit * scale,
                   "before": doc["cycles_before"], "after": doc["cycles_after"], "bound": doc["lower_bound"],
                   "gap": doc["inorder_gap"], "ooo_before": doc["ooo_cycles_before"], "ooo_after": doc["ooo_cycles_after"],
                   "mca_before": mca(path), "mca_after": mca(Path(doc["output_path"])),
                   "wall": doc["wall"], "peak_mib": doc["peak_mib"], "status": doc["status"],
                   "verified": doc["verified"], "proved": doc["proved"],
                   "notes": [n for b in doc["blocks"] for n in b["notes"]]}
            results["large"].append(row)
            print(json.dumps(row), flush=True)
        for kernel, limit in ([] if "medium" in skip else MEDIUM):
            path = materialise(kernel, tmp)
            whole = optimize(path, limit * scale, tmp, "--no-rename", "--decompose", "never")
            windows = optimize(path, limit * scale, tmp, "--no-rename", "--decompose", "always")
            row = {"kernel": kernel, "instructions": whole["instructions"], "limit": limit * scale,
                   "before": whole["cycles_before"], "whole": whole["cycles_after"], "whole_status": whole["status"],
                   "windows": windows["cycles_after"],
                   "loss": round(windows["cycles_after"] / whole["cycles_after"] - 1, 4)}
            results["medium"].append(row)
            print(json.dumps(row), flush=True)
        if "parallel" not in skip:
            kernel, limit = PARALLEL
            path = materialise(kernel, tmp)
            for workers in ("0", "1"):
                doc = optimize(path, limit * scale, tmp, "--workers", workers)
                row = {"kernel": kernel, "workers": "all" if workers == "0" else workers, "limit": limit * scale,
                       "after": doc["cycles_after"], "ooo_after": doc["ooo_cycles_after"], "wall": doc["wall"]}
                results["parallel"].append(row)
                print(json.dumps(row), flush=True)
    Path(args.out).with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    Path(args.out).write_text(render(results))
    print(f"wrote {args.out}")
    return 0


def render(r: dict) -> str:
    out = [f"# Large kernels: benchmark ({r['date']}, {r['machine']})", "",
           ("Command per kernel: `scheduler optimize FILE --time-limit T --json` (defaults: renaming, offset "
           "fixups, window decomposition for blocks of 600+ instructions after the whole-block solve). "
           "Written by `python benchmarks/large.py`."), "",
           ("| kernel | instrs | limit s | in-order before → after | bound | gap | OoO cycles/iter before → after "
           "| llvm-mca-19, 1 run, before → after | llvm-mca-19, 100 iterations, before → after (its bound) "
           "| wall s | peak MiB | verified/proved |"),
           "|---|---:|---:|---|---:|---:|---|---|---|---:|---:|---|"]
    for x in r["large"]:
        b, a = x["mca_before"], x["mca_after"]
        one = f"{b['cycles1']} → {a['cycles1']}" if b else "n/a"
        many = f"{b['cycles100']} → {a['cycles100']} ({100 * b['rthroughput']:.0f})" if b else "n/a"
        out.append(f"| {x['kernel']} | {x['instructions']} | {x['limit']:.0f} | {x['before']} → {x['after']} "
                   f"| {x['bound']} | {x['gap']:.1%} | {x['ooo_before']} → {x['ooo_after']} | {one} | {many} "
                   f"| {x['wall']:.0f} | {x['peak_mib']} | {x['verified']}/{x['proved']} |")
    if r["medium"]:
        out += ["", "Decomposition against the whole-block solver (reordering only, same budget):", "",
                "| kernel | instrs | limit s | input | whole block | windows only | loss |",
                "|---|---:|---:|---:|---|---:|---:|"]
        for x in r["medium"]:
            out.append(f"| {x['kernel']} | {x['instructions']} | {x['limit']:.0f} | {x['before']} "
                       f"| {x['whole']} ({x['whole_status']}) | {x['windows']} | {x['loss']:.1%} |")
    if r["parallel"]:
        out += ["", "Parallelism (the same kernel and budget, CP-SAT workers):", "",
                "| kernel | workers | limit s | in-order after | OoO after | wall s |", "|---|---|---:|---:|---:|---:|"]
        for x in r["parallel"]:
            out.append(f"| {x['kernel']} | {x['workers']} | {x['limit']:.0f} | {x['after']} | {x['ooo_after']} "
                       f"| {x['wall']:.0f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
