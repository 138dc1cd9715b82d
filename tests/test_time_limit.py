"""`--time-limit` is the whole command's wall-clock limit (core/budget.py): the search gets
what is left after a reserve for the checks. No wall-clock asserts: fake clocks only."""

from __future__ import annotations

from scheduler.core import budget
from scheduler.core.budget import CommandClock, check_reserve, search_limit
from scheduler.present.batch import task_timeout
from scheduler.search.stages import STAGES


def test_search_leaves_the_check_reserve():
    for limit in (2.0, 10.0, 60.0):
        for n in (50, 300, 1000):
            for models in (1, 3):
                elapsed = 0.7  # start-up and parsing so far
                search = search_limit(limit, elapsed, n, models)
                reserve = check_reserve(limit, n, models)
                assert elapsed + search + reserve <= limit + 1e-9 or search == budget.MIN_SEARCH
                assert reserve >= budget.MIN_SHARE * limit
                assert reserve <= budget.MAX_SHARE * limit


def test_reserve_grows_with_size_and_models():
    assert check_reserve(10, 1000) > check_reserve(10, 100)
    assert check_reserve(10, 1000, 3) > check_reserve(10, 1000, 1)


def test_late_start_gets_the_minimum_search():
    assert search_limit(2.0, 5.0, 100) == budget.MIN_SEARCH


def test_command_clock_counts_from_its_start(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(budget.time, "monotonic", lambda: now[0])
    clock = CommandClock(t0=97.5)
    assert clock.elapsed() == 2.5
    monkeypatch.setattr(budget, "process_age", lambda: 1.25)
    assert CommandClock().elapsed() == 1.25
    now[0] += 3
    assert CommandClock().elapsed() == 1.25


def test_process_age_is_plausible():
    assert 0.0 <= budget.process_age() < 10 * 24 * 3600


class _FakeClock:
    deterministic = False

    def __init__(self, t: float):
        self.t = t

    def left(self, deadline: float) -> float:
        return deadline - self.t


def test_stage_allowance_never_passes_the_block_deadline():
    from types import SimpleNamespace

    from scheduler.core.clock import Deadline
    from scheduler.search.pipeline import BlockProblem

    clock = _FakeClock(9.9)
    p = SimpleNamespace(clock=clock, deadline=Deadline(clock, 10.0), budget=5.0,
                        opts=SimpleNamespace(rename=True), decomposing=False,
                        budgets={st.name: st.budget for st in STAGES if st.budget is not None})
    state = SimpleNamespace(res=SimpleNamespace(seconds=1.0))
    assert len(p.budgets) >= 8
    for stage in p.budgets:
        got = BlockProblem.allowance(p, stage, state)
        assert got <= 0.1 + 1e-9, stage  # the minimums (0.2, 0.3, 0.5 s) yield to the deadline


def test_every_budget_a_stage_asks_for_is_declared_by_a_stage():
    """No string-keyed table apart from the stages: each `p.allowance("name", ...)` in stages.py
    names a Stage that carries a budget."""
    import re

    from tests.support import ROOT

    asked = set(re.findall(r'allowance\("([\w-]+)"', (ROOT / "scheduler" / "search" / "stages.py").read_text()))
    declared = {st.name for st in STAGES if st.budget is not None}
    assert asked and asked <= declared, asked - declared


def test_batch_task_timeout_follows_the_limit():
    assert task_timeout(3) < task_timeout(30) < 2 * 30 + 120
    assert task_timeout(3) > 3


def test_a_limit_below_the_fixed_work_is_named():
    """A limit that cannot hold start-up, bounds and checks says so in one line with the figures;
    a limit that can, says nothing."""
    short = budget.shortfall(2.0, 1.0, 1116)
    assert short is not None and "--time-limit 2 s" in short and "1116 instructions" in short
    assert "\n" not in short
    assert budget.shortfall(60.0, 1.0, 1116) is None
    assert budget.shortfall(2.0, 0.5, 50) is None
    assert "x 3 models" in (budget.shortfall(2.0, 0.6, 1116, 3) or "")


def test_whole_block_models_are_skipped_when_they_cannot_be_built_in_time(n1):
    """On the wall clock, a stage that builds a CP-SAT model of the whole block is skipped
    (with a note) when its allowance is less than building takes; under --deterministic it runs."""
    from scheduler.core.clock import Clock, Deadline
    from scheduler.frontend.parse import parse_text
    from scheduler.search.options import Options
    from scheduler.search.pipeline import problem, run
    from scheduler.search.stages import DECOMPOSE_FROM

    text = "\n".join(f"mul x{3 + k % 20}, x1, x2" for k in range(300)) + "\n"
    instrs = parse_text(text).instructions
    for deterministic in (False, True):
        clock = Clock(deterministic=deterministic)
        opts = Options(time_limit=0.0, workers=1, deterministic=deterministic, rename=False)
        p = problem(0, instrs, n1, opts, 0.0, clock, frozenset(), frozenset(), None, DECOMPOSE_FROM)
        p.deadline = Deadline(clock, clock.now())  # the block's time is up before the stages start
        s = run(p, [st for st in STAGES if st.name in ("list", "reorder")])
        skipped = [n for n in s.notes if n.startswith("stage reorder skipped") and "CP-SAT model" in n]
        assert bool(skipped) == (not deterministic), s.notes


def test_a_short_wall_clock_solve_goes_without_the_lp(n1, monkeypatch):
    """CP-SAT builds its LP relaxation without looking at the time limit, so a short solve on the
    wall clock turns it off (a 1 s solve of 824 instructions took 2.4 s with it); a
    deterministic solve, or a long one, keeps the default."""
    from ortools.sat.python import cp_model

    from scheduler.core.clock import Clock, Deadline
    from scheduler.frontend.parse import parse_text
    from scheduler.machine.evaluate import inorder, prepare
    from scheduler.search import solve as solve_module

    seen = []
    real = cp_model.CpSolver.solve

    def spy(self, *a, **k):
        seen.append(self.parameters.linearization_level)
        return real(self, *a, **k)

    monkeypatch.setattr(cp_model.CpSolver, "solve", spy)
    bt = prepare(parse_text("\n".join(f"mul x{3 + k % 20}, x1, x2" for k in range(100)) + "\n").instructions, n1)
    first = inorder(bt, list(range(bt.n)), n1)
    for clock, seconds, lp in ((Clock(), 0.05, 0), (Clock(), 5.0, 1), (Clock(deterministic=True), 0.05, 1)):
        solve_module.solve(bt, n1, first.issue, first.cycles, Deadline.after(clock, seconds), workers=1)
        assert seen[-1] == lp, (clock.deterministic, seconds)


def test_a_block_never_gets_more_than_the_search_limit_on_the_wall_clock():
    """Each block gets at least half a second, except on the wall clock when the search's own
    limit is shorter (it was given 0.5 s of a 0.11 s search, and overran --time-limit)."""
    from scheduler.frontend.parse import parse_text
    from scheduler.search.optimize import Options, for_each_block

    prog = parse_text("add x0, x1, x2\nret\n")
    got: dict[bool, float] = {}
    for deterministic in (False, True):
        opts = Options(time_limit=0.1, workers=1, deterministic=deterministic)
        for_each_block(prog, opts, lambda i, instrs, bopts, share, *rest: got.setdefault(deterministic, share))
    assert got[False] <= 0.1 and got[True] == 0.5
