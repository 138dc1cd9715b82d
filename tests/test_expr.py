"""GNU as expression semantics (`scheduler.isa.operands.eval_expr`) and the
immediates made from them, checked against values measured with
aarch64-linux-gnu-as (`.quad (EXPR)`), and by a property test that compares random
expressions with GNU as in batches."""

from __future__ import annotations

import os
import shutil
import struct
import textwrap
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from scheduler.core.errors import AsmError, OperandError, SourceLoc
from scheduler.frontend.ir import Instruction
from scheduler.frontend.isa import operands
from scheduler.frontend.isa.operands import Imm, Mem, eval_expr, wrap64
from scheduler.frontend.parse import Parser, parse_text

GNU_AS = "aarch64-linux-gnu-as"
INT64_MIN = -(1 << 63)


@pytest.fixture(scope="module")
def gnu_as() -> tuple[str, str]:
    """GNU as itself (the expression semantics are GNU's, so llvm-mc will not do)."""
    path = shutil.which(GNU_AS)
    if path is None:
        if os.environ.get("SCHEDULER_REQUIRE_ASSEMBLER"):
            pytest.fail(f"SCHEDULER_REQUIRE_ASSEMBLER is set but {GNU_AS} is not on PATH")
        pytest.skip(f"{GNU_AS} not on PATH")
    return ("gnu-as", path)


def gnu_quads(gnu_as, exprs: list[str], prelude: str = "") -> list[int]:
    """Signed 64-bit values GNU as gives `.quad (EXPR)` for each expression."""
    from scheduler.frontend.assemble import assemble_text

    text = prelude + "".join(f".quad ({e})\n" for e in exprs)
    code = assemble_text(text, assembler=gnu_as)
    assert len(code) == 8 * len(exprs)
    return [struct.unpack_from("<q", code, 8 * i)[0] for i in range(len(exprs))]


# ------------------------------------------------------------ measured values
# (expression, signed 64-bit value GNU as gives it)
MEASURED = [
    # division and remainder truncate toward zero, like C
    ("-7/2", -3), ("7/-2", -3), ("-7%2", -1), ("7%-2", 1), ("-7%-2", -1), ("8/2/2", 2),
    ("0xffffffffffffffff/2", 0),  # the dividend is -1: signed division
    ("0x8000000000000000/2", -(1 << 62)),
    # shifts: << wraps, >> is logical, a count outside 0..63 gives 0
    ("1<<63", INT64_MIN), ("1<<64", 0), ("1<<65", 0), ("1<<-1", 0), ("3>>-1", 0),
    ("-1>>1", (1 << 63) - 1), ("-1>>63", 1), ("-1>>64", 0), ("1>>64", 0), ("-7>>1", 0x7FFFFFFFFFFFFFFC),
    ("1 << 100000000000", 0), ("-1 << 2", -4),
    # 64-bit wrap-around
    ("~0x8000000000000000", (1 << 63) - 1), ("0xffffffffffffffff+2", 1), ("0x7fffffffffffffff + 1", INT64_MIN),
    ("-(1<<63)", INT64_MIN), ("(1<<63) - 1", (1 << 63) - 1), ("0 - 0x8000000000000000", INT64_MIN),
    # precedence: << >> like * ; | & ^ ! above + - ; comparisons ; && above ||
    ("1+2*3", 7), ("1+2<<3", 17), ("1|2+3", 6), ("6 & 3 | 8", 10), ("1 ^ 3 & 2", 2),
    ("3 == 2 + 1", -1), ("1 + 2 == 3 - 0", -1), ("2 - 1 < 2", -1), ("1 < 2 < 3", -1),
    ("1 || 0 && 0", 1), ("0 && 1 || 1", 1), ("1-2-3", -4), ("1<<2<<3", 32),
    # comparisons are signed, true is -1; && and || give 1
    ("1<2", -1), ("2<1", 0), ("1==1", -1), ("3 <> 3", 0), ("-1 < 1", -1),
    ("0xffffffffffffffff < 1", -1), ("0x8000000000000000 > 1", 0), ("1&&2", 1), ("0||3", 1),
    # unary operators, binary ! (or-not)
    ("!0", 1), ("!5", 0), ("!!7", 1), ("-!0", -1), ("- - 3", 3), ("~1 + 1", -1), ("5!3", -3),
    # literals
    ("017", 15), ("0b101", 5), ("0X1f", 31),
    # blanks between operator characters vanish (GNU as's scrubber); `!!` is xor
    ("1 < < 2", 4), ("1 = = 1", -1), ("1 & & 1", 1), ("6 | | 0", 1), ("5 > = 5", -1), ("1 < > 2", -1),
    ("5 ! ! 3", 6), ("5 !! 3", 6), ("!!5", 1), ("! ! 5", 1), ("5 ! = 3", -1), ("0 ! !0", 0), ("0 ! (!0)", -2),
    ("3 ! 0 + 1", 0),
    # bignums (above 64 bits): 0 as an operand, truncated as a whole
    ("0x1ffffffffffffffff", -1), ("99999999999999999999", 7766279631452241919),
    ("0x10000000000000000 + 1", 1), ("1 + 0x10000000000000000", 1), ("-0x10000000000000003", -3),
    ("~0x10000000000000003", -4), ("(0x10000000000000003)", 3), ("((0x10000000000000003)) + 1", 1),
    ("!0x10000000000000000", 0), ("0x10000000000000000 == 0", -1), ("-0x10000000000000003 + 1", 1),
    ("!0x10000000000000000 + 1", 1), ("~0x10000000000000003 + 0", 0), ("0x0000000000000000000000001", 1),
    ("!18446744073709551616", 0), ("18446744073709551621 + 1", 1),
    # up to 22 octal digits GNU as keeps the low 64 bits (no bignum); from 23, a bignum
    ("!02000000000000000000000", 1), ("02000000000000000000001 + 1", 2), ("01777777777777777777777 + 1", 0),
    ("0377777777777777777777777 + 1", 1), ("-0377777777777777777777777", 1),
]


