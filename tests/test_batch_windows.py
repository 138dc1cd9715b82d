"""Window solves as jobs of an executor (scheduler/search/parallel.py): the serial default keeps
today's sweeps, other executors (jobs in reverse order through pickle, threads, a failing job)
give verified results, and `scheduler batch` runs a large block's window solves as Ray tasks."""

from __future__ import annotations

import concurrent.futures
import json
import pickle

import pytest

from scheduler.checks.verify import verify
from scheduler.cli import main
from scheduler.core.clock import Clock, Deadline
from scheduler.frontend.dag import is_valid_order
from scheduler.frontend.outputs import choose_outputs
from scheduler.frontend.parse import parse_file
from scheduler.machine.evaluate import inorder, prepare
from scheduler.present import batch
from scheduler.search import parallel
from scheduler.search.decompose import decompose, disjoint_windows
from scheduler.search.listsched import list_schedule
from scheduler.search.optimize import Options, live_out_of
from scheduler.search.window import improve_by_windows, pack, unpack
from tests.support import N1, ROOT

SIZE = 40  # windows of 40 over a block of 168: four disjoint windows a sweep


@pytest.fixture(scope="module")
def mid():
    """A mid-size block (168 instructions), its live-out registers and deterministic options."""
    path = ROOT / "inputs" / "mul_6x6_stack.s"
    prog = parse_file(path)
    block = prog.blocks()[0]
    chosen = choose_outputs(prog, None, str(path))
    live = live_out_of(prog, block, frozenset(chosen.registers or ()), chosen.every)
    opts = Options(workers=1, deterministic=True, noalias=prog.noalias)
    return block.instructions, live, opts


class Reverse(parallel.Executor):
    """Runs the jobs last to first, each job and result through pickle (as to another process);
    `fail(job)`: the jobs that raise instead."""

    serial = False

    def __init__(self, min_instructions: int = 0, fail=None):
        self.slots = 2
        self.min_instructions = min_instructions
        self.fail = fail
        self.jobs = self.failed = 0

    def map(self, fn, jobs, timeout=None):
        out = {}
        for i in reversed(range(len(jobs))):
            job = pickle.loads(pickle.dumps(jobs[i]))
            res = parallel.call(_boom if self.fail and self.fail(job) else fn, job)
            out[i] = pickle.loads(pickle.dumps(res))
        self.jobs += len(jobs)
        self.failed += sum(isinstance(o, parallel.JobFailed) for o in out.values())
        return [out[i] for i in range(len(jobs))]


def _boom(job):
    raise RuntimeError("window job failed (test)")


