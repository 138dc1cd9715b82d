"""`scheduler check-certificate`: check an optimized kernel's certificate against its input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scheduler.commands.common import (
    EXIT_FAIL,
    EXIT_OK,
    InputError,
    load,
)
from scheduler.commands.options import add_input_options


def _check_certificate_parser(sub) -> None:
    p = sub.add_parser("check-certificate", help="check an optimisation certificate independently",
                       description="Re-derive CANDIDATE from ORIGINAL and the certificate written by "
                                   "`optimize --certificate` (permutation, renaming) and check that every "
                                   "dataflow and memory-order relation is preserved.\n\nexample:\n"
                                   "  scheduler check-certificate inputs/mul_4x4.s outputs/mul_4x4.s cert.json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("original")
    p.add_argument("candidate")
    p.add_argument("certificate")
    add_input_options(p)


def cmd_check_certificate(args) -> int:
    """`scheduler check-certificate`: check every block's certificate entry against the two files.
    Exit 0 when the candidate follows from the original, 1 when the certificate does not match or is violated."""
    from scheduler.checks.certificate import check_block

    orig_prog = load(args.original, args)
    cand_prog = load(args.candidate, args)
    try:
        cert = json.loads(Path(args.certificate).read_text())
        entries = cert["blocks"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{args.certificate}: not a certificate ({type(e).__name__}: {e})") from None
    orig_blocks, cand_blocks = orig_prog.blocks(), cand_prog.blocks()
    if len(orig_blocks) != len(cand_blocks) or len(entries) != len(orig_blocks):
        print(f"certificate does not match: {len(orig_blocks)} original blocks, {len(cand_blocks)} "
              f"candidate blocks, {len(entries)} certificate entries")
        return EXIT_FAIL
    for ob, cb, entry in zip(orig_blocks, cand_blocks, entries, strict=True):
        problems = check_block(ob.instructions, cb.instructions, entry)
        if problems:
            print(f"block {ob.index}: certificate violated: {problems[0]}")
            return EXIT_FAIL
    print(f"certificate checked: {len(entries)} block(s); the candidate follows from the original")
    return EXIT_OK


NAMES = ['check-certificate']  # the subcommands this module adds
add_parser = _check_certificate_parser


def run(args) -> int:
    """Run `scheduler check-certificate`; its exit code."""
    return cmd_check_certificate(args)
