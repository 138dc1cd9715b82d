"""The optimiser's notion of time, and the Ctrl-C stop request.

By default time is the wall clock. With `deterministic=True` it is work done:
CP-SAT's deterministic time (which depends only on the model and the search,
not on the machine's load) plus a fixed charge per evaluator call. With one
CP-SAT worker and a fixed seed, every decision then repeats exactly, so the same
input gives the same output byte for byte (`optimize --deterministic`).

`request_stop()` (the CLI's SIGINT handler) makes every loop wind down at its next
check and running CP-SAT searches stop at their next solution; the pipeline then
verifies and writes the best schedule it has.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from dataclasses import dataclass

EVAL_COST = 2e-4  # work units charged per evaluator call in deterministic mode (about its wall time)

_stop = False


def request_stop() -> None:
    """Ask every loop and running search to wind down (the SIGINT handler calls it)."""
    global _stop
    _stop = True


def clear_stop() -> None:
    """Forget an earlier stop request."""
    global _stop
    _stop = False


def stop_requested() -> bool:
    """Whether a stop has been requested since the last `clear_stop`."""
    return _stop


_active: set = set()  # CP-SAT solvers currently searching


class searching:
    """`with searching(solver): solver.solve(...)`: a stop request interrupts the search."""

    def __init__(self, solver):
        self.solver = solver
        solver.parameters.catch_sigint_signal = False  # the request goes through us

    def __enter__(self):
        _active.add(self.solver)
        if _stop:
            self.solver.stop_search()
        return self.solver

    def __exit__(self, *exc):
        _active.discard(self.solver)
        return False


def _stop_all() -> None:
    request_stop()
    for solver in list(_active):
        solver.stop_search()


def install_interrupt_handler(message: bytes):
    """First SIGINT: stop searching (running CP-SAT searches at once, through a thread woken
    by the signal's wakeup fd, since Python handlers only run between bytecodes and the
    main thread may be inside a solve), print `message`. Second: KeyboardInterrupt.
    Returns a function restoring the previous handling."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    count = [0]

    def handler(signum, frame):
        count[0] += 1
        if count[0] > 1:
            raise KeyboardInterrupt
        _stop_all()
        os.write(2, message)

    def watch():
        while True:
            try:
                data = os.read(read_fd, 16)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                _stop_all()

    previous = signal.signal(signal.SIGINT, handler)
    threading.Thread(target=watch, daemon=True).start()

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)  # ends the watcher
        os.close(read_fd)

    return restore


class Clock:
    """The optimiser's time: wall-clock seconds, or work units when `deterministic`."""

    def __init__(self, deterministic: bool = False):
        self.deterministic = deterministic
        self.work = 0.0
        self.t0 = time.monotonic()

    def now(self) -> float:
        """Seconds (or work units) since the clock started."""
        return self.work if self.deterministic else time.monotonic() - self.t0

    def left(self, deadline: float) -> float:
        """Seconds (or work units) until `deadline`; 0 once a stop has been requested."""
        return 0.0 if _stop else deadline - self.now()

    def charge(self, units: float) -> None:
        """Add `units` of work to a deterministic clock (a wall clock ignores it)."""
        if self.deterministic:
            self.work += units

    def charge_evals(self, count: int = 1) -> None:
        """Charge `count` evaluator calls at EVAL_COST work units each."""
        self.charge(count * EVAL_COST)

    def limit_solver(self, params, limit: float) -> None:
        """Put a time limit on a CP-SAT solve: deterministic time or seconds."""
        if self.deterministic:
            params.max_deterministic_time = max(limit, 0.01)
            params.num_workers = 1  # parallel workers race: only one is reproducible
        else:
            params.max_time_in_seconds = max(limit, 0.05)

    def account_solver(self, solver) -> None:
        """Charge the deterministic time a finished CP-SAT solve used."""
        self.charge(solver.deterministic_time)


WALL = Clock()  # for callers that do not care


@dataclass(frozen=True)
class Deadline:
    """An absolute point on a Clock (seconds, or work units when deterministic). Every solver,
    window pass and search takes one, so a budget is measured one way everywhere: `left()` is
    what remains, `sooner(budget)` a nearer deadline for a part of the work."""

    clock: Clock
    at: float

    @classmethod
    def after(cls, clock: Clock, budget: float) -> Deadline:
        """The deadline `budget` seconds (or work units) from now on `clock`."""
        return cls(clock, clock.now() + budget)

    @classmethod
    def never(cls, clock: Clock | None = None) -> Deadline:
        """No deadline (the search stops by its own counts)."""
        return cls(clock or WALL, math.inf)

    def left(self) -> float:
        """Seconds (or work units) until the deadline; 0 once a stop has been requested."""
        return self.clock.left(self.at)

    def sooner(self, budget: float) -> Deadline:
        """`budget` from now, but never past this deadline."""
        return Deadline(self.clock, min(self.at, self.clock.now() + budget))
