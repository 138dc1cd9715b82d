"""Speed-up of `scheduler batch` from 1 to N local Ray workers.

Runs `scheduler batch` on the same kernels with `--num-cpus 1`, then 2, ... (fresh store,
--force), and prints the batch's wall time, the sum of its tasks' wall times and the speed-up.

    python benchmarks/batch_scaling.py                       # inputs/*.s, --time-limit 5, 1 and 2 workers
    python benchmarks/batch_scaling.py --workers 1 2 4 --time-limit 10 'lib/**/*.s'
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", default=None)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--time-limit", type=float, default=5.0)
    args = ap.parse_args()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
