"""The headline of a run and the one definition of status, gap and gain (present/figures.py,
docs/figures.md): optimize's screen, the emitted header, the JSON report, batch's table and
compare all read the objective's figure the same way; llvm-mca's opinion sits beside it, with a
warning when the two disagree on the direction; an in-order core shows no out-of-order figure."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

import scheduler.machine.mca as mca
from scheduler.cli import main
from scheduler.present import figures
from scheduler.present.batch_report import print_table
from scheduler.present.compare import compare
from tests.support import ROOT

KERNEL = ROOT / "inputs" / "sqr_4x4.s"  # 48 instructions: the in-order and OoO figures both move


def _optimize(tmp_path, capsys, *extra):
    out = tmp_path / "k.s"
    code = main(["optimize", str(KERNEL), "-o", str(out), "--time-limit", "2", "--workers", "1",
                 "--deterministic", "--quiet", *extra])
    text = capsys.readouterr().out
    assert code == 0
    return text, out.read_text(), json.loads((tmp_path / "k.json").read_text())


def test_definitions():
    assert figures.gain(80, 60) == pytest.approx(0.25) and figures.gain(0, 0) == 0.0
    assert figures.gap(55, 50) == pytest.approx(0.1) and figures.gap(55, None) is None
    # OPTIMAL only at the bound: a claim beside a positive gap is shown as FEASIBLE
    assert figures.status("OPTIMAL", 0.0) == "OPTIMAL"
    assert figures.status("OPTIMAL", 0.169) == "FEASIBLE"
    assert figures.status("OPTIMAL", None) == "FEASIBLE"  # no bound known (a single run)
    assert figures.status("FALLBACK", 0.0) == "FALLBACK"
    assert figures.change(59.5, 56.5) == "-5.0%" and figures.change(80, 80) == "+0.0%"


def _doc(objective="ooo", before=59.5, after=56.5, bound=55.0, mca_fig=None, status="FEASIBLE"):
    return {"model": "neoverse-n1", "options": {"objective": objective}, "status": status, "in_order": False,
            "cycles_before": 100, "cycles_after": 90, "lower_bound": 88,
            "ooo_cycles_before": before, "ooo_cycles_after": after, "ooo_lower_bound": bound,
            "ooo_single_before": 70, "ooo_single_after": 69,
            "mca": [] if mca_fig is None else [{"model": "neoverse-n1", "mcpu": "neoverse-n1", "iterations": 100,
                                                 "before": mca_fig[0], "after": mca_fig[1]}]}


def test_the_objectives_own_figure_and_bound():
    h = figures.headline(_doc())
    (line,) = h.lines
    assert (line.figure, line.before, line.after, line.bound) == ("OoO cycles/iteration", 59.5, 56.5, 55.0)
    assert h.gain == pytest.approx(3 / 59.5) and h.gap == pytest.approx(1.5 / 55)
    # under inorder the same report is judged by its in-order cycles against the in-order bound
    h = figures.headline(_doc(objective="inorder"))
    assert (h.lines[0].before, h.lines[0].after, h.lines[0].bound) == (100, 90, 88)
    # no bound is known for a single cold run: no gap, never OPTIMAL
    h = figures.headline(_doc(objective="single", status="OPTIMAL"))
    assert h.gap is None and h.status == "FEASIBLE"
    # an OPTIMAL claim with the objective's figure above its bound is not shown as OPTIMAL
    assert figures.headline(_doc(status="OPTIMAL")).status == "FEASIBLE"
    assert figures.headline(_doc(after=55.0, status="OPTIMAL")).status == "OPTIMAL"


def test_disagreement_warning_from_a_fake_mca_figure():
    # the p256_montmul_neon case: our figure 59.5 -> 56.5, llvm-mca 61.13 -> 61.19
    h = figures.headline(_doc(mca_fig=(61.13, 61.19)))
    assert h.lines[0].disagree
    text = "\n".join(h.text())
    assert "llvm-mca -mcpu=neoverse-n1 cycles/iteration 61.13 -> 61.19 (+0.1%)" in text
    assert "warning: neoverse-n1: our model and llvm-mca disagree" in text and "slower" in text
    # both faster: no warning; faster against unchanged is no contradiction either
    assert not figures.headline(_doc(mca_fig=(61.13, 60.0))).lines[0].disagree
    assert not figures.headline(_doc(mca_fig=(61.13, 61.13))).lines[0].disagree
    # unchanged against slower is
    assert figures.headline(_doc(after=59.5, mca_fig=(61.0, 62.0))).lines[0].disagree


@pytest.fixture
def fake_mca(monkeypatch):
    """An llvm-mca that always finds the reordered kernel slower than the first one it saw."""
    seen: list = []

    def run(lines, iterations=100, mcpu="neoverse-n1"):
        if not seen:
            seen.append(list(lines))
        slower = list(lines) != seen[0]
        return mca.McaResult(iterations, (70 + 5 * slower) * iterations, 50.0)

    monkeypatch.setattr(mca, "find_llvm_mca", lambda: "/fake/llvm-mca-19")
    monkeypatch.setattr(mca, "run_mca", run)


def test_optimize_headline_header_and_json_agree(tmp_path, capsys, fake_mca):
    screen, kernel, doc = _optimize(tmp_path, capsys)
    h = doc["headline"]
    (line,) = h["lines"]
    assert line["figure"] == "OoO cycles/iteration" and doc["options"]["objective"] == "ooo"
    assert (line["before"], line["after"]) == (doc["ooo_cycles_before"], doc["ooo_cycles_after"])
    assert doc["gain"] == h["gain"] == pytest.approx(figures.gain(line["before"], line["after"]), abs=1e-4)
    assert doc["gap"] == h["gap"] == pytest.approx(figures.gap(line["after"], doc["ooo_lower_bound"]), abs=1e-4)
    assert doc["status"] == h["status"]
    # the fake llvm-mca says the output is slower, ours that it is no slower: a warning, on screen
    assert line["mca"] == {"mcpu": "neoverse-n1", "iterations": 100, "before": 70.0, "after": 75.0,
                           "gain": pytest.approx(-5 / 70, abs=1e-4)}
    assert line["disagree"] is True
    assert f"{h['status']} under --objective ooo" in screen
    assert "llvm-mca -mcpu=neoverse-n1 cycles/iteration 70 -> 75 (+7.1%)" in screen
    assert "warning: neoverse-n1: our model and llvm-mca disagree" in screen
    # the figures that are not the objective are on screen too, below it
    assert (f"also (not the objective): in-order cycles {doc['cycles_before']} -> {doc['cycles_after']} "
            in screen.replace("\n", " "))
    assert "also (not the objective): OoO single run cycles" in screen
    # the header quotes the same line
    head = kernel.splitlines()[:4]
    text = figures.Line("neoverse-n1", line["figure"], line["before"], line["after"], line["bound"]).text(False)
    assert head[0].startswith("// Scheduled by") and f"({doc['status']}, " in head[0]
    assert head[1] == f"// Objective ooo: {text}."
    assert head[2] == "// llvm-mca -mcpu=neoverse-n1 cycles/iteration 70 -> 75 (+7.1%)."


def test_in_order_core_hides_out_of_order_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mca, "find_llvm_mca", lambda: None)
    screen, kernel, doc = _optimize(tmp_path, capsys, "--model", "cortex-a55")
    assert doc["in_order"] and doc["options"]["objective"] == "inorder"
    assert doc["headline"]["lines"][0]["figure"] == "in-order cycles"
    assert doc["gap"] == pytest.approx(figures.gap(doc["cycles_after"], doc["lower_bound"]), abs=1e-4)
    header = [ln for ln in kernel.splitlines() if ln.startswith("// ")][:3]
    for text in (screen, "\n".join(header)):
        assert "OoO" not in text and "out-of-order" not in text
    assert "in-order cycles" in screen and "// Objective inorder: in-order cycles" in header[1]


def test_batch_table_and_html_use_the_same_figures(tmp_path):
    from scheduler.present.batch_report import write_html

    doc = _doc(mca_fig=(61.13, 61.19))
    figures.attach(doc)
    row = {"name": "p256_montmul_neon", "objective": "ooo", "status": "ok", "seconds": 12.0,
           "headline": doc["headline"]}
    console = Console(width=120, record=True)
    print_table([row], console)
    text = console.export_text()
    assert "59.5" in text and "56.5" in text and f"{doc['gain']:.1%}" in text and f"{doc['gap']:.1%}" in text
    assert "61.13>61.19!" in text  # llvm-mca's before>after, marked where it disagrees
    write_html(tmp_path / "r.html", [row])
    page = (tmp_path / "r.html").read_text()
    assert f"<td>{doc['gain']:.1%}</td>" in page and "(disagrees)" in page and "docs/figures.md" in page


def test_compare_gaps_use_the_definition(tmp_path):
    doc = compare([str(KERNEL)], ["neoverse-n1", "cortex-a55"], mca=False)
    n1 = doc["files"][0]["blocks"][0]["models"]["neoverse-n1"]
    assert n1["gap"] == pytest.approx(figures.gap(n1["inorder_cycles"], n1["lower_bound"]), abs=1e-4)
    assert n1["ooo_gap"] == pytest.approx(figures.gap(n1["ooo_cycles"], n1["ooo_lower_bound"]), abs=1e-4)
    from scheduler.present.compare import print_table as print_compare

    console = Console(width=120, record=True)
    print_compare(doc, console)
    text = console.export_text()
    assert "[neoverse-n1] OoO gap" in text and "[cortex-a55] OoO" not in text


def test_several_models_name_their_model_and_mcpu(tmp_path, capsys, fake_mca):
    out = tmp_path / "k.s"
    assert main(["optimize", str(KERNEL), "-o", str(out), "--model", "neoverse-n1,cortex-a55", "--time-limit", "3",
                 "--workers", "1", "--quiet"]) == 0
    screen = capsys.readouterr().out
    doc = json.loads((tmp_path / "k.json").read_text())
    assert [(m["model"], m["mcpu"], m["iterations"]) for m in doc["mca"]] == [
        ("neoverse-n1", "neoverse-n1", 100), ("cortex-a55", "cortex-a55", 1)]
    for m in ("neoverse-n1", "cortex-a55"):
        assert f"  {m}: llvm-mca -mcpu={m} " in screen
        assert f"// Objective worst: {m}: " in out.read_text()
