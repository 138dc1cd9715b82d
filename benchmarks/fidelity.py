#!/usr/bin/env python3
"""Fidelity of the out-of-order evaluator against llvm-mca: does it rank schedules the way
`llvm-mca-19 -mtriple=aarch64 -mcpu=neoverse-n1 -iterations=100` does?

    python benchmarks/fidelity.py [--orders 50] [--seed 1] [--model neoverse-n1]
                                  [--renamed] [--jobs 2] [--cache FILE] [--json FILE] [KERNEL ...]

Per kernel (block 0; default: inputs/montgomery/*.s and inputs/*.s, *.S) the candidates are
the input order, `outputs/<stem>.s` when it exists, with --renamed the renamed schedules of
`scheduler.regsched.reschedule`, and `--orders` random valid reorderings
(`scheduler.dag.random_topological_order`). For each candidate: llvm-mca's Total Cycles of 100
iterations (divided by 100: "mca"), and our `out_of_order` steady state ("steady") and cold
run ("single"). Printed per kernel: the spread (max/min - 1) of mca and of steady, the mean
ratio steady/mca (level), Spearman's rho and Kendall's tau of steady against mca, rho of
the optimizer's judge key (steady, then single: `rho(key)`) and of single alone, and the
candidate pairs where the two disagree by more than 5% (llvm-mca's figures differ by more
than 5% but ours orders them the other way, or the reverse).

llvm-mca's figures do not depend on our model, so `--cache` keeps them in a JSON file
keyed by the listing's hash (re-runs after a model change then only time our evaluator).
llvm-mca runs in `--jobs` threads (each a subprocess); our evaluator in the main thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ranking import spearman  # benchmarks/ranking.py
from scheduler.frontend.dag import random_topological_order
from scheduler.machine.evaluate import BlockTiming, out_of_order, prepare
from scheduler.machine.mca import find_llvm_mca, mcpu_for, run_mca
from scheduler.machine.model import Model, load_model
from scheduler.frontend.parse import parse_file

DISAGREE = 0.05


# ----------------------------------------------------------------- statistics

def kendall(a: list[float], b: list[float]) -> float | None:
    """Kendall's tau-b; None if one side is constant."""
    conc = disc = ta = tb = 0
    n = len(a)
    for i in range(n):
        for j in range(i + 1, n):
            x, y = a[i] - a[j], b[i] - b[j]
            if x == 0 and y == 0:
                continue
            if x == 0:
                ta += 1
            elif y == 0:
                tb += 1
            elif (x > 0) == (y > 0):
                conc += 1
            else:
                disc += 1
    den = ((conc + disc + ta) * (conc + disc + tb)) ** 0.5
    return None if den == 0 else (conc - disc) / den


def disagreements(labels: list[str], ours: list[float], mca: list[float], tol: float = DISAGREE):
    """Pairs ranked oppositely where at least one side's difference exceeds `tol`."""
    out = []
    for i in range(len(ours)):
        for j in range(i + 1, len(ours)):
            dm = mca[j] / mca[i] - 1
            do = ours[j] / ours[i] - 1
            if (dm * do < 0 or (dm == 0) != (do == 0)) and max(abs(dm), abs(do)) > tol:
                out.append((labels[i], labels[j], ours[i], ours[j], mca[i], mca[j]))
    out.sort(key=lambda t: -max(abs(t[5] / t[4] - 1), abs(t[3] / t[2] - 1)))
    return out


# ----------------------------------------------------------------- candidates

@dataclass
class Candidate:
    label: str
    bt: BlockTiming
    order: list[int]

    @property
    def lines(self) -> list[str]:
        return [str(self.bt.instrs[k]) for k in self.order]


@dataclass
class KernelResult:
    kernel: str
    n: int
    labels: list[str] = field(default_factory=list)
    mca: list[float] = field(default_factory=list)
    steady: list[float] = field(default_factory=list)
    single: list[int] = field(default_factory=list)
    eval_seconds: float = 0.0

    def row(self) -> dict:
        def spread(xs):
            return max(xs) / min(xs) - 1 if xs and min(xs) > 0 else None
        rnd = [i for i, lab in enumerate(self.labels) if lab.startswith("random")]
        return {
            "kernel": self.kernel, "n": self.n, "candidates": len(self.labels),
            "mca_spread": spread(self.mca), "steady_spread": spread(self.steady),
            "level": sum(s / m for s, m in zip(self.steady, self.mca, strict=True)) / len(self.mca),
            "rho": spearman(self.steady, self.mca), "tau": kendall(self.steady, self.mca),
            "rho_random": spearman([self.steady[i] for i in rnd], [self.mca[i] for i in rnd]),
            "rho_single": spearman([float(x) for x in self.single], self.mca),
            "rho_key": spearman([s + x * 1e-6 for s, x in zip(self.steady, self.single, strict=True)], self.mca),
            "disagree": len(disagreements(self.labels, self.steady, self.mca)),
            "pairs": len(self.labels) * (len(self.labels) - 1) // 2,
            "eval_ms": 1000 * self.eval_seconds / max(1, len(self.labels)),
            "labels": self.labels, "mca": self.mca, "steady": self.steady, "single": self.single,
        }


