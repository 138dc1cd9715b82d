"""The fixed work of a short --time-limit was cut without changing what is checked or found
(issue 28): trials split across two processes give the same verdicts in the same order, the
quick bound is still a bound, a core that is only judged is still never made slower, CP-SAT
is imported only when used, and the command's fast exit still flushes and runs exit handlers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import scheduler.core.forked as forked
from scheduler.checks.verify import straight_line, verify
from scheduler.core.clock import Clock
from scheduler.frontend.parse import parse_file, parse_text
from scheduler.machine.bounds import lower_bounds, true_dependencies
from scheduler.machine.evaluate import inorder, prepare
from scheduler.machine.model import load_model
from scheduler.search.listsched import list_schedule
from scheduler.search.multimodel import figure, optimize_block_multi
from scheduler.search.options import Options
from scheduler.search.pipeline import quick_setup
from tests.support import N1, ROOT

FORKS = sys.platform.startswith("linux") and len(os.sched_getaffinity(0)) > 1


def _square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("work", [0, 10**9])
def test_in_two_gives_the_plain_map_in_order(work):
    assert forked.in_two(_square, list(range(37)), work) == [x * x for x in range(37)]


def test_in_two_recomputes_a_failed_childs_half_in_the_parent():
    """The child's half raises there; the parent does it again and the error is the caller's,
    exactly as without the child."""
    def boom(x: int) -> int:
        if x == 30:
            raise ValueError("item 30")
        return x

    with pytest.raises(ValueError, match="item 30"):
        forked.in_two(boom, list(range(40)), 10**9)


def test_in_two_falls_back_when_results_do_not_pickle():
    out = forked.in_two(lambda x: (lambda: x), list(range(6)), 10**9)
    assert [f() for f in out] == list(range(6))


@pytest.mark.skipif(not FORKS, reason="needs os.fork and two CPUs")
def test_in_two_really_uses_a_second_process():
    pids = forked.in_two(lambda _: os.getpid(), list(range(4)), 10**9)
    assert pids[0] == os.getpid() and pids[-1] != os.getpid()


def _broken(instrs):
    """The kernel with its last `adcs` made an `adds`: a bug only some trials see."""
    text = "\n".join(str(i) for i in instrs)
    k = text.rfind("adcs")
    return parse_text(text[:k] + "adds" + text[k + 4:]).instructions


@pytest.mark.parametrize("min_work", [0, 10**12])
def test_verify_finds_the_same_first_mismatch_split_or_not(monkeypatch, min_work):
    """The trials' verdicts do not depend on whether half of them ran in a child process."""
    monkeypatch.setattr(forked, "MIN_WORK", min_work)
    orig = straight_line(parse_file(ROOT / "inputs/mul_4x4.s"))
    res = verify(orig, _broken(orig), trials=60)
    monkeypatch.setattr(forked, "MIN_WORK", 10**12)
    plain = verify(orig, _broken(orig), trials=60)
    assert not res.equivalent and res.mismatch is not None and plain.mismatch is not None
    assert (res.trials, res.mismatch.trial, res.mismatch.location, res.mismatch.expected,
            res.mismatch.actual) == (plain.trials, plain.mismatch.trial, plain.mismatch.location,
                                     plain.mismatch.expected, plain.mismatch.actual)
    assert verify(orig, orig, trials=60).equivalent


@pytest.mark.parametrize("kernel", ["inputs/montgomery/montmul_6.s", "inputs/mul_6x6_stack.s",
                                    "inputs/montgomery/p256_montmul_neon.s"])
@pytest.mark.parametrize("model", ["neoverse-n1", "cortex-a55"])
def test_the_quick_bound_is_a_bound_and_no_stronger(kernel, model, monkeypatch):
    """Without the strengthening the one-machine bound is weaker or equal, and both are below
    a real schedule's in-order cycles; the strengthened one is the same whether its two sweeps
    ran in two processes or one."""
    m = load_model(model)
    bt = prepare(straight_line(parse_file(ROOT / kernel)), m)
    kept = true_dependencies(bt)
    full, quick = lower_bounds(kept, m), lower_bounds(kept, m, strengthen=False)
    assert quick.pipe_path <= full.pipe_path and quick.best <= full.best
    assert (quick.critical_path, quick.resource, quick.issue) == (full.critical_path, full.resource, full.issue)
    assert full.best <= inorder(bt, list_schedule(bt, m), m).cycles
    monkeypatch.setattr(forked, "MIN_WORK", 0)
    assert lower_bounds(kept, m) == full


