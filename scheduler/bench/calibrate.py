"""`scheduler calibrate`: microbenchmarks per class of a base model, and a variant model file.

For every class of the base model that one of PROBES maps to (the first probe per class):
* a latency chain: LENGTH copies of an instruction that reads what the previous one wrote;
  latency = cycles per LENGTH / LENGTH;
* independent throughput: LENGTH copies writing 12 rotating registers from 4 others;
* mixes with every other probed class, 1:1, 7:1 and 1:7, on disjoint registers: two classes
  that share a pipe slow each other down, two that do not overlap. The mixes of ALU work
  with multiplies reveal whether the ALU work is steered onto the multiplier.

Inference. A class of one micro-op is described by the pipe or group it may use and the
cycles it blocks it (busy). The independent runs and mixes are predicted for each
hypothesis -- every pipe and every group of the base model, busy 1..MAX_BUSY -- by the
pipe bound (the most loaded set of pipes: the work that can only go there over their
number), and the hypothesis with the smallest squared relative error wins (ties: the base
model's). Classes are fitted one at a time with the others fixed, twice over. Classes of
several micro-ops get their latency measured and keep the base model's micro-ops.

Every body is measured at LENGTH and at REPEAT x LENGTH instructions (the body repeated),
and the figure used is the cost of LENGTH more instructions: (t(REPEAT x LENGTH) - t(LENGTH))
/ (REPEAT - 1). The harness's own per-call cost, and how much of the body overlaps it on an
out-of-order core, are the same in both and cancel.

What is not probed (memory classes, branches, core widths, forwarding) keeps the base
model's numbers and sources. Measured numbers carry the source
"measured by scheduler calibrate on <cpu>, <date>"; under emulation that source starts with
EMULATED and the file's `sources` has an EMULATED entry, which `optimize` warns about.
"""

from __future__ import annotations

import datetime
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.bench.measure import Executor, Kernel, Measurement
from scheduler.frontend.ir import Instruction
from scheduler.frontend.parse import parse_text
from scheduler.machine.model import Model, load_model

LENGTH = 48  # instructions per microbenchmark body
REPEAT = 3  # each body is also measured REPEAT times as long (the slope between the two)
MAX_BUSY = 8
MIXES = ((24, 24), (42, 6), (6, 42))  # 42:6 tells ALU work on S only, on S+M, or on S and an extra pipe
EMULATED_KEY = "EMULATED"
EMULATED_PREFIX = "EMULATED under qemu-user (these figures say nothing about any core): "


@dataclass(frozen=True)
class Probe:
    """A microbenchmark instruction: one link of a latency chain and an independent-instruction template."""

    name: str
    chain: str  # one link of the latency chain
    indep: str  # {d}: destination, {a} {b}: sources
    vector: bool = False


PROBES = (
    Probe("add", "add x0, x0, x16", "add x{d}, x{a}, x{b}"),
    Probe("add-lsl8", "add x0, x0, x16, lsl #8", "add x{d}, x{a}, x{b}, lsl #8"),
    Probe("mul", "mul x0, x0, x16", "mul x{d}, x{a}, x{b}"),
    Probe("umulh", "umulh x0, x0, x16", "umulh x{d}, x{a}, x{b}"),
    Probe("madd", "madd x0, x0, x16, x17", "madd x{d}, x{a}, x{b}, x{a}"),
    Probe("vadd", "add v0.2d, v0.2d, v16.2d", "add v{d}.2d, v{a}.2d, v{b}.2d", True),
    Probe("umull", "umull v0.2d, v0.2s, v16.2s", "umull v{d}.2d, v{a}.2s, v{b}.2s", True),
    Probe("ushr", "ushr v0.2d, v0.2d, #3", "ushr v{d}.2d, v{a}.2d, #3", True),
    Probe("vmul", "mul v0.4s, v0.4s, v16.4s", "mul v{d}.4s, v{a}.4s, v{b}.4s", True),
)

Uop = tuple[frozenset[str], int]  # the pipe kinds a micro-op may use, busy cycles


@dataclass
class ClassFit:
    """What calibration found for one class: latency (cycles), micro-ops, whether they were fitted, fit error."""

    cls: str
    probe: str
    latency: int
    uops: list[Uop]
    fitted: bool  # pipes and busy inferred (a one-micro-op class)
    error: float = 0.0


@dataclass
class Calibration:
    """The result of calibrating a base model: per-class fits, the measurement and the derived figures."""

    base: Model
    fits: dict[str, ClassFit]
    measurement: Measurement
    figures: dict[str, float] = field(default_factory=dict)  # kernel -> median cycles per call


_PARSED: dict[str, Instruction] = {}


