"""`verify --prove` refutes pairs that differ only on rare inputs (a loaded word equal to
one constant) after a long multiply/carry chain: the concolic search of `smt` finds the
input on a reduced problem, and the simulator confirms it."""

from __future__ import annotations

import time

import pytest

from scheduler.checks.prove import prove
from scheduler.cli import main
from scheduler.frontend.parse import parse_text


def carry_chain_kernel(last: str, tail: str = "") -> str:
    """Loads from [x1], a 4x4 multiply-accumulate carry chain, then `cmp x17, x16` of a
    loaded word against 0x1234 and `last` (a csel)."""
    lines = [f"ldr x{2 + i}, [x1, #{8 * i}]" for i in range(8)]
    for r in range(4):
        for c in range(4):
            a, b = 2 + r, 6 + c
            lines += [f"mul x11, x{a}, x{b}", f"umulh x12, x{a}, x{b}", "adds x13, x13, x11",
                      "adcs x14, x14, x12", "adc x15, x15, xzr"]
    lines += ["eor x9, x13, x14", "add x10, x14, x15", "mov x16, #0x1234", "ldr x17, [x1, #64]",
              "cmp x17, x16", last, "stp x9, x10, [x0]", "stp x13, x14, [x0, #16]"]
    return "\n".join(lines) + "\n" + tail


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.slow  # z3 searches (about 3 s)
def test_rare_input_after_carry_chain_is_refuted(tmp_path, capsys):
    orig = _write(tmp_path, "orig.s", carry_chain_kernel("csel x9, x9, x9, ne"))
    cand = _write(tmp_path, "cand.s", carry_chain_kernel("csel x9, x9, x10, ne"))
    assert len(parse_text(carry_chain_kernel("csel x9, x9, x9, ne")).instructions) > 90
    t0 = time.perf_counter()
    rc = main(["verify", "--prove", orig, cand])
    seconds = time.perf_counter() - t0
    out = capsys.readouterr().out
    assert rc == 1, out
    assert "NOT equivalent" in out and "confirmed by simulation" in out
    assert "x9 differs" in out
    assert seconds < 30  # within the default time limit (in practice a few seconds)


@pytest.mark.slow  # z3 searches (about 3 s)
def test_counterexample_has_the_rare_word_and_replays():
    a = parse_text(carry_chain_kernel("csel x9, x9, x9, ne")).instructions
    b = parse_text(carry_chain_kernel("csel x9, x9, x10, ne")).instructions
    res = prove(a, b)
    assert res.status == "refuted", res.reason
    assert res.method == "concolic"
    cex = res.counterexample
    x1 = cex.registers["x1"]
    mem = {a + i: v for a, run in cex.memory for i, v in enumerate(run)}
    word = int.from_bytes(bytes(mem[x1 + 64 + i] for i in range(8)), "little")
    assert word == 0x1234
    # the state really separates the programs in the simulator
    from scheduler.checks.simulate import run_instructions

    ra, rb = run_instructions(a, cex.initial), run_instructions(b, cex.initial)
    assert ra.get("x9") != rb.get("x9")


def test_equivalent_pair_is_still_proved(tmp_path, capsys):
    """The same kernel with the csel written with swapped operands and inverted condition."""
    orig = _write(tmp_path, "orig.s", carry_chain_kernel("csel x9, x10, x9, eq"))
    cand = _write(tmp_path, "cand.s", carry_chain_kernel("csel x9, x9, x10, ne"))
    rc = main(["verify", "--prove", orig, cand])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "proved equivalent" in out


def test_rare_difference_in_memory_output_is_refuted():
    """Only a stored byte differs, and only when the loaded word is 0x1234."""
    a = parse_text(carry_chain_kernel("csel x10, x10, x10, ne")).instructions
    b = parse_text(carry_chain_kernel("csel x10, x10, x9, ne")).instructions
    res = prove(a, b, outputs=[])
    assert res.status == "refuted", res.reason
    assert res.counterexample.location.startswith("mem[")


def test_condition_on_a_computed_value_is_refuted():
    """The loaded word is compared with the carry chain's result: free the word, fold the chain."""
    orig = carry_chain_kernel("csel x9, x9, x9, ne").replace("cmp x17, x16", "mul x18, x17, x2\ncmp x18, x13")
    a = parse_text(orig).instructions
    b = parse_text(orig.replace("csel x9, x9, x9, ne", "csel x9, x9, x10, ne")).instructions
    res = prove(a, b)
    assert res.status == "refuted", res.reason
    assert res.counterexample is not None  # confirmed by the simulator (which input was freed may vary)