def test_the_quick_setup_is_only_for_short_wall_budgets():
    wall, work = Clock(False), Clock(True)
    assert quick_setup(0.1, 1000, wall, 3) and not quick_setup(60.0, 1000, wall, 3)
    assert quick_setup(1.0, 1000, wall, 3) and not quick_setup(1.0, 1000, wall)  # per core
    assert not quick_setup(0.1, 1000, work, 3)  # --deterministic: never on the machine's speed


def test_a_block_short_of_time_sets_up_with_the_quick_bound(monkeypatch):
    """One model, a wall budget below its setup: the plain one-machine bound, said in a note;
    the schedule is still checked and no slower than the input."""
    import scheduler.search.pipeline as pl
    from scheduler.search.optimize import optimize_block

    monkeypatch.setattr(pl, "SETUP_SECONDS_PER_INSTR", 1.0)  # any budget is short
    instrs = straight_line(parse_file(ROOT / "inputs/montgomery/montmul_6.s"))
    res = optimize_block(0, instrs, N1, Options(time_limit=1.0, workers=1), 1.0, live_out=frozenset({"x0"}))
    assert any("without the one-machine strengthening" in n for n in res.notes), res.notes
    assert res.verified and res.ooo_cycles_after <= res.ooo_cycles_before
    assert res.lower_bound <= res.cycles_after


def test_a_judged_core_is_never_made_slower(monkeypatch):
    """With the budget too short for every core's own run, the first core searches, the others
    are judged: the note says so, and no core's figure is worse than the input's."""
    import scheduler.search.pipeline as pl

    monkeypatch.setattr(pl, "SETUP_SECONDS_PER_INSTR", 1.0)  # any budget is short
    instrs = straight_line(parse_file(ROOT / "inputs/mul_4x4.s"))
    models = [N1, load_model("cortex-a55"), load_model("neoverse-v2")]
    opts = Options(time_limit=3.0, workers=1, objective="worst")
    res = optimize_block_multi(0, instrs, models, opts, 3.0, live_out=frozenset({"x0", "x1", "x2"}))
    assert any("judged, not searched" in n for n in res.notes), res.notes
    assert res.verified
    for m, doc in zip(models, res.per_model, strict=True):
        assert doc["after"]["inorder" if m.in_order else "ooo"] <= doc["before"]["inorder" if m.in_order else "ooo"]
        assert figure(m, res.instructions_after, opts.alias) == doc["after"]["inorder" if m.in_order else "ooo"]
    names = {st.get("model") for st in res.stages}
    assert names == {"neoverse-n1", "cortex-a55", "neoverse-v2", "joint"}


def test_the_command_line_does_not_import_cp_sat_until_it_solves():
    code = ("import sys, scheduler.cli, scheduler.search.solve, scheduler.search.stages\n"
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_fast_exit_flushes_and_keeps_the_exit_code(tmp_path):
    """`python -m scheduler` ends without the interpreter's teardown: all of stdout still
    arrives (redirected to a file, so fully buffered), errors keep their exit code."""
    out = tmp_path / "out.txt"
    with out.open("w") as f:
        ok = subprocess.run([sys.executable, "-m", "scheduler", "parse", str(ROOT / "inputs/mul_4x4.s")],
                            stdout=f, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert ok.returncode == 0
    plain = subprocess.run([sys.executable, "-c", "import sys; from scheduler.cli import main; sys.exit(main())",
                            "parse", str(ROOT / "inputs/mul_4x4.s")], capture_output=True, text=True, cwd=tmp_path)
    assert out.read_text() == plain.stdout and len(plain.stdout) > 1000
    bad = subprocess.run([sys.executable, "-m", "scheduler", "optimize", str(tmp_path / "missing.s")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "missing.s" in bad.stderr
