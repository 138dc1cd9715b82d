"""Every human-readable table fits 80 columns: nothing wider, no cell cut with `…`."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from rich.console import Console

from scheduler.checks.verify import straight_line
from scheduler.frontend.dag import build_dag, random_topological_order
from scheduler.frontend.parse import parse_file
from scheduler.present.compare import compare, print_diff, print_table
from scheduler.present.report import print_summary
from tests.support import ROOT


def _check(console: Console) -> str:
    text = console.export_text()
    assert text.strip()
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert not wide, wide[:3]
    assert "…" not in text
    return text


def _reordering(src: Path, dst: Path, seed: int) -> None:
    code = straight_line(parse_file(src))
    order = random_topological_order(build_dag(code), random.Random(seed))
    dst.write_text("".join(f"{code[k]}\n" for k in order))


def test_compare_tables_fit_80_columns(tmp_path):
    src = ROOT / "inputs" / "mul_4x4.s"
    paths = [tmp_path / "reference_kernel_with_a_long_name.s"]
    shutil.copy(src, paths[0])
    for n in range(3):
        p = tmp_path / f"a_fairly_long_schedule_name_number_{n}.s"
        _reordering(src, p, n)
        paths.append(p)
    doc = compare([str(p) for p in paths], ["neoverse-n1", "neoverse-v2"], mca=False, diff=True)
    console = Console(width=80, record=True)
    print_table(doc, console)
    print_diff(doc, console)
    text = _check(console)
    assert "relation" in text and "waiting" in text and "pipe" in text
    for i in range(1, 4):  # every file appears in some table (stacked when they do not fit)
        assert f"{chr(65 + i)}: " in text


def test_diff_of_a_renamed_reordering_fits(tmp_path):
    a, b = tmp_path / "original_kernel_name.s", tmp_path / "renamed_and_reordered_kernel.s"
    a.write_text("// @outputs x4, x7, v4, v16\nmovi v16.2d, #0x00000000ffffffff\nmul x8, x2, x3\nadd x4, x8, x8\n"
                 "mul x8, x5, x6\nadd x7, x8, x8\nadd v4.2d, v0.2d, v1.2d\n")
    b.write_text("mul x9, x5, x6\nmovi v16.2d, #0x00000000ffffffff\nmul x8, x2, x3\n"
                 "add x7, x9, x9\nadd x4, x8, x8\nadd v4.2d, v0.2d, v1.2d\n")
    doc = compare([str(a), str(b)], ["neoverse-n1"], mca=False, diff=True)
    assert doc["files"][1]["relation"] == "renamed reordering"
    console = Console(width=80, record=True)
    print_table(doc, console)
    print_diff(doc, console)
    text = _check(console)
    assert "reference[from]" in text  # the header is not taken for markup


def test_compare_table_of_a_multi_block_kernel_fits(tmp_path):
    p = tmp_path / "k.s"
    p.write_text("mul x1, x2, x3\nadd x4, x1, x5\nb 1f\n1:\nldr x6, [x0]\nmul x7, x6, x6\nstr x7, [x0, #8]\n")
    doc = compare([str(p), str(p)], ["neoverse-n1"], mca=False)
    console = Console(width=80, record=True)
    print_table(doc, console)
    _check(console)


def test_optimize_summary_fits_80_columns():
    def block(i):
        return {"index": i, "instructions": 12345, "cycles_before": 123456, "cycles_after": 120000,
                "lower_bound": 110000, "gap": 0.1234, "gain": 0.0279, "status": "FEASIBLE",
                "ooo_cycles_before": 12345.5, "ooo_cycles_after": 12000.25, "ooo_lower_bound": 10682.9,
                "solve_seconds": 1234.5, "seconds": 1300.1,
                "notes": ["a rather long note about what happened in this block " * 3]}

    doc = {"input": "inputs/some/rather/long/path/to/a_kernel_name.S", "model": "neoverse-n1",
           "blocks": [block(0), block(11)], "instructions": 24690, "cycles_before": 246912,
           "cycles_after": 240000, "lower_bound": 220000, "gap": 0.09, "status": "FALLBACK",
           "ooo_cycles_before": 24691.0, "ooo_cycles_after": 24000.5, "ooo_lower_bound": 22000.0,
           "solve_seconds": 2469.0, "seconds": 2600.2, "options": {"objective": "ooo"}, "in_order": False}
    console = Console(width=80, record=True)
    print_summary(doc, console)
    text = _check(console)
    for header in ("block", "instrs", "before", "after", "gain", "bound", "gap", "status", "OoO", "in-ord",
                   "total"):
        assert header in text
    assert "FALLBACK" in text and "12000.2" in text
