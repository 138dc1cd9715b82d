"""Every instruction form of the table, run in our simulator and in Unicorn, must agree
bit for bit: all registers, NZCV and every memory byte, on random operands, edge values
and all 16 NZCV combinations."""

from __future__ import annotations

import random

import pytest

from scheduler.checks.simulate import run_instructions
from scheduler.frontend.parse import parse_text
from tests.support.instances import simulable_forms
from tests.support.states import point_bases, random_state

unicorn_ref = pytest.importorskip("tests.support.unicorn_ref")

FORMS = simulable_forms()
STATES_PER_INSTANCE = 8


def describe(a, b) -> str:
    diffs = [f"{k}: sim={va:#x} unicorn={b.registers()[k]:#x}"
             for k, va in a.registers().items() if va != b.registers()[k]]
    wa = {k: a.mem.byte(k) for k in a.mem.writes}
    wb = {k: b.mem.byte(k) for k in b.mem.writes}
    if wa != wb:
        diffs.append(f"memory writes differ: sim={sorted(wa.items())[:8]} unicorn={sorted(wb.items())[:8]}")
    return "; ".join(diffs)


QUICK_SAMPLE = 8  # `-m "not slow"` checks every 8th form (the whole table takes about 4 minutes)


@pytest.mark.parametrize("form", [pytest.param(f, id=f.key, marks=[] if k % QUICK_SAMPLE == 0 else [pytest.mark.slow])
                                  for k, f in enumerate(FORMS)])
def test_form_matches_unicorn(form, encoded_forms):
    cases = encoded_forms.get(form.key)
    assert cases, f"no instance generated for {form.key}"
    rng = random.Random(form.key)
    for n, (text, code) in enumerate(cases):
        instr = parse_text(text).instructions[0]
        for k in range(STATES_PER_INSTANCE):
            st = random_state(rng, nzcv=(n * STATES_PER_INSTANCE + k) % 16)
            point_bases(st, instr, rng)
            ours = run_instructions([instr], st)
            ref = unicorn_ref.run_unicorn(code, st)
            problem = describe(ours, ref)
            assert not problem, f"{text}: {problem}\ninitial state: {st.registers()}"


def test_every_form_has_instances(encoded_forms):
    missing = [f.key for f in FORMS if f.key not in encoded_forms]
    assert not missing
