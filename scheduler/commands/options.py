"""Command-line option helpers shared by every subcommand (cli, compare, batch): one
definition of the input options (-I, -D, --max-instructions), of --no-alias and of the checked
number types."""

from __future__ import annotations

import argparse

from scheduler.frontend.parse import DEFAULT_MAX_STATEMENTS


def positive_float(text: str) -> float:
    """An argparse type: a positive finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (value > 0 and value < float("inf")):  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be a positive finite number of seconds, got '{text}'")
    return value


def int_at_least(minimum: int):
    """An argparse type: an integer of at least `minimum`."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got '{text}'")
        return value
    return convert


def add_input_options(p: argparse.ArgumentParser) -> None:
    """How a kernel file is read: the C preprocessor's -I/-D for .S files and the expansion limit."""
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="include directory for .S files (C preprocessor)")
    p.add_argument("-D", dest="define", action="append", default=[], metavar="SYM[=VAL]",
                   help="preprocessor definition for .S files")
    p.add_argument("--max-instructions", type=int_at_least(1), default=DEFAULT_MAX_STATEMENTS, metavar="N",
                   help="refuse a file that makes more than N statements, counting every "
                        f".rept/.irp/macro expansion (default {DEFAULT_MAX_STATEMENTS})")


def add_no_alias_option(p: argparse.ArgumentParser, also: str = "") -> None:
    """`--no-alias REGS`, the one definition every command shares (`also`: what it means there)."""
    p.add_argument("--no-alias", default="", metavar="REGS",
                   help="comma-separated base registers that point to disjoint buffers (added to any "
                        "`// @noalias` in the file)" + (f"; {also}" if also else ""))


def parse_kwargs(args) -> dict:
    """Keyword arguments of `parse_file` from the options of `add_input_options`."""
    return {"include_dirs": list(args.include), "defines": list(args.define), "max_statements": args.max_instructions}
