"""`scheduler batch`: a whole library over Ray (present/batch.py runs it)."""

from __future__ import annotations

import argparse

from scheduler.commands.options import add_input_options
from scheduler.present.batch import (
    DEFAULT_OUT,
    DEFAULT_STORE,
    OBJECTIVES,
    TASK_TIMEOUT_FACTOR,
    TASK_TIMEOUT_SLACK,
    BatchError,
    print_history,
    run_batch,
)


def add_parser(sub) -> None:
    """Add the `batch` subcommand and its options."""
    p = sub.add_parser(
        "batch", help="optimize a whole library over Ray, results in a SQLite store",
        description="Find every kernel (.s/.S files, directories, globs), optimize each (every block "
                    "verified and proved) as Ray tasks kernel x seed x objective, keep every run in a "
                    "SQLite store and write each kernel's best output, report and certificate, a table "
                    "and <out>/report.html. Unchanged kernels (same content, options and model) are "
                    "skipped. See docs/batch.md.\n\nexamples:\n"
                    "  scheduler batch inputs/ --time-limit 10\n"
                    "  scheduler batch 'lib/**/*.S' -I lib/include --seeds 3 --address auto\n"
                    "  scheduler batch --history mul_4x4",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="kernel files, directories or globs")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds 0..N-1 per kernel (default 1)")
    p.add_argument("--objective", action="append", choices=OBJECTIVES, default=None,
                   help="what faster means, as for optimize (repeatable: one task per objective; default ooo)")
    p.add_argument("--time-limit", type=float, default=30.0, metavar="S", help="seconds per kernel task (default 30)")
    p.add_argument("--task-timeout", type=float, default=None, metavar="S",
                   help="cancel a task running longer than this (default: the time limit x "
                        f"{TASK_TIMEOUT_FACTOR} + {TASK_TIMEOUT_SLACK:g} s for starting a worker)")
    p.add_argument("--model", default=None, metavar="NAME[,NAME...]",
                   help="machine model; several, comma-separated: one schedule for all under --objective "
                        "worst or mean")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="FILE", help=f"SQLite store (default {DEFAULT_STORE})")
    p.add_argument("--address", default=None, metavar="RAY_ADDRESS",
                   help="join this Ray cluster (e.g. auto, 10.0.0.1:6379); default: a local Ray")
    p.add_argument("--num-cpus", type=int, default=None, metavar="N",
                   help="CPUs of the local Ray (default: all cores)")
    p.add_argument("--workers-per-task", type=int, default=1, metavar="N",
                   help="CPUs per task, also its CP-SAT workers (default 1)")
    p.add_argument("--window-tasks", action=argparse.BooleanOptionalAction, default=True,
                   help="run the window solves of large blocks (250+ instructions) as Ray tasks of their own, "
                        "so one large kernel spreads over the cluster (default on)")
    p.add_argument("--force", action="store_true", help="redo kernels even if unchanged")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of the table")
    p.add_argument("--history", metavar="KERNEL", help="print how a kernel's results evolved and exit")
    add_input_options(p)


def cmd_batch(args) -> int:
    """`scheduler batch`: print `--history`, or optimize the kernels over Ray. Exit 0 when every task
    succeeded, 1 if one failed or timed out, 130 if interrupted; 2 for bad arguments or no runs in --history."""
    if args.history:
        return print_history(args)
    if not args.paths:
        raise BatchError("scheduler batch: give kernels (files, directories or globs), or --history KERNEL")
    if args.seeds < 1 or args.workers_per_task < 1 or args.time_limit <= 0:
        raise BatchError("scheduler batch: --seeds and --workers-per-task must be >= 1, --time-limit > 0")
    return run_batch(args)


NAMES = ["batch"]


def run(args) -> int:
    """Run `scheduler batch`; its exit code."""
    return cmd_batch(args)