@pytest.mark.parametrize("expr, value", MEASURED)
def test_gnu_as_value(expr, value):
    assert eval_expr(expr, signed=True) == value
    assert wrap64(eval_expr(expr)) == value


def test_measured_table_agrees_with_gnu_as(gnu_as):
    exprs = [e for e, _ in MEASURED]
    assert gnu_quads(gnu_as, exprs) == [v for _, v in MEASURED]


@pytest.mark.parametrize("expr, value", [
    # Without `signed`, a pattern with the top bit set reads as written.
    ("0xffffffffffffffff", (1 << 64) - 1), ("-1", -1), ("0 - 1", -1), ("1 << 63", 1 << 63),
    ("~1", -2), ("~0x8000000000000000", (1 << 63) - 1), ("3 == 3", -1),
    ("0xffffffffffffffff + 1", 0), ("0x8000000000000000 + 0x8000000000000000", 0),
])
def test_unsigned_reading_follows_the_text(expr, value):
    assert eval_expr(expr) == value


def test_symbols():
    syms = {"N": 8, "big": (1 << 64) - 1, "neg": -5}
    assert eval_expr("N*2+1", syms) == 17
    assert eval_expr("big", syms) == (1 << 64) - 1
    assert eval_expr("big + 1", syms) == 0
    assert eval_expr("neg >> 60", syms) == 15
    with pytest.raises(OperandError, match="unknown symbol 'M'"):
        eval_expr("M + 1", syms)


@pytest.mark.parametrize("expr, message", [
    ("1/0", "division by zero"), ("1 % (2 - 2)", "division by zero"),
    ("(1", "cannot parse"), ("1)", "cannot parse"), ("1 +", "cannot parse"), ("* 2", "cannot parse"),
    ("1 2", "cannot parse"), ("", "empty"), ("#", "empty"), ("1 ** 2", "cannot parse"),
    ("08", "bad number"), ("1_0", "bad number"), ("0x", "bad number"),
    ("9" * 5000, "number too long"), ("0x" + "f" * 300, "number too long"),
])
def test_errors(expr, message):
    with pytest.raises(OperandError, match=message):
        eval_expr(expr)


def test_bignum_refused_as_instruction_operand_but_truncated_in_directives():
    assert eval_expr("0x10000000000000001") == 1
    with pytest.raises(OperandError, match="does not fit in 64 bits"):
        eval_expr("0x10000000000000001", bignum_ok=False)
    with pytest.raises(AsmError, match="does not fit in 64 bits"):
        parse_text("mov x0, #0x10000000000000001\n")


def test_deep_nesting_is_not_recursive():
    assert eval_expr("(" * 100_000 + "7" + ")" * 100_000) == 7
    assert eval_expr("-" * 100_001 + "7") == -7
    assert eval_expr("~" * 100_000 + "7") == 7
    assert eval_expr("1" + " + 1" * 100_000) == 100_001


def test_int64_min_divided_by_minus_one_wraps():
    # GNU as dies of SIGFPE on x86 here; we wrap as a 64-bit machine division would.
    assert eval_expr("0x8000000000000000 / -1", signed=True) == INT64_MIN
    assert eval_expr("0x8000000000000000 % -1") == 0


# ------------------------------------------------------------ immediates

