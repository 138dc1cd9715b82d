"""`--time-limit` as the wall-clock limit of the whole command.

The limit counts from the process's start (interpreter start-up and imports included), and
covers parsing, the search, the per-block checks, the whole-file check, the proof and the
writing. The search gets what is left after a reserve for everything that follows it, so a
search that runs to its deadline still leaves the checks their time.

The reserve: CHECK_FIXED seconds plus CHECK_PER_INSTRUCTION per instruction (the block's
setup and bounds, the verify trials, the dataflow certificate, the whole-file check's 32
trials and the emitter's parse back all grow with the instruction count) and
CHECK_PER_INSTRUCTION_PER_MODEL per instruction for each extra model (its setup and its
timing of the joint pool), at least MIN_SHARE and at most MAX_SHARE of the limit. A 2 s
limit barely holds the start-up and the checks of a 1,000-instruction kernel, and not on a
loaded machine: outputs/TIME_LIMITS.md (benchmarks/time_limits.py) says where the limit is
met and where not.
"""

from __future__ import annotations

import os
import time

CHECK_FIXED = 0.4  # seconds: report, emit and write, whatever the size
# seconds per instruction: setup (timings, bounds), list schedule, acceptance, verify (100
# trials), whole-file check, emit and parse back; measured on p256_double (1,116 instructions,
# idle 2-core VM, session 14): setup 0.30, list 0.15, local search 0.06, acceptance 0.08,
# checks 0.26, writing 0.30 s, about 0.4 s + 0.7 ms per instruction
CHECK_PER_INSTRUCTION = 0.0008
# and per model after the first: its setup (only judged when time is short: bounds without
# the strengthening) and its timing of the joint pool and of the pick (measured: 0.45 s for
# two more models on p256_double)
CHECK_PER_INSTRUCTION_PER_MODEL = 0.0003
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
    per_instruction = CHECK_PER_INSTRUCTION + CHECK_PER_INSTRUCTION_PER_MODEL * (max(1, models) - 1)
    return CHECK_FIXED + per_instruction * instructions


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
