"""`scheduler compare` and timelines: numbers, kernel relations, stall causes, files, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scheduler.cli import main
from scheduler.frontend.parse import parse_file, parse_text
from scheduler.machine.evaluate import inorder, prepare
from scheduler.machine.mca import find_llvm_mca
from scheduler.machine.model import load_model
from scheduler.machine.stalls import attribute_stalls
from scheduler.present.compare import displacement, relate
from scheduler.present.timeline import build_view, text_timeline
from tests.support import ROOT

SQR = str(ROOT / "inputs" / "sqr_4x4.s")
MUL = str(ROOT / "inputs" / "mul_4x4.s")

# (x5:x4) = x0*x2, (x7:x6) = x1*x3, x5 += x6, x7 += carry
PRODUCTS = ["mul x4, x0, x2", "umulh x5, x0, x2", "mul x6, x1, x3", "umulh x7, x1, x3",
            "adds x5, x5, x6", "adcs x7, x7, xzr"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, lines) -> str:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return str(p)


def block(src: str):
    return parse_text(src).blocks()[0].instructions


@pytest.fixture(scope="module")
def optimized(tmp_path_factory):
    """sqr_4x4 optimised once (short budget) with a before/after timeline."""
    d = tmp_path_factory.mktemp("opt")
    out = d / "sqr.s"
    svg = d / "opt.svg"
    code = main(["optimize", SQR, "-o", str(out), "--time-limit", "3", "--workers", "1", "--json",
                 "--timeline", str(svg)])
    assert code == 0
    return out, json.loads(out.with_suffix(".json").read_text()), svg


# ------------------------------------------------------------------ agreement with optimize


def test_numbers_equal_the_optimizer_report(optimized, capsys):
    out, report, _ = optimized
    code, text, _ = run(capsys, "compare", SQR, out, "--json", "--no-mca")
    assert code == 0
    doc = json.loads(text)
    model = report["model"]
    assert doc["models"] == [model] and doc["reference"] == SQR
    a, b = doc["files"]
    for rb, ab, bb in zip(report["blocks"], a["blocks"], b["blocks"], strict=True):
        before, after = ab["models"][model], bb["models"][model]
        assert before["inorder_cycles"] == rb["cycles_before"]
        assert after["inorder_cycles"] == rb["cycles_after"]
        assert before["ooo_cycles"] == rb["ooo_cycles_before"]
        assert after["ooo_cycles"] == rb["ooo_cycles_after"]
        assert before["ooo_single"] == rb["ooo_single_before"]
        assert after["ooo_single"] == rb["ooo_single_after"]
        assert after["lower_bound"] <= rb["lower_bound"] <= after["inorder_cycles"]
        expected = ("renamed reordering" if rb["renamed"] else
                    "identical" if rb["order"] == sorted(rb["order"]) else "reordering")
        assert bb["relation"] == expected
        if expected != "renamed reordering":
            assert bb["origin"] == rb["order"]
    assert a["totals"][model]["inorder_cycles"] == report["cycles_before"]
    assert b["totals"][model]["inorder_cycles"] == report["cycles_after"]
    assert b["totals"][model]["ooo_cycles"] == report["ooo_cycles_after"]


def test_table_shows_both_files(optimized, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that no instruction wraps
    out, report, _ = optimized
    code, text, _ = run(capsys, "compare", SQR, out, "--no-mca", "--diff")
    assert code == 0
    assert "in-order cycles" in text and "waiting: operand" in text and "pipe M busy" in text
    assert str(report["cycles_after"]) in text and ("reordering" in text or "identical" in text)
    assert "[x0, #16]" in text  # rich markup must not swallow addressing modes


def test_json_schema(capsys, tmp_path):
    a = write(tmp_path, "a.s", PRODUCTS)
    b = write(tmp_path, "b.s", [PRODUCTS[k] for k in (2, 3, 1, 0, 4, 5)])
    code, text, _ = run(capsys, "compare", a, b, "--json", "--no-mca", "--diff")
    assert code == 0
    doc = json.loads(text)
    assert set(doc) >= {"tool", "reference", "models", "llvm_mca", "mca_iterations", "files", "notes"}
    for f in doc["files"]:
        assert set(f) >= {"path", "relation", "instructions", "blocks", "totals", "llvm_mca"}
        for b_ in f["blocks"]:
            assert set(b_) >= {"index", "instructions", "relation", "models", "llvm_mca"}
            m = b_["models"]["neoverse-n1"]
            assert set(m) >= {"inorder_cycles", "ooo_cycles", "ooo_single", "lower_bound", "bound_reason", "gap",
                              "critical_path", "critical_instructions", "pipes", "stalls", "issue"}
            assert set(m["stalls"]) >= {"total", "operand", "pipe", "issue_width", "other", "pipe_types"}
            assert set(m["pipes"]) == set(load_model().pipes)
            assert all(set(p) == {"count", "busy", "utilization"} for p in m["pipes"].values())
    diff = doc["files"][1]["blocks"][0]["diff"]
    assert [r["from"] for r in diff] == [2, 3, 1, 0, 4, 5]
    assert diff[0] == {"position": 0, "reference": PRODUCTS[0], "instruction": PRODUCTS[2], "from": 2,
                       "original": PRODUCTS[2], "moved": -2}


# ------------------------------------------------------------------ same kernel?


def test_relations(tmp_path, capsys):
    renamed = [s.replace("x6", "x9") for s in PRODUCTS]
    files = {
        "ref.s": PRODUCTS,
        "same.s": PRODUCTS,
        "reorder.s": [PRODUCTS[k] for k in (2, 3, 1, 0, 4, 5)],
        "renamed.s": [renamed[k] for k in (2, 0, 1, 3, 4, 5)],
        "other.s": PRODUCTS[:-1] + ["adc x7, x7, xzr"],
        "dataflow.s": PRODUCTS[:4] + ["adds x5, x6, x5", "adcs x7, x7, xzr"],
    }
    # x7 (the carry chain's end) is the output: x6 may be renamed (compare follows the outputs rule)
    paths = [write(tmp_path, n, ["// @outputs x5, x7", *lines]) for n, lines in files.items()]
    code, text, _ = run(capsys, "compare", *paths, "--json", "--no-mca")
    assert code == 0
    doc = json.loads(text)
    rel = [f["relation"] for f in doc["files"]]
    assert rel == ["reference", "identical", "reordering", "renamed reordering", "different kernel",
                   "different kernel"]
    assert doc["files"][3]["blocks"][0]["origin"] == [2, 0, 1, 3, 4, 5]
    assert "displacement" not in doc["files"][4]["blocks"][0]
    assert any("not the same kernel" in n for n in doc["notes"])
    assert any("different dataflow" in n for n in doc["notes"])
    code, text, _ = run(capsys, "compare", *paths, "--no-mca")
    assert "different kernel" in text and "renamed reordering" in text


def test_renamed_reordering_keeps_dataflow_identity():
    a = block("ldp x3, x4, [x1]\nmul x5, x3, x4\nadd x6, x5, x3\nstr x6, [x0]\n")
    b = block("ldp x3, x4, [x1]\nmul x9, x3, x4\nadd x6, x9, x3\nstr x6, [x0]\n")
    c = block("ldp x3, x4, [x1]\nmul x9, x3, x4\nadd x6, x3, x9\nstr x6, [x0]\n")  # operands swapped
    assert relate(a, b)[:2] == ("renamed reordering", [0, 1, 2, 3])
    assert relate(a, c)[0] == "different kernel"
    # repeated instructions are matched by dataflow, not just by text
    d = block("ldr x1, [x0]\nadd x2, x1, #1\nldr x1, [x3]\nadd x4, x1, #1\n")
    e = block("ldr x1, [x3]\nadd x4, x1, #1\nldr x1, [x0]\nadd x2, x1, #1\n")
    assert relate(d, e)[:2] == ("reordering", [2, 3, 0, 1])


def test_displacement_statistics():
    assert displacement([2, 3, 1, 0, 4, 5]) == {"mean": round(8 / 6, 2), "max": 3, "moved": 4}
    assert displacement([0, 1, 2]) == {"mean": 0.0, "max": 0, "moved": 0}
    _, origin, _ = relate(block("\n".join(PRODUCTS)), block("\n".join(PRODUCTS[k] for k in (1, 0, 2, 3, 5, 4))))
    assert origin == [1, 0, 2, 3, 5, 4]


# ------------------------------------------------------------------ stall causes


def stalls_of(src: str, model: str = "neoverse-n1"):
    m = load_model(model)
    bt = prepare(block(src), m)
    order = list(range(bt.n))
    return attribute_stalls(bt, order, m), inorder(bt, order, m)


def waits(st):
    return [(w.operand, w.pipe, w.issue_width, w.other) for w in st.per_instruction]


def test_stall_operand():
    st, res = stalls_of("mul x1, x2, x3\nadd x4, x1, x1\n")
    assert res.issue == [0, 4]
    assert waits(st) == [(0, 0, 0, 0), (4, 0, 0, 0)]
    assert (st.operand, st.pipe, st.issue_width, st.total) == (4, 0, 0, 4)


def test_stall_busy_multiplier():
    # the default: the multiplier behind M's port is held 3 cycles per mul (issue 26); in the
    # first cycle M's port is taken too, then only the multiplier
    st, _ = stalls_of("mul x1, x2, x3\nmul x4, x5, x6\n")
    assert waits(st) == [(0, 0, 0, 0), (0, 3, 0, 0)]
    assert st.pipe_types == {"M": 1, "MUL": 2}
    st, _ = stalls_of("mul x1, x2, x3\nmul x4, x5, x6\n", "neoverse-n1-llvm")  # M busy 3 there
    assert waits(st)[1] == (0, 3, 0, 0)


def test_stall_integer_pipes_and_issue_width():
    # five independent adds: three integer pipes (S0, S1, M) per cycle
    st, res = stalls_of("".join(f"add x{i}, x10, x11\n" for i in range(1, 6)))
    assert res.issue == [0, 0, 0, 1, 1]
    assert waits(st)[3] == (0, 1, 0, 0) and st.total == 1 and st.pipe_types == {"S/M": 1}
    # two loads and three adds fit the pipes of one cycle, but only four issue per cycle
    st, res = stalls_of("ldr x1, [x10]\nldr x2, [x11]\nadd x3, x12, x13\nadd x4, x12, x13\nadd x5, x12, x13\n")
    assert res.issue == [0, 0, 0, 0, 1]
    assert waits(st) == [(0, 0, 0, 0)] * 4 + [(0, 0, 1, 0)]


def test_stalls_add_up_to_the_last_issue():
    m = load_model()
    for path in (MUL, SQR):
        bt = prepare(parse_file(path).blocks()[0].instructions, m)
        order = list(range(bt.n))
        res = inorder(bt, order, m)
        st = attribute_stalls(bt, order, m, res.issue)
        assert st.total == res.issue[-1] and st.other == 0
        assert st.pipe == sum(st.pipe_types.values())


# ------------------------------------------------------------------ timelines


def test_text_timeline():
    view = build_view("t", block("mul x1, x2, x3\nadd x4, x1, x1\n"), load_model())
    lines = text_timeline(view).splitlines()
    rows = [line for line in lines if line.startswith("[")]
    assert rows[0].startswith("[0] DeeeE ")
    assert rows[1].startswith("[1] ....DE")
    assert "operand 4" in rows[1]


def test_text_timeline_cli(capsys, tmp_path):
    a = write(tmp_path, "a.s", PRODUCTS)
    code, out, _ = run(capsys, "compare", a, "--no-mca", "--text-timeline")
    assert code == 0
    assert "[5]" in out and "legend: D issue" in out


@pytest.mark.parametrize("ext", ["html", "svg", "png"])
def test_timeline_files(tmp_path, capsys, ext):
    a = write(tmp_path, "a.s", PRODUCTS + ["ldp x8, x9, [x10]", "stp x4, x5, [x11]"])
    b = write(tmp_path, "b.s", [PRODUCTS[k] for k in (2, 3, 1, 0, 4, 5)] + ["ldp x8, x9, [x10]",
                                                                              "stp x4, x5, [x11]"])
    path = tmp_path / f"t.{ext}"
    code, out, _ = run(capsys, "compare", a, b, "--no-mca", "--timeline", path)
    assert code == 0 and f"wrote {path}" in out
    data = path.read_bytes()
    assert len(data) > 1000
    m = load_model()
    instrs = block("\n".join(PRODUCTS + ["ldp x8, x9, [x10]", "stp x4, x5, [x11]"]))
    bars = 2 * sum(len(m.timing(i).uops) for i in instrs)  # two schedules, one bar per pipe reservation
    if ext == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    elif ext == "svg":
        text = data.decode()
        assert text.lstrip().startswith("<?xml") and "<svg" in text
        for ins in instrs:
            assert str(ins) in text
        assert len(re.findall(r'id="bar-', text)) == bars
    else:
        text = data.decode()
        assert "<html" in text and "plotly" in text.lower()
        for ins in instrs:
            assert str(ins) in text
        arrays = re.findall(r'"customdata":\[([^\]]*)\]', text)
        assert sum(len(a.split(",")) for a in arrays) == bars


def test_optimize_draws_before_and_after(optimized):
    _, report, svg = optimized
    text = svg.read_text()
    assert "before" in text and "after" in text
    assert f"{report['cycles_after']} cycles in order" in text


def test_bad_timeline_extension(tmp_path, capsys):
    a = write(tmp_path, "a.s", PRODUCTS)
    code, out, err = run(capsys, "compare", a, "--no-mca", "--timeline", tmp_path / "t.pdf")
    assert code == 2 and out == "" and err.strip().count("\n") == 0 and "t.pdf" in err and ".svg" in err
    assert not (tmp_path / "t.pdf").exists()
    code, _, err = run(capsys, "optimize", a, "-o", tmp_path / "o.s", "--timeline", tmp_path / "t.txt")
    assert code == 2 and "t.txt" in err and not (tmp_path / "o.s").exists()


# ------------------------------------------------------------------ llvm-mca


@pytest.mark.skipif(find_llvm_mca() is None, reason="llvm-mca-19 not on PATH")
def test_mca_columns_when_present(tmp_path, capsys):
    a = write(tmp_path, "a.s", PRODUCTS)
    code, text, _ = run(capsys, "compare", a, a, "--json")
    doc = json.loads(text)
    assert doc["llvm_mca"] and doc["mca_iterations"] == [1, 100] and doc["mcpus"] == ["neoverse-n1"]
    for f in doc["files"]:
        mca = f["blocks"][0]["llvm_mca"]["neoverse-n1"]  # per the -mcpu of each model
        assert set(mca) == {"1", "100"}
        assert mca["100"]["total_cycles"] > mca["1"]["total_cycles"] > 0
        assert mca["1"]["block_rthroughput"] > 0
    code, text, _ = run(capsys, "compare", a, a)
    assert code == 0 and "llvm-mca -mcpu=neoverse-n1 100 iter: cycles" in text
    assert "llvm-mca -mcpu=neoverse-n1 RThroughput" in text


def test_mca_absent_is_a_note(tmp_path, capsys, monkeypatch):
    import scheduler.machine.mca

    monkeypatch.setattr(scheduler.machine.mca, "find_llvm_mca", lambda: None)
    a = write(tmp_path, "a.s", PRODUCTS)
    code, text, _ = run(capsys, "compare", a, "--json")
    assert code == 0
    doc = json.loads(text)
    assert doc["llvm_mca"] is None and doc["files"][0]["blocks"][0]["llvm_mca"] is None
    assert any("llvm-mca" in n and "not found" in n for n in doc["notes"])
    code, text, _ = run(capsys, "compare", a)
    assert code == 0 and "llvm-mca" not in text.split("note:")[0] and "not found" in text


# ------------------------------------------------------------------ several models, bad input


def test_several_models(tmp_path, capsys):
    a = write(tmp_path, "a.s", ["mul x1, x2, x3", "mul x4, x5, x6"])
    code, text, _ = run(capsys, "compare", a, "--json", "--no-mca", "--model", "neoverse-n1,neoverse-n1-llvm")
    doc = json.loads(text)
    assert doc["models"] == ["neoverse-n1", "neoverse-n1-llvm"]
    ms = doc["files"][0]["blocks"][0]["models"]
    # both wait 3 for the second mul; the default holds the multiplier behind M, LLVM all of M
    assert ms["neoverse-n1"]["stalls"]["pipe"] == 3 and ms["neoverse-n1-llvm"]["stalls"]["pipe"] == 3
    assert ms["neoverse-n1"]["stalls"]["pipe_types"] == {"MUL": 2, "M": 1}
    assert ms["neoverse-n1"]["pipes"]["M"]["busy"] == 2 and ms["neoverse-n1"]["pipes"]["MUL"]["busy"] == 6
    assert ms["neoverse-n1-llvm"]["pipes"]["M"]["busy"] == 6
    code, text, _ = run(capsys, "compare", a, "--no-mca", "--model", "neoverse-n1", "--model", "neoverse-n1-llvm")
    assert code == 0 and "[neoverse-n1-llvm] in-order cycles" in text


@pytest.mark.parametrize("case", ["missing", "unsupported", "model", "directory"])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    good = write(tmp_path, "good.s", PRODUCTS)
    args = {
        "missing": [good, tmp_path / "nope.s"],
        "unsupported": [good, write(tmp_path, "bad.s", ["mul x1, x2, x3", "frobnicate x1, x2"])],
        "model": [good, "--model", "no-such-core"],
        "directory": [good, tmp_path],
    }[case]
    code, out, err = run(capsys, "compare", *args, "--no-mca")
    assert code == 2
    assert out == ""
    assert err.strip() and err.strip().count("\n") == 0
    assert {"missing": "nope.s", "unsupported": "bad.s:2", "model": "no-such-core",
            "directory": str(tmp_path)}[case] in err


def test_a_model_given_by_path_is_compared(tmp_path, capsys):
    """`--model FILE.toml` (a calibrated model, say) works like a registry name (was a KeyError, exit 4)."""
    from scheduler.cli import main

    text = (ROOT / "models" / "neoverse-n1.toml").read_text()
    mine = tmp_path / "my-core.toml"
    mine.write_text(re.sub(r'(?m)^name = .*$', 'name = "my-core"', text, count=1))
    assert main(["compare", str(ROOT / "inputs" / "mul_4x4.s"), "--model", str(mine), "--json", "--no-mca"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == ["my-core"]
