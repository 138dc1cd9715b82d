"""Wall-clock time of `scheduler optimize` against its --time-limit (issue 28).

Runs the command as a user does (a new process each time, start-up included) on ten kernels
from 50 to 1,100 instructions, at several limits and model configurations, and writes a
Markdown table (wall, wall/limit, the search's share) with the load average of the machine.

    python benchmarks/time_limits.py                       # all limits, all configs
    python benchmarks/time_limits.py --limits 2,10 --out outputs/TIME_LIMITS.md
    python benchmarks/time_limits.py --limits 60 --kernels 3   # a subset at 60 s

Target: wall <= limit + 10%.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNELS = [
    "inputs/sqr_4x4.s", "inputs/mul_4x4.s", "inputs/montmul_p256.S", "inputs/mul_6x6_stack.s",
    "inputs/montgomery/p256_montmul_neon.s", "inputs/mix64_x2_reuse.s", "inputs/montgomery/montmul_6.s",
    "inputs/montgomery/montsqr_9.s", "inputs/montgomery/montmul_9.s", "inputs/large/p256_double.s",
]
CONFIGS = ["neoverse-n1", "cortex-a55", "neoverse-n1,cortex-a55,neoverse-v2"]
TOLERANCE = 0.10


def instructions(path: str) -> int:
    sys.path.insert(0, str(ROOT))
    from scheduler.frontend.parse import parse_file

    return len(parse_file(ROOT / path).instructions)


def run_one(kernel: str, limit: float, model: str, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("k" + Path(kernel).suffix)
        cmd = [sys.executable, "-m", "scheduler", "optimize", str(ROOT / kernel), "-o", str(out),
               "--time-limit", f"{limit:g}", "--workers", str(workers), "--model", model, "--quiet"]
        load = os.getloadavg()[0]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.monotonic() - t0
        search = None
        report = out.with_suffix(".json")
        if report.exists():
            search = json.loads(report.read_text())["options"].get("search_time_limit")
    return {"kernel": kernel, "limit": limit, "model": model, "wall": round(wall, 2), "exit": proc.returncode,
            "search_limit": search, "load": round(load, 2),
            "error": proc.stderr.strip().splitlines()[-1] if proc.returncode else ""}


def table(rows: list[dict], sizes: dict[str, int]) -> list[str]:
    out = ["| kernel | instrs | models | limit s | wall s | wall/limit | search s | load | ok |",
           "|---|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = r["wall"] / r["limit"]
        ok = "yes" if ratio <= 1 + TOLERANCE and r["exit"] == 0 else ("no" if r["exit"] == 0 else f"exit {r['exit']}")
        out.append(f"| {Path(r['kernel']).name} | {sizes[r['kernel']]} | {r['model']} | {r['limit']:g} | "
                   f"{r['wall']:.2f} | {ratio:.2f} | {r['search_limit']} | {r['load']:.1f} | {ok} |")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limits", default="2,10,60")
    ap.add_argument("--kernels", type=int, default=len(KERNELS), help="the first N kernels (of 10)")
    ap.add_argument("--pick", default="", help="comma-separated indices of KERNELS (instead of --kernels)")
    ap.add_argument("--configs", default=";".join(CONFIGS), help="model configurations, ';'-separated")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", default=None, help="append the rows to this JSON-lines file")
    ap.add_argument("--render", default=None, metavar="JSONL", help="only print the table of these rows")
    args = ap.parse_args()
    if args.render:
        rows = [json.loads(line) for line in Path(args.render).read_text().splitlines() if line.strip()]
        print("\n".join(table(rows, {r["kernel"]: instructions(r["kernel"]) for r in rows})))
        return 0
    kernels = [KERNELS[int(i)] for i in args.pick.split(",")] if args.pick else KERNELS[: args.kernels]
    sizes = {k: instructions(k) for k in kernels}
    rows = []
    for limit in [float(x) for x in args.limits.split(",")]:
        for kernel in kernels:
            for model in args.configs.split(";"):
                r = run_one(kernel, limit, model, args.workers)
                rows.append(r)
                print(json.dumps(r), flush=True)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(r) + "\n")
    print("\n".join(table(rows, sizes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
