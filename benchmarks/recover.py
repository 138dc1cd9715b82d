"""Recover the peer tool's schedules from scrambled starts, and try to beat them.

The `_neon` files of shared/graviton2 are schedules made by the peer tool (and fast on
the real core), so a schedule at least that good exists in our search space. For each
kernel and seed the benchmark makes:

  scrambled  a random valid order of the peer's instructions (a random topological order
             of its dependency DAG, `random.Random(seed)`);
  renamed    the same order with the registers it may rename re-allocated at random: every
             value whose register is free to rename (scheduler/search/rename.py's `analyse`:
             not live-in, not live-out, not callee-saved unless written, not reserved) takes a
             random register of its class among those free at its definition, consistently
             for all its readers; so the false dependencies differ from the peer's and
             renaming has work to do;
  peer       the peer's schedule itself as the start (seed not used).

Each start is checked equivalent to the peer's file (scheduler/checks/verify.py, random
states) and optimised with `scheduler optimize --deterministic --workers 1` at each budget
(seconds, here deterministic work units, per instruction). Reported per run: our model's
steady state (cycles/iteration back to back) and single cold run, llvm-mca-19's cycles per
iteration (Total Cycles / 100 iterations, `-mcpu` for the model), for the start, our output
and the peer's schedule, and the wall time. Results are written after every run (JSON and
Markdown), so a long run can be read while it goes.

    nice python benchmarks/recover.py --kernels montmul_p384 --budgets 0.1 --seeds 1 \
        --out outputs/BENCHMARK_RECOVER.md
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.checks.verify import verify  # noqa: E402
from scheduler.frontend.dag import build_dag, random_topological_order  # noqa: E402
from scheduler.frontend.ir import FLAGS, Instruction  # noqa: E402
from scheduler.frontend.parse import parse_file  # noqa: E402
from scheduler.machine.evaluate import out_of_order, prepare  # noqa: E402
from scheduler.machine.mca import find_llvm_mca, mcpu_for, run_mca  # noqa: E402
from scheduler.machine.model import load_model  # noqa: E402
from scheduler.search.rename import Allocation, analyse, rewrite  # noqa: E402

PEERS = ROOT.parent / "shared" / "graviton2"
KERNELS = ("montsqr_p384", "montmul_p384", "montsqr_p521", "montmul_p521", "mul_p521", "sqr_p521")
LIVE_OUT = ("x0",)  # the kernels end in ret: x0 (plus callee-saved, sp, memory) is what counts
VARIANTS = ("scrambled", "renamed", "peer")


def peer_path(kernel: str, peers: Path = PEERS) -> Path:
    return peers / f"bignum_{kernel}_neon.s"


def body(path: Path) -> list[Instruction]:
    """The straight-line body (the final ret dropped: it stays last)."""
    return [i for i in parse_file(path).instructions if i.mnemonic != "ret"]


def scrambled(instrs: Sequence[Instruction], seed: int) -> list[Instruction]:
    order = random_topological_order(build_dag(instrs), random.Random(seed))
    return [instrs[k] for k in order]


def random_renaming(instrs: Sequence[Instruction], seed: int) -> list[Instruction]:
    """Free values re-allocated at random among the registers that hold only free values
    (a linear scan in program order: a register is free again after its value's last read)."""
    rng = random.Random(seed * 31 + 7)
    prob = analyse(instrs, LIVE_OUT)
    fixed_regs = {v.reg for v in prob.values if v.fixed}
    pool = {cls: [r for r in regs if r not in fixed_regs] for cls, regs in prob.available.items() if cls != FLAGS}
    last = {v.id: max(v.uses, default=v.defn if v.defn is not None else -1) for v in prob.values}
    reg_of: dict[int, str] = {v.id: v.reg for v in prob.values}
    free = {cls: set(regs) for cls, regs in pool.items()}
    holder: dict[str, int] = {}  # pool register -> value in it
    for k in range(len(instrs)):
        for vid in prob.reads[k].values():  # reads before writes: a register read last here is free
            r = reg_of[vid]
            if last[vid] == k and holder.get(r) == vid:
                del holder[r]
                free[prob.values[vid].cls].add(r)
        for vid in prob.writes[k].values():
            v = prob.values[vid]
            if v.cls not in pool or v.fixed or v.reg not in pool[v.cls]:
                continue
            if v.tied_to is not None:
                r = reg_of[v.tied_to]
                free[v.cls].discard(r)
            else:
                r = rng.choice(sorted(free[v.cls]))
                free[v.cls].discard(r)
            reg_of[vid], holder[r] = r, vid
        for vid in prob.writes[k].values():  # a value nobody reads frees its register at once
            r = reg_of[vid]
            if last[vid] == k and holder.get(r) == vid:
                del holder[r]
                free[prob.values[vid].cls].add(r)
    return rewrite(instrs, prob, Allocation(reg_of))


def write_kernel(path: Path, instrs: Sequence[Instruction], note: str) -> None:
    path.write_text(f"// {note}\n" + "\n".join(str(i) for i in instrs) + "\nret\n")


@dataclass
class Figures:
    steady: float  # our model, cycles/iteration back to back
    single: int  # our model, one cold run
    mca: float | None  # llvm-mca-19 cycles/iteration (100 iterations)


def figures(instrs: Sequence[Instruction], model_name: str) -> Figures:
    model = load_model(model_name)
    bt = prepare(instrs, model)
    o = out_of_order(bt, list(range(bt.n)), model)
    mca = None
    if find_llvm_mca() is not None:
        res = run_mca([str(i) for i in instrs], iterations=100, mcpu=mcpu_for(model_name) or "neoverse-n1")
        mca = res.total_cycles / res.iterations if res else None
    return Figures(round(o.steady, 2), o.single, mca)


@dataclass
class Run:
    kernel: str
    n: int
    start: str  # scrambled, renamed or peer
    seed: int | None
    budget: float  # work units per instruction
    input: Figures
    ours: Figures
    peer: Figures
    seconds: float  # wall time of the optimize run
    status: str
    notes: list[str]
    stages: list[dict] = field(default_factory=list)  # per stage: time, best before and after (the report's)


def optimize(src: Path, out: Path, units: float, model: str, seed: int,
             objective: str | None = None) -> tuple[list[Instruction], dict, float]:
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "scheduler", "optimize", str(src), "-o", str(out), "--time-limit", f"{units:.2f}",
           "--deterministic", "--workers", "1", "--model", model, "--json", "--quiet", "--seed", str(seed)]
    cmd += ["--objective", objective] if objective else []
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{src.name}: optimize exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return body(out), json.loads(proc.stdout), wall


