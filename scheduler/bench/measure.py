"""Measurements, their statistics and the noise rule, and the Executor protocol.

A measurement times each kernel `calls` times back to back, `repeats` times, interleaved (the
repetition loop is outside the kernel loop, so drift hits every kernel alike). Each
repetition gives one per-call figure. Figures are net of the harness's own per-call cost
(an empty kernel in the same stub, measured in the same rounds).

Noise rule (used by `optimize --judge bench`): the noise of a kernel is the interquartile
range (q3 - q1) of its per-call cycles over the repetitions; A is faster than B only if
median(B) - median(A) > max(noise(A), noise(B)).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from scheduler.core.errors import SchedulerError
from scheduler.frontend.ir import Instruction

SPREAD_WARNING = 0.02  # warn when a kernel's spread (noise over median) is above 2%
EMULATED_WARNING = ("warning: emulated: these timings come from qemu-user, not from an AArch64 core; "
                    "they mean nothing about speed")


class BenchError(SchedulerError):
    """A measurement could not be made (exit 2)."""


@dataclass(frozen=True)
class Kernel:
    """A named straight-line kernel to time."""

    name: str
    instrs: tuple[Instruction, ...]


@dataclass(frozen=True)
class Stats:
    """Statistics of one kernel's per-call figures: minimum, median and noise (interquartile range)."""

    min: float
    median: float
    noise: float  # q3 - q1 of the per-call figures

    @property
    def spread(self) -> float:
        """Noise relative to the median (0 when the median is not positive)."""
        return self.noise / self.median if self.median > 0 else 0.0

    def to_json(self) -> dict:
        """The statistics rounded to 3 decimals, as plain data."""
        return {"min": round(self.min, 3), "median": round(self.median, 3), "noise": round(self.noise, 3)}


def stats(values: Sequence[float]) -> Stats:
    """Minimum, median and interquartile range of `values`; BenchError when there are none."""
    if not values:
        raise BenchError("no samples")
    if len(values) < 2:
        return Stats(values[0], values[0], 0.0)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Stats(min(values), statistics.median(values), q3 - q1)


@dataclass
class Samples:
    """One kernel's per-call figures, one per repetition."""

    cycles: list[float]
    ns: list[float]

    @property
    def cycle_stats(self) -> Stats:
        """Statistics of the per-call cycles."""
        return stats(self.cycles)

    @property
    def ns_stats(self) -> Stats:
        """Statistics of the per-call nanoseconds."""
        return stats(self.ns)


@dataclass
class Measurement:
    """One timing run: each kernel's samples, how they were taken (timer, CPU, pinning) and warnings."""

    kernels: list[str]
    samples: list[Samples]
    calls: int
    repeats: int
    timer: str  # perf, cntvct, clock, or fake
    emulated: bool
    cpu: str
    pinned: str = ""  # "cpu 3", or why not
    ghz: float | None = None  # the core clock measured against a known loop
    warnings: list[str] = field(default_factory=list)

    def by_name(self, name: str) -> Samples:
        """The samples of the kernel called `name`."""
        return self.samples[self.kernels.index(name)]

    def to_json(self) -> dict:
        """The measurement as plain data: how it was taken, per-kernel statistics and samples, warnings."""
        doc: dict = {"emulated": self.emulated, "timer": self.timer, "cpu": self.cpu, "pinned": self.pinned,
               "ghz": None if self.ghz is None else round(self.ghz, 4),
               "calls": self.calls, "repeats": self.repeats, "kernels": []}
        for name, s in zip(self.kernels, self.samples, strict=True):
            c = s.cycle_stats
            doc["kernels"].append({"name": name, "cycles": c.to_json(), "ns": s.ns_stats.to_json(),
                                   "spread": round(c.spread, 4),
                                   "samples": [round(x, 3) for x in s.cycles]})  # per call, one per repetition
        doc["warnings"] = list(self.warnings)
        return doc


def faster(a: Samples, b: Samples) -> bool:
    """The noise rule: a beats b by more than the measured noise (module docstring)."""
    sa, sb = a.cycle_stats, b.cycle_stats
    return sb.median - sa.median > max(sa.noise, sb.noise)


def spread_warnings(m: Measurement, limit: int = 3) -> list[str]:
    """A line per kernel whose spread is over 2% (the first `limit`, then a count)."""
    noisy = [(name, s.cycle_stats.spread) for name, s in zip(m.kernels, m.samples, strict=True)
             if s.cycle_stats.spread > SPREAD_WARNING]
    out = [f"warning: {name}: spread {sp:.1%} of the median is over {SPREAD_WARNING:.0%}; the machine "
           "is noisy (other load, frequency scaling, no pinning)" for name, sp in noisy[:limit]]
    if len(noisy) > limit:
        out.append(f"warning: and {len(noisy) - limit} more of the {len(m.kernels)} kernels have a spread "
                   f"over {SPREAD_WARNING:.0%}")
    return out


class Executor(Protocol):
    """Something that times kernels: the real harness, or a fake for tests."""

    @property
    def emulated(self) -> bool:
        """Whether the timings come from an emulator (they then say nothing about speed)."""
        ...

    def measure(self, kernels: Sequence[Kernel], calls: int, repeats: int) -> Measurement:
        """Time each kernel `calls` times back to back, `repeats` times, interleaved."""
        ...
