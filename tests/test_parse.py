"""Tests of the GNU-as parser (scheduler/parse.py) and the IR it builds.

Sections: comments, statements/labels/directives, immediates and symbols,
operands (shifts, extends, addressing modes, register views, vectors,
conditions), case and spacing, .req/.macro/.rept/.irp, errors, `.S` files
through the C preprocessor, annotations, read/write sets, blocks, a round
trip over every file in inputs/, GNU-as compatibility, conditional assembly.

Behaviour is checked against GNU as (aarch64-linux-gnu-as 2.40 and, where
noted, llvm-mc); the "GNU-as compatibility" and "conditional assembly" sections
are regression tests for former bugs. Tests marked `xfail(strict=True)` document
remaining bugs: they fail today and will XPASS (and so fail the run) once fixed,
at which point the marker should be removed.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from scheduler.core.errors import AsmError
from scheduler.frontend.ir import Directive, Instruction, Label, Program
from scheduler.frontend.isa.operands import GPR, Cond, Extend, Imm, Mem, Shift, Sym, VElem, VReg
from scheduler.frontend.parse import parse_file, parse_text, preprocess
from tests.support import ROOT

INPUTS = sorted([*ROOT.glob("inputs/*.s"), *ROOT.glob("inputs/*.S")])
HAVE_CPP = bool(shutil.which("gcc") or shutil.which("cpp"))
needs_cpp = pytest.mark.skipif(not HAVE_CPP, reason="no C preprocessor (gcc/cpp) on PATH")


# ------------------------------------------------------------------ helpers

def parse(text: str, name: str = "t.s") -> Program:
    return parse_text(textwrap.dedent(text), name)


def insns(text: str) -> list[str]:
    """Canonical text of every instruction of a snippet."""
    return [str(i) for i in parse(text).instructions]


def insns_of(prog: Program) -> list[str]:
    return [str(i) for i in prog.instructions]


def one(text: str) -> Instruction:
    prog = parse(text)
    assert len(prog.instructions) == 1, [str(i) for i in prog.instructions]
    return prog.instructions[0]


def err(text: str, name: str = "t.s") -> AsmError:
    with pytest.raises(AsmError) as info:
        parse(text, name)
    return info.value


def X(n: int) -> GPR:
    return GPR(n, 64)


def W(n: int) -> GPR:
    return GPR(n, 32)


SP = GPR(31, 64, sp=True)
XZR = GPR(31, 64)
WZR = GPR(31, 32)


# ----------------------------------------------------------------- comments

def test_line_comment_after_code_is_kept_and_stripped_from_code():
    prog = parse("add x0, x1, x2 // sum x1 + x2\n")
    (line,) = prog.lines
    assert line.comment == "// sum x1 + x2"
    assert [str(s) for s in line.statements] == ["add x0, x1, x2"]
    assert prog.instructions[0].operands == (X(0), X(1), X(2))


def test_comment_only_and_blank_lines_produce_no_statements():
    prog = parse("  // only a comment\n\n   /* block */   \n# hash comment\nret\n")
    assert [ln.comment for ln in prog.lines] == ["// only a comment", "", "/* block */", "# hash comment", ""]
    assert [len(ln.statements) for ln in prog.lines] == [0, 0, 0, 0, 1]
    assert len(prog.statements) == 1


def test_block_comment_inside_a_line():
    prog = parse("add /* first */ x0, x1, /* second */ x2 // tail\n")
    assert [str(i) for i in prog.instructions] == ["add x0, x1, x2"]
    assert prog.lines[0].comment == "/* first */ /* second */ // tail"


def test_multiline_block_comment_spanning_instructions():
    prog = parse("""\
        add x0, x0, #1 /* start of comment
        add x1, x1, #1
        sub x1, x1, #1 ; // still comment
        end */ add x2, x2, #1
        add x3, x3, #1
    """)
    assert insns_of(prog) == ["add x0, x0, #1", "add x2, x2, #1", "add x3, x3, #1"]
    assert [ln.loc.line for ln in prog.lines if ln.statements] == [1, 4, 5]
    assert prog.lines[0].comment == "/* start of comment"
    assert prog.lines[1].comment == "add x1, x1, #1"
    assert prog.lines[1].statements == []
    assert prog.lines[2].statements == []
    assert prog.lines[3].comment == "end */"


def test_line_comment_markers_inside_block_comment_are_ignored():
    assert insns("/* not // a line comment */ add x0, x0, #1\n") == ["add x0, x0, #1"]


def test_block_comment_markers_inside_line_comment_are_ignored():
    prog = parse("add x0, x0, #1 // a /* b\nadd x1, x1, #1\n")
    assert insns_of(prog) == ["add x0, x0, #1", "add x1, x1, #1"]


def test_semicolon_inside_comment_does_not_split():
    assert insns("add x0, x0, #1 // then; sub x1, x1, #1\n") == ["add x0, x0, #1"]
    assert insns("add x0, x0, #1 /* ; sub x1, x1, #1 */\n") == ["add x0, x0, #1"]


def test_comment_and_separator_markers_inside_strings_are_text():
    prog = parse('.ascii "x // y ; z /* w */" // real\n.section .rodata, "a"; .align 3\n')
    assert [s.text for s in prog.statements] == ['.ascii "x // y ; z /* w */"', '.section .rodata, "a"', ".align 3"]
    assert prog.lines[0].comment == "// real"


# ------------------------------------------------- statements, labels, directives

def test_semicolon_separated_statements_share_the_line():
    prog = parse("\nadd x0, x0, #1; sub x1, x1, #2 ;eor x2, x2, x3;;\n")
    assert insns_of(prog) == ["add x0, x0, #1", "sub x1, x1, #2", "eor x2, x2, x3"]
    assert {i.loc.line for i in prog.instructions} == {2}
    assert len(prog.lines[1].statements) == 3


def test_labels_global_local_and_dotted():
    prog = parse("""\
        f:
        1:
        .Lloop:
        _x$y.z:
        ret
    """)
    labels = [s for s in prog.statements if isinstance(s, Label)]
    assert [lb.name for lb in labels] == ["f", "1", ".Lloop", "_x$y.z"]
    assert [lb.loc.line for lb in labels] == [1, 2, 3, 4]
    assert str(labels[0]) == "f:"


def test_label_followed_by_instruction_on_same_line():
    prog = parse("loop: add x0, x0, #1\n1: 2: sub x1, x1, #1\n")
    kinds = [(type(s).__name__, str(s)) for s in prog.statements]
    assert kinds == [
        ("Label", "loop:"), ("Instruction", "add x0, x0, #1"),
        ("Label", "1:"), ("Label", "2:"), ("Instruction", "sub x1, x1, #1"),
    ]


def test_local_label_references():
    prog = parse("1: add x0, x0, #1\n b 1b\n cbnz x0, 2f\n2: ret\n")
    assert [str(i) for i in prog.instructions] == ["add x0, x0, #1", "b 1b", "cbnz x0, 2f", "ret"]
    assert prog.instructions[1].operands == (Sym("1b"),)
    assert prog.instructions[2].operands == (X(0), Sym("2f"))


def test_label_case_is_preserved():
    prog = parse("MyFunc:\nmyfunc:\n")
    assert [s.name for s in prog.statements] == ["MyFunc", "myfunc"]


@pytest.mark.parametrize("text", [
    ".text",
    ".globl  mul_4x4",
    ".balign 4",
    ".type   f, %function",
    ".size   f, .-f",
    ".cfi_startproc",
    ".cfi_endproc",
    ".p2align 2",
    '.section .text.f,"ax",%progbits',
    ".arch armv8-a",
])
def test_directives_pass_through_verbatim(text):
    prog = parse(f"    {text}    // why\n")
    (stmt,) = prog.statements
    assert isinstance(stmt, Directive)
    assert stmt.text == text
    assert str(stmt) == text
    assert prog.lines[0].comment == "// why"


def test_directives_labels_instructions_keep_program_order():
    prog = parse("""\
        .text
        .globl f
        .type f, %function
        f:  .cfi_startproc
            add x0, x0, x1
            ret
            .cfi_endproc
        .size f, .-f
    """)
    assert [type(s).__name__ for s in prog.statements] == [
        "Directive", "Directive", "Directive", "Label", "Directive",
        "Instruction", "Instruction", "Directive", "Directive",
    ]
    assert [s.loc.line for s in prog.statements] == [1, 2, 3, 4, 4, 5, 6, 7, 8]


# ---------------------------------------------------------------- immediates

def imm_of(text: str, index: int = -1) -> int:
    op = one(text).operands[index]
    assert isinstance(op, Imm), op
    return op.value


@pytest.mark.parametrize("text, value", [
    ("add x0, x1, #12", 12),
    ("add x0, x1, 12", 12),
    ("add x0, x1, # 12", 12),
    ("add x0, x1, #0x10", 16),
    ("add x0, x1, #0XfF", 255),
    ("add x0, x1, #0b101", 5),
    ("add x0, x1, #-4", -4),
    ("add x0, x1, -4", -4),
    ("sub sp, sp, #(32*6 +80 +0)", 272),
    ("sub sp, sp, #(16*2)", 32),
    ("add x0, x1, #1+2*3", 7),
    ("add x0, x1, #(1<<4)|1", 17),
    ("add x0, x1, #~0 & 0xff", 255),
    ("add x0, x1, #7/2", 3),
    ("add x0, x1, #-7/2", -3),  # GNU as divides like C (truncation)
    ("add x0, x1, #-7%2", -1),
    ("add x0, x1, #0x3f ^ 0x30", 15),
    ("mov x0, #(-1)", -1),
])
def test_immediate_values(text, value):
    assert imm_of(text) == value


@pytest.mark.parametrize("text, value", [
    ("mov x10, #0xffffffff00000001", 0xFFFFFFFF00000001),
    ("mov x1, #-9223372036854775808", -(1 << 63)),
    ("and x1, x2, #0xfffffffffffff", 0xFFFFFFFFFFFFF),
    ("tst x1, #0x8000000000000000", 1 << 63),
    ("movi v1.2d, #0x000000ffffffff", 0xFFFFFFFF),
    ("mov x0, #0xffffffffffffffff", (1 << 64) - 1),
    ("mov w0, #0xffffffff", 0xFFFFFFFF),
    ("orr x0, x1, #0xff00ff00ff00ff00", 0xFF00FF00FF00FF00),
])
def test_wide_and_bitmask_immediates(text, value):
    assert imm_of(text, 1 if text.split()[0] in ("mov", "tst", "movi") else 2) == value


def test_immediate_text_is_kept_for_printing():
    i = one("sub sp, sp, #(32*6 +80 +0)")
    assert str(i) == "sub sp, sp, #(32*6 +80 +0)"
    assert str(one("add x0, x1, 12")) == "add x0, x1, #12"


def test_equ_set_and_assignment_symbols_in_immediates():
    prog = parse("""\
        .equ N, 8
        .set M, N*2
        K = M + 1
        L=3
        add x0, x1, #N
        add x0, x1, N
        add x0, x1, #K-1
        add x0, x1, #(M << 1) + L
        ldr x0, [x1, #M]
        ldp x0, x2, [x1, M]
        lsl x0, x1, #L
        add x0, x1, x2, lsl #L
    """)
    ins = prog.instructions
    assert [imm.value for imm in (ins[0].operands[2], ins[1].operands[2], ins[2].operands[2],
                                  ins[3].operands[2], ins[6].operands[2])] == [8, 8, 16, 35, 3]
    assert ins[4].operands[1].offset == 16
    assert ins[5].operands[2].offset == 16
    assert ins[7].operands[3] == Shift("lsl", 3)
    dirs = [s.text for s in prog.statements if isinstance(s, Directive)]
    assert dirs == [".equ N, 8", ".set M, N*2", "K = M + 1", "L=3"]


def test_set_redefinition_is_order_sensitive():
    prog = parse("""\
        .set k, 1
        add x0, x0, #k
        .set k, k + 4
        add x0, x0, #k
    """)
    assert [i.operands[2].value for i in prog.instructions] == [1, 5]


def test_unknown_symbol_in_immediate_is_an_error_with_line():
    e = err("add x0, x0, #1\nadd x0, x1, #UNDEFINED\n", "sym.s")
    assert str(e).startswith("sym.s:2: ")
    assert "UNDEFINED" in str(e)


# ------------------------------------------------------- shifted / extended operands

@pytest.mark.parametrize("text, ops", [
    ("adds x0, x1, x2, lsl #33", (X(0), X(1), X(2), Shift("lsl", 33))),
    ("add x0, x1, x2, lsl 3", (X(0), X(1), X(2), Shift("lsl", 3))),
    ("eor x0, x1, x2, ror #7", (X(0), X(1), X(2), Shift("ror", 7))),
    ("sub x0, x1, x2, asr #63", (X(0), X(1), X(2), Shift("asr", 63))),
    ("add x0, x1, w2, uxtw", (X(0), X(1), W(2), Extend("uxtw"))),
    ("add x0, x1, w2, sxtw #2", (X(0), X(1), W(2), Extend("sxtw", 2))),
    ("add x0, sp, x1", (X(0), SP, X(1))),
    ("add sp, sp, x1, lsl #3", (SP, SP, X(1), Shift("lsl", 3))),
    ("add x0, x1, #1, lsl #12", (X(0), X(1), Imm(1, "1"), Shift("lsl", 12))),
])
def test_shifted_and_extended_operands(text, ops):
    assert one(text).operands == ops


@pytest.mark.parametrize("text", [
    "add x0, x1, x2, lsl #64",
    "add x0, x1, x2, ror #3",      # add takes no ror
    "add x0, x1, w2",              # a W operand needs an extend
    "add x0, x1, x2, uxtw",        # uxtw needs a W register (llvm-mc agrees; GNU as is lax)
    "add x0, x1, w2, uxtw #5",     # extend amount 0..4
    "add x0, x1, #1, lsl #8",      # only lsl #0 / #12
])
def test_bad_shift_or_extend_is_rejected(text):
    e = err(f"start:\n{text}\n")
    assert e.loc is not None and e.loc.line == 2


# ------------------------------------------------------------- addressing modes

@pytest.mark.parametrize("text, base, offset, mode, index, modifier", [
    ("ldr x0, [x1]", X(1), 0, "off", None, None),
    ("ldr x0, [x1, #8]", X(1), 8, "off", None, None),
    ("ldr x0, [x1, #-8]", X(1), -8, "off", None, None),
    ("ldr x0, [x1, #8]!", X(1), 8, "pre", None, None),
    ("ldr x0, [x1], #8", X(1), 8, "post", None, None),
    ("ldr x0,[x1],#8", X(1), 8, "post", None, None),
    ("ldr x0, [ x1 , #8 ] !", X(1), 8, "pre", None, None),
    ("stp x19, x20, [sp, -16]!", SP, -16, "pre", None, None),
    ("stp x19, x20, [sp, #-16]!", SP, -16, "pre", None, None),
    ("stp x8, x9, [x0, 16]", X(0), 16, "off", None, None),
    ("ldp x29, x30, [sp], 16", SP, 16, "post", None, None),
    ("ldp x29, x30, [sp], #16", SP, 16, "post", None, None),
    ("ldr x0, [sp, #8]", SP, 8, "off", None, None),
    ("ldr x0, [x1, x2, lsl #3]", X(1), 0, "off", X(2), Shift("lsl", 3)),
    ("ldr x0, [x1, x2]", X(1), 0, "off", X(2), None),
    ("ldr x0, [x1, w2, uxtw #3]", X(1), 0, "off", W(2), Extend("uxtw", 3)),
    ("ldr x0, [x1, w2, sxtw]", X(1), 0, "off", W(2), Extend("sxtw")),
    ("ldr x0, [x1, x2, sxtx #3]", X(1), 0, "off", X(2), Extend("sxtx", 3)),
    ("ldr q0, [x1, #16]", X(1), 16, "off", None, None),
    ("ldr q0, [x1, x2, lsl #4]", X(1), 0, "off", X(2), Shift("lsl", 4)),
    ("str q0, [x1, #-16]!", X(1), -16, "pre", None, None),
    ("ldr d0, [x1], #8", X(1), 8, "post", None, None),
    ("ldp q0, q1, [x0], #32", X(0), 32, "post", None, None),
])
def test_addressing_modes(text, base, offset, mode, index, modifier):
    m = one(text).operands[-1]
    assert isinstance(m, Mem)
    assert (m.base, m.offset, m.mode, m.index, m.modifier) == (base, offset, mode, index, modifier)
    assert m.writeback == (mode in ("pre", "post"))


def test_addressing_modes_print_canonically():
    assert str(one("stp x19, x20, [sp, -16]!")) == "stp x19, x20, [sp, #-16]!"
    assert str(one("stp x8, x9, [x0, 16]")) == "stp x8, x9, [x0, #16]"
    assert str(one("ldp x29, x30, [sp], 16")) == "ldp x29, x30, [sp], #16"
    assert str(one("ldr x0, [x1, w2, uxtw #3]")) == "ldr x0, [x1, w2, uxtw #3]"
    assert str(one("ldr x0, [x1]")) == "ldr x0, [x1]"


def test_mem_access_summary():
    i = one("ldp x4, x5, [x1, #16]")
    assert (i.mem.kind, i.mem.base, i.mem.offset, i.mem.size) == ("load", "x1", 16, 16)
    i = one("str x3, [sp, #-16]!")
    assert (i.mem.kind, i.mem.base, i.mem.offset, i.mem.size) == ("store", "sp", -16, 8)
    i = one("ldr x0, [x1], #8")
    assert i.mem.offset == 0  # post-index accesses the old base
    i = one("ldr q0, [x1, x2, lsl #4]")
    assert (i.mem.offset, i.mem.index, i.mem.size) == (None, "x2", 16)
    assert one("add x0, x1, x2").mem is None


# ------------------------------------------------------------- register views

@pytest.mark.parametrize("text, ops", [
    ("add w0, w1, w2", (W(0), W(1), W(2))),
    ("add w0, wzr, w1", (W(0), WZR, W(1))),
    ("adcs xzr, x1, x2", (XZR, X(1), X(2))),
    ("adc x0, xzr, xzr", (X(0), XZR, XZR)),
    ("mov x0, sp", (X(0), SP)),
    ("mov sp, x0", (SP, X(0))),
    ("add sp, sp, #16", (SP, SP, Imm(16, "16"))),
    ("umull x0, w1, w2", (X(0), W(1), W(2))),
    ("mov x29, x30", (X(29), X(30))),
    ("ldr q3, [x0]", (VReg(3, view="q"), Mem(X(0)))),
    ("ldr d31, [x0]", (VReg(31, view="d"), Mem(X(0)))),
    ("ldr s2, [x0]", (VReg(2, view="s"), Mem(X(0)))),
    ("fmov d0, x1", (VReg(0, view="d"), X(1))),
    ("fmov x1, d0", (X(1), VReg(0, view="d"))),
])
def test_register_views(text, ops):
    assert one(text).operands == ops


def test_register_properties():
    assert GPR(31, 64).resource is None and GPR(31, 64).is_zr
    assert SP.resource == "sp" and not SP.is_zr
    assert W(7).resource == "x7"
    assert VReg(3, view="d").resource == "v3"
    assert VReg(3, arr="2s").bits == 64 and VReg(3, arr="2d").bits == 128


@pytest.mark.parametrize("text, ops", [
    ("umull v0.2d, v1.2s, v2.2s", (VReg(0, "2d"), VReg(1, "2s"), VReg(2, "2s"))),
    ("umull2 v0.2d, v1.4s, v2.4s", (VReg(0, "2d"), VReg(1, "4s"), VReg(2, "4s"))),
    ("mul v0.4s, v1.4s, v2.4s", (VReg(0, "4s"), VReg(1, "4s"), VReg(2, "4s"))),
    ("and v0.16b, v1.16b, v2.16b", (VReg(0, "16b"), VReg(1, "16b"), VReg(2, "16b"))),
    ("xtn v0.2s, v1.2d", (VReg(0, "2s"), VReg(1, "2d"))),
    ("usra v0.2d, v1.2d, #32", (VReg(0, "2d"), VReg(1, "2d"), Imm(32, "32"))),
    ("mov x1, v1.d[1]", (X(1), VElem(1, "d", 1))),
    ("umov w0, v1.s[2]", (W(0), VElem(1, "s", 2))),
    ("ins v0.d[1], x1", (VElem(0, "d", 1), X(1))),
    ("mov v0.s[3], w1", (VElem(0, "s", 3), W(1))),
    ("dup v0.2d, x1", (VReg(0, "2d"), X(1))),
    ("mov v0.16b, v1.16b", (VReg(0, "16b"), VReg(1, "16b"))),
])
def test_vector_arrangements_and_elements(text, ops):
    assert one(text).operands == ops


@pytest.mark.parametrize("text", [
    "mov x1, v1.d[2]",             # element index out of range
    "umull v0.2d, v1.4s, v2.4s",   # arrangement mismatch (that is umull2)
    "mul v0.2d, v1.2d, v2.2d",     # no 64-bit lanes for mul
    "add v0.3s, v1.3s, v2.3s",     # not an arrangement
    "add x0, x1, x31",             # no register 31 by number
    "add v32.2d, v1.2d, v2.2d",
])
def test_bad_vector_or_register_operands_are_rejected(text):
    assert err(text).loc.line == 1


# ----------------------------------------------------------------- conditions

@pytest.mark.parametrize("spelling, code", [
    ("cc", "lo"), ("lo", "lo"), ("cs", "hs"), ("hs", "hs"), ("CC", "lo"), ("Cs", "hs"),
    ("eq", "eq"), ("ne", "ne"), ("mi", "mi"), ("pl", "pl"), ("hi", "hi"), ("ls", "ls"),
    ("ge", "ge"), ("lt", "lt"), ("gt", "gt"), ("le", "le"), ("vs", "vs"), ("vc", "vc"),
])
def test_condition_codes_are_canonicalised(spelling, code):
    for text in (f"csel x0, x1, x2, {spelling}", f"cneg x0, x1, {spelling}", f"csetm x0, {spelling}"):
        cond = one(text).operands[-1]
        assert isinstance(cond, Cond)
        assert cond.code == code


@pytest.mark.parametrize("a, b", [("cc", "lo"), ("cs", "hs")])
def test_condition_aliases_are_equivalent(a, b):
    ia, ib = one(f"cset x0, {a}"), one(f"cset x0, {b}")
    assert ia.operands[1].code == ib.operands[1].code
    assert ia.flags_read == ib.flags_read == "C"
    assert ia.reads == ib.reads and ia.writes == ib.writes
    assert str(ia) == f"cset x0, {a}"  # the spelling survives printing


def test_condition_al_nv_rejected_where_the_alias_forbids_them():
    assert err("cset x0, al").loc.line == 1
    assert err("cneg x0, x1, nv").loc.line == 1
    assert one("csel x0, x1, x2, nv").operands[3].code == "nv"


# ------------------------------------------------------------ case and spacing

@pytest.mark.parametrize("upper, lower", [
    ("ADDS X0, X1, X2", "adds x0, x1, x2"),
    ("UMULL V0.2D, V1.2S, V2.2S", "umull v0.2d, v1.2s, v2.2s"),
    ("ROR X0, X1, #3", "ror x0, x1, #3"),
    ("AdD x0, X1, x2", "add x0, x1, x2"),
    ("ADD X0, X1, W2, UXTW #2", "add x0, x1, w2, uxtw #2"),
    ("ADDS X0, X1, X2, LSL #33", "adds x0, x1, x2, lsl #33"),
    ("LDR Q0, [X1, #16]!", "ldr q0, [x1, #16]!"),
    ("STP X19, X20, [SP, #-16]!", "stp x19, x20, [sp, #-16]!"),
    ("MOV X0, V1.D[1]", "mov x0, v1.d[1]"),
    ("CSEL X0, X1, XZR, CC", "csel x0, x1, xzr, cc"),
    ("ADC W0, WZR, WZR", "adc w0, wzr, wzr"),
    ("MOVI V1.2D, #0XFF", "movi v1.2d, #0xff"),
    ("add x0,x1,x2", "add x0, x1, x2"),
    ("add   x0 ,  x1 ,x2", "add x0, x1, x2"),
    ("add\tx0,\tx1,\tx2", "add x0, x1, x2"),
    ("ldp x4,x5,[x1],#16", "ldp x4, x5, [x1], #16"),
    ("umlal v0.2d,v1.2s,v2.2s", "umlal v0.2d, v1.2s, v2.2s"),
])
def test_any_case_and_spacing(upper, lower):
    a, b = one(upper), one(lower)
    assert a.mnemonic == b.mnemonic == lower.split()[0]
    assert [kind_value(o) for o in a.operands] == [kind_value(o) for o in b.operands]
    assert a.form is b.form


def kind_value(op):
    """Operand identity ignoring the spelling kept for printing."""
    if isinstance(op, Imm):
        return ("imm", op.value)
    if isinstance(op, Cond):
        return ("cond", op.code)
    return op


# --------------------------------------------------------------- .req / .unreq

def test_req_aliases_and_unreq():
    prog = parse("""\
        acc .req x5
        ptr .req x1
        add acc, acc, #1
        ldr acc, [ptr, #8]
        .unreq acc
        acc .req x6
        add acc, acc, #1
    """)
    assert insns_of(prog) == ["add x5, x5, #1", "ldr x5, [x1, #8]", "add x6, x6, #1"]
    dirs = [s.text for s in prog.statements if isinstance(s, Directive)]
    assert dirs == ["acc .req x5", "ptr .req x1", ".unreq acc", "acc .req x6"]


def test_unreq_removes_the_alias():
    e = err("acc .req x5\nadd acc, acc, #1\n.unreq acc\nadd acc, acc, #1\n")
    assert e.loc.line == 4


def test_req_alias_of_alias_w_register_and_case():
    prog = parse("""\
        a .req x5
        b .req a
        t .req w7
        HI .req x9
        add b, b, #1
        add t, t, #1
        add hi, HI, #1
    """)
    assert insns_of(prog) == ["add x5, x5, #1", "add w7, w7, #1", "add x9, x9, #1"]


def test_req_of_a_non_register_is_an_error():
    e = err("add x0, x0, #1\nfoo .req bar\n")
    assert e.loc.line == 2 and "bar" in str(e)


# ------------------------------------------------------------------- macros

def test_macro_positional_args():
    prog = parse("""\
        .macro addc d, a, b
            adcs \\d, \\a, \\b
        .endm
        addc x0, x1, x2
        addc x3, x4, xzr
        addc x5 x6 x7
    """)
    assert insns_of(prog) == ["adcs x0, x1, x2", "adcs x3, x4, xzr", "adcs x5, x6, x7"]
    # expanded instructions are located at the invocation line
    assert [i.loc.line for i in prog.instructions] == [4, 5, 6]
    # .macro / .endm remain visible as directives; the body produces nothing by itself
    dirs = [s.text for s in prog.statements if isinstance(s, Directive)]
    assert dirs == [".macro addc d, a, b", ".endm"]
    assert prog.lines[1].statements == []
    assert len(prog.lines[3].statements) == 1


def test_macro_missing_arg_without_default_is_empty():
    # GNU as substitutes nothing for a missing argument that has no default
    assert insns(".macro m a, b\n add \\a, \\a, #1 \\b\n.endm\nm x1\n") == ["add x1, x1, #1"]


def test_macro_default_args():
    prog = parse("""\
        .macro addc d, a, b=xzr
            adcs \\d, \\a, \\b
        .endm
        addc x0, x1, x2
        addc x3, x4
        .macro two a b=x9
            add \\a, \\a, \\b
        .endm
        two x5
    """)
    assert insns_of(prog) == ["adcs x0, x1, x2", "adcs x3, x4, xzr", "add x5, x5, x9"]


def test_macro_name_is_case_insensitive_and_body_mnemonics_any_case():
    assert insns(".macro Inc r\n ADD \\r, \\r, #1\n.endm\nINC x3\ninc x4\n") == [
        "add x3, x3, #1", "add x4, x4, #1"]


def test_macro_unique_label_counter():
    prog = parse("""\
        .macro step r
        lbl\\@: add \\r, \\r, #1
        .endm
        step x1
        step x2
    """)
    labels = [s.name for s in prog.statements if isinstance(s, Label)]
    assert len(labels) == 2 and len(set(labels)) == 2
    assert all(re.fullmatch(r"lbl\d+", n) for n in labels)


def test_macro_concatenation_and_required_args():
    assert insns(".macro m r, n\n add \\r\\()\\n, \\r\\()\\n, #1\n.endm\nm x, 3\n") == ["add x3, x3, #1"]
    e = err(".macro m a:req, b\n add \\a, \\a, \\b\n.endm\nadd x0, x0, x0\nm\n")
    assert e.loc.line == 5 and "a" in str(e)


def test_macro_too_many_args_is_an_error():
    e = err(".macro m a\n add \\a, \\a, #1\n.endm\nm x1, x2\n")
    assert e.loc.line == 4


def test_nested_macro_calls():
    prog = parse("""\
        .macro inc r
            add \\r, \\r, #1
        .endm
        .macro inc2 r, s
            inc \\r
            inc \\s ; inc \\r
        .endm
        .macro inc4 a, b
            inc2 \\a, \\b
            inc2 \\b, \\a
        .endm
        inc4 x1, x2
    """)
    assert insns_of(prog) == [
        "add x1, x1, #1", "add x2, x2, #1", "add x1, x1, #1",
        "add x2, x2, #1", "add x1, x1, #1", "add x2, x2, #1",
    ]
    assert {i.loc.line for i in prog.instructions} == {12}


def test_macro_with_comments_and_semicolons_on_one_line():
    assert insns(".macro m a; add \\a, \\a, #1 /* c */; .endm; m x3 // use\n") == ["add x3, x3, #1"]


def test_purgem_removes_macro():
    e = err(".macro m\n add x0, x0, #1\n.endm\nm\n.purgem m\nm\n")
    assert e.loc.line == 6 and "unsupported instruction 'm'" in str(e)


def test_recursive_macro_is_stopped():
    e = err(".macro r\n r\n.endm\nr\n")
    assert e.loc.line == 4 and "deep" in str(e)


def test_rept():
    prog = parse("""\
        .rept 3
            adds x0, x0, x1
            adc x2, x2, xzr
        .endr
        .rept 0
            eor x9, x9, x9
        .endr
        .rept 2*1
            sub x3, x3, #1
        .endr
    """)
    assert insns_of(prog) == ["adds x0, x0, x1", "adc x2, x2, xzr"] * 3 + ["sub x3, x3, #1"] * 2


def test_irp():
    prog = parse("""\
        .irp r, x1, x2, x3
            add \\r, \\r, #1
        .endr
        .irp n, 4 5
            lsl x\\n, x\\n, #\\n
        .endr
    """)
    assert insns_of(prog) == ["add x1, x1, #1", "add x2, x2, #1", "add x3, x3, #1",
                              "lsl x4, x4, #4", "lsl x5, x5, #5"]


def test_rept_and_irp_nested_in_a_macro():
    prog = parse("""\
        .macro clear a, b
            .irp r, \\a, \\b
                .rept 2
                    eor \\r, \\r, \\r
                .endr
            .endr
        .endm
        clear x1, x2
    """)
    assert insns_of(prog) == ["eor x1, x1, x1"] * 2 + ["eor x2, x2, x2"] * 2


def test_macro_defined_inside_macro_body_needs_outer_expansion():
    prog = parse("""\
        .macro outer
            .macro inner r
                add \\r, \\r, #1
            .endm
        .endm
        outer
        inner x4
    """)
    assert insns_of(prog) == ["add x4, x4, #1"]


@pytest.mark.parametrize("directive", ['.include "other.s"', ".exitm", ".altmacro", ".ifxyz 1"])
def test_unsupported_directives_are_clear_errors(directive):
    e = err(f"add x0, x0, #1\n  {directive}\nadd x1, x1, #1\n.endif\n", "u.s")
    assert str(e).startswith("u.s:2: unsupported directive '")
    assert directive.split()[0] in str(e)


def test_unsupported_directive_inside_macro_is_reported_on_expansion():
    text = ".macro m a\n .if \\a\n  .exitm\n .endif\n.endm\nadd x0, x0, #1\nm 0\nm 1\n"
    e = err(text)
    # reported on the expansion that reaches it (m 1, line 8), at the body line (issue 28)
    assert e.loc.line == 3 and ".exitm" in str(e) and "(in macro 'm' called at t.s:8)" in str(e)


@pytest.mark.parametrize("text, line, words", [
    ("add x0, x0, #1\n.macro m a\n add \\a, \\a, #1\n", 2, (".macro", ".endm")),
    ("add x0, x0, #1\n\n.rept 2\n add x0, x0, #1\n", 3, (".rept", ".endr")),
    (".irp r, x1\n add \\r, \\r, #1\n", 1, (".irp", ".endr")),
    (".macro a\n.macro b\n.endm\n", 1, (".macro", ".endm")),
])
def test_unterminated_blocks_are_errors(text, line, words):
    e = err(text, "open.s")
    assert e.loc.line == line
    assert str(e).startswith(f"open.s:{line}: ")
    assert all(w in str(e) for w in words)


@pytest.mark.parametrize("text", [".endm", ".endr"])
def test_closing_directive_without_opening_is_an_error(text):
    e = err(f"add x0, x0, #1\n{text}\n")
    assert e.loc.line == 2 and text in str(e)


# ------------------------------------------------------------------- errors

def test_unknown_mnemonic_error_string_is_exact():
    e = err("add x0, x1, x2\nsub x0, x1, x2\nxyz x1, x2\n", "kernel.s")
    assert str(e) == "kernel.s:3: unsupported instruction 'xyz x1, x2'"
    assert e.loc.file == "kernel.s" and e.loc.line == 3


@pytest.mark.parametrize("text, line, stmt", [
    ("xyz", 1, "xyz"),
    ("\n\n\n   XYZ X1, X2   // comment\n", 4, "XYZ X1, X2"),
    ("add x0, x0, #1; xyz x1 ; sub x0, x0, #1\n", 1, "xyz x1"),
    ("lbl: frob x1, [x2, #8]\n", 1, "frob x1, [x2, #8]"),
    ("/* one\n two\n three */\n// four\nadd x0, x0, #1\nxyz x9\n", 6, "xyz x9"),
    ("/* one\n two */ xyz x3\n", 2, "xyz x3"),
    ("add x0, x0, #1 /* a */ ; nop\n", 1, "nop"),
])
def test_unknown_mnemonic_line_numbers(text, line, stmt):
    e = err(text, "k.s")
    assert str(e) == f"k.s:{line}: unsupported instruction '{stmt}'"


def test_unknown_mnemonic_in_file_names_the_path(tmp_path):
    path = tmp_path / "f.s"
    path.write_text("// header\n\n        mul x0, x1, x2\n        bogus x0\n")
    with pytest.raises(AsmError) as info:
        parse_file(path)
    assert str(info.value) == f"{path}:4: unsupported instruction 'bogus x0'"


def test_unknown_mnemonic_in_macro_is_reported_at_the_body_line_with_the_invocation():
    e = err(".macro m\n xyz x1\n.endm\n\nm\n", "k.s")
    assert str(e) == "k.s:2: unsupported instruction 'xyz x1' (in macro 'm' called at k.s:5)"


def test_error_in_rept_body_points_into_the_rept_block():
    e = err("add x0, x0, #1\n.rept 2\nxyz x1\n.endr\n", "k.s")
    assert e.loc.line in (2, 3)
    assert "unsupported instruction 'xyz x1'" in str(e)


@pytest.mark.parametrize("text", [
    "add x0, x1, v2.2d",
    "add x0, x1",
    "add x0, x1, x2, x3",
    "mul x0, x1, #3",
    "str x0, x1",
    "csel x0, x1, x2",
    "umull v0.2d, v1.2d, v2.2d",
    "adcs x0, x1, #1",
    "mov x0, v1.2d",
    "ldr x0, [x1, x2, lsl #3]!",
    "stp x0, x1, [x2, x3]",
    "ldr x0, [w1]",
    "ldr x0, [xzr]",
    "add x0, w1, w2",
    "ld1 {v0.2d}, [x1]",
    "ldr x0, =0x1234",
])
def test_unsupported_operand_forms_are_rejected_with_location(text):
    e = err(f"add x0, x0, #1\n\n   {text}  // c\n", "form.s")
    assert e.loc == type(e.loc)("form.s", 3)
    assert str(e).startswith("form.s:3: ")
    assert text in str(e)


@pytest.mark.parametrize("text", [
    "add x0, x1, #4097",
    "add x0, x1, #0x1000000",
    "sub x0, x1, #-4097",
    "and x0, x1, #5",
    "and x0, x1, #0",
    "orr x0, x1, #-1",
    "tst x0, #0",
    "ldp x0, x1, [x2, #3]",
    "ldp x0, x1, [x2, #512]",
    "ldp x0, x1, [x2, #-520]",
    "lsl x0, x1, #64",
    "lsr w0, w1, #32",
    "ldr x0, [x1, #32761]",
    "ldr x0, [x1, #-257]",
    "ldr x0, [x1, #256]!",
    "ldr x0, [x1, x2, lsl #2]",
    "ldr x0, [x1, w2]",
    "ldr x0, [x1, x2, uxtw]",
    "mov x0, #0x10000000000000000",
    "mov x0, #0x123456789",
    "movz x0, #0x10000",
    "movk x0, #1, lsl #8",
    "movi v0.2d, #0x1234",
    "usra v0.2d, v1.2d, #0",
    "shl v0.2d, v1.2d, #64",
    "extr x0, x1, x2, #64",
    "ext v0.16b, v1.16b, v2.16b, #16",
    "ccmp x0, x1, #16, eq",
])
def test_unencodable_immediates_are_rejected_with_location(text):
    e = err(f"add x0, x0, #1\n\n\n{text}\n", "imm.s")
    assert str(e).startswith("imm.s:4: ")
    assert text in str(e)


@pytest.mark.parametrize("text", [
    "ldp x1, x2, [x1], #16",
    "ldp x1, x2, [x2, #16]!",
    "ldr x0, [x0], #8",
    "ldr x0, [x0, #8]!",
    "str x1, [x1, #8]!",
    "stp x1, x2, [x1, #16]!",
    "ldp x0, x0, [x1]",
])
def test_writeback_overlap_and_duplicate_pair_rejected(text):
    e = err(f"add x0, x0, #1\n{text}\n", "wb.s")
    assert str(e).startswith("wb.s:2: ")
    assert text in str(e)


@pytest.mark.parametrize("text", [
    "ldr x1, [x1]",
    "ldr x1, [x1, #8]",
    "ldp x1, x2, [x1]",
    "stp x0, x1, [sp, #-16]!",
    "ldp x29, x30, [sp], #16",
    "ldr x1, [x2], #8",
    "str x1, [x1]",
])
def test_non_overlapping_or_non_writeback_transfers_accepted(text):
    assert str(one(text)) == text


# ------------------------------------------------------------------ .S files

HEADER = """\
// header comment
#define ACC x5
#define ADD1(r) add r, r, #1
"""

SFILE = """\
#include "defs.h"
/* a multi-line
   block comment
   in the .S file */
#define TWO(r) \\
    add r, r, #2; \\
    add r, r, #3
#define PTR x1
#if 0
bogus x1
bogus x2
bogus x3
bogus x4
bogus x5
bogus x6
bogus x7
bogus x8
bogus x9
bogus x10
bogus x11
#endif
        ADD1(ACC)            // line 22
        TWO(x1)
#ifdef EXTRA
        add x2, x2, #EXTRA
#endif
        ldr x3, [PTR, #OFF]
"""


def write_s_file(tmp_path: Path, tail: str = "") -> tuple[Path, Path]:
    inc = tmp_path / "include"
    inc.mkdir(exist_ok=True)
    (inc / "defs.h").write_text(HEADER)
    src = tmp_path / "kernel.S"
    src.write_text(SFILE + tail)
    return src, inc


@needs_cpp
def test_S_file_defines_include_and_command_line_defines(tmp_path):
    src, inc = write_s_file(tmp_path)
    prog = parse_file(src, include_dirs=[inc], defines=["EXTRA=7", "OFF=16"])
    assert insns_of(prog) == [
        "add x5, x5, #1", "add x1, x1, #2", "add x1, x1, #3", "add x2, x2, #7", "ldr x3, [x1, #16]",
    ]
    assert [(Path(i.loc.file).name, i.loc.line) for i in prog.instructions] == [
        ("kernel.S", 22), ("kernel.S", 23), ("kernel.S", 23), ("kernel.S", 25), ("kernel.S", 27),
    ]
    # without -DEXTRA the #ifdef block disappears
    prog = parse_file(src, include_dirs=[inc], defines=["OFF=8"])
    assert insns_of(prog)[-2:] == ["add x1, x1, #3", "ldr x3, [x1, #8]"]


@needs_cpp
def test_S_file_error_lines_refer_to_original_file(tmp_path):
    src, inc = write_s_file(tmp_path, "\n\n        frob PTR, ACC\n")
    with pytest.raises(AsmError) as info:
        parse_file(src, include_dirs=[inc], defines=["OFF=0"])
    # quoted as written, before the preprocessor (issue 28)
    assert str(info.value) == f"{src}:30: unsupported instruction 'frob PTR, ACC'"


@needs_cpp
def test_S_file_encoding_error_lines_refer_to_original_file(tmp_path):
    src, inc = write_s_file(tmp_path)
    with pytest.raises(AsmError) as info:
        parse_file(src, include_dirs=[inc], defines=["OFF=32761"])
    assert info.value.loc.line == 27
    assert str(info.value).startswith(f"{src}:27: ")
    assert "'ldr x3, [PTR, #OFF]': offset 32761 is not encodable" in str(info.value)  # as written


@needs_cpp
def test_S_file_error_inside_included_header_names_the_header(tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "bad.h").write_text("// h\n\n        zap x0\n")
    src = tmp_path / "k.S"
    src.write_text("        add x0, x0, #1\n#include \"bad.h\"\n")
    with pytest.raises(AsmError) as info:
        parse_file(src, include_dirs=[inc])
    assert info.value.loc.file.endswith("bad.h")
    assert info.value.loc.line == 3
    assert str(info.value) == f"{info.value.loc.file}:3: unsupported instruction 'zap x0'"


@needs_cpp
def test_S_file_lines_are_the_preprocessed_text_with_original_locations(tmp_path):
    src, inc = write_s_file(tmp_path)
    prog = parse_file(src, include_dirs=[inc], defines=["OFF=16"])
    expected = preprocess(src, [inc], ["OFF=16"])
    assert [ln.raw for ln in prog.lines] == [raw for raw, _ in expected]
    by_line = {ln.loc.line: ln for ln in prog.lines if ln.loc.file == str(src)}
    assert by_line[2].raw == "/* a multi-line"
    assert by_line[22].raw.split() == ["add", "x5,", "x5,", "#1", "//", "line", "22"]
    assert by_line[22].comment == "// line 22"
    assert by_line[23].raw.split() == ["add", "x1,", "x1,", "#2;", "add", "x1,", "x1,", "#3"]
    assert by_line[27].raw.split() == ["ldr", "x3,", "[x1,", "#16]"]
    assert all(ln.raw == "" for n, ln in by_line.items() if 5 <= n <= 21)


@needs_cpp
def test_S_file_missing_include_is_a_clear_error(tmp_path):
    src = tmp_path / "k.S"
    src.write_text('#include "nowhere.h"\nret\n')
    with pytest.raises(AsmError) as info:
        parse_file(src)
    assert "nowhere.h" in str(info.value)


def test_lowercase_s_file_is_not_preprocessed(tmp_path):
    path = tmp_path / "k.s"
    path.write_text("#define ACC x5\nadd x5, x5, #1\n")
    prog = parse_file(path)
    assert prog.lines[0].statements == [] and prog.lines[0].comment == "#define ACC x5"
    assert insns_of(prog) == ["add x5, x5, #1"]


def test_missing_file_is_an_asm_error(tmp_path):
    with pytest.raises(AsmError) as info:
        parse_file(tmp_path / "missing.s")
    assert "missing.s" in str(info.value)


# --------------------------------------------------------------- annotations

def test_annotations_populate_noalias_and_outputs():
    prog = parse("""\
        // @noalias x0, x1
        // @outputs x0
        add x0, x0, x1
    """)
    assert prog.noalias == frozenset({"x0", "x1"})
    assert prog.outputs == ("x0",)


def test_annotations_accumulate_keep_order_and_resolve_views_and_aliases():
    prog = parse("""\
        ptr .req x2
        // @noalias x0
        /* @noalias: ptr x3 */
        // @outputs x4, w1
        add x0, x0, x1   // @outputs x0
    """)
    assert prog.noalias == frozenset({"x0", "x2", "x3"})
    assert prog.outputs == ("x4", "x1", "x0")


def test_no_annotations_means_empty():
    prog = parse("// noalias x0\n// outputs x1\nadd x0, x0, x1\n")
    assert prog.noalias == frozenset() and prog.outputs == ()


def test_bad_annotation_register_is_an_error_with_line():
    e = err("add x0, x0, #1\n// @outputs x0, bogus\n", "a.s")
    assert str(e).startswith("a.s:2: ") and "bogus" in str(e)


# ------------------------------------------------------------ reads / writes

@pytest.mark.parametrize("text, reads, writes", [
    ("adcs x0, x1, x2", {"x1", "x2", "nzcv"}, {"x0", "nzcv"}),
    ("adc x0, x1, xzr", {"x1", "nzcv"}, {"x0"}),
    ("adds x0, x1, x2", {"x1", "x2"}, {"x0", "nzcv"}),
    ("cneg x0, x1, cc", {"x1", "nzcv"}, {"x0"}),
    ("csetm x3, hs", {"nzcv"}, {"x3"}),
    ("cset x3, eq", {"nzcv"}, {"x3"}),
    ("csel x0, x1, x2, ne", {"x1", "x2", "nzcv"}, {"x0"}),
    ("add w0, w1, w2", {"x1", "x2"}, {"x0"}),
    ("umull x0, w1, w2", {"x1", "x2"}, {"x0"}),
    ("umlal v0.2d, v1.2s, v2.2s", {"v0", "v1", "v2"}, {"v0"}),
    ("umull v0.2d, v1.2s, v2.2s", {"v1", "v2"}, {"v0"}),
    ("usra v0.2d, v1.2d, #32", {"v0", "v1"}, {"v0"}),
    ("ushr v0.2d, v1.2d, #32", {"v1"}, {"v0"}),
    ("ins v0.d[1], x1", {"v0", "x1"}, {"v0"}),
    ("mov v0.d[1], x1", {"v0", "x1"}, {"v0"}),
    ("sli v0.2d, v1.2d, #32", {"v0", "v1"}, {"v0"}),
    ("movk x0, #1, lsl #16", {"x0"}, {"x0"}),
    ("movz x0, #1, lsl #16", set(), {"x0"}),
    ("mov x0, v1.d[1]", {"v1"}, {"x0"}),
    ("ldp x4, x5, [x1], #16", {"x1"}, {"x4", "x5", "x1"}),
    ("ldp x4, x5, [x1, #16]", {"x1"}, {"x4", "x5"}),
    ("ldr q0, [x1, x2, lsl #4]", {"x1", "x2"}, {"v0"}),
    ("stp x4, x5, [x1, #16]", {"x1", "x4", "x5"}, set()),
    ("stp x19, x20, [sp, #-16]!", {"sp", "x19", "x20"}, {"sp"}),
    ("str x3, [x1], #8", {"x1", "x3"}, {"x1"}),
    ("ret", {"x30"}, set()),
    ("ret x5", {"x5"}, set()),
    ("adcs xzr, x1, x2", {"x1", "x2", "nzcv"}, {"nzcv"}),
    ("sbcs xzr, x1, xzr", {"x1", "nzcv"}, {"nzcv"}),
    ("cmp x1, x2", {"x1", "x2"}, {"nzcv"}),
    ("tst x1, #0x8000000000000000", {"x1"}, {"nzcv"}),
    ("ngc x0, xzr", {"nzcv"}, {"x0"}),
    ("mov x0, sp", {"sp"}, {"x0"}),
    ("sub sp, sp, #16", {"sp"}, {"sp"}),
])
def test_reads_and_writes(text, reads, writes):
    i = one(text)
    assert set(i.reads) == reads
    assert set(i.writes) == writes


def test_flags_read_follow_the_condition():
    assert one("cneg x0, x1, cc").flags_read == "C"
    assert one("csel x0, x1, x2, hi").flags_read == "ZC"  # in NZCV order
    assert one("csel x0, x1, x2, gt").flags_read == "NZV"
    assert one("adcs x0, x1, x2").flags_read == "C"
    assert one("adds x0, x1, x2").flags_read == ""


# -------------------------------------------------------------------- blocks

def test_blocks_split_at_labels_directives_and_branches():
    prog = parse("""\
        f:
            add x0, x0, x1
            mul x2, x3, x4
            .balign 4
            eor x5, x5, x6
        1:  sub x7, x7, #1
            add x8, x8, #1
            cbnz x7, f
            orr x9, x9, x10
            b f
            ret
        g:
            adds x0, x0, #1 ; adc x1, x1, xzr
            ret
    """)
    blocks = prog.blocks()
    assert [[str(i) for i in b.instructions] for b in blocks] == [
        ["add x0, x0, x1", "mul x2, x3, x4"],
        ["eor x5, x5, x6"],
        ["sub x7, x7, #1", "add x8, x8, #1"],
        ["orr x9, x9, x10"],
        ["adds x0, x0, #1", "adc x1, x1, xzr"],
    ]
    assert [b.index for b in blocks] == list(range(5))
    for b in blocks:
        assert prog.statements[b.start] is b.instructions[0]
        assert prog.statements[b.start:b.start + len(b.instructions)] == b.instructions


def test_blocks_of_program_without_instructions():
    assert parse(".text\nf:\n// nothing\n").blocks() == []


# ---------------------------------------------------------------- round trip

def regenerate(prog: Program) -> str:
    """Print every SourceLine from its statements (joined by '; ') plus its comment.

    SourceLine.comment does not say where the comment sat in the line, so a line
    that starts inside an open /* */ comment prints the comment up to its first
    '*/' before the code (the code cannot precede it); otherwise code comes first.
    """
    out, in_block = [], False
    for line in prog.lines:
        code = "; ".join(str(s) for s in line.statements)
        head, tail = "", line.comment
        if in_block and "*/" in tail:
            cut = tail.index("*/") + 2
            head, tail = tail[:cut], tail[cut:].strip()
        out.append(" ".join(p for p in (head, code, tail) if p))
        in_block = _block_open_after(line.comment, in_block)
    return "\n".join(out) + "\n"


def _block_open_after(comment: str, in_block: bool) -> bool:
    i = 0
    while i < len(comment):
        if in_block:
            end = comment.find("*/", i)
            if end < 0:
                return True
            in_block, i = False, end + 2
        elif comment.startswith("/*", i):
            in_block, i = True, i + 2
        elif comment.startswith("//", i):
            return False
        else:
            i += 1
    return in_block


def summary(prog: Program) -> dict:
    return {
        "instructions": [(i.mnemonic, i.operands) for i in prog.instructions],
        "labels": [s.name for s in prog.statements if isinstance(s, Label)],
        "directives": [s.text for s in prog.statements if isinstance(s, Directive)],
        "comments": [ln.comment for ln in prog.lines],
        "per_line": [[str(s) for s in ln.statements] for ln in prog.lines],
        "noalias": prog.noalias,
        "outputs": prog.outputs,
    }


def test_inputs_exist():
    names = {p.name for p in INPUTS}
    assert {"mul_4x4.s", "montmul_p256.S", "mul_8x8_neon.s"} <= names


def _parse_input(path: Path) -> Program:
    if path.suffix == ".S" and not HAVE_CPP:
        pytest.skip("no C preprocessor")
    return parse_file(path)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_roundtrip_raw_lines(path):
    prog = _parse_input(path)
    raws = [ln.raw for ln in prog.lines]
    if path.suffix == ".S":
        assert raws == [raw for raw, _ in preprocess(path)]
        _check_preprocessed_lines_match_source(prog, path)
    else:
        assert raws == path.read_text().splitlines()
        assert [ln.loc.line for ln in prog.lines] == list(range(1, len(raws) + 1))
    assert prog.instructions, "every example has instructions"
    for ln in prog.lines:
        for s in ln.statements:
            assert s.loc.file == ln.loc.file


def _check_preprocessed_lines_match_source(prog: Program, path: Path) -> None:
    """Independent check of the .S mapping: substitute the file's simple #defines
    outside comments in the original line and compare with the preprocessed line."""
    src = path.read_text()
    src_lines = src.splitlines()
    defines = dict(re.findall(r"^#define\s+(\w+)\s+(\S+)[ \t]*(?://.*)?$", src, re.M))
    assert defines, "montmul_p256.S names its registers with #define"
    in_block = False
    checked = 0
    for ln in prog.lines:
        if ln.loc.file != str(path):
            continue
        orig = src_lines[ln.loc.line - 1]
        if orig.lstrip().startswith("#"):
            assert ln.raw.strip() == ""
            continue
        expected, in_block = _substitute_outside_comments(orig, defines, in_block)
        assert ln.raw.split() == expected.split(), (ln.loc, orig)
        checked += 1
    assert checked > 100


def _substitute_outside_comments(line: str, defines: dict, in_block: bool) -> tuple[str, bool]:
    out, i = [], 0
    sub = lambda s: re.sub(r"\b\w+\b", lambda m: defines.get(m.group(), m.group()), s)  # noqa: E731
    while i < len(line):
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                out.append(line[i:])
                return "".join(out), True
            out.append(line[i:end + 2])
            i, in_block = end + 2, False
            continue
        starts = [p for p in (line.find("/*", i), line.find("//", i)) if p >= 0]
        if not starts:
            out.append(sub(line[i:]))
            break
        j = min(starts)
        out.append(sub(line[i:j]))
        if line.startswith("//", j):
            out.append(line[j:])
            break
        in_block, i = True, j
    return "".join(out), in_block


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_roundtrip_canonical_regeneration(path):
    prog = _parse_input(path)
    text = regenerate(prog)
    again = parse_text(text, "regen.s")
    assert len(again.lines) == len(prog.lines)
    a, b = summary(prog), summary(again)
    for field in a:
        assert a[field] == b[field], field
    # and regeneration is a fixed point
    assert regenerate(again) == text


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_roundtrip_regenerated_text_assembles_to_the_same_bytes(path, assembler):
    from scheduler.frontend.assemble import assemble_text

    prog = _parse_input(path)
    original = "\n".join(ln.raw for ln in prog.lines) + "\n"
    code = assemble_text(regenerate(prog), assembler=assembler)
    assert len(code) == 4 * len(prog.instructions)
    assert code == assemble_text(original, assembler=assembler)


def test_regenerate_handles_tricky_comment_layouts():
    text = textwrap.dedent("""\
        f: add x0, x0, #1 /* open
           middle ; text
        */ sub x1, x1, #1 ; eor x2, x2, x3 // tail
        /* a */ ret /* b */
        # hash
    """)
    prog = parse_text(text)
    again = parse_text(regenerate(prog))
    assert summary(again) == summary(prog)


# ------------------------------------------------------- GNU-as compatibility
# Behaviour that once contradicted GNU as 2.40 (aarch64-linux-gnu-as); each test
# was an xfail bug report and is now a regression test.

def test_slash_star_slash_does_not_close_comment():
    assert insns("/*/ add x0, x1, x2 */ sub x0, x1, x2\n") == ["sub x0, x1, x2"]
    assert insns("/**/ add x0, x1, x2 /*x*/\n") == ["add x0, x1, x2"]


def test_octal_immediate():
    assert imm_of("add x0, x1, #010") == 8
    assert imm_of("add x0, x1, #0") == 0


@pytest.mark.parametrize("text", ["add x0, x1, #1_0", "add x0, x1, #0o17", "add x0, x1, #08",
                                  "add x0, x1, #0x", "add x0, x1, #2**3"])
def test_python_only_and_bad_literal_syntax_rejected(text):
    assert err(text).loc.line == 1


@pytest.mark.parametrize("expr, value", [
    ("1 + 1 << 2", 5),       # << binds like * in GNU as
    ("2 + 3 & 1", 3),        # & binds tighter than +
    ("6 ! 1", -2),           # binary ! is or-not
    ("3 == 3", -1),          # a true comparison is -1
    ("1 < 2 + 5", -1),       # comparisons bind more loosely than +
    ("3 > 2 > 1", 0),        # left-associative
    ("2 <> 2", 0),
    ("!0 + !5", 1),
    ("1 && 2", 1),
    ("0 || 0", 0),
    ("-7 >> 5 >> 58", 1),  # `>>` is a logical shift of the 64-bit value (GNU as 2.40)
])
def test_expression_operators_follow_gnu_as(expr, value):
    # each value checked with aarch64-linux-gnu-as 2.40
    assert imm_of(f".equ V, {expr}\nadd x0, x0, #V") == value


def test_bare_symbol_is_case_sensitive():
    prog = parse(".equ n, 1\n.equ N, 2\nadd x0, x1, N\nadd x0, x1, n\n")
    assert [i.operands[2].value for i in prog.instructions] == [2, 1]


def test_forward_reference_to_equ_is_a_clear_error():
    # GNU as resolves a symbol defined later (it needs a second pass); the parser
    # is single-pass, so a forward reference is reported at its use instead.
    e = err("add x0, x0, #N\n.equ N, 4\n")
    assert e.loc.line == 1 and "unknown symbol 'N'" in str(e) and "defined before" in str(e)


def test_macro_empty_positional_arg_uses_default():
    assert insns(".macro m a, b=x5, c\n add \\a, \\b, \\c\n.endm\nm x1, , x3\n") == ["add x1, x5, x3"]


def test_macro_mixed_separators():
    assert insns(".macro m a, b, c\n add \\a, \\b, \\c\n.endm\nm x1 x2, x3\nm x1 ,x2 x3\n") == [
        "add x1, x2, x3", "add x1, x2, x3"]


def test_macro_args_are_split_after_gnu_as_drops_blanks_around_operators():
    # GNU as keeps a blank only between two name characters: `1 + 2` is one argument
    text = ".macro m r, v\n add \\r, \\r, #\\v\n.endm\n"
    assert insns(text + "m x1, 1 + 2\nm x1, (1 + 2)\n") == ["add x1, x1, #1+2", "add x1, x1, #(1+2)"]
    assert err(text + "m x1 1 2\n").loc.line == 4  # too many arguments
    assert "x1(1+2)" in str(err(text + "m x1 (1 + 2)\n"))  # one argument, as in GNU as
    assert branch_taken(".ifc 1 + 2, 1+2") and not branch_taken(".ifc a b, ab")


def test_macro_keyword_args():
    text = ".macro m a, b=x5, c=x6\n add \\a, \\b, \\c\n.endm\n"
    assert insns(text + "m x1, c=x3\nm x1 c=x3\nm c=x4, a=x2, b = x7\n") == [
        "add x1, x5, x3", "add x1, x5, x3", "add x2, x7, x4"]
    assert "'d'" in str(err(text + "m x1, d=x3\n"))
    assert err(text + "m b=x1, x2\n").loc.line == 4  # positional after keyword


def test_macro_quoted_and_bracketed_args():
    text = ".macro ld r, addr\n ldr \\r, \\addr\n.endm\n"
    assert insns(text + 'ld x0, [x1]\nld x0 "[x1, #16]"\n') == ["ldr x0, [x1]", "ldr x0, [x1, #16]"]
    # a comma splits arguments even inside brackets (GNU as: too many positional arguments)
    assert err(text + "ld x0, [x1, #8]\n").loc.line == 4


def test_macro_vararg_takes_the_rest_of_the_line():
    assert insns(".macro m op, rest:vararg\n \\op \\rest\n.endm\nm add, x0, x1, x2\n") == ["add x0, x1, x2"]


def test_macro_counter_starts_at_zero():
    assert insns(".macro m\n add x0, x0, #\\@\n.endm\nm\nm\n") == ["add x0, x0, #0", "add x0, x0, #1"]


def test_macro_counter_counts_only_macro_expansions():
    # .irp substitutes the current count without advancing it; .rept substitutes nothing
    prog = parse("""\
        .macro m
            add x0, x0, #\\@
        .endm
        m
        .irp r, 1, 2
            add x1, x1, #\\@
        .endr
        .rept 2
            add x2, x2, #7
        .endr
        m
    """)
    assert insns_of(prog) == ["add x0, x0, #0", "add x1, x1, #1", "add x1, x1, #1",
                              "add x2, x2, #7", "add x2, x2, #7", "add x0, x0, #1"]
    assert err(".rept 1\n add x0, x0, #\\@\n.endr\n").loc.line == 1


def test_macro_redefinition_rejected():
    e = err(".macro m\n add x0, x0, #1\n.endm\n.macro M\n add x1, x1, #1\n.endm\n")
    assert e.loc.line == 4 and "already defined" in str(e)
    # after .purgem the name is free again
    assert insns(".macro m\n.endm\n.purgem m\n.macro m\n add x0, x0, #1\n.endm\nm\n") == ["add x0, x0, #1"]


def test_irp_without_values_runs_once():
    assert insns(".irp r\n add x0, x0, #1\n.endr\n") == ["add x0, x0, #1"]
    assert insns(".irp r x1 x2\n add \\r, \\r, #1\n.endr\n") == ["add x1, x1, #1", "add x2, x2, #1"]


def test_irpc():
    prog = parse("""\
        .irpc c, 123
            add x0, x0, #\\c
        .endr
        .irpc n 4 5
            add x\\n, x\\n, #1
        .endr
        .irpc c
            add x9, x9, #1\\c
        .endr
    """)
    assert insns_of(prog) == ["add x0, x0, #1", "add x0, x0, #2", "add x0, x0, #3",
                              "add x4, x4, #1", "add x5, x5, #1", "add x9, x9, #1"]
    assert "'.irpc'" in str(err(".irpc c, 12\n"))


def test_irpc_inside_macro():
    assert insns(".macro m regs\n .irpc r, \\regs\n  add x\\r, x\\r, #1\n .endr\n.endm\nm 37\n") == [
        "add x3, x3, #1", "add x7, x7, #1"]


def test_req_vector_register_alias():
    prog = parse("vv .req v3\nmov x0, vv.d[1]\numull vv.2d, v1.2s, v2.2s\n// @outputs vv\n")
    assert insns_of(prog) == ["mov x0, v3.d[1]", "umull v3.2d, v1.2s, v2.2s"]
    assert prog.outputs == ("v3",)
    assert err("vv .req v32\n").loc.line == 1


def test_req_redefinition_keeps_first():
    assert insns("acc .req x5\nacc .req x6\nadd acc, acc, #1\n") == ["add x5, x5, #1"]
    # nor can a register name be redefined
    assert insns("x1 .req x2\nadd x1, x1, #1\n") == ["add x1, x1, #1"]


def test_equiv_redefinition_rejected():
    e = err(".equiv a, 1\n.equiv a, 2\n")
    assert e.loc.line == 2 and "'a'" in str(e)
    assert err(".equ a, 1\n.equiv a, 2\n").loc.line == 2
    assert imm_of(".equiv a, 1\n.set a, 2\nadd x0, x0, #a") == 2


def test_xzr_index_register():
    i = one("ldr x0, [x1, xzr]")
    assert i.operands[1].index == XZR
    assert i.reads == frozenset({"x1"}) and i.mem.index is None and i.mem.offset == 0
    assert str(i) == "ldr x0, [x1, xzr]"


@pytest.mark.parametrize("text", ["ld1 {v0.2d}, [x1]", "ldr2 x0, =sym", "foo x0, #(1"])
def test_unknown_mnemonic_message_is_exact_whatever_the_operands(text):
    e = err(text, "k.s")
    assert str(e) == f"k.s:1: unsupported instruction '{text}'"


# ------------------------------------------------------- conditional assembly

def branch_taken(directive: str, prelude: str = "") -> bool:
    prog = parse(f"{prelude}\n{directive}\nadd x1, x1, #1\n.else\nadd x2, x2, #2\n.endif\n")
    (ins,) = insns_of(prog)
    return ins == "add x1, x1, #1"


@pytest.mark.parametrize("directive, taken", [
    (".if 1", True), (".if 0", False), (".if 2 - 2", False), (".if -1", True), (".if 3 > 2", True),
    (".ifne 0", False), (".ifne 5", True), (".ifeq 0", True), (".ifeq 1", False),
    (".ifgt 1", True), (".ifgt 0", False), (".ifge 0", True), (".ifge -1", False),
    (".iflt -1", True), (".iflt 0", False), (".ifle 0", True), (".ifle 1", False),
])
def test_conditional_expression_tests(directive, taken):
    assert branch_taken(directive) == taken


@pytest.mark.parametrize("directive, taken", [
    (".ifdef N", True), (".ifdef n", False), (".ifndef N", False), (".ifnotdef M", True),
    (".ifdef lbl", True), (".ifdef later", False), (".ifdef acc", False),  # .req names are no symbols
    (".ifb", True), (".ifb x", False), (".ifnb x", True), (".ifnb", False),
    (".ifc a,a", True), (".ifc a, a", True), (".ifc a b, a b", True), (".ifc a,A", False),
    (".ifnc a,b", True),
    ('.ifeqs "a", "a"', True), ('.ifeqs "a", "b"', False), ('.ifnes "a", "A"', True),
])
def test_conditional_text_tests(directive, taken):
    assert branch_taken(directive, ".equ N, 1\nlbl:\nacc .req x5") == taken


def test_elseif_chain_takes_the_first_true_branch_only():
    prog = parse("""\
        .equ N, 2
        .if N == 1
            add x1, x1, #1
        .elseif N == 2
            add x2, x2, #2
        .elseif N > 1
            add x3, x3, #3
        .else
            add x4, x4, #4
        .endif
    """)
    assert insns_of(prog) == ["add x2, x2, #2"]


def test_skipped_branches_are_not_parsed_and_nest():
    prog = parse("""\
        .if 0
            bogus x1
            .if UNDEFINED
                also bogus
            .else
                .macro m
                .endm
            .endif
            .elseif 0
            lbl:
        .else
            add x0, x0, #1
        .endif
        .ifdef lbl
            bogus x2
        .endif
    """)
    assert insns_of(prog) == ["add x0, x0, #1"]
    # once a branch is taken, later .elseif expressions are not evaluated
    assert insns(".if 1\nadd x0, x0, #1\n.elseif UNDEFINED\n.endif\n") == ["add x0, x0, #1"]
    assert not [s for s in prog.statements if isinstance(s, Label)]


def test_conditional_directives_are_kept_and_split_blocks():
    prog = parse("""\
        add x0, x0, #1
        .if 1
            add x1, x1, #1
        .else
            bogus
        .endif
        add x2, x2, #1
    """)
    dirs = [s.text for s in prog.statements if isinstance(s, Directive)]
    assert dirs == [".if 1", ".else", ".endif"]
    assert prog.lines[4].raw.strip() == "bogus" and prog.lines[4].statements == []
    assert [[str(i) for i in b.instructions] for b in prog.blocks()] == [
        ["add x0, x0, #1"], ["add x1, x1, #1"], ["add x2, x2, #1"]]


def test_conditionals_inside_macros_see_the_arguments():
    prog = parse("""\
        .macro acc d, s, carry
            .ifb \\carry
                adds \\d, \\d, \\s
            .else
                adcs \\d, \\d, \\s
            .endif
            .ifc \\d, x0
                cset x9, hs
            .endif
        .endm
        acc x0, x1
        acc x2, x3, c
    """)
    assert insns_of(prog) == ["adds x0, x0, x1", "cset x9, hs", "adcs x2, x2, x3"]


def test_recursive_macro_stopped_by_a_conditional():
    prog = parse("""\
        .macro rep n
            .if \\n
                add x0, x0, #\\n
                rep \\n-1
            .endif
        .endm
        rep 3
    """)
    assert insns_of(prog) == ["add x0, x0, #3", "add x0, x0, #3-1", "add x0, x0, #3-1-1"]


@pytest.mark.parametrize("directive", [
    ".if 1", ".ifdef FOO", ".ifndef FOO", ".ifc a, b", ".ifnc a, b", ".ifeq 0", ".ifne 0",
    ".ifb x", ".ifnb x", ".ifgt 1", ".ifge 1", ".iflt 1", ".ifle 1", '.ifeqs "a", "b"', '.ifnes "a", "b"',
])
def test_unterminated_conditional_is_reported_at_its_line(directive):
    e = err(f"add x0, x0, #1\n{directive}\nadd x1, x1, #1\n", "c.s")
    assert str(e).startswith("c.s:2: ") and directive.split()[0] in str(e) and ".endif" in str(e)


@pytest.mark.parametrize("text, line, words", [
    ("add x0, x0, #1\n.else\n", 2, (".else", ".if")),
    ("add x0, x0, #1\n.elseif 1\n", 2, (".elseif", ".if")),
    ("add x0, x0, #1\n.endif\n", 2, (".endif", ".if")),
    (".if 1\n.else\n.else\n.endif\n", 3, ("duplicate", ".else")),
    (".if 1\n.else\n.elseif 1\n.endif\n", 3, (".elseif", ".else")),
    (".if UNDEFINED\n.endif\n", 1, ("UNDEFINED",)),
    (".ifeqs a, \"a\"\n.endif\n", 1, (".ifeqs", "quoted")),
    (".ifc a\n.endif\n", 1, (".ifc",)),
    (".ifdef 1x\n.endif\n", 1, (".ifdef",)),
    (".ifxyz 1\n.endif\n", 1, ("unsupported directive '.ifxyz'",)),
])
def test_conditional_errors(text, line, words):
    e = err(text)
    assert e.loc.line == line
    assert all(w in str(e) for w in words), str(e)


GNU_AS = shutil.which("aarch64-linux-gnu-as")


@pytest.mark.skipif(not GNU_AS, reason="needs aarch64-linux-gnu-as")
def test_expansion_matches_gnu_as_bytes():
    """Macros, conditionals and expressions expand to what GNU as itself assembles."""
    from scheduler.frontend.assemble import assemble_text

    text = textwrap.dedent("""\
        .equ N, 3
        .macro op d, a=x5, b=x6, sh=0
            .if \\sh
                add \\d, \\a, \\b, lsl #\\sh
            .elseif \\@ & 1
                sub \\d, \\a, \\b
            .else
                eor \\d, \\a, \\b
            .endif
            .ifnb \\d
                add \\d, \\d, #(\\@ + 010)
            .endif
        .endm
        op x1
        op x1, , x3
        op x1 x2, x3
        op x1, b=x4, sh=2
        .irp r, x7 x8
            op \\r, sh=N
        .endr
        .irpc n, 09
            add x\\n, x\\n, #1 + 1 << 2 | 1
        .endr
        .ifeq N - 3
            .equ M, N * 2 ! 1 & 0xff
            add x0, x0, #M
        .endif
    """)
    gnu = ("gnu-as", GNU_AS)
    prog = parse_text(text)
    assert len(prog.instructions) == 15, insns_of(prog)
    # immediates printed as our values, not as written, so GNU as checks our evaluation too
    expanded = [f"{i.mnemonic} " + ", ".join(str(Imm(o.value) if isinstance(o, Imm) else o)
                                             for o in i.operands) for i in prog.instructions]
    assert "add x0, x0, #254" in expanded  # M = (6 | ~1) & 0xff
    assert assemble_text("\n".join(expanded), assembler=gnu) == assemble_text(text, assembler=gnu)


# ------------------------------------------------------------ known parser bugs
# Each contradicts GNU as 2.40 (aarch64-linux-gnu-as). Both are operand checks in
# the instruction table (scheduler/isa/forms_*.py), not parser bugs.

def test_bug_movi_2d_minus_one():
    assert one("movi v1.2d, #-1").mnemonic == "movi"


def test_bug_w_bitmask_written_sign_extended():
    assert one("and w0, w1, #0xfffffffffffffffe").mnemonic == "and"
