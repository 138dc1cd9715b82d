"""`verify --exec`: both kernels assembled with GNU as and run under qemu-aarch64."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from scheduler.checks import execcheck
from scheduler.cli import main
from scheduler.frontend.parse import parse_file, parse_text
from tests.support import ROOT


@pytest.fixture(scope="module", autouse=True)
def toolchain():
    if not execcheck.available():
        if os.environ.get("SCHEDULER_REQUIRE_ASSEMBLER"):
            pytest.fail("SCHEDULER_REQUIRE_ASSEMBLER is set but the execution-check toolchain is missing")
        pytest.skip("no aarch64-linux-gnu-gcc / qemu-aarch64 (scripts/setup-debian.sh installs them)")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _mutant(tmp_path: Path) -> Path:
    """outputs/mul_4x4.s with its first `adcs` turned into `adds`."""
    lines = (ROOT / "outputs" / "mul_4x4.s").read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if re.match(r"\s+adcs\b", line))
    lines[k] = lines[k].replace("adcs", "adds", 1)
    path = tmp_path / "mutant.s"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_correct_reordering_passes():
    res = execcheck.exec_check(parse_file(ROOT / "inputs" / "mul_4x4.s"),
                               parse_file(ROOT / "outputs" / "mul_4x4.s"), trials=200, outputs=["x0"])
    assert res.equivalent and res.trials == 200 and res.mismatch is None
    assert {"x19", "sp", "v8", "x0"} <= set(res.compared)


def test_one_instruction_mutant_fails_with_location(tmp_path, capsys):
    code, out, _ = run(capsys, "verify", "--exec", str(ROOT / "inputs" / "mul_4x4.s"), str(_mutant(tmp_path)))
    assert code == 1 and "NOT equivalent (executed" in out
    assert re.search(r"trial \d+: mem\[0x[0-9a-f]+\] \(incoming x0\+\d+\) differs", out)
    assert "x1    = 0x" in out  # the initial state
    assert "AAPCS64 default: code ends in ret" in out
    code, out, _ = run(capsys, "verify", "--exec", "--json", str(ROOT / "inputs" / "mul_4x4.s"),
                       str(_mutant(tmp_path)))
    doc = json.loads(out)
    assert code == 1 and doc["mode"] == "exec" and doc["mismatch"]["location"].startswith("mem[")
    assert doc["outputs"]["source"] == "AAPCS64 default: code ends in ret"


def test_stack_kernel(capsys):
    code, out, _ = run(capsys, "verify", "--exec", str(ROOT / "inputs" / "mul_6x6_stack.s"),
                       str(ROOT / "outputs" / "mul_6x6_stack.s"), "--trials", "100")
    assert code == 0 and "equivalent (executed" in out and "100 trials passed" in out


def test_preprocessed_kernel(capsys):
    code, out, _ = run(capsys, "verify", "--exec", str(ROOT / "inputs" / "montmul_p256.S"),
                       str(ROOT / "outputs" / "montmul_p256.s"), "--trials", "50")
    assert code == 0, out


@pytest.mark.parametrize("a,b,loc", [
    ("adc x0, x1, x2", "add x0, x1, x2", "x0"),  # the incoming carry is loaded
    ("adds x0, x1, x2", "add x0, x1, x2", "nzcv"),  # the flags are stored
    ("mov v1.d[1], x1", "mov v1.d[0], x1", "v1"),  # all 128 bits
    ("add x29, x29, #1", "mov x9, x9", "x29"),  # callee-saved
    ("sub sp, sp, #16", "mov x9, x9", "sp"),
])
def test_state_round_trip(a, b, loc):
    res = execcheck.exec_check(parse_text(a + "\n"), parse_text(b + "\n"), trials=8)
    assert res.mismatch is not None and res.mismatch.location == loc


def test_callee_saved_compared_even_with_outputs_none():
    res = execcheck.exec_check(parse_text("add x0, x1, x2\nadd x19, x19, #1\nret\n"),
                               parse_text("add x0, x1, x2\nret\n"), trials=4, outputs=[])
    assert res.mismatch.location == "x19"
    ok = execcheck.exec_check(parse_text("add x0, x1, x2\nret\n"), parse_text("add x0, x2, x1\nret\n"),
                              trials=20, outputs=[])
    assert ok.equivalent


def test_all_flag_values_and_aliasing():
    # each trial's NZCV is trial % 16: a flag-dependent kernel sees all of them
    orig = parse_text("csel x0, x1, x2, hi\ncset x3, lt\nret\n")
    assert execcheck.exec_check(orig, orig, trials=16, outputs=["x0", "x3"]).equivalent
    # store then load through two base registers: equal only if they never alias
    a = parse_text("str x2, [x0]\nldr x3, [x1]\n")
    b = parse_text("ldr x3, [x1]\nstr x2, [x0]\n")
    assert execcheck.exec_check(a, b, trials=40).mismatch.location == "x3"
    assert execcheck.exec_check(a, b, trials=40, noalias={"x0", "x1"}).equivalent


def test_candidate_crash_is_a_mismatch(tmp_path, capsys):
    a, b = tmp_path / "a.s", tmp_path / "b.s"
    a.write_text("ldr x0, [x1]\nret\n")
    b.write_text("mov x5, xzr\nldr x0, [x5]\nret\n")
    code, out, _ = run(capsys, "verify", "--exec", str(a), str(b))
    assert code == 1 and "candidate crashed (SIGSEGV)" in out
    code, _, err = run(capsys, "verify", "--exec", str(b), str(a))
    assert code == 2 and "original kernel crashed" in err


def test_missing_toolchain_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    mul = str(ROOT / "inputs" / "mul_4x4.s")
    code, _, err = run(capsys, "verify", "--exec", mul, mul)
    assert code == 2 and "scripts/setup-debian.sh" in err


def test_exec_and_prove_exclusive(capsys):
    mul = str(ROOT / "inputs" / "mul_4x4.s")
    code, _, err = run(capsys, "verify", "--exec", "--prove", mul, mul)
    assert code == 2 and "--exec" in err
