"""The whole-file check under qemu (issue 25): the files run natively, branches, loops and calls
included, and a wrong output is refuted independently of the simulator."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.checks import execcheck
from scheduler.checks.wholefile import WholeFileResult, code_of
from scheduler.checks.wholefile_exec import exec_check_files, runnable
from scheduler.frontend.outputs import choose_outputs
from scheduler.frontend.parse import parse_text
from scheduler.machine.model import load_model
from scheduler.present import finalize as finalize_mod
from scheduler.search.optimize import Options, optimize_program
from tests.support.multiblock import multiblock_kernel
from tests.test_cross_block import LOOP_CARRIED, REPRODUCERS, WRONG_OUTPUTS

pytestmark = pytest.mark.skipif(not execcheck.available(), reason="needs aarch64-linux-gnu-gcc and qemu-aarch64")


def _outputs(prog):
    return choose_outputs(prog).as_list()


@pytest.mark.parametrize("name", sorted(REPRODUCERS))
def test_each_reproducer_runs_natively_and_equals_itself(name: str):
    prog = parse_text(REPRODUCERS[name][0])
    res = exec_check_files(prog, prog, trials=8, outputs=_outputs(prog))
    assert res.equivalent and not res.not_run and res.trials == 8, (res.not_run, res.problem, res.mismatch)


@pytest.mark.parametrize("name", sorted(WRONG_OUTPUTS))
def test_qemu_refutes_the_old_wrong_outputs(name: str):
    prog = parse_text(REPRODUCERS[name][0])
    res = exec_check_files(prog, parse_text(WRONG_OUTPUTS[name]), trials=16, outputs=_outputs(prog))
    assert not res.not_run and not res.equivalent and res.mismatch is not None


def test_local_calls_return_through_trampolines_equal_in_both_files():
    """A kernel that stores x30 inside a local call: the stored return address must be the same
    in both files, although their code differs."""
    text = ("\t.text\nk:\n\tmov x15, x30\n\tbl helper\n\tmov x30, x15\n\tret\n"
            "helper:\n\tstr x30, [x0]\n\tmul x3, x1, x2\n\tadd x4, x1, x2\n\tstp x3, x4, [x0, #8]\n\tret\n")
    other = text.replace("\tmul x3, x1, x2\n\tadd x4, x1, x2\n", "\tadd x4, x1, x2\n\tmul x3, x1, x2\n")
    prog = parse_text(text)
    res = exec_check_files(prog, parse_text(other), trials=8, outputs=_outputs(prog))
    assert res.equivalent and res.trials == 8
    wrong = parse_text(text.replace("stp x3, x4", "stp x4, x3"))
    assert not exec_check_files(prog, wrong, trials=8, outputs=_outputs(prog)).equivalent


def test_a_candidate_that_faults_is_a_mismatch():
    text = "\t.text\nk:\n\tldr x3, [x0]\n\tadd x3, x3, #1\n\tstr x3, [x0]\n\tcbz x3, 1f\n\tadd x4, x4, #1\n1:\tret\n"
    bad = text.replace("\tadd x3, x3, #1\n", "\tadd x0, x0, #4095, lsl #12\n")  # 16 MiB off its buffer
    prog = parse_text(text)
    res = exec_check_files(prog, parse_text(bad), trials=4, outputs=_outputs(prog))
    assert res.mismatch is not None and "run" in res.mismatch.location


def test_computed_jumps_are_not_run_and_say_why():
    prog = parse_text("\t.text\nk:\n\tbr x3\n")
    assert "computed jump" in runnable(code_of(prog))
    res = exec_check_files(prog, prog, trials=2)
    assert res.not_run and not res.trials


@pytest.mark.slow  # about 6 s
def test_finalize_reverts_what_only_qemu_refutes(monkeypatch):
    """With the simulator's whole-file check blinded, the native run alone catches a wrong block."""
    prog = parse_text(LOOP_CARRIED)
    opts = Options(time_limit=1, deterministic=True, workers=1, outputs=frozenset({"x0"}))
    results = optimize_program(prog, load_model("neoverse-n1"), opts)
    wrong = parse_text(WRONG_OUTPUTS["loop_carried"]).blocks()[1].instructions
    results[1].instructions_after = list(wrong)
    results[1].order = list(reversed(range(len(wrong))))
    monkeypatch.setattr(finalize_mod, "check_files", lambda *a, **k: WholeFileResult(trials=1, ended=1))
    fin = finalize_mod.finalize(prog, results, ["x0"], frozenset(), 0)
    assert [str(i) for i in fin.results[1].instructions_after] == [str(i) for i in prog.blocks()[1].instructions]
    assert any("under" in n and "qemu" in n for n in fin.notes), fin.notes
    assert fin.native is not None and fin.native.equivalent


def test_verify_cli_compares_files_with_loops_as_whole_files(tmp_path, capsys):
    from scheduler.cli import main

    src, good, bad = tmp_path / "k.s", tmp_path / "good.s", tmp_path / "bad.s"
    src.write_text(LOOP_CARRIED)
    assert "\tstp x7, x11, [x0], #16\n\tsub x5, x5, #1\n" in LOOP_CARRIED
    good.write_text(LOOP_CARRIED.replace("\tstp x7, x11, [x0], #16\n\tsub x5, x5, #1\n",
                                         "\tsub x5, x5, #1\n\tstp x7, x11, [x0], #16\n"))
    bad.write_text(WRONG_OUTPUTS["loop_carried"])
    assert main(["verify", str(src), str(good), "--exec", "--trials", "16"]) == 0
    assert "16 under" in capsys.readouterr().out
    assert main(["verify", str(src), str(good), "--prove", "--trials", "16"]) == 0
    assert "proved equivalent block by block" in capsys.readouterr().out
    assert main(["verify", str(src), str(bad), "--trials", "16"]) == 1
    assert "NOT equivalent (whole files)" in capsys.readouterr().out
    assert main(["verify", str(src), str(bad), "--json", "--exec", "--trials", "16"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["mode"] == "whole-file" and doc["equivalent"] is False and doc["simulator"]["mismatch"]


@pytest.mark.slow  # a Hypothesis sweep under qemu (minutes)
@settings(max_examples=6, deadline=None)
@given(st.integers(min_value=0, max_value=10**6))
def test_random_multiblock_kernels_stay_equivalent_under_qemu(seed: int):
    """The multi-block property of test_cross_block, judged natively instead of by the simulator."""
    from scheduler.present.finalize import emitted

    prog = parse_text(multiblock_kernel(seed))
    chosen = choose_outputs(prog)
    opts = Options(time_limit=0.3 * len(prog.blocks()), deterministic=True, workers=1, seed=seed % 7,
                   noalias=prog.noalias, outputs=frozenset(chosen.registers or ()), all_outputs=chosen.every)
    results = optimize_program(prog, load_model("neoverse-n1"), opts)
    out, problem = emitted(prog, results, "<out>")
    assert not problem
    res = exec_check_files(prog, parse_text(out), trials=16, seed=seed, outputs=chosen.as_list())
    assert not res.not_run and res.trials > 0
    assert res.equivalent, (out, res.mismatch, res.problem)
