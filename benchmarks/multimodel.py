#!/usr/bin/env python3
"""What one schedule for several cores costs each core (issue 18).

For each kernel: the input; each core's own schedule (`optimize --model CORE`); and the
multi-model schedule (`optimize --model A,B,C --objective worst`, and `mean` with --mean).
Every schedule is timed under every core's model (out-of-order steady state, in-order cycles
for an in-order core) and, when llvm-mca-19+ is on PATH, by llvm-mca with that core's -mcpu
(100 iterations, Total Cycles / 100). The cost of a schedule on a core is its figure over the
best figure any of the schedules reaches on that core.

    python benchmarks/multimodel.py [--seconds-per-instr 0.05] [--models a,b,c] [--out FILE] [KERNEL ...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.frontend.parse import parse_file  # noqa: E402
from scheduler.machine.mca import find_llvm_mca, mcpu_for, run_mca  # noqa: E402
from scheduler.machine.model import load_models  # noqa: E402
from scheduler.search.multimodel import figure  # noqa: E402

DEFAULT_MODELS = "neoverse-n1,neoverse-v1,neoverse-v2"
DEFAULT_KERNELS = ["inputs/mul_4x4.s", "inputs/sqr_4x4.s", "inputs/mul_8x8_neon.s",
                   "inputs/montgomery/montmul_4.s", "inputs/montgomery/montsqr_6.s"]


def optimize(path: Path, out: Path, models: str, seconds: float, objective: str | None) -> dict:
    cmd = [sys.executable, "-c", "import sys; from scheduler.cli import main; sys.exit(main(sys.argv[1:]))",
           "optimize", str(path), "-o", str(out), "--model", models, "--time-limit", f"{seconds:.1f}",
           "--workers", "2", "--json"]
    if objective:
        cmd += ["--objective", objective]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"optimize failed on {path} ({models}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def timings(path: Path, models) -> dict[str, dict]:
    prog = parse_file(str(path))
    code = prog.blocks()[0].instructions
    out = {}
    for m in models:
        mcpu = mcpu_for(m.name)
        mca = run_mca([str(i) for i in code], iterations=100, mcpu=mcpu) if mcpu and find_llvm_mca() else None
        out[m.name] = {"ours": figure(m, code, prog.noalias), "mca": mca.total_cycles / 100 if mca else None}
    return out


def kernel_rows(path: Path, models, names: str, args, tmp: Path) -> list[dict]:
    n = len(parse_file(str(path)).blocks()[0].instructions)
    seconds = max(2.0, n * args.seconds_per_instr)
    schedules = {"input": path}
    walls = {}
    for m in models:
        out = tmp / f"{path.stem}.{m.name}.s"
        walls[m.name] = optimize(path, out, m.name, seconds, None)["seconds"]
        schedules[f"own {m.name}"] = out
    for obj in ["worst"] + (["mean"] if args.mean else []):
        out = tmp / f"{path.stem}.multi-{obj}.s"
        walls[obj] = optimize(path, out, names, seconds * len(models), obj)["seconds"]
        schedules[f"multi {obj}"] = out
    timed = {label: timings(p, models) for label, p in schedules.items()}
    rows = []
    for m in models:
        best = {k: min(t[m.name][k] for t in timed.values() if t[m.name][k] is not None) if any(
            t[m.name][k] is not None for t in timed.values()) else None for k in ("ours", "mca")}
        row = {"kernel": path.name, "n": n, "model": m.name}
        for label, t in timed.items():
            row[label] = {k: t[m.name][k] for k in ("ours", "mca")}
            row[label]["cost"] = {k: (t[m.name][k] / best[k] - 1) if best[k] and t[m.name][k] else None
                                  for k in ("ours", "mca")}
        rows.append(row)
    return rows


def cell(v: dict) -> str:
    ours, mca = v["ours"], v["mca"]
    c = v["cost"]
    text = f"{ours:.1f} (+{c['ours']:.1%})"
    if mca is not None:
        text += f" / {mca:.1f} (+{c['mca']:.1%})"
    return text


def markdown(rows: list[dict], labels: list[str], meta: str) -> str:
    lines = [meta, "", "| kernel | core | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for r in rows:
        lines.append(f"| {r['kernel']} ({r['n']}) | {r['model']} | " + " | ".join(cell(r[x]) for x in labels) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kernels", nargs="*", default=DEFAULT_KERNELS)
    ap.add_argument("--models", default=DEFAULT_MODELS)
    ap.add_argument("--seconds-per-instr", type=float, default=0.05)
    ap.add_argument("--mean", action="store_true", help="also the mean objective")
    ap.add_argument("--out", help="append the markdown table to this file")
    args = ap.parse_args()
    models = load_models(args.models)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for k in args.kernels:
            rows += kernel_rows(ROOT / k, models, args.models, args, Path(d))
            print(f"done {k}", file=sys.stderr)
    labels = [k for k in rows[0] if k not in ("kernel", "n", "model")]
    meta = (f"Measured {datetime.date.today()} on {platform.machine()}, {args.seconds_per_instr} s per "
            f"instruction per core (the multi-model runs get the sum), 2 CP-SAT workers. Cells: ours "
            f"(cost against the best on that core) / llvm-mca-19 -mcpu=<core> cycles per iteration (cost).")
    text = markdown(rows, labels, meta)
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
