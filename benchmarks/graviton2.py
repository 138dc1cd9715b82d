#!/usr/bin/env python3
"""Graviton2 ground truth: how well do our N1 models (and llvm-mca) predict the hardware?

    python benchmarks/graviton2.py [--dir ../shared/graviton2] [--model NAME ...]
                                   [--variant NAME ... | --variant all] [--call loop|bare]
                                   [--pair NAME] [--no-mca] [--write outputs/GRAVITON2.md] [--json F]

`--dir` holds six pairs of s2n-bignum kernels (old scalar -> new NEON) and a README.md whose
table gives each one's Graviton2 time per call, in cycles at 2.5 GHz (default: `shared/graviton2`
next to the repository, `ROOT/../shared/graviton2`; the script exits 0 with a note when it is
absent). For each model (`--model`, default `neoverse-n1`) and each named variant of the
default model (`--variant`, see VARIANTS; `all` runs every one), and llvm-mca-19 when it is on
PATH: the predicted steady state per call of all 12 kernels, the level (predicted / Graviton2)
and per pair the ratio new/old and its error |predicted ratio - Graviton2 ratio|.

What one "call" is (`--call`): the timings are s2n-bignum's benchmark loop,
`for (i = 0; i < inner_reps; ++i) f(b0, b1, b2);`, so each call gets its argument pointers
afresh from the caller and the loop adds a few instructions. `loop` (the default) runs, back
to back, the kernel (with its `ret`) inside the loop a C compiler makes of that line:
`mov x0, x19` ... (one per argument register the kernel reads; the pointers live in
callee-saved registers), `bl`, the kernel, `add x22, x22, #1`, `ldr x8, [x23]` (inner_reps is
a global, reloaded after the call), `cmp x22, x8`, `b.ne`. `bare` is the kernel alone, as
`scheduler compare` times it: a live-in register is carried from the previous iteration's last
write, so a kernel that reuses its pointer registers (x1, x2) waits for itself across calls.
llvm-mca always sees the kernel's instructions as listed (its own loop semantics).

`--write FILE` replaces the block between `<!-- graviton2.py begin -->` and
`<!-- graviton2.py end -->` in FILE (appends one if there is none) with the tables printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.frontend.ir import Instruction  # noqa: E402
from scheduler.frontend.parse import parse_file, parse_text  # noqa: E402
from scheduler.machine.evaluate import long_run_steady, out_of_order, prepare  # noqa: E402
from scheduler.machine.mca import find_llvm_mca, run_mca  # noqa: E402
from scheduler.machine.model import (  # noqa: E402
    ClassSpec,
    HoldSpec,
    Model,
    ModelSpec,
    Param,
    PipeSpec,
    QueueSpec,
    SteeringSpec,
    UopSpec,
    load_model,
)

DEFAULT_DIR = ROOT.parent / "shared" / "graviton2"
BEGIN, END = "<!-- graviton2.py begin -->", "<!-- graviton2.py end -->"
BAND = (0.94, 1.06)  # the level target of issue 26


@dataclass(frozen=True)
class Pair:
    name: str  # e.g. montsqr_p384
    old: Path
    new: Path
    hw_old: float  # Graviton2 cycles per call
    hw_new: float


def read_truth(d: Path) -> list[Pair]:
    """The pairs and their Graviton2 cycles, from the table in `d/README.md`."""
    rows = re.findall(r"^\|\s*`bignum_(\w+)`\s*→\s*`_neon`\s*\|[^|]*\|[^|]*\|\s*([\d.]+)\s*→\s*([\d.]+)\s*\|",
                      (d / "README.md").read_text(), flags=re.M)
    return [Pair(n, d / f"bignum_{n}.s", d / f"bignum_{n}_neon.s", float(a), float(b)) for n, a, b in rows]


# ------------------------------------------------------------------ one call


def argument_count(instrs: list[Instruction]) -> int:
    """How many AAPCS64 argument registers (x0..x7) the kernel reads before writing."""
    written: set[str] = set()
    used = 0
    for ins in instrs:
        for r in ins.reads - written:
            if re.fullmatch(r"x[0-7]", r):
                used = max(used, int(r[1:]) + 1)
        written |= ins.writes
    return used


def call_sequence(path: Path, call: str) -> tuple[list[Instruction], frozenset[str]]:
    """The instructions of one call of the kernel in `path` (see the module docstring)."""
    prog = parse_file(path)
    kernel = list(prog.instructions)
    if call == "bare":
        return list(prog.blocks()[0].instructions), prog.noalias
    moves = "\n".join(f"mov x{i}, x{19 + i}" for i in range(argument_count(kernel)))
    before = parse_text(f"loop:\n{moves}\nbl f\nf:\n").instructions
    after = parse_text("loop:\nadd x22, x22, #1\nldr x8, [x23]\ncmp x22, x8\nb.ne loop\n").instructions
    return list(before) + kernel + list(after), prog.noalias


# ------------------------------------------------------------------ variants


def _set_mul(spec: ModelSpec, mul: int, mulh: int, unit: bool) -> ModelSpec:
    """64-bit MUL and UMULH keep the multiplier busy `mul` / `mulh` cycles: the whole M pipe
    (unit False, as LLVM's N1 model) or a multiplier unit behind M's issue port (unit True)."""
    classes = dict(spec.classes)
    pipes = dict(spec.pipes)
    for opclass, busy in (("int_mul64", mul), ("int_mulh", mulh), ("int_mul32", 1), ("int_mull", 1)):
        target = spec.opclasses[opclass]
        name = target if isinstance(target, str) else target.class_
        c = classes[name]
        uop = (UopSpec(pipe="M", busy=1, holds=[HoldSpec(pipe="MUL", busy=busy)]) if unit
               else UopSpec(pipe="M", busy=busy))
        classes[name] = ClassSpec(latency=c.latency, uops=[uop], writeback_latency=c.writeback_latency,
                                  source=f"graviton2.py variant: busy {busy}{' on MUL' if unit else ''}")
    if unit and "MUL" not in pipes:
        pipes["MUL"] = PipeSpec(count=1, source="graviton2.py variant: the multiplier behind M")
    return spec.model_copy(update={"classes": classes, "pipes": pipes})


def _set_queues(spec: ModelSpec, rule: str, avoid: tuple[str, ...] = ()) -> ModelSpec:
    src = "graviton2.py variant"
    if rule == "issue":
        return spec.model_copy(update={"steering": SteeringSpec(rule="issue", source=src), "queues": {}})
    queues = {p: QueueSpec(size=s, source=src) for p, s in (("B", 16), ("S", 16), ("M", 16), ("L", 12),
                                                             ("V0", 16), ("V1", 16)) if p in spec.pipes}
    return spec.model_copy(update={"steering": SteeringSpec(rule="least", avoid=list(avoid), source=src),
                                   "queues": queues})


def _set_delay(spec: ModelSpec, d: int) -> ModelSpec:
    core = spec.core.model_copy(update={"dispatch_to_issue": Param(value=d, source="graviton2.py variant")})
    return spec.model_copy(update={"core": core})


def variant(mul: int, mulh: int, unit: bool, rule: str, avoid: tuple[str, ...] = (), delay: int = 1
            ) -> Callable[[ModelSpec], ModelSpec]:
    return lambda s: _set_delay(_set_queues(_set_mul(s, mul, mulh, unit), rule, avoid), delay)


def _variants() -> dict[str, tuple[str, Callable[[ModelSpec], ModelSpec]]]:
    out = {"before": ("the default before issue 26: MUL busy 2, UMULH 3 on M, pipes picked at issue",
                      variant(2, 3, False, "issue"))}
    for mulh in (3, 4):
        for unit in (False, True):
            for rule, avoid in (("issue", ()), ("least", ()), ("least", ("M",))):
                for delay in (1, 2):
                    if rule == "issue" and delay == 2:
                        continue
                    name = (f"mul3-umulh{mulh}-{'unit' if unit else 'pipe'}-"
                            f"{'issue' if rule == 'issue' else 'least' + ('-avoidM' if avoid else '')}"
                            f"{'-d2' if delay == 2 else ''}")
                    desc = (f"MUL 3 / UMULH {mulh} {'on a multiplier behind M' if unit else 'on the M pipe'}, "
                            + ("pipes picked at issue" if rule == "issue" else
                               f"issue queues, least-occupied{' (M last)' if avoid else ''}")
                            + (", dispatch-to-issue 2" if delay == 2 else ""))
                    out[name] = (desc, variant(3, mulh, unit, rule, avoid, delay))
    return out


VARIANTS = _variants()


# ------------------------------------------------------------------ measuring


@dataclass
class Prediction:
    label: str
    cycles: dict[str, float] = field(default_factory=dict)  # kernel file name -> cycles per call
    ms_per_call: float = 0.0  # our evaluator's time per out_of_order call (the optimizer's setting)


def predict(label: str, model: Model, pairs: list[Pair], call: str) -> Prediction:
    p = Prediction(label)
    seconds, calls = 0.0, 0
    for pair in pairs:
        for path in (pair.old, pair.new):
            instrs, noalias = call_sequence(path, call)
            bt = prepare(instrs, model, noalias)
            t = time.perf_counter()
            out_of_order(bt, list(range(bt.n)), model)  # what the optimizer runs: timed
            seconds += time.perf_counter() - t
            calls += 1
            p.cycles[path.name] = long_run_steady(bt, list(range(bt.n)), model)
    p.ms_per_call = 1000 * seconds / max(calls, 1)
    return p


def predict_mca(pairs: list[Pair]) -> Prediction:
    p = Prediction("llvm-mca-19")
    for pair in pairs:
        for path in (pair.old, pair.new):
            lines = [str(i) for i in parse_file(path).instructions]
            r = run_mca(lines, iterations=100, mcpu="neoverse-n1")
            assert r is not None
            p.cycles[path.name] = r.cycles_per_iteration
    return p


def summary(p: Prediction, pairs: list[Pair]) -> dict:
    errs, levels = [], []
    for pair in pairs:
        po, pn = p.cycles[pair.old.name], p.cycles[pair.new.name]
        errs.append(abs(pn / po - pair.hw_new / pair.hw_old))
        levels += [po / pair.hw_old, pn / pair.hw_new]
    return {"label": p.label, "mean_error": sum(errs) / len(errs), "max_error": max(errs),
            "level_min": min(levels), "level_max": max(levels), "level_mean": sum(levels) / len(levels),
            "in_band": sum(BAND[0] <= x <= BAND[1] for x in levels), "kernels": len(levels),
            "ms_per_call": p.ms_per_call}


# ------------------------------------------------------------------ tables


def summary_table(preds: list[Prediction], pairs: list[Pair], descs: dict[str, str]) -> list[str]:
    out = ["| model or variant | mean ratio error (max) | level min–max (mean) | levels in 0.94–1.06 | ms per call |",
           "|---|---:|---:|---:|---:|"]
    for p in preds:
        s = summary(p, pairs)
        name = f"`{p.label}`" + (f": {descs[p.label]}" if p.label in descs else "")
        ms = f"{s['ms_per_call']:.1f}" if s["ms_per_call"] else "-"
        out.append(f"| {name} | {s['mean_error']:.3f} ({s['max_error']:.3f}) | {s['level_min']:.2f}–"
                   f"{s['level_max']:.2f} ({s['level_mean']:.2f}) | {s['in_band']}/{s['kernels']} | {ms} |")
    return out


def detail_table(preds: list[Prediction], pairs: list[Pair]) -> list[str]:
    """Per kernel: Graviton2, then each prediction with its level; per pair the ratios."""
    head = "| kernel | Graviton2 | " + " | ".join(f"{p.label} (level)" for p in preds) + " |"
    out = [head, "|---|---:|" + "---:|" * len(preds)]
    for pair in pairs:
        for path, hw in ((pair.old, pair.hw_old), (pair.new, pair.hw_new)):
            cells = [f"{p.cycles[path.name]:.1f} ({p.cycles[path.name] / hw:.2f})" for p in preds]
            out.append(f"| {path.stem} | {hw:.1f} | " + " | ".join(cells) + " |")
        cells = []
        for p in preds:
            r = p.cycles[pair.new.name] / p.cycles[pair.old.name]
            cells.append(f"{r:.3f} (err {abs(r - pair.hw_new / pair.hw_old):.3f})")
        out.append(f"| *{pair.name} new/old* | *{pair.hw_new / pair.hw_old:.3f}* | " + " | ".join(cells) + " |")
    return out


def write_block(path: Path, lines: list[str]) -> None:
    block = "\n".join([BEGIN, *lines, END])
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + block + "\n"
    path.write_text(text)


# ------------------------------------------------------------------ main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--model", action="append", dest="models")
    ap.add_argument("--variant", action="append", dest="variants", default=[])
    ap.add_argument("--call", choices=("loop", "bare"), default="loop")
    ap.add_argument("--pair", help="only this pair, e.g. montsqr_p384")
    ap.add_argument("--no-mca", action="store_true")
    ap.add_argument("--write", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if not (args.dir / "README.md").exists():
        print(f"{args.dir}: no Graviton2 timings here; nothing to compare")
        return 0
    pairs = [p for p in read_truth(args.dir) if args.pair in (None, p.name)]
    if not pairs:
        print(f"no pair named {args.pair!r} in {args.dir}/README.md", file=sys.stderr)
        return 2
    names = list(VARIANTS) if "all" in args.variants else args.variants
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        print(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    preds = []
    if not args.no_mca and find_llvm_mca() is not None:
        preds.append(predict_mca(pairs))
    for name in args.models or (["neoverse-n1"] if not names else []):
        preds.append(predict(name, load_model(name), pairs, args.call))
    base = load_model("neoverse-n1")
    for name in names:
        spec = VARIANTS[name][1](base.spec)
        preds.append(predict(name, Model(name, base.path, spec), pairs, args.call))
        print(f"  {name}: done", file=sys.stderr, flush=True)
    descs = {k: d for k, (d, _) in VARIANTS.items()}
    lines = [f"Call model `--call {args.call}`; Graviton2 cycles from `{args.dir.name}/README.md`.", "",
             *summary_table(preds, pairs, descs), "", *detail_table(preds, pairs)]
    print("\n".join(lines))
    if args.write:
        write_block(args.write, lines)
    if args.json:
        args.json.write_text(json.dumps({"call": args.call, "summary": [summary(p, pairs) for p in preds],
                                         "cycles": {p.label: p.cycles for p in preds}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
