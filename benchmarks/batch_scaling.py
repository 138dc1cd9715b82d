"""Speed-up of `scheduler batch` from 1 to N local Ray workers.

Runs `scheduler batch` on the same kernels with `--num-cpus 1`, then 2, ... (fresh store,
--force), and prints the batch's wall time, the sum of its tasks' wall times and the speed-up.

Then one large kernel (`--large`, default inputs/large/p256_double.s, 1,115 instructions) with
its window solves as Ray tasks (`--window-tasks`), on 1 then 2 ... CPUs, and for reference on
the most CPUs without window tasks, all with the same time limit (`--large-time-limit`): wall
time, cycles after, window tasks run.

    python benchmarks/batch_scaling.py                       # inputs/*.s, --time-limit 5, 1 and 2 workers
    python benchmarks/batch_scaling.py --workers 1 2 4 --time-limit 10 'lib/**/*.s'
    python benchmarks/batch_scaling.py --only-large --large inputs/large/mul_24x24.s --large-time-limit 120
"""

from __future__ import annotations

import argparse
import glob
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(paths: list[str], workers: int, time_limit: float, tmp: Path) -> dict:
    store, out = tmp / f"w{workers}.sqlite", tmp / f"out{workers}"
    cmd = [sys.executable, "-m", "scheduler", "batch", *paths, "--num-cpus", str(workers), "--time-limit",
           str(time_limit), "--store", str(store), "--out", str(out), "--force", "--json"]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - start
    text = proc.stdout
    summary = json.loads(text[text.index("{\n"):]) if "{\n" in text else {}
    db = sqlite3.connect(store)
    tasks = db.execute("SELECT COUNT(*), SUM(wall_seconds), MAX(wall_seconds) FROM runs").fetchone()
    db.close()
    return {"workers": workers, "returncode": proc.returncode, "wall": wall, "tasks": tasks[0],
            "task_seconds": tasks[1] or 0.0, "longest_task": tasks[2] or 0.0, "ok": summary.get("ok"),
            "cycles_after": sum(r.get("cycles_after", 0) for r in summary.get("results", []))}


def run_large(kernel: str, cpus: int, time_limit: float, tmp: Path, window_tasks: bool) -> dict:
    """One large kernel, one task: wall time, its figures after, and how many window tasks ran."""
    tag = f"large{cpus}{'w' if window_tasks else 's'}"
    store, out = tmp / f"{tag}.sqlite", tmp / f"out_{tag}"
    cmd = [sys.executable, "-m", "scheduler", "batch", kernel, "--num-cpus", str(cpus), "--time-limit",
           str(time_limit), "--store", str(store), "--out", str(out), "--force", "--json",
           "--window-tasks" if window_tasks else "--no-window-tasks"]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - start
    text = proc.stdout
    summary = json.loads(text[text.index("{\n"):]) if "{\n" in text else {}
    row = (summary.get("results") or [{}])[0]
    db = sqlite3.connect(store)
    task = db.execute("SELECT wall_seconds FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    db.close()
    return {"cpus": cpus, "window_tasks": window_tasks, "returncode": proc.returncode, "wall": wall,
            "task": (task or [0.0])[0] or 0.0, "status": row.get("status"), "before": row.get("cycles_before"),
            "after": row.get("cycles_after"), "ooo_before": row.get("ooo_before"), "ooo_after": row.get("ooo_after"),
            "jobs": row.get("window_tasks", 0)}


def large_figure(args) -> None:
    kernel = str((ROOT / args.large).resolve()) if not Path(args.large).is_absolute() else args.large
    configs = [(c, True) for c in args.workers] + [(max(args.workers), False)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cpus, wt in configs:
            r = run_large(kernel, cpus, args.large_time_limit, Path(tmp), wt)
            rows.append(r)
            print(f"large, {cpus} CPU(s), window tasks {'on' if wt else 'off'}: wall {r['wall']:.1f} s "
                  f"(exit {r['returncode']}, {r['status']}), task {r['task']:.1f} s, in-order {r['before']} -> "
                  f"{r['after']}, OoO {r['ooo_before']} -> {r['ooo_after']}, {r['jobs']} window tasks", flush=True)
    print(f"\n{Path(kernel).name}, --time-limit {args.large_time_limit:g}")
    print("| CPUs | window tasks | wall s | task s | in-order after | OoO after | window tasks run |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['cpus']} | {'on' if r['window_tasks'] else 'off'} | {r['wall']:.1f} | {r['task']:.1f} | "
              f"{r['after']} | {r['ooo_after']} | {r['jobs']} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", default=None)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--large", default="inputs/large/p256_double.s", help="the large kernel (window tasks)")
    ap.add_argument("--large-time-limit", type=float, default=60.0)
    ap.add_argument("--only-large", action="store_true", help="only the large kernel's figure")
    ap.add_argument("--no-large", action="store_true", help="only the library's figure")
    args = ap.parse_args()
    if args.only_large:
        large_figure(args)
        return 0
    paths = args.paths or sorted(glob.glob(str(ROOT / "inputs" / "*.s")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.workers:
            rows.append(run(paths, w, args.time_limit, Path(tmp)))
            r = rows[-1]
            print(f"workers {w}: wall {r['wall']:.1f} s (exit {r['returncode']}), {r['tasks']} tasks "
                  f"({r['ok']} ok), task time {r['task_seconds']:.1f} s, longest task {r['longest_task']:.1f} s, "
                  f"total in-order cycles after {r['cycles_after']}", flush=True)
    base = rows[0]["wall"]
    print(f"\n{len(paths)} kernels, --time-limit {args.time_limit:g}")
    print("| workers | wall s | speed-up | task s (sum) | longest task s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} | {r['wall']:.1f} | {base / r['wall']:.2f}x | {r['task_seconds']:.1f} | "
              f"{r['longest_task']:.1f} |")
    if not args.no_large:
        print()
        large_figure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
