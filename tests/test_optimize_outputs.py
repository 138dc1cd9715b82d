"""optimize follows the one outputs rule verify uses (scheduler/outputs.py), and --exec."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scheduler.cli import main

FAST = ["--time-limit", "2", "--deterministic", "--workers", "1", "--quiet"]
NO_RET = "\tmul x4, x5, x6\n\tadd x7, x4, x4\n\tmul x4, x8, x9\n\tadds x1, x2, x4\n\tadcs x1, x1, x7\n"
ROOT = Path(__file__).resolve().parent.parent


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
def test_optimize_exec_runs_the_output(tmp_path, capsys):
    out = tmp_path / "o.s"
    assert main(["optimize", str(ROOT / "inputs" / "mul_4x4.s"), "-o", str(out), "--exec", *FAST]) == 0
    assert "executed as AArch64 code" in capsys.readouterr().out


def test_optimize_exec_failure_writes_nothing(tmp_path, capsys, monkeypatch):
    from scheduler.checks import execcheck

    class Bad:
        equivalent, trials, mismatch, problems = False, 1, "x0 differs", []
    monkeypatch.setattr(execcheck, "exec_check", lambda *a, **k: Bad())
    out = tmp_path / "o.s"
    assert main(["optimize", str(ROOT / "inputs" / "mul_4x4.s"), "-o", str(out), "--exec", *FAST]) == 1
    assert not out.exists()
    assert "execution check" in capsys.readouterr().err