def _instrs(lines: Sequence[str]):
    """The lines as instructions (each distinct line parsed once: bodies repeat a few lines)."""
    new = sorted(set(lines) - set(_PARSED))
    if new:
        _PARSED.update(zip(new, parse_text("\n".join(new) + "\n", "<calibrate>").blocks()[0].instructions,
                           strict=True))
    return tuple(_PARSED[line] for line in lines)


def _indep(p: Probe, count: int, dests: Sequence[int]) -> list[str]:
    return [p.indep.format(d=dests[i % len(dests)], a=12 + i % 2, b=14 + (i // 2) % 2) for i in range(count)]


def _interleave(a: list[str], b: list[str]) -> list[str]:
    """Spread the shorter list evenly through the longer."""
    if len(a) < len(b):
        a, b = b, a
    out, step = [], len(a) / max(len(b), 1)
    j = 0
    for i, x in enumerate(a):
        out.append(x)
        while j < len(b) and (j + 1) * step <= i + 1:
            out.append(b[j])
            j += 1
    return out + b[j:]


def probed_classes(base: Model) -> dict[str, Probe]:
    """Base class -> the first probe that maps to it."""
    out: dict[str, Probe] = {}
    for p in PROBES:
        ins = _instrs([p.chain])[0]
        if ins.opclass in base.spec.opclasses:
            out.setdefault(base.class_of(ins), p)
    return out


def microbenchmarks(probes: dict[str, Probe]) -> list[Kernel]:
    """Each body once (named as in `figures`) and REPEAT times over (the name with `*`)."""
    bodies: list[tuple[str, list[str]]] = []
    for cls, p in probes.items():
        bodies.append((f"chain:{cls}", [p.chain] * LENGTH))
        bodies.append((f"alone:{cls}", _indep(p, LENGTH, range(12))))
    for (cx, px), (cy, py) in itertools.combinations(probes.items(), 2):
        for nx, ny in MIXES:
            body = _interleave(_indep(px, nx, range(6)), _indep(py, ny, range(6, 12)))
            bodies.append((f"mix:{cx}:{nx}+{cy}:{ny}", body))
    ks = []
    for name, body in bodies:
        instrs = _instrs(body)
        ks.append(Kernel(name, instrs))
        ks.append(Kernel(name + "*", instrs * REPEAT))
    return ks


def _base_uops(base: Model, cls: str) -> list[Uop]:
    return [(frozenset(base.expand(u.pipe)), u.busy) for u in base.spec.classes[cls].uops]


def predict(mix: dict[str, int], uops: dict[str, list[Uop]], caps: dict[str, int]) -> float:
    """Cycles of independent work under the pipe bound: max over sets of pipe kinds of the
    work that fits only there, over their number."""
    kinds = sorted({k for c in mix for s, _ in uops[c] for k in s})
    best = 0.0
    for r in range(1, len(kinds) + 1):
        for sub in itertools.combinations(kinds, r):
            u = set(sub)
            load = sum(n * b for c, n in mix.items() for s, b in uops[c] if s <= u)
            best = max(best, load / sum(caps[k] for k in u))
    return best


def _mixes(name: str) -> dict[str, int]:
    if name.startswith("alone:"):
        return {name[6:]: LENGTH}
    _, cx, rest = name.split(":", 2)
    nx, cy_ny = rest.split("+", 1)
    cy, ny = cy_ny.rsplit(":", 1)
    return {cx: int(nx), cy: int(ny)}


def infer(base: Model, probes: dict[str, Probe], figures: dict[str, float]) -> dict[str, ClassFit]:
    """Fit each probed class: latency from its chain, and for a one-micro-op class the pipes and busy
    cycles that best predict the throughput and mix figures (least relative squared error)."""
    caps = base.pipes
    hyps: list[frozenset[str]] = []
    for s in [*(frozenset([p]) for p in base.spec.pipes), *(frozenset(g.pipes) for g in base.spec.groups.values())]:
        if s not in hyps:
            hyps.append(s)
    uops = {c: _base_uops(base, c) for c in probes}
    fits = {}
    for c, p in probes.items():
        lat = max(1, round(figures[f"chain:{c}"] / LENGTH))
        fits[c] = ClassFit(c, p.name, lat, uops[c], fitted=len(uops[c]) == 1)
    runs = {k: _mixes(k) for k in figures if not k.startswith("chain:")}
    for _ in range(2):
        for c in probes:
            if not fits[c].fitted:
                continue
            mine = [k for k, mix in runs.items() if c in mix]
            best: tuple[float, Uop] | None = None
            for s, b in itertools.product(hyps, range(1, MAX_BUSY + 1)):
                trial = {**uops, c: [(s, b)]}
                err = sum(((predict(runs[k], trial, caps) - figures[k]) / max(figures[k], 1e-9)) ** 2 for k in mine)
                err += 0.0 if [(s, b)] == _base_uops(base, c) else 1e-9  # ties: the base model's
                if best is None or err < best[0] - 1e-12:
                    best = (err, (s, b))
            assert best is not None
            uops[c] = [best[1]]
            fits[c].uops, fits[c].error = [best[1]], best[0]
    return fits


def calibrate(base: Model, executor: Executor, calls: int, repeats: int) -> Calibration:
    """Measure the microbenchmarks of `base`'s probed classes with `executor` and infer their timings."""
    probes = probed_classes(base)
    kernels = microbenchmarks(probes)
    m = executor.measure(kernels, calls, repeats)
    med = {name: s.cycle_stats.median for name, s in zip(m.kernels, m.samples, strict=True)}
    figures = {k: (med[k + "*"] - med[k]) / (REPEAT - 1) for k in med if not k.endswith("*")}
    return Calibration(base, infer(base, probes, figures), m, figures)


# ------------------------------------------------------------------ the model file

def _pipe_name(base: Model, pipes: frozenset[str]) -> str:
    for p in base.spec.pipes:
        if pipes == {p}:
            return p
    for g, spec in base.spec.groups.items():
        if pipes == set(spec.pipes):
            return g
    raise AssertionError(pipes)  # hypotheses are only pipes and groups


def model_document(cal: Calibration, name: str, date: str | None = None) -> dict:
    """The variant model file for `cal` as a dict: the base model with measured classes and sources."""
    base, m = cal.base, cal.measurement
    date = date or datetime.date.today().isoformat()
    measured = f"measured by scheduler calibrate on {m.cpu}, {date}"
    if m.emulated:
        measured = EMULATED_PREFIX + measured
    doc = base.spec.model_dump(by_alias=True, exclude_none=True)
    doc["name"] = name
    doc["description"] = (("[EMULATED] " if m.emulated else "") +
                          f"{base.name} calibrated by scheduler calibrate on {m.cpu}, {date}")
    doc["variants"] = {}  # the base's variants would override measured classes
    doc["sources"]["CALIBRATE"] = (f"{measured}; timer {m.timer}, {m.calls} calls x {m.repeats} repetitions; "
                                   f"classes not probed keep the {base.name} model's numbers and sources")
    if m.emulated:
        doc["sources"][EMULATED_KEY] = EMULATED_PREFIX.rstrip(": ") + "; do not schedule for this model"
    for c, f in cal.fits.items():
        entry = doc["classes"][c]
        entry["latency"] = f.latency
        what = f"latency {f.latency} (chains of {LENGTH} and {REPEAT * LENGTH} {f.probe})"
        if f.fitted:
            (pipes, busy), = f.uops
            entry["uops"] = [{"pipe": _pipe_name(base, pipes), "busy": busy}]
            what += f", uops {_pipe_name(base, pipes)} busy {busy} (throughput and mixes)"
        else:
            what += "; micro-ops as the base model"
        entry["source"] = f"{measured}: {what}; base: {entry['source']}"
    return doc


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None) + " }"
    raise TypeError(type(v))


def _key(k: str) -> str:
    return k if k and all(ch.isalnum() or ch in "_-" for ch in k) else json.dumps(k)


def to_toml(doc: dict) -> str:
    """The model document as TOML: scalars and lists first, then one table per section
    (`[classes.NAME]` for each class)."""
    lines = ["# Written by `scheduler calibrate` (docs/bench.md): measured classes say so in their",
             "# source; everything else is the base model's.", ""]
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    for k, v in doc.items():
        if k not in tables:
            lines.append(f"{_key(k)} = {_toml_value(v)}")
    for k, v in tables.items():
        if k == "classes":
            for c, spec in v.items():
                lines += ["", f"[classes.{_key(c)}]"]
                lines += [f"{_key(f)} = {_toml_value(x)}" for f, x in spec.items() if x is not None]
        elif v:
            lines += ["", f"[{_key(k)}]"]
            lines += [f"{_key(f)} = {_toml_value(x)}" for f, x in v.items()]
    return "\n".join(lines) + "\n"


def write_model(cal: Calibration, path: Path, name: str, date: str | None = None) -> Model:
    """Write the variant model and load it back (the same checks as `models check`)."""
    from scheduler.present.outfiles import write_atomic

    write_atomic(path, to_toml(model_document(cal, name, date)))
    return load_model(str(path))


def is_emulated(model: Model) -> bool:
    """Whether the model was calibrated under emulation (its sources carry the EMULATED mark)."""
    return EMULATED_KEY in model.spec.sources


def base_model(name: str) -> Model:
    """The model a calibration starts from, loaded by name or path."""
    return load_model(name)