def starts(kernel: str, seeds: Sequence[int], variants: Sequence[str], peers: Path
           ) -> list[tuple[str, int | None, list[Instruction]]]:
    peer = body(peer_path(kernel, peers))
    out: list[tuple[str, int | None, list[Instruction]]] = []
    if "peer" in variants:
        out.append(("peer", None, peer))
    for seed in seeds:
        sc = scrambled(peer, seed)
        if "scrambled" in variants:
            out.append(("scrambled", seed, sc))
        if "renamed" in variants:
            out.append(("renamed", seed, random_renaming(sc, seed)))
    for name, seed, instrs in out:  # every start computes what the peer's schedule does
        check = verify(peer, instrs, trials=20, seed=seed or 0, outputs=list(LIVE_OUT))
        if not check.equivalent:
            raise RuntimeError(f"{kernel} {name} seed {seed}: start not equivalent: {check}")
    return out


def one(kernel: str, start: str, seed: int | None, instrs: list[Instruction], budget: float, model: str,
        peer_fig: Figures, tmp: Path, search: str | None = None, objective: str | None = None) -> Run:
    """One optimize run from a start, judged under `model`; the search uses `search` (models,
    comma-separated) and `objective` when given."""
    tag = f"{kernel}.{start}.{seed}.{budget}"
    src = tmp / f"{tag}.in.s"
    write_kernel(src, instrs, f"{kernel}: {start} start, seed {seed}")
    after, doc, wall = optimize(src, tmp / f"{tag}.out.s", budget * len(instrs), search or model, seed or 0,
                                objective)
    notes = [n for b in doc["blocks"] for n in b.get("notes", []) if "overlap" in n or "skipped" in n]
    return Run(kernel, len(instrs), start, seed, budget, figures(instrs, model), figures(after, model), peer_fig,
               round(wall, 1), doc["status"], notes, [st for b in doc["blocks"] for st in b.get("stages", [])])


def _fmt(f: Figures) -> str:
    mca = f"{f.mca:.1f}" if f.mca is not None else "-"
    return f"{f.steady:g} / {f.single} / {mca}"