def imm(text: str, index: int = -1) -> int:
    op = parse_text(text + "\n").instructions[0].operands[index]
    assert isinstance(op, Imm | Mem), op
    return op.value if isinstance(op, Imm) else op.offset


@pytest.mark.parametrize("text, value", [
    ("and x10, x10, #~0x8000000000000000", (1 << 63) - 1),
    ("and x10, x10, #~1", -2),
    ("orr x0, x1, #~0xff", ~0xFF),
    ("and w0, w0, #~1", -2),
    ("eor w3, w4, #~0x0f", ~0x0F),
    ("mov x0, #~0", -1),
    ("mov w0, #~0", -1),
    ("add x0, x0, #(1 << 64) + 8", 8),
    ("add x0, x0, #-7 >> 61", 7),
    ("add x0, x0, #-7 / 2", -3),
    ("tst x1, #~(1 << 63)", (1 << 63) - 1),
    ("ldr x5, [x6, #(0 - 8) & 0xff]", 248),
    ("ldr x5, [x6], #1 << 3", 8),
])
def test_immediates(text, value):
    assert imm(text) == value


def test_rep_and_irep_are_rept_and_irp():
    a = parse_text(".rep 3\nadd x0, x0, #1\n.endr\n")
    b = parse_text(".rept 3\nadd x0, x0, #1\n.endr\n")
    assert [str(i) for i in a.instructions] == [str(i) for i in b.instructions] == ["add x0, x0, #1"] * 3
    c = parse_text(".irep r, 1, 2\nadd x\\r, x\\r, #1\n.endr\n.irepc c, 34\nmov x\\c, #0\n.endr\n")
    assert [str(i) for i in c.instructions] == ["add x1, x1, #1", "add x2, x2, #1", "mov x3, #0", "mov x4, #0"]
    # nested, and inside a macro
    d = parse_text(".macro m\n.rep 2\n.rept 2\nadd x0, x0, #1\n.endr\n.endr\n.endm\nm\n")
    assert len(d.instructions) == 4


def test_if_and_rept_use_signed_values():
    prog = parse_text(".equ M, 0xffffffffffffffff\n.ifgt M\nnop\n.endif\n.iflt M\nadd x0, x0, #1\n.endif\n")
    assert [str(i) for i in prog.instructions] == ["add x0, x0, #1"]
    with pytest.raises(AsmError, match="t.s:1: negative count -1 for '.rept'"):
        parse_text(".rept 0 - 1\nnop\n.endr\n", "t.s")


KERNEL = textwrap.dedent("""\
    .equ MASK, ~0x8000000000000000
    .set SH, 1 << 2
    k:
        .rep 2
        add x0, x0, #1
        .endr
        and x10, x10, #~0x8000000000000000
        and x11, x11, #MASK
        orr x1, x2, #~0xff
        eor w3, w4, #~0x0f
        and w5, w5, #~1
        tst x1, #~(1 << 63)
        mov x2, #~0
        mov w2, #~0
        mov x3, #0xffffffffffffffff
        add x3, x3, #-7 >> 61
        sub x4, x4, #-7 / 2 + 3 * -1
        add x7, x7, #SH << 2
        ldr x5, [x6, #(0 - 8) & 0xff]
        ldr x5, [x6], #1 << 3
        lsl x8, x9, #(1 << 6) - 1
        .irep r, 12, 13
        mov x\\r, #~0x7fffffffffffffff
        .endr
        .rep 3 - 2
        add x14, x14, #0x7 ! 0xfffffffffffffff0
        .endr
    """)


def _numeric(ins: Instruction) -> Instruction:
    """The instruction with every immediate printed as its value, not as written."""
    ops = []
    for op in ins.operands:
        if isinstance(op, Imm):
            op = Imm(op.value)
        elif isinstance(op, Mem):
            op = replace(op, offset_text="")
        ops.append(op)
    return replace(ins, operands=tuple(ops))


def test_kernel_with_complement_immediates_and_rep_assembles_like_gnu_as(gnu_as):
    from scheduler.frontend.assemble import assemble_text

    prog = parse_text(KERNEL, "k.s")
    assert len(prog.instructions) == 20
    expected = assemble_text(KERNEL, assembler=gnu_as)
    symbols = ".equ MASK, ~0x8000000000000000\n.set SH, 1 << 2\n"
    printed = symbols + "\n".join(str(i) for i in prog.instructions) + "\n"
    assert assemble_text(printed, assembler=gnu_as) == expected
    # the values, not just the text: every immediate printed as the number we computed
    numeric = "\n".join(str(_numeric(i)) for i in prog.instructions) + "\n"
    assert assemble_text(numeric, assembler=gnu_as) == expected