def _windows(mid, deadline: float = 3.0):
    instrs, live, opts = mid
    return improve_by_windows(instrs, list(range(len(instrs))), N1, opts, live,
                              deadline=Deadline(Clock(True), deadline), size=SIZE, step=SIZE // 2)


def _cycles(instrs) -> int:
    bt = prepare(instrs, N1)
    return inorder(bt, list(range(bt.n)), N1).cycles


def _verified(mid, new) -> bool:
    instrs, live, opts = mid
    return verify(instrs, new, trials=30, outputs=sorted(live | {"sp"}), noalias=opts.noalias).equivalent


@pytest.mark.slow  # window sweeps over a large block (5-90 s)
def test_serial_executor_keeps_the_sequential_sweeps(mid):
    """(a) No executor, the serial one, or one whose threshold the block is under: the same
    sequential sweeps, byte for byte (deterministic clock)."""
    plain = _windows(mid)
    with parallel.using_executor(parallel.SerialExecutor()):
        serial = _windows(mid)
    small = Reverse(min_instructions=10_000)
    with parallel.using_executor(small):
        under = _windows(mid)
    assert small.jobs == 0
    for other in (serial, under):
        assert [str(i) for i in other[0]] == [str(i) for i in plain[0]]
        assert other[1:] == plain[1:]
    assert plain[2] > 0 and _cycles(plain[0]) < _cycles(mid[0]) and _verified(mid, plain[0])
    # decompose (reordering windows) too
    instrs = mid[0]
    bt = prepare(instrs, N1)
    ls = list_schedule(bt, N1)
    a = decompose(bt, N1, ls, deadline=Deadline(Clock(True), 2.0), workers=1, size=SIZE)
    with parallel.using_executor(parallel.SerialExecutor()):
        b = decompose(bt, N1, ls, deadline=Deadline(Clock(True), 2.0), workers=1, size=SIZE)
    assert (a.order, a.cycles, a.passes, a.windows) == (b.order, b.cycles, b.passes, b.windows)


def test_pack_round_trip(mid):
    instrs = mid[0]
    back = unpack(pickle.loads(pickle.dumps(pack(instrs))))
    assert [str(i) for i in back] == [str(i) for i in instrs]
    assert all(x.form is y.form and x.loc == y.loc for x, y in zip(back, instrs, strict=True))
    assert disjoint_windows(168, 40, 0) == [(0, 40), (40, 80), (80, 120), (120, 168)]
    assert disjoint_windows(168, 40, 20) == [(0, 20), (20, 60), (60, 100), (100, 140), (140, 168)]
    assert disjoint_windows(100, 40, 5) == [(0, 45), (45, 85), (85, 100)]


@pytest.mark.slow  # window sweeps over a large block (5-90 s)
@pytest.mark.parametrize("kind", ["reverse", "threads"])
def test_parallel_sweeps_are_verified(mid, kind):
    """(b) Disjoint windows solved as independent jobs (in reverse order through pickle, or on
    two threads), merged in position order: a faster block that computes the same."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        ex = Reverse() if kind == "reverse" else parallel.PoolExecutor(pool, 2)
        with parallel.using_executor(ex):
            new, origin, accepted = _windows(mid)
    assert accepted > 0 and sorted(origin) == list(range(len(mid[0])))
    assert _cycles(new) < _cycles(mid[0]) and _verified(mid, new)
    if kind == "reverse":
        assert ex.jobs >= 4 and ex.failed == 0


@pytest.mark.slow  # window sweeps over a large block (5-90 s)
def test_failed_job_leaves_its_window_unchanged(mid):
    """(b) Every job of a window starting at the block's first instruction raises: those windows
    stay as they are (the first half window is never touched), the others still improve."""
    instrs = mid[0]
    ex = Reverse(fail=lambda job: job.start == 0)
    with parallel.using_executor(ex):
        new, origin, accepted = _windows(mid)
    assert ex.failed >= 2 and accepted > 0  # one failure per sweep; at least two sweeps
    assert all(new[k] is instrs[k] for k in range(SIZE // 2)) and origin[:SIZE // 2] == list(range(SIZE // 2))
    assert _cycles(new) < _cycles(instrs) and _verified(mid, new)
    # reordering windows (decompose) alike
    bt = prepare(instrs, N1)
    ls = list_schedule(bt, N1)
    ex = Reverse(fail=lambda job: job.start == 0)
    with parallel.using_executor(ex):
        res = decompose(bt, N1, ls, deadline=Deadline(Clock(True), 2.0), workers=1, size=SIZE)
    assert ex.failed >= 1 and res.order[:SIZE // 2] == ls[:SIZE // 2]
    assert is_valid_order(bt.dag, res.order) and res.cycles == inorder(bt, res.order, N1).cycles
    assert res.cycles <= inorder(bt, ls, N1).cycles
    assert verify(instrs, [instrs[k] for k in res.order], trials=10).equivalent


# ------------------------------------------------------------------ end to end on Ray


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    started = batch._start_ray(None, 2)  # as `scheduler batch` without --address, 2 CPUs
    yield ray
    if started:
        ray.shutdown()


@pytest.mark.slow  # window sweeps over a large block (5-90 s)
def test_batch_runs_window_solves_as_ray_tasks(local_ray, tmp_path, capsys, monkeypatch):
    """(c) A 304-instruction kernel: its renaming windows run as Ray tasks; the first one's worker
    dies (test hook), which leaves that window unchanged and does not fail the kernel."""
    kernel = ROOT / "inputs" / "mix64_x2_reuse.s"
    out = tmp_path / "out"
    monkeypatch.setenv(batch.INJECT_ENV, "window-crash:mix64_x2_reuse")
    rc = main(["batch", str(kernel), "--out", str(out), "--store", str(tmp_path / "s.sqlite"),
               "--time-limit", "12", "--task-timeout", "120", "--json"])
    text = capsys.readouterr().out
    assert rc == 0, text
    summary = json.loads(text[text.index("{\n"):])
    row = summary["results"][0]
    assert summary["ok"] == 1 and summary["failed"] == 0 and row["window_tasks"] >= 3
    rep = json.loads((out / "mix64_x2_reuse.json").read_text())
    assert rep["verified"] and rep["proved"] and rep["cycles_after"] < rep["cycles_before"]
    assert rep["window_tasks"] == {"jobs": row["window_tasks"], "failed": 1}
    assert any("left unchanged" in n for n in rep["notes"])
    assert json.loads(_runs(tmp_path)[0]["options_json"])["window_tasks"] is True
    assert main(["verify", str(kernel), str(out / "mix64_x2_reuse.s")]) == 0
    capsys.readouterr()
    # --no-window-tasks: the task keeps the serial passes
    assert batch._window_executor({"window_tasks": False}, 250) is None


def _runs(tmp_path):
    import sqlite3

    db = sqlite3.connect(tmp_path / "s.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM runs")]
    finally:
        db.close()
