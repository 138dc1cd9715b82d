#!/usr/bin/env python3
"""Machine models against llvm-mca: per model and bundled kernel, our evaluators' cycles
next to `llvm-mca -mcpu=<core>` (the core from `scheduler.mca.MCPU`), and over random
valid orders of the kernel the Spearman rank correlation of each evaluator with llvm-mca.

    python benchmarks/models_mca.py [--orders 20] [--seed 1] [--model M ...] [KERNEL ...]

Columns: in-order = cycles of one run under the in-order issue model; OoO = steady-state
cycles per iteration of the out-of-order model; mca/it = llvm-mca Total Cycles of 100
iterations / 100; mca 1 = Total Cycles of one iteration; rho(in-order), rho(OoO) = Spearman
correlation over `--orders` random topological orders (in-order vs llvm-mca's 1-iteration
cycles, OoO vs its 100-iteration cycles); spread = max/min - 1 of llvm-mca's 100-iteration
cycles over those orders (a correlation means little when the spread is tiny).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ranking import spearman  # noqa: E402  (benchmarks/ranking.py)
from scheduler.frontend.dag import random_topological_order  # noqa: E402
from scheduler.machine.evaluate import inorder, out_of_order, prepare  # noqa: E402
from scheduler.machine.mca import find_llvm_mca, mcpu_for, run_mca  # noqa: E402
from scheduler.machine.model import load_model  # noqa: E402
from scheduler.frontend.parse import parse_file  # noqa: E402

MODELS = ["neoverse-n1", "neoverse-v1", "neoverse-v2", "cortex-a55"]


def measure(path: Path, model_name: str, orders: int, seed: int) -> dict:
    model = load_model(model_name)
    mcpu = mcpu_for(model_name)
    prog = parse_file(path)
    code = prog.blocks()[0].instructions
    bt = prepare(code, model, prog.noalias)
    ident = list(range(bt.n))

    def mca(order, iterations):
        return run_mca([str(code[k]) for k in order], iterations=iterations, mcpu=mcpu).total_cycles

    row = {"kernel": path.name, "model": model_name, "mcpu": mcpu, "n": bt.n,
           "inorder": inorder(bt, ident, model).cycles, "ooo": out_of_order(bt, ident, model).steady,
           "mca100": mca(ident, 100) / 100, "mca1": mca(ident, 1)}
    rng = random.Random(seed)
    io, oo, m1, m100 = [], [], [], []
    for _ in range(orders):
        o = random_topological_order(bt.dag, rng)
        io.append(inorder(bt, o, model).cycles)
        oo.append(out_of_order(bt, o, model).steady)
        m1.append(mca(o, 1))
        m100.append(mca(o, 100))
    row["rho_inorder"] = spearman(io, m1)
    row["rho_ooo"] = spearman(oo, m100)
    row["spread"] = (max(m100) / min(m100) - 1) if m100 else None
    return row


def fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernels", nargs="*", type=Path)
    ap.add_argument("--model", action="append", dest="models")
    ap.add_argument("--orders", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if find_llvm_mca() is None:
        print("llvm-mca-19 (or newer) not on PATH", file=sys.stderr)
        return 2
    kernels = args.kernels or sorted(p for p in (ROOT / "inputs").iterdir() if p.suffix in (".s", ".S"))
    models = args.models or MODELS
    print(f"llvm-mca: {find_llvm_mca()}; {args.orders} random valid orders per kernel, seed {args.seed}\n")
    print("| model | -mcpu | kernel | instrs | in-order | OoO | mca/it | mca 1 | rho(in-order) | rho(OoO) | spread |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary: dict[str, list[tuple[float | None, float | None]]] = {}
    for m in models:
        for k in kernels:
            r = measure(k, m, args.orders, args.seed)
            summary.setdefault(m, []).append((r["rho_inorder"], r["rho_ooo"]))
            print(f"| {m} | {r['mcpu']} | {r['kernel']} | {r['n']} | {r['inorder']} | {r['ooo']:.2f} | "
                  f"{r['mca100']:.2f} | {r['mca1']} | {fmt(r['rho_inorder'])} | {fmt(r['rho_ooo'])} | "
                  f"{fmt(r['spread'], '.1%')} |", flush=True)
    print("\n| model | mean rho(in-order) | mean rho(OoO) |")
    print("|---|---:|---:|")
    for m, rs in summary.items():
        a = [x for x, _ in rs if x is not None]
        b = [y for _, y in rs if y is not None]
        print(f"| {m} | {fmt(sum(a) / len(a) if a else None)} | {fmt(sum(b) / len(b) if b else None)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
