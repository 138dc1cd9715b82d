"""Each example kernel, run whole in our simulator and in Unicorn, ends in the same state."""

from __future__ import annotations

import random

import pytest

from scheduler.checks.simulate import run_instructions
from scheduler.checks.verify import pointer_registers, random_state, straight_line
from scheduler.frontend.assemble import assemble_lines
from scheduler.frontend.parse import parse_file

unicorn_ref = pytest.importorskip("tests.support.unicorn_ref")

from tests.support import ROOT  # noqa: E402  (after the importorskip)

EXAMPLES = sorted(p for p in (ROOT / "inputs").iterdir() if p.suffix in (".s", ".S"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_kernel_matches_unicorn(path, assembler):
    code_instrs = straight_line(parse_file(path))
    # Assemble our own rendering of each instruction: this also checks the printer.
    code = b"".join(assemble_lines([str(i) for i in code_instrs]))
    bases, indexes = pointer_registers(code_instrs)
    rng = random.Random(path.name)
    for trial in range(6):
        st = random_state(rng, trial, bases, indexes, noalias=bases)
        ours = run_instructions(code_instrs, st)
        ref = unicorn_ref.run_unicorn(code, st)
        assert ours.registers() == ref.registers(), trial
        assert {a: ours.mem.byte(a) for a in ours.mem.writes} == {a: ref.mem.byte(a) for a in ref.mem.writes}
