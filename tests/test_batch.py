"""`scheduler batch` on a local Ray with 2 CPUs (started once for the module)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from scheduler.cli import main  # noqa: E402
from scheduler.present import batch  # noqa: E402

KERNELS = {
    "k_a.s": "mul x3, x1, x2\nadd x4, x3, x1\nmul x5, x6, x7\nadd x8, x5, x6\nret\n",
    "k_b.s": "ldr x3, [x1]\nldr x4, [x1, #8]\nmul x5, x3, x4\nadd x6, x3, x4\nstr x5, [x0]\nstr x6, [x0, #8]\nret\n",
    "k_c.s": "add x3, x1, x2\nmul x4, x3, x3\neor x5, x1, x2\nmul x6, x5, x5\nadd x0, x4, x6\nret\n",
}


@pytest.fixture(scope="module")
def local_ray():
    started = batch._start_ray(None, 2)  # the code path `scheduler batch` takes without --address
    yield
    if started:
        ray.shutdown()


@pytest.fixture
def lib(tmp_path):
    d = tmp_path / "lib"
    d.mkdir()
    for name, text in KERNELS.items():
        (d / name).write_text(text)
    return d


def _run(tmp_path, *args, paths=None) -> int:
    return main(["batch", *(paths or [str(tmp_path / "lib")]), "--out", str(tmp_path / "out"),
                 "--store", str(tmp_path / "s.sqlite"), "--time-limit", "2", "--task-timeout", "60",
                 "--json", *args])


def _summary(capsys) -> dict:
    """The JSON summary on stdout (Ray's raylet may print a worker-death notice before it)."""
    out = capsys.readouterr().out
    return json.loads(out[out.index("{\n"):] if not out.startswith("{") else out)


def _rows(tmp_path, sql="SELECT * FROM runs ORDER BY id"):
    db = sqlite3.connect(tmp_path / "s.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(sql)]
    finally:
        db.close()


@pytest.mark.slow  # a local Ray (about 18 s to start) and whole batches
def test_batch_outputs_store_skip_force(local_ray, lib, tmp_path, capsys):
    assert _run(tmp_path) == 0
    summary = _summary(capsys)
    assert summary["ok"] == 3 and summary["tasks"] == 3 and summary["skipped"] == 0
    out = tmp_path / "out"
    for name in KERNELS:
        stem = Path(name).stem
        text = (out / f"{stem}.s").read_text()
        assert "verified and proved" in text
        rep = json.loads((out / f"{stem}.json").read_text())
        assert rep["proved"] and rep["verified"] and rep["options"]["prove"]
        assert rep["objective"] == "ooo" and rep["options"]["objective"] == "ooo"
        cert = json.loads((out / f"{stem}.cert.json").read_text())
        assert cert["blocks"] and cert["blocks"][0]["inst_map"]
    html = (out / "report.html").read_text()
    assert "plotly" in html.lower() and "k_a" in html and len(html) > 1_000_000  # plotly.js inline
    runs = _rows(tmp_path)
    assert [r["status"] for r in runs] == ["ok"] * 3
    r = runs[0]
    assert r["content_sha256"] and r["model_sha256"] and r["tool_version"] and r["host"]
    assert r["cycles_before"] >= r["cycles_after"] >= r["lower_bound"] > 0 and r["proof"]
    assert json.loads(r["options_json"])["time_limit"] == 2.0
    assert len(_rows(tmp_path, "SELECT * FROM best")) == 3

    # the checked-in CLI can read the certificate back
    assert main(["check-certificate", str(lib / "k_b.s"), str(out / "k_b.s"), str(out / "k_b.cert.json")]) == 0
    capsys.readouterr()

    # unchanged: skipped; the outputs are rewritten from the store
    (out / "k_a.s").unlink()
    assert _run(tmp_path) == 0
    summary = _summary(capsys)
    assert summary["tasks"] == 0 and summary["skipped"] == 3
    assert (out / "k_a.s").exists() and len(_rows(tmp_path)) == 3

    # a changed kernel runs again, the others are skipped
    (lib / "k_c.s").write_text(KERNELS["k_c.s"].replace("eor", "orr"))
    assert _run(tmp_path) == 0
    summary = _summary(capsys)
    assert summary["tasks"] == 1 and summary["skipped"] == 2
    assert "orr" in (out / "k_c.s").read_text()

    # --force redoes everything
    assert _run(tmp_path, "--force") == 0
    summary = _summary(capsys)
    assert summary["tasks"] == 3 and summary["ok"] == 3
    assert len(_rows(tmp_path)) == 7

    # history
    assert main(["batch", "--history", "k_c", "--store", str(tmp_path / "s.sqlite"), "--json"]) == 0
    hist = json.loads(capsys.readouterr().out)
    assert len(hist) == 3 and len({h["content_sha256"] for h in hist}) == 2 and sum(h["best"] for h in hist) == 1
    assert main(["batch", "--history", "k_c", "--store", str(tmp_path / "s.sqlite")]) == 0
    assert "history of" in capsys.readouterr().out


@pytest.mark.slow  # a local Ray (about 18 s to start) and whole batches
def test_crashed_task_is_retried(local_ray, lib, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(batch.INJECT_ENV, "crash:k_b")  # first attempt of k_b's task: os._exit in the worker
    assert _run(tmp_path, "--seeds", "2", paths=[str(lib / "k_a.s"), str(lib / "k_b.s")]) == 0
    summary = _summary(capsys)
    assert summary["ok"] == 4 and summary["retried"] == 2 and summary["failed"] == 0
    runs = _rows(tmp_path)
    failed = [r for r in runs if r["status"] == "failed"]
    assert len(failed) == 2 and all("worker died" in r["error"] and r["attempt"] == 0 for r in failed)
    assert all(r["kernel"].endswith("k_b.s") for r in failed)
    assert sorted((Path(r["kernel"]).name, r["seed"]) for r in runs if r["status"] == "ok") == [
        ("k_a.s", 0), ("k_a.s", 1), ("k_b.s", 0), ("k_b.s", 1)]
    assert (tmp_path / "out" / "k_b.s").exists()


@pytest.mark.slow  # a local Ray (about 18 s to start) and whole batches
def test_timeout_is_recorded_and_retried(local_ray, lib, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(batch.INJECT_ENV, "hang:k_a")
    rc = main(["batch", str(lib / "k_a.s"), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"),
               "--time-limit", "1", "--task-timeout", "8", "--json"])
    assert rc == 0
    summary = _summary(capsys)
    assert summary["ok"] == 1 and summary["retried"] == 1
    assert [(r["status"], r["attempt"]) for r in _rows(tmp_path)] == [("timeout", 0), ("ok", 1)]


@pytest.mark.slow  # a local Ray (about 18 s to start) and whole batches
def test_interrupt_keeps_finished_results(local_ray, lib, tmp_path, capsys, monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "after_result_hook", interrupt)
    assert _run(tmp_path, "--seeds", "2") == 130
    summary = _summary(capsys)
    assert summary["interrupted"] and summary["ok"] == 1
    runs = _rows(tmp_path)
    assert [r["status"] for r in runs] == ["ok"]
    db = sqlite3.connect(tmp_path / "s.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM best").fetchone()[0] == 1
    db.close()
    done = Path(runs[0]["kernel"]).stem
    assert (tmp_path / "out" / f"{done}.s").exists()

    # the next run does only what is missing
    monkeypatch.setattr(batch, "after_result_hook", None)
    assert _run(tmp_path, "--seeds", "2") == 0
    summary = _summary(capsys)
    assert summary["skipped"] == 1 and summary["tasks"] == 5 and summary["ok"] == 5
    assert len(_rows(tmp_path)) == 6


@pytest.mark.slow  # a local Ray (about 18 s to start) and whole batches
def test_failed_kernel_does_not_stop_the_others(local_ray, lib, tmp_path, capsys):
    (lib / "bad.s").write_text("frobnicate x1, x2\n")
    assert _run(tmp_path) == 1
    summary = _summary(capsys)
    assert summary["ok"] == 3 and summary["failed"] == 1 and summary["retried"] == 0
    bad = [r for r in _rows(tmp_path) if r["status"] == "failed"]
    assert len(bad) == 1 and bad[0]["kernel"].endswith("bad.s") and bad[0]["error"]


def test_find_kernels_and_names(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for p in ("a/x.s", "a/y.S", "b/x.s", "a/notes.txt"):
        (tmp_path / p).write_text("ret\n")
    ks = batch.find_kernels([str(tmp_path / "a"), str(tmp_path / "b" / "*.s"), str(tmp_path / "a" / "x.s")])
    assert [k.relative_to(tmp_path).as_posix() for k in ks] == ["a/x.s", "a/y.S", "b/x.s"]
    assert sorted(batch.out_names(ks).values()) == ["a__x", "b__x", "y"]
    with pytest.raises(batch.BatchError):
        batch.find_kernels([str(tmp_path / "nope")])


def test_outputs_never_overwrite_kernels(tmp_path, capsys):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "k.s").write_text("ret\n")
    # refused before Ray starts or anything runs
    assert main(["batch", str(lib), "--out", str(lib), "--store", str(tmp_path / "s.sqlite")]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (lib / "k.s").read_text() == "ret\n"
    assert main(["batch", "--store", str(tmp_path / "s.sqlite")]) == 2
