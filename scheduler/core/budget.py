"""`--time-limit` as the wall-clock limit of the whole command.

The limit counts from the process's start (interpreter start-up and imports included), and
covers parsing, the search, the per-block checks, the whole-file check, the proof and the
writing. The search gets what is left after a reserve for everything that follows it, so a
search that runs to its deadline still leaves the checks their time.

The reserve: CHECK_FIXED seconds plus CHECK_PER_INSTRUCTION per instruction (the verify
trials, the dataflow certificate, the whole-file check's 32 trials and the emitter's parse
back all grow with the instruction count; as much again per extra model, for each core's
setup and the scoring of the joint pool), at
least MIN_SHARE and at most MAX_SHARE of the limit. A 2 s limit cannot hold the start-up and
the checks of a 1,000-instruction kernel on a loaded machine: outputs/TIME_LIMITS.md
(benchmarks/time_limits.py) says where the limit is met and where not.
"""

from __future__ import annotations

import os
import time

CHECK_FIXED = 0.4  # seconds: report, emit and write, whatever the size
CHECK_PER_INSTRUCTION = 0.003  # seconds per instruction: bounds, list schedule, verify (100 trials),
# whole-file check, emit (measured: 1.2 s for 413 and 3.3 s for 1,116 instructions, idle 2-core VM)
MIN_SHARE, MAX_SHARE = 0.10, 0.5
MIN_SEARCH = 0.05  # the search always gets this much: the input order must be scored


def process_age() -> float:
    """Seconds since this process started (Linux: /proc), else 0."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def fixed_work(instructions: int, models: int = 1) -> float:
    """Estimated seconds of the work that follows parsing whatever the limit: each core's
    setup (timings, bounds), the checks and the writing."""
    # several models: the checks run once, but each core's setup (timings, bounds) and the
    # scoring of the joint pool run per model (the three-model rows of TIME_LIMITS.md)
    return CHECK_FIXED + CHECK_PER_INSTRUCTION * instructions * max(1, models)


def check_reserve(limit: float, instructions: int, models: int = 1) -> float:
    """Seconds kept back from the search for what follows it."""
    return min(MAX_SHARE * limit, max(MIN_SHARE * limit, fixed_work(instructions, models)))


def shortfall(limit: float, elapsed: float, instructions: int, models: int = 1) -> str | None:
    """A one-line warning when `limit` cannot hold what the command must do anyway (the time
    already spent, the fixed work and the search's minimum), else None."""
    need = elapsed + fixed_work(instructions, models) + MIN_SEARCH
    if need <= limit * 1.1:
        return None
    return (f"--time-limit {limit:g} s is less than this run needs: about {need:.1f} s ({elapsed:.1f} s to start "
            f"and parse, about {need - elapsed:.1f} s of bounds, checks and writing for {instructions} "
            f"instructions{f' x {models} models' if models > 1 else ''}); the search gets its "
            f"{MIN_SEARCH:g} s minimum")


def search_limit(limit: float, elapsed: float, instructions: int, models: int = 1) -> float:
    """The search's share of a command limited to `limit` seconds, `elapsed` seconds in."""
    return max(MIN_SEARCH, limit - elapsed - check_reserve(limit, instructions, models))


class CommandClock:
    """The command's own wall clock: from `t0` (time.monotonic), by default the process's start."""

    def __init__(self, t0: float | None = None):
        self.t0 = time.monotonic() - process_age() if t0 is None else t0

    def elapsed(self) -> float:
        """Seconds since the command started."""
        return time.monotonic() - self.t0
