"""Proof times of `verify --prove`'s symbolic prover (scheduler/smt.py).

For every example in inputs/ (against its scheduled output in outputs/, and against a
random valid reordering) and every large kernel in inputs/large/ (against random valid
reorderings, `dag.random_topological_order`), prints the instruction count, the status,
how it was settled, and the time of the symbolic execution and of the whole check.

    python3 benchmarks/prove_bench.py [--seeds 3] [--timeout 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.frontend.dag import build_dag, random_topological_order
from scheduler.frontend.parse import parse_file
from scheduler.checks.smt import check_equivalence
from scheduler.checks.verify import straight_line


def _row(name: str, kind: str, a, b, noalias, outputs, timeout: float) -> dict:
    t = time.perf_counter()
    res = check_equivalence(a, b, noalias, outputs, timeout)
    total = time.perf_counter() - t
    return {"kernel": name, "against": kind, "instructions": len(a), "status": res.status,
            "method": res.method, "locations": res.stats.get("locations"),
            "execute_s": round(res.stats.get("execute_seconds", 0.0), 3), "total_s": round(total, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3, help="random reorderings per kernel")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    rows = []
    examples = sorted(p for p in (ROOT / "inputs").iterdir() if p.suffix in (".s", ".S"))
    large = sorted((ROOT / "inputs" / "large").glob("*.s"))
    for path in examples + large:
        prog = parse_file(path)
        code = straight_line(prog)
        outputs = list(prog.outputs) if prog.outputs_declared else None
        name = path.relative_to(ROOT / "inputs").as_posix()
        out = ROOT / "outputs" / (path.stem + ".s")
        if path in examples and out.exists():
            other = parse_file(out)
            outs = outputs if outputs is not None else (list(other.outputs) if other.outputs_declared else None)
            rows.append(_row(name, "outputs/" + out.name, code, straight_line(other), prog.noalias, outs,
                             args.timeout))
            print(_fmt(rows[-1]), flush=True)
        g = build_dag(code, prog.noalias)
        for seed in range(args.seeds):
            order = random_topological_order(g, random.Random(seed))
            rows.append(_row(name, f"random order {seed}", code, [code[k] for k in order], prog.noalias,
                             outputs, args.timeout))
            print(_fmt(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _fmt(r: dict) -> str:
    return (f"{r['kernel']:28s} {r['against']:24s} {r['instructions']:5d} instrs  {r['status']:8s} "
            f"{r['method']:10s} {r['locations']!s:>5s} locations  execute {r['execute_s']:6.2f} s  "
            f"total {r['total_s']:6.2f} s")


if __name__ == "__main__":
    raise SystemExit(main())