# ------------------------------------------------------------ property test

_SPECIAL = [0, 1, 2, 3, 7, 8, 31, 32, 62, 63, 64, 65, 100, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000,
            0xFFFFFFFF, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, 1 << 64, (1 << 64) + 3, 10 ** 20]
_BINARY_OPS = ["*", "/", "%", "<<", ">>", "|", "&", "^", "!", "+", "-",
               "==", "!=", "<>", "<", ">", "<=", ">=", "&&", "||"]
SYMBOLS = ["s0", "s1", "s2"]


@st.composite
def _number(draw) -> str:
    v = draw(st.one_of(st.sampled_from(_SPECIAL), st.integers(0, 1 << 64), st.integers(0, 1 << 70),
                       st.integers(0, 100)))
    form = draw(st.sampled_from(["d", "x", "X", "o", "b"]))
    if form == "d":
        return str(v)
    if form == "o":
        return "0" + format(v, "o") if v else "0"
    return {"x": "0x", "X": "0X", "b": "0b"}[form] + format(v, form.lower() if form != "X" else "X")


_leaf = st.one_of(_number(), _number(), st.sampled_from(SYMBOLS))


def _extend(children):
    unary = st.tuples(st.sampled_from(["-", "~", "!", "+"]), children).map(lambda t: f"{t[0]}({t[1]})")
    binary = st.tuples(children, st.sampled_from(_BINARY_OPS), children, st.booleans()).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})" if t[3] else f"{t[0]} {t[1]} {t[2]}")
    return st.one_of(unary, binary)


EXPRESSIONS = st.recursive(_leaf, _extend, max_leaves=10)


class _GasCrash(Exception):
    """INT64_MIN / -1 or % -1: GNU as dies of SIGFPE on x86, so it cannot be compared."""


def _ours(expr: str, symbols: dict[str, int]) -> int | None:
    """Our signed value, or None where GNU as cannot be asked (division by zero, SIGFPE)."""
    div, mod = operands._BINARY["/"], operands._BINARY["%"]

    def guard(fn):
        def checked(a, b):
            if a == INT64_MIN and b == -1:
                raise _GasCrash
            return fn(a, b)
        return checked

    operands._BINARY["/"], operands._BINARY["%"] = (9, guard(div[1])), (9, guard(mod[1]))
    try:
        return eval_expr(expr, symbols, signed=True)
    except _GasCrash:
        return None
    except OperandError as e:
        assert "division by zero" in str(e), (expr, e)
        return None
    finally:
        operands._BINARY["/"], operands._BINARY["%"] = div, mod


# Few examples of 100 expressions each (one GNU as run per example); no shrinking,
# which would run GNU as hundreds of times: the message lists the mismatches.
@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(defs=st.tuples(*[EXPRESSIONS] * len(SYMBOLS)), exprs=st.lists(EXPRESSIONS, min_size=100, max_size=100))
def test_random_expressions_match_gnu_as(gnu_as, defs, exprs):
    # The symbols go through the parser (`.equ`/`.set`/`=`), in order: s1 may use s0.
    parser = Parser("p.s")
    prelude_lines = []
    for i, (name, d) in enumerate(zip(SYMBOLS, defs, strict=True)):
        d = d.replace("s2", "s0").replace("s1", "s0") if i else d.replace("s0", "3").replace(
            "s1", "3").replace("s2", "3")
        if _ours(d, dict(parser.symbols)) is None:
            d = "5"
        if eval_expr(d, dict(parser.symbols), bignum_ok=True) != eval_expr(d, dict(parser.symbols)) or any(
                len(t) > 2 and int(t, 0) >= 1 << 64 for t in _literal_tokens(d)):
            d = "6"  # a symbol holds a 64-bit value; GNU as keeps a bignum symbol as a bignum
        line = [f".equ {name}, {d}", f".set {name}, {d}", f"{name} = {d}"][i % 3]
        prelude_lines.append(line)
        parser.parse_lines([(line, SourceLoc("p.s", i + 1))])
    kept = [(e, v) for e in exprs if (v := _ours(e, parser.symbols)) is not None]
    got = gnu_quads(gnu_as, [e for e, _ in kept], "\n".join(prelude_lines) + "\n")
    mismatches = [(e, ours, gas) for (e, ours), gas in zip(kept, got, strict=True) if ours != gas]
    assert not mismatches, mismatches[:5]


def _literal_tokens(expr: str) -> list[str]:
    out = []
    for tok in operands._TOKEN_RE.findall(expr):
        if tok[:1].isdigit():
            out.append(tok if not (tok.startswith("0") and tok[1:2].isdigit()) else "0o" + tok[1:])
    return out
