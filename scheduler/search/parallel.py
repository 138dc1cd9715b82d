"""Where independent window solves run: a small pluggable executor.

The search layer only says "run this picklable job function over these jobs and give me the
results in order" (`run_jobs`). By default that is a loop in this process (`SerialExecutor`),
and the window passes keep their sequential algorithm (scheduler/search/window.py): nothing
changes. A caller higher up installs another executor for a while (`using_executor`), e.g.
`scheduler batch`, whose executor submits each job as a Ray task (scheduler/present/batch.py);
the window passes then solve disjoint windows of a large block at the same time.

An executor never raises for a job's own failure: the job's result is a `JobFailed` (an
exception in the job, a lost worker, a cancelled or overdue task), and the caller keeps that
window unchanged. This module imports nothing above the search layer (and not Ray).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobFailed:
    """The result of a job that did not return one: its window stays as it was."""

    error: str


class Executor:
    """Runs a job function over jobs; results in the jobs' order, a `JobFailed` for a failure.

    `serial`: the jobs run one after another in this process (the window passes then keep
    their sequential sweep). `slots`: how many jobs can run at once (for time shares).
    `min_instructions`: blocks smaller than this keep the sequential sweep."""

    serial = True
    slots = 1
    min_instructions = 0

    def map(self, fn: Callable[[Any], Any], jobs: Sequence[Any], timeout: float | None = None) -> list[Any]:
        """`fn` over `jobs`, in the jobs' order; a job with no result after `timeout` seconds gives a JobFailed."""
        raise NotImplementedError


class SerialExecutor(Executor):
    """In this process, one job after the other (the default)."""

    def map(self, fn, jobs, timeout=None):
        """Run the jobs one after the other (`timeout` is not used)."""
        return [call(fn, job) for job in jobs]


class PoolExecutor(Executor):
    """A `concurrent.futures` pool (threads: CP-SAT releases the GIL while it searches).
    Jobs still running after `timeout` seconds are given up (their threads finish unobserved)."""

    serial = False

    def __init__(self, pool: concurrent.futures.Executor, slots: int, min_instructions: int = 0):
        self.pool = pool
        self.slots = max(1, slots)
        self.min_instructions = min_instructions

    def map(self, fn, jobs, timeout=None):
        """Submit every job to the pool and wait up to `timeout` seconds; unfinished ones give a JobFailed."""
        futures = [self.pool.submit(call, fn, job) for job in jobs]
        concurrent.futures.wait(futures, timeout=timeout)
        return [f.result() if f.done() else JobFailed(f"no result after {timeout:g} s") for f in futures]


def call(fn: Callable[[Any], Any], job: Any) -> Any:
    """`fn(job)`, or a `JobFailed` with the exception (the function a remote task runs, too)."""
    try:
        return fn(job)
    except Exception as e:  # noqa: BLE001 - a failed job leaves its window unchanged
        return JobFailed(f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")


_SERIAL = SerialExecutor()
_current: list[Executor] = [_SERIAL]


def current() -> Executor:
    """The executor installed now (the serial one unless `using_executor` says otherwise)."""
    return _current[-1]


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any], timeout: float | None = None) -> list[Any]:
    """`[fn(job) for job in jobs]` on the current executor; a failed job gives a `JobFailed`."""
    return current().map(fn, list(jobs), timeout)


@contextlib.contextmanager
def using_executor(executor: Executor) -> Iterator[Executor]:
    """Run the jobs of the enclosed code on `executor` (restored on exit, nesting allowed)."""
    _current.append(executor)
    try:
        yield executor
    finally:
        _current.remove(executor)
