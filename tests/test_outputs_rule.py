"""One meaning of a kernel's outputs (scheduler/outputs.py) and `verify` reporting it."""

from __future__ import annotations

import json

import pytest

from scheduler.cli import main
from scheduler.frontend.outputs import OutputsError, choose_outputs, parse_outputs_option
from scheduler.frontend.parse import parse_text
from tests.support import ROOT

MUL = str(ROOT / "inputs" / "mul_4x4.s")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_option_wins():
    prog = parse_text("// @outputs x3\nadd x0, x1, x2\nret\n", "k.s")
    got = choose_outputs(prog, "x0, w5,v2,nzcv", "k.s")
    assert got.registers == ("x0", "x5", "v2", "nzcv") and got.source == "from --outputs"
    assert choose_outputs(prog, "none").registers == ()


def test_annotation_in_original():
    prog = parse_text("// @outputs x3, x4\nadd x3, x1, x2\nret\n", "k.s")
    got = choose_outputs(prog, None, "k.s")
    assert got.registers == ("x3", "x4") and got.source == "from // @outputs in k.s"
    none = choose_outputs(parse_text("// @outputs none\nadd x3, x1, x2\n", "n.s"), None)
    assert none.registers == () and "@outputs" in none.source


def test_aapcs_default_when_ret():
    got = choose_outputs(parse_text("add x0, x1, x2\nret\n"), None)
    assert got.registers == ("x0",) and got.source == "AAPCS64 default: code ends in ret"


def test_every_register_otherwise():
    got = choose_outputs(parse_text("add x0, x1, x2\n"), None)
    assert got.registers is None and got.as_list() is None
    assert got.source == "every register: no outputs declared"


@pytest.mark.parametrize("text", ["", " ", "x0,,x1", "x0,bogus", "xzr", "x31", "v32"])
def test_malformed_option(text):
    with pytest.raises(OutputsError):
        parse_outputs_option(text)


def _pair(tmp_path):
    a = tmp_path / "a.s"
    a.write_text("mul x3, x1, x2\nadd x0, x3, x4\nret\n")
    b = tmp_path / "b.s"  # renamed temporary: x5 instead of x3
    b.write_text("mul x5, x1, x2\nadd x0, x5, x4\nret\n")
    return str(a), str(b)


def test_verify_renamed_schedule_ending_in_ret_is_equivalent(tmp_path, capsys):
    a, b = _pair(tmp_path)
    code, out, _ = run(capsys, "verify", a, b)
    assert code == 0, out
    assert "outputs x0 (AAPCS64 default: code ends in ret)" in out
    code, out, _ = run(capsys, "verify", a, b, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["outputs"] == {"registers": ["x0"], "source": "AAPCS64 default: code ends in ret"}
    code, out, _ = run(capsys, "verify", a, b, "--prove")
    assert code == 0 and "proved equivalent" in out and "AAPCS64 default" in out


def test_verify_says_where_outputs_came_from(tmp_path, capsys):
    a, b = _pair(tmp_path)
    code, out, _ = run(capsys, "verify", a, b, "--outputs", "x0,x3")
    assert code == 1 and "NOT equivalent" in out and "outputs x0, x3 (from --outputs)" in out
    assert "x3 differs" in out
    code, out, _ = run(capsys, "verify", a, b, "--outputs", "none")
    assert code == 0 and "outputs none (from --outputs)" in out
    c = tmp_path / "c.s"
    c.write_text("// @outputs x0, x3\nmul x3, x1, x2\nadd x0, x3, x4\nret\n")
    code, out, _ = run(capsys, "verify", str(c), b)
    assert code == 1 and f"from // @outputs in {c}" in out
    d, e = tmp_path / "d.s", tmp_path / "e.s"
    d.write_text("mul x3, x1, x2\nadd x0, x3, x4\n")
    e.write_text("mul x5, x1, x2\nadd x0, x5, x4\n")
    code, out, _ = run(capsys, "verify", str(d), str(e))
    assert code == 1 and "every register: no outputs declared" in out


def test_candidate_annotation_cannot_shrink_outputs(tmp_path, capsys):
    a = tmp_path / "a.s"
    a.write_text("mul x3, x1, x2\nadd x0, x3, x4\n")
    b = tmp_path / "b.s"
    b.write_text("// @outputs none\nmul x5, x1, x2\nadd x0, x5, x4\n")
    code, out, _ = run(capsys, "verify", str(a), str(b))
    assert code == 1 and "every register" in out


@pytest.mark.parametrize("value", ["--outputs=", "--outputs=x0,frob"])
def test_bad_outputs_option_exit_2(capsys, value):
    code, out, err = run(capsys, "verify", MUL, MUL, value)
    assert code == 2 and "--outputs" in err and "Traceback" not in err
