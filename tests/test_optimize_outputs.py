"""optimize follows the one outputs rule verify uses (scheduler/outputs.py), and --exec."""

from __future__ import annotations

import shutil

import pytest

from scheduler.cli import main
from tests.support import ROOT

FAST = ["--time-limit", "2", "--deterministic", "--workers", "1", "--quiet"]
NO_RET = "\tmul x4, x5, x6\n\tadd x7, x4, x4\n\tmul x4, x8, x9\n\tadds x1, x2, x4\n\tadcs x1, x1, x7\n"


def test_no_ret_no_outputs_means_every_register(tmp_path, capsys):
    src = tmp_path / "k.s"
    src.write_text(NO_RET)
    out = tmp_path / "o.s"
    assert main(["optimize", str(src), "-o", str(out), *FAST]) == 0
    capsys.readouterr()
    # verify's default for this file is every register and the flags: the output must pass it
    assert main(["verify", str(src), str(out), "--prove"]) == 0
    assert "every register" in capsys.readouterr().out


def test_outputs_none_and_bad_outputs(tmp_path, capsys):
    src = tmp_path / "k.s"
    src.write_text(NO_RET)
    out = tmp_path / "o.s"
    assert main(["optimize", str(src), "-o", str(out), "--outputs", "none", *FAST]) == 0
    assert main(["optimize", str(src), "-o", str(out), "--outputs=", *FAST]) == 2
    assert main(["optimize", str(src), "-o", str(out), "--outputs", "x1,bogus", *FAST]) == 2


needs_toolchain = pytest.mark.skipif(
    not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64")),
    reason="no AArch64 cross toolchain / qemu (scripts/setup-debian.sh)")


@needs_toolchain
@pytest.mark.slow  # optimize and qemu (6-8 s)
def test_optimize_exec_runs_the_output(tmp_path, capsys):
    out = tmp_path / "o.s"
    assert main(["optimize", str(ROOT / "inputs" / "mul_4x4.s"), "-o", str(out), "--exec", *FAST]) == 0
    assert "executed as AArch64 code" in capsys.readouterr().out


@pytest.mark.slow  # optimize and qemu (6-8 s)
def test_optimize_exec_failure_writes_nothing(tmp_path, capsys, monkeypatch):
    from scheduler.checks import execcheck

    class Bad:
        equivalent, trials, mismatch, problems = False, 1, "x0 differs", []
    monkeypatch.setattr(execcheck, "exec_check", lambda *a, **k: Bad())
    out = tmp_path / "o.s"
    assert main(["optimize", str(ROOT / "inputs" / "mul_4x4.s"), "-o", str(out), "--exec", *FAST]) == 1
    assert not out.exists()
    assert "execution check" in capsys.readouterr().err


# found by the fuzz suite (template-kernel-0799): no ret, no outputs declared, so every register
# is an output; renaming once used a register the block never writes (x13) as a temporary
FUZZ_0799 = """\
        adc x7, x10, xzr
        mul x4, x4, x6
        mul x4, x2, x2
        ldp x10, x8, [x0, #48]
        ldr x6, [sp, #8]
        stp x2, x9, [x1, #16]
        subs x8, x5, x2
        ldr x6, [sp, #88]
        mul x11, x2, x8
        umull v1.2d, v5.2s, v2.2s
        mov x7, #0xffffffff00000001
        adds x3, x7, x4, lsl #33
        mov x10, #0xffffffff00000001
        adcs x9, x4, x4
        umulh x8, x10, x10
        mov x8, v1.d[1]
        ldp x10, x3, [x0], #16
        mov x8, #0xffffffff00000001
        str x7, [x0, #56]
        cmn x3, #1
        ldr x7, [sp, #24]
        extr x4, x10, x8, #17
        cneg x4, x4, cc
        adds x10, x10, x8
        cneg x3, x8, cc
        uzp1 v1.4s, v2.4s, v2.4s
        stp x5, x9, [x1, #32]
        adds x4, x2, x9, lsl #33
        umulh x7, x3, x8
        umlal v4.2d, v4.2s, v5.2s
        umull v0.2d, v3.2s, v0.2s
        ldp x3, x6, [x0], #16
        ldp x11, x8, [x0], #16
        cneg x7, x4, cc
        csetm x3, hs
        ldp x6, x3, [x0], #16
"""


def test_every_register_output_keeps_unwritten_registers(tmp_path, capsys):
    src = tmp_path / "k.s"
    src.write_text(FUZZ_0799)
    out = tmp_path / "o.s"
    assert main(["optimize", str(src), "-o", str(out), "--time-limit", "2", "--workers", "1", "--seed", "1",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["verify", str(src), str(out), "--prove"]) == 0
