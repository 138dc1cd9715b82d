"""Every table fits COLUMNS (80 and 120): batch's table and --history, models list and show,
compare, and compare --text-timeline (with --cycles N capping the cycles shown). Nothing is
cut with rich's `…` and no file name is broken inside a word."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from rich.console import Console

from scheduler.cli import main
from scheduler.present import figures
from scheduler.present.batch import history_table
from scheduler.present.batch_report import print_table
from scheduler.present.tablefit import shorten
from tests.support import ROOT

WIDTHS = [80, 120]
LONG = "libraries/some_vendor/crypto/p256_montgomery_multiplication_with_neon_offload"


def _fits(text: str, width: int) -> str:
    assert text.strip()
    wide = [ln for ln in text.splitlines() if len(ln.rstrip()) > width]
    assert not wide, wide[:3]
    assert "…" not in text
    return text


def _headline(models: list[str]) -> dict:
    doc = {"model": models[0], "options": {"objective": "worst" if len(models) > 1 else "ooo"},
           "status": "FEASIBLE", "in_order": False, "cycles_before": 12345, "cycles_after": 12000,
           "lower_bound": 11000, "ooo_cycles_before": 10234.5, "ooo_cycles_after": 9876.25,
           "ooo_lower_bound": 9000.0, "ooo_single_before": 1, "ooo_single_after": 1,
           "mca": [{"model": m, "mcpu": m, "iterations": 100, "before": 12345.67, "after": 12001.5} for m in models]}
    if len(models) > 1:
        doc["models"] = [{"model": m, "figure": "out-of-order cycles/iteration",
                          "before": {"inorder": 1, "ooo": 10234.5, "single": 1},
                          "after": {"inorder": 1, "ooo": 9876.25, "single": 1}, "bound": 9000.0} for m in models]
    return figures.attach(doc).to_json()


@pytest.mark.parametrize("width", WIDTHS)
def test_batch_table_fits(width):
    rows = [{"name": f"{LONG}_{k}", "objective": "ooo", "status": "ok", "seconds": 1234.5,
             "headline": _headline(["neoverse-n1"] if k else ["neoverse-n1", "neoverse-v2", "cortex-a55"])}
            for k in range(3)]
    rows.append({"name": "failed_kernel", "objective": "ooo", "status": "no result"})
    console = Console(width=width, record=True)
    print_table(rows, console)
    text = _fits(console.export_text(), width)
    assert "neoverse-v2" in text and "no result" in text and "FEASIBLE" in text
    full = [r["name"].rsplit("/", 1)[-1] for r in rows]
    for line in text.splitlines():  # shortened with "...", never broken across lines
        for name in re.findall(r"\S*montgomery\S*", line):
            head, _, tail = name.partition("...")
            assert any(f.startswith(head) and f.endswith(tail.removeprefix("/")) for f in full), name


@pytest.mark.parametrize("width", WIDTHS)
def test_history_fits(width):
    runs = [{"id": 1000 + k, "finished": time.time(), "content_sha256": "ab" * 32,
             "model": "neoverse-n1,neoverse-v2,cortex-a55", "seed": k, "objective": "ooo", "attempt": 0,
             "status": "ok", "cycles_before": 123456, "cycles_after": 120000, "ooo_before": 10234.5,
             "ooo_after": 9876.25, "gap": 0.0973, "mca_after": 612345, "proof": "certificate and symbolic",
             "wall_seconds": 1234.567, "best": k == 0} for k in range(3)]
    console = Console(width=width, record=True)
    console.print(history_table([f"/home/someone/{LONG}.s"], runs, console))
    text = _fits(console.export_text(), width)
    assert "9876.25" in text and "3.5%" in text  # the objective's (OoO) figure and its gain


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("argv", [["models", "list"], ["models", "show", "neoverse-n1"],
                                  ["models", "show", "cortex-a55"]])
def test_models_fit(width, argv, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(argv) == 0
    text = _fits(capsys.readouterr().out, width)
    assert "neoverse" in text or "cortex" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_fits_and_keeps_file_names_whole(width, tmp_path, capsys, monkeypatch):
    d = tmp_path / "a_directory_with_a_long_name" / "and_another_one"
    d.mkdir(parents=True)
    a, b = d / "reference_kernel_with_a_long_name.s", d / "optimized_schedule_with_a_long_name.s"
    shutil.copy(ROOT / "inputs" / "sqr_4x4.s", a)
    shutil.copy(ROOT / "outputs" / "sqr_4x4.s", b)
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["compare", str(a), str(b), "--model", "neoverse-n1,cortex-a55"]) == 0
    text = _fits(capsys.readouterr().out, width)
    for name in (a.name, b.name):  # whole in a header or in the legend below the table
        assert name in text.replace("\n", " ") and any(name in ln for ln in text.splitlines())
    if "llvm-mca" in text:  # every llvm-mca row names its -mcpu
        rows = [ln for ln in text.splitlines() if "llvm-mca " in ln and "│" in ln]
        assert rows and all("-mcpu=" in ln for ln in rows)


@pytest.mark.parametrize("width", WIDTHS)
def test_text_timeline_fits_and_cycles_caps_it(width, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(width))
    kernel = str(ROOT / "inputs" / "mul_4x4.s")
    assert main(["compare", kernel, "--no-mca", "--text-timeline"]) == 0
    text = _fits(capsys.readouterr().out, width)
    assert "cycles in order (cycles 0-" in text  # over 100 cycles: cut to fit
    assert main(["compare", kernel, "--no-mca", "--text-timeline", "--cycles", "20"]) == 0
    text = _fits(capsys.readouterr().out, width)
    assert re.search(r"\(cycles 0-19 of \d{3} shown\)", text), text
    scale = [ln for ln in text.splitlines() if re.fullmatch(r"\s*0123456789\S*", ln)]
    assert scale and all(len(ln.strip()) == 20 for ln in scale)
    assert "[0]" in text and "ldp x3, x4, [x1]" in text


def test_cycles_must_be_positive(capsys):
    try:
        code = main(["compare", str(ROOT / "inputs" / "mul_4x4.s"), "--text-timeline", "--cycles", "0"])
    except SystemExit as e:  # (argparse's own exit)
        code = e.code
    assert code == 2 and "positive number of cycles" in capsys.readouterr().err


def test_shorten_keeps_the_end_of_a_path():
    assert shorten("a/b/c/kernel.s", 20) == "a/b/c/kernel.s"
    assert shorten("aaaa/bbbb/cccc/kernel.s", 17) == ".../cccc/kernel.s"
    assert shorten("aaaa/bbbb/cccc/kernel.s", 16) == ".../kernel.s"
    assert shorten("x" * 30, 11) == "xxxx...xxxx"


def test_text_timeline_title_keeps_its_figures_for_a_long_path(tmp_path, capsys, monkeypatch):
    """A fresh clone in a deep temporary directory cut "(cycles 0-19 of 132 shown)" at 80 columns:
    the file name gives way, the figures stay."""
    monkeypatch.setenv("COLUMNS", "80")
    deep = tmp_path / "a" / "rather" / "long" / "checkout" / "directory" / "inputs"
    deep.mkdir(parents=True)
    kernel = deep / "mul_4x4.s"
    kernel.write_text((ROOT / "inputs" / "mul_4x4.s").read_text())
    assert main(["compare", str(kernel), "--no-mca", "--text-timeline", "--cycles", "20"]) == 0
    text = _fits(capsys.readouterr().out, 80)
    title = next(ln for ln in text.splitlines() if "cycles in order" in ln)
    assert re.search(r"mul_4x4\.s: \d+ cycles in order \(cycles 0-19 of \d+ shown\)$", title), title
