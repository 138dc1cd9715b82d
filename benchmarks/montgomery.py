"""Benchmark on the Montgomery kernels (inputs/montgomery) and the bundled examples.

For each kernel: the input as written; `scheduler optimize` under each objective with a
budget of --per-instr seconds per instruction; optionally a long run (--reference-per-instr)
as the reference schedule; each judged by our evaluators (in-order, OoO steady and single
run) and by llvm-mca-19 -mcpu=neoverse-n1 (Total Cycles, 100 iterations) when present.
Prints a Markdown table (and writes it with --out).

    python benchmarks/montgomery.py --per-instr 0.1 --out outputs/BENCHMARK_MONTGOMERY.md
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.frontend.parse import parse_file  # noqa: E402
from scheduler.machine.mca import find_llvm_mca, run_mca  # noqa: E402


def mca_cycles(path: Path, iterations: int = 100) -> int | None:
    """llvm-mca's Total Cycles for the instructions of a file (directives and labels dropped)."""
    res = _mca(path, iterations)
    return res.total_cycles if res else None


def _mca(path: Path, iterations: int):
    if find_llvm_mca() is None:
        return None
    prog = parse_file(path)
    return run_mca([str(i) for i in prog.instructions if i.mnemonic != "ret"], iterations=iterations)


def mca_bound(path: Path) -> str:
    """llvm-mca's own resource bound for 100 iterations (Block RThroughput x 100): no order of
    this code can go below it in llvm-mca's model, so the gain it leaves is input / bound - 1."""
    res = _mca(path, 100)
    return f"{res.block_rthroughput * 100:.0f}" if res else "-"


def optimize(path: Path, out: Path, seconds: float, objective: str, workers: int, model: str = "") -> dict:
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "scheduler", "optimize", str(path), "-o", str(out), "--time-limit",
           f"{seconds:.1f}", "--objective", objective, "--json", "--quiet", "--workers", str(workers)]
    cmd += ["--model", model] if model else []
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{path.name}: optimize exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    doc = json.loads(proc.stdout)
    return {"inorder": doc["cycles_after"], "ooo": doc["ooo_cycles_after"],
            "single": sum(b["ooo_single_after"] for b in doc["blocks"]), "bound": doc["lower_bound"],
            "ooo_bound": round(sum(b["ooo_lower_bound"] for b in doc["blocks"]), 1),
            "status": doc["status"], "wall": round(wall, 1), "mca": mca_cycles(out), "mca1": mca_cycles(out, 1),
            "before": (doc["cycles_before"], doc["ooo_cycles_before"],
                       sum(b["ooo_single_before"] for b in doc["blocks"]))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kernels", nargs="*", help="default: inputs/montgomery/*.s and inputs/*.s")
    ap.add_argument("--per-instr", type=float, default=0.1, help="seconds per instruction (default 0.1)")
    ap.add_argument("--budget", type=float, default=0.0,
                    help="a fixed budget of this many seconds per kernel instead of --per-instr")
    ap.add_argument("--reference-per-instr", type=float, default=0.0,
                    help="also a long run (ooo objective) with this many seconds per instruction")
    ap.add_argument("--objectives", default="ooo,inorder")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default="", help="machine model for optimize (default: its default)")
    ap.add_argument("--out", help="write the Markdown table here too")
    args = ap.parse_args()
    kernels = [Path(k) for k in args.kernels] or sorted((ROOT / "inputs" / "montgomery").glob("*.s")) + sorted(
        (ROOT / "inputs").glob("*.s"))
    objectives = args.objectives.split(",")
    head = ["kernel", "instrs", "input in-order/OoO/single", "input mca (1 run)", "mca bound"]
    for obj in objectives:
        head += [f"{obj}: in-order/OoO/single", f"{obj}: mca (vs input)", f"{obj}: mca 1 run",
                 f"{obj}: bound, gap", f"{obj}: s"]
    if args.reference_per_instr:
        head += ["reference mca"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in kernels:
            n = len(parse_file(k).instructions)
            base_mca = mca_cycles(k)
            row = [k.name, str(n), "", f"{base_mca} ({mca_cycles(k, 1)})", mca_bound(k)]
            seconds = args.budget or max(1.0, args.per_instr * n)
            for obj in objectives:
                r = optimize(k, Path(tmp) / f"{k.stem}.{obj}.s", seconds, obj, args.workers, args.model)
                row[2] = "/".join(f"{x:g}" for x in r["before"])
                gain = f" ({(r['mca'] / base_mca - 1):+.1%})" if r["mca"] and base_mca else ""
                key, bound = ((r["inorder"], r["bound"]) if obj == "inorder" else (r["ooo"], r["ooo_bound"]))
                gap = f"{key / bound - 1:.1%}" if bound else "-"
                row += [f"{r['inorder']}/{r['ooo']:g}/{r['single']}", f"{r['mca']}{gain}", f"{r['mca1']}",
                        f"{bound}, {gap}", f"{r['wall']}"]
                print(f"{k.name} {obj}: {r}", file=sys.stderr, flush=True)
            if args.reference_per_instr:
                r = optimize(k, Path(tmp) / f"{k.stem}.ref.s", args.reference_per_instr * n, "ooo", args.workers)
                row.append(f"{r['mca']}")
            rows.append(row)
    text = [f"Measured {date.today()} on {platform.machine()} ({platform.processor() or 'cpu'}), " +
            (f"{args.budget:g} s per kernel" if args.budget else f"{args.per_instr} s per instruction")
            + f", {args.workers} CP-SAT workers, wall-clock budgets, "
            f"model {args.model or 'neoverse-n1 (default)'}.", "",
            "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    text += ["| " + " | ".join(r) + " |" for r in rows]
    print("\n".join(text))
    if args.out:
        Path(args.out).write_text("\n".join(text) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
