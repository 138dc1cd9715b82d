"""Contracts that must reflect what ran: a block's `verified` and `proved` say which checks were made."""

from __future__ import annotations

from scheduler.frontend.parse import parse_text
from scheduler.search.optimize import Options, optimize_block

KERNEL = "mul x3, x1, x2\nadd x4, x1, x2\numulh x5, x1, x2\nadd x0, x3, x4\nadd x0, x0, x5\nret\n"


def _block(n1, **kw):
    instrs = parse_text(KERNEL).blocks()[0].instructions
    opts = Options(time_limit=0.5, deterministic=True, workers=1, **kw)
    return optimize_block(0, instrs, n1, opts, 0.5, live_out=frozenset({"x0"}))


def test_verified_and_proved_follow_the_checks_that_ran(n1):
    res = _block(n1)
    assert res.verified and res.proved and res.proof.startswith("certificate")
    res = _block(n1, verify_trials=0)  # no random trials: not "verified", still proved by the certificate
    assert not res.verified and res.proved


def test_the_header_says_which_checks_ran(n1):
    from scheduler.machine.model import load_model
    from scheduler.present.report import header_lines, report_json

    model = load_model("neoverse-n1")
    for kw, said in (({}, "verified and proved"), ({"verify_trials": 0}, "proved")):
        res = _block(n1, **kw)
        opts = Options(time_limit=0.5, deterministic=True, workers=1, **kw)
        doc = report_json("k.s", "out.s", model, opts, [res])
        first = header_lines(model, doc)[0]
        assert first.endswith(f", {said}).") or f", {said})" in first, first


def _stages_cover_the_block(res) -> None:
    names = [st["name"] for st in res.stages]
    total = sum(st["seconds"] for st in res.stages)
    # each record is rounded to the millisecond: allow that beside the 5%
    assert abs(total - res.seconds) <= 0.05 * res.seconds + 0.001 * len(names) + 0.01, (total, res.seconds, names)


def test_the_stage_table_adds_up_to_the_block_seconds(n1):
    """Setup, the search stages, acceptance and the checks each leave a record (issue 29)."""
    res = _block(n1)
    names = [st["name"] for st in res.stages]
    assert names[0] == "setup" and names[-2:] == ["accept", "checks"], names
    _stages_cover_the_block(res)


def test_the_stage_table_adds_up_with_several_models(n1):
    from scheduler.machine.model import load_model
    from scheduler.search.multimodel import optimize_block_multi

    instrs = parse_text(KERNEL).blocks()[0].instructions
    models = [n1, load_model("cortex-a55")]
    opts = Options(time_limit=1.0, deterministic=True, workers=1, objective="worst")
    res = optimize_block_multi(0, instrs, models, opts, 1.0, live_out=frozenset({"x0"}))
    joint = [st["name"] for st in res.stages if st.get("model") == "joint"]
    assert joint == ["pool", "joint-search", "checks", "figures"], joint
    assert {st.get("model") for st in res.stages} == {"neoverse-n1", "cortex-a55", "joint"}
    _stages_cover_the_block(res)


def test_a_stage_after_the_judge_cannot_run_before_it(n1):
    """The state is split at the judge: a stage that refines its pick, listed before it, is refused."""
    import pytest

    from scheduler.core.clock import Clock
    from scheduler.search.pipeline import problem, run
    from scheduler.search.stages import DECOMPOSE_FROM, STAGES

    instrs = parse_text(KERNEL).blocks()[0].instructions
    opts = Options(time_limit=0.5, deterministic=True, workers=1)
    p = problem(0, instrs, n1, opts, 0.5, Clock(True), frozenset({"x0"}), frozenset(), None, DECOMPOSE_FROM)
    by_name = {st.name: st for st in STAGES}
    with pytest.raises(RuntimeError, match="judge"):
        run(p, [by_name["list"], by_name["local-search"], by_name["judge"]])
    s = run(p, [by_name["list"], by_name["judge"], by_name["local-search"]])
    assert s.picked.final is not None
