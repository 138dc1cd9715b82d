"""CLI end to end: exit codes, FILE:LINE errors, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.cli import main
from tests.support import ROOT

MUL = str(ROOT / "inputs" / "mul_4x4.s")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_python_dash_m_and_console_script_agree():
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for cmd in ("parse", "dag", "simulate", "verify"):
        assert cmd in proc.stdout
    assert "examples:" in proc.stdout and "exit codes" in proc.stdout


def test_verify_identical_is_equivalent(capsys):
    code, out, _ = run(capsys, "verify", MUL, MUL, "--trials", "30")
    assert code == 0
    assert "30 trials passed" in out


def test_verify_reordering(tmp_path, capsys):
    lines = Path(MUL).read_text().splitlines()
    # The two loads at the top are independent: swap them.
    i = next(k for k, line in enumerate(lines) if line.strip().startswith("ldp"))
    j = next(k for k in range(i + 1, len(lines)) if lines[k].strip().startswith("ldp"))
    lines[i], lines[j] = lines[j], lines[i]
    cand = tmp_path / "cand.s"
    cand.write_text("\n".join(lines) + "\n")
    code, out, _ = run(capsys, "verify", MUL, str(cand), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["equivalent"] and doc["trials"] == 200


def test_verify_broken_reports_counterexample(tmp_path, capsys):
    orig = tmp_path / "a.s"
    orig.write_text("mul x3, x1, x2\nadd x0, x3, x4\nret\n")
    cand = tmp_path / "b.s"
    cand.write_text("add x0, x3, x4\nmul x3, x1, x2\nret\n")
    code, out, _ = run(capsys, "verify", str(orig), str(cand))
    assert code == 1
    assert "NOT equivalent" in out and "x0 differs" in out
    assert "x1" in out and "x4" in out  # initial values of the inputs
    code, out, _ = run(capsys, "verify", str(orig), str(cand), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["mismatch"]["location"] == "x0"
    assert doc["mismatch"]["original"] != doc["mismatch"]["candidate"]


@pytest.mark.parametrize("text,line,msg", [
    ("mov x0, x1\nfrobnicate x1, x2\n", 2, "unsupported instruction 'frobnicate x1, x2'"),
    ("/* a\n b */\nadd x0, x1, #99999\n", 3, "invalid operand"),
    ("add x0, x1, v2.2d\n", 1, "unsupported instruction"),
])
def test_bad_input_exit_2_with_file_line(tmp_path, capsys, text, line, msg):
    bad = tmp_path / "bad.s"
    bad.write_text(text)
    for argv in (["verify", str(bad), MUL], ["verify", MUL, str(bad)], ["simulate", str(bad)],
                 ["parse", str(bad)], ["dag", str(bad)]):
        code, out, err = run(capsys, *argv)
        assert code == 2
        assert err.startswith(f"{bad}:{line}: ") and msg in err
        assert "Traceback" not in err


def test_missing_file_exit_2(capsys):
    code, _, err = run(capsys, "parse", "/nonexistent/x.s")
    assert code == 2 and "cannot read" in err


def test_branch_outside_straight_line_is_rejected(tmp_path, capsys):
    f = tmp_path / "loop.s"
    f.write_text("1: subs x0, x0, #1\nb.ne 1b\nret\n")
    code, _, err = run(capsys, "simulate", str(f))
    assert code == 2 and f"{f}:2:" in err and "straight-line" in err


def test_simulate_mem_and_set(capsys):
    a, b = 3, 5
    code, out, _ = run(capsys, "simulate", MUL, "--json",
                       "--mem", f"x1:32={a.to_bytes(32, 'little').hex()}",
                       "--mem", f"x2:32={b.to_bytes(32, 'little').hex()}", "--mem", "x0:64")
    assert code == 0
    doc = json.loads(out)
    assert int.from_bytes(bytes.fromhex(doc["memory"]["x0:64"]), "little") == 15


def test_simulate_set_register(tmp_path, capsys):
    f = tmp_path / "k.s"
    f.write_text("adds x0, x1, x2\ncset x3, hs\n")
    code, out, _ = run(capsys, "simulate", str(f), "--set", "x1=0xffffffffffffffff", "--set", "x2=1")
    assert code == 0
    assert "x0    = 0x0" in out and "x3    = 0x1" in out


def test_simulate_bad_option_value(capsys):
    code, _, err = run(capsys, "simulate", MUL, "--set", "q99=1")
    assert code == 2 and "unknown register" in err


def test_parse_json_lists_reads_writes(capsys):
    code, out, _ = run(capsys, "parse", MUL, "--json")
    doc = json.loads(out)
    first = doc["blocks"][0]["instructions"][0]
    assert code == 0 and first["form"] and "reads" in first and "writes" in first


def test_dag_dot(tmp_path, capsys):
    dot = tmp_path / "g.dot"
    code, out, _ = run(capsys, "dag", MUL, "--no-alias", "x0,x1,x2", "--dot", str(dot))
    assert code == 0 and "edges" in out
    assert dot.read_text().startswith("digraph")


def test_optimize_help_says_how_backups_are_named(capsys):
    """--in-place never overwrites a backup: FILE.orig, then FILE.orig.1, ... (issue 25)."""
    with pytest.raises(SystemExit) as e:
        main(["optimize", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "FILE.orig, or FILE.orig.1, FILE.orig.2, ... when that exists" in out


def test_dag_dot_never_overwrites_the_input(tmp_path, capsys):
    """`dag --dot` is an output too: naming the input (or a header it includes) is refused."""
    src = tmp_path / "k.s"
    src.write_text(Path(MUL).read_text())
    code, _, err = run(capsys, "dag", str(src), "--dot", str(src))
    assert code == 2 and "names the input file" in err
    assert src.read_text() == Path(MUL).read_text()
