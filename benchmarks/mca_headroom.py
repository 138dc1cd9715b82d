#!/usr/bin/env python3
"""How much could any reordering gain in llvm-mca's view? A measurement, not part of the tool.

Issue 15 asks for 15% fewer llvm-mca cycles than the naive order. llvm-mca's Block
RThroughput is a resource bound that its own simulation may not reach (its pipe choice and
128-entry window), so this script searches with llvm-mca itself as the judge: a hill climb of
single-instruction moves (each within the instruction's dependency window, so every order is
valid) from a start order, keeping a move when llvm-mca's Total Cycles (100 iterations) do not
grow. The result estimates the headroom llvm-mca's model leaves; the optimizer never calls
llvm-mca while searching (it is a second opinion, not our model).

    python benchmarks/mca_headroom.py KERNEL [START ...] [--evals 400] [--seed 1]

START files (e.g. our optimized output) must be reorderings of the same instructions;
without them the search starts from KERNEL. Prints the best figure found per start.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.core.clock import Deadline  # noqa: E402
from scheduler.frontend.parse import parse_file  # noqa: E402
from scheduler.machine.evaluate import prepare  # noqa: E402
from scheduler.machine.mca import find_llvm_mca, run_mca  # noqa: E402
from scheduler.machine.model import load_model  # noqa: E402
from scheduler.search.localsearch import move_search  # noqa: E402


def climb(lines: list[str], instrs, evals: int, rng: random.Random) -> tuple[int, int, list[int]]:
    """(start cycles, best cycles, best order) of a hill climb from `lines` in llvm-mca's model
    (the optimizer's own move loop, `localsearch.move_search`, with llvm-mca as the judge)."""
    bt = prepare(instrs, load_model("neoverse-n1"))  # only its dependency edges are used

    def evaluate(order):
        r = run_mca([lines[k] for k in order])
        assert r is not None
        return (r.total_cycles,), r.total_cycles

    ident = list(range(len(instrs)))
    start = evaluate(ident)
    order, best, _ = move_search(bt, ident, start, evaluate, rng, evals, Deadline.never(), patience=evals)
    return start[1], best, order


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kernel", type=Path)
    ap.add_argument("starts", nargs="*", type=Path)
    ap.add_argument("--evals", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", type=Path, help="write each climb's best order (instruction lines) here")
    args = ap.parse_args()
    if find_llvm_mca() is None:
        print("llvm-mca-19 (or newer) not on PATH", file=sys.stderr)
        return 2
    base = parse_file(str(args.kernel)).blocks()[0].instructions
    ref = run_mca([str(i) for i in base])
    assert ref is not None
    print(f"{args.kernel.name}: as written {ref.total_cycles}, llvm-mca bound {ref.block_rthroughput * 100:.0f}")
    for path in [args.kernel, *args.starts]:
        instrs = parse_file(str(path)).blocks()[0].instructions
        start, best, order = climb([str(i) for i in instrs], instrs, args.evals, random.Random(args.seed))
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            (args.write / f"{path.stem}.mca-climb.s").write_text("".join(f"        {instrs[k]}\n" for k in order))
        print(f"  from {path.name}: {start} -> {best} after {args.evals} llvm-mca-judged moves "
              f"({best / ref.total_cycles - 1:+.1%} against as written)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
