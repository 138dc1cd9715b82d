"""Never wrong across block boundaries (issue 25): liveness over back-edges and calls, alias
facts that hold only where dataflow carries them, and the whole-file check behind every write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.checks.state import MachineState
from scheduler.checks.wholefile import check_files, code_of, run_file
from scheduler.cli import main
from scheduler.frontend.cfg import block_contexts
from scheduler.frontend.dag import build_dag
from scheduler.frontend.outputs import choose_outputs
from scheduler.frontend.parse import parse_text
from scheduler.machine.model import load_model
from scheduler.present.finalize import finalize
from scheduler.search.optimize import Options, optimize_program
from tests.support.multiblock import multiblock_kernel

FP_LABEL = """\
\t.text
k:
\tstp x29, x30, [sp, #-32]!
\tmov x29, sp
1:
\tmul x3, x4, x5
\tstr x3, [x29, #16]
\tldr x6, [sp, #16]
\tstr x6, [x0]
\tldp x29, x30, [sp], #32
\tret
"""
NOALIAS_REASSIGNED = """\
// @noalias x0, x1
\t.text
k:
\tadd x1, x0, #8
1:
\tmul x3, x4, x5
\tstr x3, [x0, #8]
\tldr x6, [x1]
\tstr x6, [x0, #16]
\tret
"""
LOOP_CARRIED = """\
\t.text
k:
\tmov x5, #4
\tmov x9, #1
loop:
\tldr x3, [x1], #8
\tmul x7, x3, x9
\tmul x7, x7, x9
\tumulh x9, x3, x3
\tadd x11, x9, x3
\tstp x7, x11, [x0], #16
\tsub x5, x5, #1
\tcbnz x5, loop
\tret
"""
LOOP_FLAGS = """\
\t.text
k:
\tmov x5, #4
\tmov x4, #0
\tcmn xzr, xzr
loop:
\tldr x3, [x1], #8
\tldr x6, [x2], #8
\tadcs x4, x4, x6
\tmul x13, x3, x6
\tmul x13, x13, x13
\tadds x11, x13, x3
\tcmn x3, x6
\tstr x11, [x0], #8
\tsub x5, x5, #1
\tcbnz x5, loop
\tstr x4, [x0]
\tret
"""
CALL_ARGUMENT = """\
\t.text
k:
\tmov x15, x30
\tldr x3, [x2]
\tmul x9, x3, x3
\tmul x9, x9, x9
\tmul x9, x9, x1
\tadd x1, x2, #8
\tmul x12, x1, x1
\tmul x12, x12, x12
\tmul x12, x12, x12
\tstr x9, [x2, #8]
\tstr x12, [x2, #16]
\tbl callee
\tmov x30, x15
\tret
"""
REPRODUCERS = {
    "fp_label": (FP_LABEL, []),
    "fp_cfi": (FP_LABEL.replace("1:\n", "\t.cfi_def_cfa_register 29\n"), []),
    "p2align": ("\t.text\nk:\n\tadd x1, sp, #16\n\t.p2align 2\n\tmul x3, x4, x5\n\tstr x3, [x1]\n"
                "\tldr x6, [sp, #16]\n\tstr x6, [x0]\n\tret\n", []),
    "noalias_reassigned": (NOALIAS_REASSIGNED, []),
    "noalias_reassigned_norename": (NOALIAS_REASSIGNED, ["--no-rename"]),
    "loop_carried": (LOOP_CARRIED, []),
    "loop_flags_a55": (LOOP_FLAGS, ["--model", "cortex-a55"]),
    "loop_flags": (LOOP_FLAGS, []),
    "call_argument": (CALL_ARGUMENT, []),
}

# what the tool wrote before the fix (each confirmed wrong by hand): the whole-file check must refute them
WRONG_OUTPUTS = {
    "fp_label": FP_LABEL.replace("\tstr x3, [x29, #16]\n\tldr x6, [sp, #16]\n",
                                 "\tldr x6, [sp, #16]\n\tstr x3, [x29, #16]\n"),
    "loop_carried": LOOP_CARRIED.replace("\tumulh x9, x3, x3\n\tadd x11, x9, x3\n",
                                         "\tumulh x2, x3, x3\n\tadd x11, x2, x3\n"),
    "call_argument": CALL_ARGUMENT.replace("add x1, x2, #8\n\tmul x12, x1, x1", "add x4, x2, #8\n\tmul x12, x4, x4"),
}


def _outputs(prog):
    return choose_outputs(prog).as_list()


QUICK_REPRODUCERS = 2  # the others are marked slow (each a full optimize and whole-file check)


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if k < QUICK_REPRODUCERS else [pytest.mark.slow])
                                  for k, n in enumerate(sorted(REPRODUCERS))])
def test_reproducers_come_back_equivalent(tmp_path: Path, name: str):
    text, extra = REPRODUCERS[name]
    src = tmp_path / "k.s"
    src.write_text(text)
    out = tmp_path / "k.out.s"
    assert main(["optimize", str(src), "-o", str(out), "--time-limit", "1", "--quiet", *extra]) == 0
    orig, got = parse_text(text), parse_text(out.read_text())
    res = check_files(orig, got, trials=64, seed=7, outputs=_outputs(orig))
    assert res.equivalent, (res.mismatch, res.problem, out.read_text())
    report = json.loads((tmp_path / "k.out.json").read_text())
    assert report["whole_file_check"]["equal"] is True


@pytest.mark.parametrize("name", sorted(WRONG_OUTPUTS))
def test_whole_file_check_refutes_the_old_wrong_outputs(name: str):
    orig = parse_text(REPRODUCERS[name][0])
    res = check_files(orig, parse_text(WRONG_OUTPUTS[name]), trials=32, outputs=_outputs(orig))
    assert not res.equivalent


def test_frame_pointer_copy_keeps_the_store_before_the_load():
    prog = parse_text(FP_LABEL)
    ctx = block_contexts(prog, ["x0"])
    body = prog.blocks()[1]
    g = build_dag(body.instructions, ctx[1].facts)
    store, load = 1, 2  # str x3, [x29, #16]; ldr x6, [sp, #16]
    assert g.has_edge(store, load) and any(d.resource == "mem" for d in g.edges[store, load]["deps"])
    assert dict(ctx[1].facts.entry or ())["x29"].const == -32


def test_noalias_does_not_survive_redefinition():
    prog = parse_text(NOALIAS_REASSIGNED)
    facts = block_contexts(prog, ["x0"], prog.noalias)[1].facts
    g = build_dag(prog.blocks()[1].instructions, facts)
    assert g.has_edge(1, 2)  # str [x0, #8] -> ldr [x1] (= x0 + 8)


def test_back_edge_keeps_carried_register_and_flags_live():
    live = block_contexts(parse_text(LOOP_CARRIED), ["x0"])[1].live_out
    assert {"x9", "x5", "x1", "x0"} <= live
    assert "nzcv" in block_contexts(parse_text(LOOP_FLAGS), ["x0"])[1].live_out


def test_a_call_reads_every_register():
    live = block_contexts(parse_text(CALL_ARGUMENT), ["x0"])[0].live_out
    assert {"x1", "x2", "x9", "x12", "nzcv", "v0", "x15"} <= live


def test_facts_are_lost_after_a_call_and_walked_pointers_keep_their_root():
    facts = block_contexts(parse_text(CALL_ARGUMENT), ["x0"])[1].facts
    assert facts.entry == ()
    loop = dict(block_contexts(parse_text(LOOP_CARRIED), ["x0"])[1].facts.entry or ())
    assert loop["x1"].root == ("in", "x1") and loop["x1"].const is None
    assert "x9" not in loop  # a data value, redefined in the loop


def test_whole_file_runs_loops_and_stub_calls():
    prog = parse_text(CALL_ARGUMENT)
    from scheduler.checks.state import MachineState

    run = run_file(code_of(prog), MachineState())
    assert run.ended and run.calls == 1 and len(run.path) == 2


def test_finalize_reverts_a_block_that_makes_the_file_differ():
    prog = parse_text(LOOP_CARRIED)
    opts = Options(time_limit=1, deterministic=True, workers=1, outputs=frozenset({"x0"}))
    results = optimize_program(prog, load_model("neoverse-n1"), opts)
    loop = results[1]
    bad = [str(i) for i in loop.instructions_after]
    wrong = parse_text("\n".join(f"\t{s.replace('x9, x3, x3', 'x2, x3, x3').replace('x9, x3', 'x2, x3')}"
                                 for s in bad) + "\n").instructions
    results[1].instructions_after = list(wrong)
    results[1].order = list(reversed(range(len(wrong)))) if loop.order == list(range(len(wrong))) else loop.order
    fin = finalize(prog, results, ["x0"], frozenset(), 0)
    assert fin.results[1].order == list(range(len(wrong)))
    assert [str(i) for i in fin.results[1].instructions_after] == [str(i) for i in prog.blocks()[1].instructions]
    assert any("block 1" in n for n in fin.notes) and fin.check.equivalent


@pytest.mark.slow  # twelve multi-block optimizes
@settings(max_examples=12, deadline=None)
@given(st.integers(min_value=0, max_value=10**6))
def test_random_multiblock_kernels_stay_equivalent_as_whole_files(seed: int):
    """Every block's schedule, under the facts the control-flow analysis gives it, keeps the whole
    file equivalent: checked before the whole-file gate could revert anything."""
    text = multiblock_kernel(seed)
    prog = parse_text(text)
    chosen = choose_outputs(prog)
    opts = Options(time_limit=0.5 * len(prog.blocks()), deterministic=True, workers=1, seed=seed % 7,
                   noalias=prog.noalias, outputs=frozenset(chosen.registers or ()), all_outputs=chosen.every)
    results = optimize_program(prog, load_model("neoverse-n1"), opts)
    from scheduler.present.finalize import emitted

    out, problem = emitted(prog, results, "<out>")
    assert not problem
    res = check_files(prog, parse_text(out), trials=48, seed=seed, outputs=chosen.as_list())
    assert res.equivalent, (text, out, res.mismatch, res.problem)


def test_a_loop_of_branches_alone_stops_at_the_step_limit():
    """`0: b 0b` executes no other instruction: the step limit must still end the run."""
    prog = parse_text("\t.text\nk:\n\tadd x1, x1, #1\n0:\tb 0b\n")
    run = run_file(code_of(prog), MachineState(), max_steps=1000)
    assert not run.ended and run.steps == 1000