def candidates(path: Path, model: Model, orders: int, seed: int, renamed: bool) -> list[Candidate]:
    prog = parse_file(path)
    code = prog.blocks()[0].instructions
    bt = prepare(code, model, prog.noalias)
    out = [Candidate("input", bt, list(range(bt.n)))]
    ours = ROOT / "outputs" / (path.stem + ".s")
    if ours.exists():
        oprog = parse_file(ours)
        ocode = oprog.blocks()[0].instructions
        obt = prepare(ocode, model, oprog.noalias | prog.noalias)
        out.append(Candidate("output", obt, list(range(obt.n))))
    if renamed:
        from scheduler.search.optimize import live_out_of
        from scheduler.search.regsched import reschedule
        from scheduler.search.rename import DEFAULT_RESERVED
        live_out = live_out_of(prog, prog.blocks()[0], frozenset(prog.outputs))
        for v, (body, _) in enumerate(reschedule(code, model, live_out, DEFAULT_RESERVED, prog.noalias)):
            rbt = prepare(body, model, prog.noalias)
            out.append(Candidate(f"renamed{v}", rbt, list(range(rbt.n))))
    rng = random.Random(seed)
    for i in range(orders):
        out.append(Candidate(f"random{i}", bt, random_topological_order(bt.dag, rng)))
    return out


# ----------------------------------------------------------------- llvm-mca

class McaCache:
    def __init__(self, path: Path | None, mcpu: str):
        self.path, self.mcpu = path, mcpu
        self.data: dict[str, float] = {}
        if path is not None and path.exists():
            self.data = json.loads(path.read_text())

    def key(self, lines: list[str]) -> str:
        return hashlib.sha256(("\n".join([self.mcpu, *lines])).encode()).hexdigest()[:24]

    def get(self, lines: list[str]) -> float:
        k = self.key(lines)
        if k not in self.data:
            self.data[k] = run_mca(lines, iterations=100, mcpu=self.mcpu).cycles_per_iteration
        return self.data[k]

    def save(self) -> None:
        if self.path is not None:
            self.path.write_text(json.dumps(self.data))


def measure(path: Path, model: Model, cache: McaCache, pool: ThreadPoolExecutor, orders: int, seed: int,
            renamed: bool) -> KernelResult:
    cands = candidates(path, model, orders, seed, renamed)
    futures = [pool.submit(cache.get, c.lines) for c in cands]
    res = KernelResult(path.name, cands[0].bt.n)
    t0 = time.perf_counter()
    ooo = [out_of_order(c.bt, c.order, model) for c in cands]
    res.eval_seconds = time.perf_counter() - t0
    for c, f, r in zip(cands, futures, ooo, strict=True):
        res.labels.append(c.label)
        res.mca.append(f.result())
        res.steady.append(r.steady)
        res.single.append(r.single)
    return res


def fmt(v, spec=".2f") -> str:
    return "-" if v is None else format(v, spec)


def default_kernels() -> list[Path]:
    mont = sorted((ROOT / "inputs" / "montgomery").glob("*.s"))
    rest = sorted(p for p in (ROOT / "inputs").iterdir() if p.suffix in (".s", ".S"))
    return mont + rest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernels", nargs="*", type=Path)
    ap.add_argument("--model", default="neoverse-n1")
    ap.add_argument("--orders", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--renamed", action="store_true", help="add regsched.reschedule's renamed schedules")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", type=Path, help="JSON file caching llvm-mca's figures")
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    ap.add_argument("--pairs", type=int, default=3, help="disagreeing pairs printed per kernel")
    ap.add_argument("--mca-rank", action="store_true",
                    help="issue by llvm-mca's rank (age minus waiting dependants), a diagnostic: "
                         "scheduler.machine.evaluate.MCA_RANK")
    args = ap.parse_args(argv)
    if find_llvm_mca() is None:
        print("llvm-mca-19 (or newer) not on PATH", file=sys.stderr)
        return 2
    if args.mca_rank:
        import scheduler.machine.evaluate
        scheduler.machine.evaluate.MCA_RANK = True
    model = load_model(args.model)
    mcpu = mcpu_for(args.model) or "neoverse-n1"
    cache = McaCache(args.cache, mcpu)
    kernels = args.kernels or default_kernels()
    print(f"model {args.model} vs {find_llvm_mca()} -mcpu={mcpu} -iterations=100; "
          f"{args.orders} random orders, seed {args.seed}{', renamed' if args.renamed else ''}"
          f"{', llvm-mca issue rank' if args.mca_rank else ''}\n")
    print("| kernel | instrs | cands | mca spread | steady spread | steady/mca | rho | tau | "
          "rho(key) | rho(single) | >5% disagree | ms/call |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows, notes = [], []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for k in kernels:
            r = measure(k, model, cache, pool, args.orders, args.seed, args.renamed)
            cache.save()
            row = r.row()
            rows.append(row)
            print(f"| {row['kernel']} | {row['n']} | {row['candidates']} | {fmt(row['mca_spread'], '.1%')} | "
                  f"{fmt(row['steady_spread'], '.1%')} | {row['level']:.3f} | {fmt(row['rho'])} | "
                  f"{fmt(row['tau'])} | {fmt(row['rho_key'])} | {fmt(row['rho_single'])} | {row['disagree']}/{row['pairs']} | "
                  f"{row['eval_ms']:.0f} |", flush=True)
            for a, b, oa, ob, ma, mb in disagreements(r.labels, r.steady, r.mca)[:args.pairs]:
                notes.append(f"{r.kernel}: {a} vs {b}: ours {oa:.2f} vs {ob:.2f}, llvm-mca {ma:.2f} vs {mb:.2f}")
    if notes:
        print("\nLargest disagreements (> 5%):")
        for s in notes:
            print("  " + s)
    rhos = [r["rho"] for r in rows if r["rho"] is not None]
    if rhos:
        print(f"\nrho >= 0.8 on {sum(x >= 0.8 for x in rhos)} of {len(rhos)} kernels where it is defined; "
              f"mean {sum(rhos) / len(rhos):.2f}")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "orders": args.orders, "seed": args.seed,
                                         "renamed": args.renamed, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
