"""A synthetic core that "measures" kernels by simulating them: deterministic figures for
the tests of the noise rule, of `optimize --judge bench` and of calibration's inference, and
the worked example of docs/bench.md (`scheduler calibrate --fake-core NAME`).

The fake core knows nothing of the project's models (so calibrating against it is a real
test of the inference): instructions are keyed by mnemonic ("mul"), with "v." in front for a
vector destination and "+shift" after when a shifted register operand is present. Each key
has a latency, the pipes it may use (in order of preference) and how many cycles it blocks
the pipe. The simulation issues the kernel's bodies back to back (registers carried across
calls, renaming assumed: only true dependencies), up to `width` instructions a cycle, each
as early as its operands and a free pipe allow (an unlimited window). Per call: the
cycles of the second half of the calls over their number (the first half warms up).
`jitter` adds a deterministic pseudo-random noise (cycles per call) to each repetition.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from scheduler.bench.measure import Kernel, Measurement, Samples, spread_warnings
from scheduler.frontend.ir import Instruction
from scheduler.frontend.isa.operands import Shift


@dataclass(frozen=True)
class FakeClass:
    """The timing of one fake instruction class: latency (cycles), permitted pipe kinds and busy cycles."""

    latency: int
    pipes: tuple[str, ...]  # pipe kinds it may issue to, preferred first
    busy: int = 1


@dataclass
class FakeCore:
    """A synthetic core that "measures" kernels by simulating them with its own pipes and classes."""

    name: str
    units: dict[str, int]  # pipe kind -> how many
    classes: dict[str, FakeClass]
    width: int = 4
    default: FakeClass = FakeClass(1, ("S",))
    jitter: float = 0.0
    seed: int = 0
    ghz: float = 2.5
    cycles_override: dict[str, float] = field(default_factory=dict)  # kernel name -> cycles per call

    @property
    def emulated(self) -> bool:
        """Always False: the fake core's figures are synthetic, not emulated."""
        return False

    def measure(self, kernels: Sequence[Kernel], calls: int, repeats: int) -> Measurement:
        """Simulated figures for `kernels` (override or per-call cycles, plus jitter), as a Measurement."""
        rng = random.Random(self.seed)
        base = [self.cycles_override.get(k.name) or self.per_call(k.instrs, min(calls, 6)) for k in kernels]
        samples = [Samples([], []) for _ in kernels]
        for _ in range(repeats):  # interleaved, as the harness does
            for s, c in zip(samples, base, strict=True):
                v = c + (rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0)
                s.cycles.append(v)
                s.ns.append(v / self.ghz)
        m = Measurement([k.name for k in kernels], samples, calls, repeats, "fake", False,
                        f"fake core {self.name} (synthetic, scheduler/bench/fakecore.py)", "n/a (fake)", self.ghz)
        m.warnings += spread_warnings(m)
        return m

    def per_call(self, instrs: Sequence[Instruction], calls: int) -> float:
        """Steady-state cycles per call of `instrs` run `calls` times back to back (at least 2)."""
        if not instrs:
            return 0.0
        ready: dict[str, int] = {}
        busy: dict[tuple[str, int], set[int]] = {(p, u): set() for p, n in self.units.items() for u in range(n)}
        issued: dict[int, int] = {}
        # per class: cycles [lo, hi) where it was found not to fit (reservations only grow,
        # so they stay full: a later search from inside skips to hi)
        full: dict[FakeClass, tuple[int, int]] = {}
        ends = []
        body = [(self.classes.get(fake_key(i), self.default), tuple(i.reads), tuple(i.writes)) for i in instrs]
        for _ in range(max(calls, 2)):
            end = 0
            for c, reads, writes in body:
                start = t = max((ready.get(r, 0) for r in reads), default=0)
                lo, hi = full.get(c, (0, 0))
                if lo <= t < hi:
                    t, start = hi, lo
                while True:
                    if issued.get(t, 0) < self.width:
                        unit = self._free(busy, c, t)
                        if unit is not None:
                            break
                    t += 1
                full[c] = (start, t)
                busy[unit].update(range(t, t + c.busy))
                issued[t] = issued.get(t, 0) + 1
                for w in writes:
                    ready[w] = t + c.latency
                end = max(end, t + c.latency)
            ends.append(end)
        half = len(ends) // 2
        return (ends[-1] - ends[half - 1]) / (len(ends) - half)

    def _free(self, busy, c: FakeClass, t: int):
        for p in c.pipes:
            for u in range(self.units.get(p, 0)):
                if not any(k in busy[(p, u)] for k in range(t, t + c.busy)):
                    return (p, u)
        return None


def fake_key(ins: Instruction) -> str:
    """The fake core's class name of `ins`: mnemonic, "v." for vectors, "+shift" when shifted."""
    first = str(ins.operands[0]) if ins.operands else ""
    vec = first.startswith(("v", "q", "d")) and "." in first or first.startswith("q")
    shifted = any(isinstance(o, Shift) for o in ins.operands)
    return ("v." if vec else "") + ins.mnemonic + ("+shift" if shifted else "")


def _core(name: str, mul_busy: int, spill: bool) -> FakeCore:
    alu = ("S", "M") if spill else ("S",)
    return FakeCore(name, {"S": 2, "M": 1, "V0": 1, "V1": 1}, {
        "add": FakeClass(1, alu), "eor": FakeClass(1, alu),
        "add+shift": FakeClass(2, ("M",)),
        "mul": FakeClass(4, ("M",), mul_busy), "madd": FakeClass(4, ("M",), mul_busy),
        "umulh": FakeClass(5, ("M",), 3),
        "v.add": FakeClass(2, ("V0", "V1")), "v.umull": FakeClass(4, ("V0",)), "v.ushr": FakeClass(2, ("V1",)),
        "v.mul": FakeClass(5, ("V0",), 2),
    })


# The fake cores of the tests and of docs/bench.md: the multiplier blocked 3 cycles by a MUL
# and ALU work spilling onto it; and one with MUL busy 2 and ALU work on the S pipes only.
FAKE_CORES = {
    "mul3-spill": lambda: _core("mul3-spill", 3, True),
    "mul2-nospill": lambda: _core("mul2-nospill", 2, False),
}
