"""Command-line interface: `scheduler <command> ...`; each command lives in `scheduler/commands/`.

Exit codes: 0 success; 1 the check failed (not equivalent / unverified);
2 bad input or usage (a `FILE:LINE: message` on stderr); 3 unknown (`verify --prove` could
neither prove nor refute; `optimize --prove`: a block was not proved, nothing written);
4 internal error. An interrupted `optimize` (Ctrl-C) writes the best verified schedule and exits 0.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from scheduler import __version__
from scheduler.commands import batch, bench, certificate, compare, inspect, models, optimize, verify
from scheduler.commands.common import EXIT_INPUT, EXIT_INTERNAL, EXIT_OK
from scheduler.core.errors import SchedulerError

# in `--help` order; each module has add_parser(sub), run(args) and the NAMES it adds
MODULES = (optimize, compare, batch, bench, certificate, models, inspect, verify)
COMMANDS = {name: m.run for m in MODULES for name in m.NAMES}

EPILOG = """\
examples:
  scheduler optimize inputs/mul_4x4.s              # writes outputs/mul_4x4.s and outputs/mul_4x4.json
  scheduler optimize k.S -o k.sched.s --model neoverse-n1-llvm --time-limit 60 --json
  scheduler optimize inputs/large/p256_double.s --time-limit 300    # Ctrl-C writes the best so far
  scheduler models list
  scheduler parse inputs/mul_4x4.s                 # instructions with their reads/writes
  scheduler dag inputs/mul_4x4.s --dot dag.dot     # dependency DAG
  scheduler simulate inputs/mul_4x4.s --mem x1:32 --mem x2:32 --mem x0:64
  scheduler verify inputs/mul_4x4.s mine.s --trials 500 --outputs x0
  scheduler compare inputs/mul_4x4.s outputs/mul_4x4.s --timeline t.html

exit codes: 0 ok, 1 check failed (e.g. not equivalent), 2 bad input, 3 unknown (--prove),
            4 internal error
"""


class _ArgumentParser(argparse.ArgumentParser):
    """A bad option value (`--time-limit 0`, an unknown --objective) is one line, exit 2:
    the usage, pages long, would bury it. Other usage errors still show the usage."""

    def error(self, message: str):
        if message.startswith("argument ") and ("invalid" in message or ": must be" in message
                                               or "is not" in message):
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """The `scheduler` argument parser, with every command module's subcommands."""
    ap = _ArgumentParser(
        prog="scheduler",
        description="Instruction-scheduling superoptimizer for straight-line AArch64 kernels.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"scheduler {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for m in MODULES:
        m.add_parser(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default sys.argv); the exit code (see the module docstring)."""
    from scheduler.core.budget import process_age

    # a command line counts its time from the process's start (start-up and imports included);
    # a call from Python (argv given: tests, scripts) from this call
    start = time.monotonic() - (process_age() if argv is None else 0.0)
    args = build_parser().parse_args(argv)
    args.command_start = start
    try:
        return COMMANDS[args.command](args)
    except SchedulerError as e:
        print(f"{e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `scheduler models show | head`
        sys.stderr.close()
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - never show users a traceback
        print(f"scheduler: internal error: {type(e).__name__}: {e} (please report this)", file=sys.stderr)
        return EXIT_INTERNAL


def entry() -> NoReturn:
    """The `scheduler` command (and `python -m scheduler`): `main`, then the process ends with
    its exit code. The exit handlers run and the streams are flushed as `sys.exit` would do,
    but the interpreter's teardown, which frees a large run's objects one by one, is skipped:
    measured 0.1-0.3 s after a 1,000-instruction kernel, a tenth of a short --time-limit (the
    operating system frees the memory at once)."""
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`scheduler models show | head`)
            pass
    os._exit(code)