def markdown(runs: list[Run], args) -> str:
    head = ["kernel", "n", "start", "seed", "s/instr", "start: steady / single / mca", "ours: steady / single / mca",
            "peer: steady / single / mca", "ours vs peer (steady, mca)", "wall s"]
    lines = [f"Model `{args.model}`; llvm-mca-19 `-mcpu={mcpu_for(args.model)}`, cycles per iteration over 100 "
             "iterations; `optimize --deterministic --workers 1` (budgets in deterministic work units per "
             "instruction); steady = our out-of-order model's cycles per iteration back to back, single = one "
             "cold run." + (f" Searched with `--model {args.search_models} --objective {args.objective}`."
                            if args.search_models else ""), "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for r in runs:
        ds = r.ours.steady / r.peer.steady - 1
        dm = f"{r.ours.mca / r.peer.mca - 1:+.1%}" if r.ours.mca and r.peer.mca else "-"
        lines.append("| " + " | ".join([r.kernel, str(r.n), r.start, str(r.seed if r.seed is not None else "-"),
                                         f"{r.budget:g}", _fmt(r.input), _fmt(r.ours), _fmt(r.peer),
                                         f"{ds:+.1%}, {dm}", f"{r.seconds:g}"]) + " |")
    return "\n".join(lines) + "\n"


def stage_table(rows: list[dict]) -> str:
    """The per-stage table of docs/scheduling.md from runs' JSON rows: per stage the runs it ran
    in, those where it lowered the best steady state, the steady-state cycles per iteration it
    gained (summed over the runs, and its largest gain with the run), the in-order cycles it
    gained and its wall seconds (summed)."""
    order: list[str] = []
    ran: dict[str, int] = {}
    gains: dict[str, list[tuple[float, str]]] = {}
    inorder: dict[str, int] = {}
    wall: dict[str, float] = {}
    for r in rows:
        label = f"{r['kernel']} {r['start']}" + (f" seed {r['seed']}" if r.get("seed") is not None else "")
        for st in r.get("stages", []):
            name = st["name"]
            if name not in ran:
                order.append(name)
            ran[name] = ran.get(name, 0) + 1
            gain = st["best_ooo_before"] - st["best_ooo_after"]
            if gain > 1e-9:
                gains.setdefault(name, []).append((gain, label))
            inorder[name] = inorder.get(name, 0) + st["best_inorder_before"] - st["best_inorder_after"]
            wall[name] = wall.get(name, 0.0) + st["seconds"]
    from scheduler.search.stages import STAGES

    canonical = ["setup", *(st.name for st in STAGES), "accept", "checks"]
    order.sort(key=lambda n: canonical.index(n) if n in canonical else len(canonical))
    lines = ["| stage | runs | runs with a gain | steady-state cycles gained (sum) | largest gain | in-order cycles "
             "gained (sum) | wall s (sum) |", "|---|---:|---:|---:|---|---:|---:|"]
    for name in order:
        g = gains.get(name, [])
        top = max(g) if g else None
        lines.append(f"| `{name}` | {ran[name]} | {len(g)} | {sum(x for x, _ in g):.1f} | "
                     f"{f'{top[0]:g} ({top[1]})' if top else '-'} | {inorder[name]} | {wall[name]:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage-table", nargs="+", metavar="JSON",
                    help="only print the per-stage table of these runs (JSON files this script wrote)")
    ap.add_argument("--kernels", default=",".join(KERNELS), help="comma-separated, e.g. montmul_p384")
    ap.add_argument("--budgets", default="0.1", help="work units per instruction, comma-separated")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="scrambled, renamed, peer")
    ap.add_argument("--model", default="neoverse-n1", help="the model the figures are taken under")
    ap.add_argument("--search-models", help="optimize's --model, when other than --model (e.g. "
                    "neoverse-n1,llvm-mca:neoverse-n1)")
    ap.add_argument("--objective", help="optimize's --objective (e.g. worst with --search-models)")
    ap.add_argument("--jobs", type=int, default=1, help="optimize runs at once")
    ap.add_argument("--peers", default=str(PEERS), help="directory of the peer's bignum_*_neon.s files")
    ap.add_argument("--out", help="Markdown table (rewritten after every run); JSON beside it")
    args = ap.parse_args(argv)
    if args.stage_table:
        print(stage_table([r for f in args.stage_table for r in json.loads(Path(f).read_text())]), end="")
        return 0
    peers = Path(args.peers)
    kernels = [k for k in args.kernels.split(",") if k]
    for k in kernels:
        if not peer_path(k, peers).exists():
            print(f"{peer_path(k, peers)}:1: no such peer schedule", file=sys.stderr)
            return 2
    budgets = [float(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    runs: list[Run] = []

    def save() -> None:
        runs.sort(key=lambda r: (kernels.index(r.kernel), r.budget, VARIANTS.index(r.start), r.seed or 0))
        text = markdown(runs, args)
        if args.out:
            Path(args.out).write_text(text)
            Path(args.out).with_suffix(".json").write_text(json.dumps([asdict(r) for r in runs], indent=1) + "\n")

    with tempfile.TemporaryDirectory() as tmpd, ThreadPoolExecutor(max(1, args.jobs)) as pool:
        tmp = Path(tmpd)
        futures = []
        for k in kernels:
            peer_fig = figures(body(peer_path(k, peers)), args.model)
            for start, seed, instrs in starts(k, seeds, variants, peers):
                for b in budgets:
                    futures.append(pool.submit(one, k, start, seed, instrs, b, args.model, peer_fig, tmp,
                                               args.search_models, args.objective))
        for f in futures:
            r = f.result()
            runs.append(r)
            print(f"{r.kernel} {r.start} seed {r.seed} {r.budget}: {r.input} -> {r.ours} (peer {r.peer}) "
                  f"{r.seconds}s", file=sys.stderr, flush=True)
            save()
    save()
    print(markdown(runs, args), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
