"""Does the default objective lose under llvm-mca? The default (`ooo`) against `--objective inorder`.

For each kernel (default: inputs/montgomery/*.s and the P-256 library-style inputs),
`scheduler optimize --deterministic --workers 1` at --per-instr work units per instruction
under each objective; the outputs are judged by llvm-mca-19 (cycles per iteration over 100
iterations, `-mcpu` of the model) and by our model. The default may not lose by more than
--tolerance (1%) under llvm-mca on any kernel: the script says which do, and exits 1 if any.
Results are written after every kernel.

    nice python benchmarks/objective_regression.py --per-instr 0.05 --out outputs/BENCHMARK_OBJECTIVE.md
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.machine.mca import mcpu_for  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from recover import body, figures  # noqa: E402

DEFAULT_KERNELS = ("montgomery/montmul_4.s", "montgomery/montsqr_4.s", "montgomery/montmul_6.s",
                   "montgomery/montsqr_6.s", "montgomery/p256_montmul_neon.s", "montgomery/p256_montsqr_neon.s",
                   "montmul_p256.S")


def run(path: Path, out: Path, units: float, objective: str, model: str) -> tuple[dict, float]:
    import subprocess

    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "scheduler", "optimize", str(path), "-o", str(out), "--time-limit", f"{units:.2f}",
           "--deterministic", "--workers", "1", "--objective", objective, "--model", model, "--json", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{path}: optimize exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return json.loads(proc.stdout), time.monotonic() - t0


def one(path: Path, per_instr: float, model: str, tmp: Path) -> dict:
    instrs = body(path)
    row = {"kernel": str(path.relative_to(ROOT / "inputs")), "n": len(instrs),
           "input": vars(figures(instrs, model))}
    for obj in ("ooo", "inorder"):
        out = tmp / f"{path.stem}.{obj}.s"
        doc, wall = run(path, out, per_instr * len(instrs), obj, model)
        row[obj] = vars(figures(body(out), model)) | {"inorder": doc["cycles_after"], "wall": round(wall, 1)}
    return row


def markdown(rows: list[dict], args, losers: list[str]) -> str:
    head = ["kernel", "n", "input: mca / steady", "ooo: mca / steady / in-order", "inorder: mca / steady / in-order",
            "default vs inorder (mca)", "wall s (ooo, inorder)"]
    lines = [f"`python benchmarks/objective_regression.py --per-instr {args.per_instr} --model {args.model}`: "
             f"`optimize --deterministic --workers 1`, {args.per_instr} work units per instruction; llvm-mca-19 "
             f"`-mcpu={mcpu_for(args.model)}` cycles per iteration (100 iterations); steady = our model's "
             "cycles per iteration back to back.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        a, b = r["ooo"], r["inorder"]
        d = f"{a['mca'] / b['mca'] - 1:+.2%}" if a["mca"] and b["mca"] else "-"
        lines.append("| " + " | ".join([
            r["kernel"], str(r["n"]), f"{r['input']['mca']:.1f} / {r['input']['steady']:g}",
            f"{a['mca']:.1f} / {a['steady']:g} / {a['inorder']}", f"{b['mca']:.1f} / {b['steady']:g} / {b['inorder']}",
            d, f"{a['wall']:g}, {b['wall']:g}"]) + " |")
    lines += ["", (f"The default loses by more than {args.tolerance:.0%} under llvm-mca on: {', '.join(losers)}."
                   if losers else f"The default loses by more than {args.tolerance:.0%} under llvm-mca on none.")]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kernels", nargs="*", help="default: " + ", ".join(DEFAULT_KERNELS) + " (under inputs/)")
    ap.add_argument("--per-instr", type=float, default=0.05, help="work units per instruction (default 0.05)")
    ap.add_argument("--model", default="neoverse-n1")
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", help="Markdown (rewritten after every kernel); JSON beside it")
    args = ap.parse_args(argv)
    paths = [Path(k).resolve() for k in args.kernels] or [ROOT / "inputs" / k for k in DEFAULT_KERNELS]
    rows: list[dict] = []
    losers: list[str] = []
    with tempfile.TemporaryDirectory() as tmpd, ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(one, p, args.per_instr, args.model, Path(tmpd)) for p in paths]
        for f in futures:
            r = f.result()
            rows.append(r)
            a, b = r["ooo"]["mca"], r["inorder"]["mca"]
            if a and b and a > b * (1 + args.tolerance):
                losers.append(r["kernel"])
            print(json.dumps(r), file=sys.stderr, flush=True)
            if args.out:
                Path(args.out).write_text(markdown(rows, args, losers))
                Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print(markdown(rows, args, losers), end="")
    return 1 if losers else 0


if __name__ == "__main__":
    sys.exit(main())
