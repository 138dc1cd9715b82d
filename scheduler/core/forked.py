"""Independent work split across two processes with `os.fork`, when it pays.

The checks' random trials (100 per block, 32 for the whole file) are independent runs of the
simulator, and on a 1,000-instruction kernel they take about half a second: a large part of a
short `--time-limit`. A forked child starts with the parent's memory (the parsed programs, the
initial states, everything imported), so it computes its half at once and sends back the
pickled results; nothing is imported or rebuilt. The results are the same as computing
everything in one process, in the same order; when the child fails for any reason, the parent
computes its half itself.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# instructions simulated below which a fork (about 10 ms on a 1 GB process) costs more than it saves
MIN_WORK = 20_000


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _can_fork() -> bool:
    """Linux only: macOS has fork, but system frameworks there are not fork-safe."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def _in_ray() -> bool:
    """Whether this process is a Ray driver or worker: its gRPC threads are not fork-safe."""
    ray = sys.modules.get("ray")
    try:
        return bool(ray is not None and ray.is_initialized())
    except Exception:  # noqa: BLE001 - a half-imported or odd ray: do not fork
        return True


def in_two(fn: Callable[[T], R], items: Sequence[T], work: int) -> list[R]:
    """`[fn(x) for x in items]`, the second half computed in a forked child when `work` (about
    the number of instructions the calls simulate) is at least MIN_WORK, on Linux, when
    this process may run on two CPUs and is not part of a Ray cluster (batch runs its tasks
    in parallel already). `fn`'s results must pickle."""
    if work < MIN_WORK or len(items) < 2 or not _can_fork() or _cpus() < 2 or _in_ray():
        return [fn(x) for x in items]
    half = len(items) // 2
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that a multi-threaded process may deadlock in a forked child: the
        # child here only runs pure-Python simulation and writes to its pipe
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
        pid = os.fork()
    if pid == 0:  # the child: its half, then exit without running the parent's cleanup
        code = 1
        try:
            os.close(read_end)
            data = pickle.dumps([fn(x) for x in items[half:]], protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        first = [fn(x) for x in items[:half]]
    finally:
        with os.fdopen(read_end, "rb") as inp:
            data = inp.read()
        _, status = os.waitpid(pid, 0)
    if status == 0 and data:
        try:
            return first + pickle.loads(data)
        except Exception:  # noqa: BLE001 - a broken child: do its half here
            pass
    return first + [fn(x) for x in items[half:]]
