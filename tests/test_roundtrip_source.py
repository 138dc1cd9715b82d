"""The source round trip (present/roundtrip.py): a `.S` or macro file comes back with its
#defines, .req aliases, macros and comments, and still verifies and assembles."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scheduler.cli import main
from scheduler.frontend.parse import parse_file, parse_text
from scheduler.present.roundtrip import emit_source

DATA = Path(__file__).parent / "data" / "library_style"
SOURCES = sorted(DATA.glob("*.S"))
HAVE_CPP = shutil.which("gcc") is not None or shutil.which("cpp") is not None
HAVE_GAS = shutil.which("aarch64-linux-gnu-gcc") is not None
pytestmark = pytest.mark.skipif(not HAVE_CPP, reason="no C preprocessor")


def _structure(text: str) -> list[str]:
    """The lines that make the file's structure: cpp directives, .req, .macro/.endm."""
    return [ln.strip() for ln in text.splitlines()
            if re.match(r"\s*(#\s*define|\w+\s+\.req|\.macro|\.endm)", ln)]


def test_three_library_sources():
    assert len(SOURCES) == 3


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_optimize_keeps_the_source(src, tmp_path, capsys):
    out = tmp_path / src.name
    code = main(["optimize", str(src), "-o", str(out), "--time-limit", "2", "--workers", "1",
                 "--deterministic", "--quiet"])
    assert code == 0, capsys.readouterr().err
    text, orig = out.read_text(), src.read_text()
    assert _structure(text) == _structure(orig)
    assert text != orig.rstrip("\n") + "\n", "the example must change, or the test shows nothing"
    # the output goes through cpp like the input, and is the same function
    capsys.readouterr()
    assert main(["verify", str(src), str(out), "--trials", "50"]) == 0, capsys.readouterr().out
    if HAVE_GAS:
        res = subprocess.run(["aarch64-linux-gnu-gcc", "-c", str(out), "-o", str(tmp_path / "o.o")],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr


def test_define_names_kept_and_comments_move_with_their_line(tmp_path, capsys):
    src = DATA / "mul_2x2_defines.S"
    out = tmp_path / "out.S"
    assert main(["optimize", str(src), "-o", str(out), "--time-limit", "2", "--workers", "1",
                 "--deterministic", "--no-rename", "--quiet"]) == 0
    text = out.read_text()
    # reorder only: every instruction line is one of the input's, names as written
    body = lambda t: sorted(ln for ln in t.splitlines() if re.match(r"\t[a-z]+\t", ln))  # noqa: E731
    assert body(text) == body(src.read_text())
    assert "\tmul\tlo, a1, b0          // a1*b0, low half" in text.splitlines()
    # the comment above the block's first instruction stays at the block's top
    lines = text.splitlines()
    assert lines[lines.index("\t// load the operands") + 1].startswith("\tld")


def test_macro_block_written_expanded_with_a_note(tmp_path, capsys):
    src = DATA / "macro_acc.S"
    out = tmp_path / "out.S"
    assert main(["optimize", str(src), "-o", str(out), "--time-limit", "2", "--workers", "1",
                 "--deterministic"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "note: block 0 written expanded" in said
    notes = json.loads((tmp_path / "out.json").read_text())["source_notes"]
    assert len(notes) == 1 and re.search(r"block 0 written expanded at lines \d+-\d+: line \d+ makes several of its "
                     r"instructions \('MUL128'\)", notes[0])
    assert ".macro MUL128 rlo, rhi, ra, rb" in out.read_text()


def _program(text: str, tmp_path: Path, name: str = "k.S"):
    path = tmp_path / name
    path.write_text(text)
    return parse_file(path)


MACRO_TWO_BLOCKS = """\
.macro PAIR d, s
\tadd\t\\d, \\s, #1
\tadd\t\\d, \\d, #2
.endm
first:
\tPAIR\tx1, x2
\tPAIR\tx3, x4
second:
\t// the fifth
\tadd\tx5, x6, #5
\t// the sixth
\tadd\tx7, x8, #6
"""


def test_unchanged_block_keeps_its_macro_calls():
    prog = parse_text(MACRO_TWO_BLOCKS, "k.s")
    b1 = prog.blocks()[1]
    sched = [(1, b1.instructions[1]), (0, b1.instructions[0])]
    text, notes = emit_source(prog, {1: sched})
    lines = text.splitlines()
    assert "\tPAIR\tx1, x2" in lines and "\tPAIR\tx3, x4" in lines
    assert notes == []
    # the comment above the block's first instruction stays; the other moves with its line
    assert lines[-4:] == ["\t// the fifth", "\t// the sixth", "\tadd\tx7, x8, #6", "\tadd\tx5, x6, #5"]
    assert [str(i) for i in parse_text(text).blocks()[1].instructions] == ["add x7, x8, #6", "add x5, x6, #5"]


def test_changed_macro_block_written_expanded_other_calls_kept():
    prog = parse_text(MACRO_TWO_BLOCKS, "k.s")
    b0 = prog.blocks()[0]
    sched = [(2, b0.instructions[2]), (3, b0.instructions[3]), (0, b0.instructions[0]), (1, b0.instructions[1])]
    text, notes = emit_source(prog, {0: sched})
    assert "PAIR\tx1" not in text and ".macro PAIR d, s" in text
    assert notes and "'PAIR'" in notes[0]
    assert [str(i) for i in parse_text(text).blocks()[0].instructions] == [
        "add x3, x4, #1", "add x3, x3, #2", "add x1, x2, #1", "add x1, x1, #2"]


DEFINES = """\
#define a0 x3
#define t0 x9
\tmul\tt0, a0, a0   // square
\tadd\tx10, x11, #1
"""


def test_renamed_register_keeps_other_names(tmp_path):
    prog = _program(DEFINES, tmp_path)
    b = prog.blocks()[0]
    renamed = parse_text("mul x20, x3, x3").instructions[0]
    text, _ = emit_source(prog, {0: [(1, b.instructions[1]), (0, renamed)]})
    lines = text.splitlines()
    assert lines[:2] == ["#define a0 x3", "#define t0 x9"]
    assert lines[2] == "\tadd\tx10, x11, #1"
    assert lines[3] == "\tmul\tx20, a0, a0  // square  // renamed: t0 -> x20"


def test_changed_immediate_writes_the_instruction(tmp_path):
    prog = _program("#define OFF 8\n\tldr\tx1, [x2, #OFF]\n\tadd\tx3, x4, #1\n", tmp_path)
    b = prog.blocks()[0]
    moved = parse_text("ldr x1, [x2, #16]").instructions[0]
    text, _ = emit_source(prog, {0: [(1, b.instructions[1]), (0, moved)]})
    assert text.splitlines()[1:] == ["\tadd\tx3, x4, #1", "\tldr x1, [x2, #16]"]


def test_hex_immediate_is_not_a_register_name(tmp_path):
    prog = _program("\tadd\tx10, x2, #0x10\n\tadd\tx3, x4, #1\n", tmp_path, "k.s")
    b = prog.blocks()[0]
    renamed = parse_text("add x11, x2, #0x10").instructions[0]
    text, _ = emit_source(prog, {0: [(1, b.instructions[1]), (0, renamed)]})
    assert text.splitlines() == ["\tadd\tx3, x4, #1", "\tadd\tx11, x2, #0x10"]
