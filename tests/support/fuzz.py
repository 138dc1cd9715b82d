"""Fuzz cases for the CLI and the checks every run must pass.

A case is a file (bytes), a file name suffix and a command (`parse` or `optimize`), with
any files beside it that it reads (headers, `.incbin` data). Cases come from the bundled
kernels in `inputs/` by mutation (truncation, line edits, token garbage, swapped register
kinds, huge immediates, bad brackets, deeply nested expressions, blocks nested up to
thousands deep (.rept/.irp/.if, macros calling macros, recursion), #include chains, bad
bytes, `.rept`/`.irp`/macro bombs, data directives in code, outputs that name a file the
input reads, a huge file) and from random valid kernels built from the instruction table's
forms and the property-test templates.

The contract checked (scheduler/cli.py): exit 0, 1, 2 or 3 -- never 4 (internal error), never
a traceback, never a signal or a timeout; an exit-2 message starts with `FILE:LINE:` or
`FILE:` for the input path (an output refused: says it refuses to overwrite it); the input
file and every file it reads are unchanged; a case that must be refused exits 2; memory stays
under a 2 GiB address-space limit; and every optimized output is proved equivalent by
`verify --prove`.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "inputs"
MEMORY_LIMIT = 2 << 30
PARSE_TIMEOUT = 20.0
OPTIMIZE_TIMEOUT = 60.0
OPTIMIZE_TIME_LIMIT = "2"
EXIT_OK_CODES = {0, 1, 2, 3}


# ------------------------------------------------------------------ cases

@dataclass
class Case:
    name: str  # unique, e.g. "truncate-017"
    kind: str  # the mutation or generator
    data: bytes
    suffix: str = ".s"
    command: str = "parse"
    may_hang: bool = False  # run in a subprocess even in the in-process test
    # for cases whose offending line is known: an exit-2 message must carry FILE:LINE
    needs_line: bool = False
    added: bytes = b""  # the lines the mutation added or changed (a first guess at a reproducer)
    extra: dict[str, bytes] = field(default_factory=dict)  # more files beside it (headers, .incbin data)
    # optimize: the output options instead of the default `-o`/`--report` ({file}: the case's file);
    # paths are relative to the case's directory, where the command runs
    argv: tuple[str, ...] = ()
    expect_rc: int | None = None  # the one exit code the case must end with

    @property
    def filename(self) -> str:
        return f"{self.name}{self.suffix}"


def seed_files() -> list[Path]:
    return sorted([*INPUTS.glob("*.s"), *INPUTS.glob("*.S")])


def _seeds() -> list[tuple[str, bytes, str]]:
    return [(p.stem, p.read_bytes(), p.suffix) for p in seed_files()]


def _code_lines(lines: list[bytes]) -> list[int]:
    """Indexes of lines that look like instructions (indented, not a directive or comment)."""
    out = []
    for i, ln in enumerate(lines):
        s = ln.strip()
        if s and s[:1].isalpha() and not s.endswith(b":") and b":" not in s.split()[0]:
            out.append(i)
    return out


def _pick_code_line(rng: random.Random, lines: list[bytes]) -> int:
    code = _code_lines(lines)
    return rng.choice(code) if code else rng.randrange(max(len(lines), 1))


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


# Mutators: (rng, seed bytes) -> (bytes, needs_line). Each stays small unless it is meant to be big.

def m_truncate(rng, data):
    return data[: rng.randrange(len(data) + 1)], False


def m_delete_line(rng, data):
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 5)):
        if lines:
            del lines[rng.randrange(len(lines))]
    return _join(lines), False


def m_duplicate_line(rng, data):
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    return _join(lines), False


def m_swap_lines(rng, data):
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 6)):
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return _join(lines), False


GARBAGE_TOKENS = [b"#", b"[", b"]", b"]!", b",", b",,", b"{", b"}", b"!", b"::", b"x99", b"w-1", b"v32",
                  b"q", b"#0x", b"0b102", b"lsl", b"lsl #", b"uxtw #9", b".d[2]", b".16q", b"\\", b"'",
                  b'"', b"@", b"%", b"(", b")", b"$", b"x1.2d", b"sp!", b"#:lo12:", b"=", b"\t", b"\xc3\xa9",
                  b".", b"..", b"mul", b"ldp", b"cset", b"#-", b"~", b"<<", b"?", b"\\@"]


def m_token_garbage(rng, data):
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 3)):
        i = _pick_code_line(rng, lines)
        toks = re.split(rb"(\s+|,)", lines[i])
        j = rng.randrange(len(toks) + 1)
        op = rng.random()
        if op < 0.4:
            toks.insert(j, rng.choice(GARBAGE_TOKENS))
        elif op < 0.7 and toks:
            toks[min(j, len(toks) - 1)] = rng.choice(GARBAGE_TOKENS)
        else:
            toks.insert(j, bytes(rng.randrange(32, 127) for _ in range(rng.randint(1, 8))))
        lines[i] = b"".join(toks)
    return _join(lines), False


_REG_RE = re.compile(rb"\b([wxvqdsbh])(\d{1,2})\b")


def m_register_kind(rng, data):
    lines = data.split(b"\n")
    code = _code_lines(lines)
    for _ in range(rng.randint(1, 4)):
        if not code:
            break
        i = rng.choice(code)
        regs = list(_REG_RE.finditer(lines[i]))
        if not regs:
            continue
        m = rng.choice(regs)
        new = rng.choice([k for k in b"wxvqdsbh" if k != m.group(1)[0]])
        num = m.group(2) if rng.random() < 0.8 else str(rng.choice([31, 32, 99, 0])).encode()
        lines[i] = lines[i][: m.start()] + bytes([new]) + num + lines[i][m.end():]
    return _join(lines), False


HUGE_IMMEDIATES = [
    b"#1 << 100000000", b"#(1 << 100000000)", b"#" + b"9" * 5000, b"#-" + b"7" * 5000, b"#0x" + b"f" * 5000,
    b"#-0", b"#0x10000000000000000", b"#-9223372036854775809", b"#18446744073709551616",
    b"#1 << 64", b"#1 << -1", b"#1 >> 100000000", b"#(1 << 62) * (1 << 62)", b"#1 / 0", b"#1 % 0",
    b"#" + b"1 << " * 200 + b"1", b"#" + b"2 ** " * 30 + b"2", b"#4096", b"#-4097", b"#65536", b"#0b" + b"1" * 200,
    b"#1e9999", b"#0x", b"#'", b"#1 <<", b"#3.5",
]


def m_huge_immediate(rng, data):
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    imm = rng.choice(HUGE_IMMEDIATES)
    m = re.search(rb"#[^,\]\s]*", lines[i])
    if m and rng.random() < 0.6:
        lines[i] = lines[i][: m.start()] + imm + lines[i][m.end():]
    else:
        tmpl = rng.choice([b"add {r}, {r}, {i}", b"mov {r}, {i}", b"ldr {r}, [x1, {i}]", b"lsl {r}, {r}, {i}",
                           b"movz {r}, {i}, lsl #16", b"and {r}, {r}, {i}", b"cmp {r}, {i}"])
        line = tmpl.replace(b"{r}", rng.choice([b"x1", b"w2", b"x3"])).replace(b"{i}", imm)
        lines.insert(i, b"        " + line)
    return _join(lines), False


BAD_BRACKETS = [
    b"ldr x1, []", b"ldr x1, [x1", b"ldr x1, x1]", b"ldr x1, [[x1]]", b"ldp x1, x2, [x3, #16", b"str x1, [x2]]",
    b"ldr x1, [x2, #8]!!", b"ldr x1, [x2], ", b"ldr x1, [x2,]", b"ldr x1, [,]", b"ldr x1, [#8]",
    b"ldr x1, [x2, x3, lsl #3, lsl #3]", b"ldr q0, [sp, #-16]!]", b"ld1 {v0.2d, v1.2d, [x0]",
    b"ld1 {v0.2d}}, [x0]", b"ld1 {}, [x0]", b"ldr x1, [x2, #(8]", b"ldr x1, [x2, #8)]", b"ldr x1, ]x2[",
    b"ldr x1, [x2]!", b"stp x1, x2, [sp, #-16]!, #16", b"ldr x1, [sp, wzr]", b"ldr x1, [xzr]",
]


def m_bad_bracket(rng, data):
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    if rng.random() < 0.5:
        lines.insert(i, b"        " + rng.choice(BAD_BRACKETS))
    else:  # break an existing bracket
        ln = lines[i]
        pos = [k for k, c in enumerate(ln) if c in b"[]{}"]
        if pos:
            k = rng.choice(pos)
            lines[i] = ln[:k] + rng.choice([b"", b"[", b"]", b"[]", b"{", b"}"]) + ln[k + 1:]
        else:
            lines.insert(i, b"        " + rng.choice(BAD_BRACKETS))
    return _join(lines), True


def m_deep_nesting(rng, data):
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    n = rng.choice([200, 1000, 5000, 100000])
    form = rng.randrange(6)
    if form == 0:
        expr = b"(" * n + b"1" + b")" * n
    elif form == 1:
        expr = b"-" * n + b"1"
    elif form == 2:
        expr = b"~" * n + b"1"
    elif form == 3:
        expr = b"(" * n + b"1"  # unbalanced
    elif form == 4:
        expr = b"1" + b"+1" * n
    else:
        expr = b"-(" * n + b"1" + b")" * n
    line = rng.choice([b"        add x1, x1, #", b"        .equ deep, ", b"        .if ", b"        ldr x1, [x2, #"])
    text = line + expr + (b"]" if line.endswith(b"#") and b"ldr" in line else b"")
    if line.endswith(b".if "):
        text += b"\n        .endif"
    lines.insert(i, text)
    return _join(lines), False


def m_non_utf8(rng, data):
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    bad = rng.choice([b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x81", b"\xf8\x88\x80\x80\x80"])
    ln = lines[i]
    k = rng.randrange(len(ln) + 1)
    lines[i] = ln[:k] + bad + ln[k:]
    return _join(lines), True


def m_nul_bytes(rng, data):
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    ln = lines[i]
    k = rng.randrange(len(ln) + 1)
    lines[i] = ln[:k] + b"\x00" * rng.randint(1, 4) + ln[k:]
    return _join(lines), True


def m_control_chars(rng, data):
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    ln = lines[i]
    k = rng.randrange(len(ln) + 1)
    odd = [b"\r", b"\x0b", b"\x0c", b"\x1b[31m", b"\x7f", b"\xe2\x80\xa8", b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\r\r\n"]
    lines[i] = ln[:k] + rng.choice(odd) + ln[k:]
    return _join(lines), False


BOMBS = [
    b".rept (1<<62)\n add x1, x1, #1\n.endr",
    b".rept 1 << 62\n.endr",
    b".rept 100000000\n add x1, x1, #1\n.endr",
    b".rept 1000\n.rept 1000\n.rept 1000\n add x1, x1, #1\n.endr\n.endr\n.endr",
    b".rept -1\n add x1, x1, #1\n.endr",
    b".rept " + b"9" * 5000 + b"\n nop\n.endr",
    b".rept 3\n add x1, x1, #1",  # unterminated
    b".endr",
    b".irp r, " + b"x1, " * 20000 + b"x2\n add \\r, \\r, #1\n.endr",
    b".irpc c, " + b"1" * 200000 + b"\n add x1, x1, #\\c\n.endr",
    b".macro m\n m\n.endm\n m",  # infinite recursion
    b".macro m a\n m \\a\\a\n.endm\n m x",  # recursion with growing argument
    b".macro m\n.endm\n.macro m\n.endm",
    b".macro m\n add x1, x1, #1",  # unterminated
    b".endm",
]


def _doubling_macros(n: int) -> bytes:
    out = [b".macro m0\n add x1, x1, #1\n.endm"]
    for k in range(1, n + 1):
        out.append(b".macro m%d\n m%d\n m%d\n.endm" % (k, k - 1, k - 1))
    out.append(b"m%d" % n)
    return b"\n".join(out)


def _rept_doubling(n: int) -> bytes:
    return b".rept 2\n" * n + b" add x1, x1, #1\n" + b".endr\n" * n


def m_bomb(rng, data):
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    r = rng.random()
    if r < 0.2:
        bomb = _doubling_macros(rng.choice([20, 40, 64]))
    elif r < 0.35:
        bomb = _rept_doubling(rng.choice([30, 40, 63]))
    else:
        bomb = rng.choice(BOMBS)
    lines[i:i] = bomb.split(b"\n")
    return _join(lines), False


DATA_DIRECTIVES = [
    b".inst 0x9b037c41", b".inst 0x91000421", b".inst 0xd503201f", b".inst 0xffffffff", b".inst 0x00000000",
    b".inst 0x9b037c41, 0x9bc37c41", b".inst.n 0x1234", b".word 0x9b037c41", b".word 0", b".long 0x8b020020",
    b".int 1, 2", b".4byte 0xd65f03c0", b".quad 0x123456789abcdef0", b".xword 0", b".8byte -1", b".byte 1, 2, 3",
    b".byte 0x41", b".hword 7", b".short 1", b".2byte 1", b".fill 3, 4, 0x9b037c41", b".fill 1 << 40, 8, 0",
    b".skip 4", b".skip 1 << 62", b".space 8, 0xff", b".zero 16", b".ascii \"abcd\"", b".asciz \"x\"",
    b".string \"\"", b".octa 0", b".float 1.5", b".double 2.5", b".uleb128 300", b".sleb128 -1",
    b".incbin \"/etc/hostname\"", b".inst 1 << 100000000", b".inst (", b".word " + b"9" * 5000, b".inst x1",
    b".balign 64", b".p2align 62", b".align 100", b".org 0x1000",
]


def m_data_directive(rng, data):
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 2)):
        i = _pick_code_line(rng, lines)
        lines.insert(i, b"        " + rng.choice(DATA_DIRECTIVES))
    return _join(lines), False


NEST_DEPTHS = [2, 16, 63, 64, 65, 100, 500, 1000, 2000, 5000]


def _macro_chain(n: int) -> bytes:
    return b"".join(b".macro fz%d\n %s\n.endm\n" % (k, b"add x1, x1, #1" if k == 1 else b"fz%d" % (k - 1))
                    for k in range(1, n + 1)) + b"fz%d" % n


def _nest(form: str, n: int) -> bytes:
    """`n` levels of one kind of block nesting (see m_block_nesting)."""
    body = b" add x1, x1, #1\n"
    if form == "rept":
        return b".rept 1\n" * n + body + b".endr\n" * n
    if form == "irp":
        return b".irp r, x1\n" * n + b" add \\r, \\r, #1\n" + b".endr\n" * n
    if form == "irpc":
        return b".irpc c, 1\n" * n + b" add x1, x1, #\\c\n" + b".endr\n" * n
    if form == "if":
        heads = (b".if 1\n", b".ifndef nosuch\n", b".ifnb x\n")
        return b"".join(heads[k % 3] for k in range(n)) + body + b".endif\n" * n
    if form == "if-skipped":
        return b".if 0\n" * n + body + b".endif\n" * n
    if form == "macro-chain":
        return _macro_chain(n)
    if form == "macro-recursive":
        return b".macro fzr n\n.if \\n\n add x1, x1, #1\n fzr (\\n - 1)\n.endif\n.endm\nfzr %d" % n
    if form == "macro-defs":
        return b"".join(b".macro fzd%d\n" % k for k in range(n)) + b".endm\n" * n
    if form == "rept-in-macro":
        return b".macro fzm\n" + _nest("rept", n) + b".endm\nfzm"
    if form == "mixed":
        opens = [(b".rept 1\n", b".endr\n"), (b".if 1\n", b".endif\n"), (b".irp r, x1\n", b".endr\n")]
        return (b"".join(opens[k % 3][0] for k in range(n)) + body
                + b"".join(opens[k % 3][1] for k in reversed(range(n))))
    if form == "unterminated":
        return b".rept 1\n" * n + body
    return b".rept 2\n" * min(n, 64) + body + b".endr\n" * min(n, 64)  # "doubling"


NEST_FORMS = ["rept", "irp", "irpc", "if", "if-skipped", "macro-chain", "macro-recursive", "macro-defs",
              "rept-in-macro", "mixed", "unterminated", "doubling"]


def m_block_nesting(rng, data):
    """Blocks nested up to thousands deep: .rept/.irp/.irpc/.if, macros calling macros (a chain,
    a recursion), macro definitions, a mix; the parser stops at 64 levels (exit 2, FILE:LINE)."""
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    lines[i:i] = _nest(rng.choice(NEST_FORMS), rng.choice(NEST_DEPTHS)).split(b"\n")
    return _join(lines), True


def m_include_nesting(rng, data):
    """#include chains (the C preprocessor stops at 200 levels), a file including itself, and
    `.include`, which the tool refuses: the case is a .S file with headers beside it."""
    lines = data.split(b"\n")
    i = _pick_code_line(rng, lines)
    form = rng.choice(["chain", "chain", "self", "directive", "guarded"])
    extra: dict[str, bytes] = {}
    if form == "chain":
        n = rng.choice([2, 50, 199, 200, 201, 500, 1000])
        for k in range(n):
            extra[f"inc/h{k}.h"] = b'#include "h%d.h"\n' % (k + 1) if k < n - 1 else b" add x1, x1, #1\n"
        line = b'#include "inc/h0.h"'
    elif form == "self":
        line = b"#include __FILE__"
    elif form == "directive":
        extra["inc/a.s"] = b'.include "inc/a.s"\n'
        line = b'.include "inc/a.s"'
    else:  # an include guard: the same header many times, read once
        extra["inc/g.h"] = b"#ifndef G_H\n#define G_H\n add x1, x1, #1\n#endif\n"
        line = b'#include "inc/g.h"\n' * rng.choice([2, 100, 3000])
    lines[i:i] = line.rstrip(b"\n").split(b"\n")
    return _join(lines), False, {"suffix": ".S", "extra": extra}


def m_output_over_input(rng, data):
    """`optimize` told to write over a file the input reads: an #include'd header (-o, --report,
    --certificate, --timeline; spelled plainly or through `..`), an .incbin file, the input:
    it must exit 2 before any work, every file unchanged."""
    form = rng.choice(["-o", "--report", "--certificate", "--timeline", "dotted", "nested", "incbin", "input"])
    header = b"#ifndef FZ_H\n#define FZ_H\n#define FZ_UNUSED 1\n#endif\n"
    extra = {"inc/hdr.h": header}
    head = b'#include "inc/hdr.h"\n'
    suffix = ".S"
    if form in ("-o", "dotted"):
        argv: tuple[str, ...] = ("-o", "inc/hdr.h" if form == "-o" else "./inc/../inc/hdr.h")
    elif form in ("--report", "--certificate"):
        argv = ("-o", "out.s", form, "inc/hdr.h")
    elif form == "--timeline":
        extra["inc/t.html"] = b"// a header named like a timeline\n"
        head += b'#include "inc/t.html"\n'
        argv = ("-o", "out.s", "--timeline", "inc/t.html")
    elif form == "nested":
        extra["inc/hdr.h"] = b'#include "inner.h"\n'
        extra["inc/inner.h"] = header
        argv = ("-o", "out.s", "--report", "inc/inner.h")
    elif form == "incbin":
        extra = {"table.bin": bytes(range(16))}
        head, suffix = b"", ".s"
        data = data + b"\n\t.section .rodata\n\t.incbin \"table.bin\"\n"
        argv = ("-o", "table.bin")
    else:
        head, argv = b"", ("-o", "{file}")
    return head + data, False, {"suffix": suffix, "extra": extra, "argv": argv, "command": "optimize",
                                "expect_rc": 2}


MUTATORS = {
    "truncate": m_truncate, "delete-line": m_delete_line, "duplicate-line": m_duplicate_line,
    "swap-lines": m_swap_lines, "token-garbage": m_token_garbage, "register-kind": m_register_kind,
    "huge-immediate": m_huge_immediate, "bad-bracket": m_bad_bracket, "deep-nesting": m_deep_nesting,
    "non-utf8": m_non_utf8, "nul-bytes": m_nul_bytes, "control-chars": m_control_chars, "bomb": m_bomb,
    "data-directive": m_data_directive, "block-nesting": m_block_nesting, "include-nesting": m_include_nesting,
    "output-over-input": m_output_over_input,
}
# cases that might hang or blow up: never run in-process
MAY_HANG = {"huge-immediate", "deep-nesting", "bomb", "data-directive", "token-garbage", "huge-file",
            "block-nesting", "include-nesting"}


def huge_file(seed_data: bytes, size: int = 40 << 20) -> bytes:
    """About `size` bytes: the seed's code lines repeated (a 40 MiB kernel)."""
    lines = seed_data.split(b"\n")
    body = _join([ln for i, ln in enumerate(lines) if i in set(_code_lines(lines))]) or b"add x1, x1, #1\n"
    return body * (size // len(body) + 1)


# ------------------------------------------------------------------ valid kernels

def table_kernel(rng: random.Random, n: int) -> bytes:
    """`n` random instances of simulable instruction-table forms (one block)."""
    from scheduler.frontend.ir import format_instruction
    from tests.support.instances import instance, simulable_forms

    forms = simulable_forms()
    out: list = []
    while len(out) < n:
        form = rng.choice(forms)
        ops = instance(form, rng, tries=50)
        if ops is not None:
            out.append("        " + format_instruction(form.mnemonic, ops))
    return ("\n".join(out) + "\n").encode()


def template_kernel(rng: random.Random, n: int) -> bytes:
    """A bignum-style kernel from the property tests' templates (tests/support/kernels.py)."""
    from tests.support.kernels import GPRS, TEMPLATES, VREGS

    lines = []
    for _ in range(n):
        t = rng.choice(TEMPLATES)
        d, e = rng.sample(GPRS, 2)
        vd = rng.choice(VREGS)
        lines.append("        " + t.format(d=d, e=e, a=rng.choice(GPRS), b=rng.choice(GPRS), vd=vd,
                                           va=rng.choice(VREGS), vb=rng.choice(VREGS), vdn=vd[1:],
                                           o16=16 * rng.randint(0, 6), o8=8 * rng.randint(0, 12)))
    return ("\n".join(lines) + "\n").encode()


# ------------------------------------------------------------------ case generation

def mutation_case(rng: random.Random, index: int, kind: str | None = None, command: str = "parse") -> Case:
    seeds = _seeds()
    kind = kind or rng.choice(sorted(MUTATORS))
    stem, data, suffix = rng.choice(seeds)
    out, needs_line, *more = MUTATORS[kind](rng, data)
    case = Case(f"{kind}-{index:04d}", kind, out, suffix, command, kind in MAY_HANG, needs_line,
                added_lines(data, out))
    for key, value in (more[0] if more else {}).items():  # a mutation that needs more than a file
        setattr(case, key, value)
    return case


def added_lines(before: bytes, after: bytes) -> bytes:
    """Lines of `after` that `before` does not have, in order (for bombs and inserted lines)."""
    old = set(before.split(b"\n"))
    return b"\n".join(ln for ln in after.split(b"\n") if ln not in old)


def valid_case(rng: random.Random, index: int, command: str = "parse") -> Case:
    if rng.random() < 0.5:
        return Case(f"table-kernel-{index:04d}", "table-kernel", table_kernel(rng, rng.randint(1, 24)),
                    command=command)
    return Case(f"template-kernel-{index:04d}", "template-kernel", template_kernel(rng, rng.randint(4, 40)),
                command=command)


def optimize_case(rng: random.Random, index: int) -> Case:
    """A case for `optimize`: a valid kernel, or a mild mutation of a small bundled kernel."""
    r = rng.random()
    if r < 0.5:
        return valid_case(rng, index, command="optimize")
    small = [s for s in _seeds() if len(s[1]) < 8000]
    stem, data, suffix = rng.choice(small)
    kind = rng.choice(["delete-line", "duplicate-line", "swap-lines", "register-kind", "data-directive"])
    out, _ = MUTATORS[kind](rng, data)
    return Case(f"opt-{kind}-{index:04d}", kind, out, suffix, "optimize", True)


def generate(count: int, seed: int, optimize_every: int = 0, huge: bool = True) -> list[Case]:
    """`count` cases: each mutation kind in turn, every 8th a valid kernel, one huge file;
    with `optimize_every` = k, every k-th case is an optimize case instead."""
    rng = random.Random(seed)
    kinds = sorted(MUTATORS)
    cases: list[Case] = []
    for i in range(count):
        if optimize_every and i % optimize_every == optimize_every - 1:
            cases.append(optimize_case(rng, i))
        elif i % 8 == 7:
            cases.append(valid_case(rng, i))
        elif huge and i == 3:
            stem, data, suffix = _seeds()[0]
            cases.append(Case(f"huge-file-{i:04d}", "huge-file", huge_file(data), ".s", "parse", True))
        else:
            cases.append(mutation_case(rng, i, kinds[i % len(kinds)]))
    return cases


# ------------------------------------------------------------------ running and checking

@dataclass
class Outcome:
    rc: int | None  # None: timed out; negative: killed by a signal
    stdout: str
    stderr: str
    seconds: float
    problems: list[str] = field(default_factory=list)
    message_kind: str = ""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_cli(args: list[str], timeout: float, cwd: str | None = None) -> Outcome:
    """`python -m scheduler ARGS` in a subprocess under the memory limit."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("COLUMNS", None)
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "scheduler", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_limit_memory, cwd=cwd, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        rc = None
    return Outcome(rc, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - start)


class _Alarm(BaseException):
    """Raised by the in-process timer (not an Exception: the CLI must not swallow it)."""


def run_in_process(args: list[str], timeout: float, capsys, cwd: str | None = None) -> Outcome:
    """`scheduler.cli.main(ARGS)` in this process (in directory `cwd`), output captured by pytest's capsys."""
    import signal

    from scheduler.cli import main

    def ring(signum, frame):
        raise _Alarm()

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.monotonic()
    here = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        try:
            rc: int | None = main(args)
        except SystemExit as e:  # argparse
            rc = e.code if isinstance(e.code, int) else 2
        except _Alarm:
            rc = None
    finally:
        os.chdir(here)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    cap = capsys.readouterr()
    return Outcome(rc, cap.out, cap.err, time.monotonic() - start)


def message_kind(out: Outcome, path: str) -> str:
    """A coarse class of the run's result, for histograms."""
    if out.rc is None:
        return "timeout"
    if out.rc < 0:
        return f"signal {-out.rc}"
    if "Traceback (most recent call last)" in out.stderr:
        return "traceback"
    if out.rc == 4:
        m = re.search(r"internal error: (\w+)", out.stderr)
        return f"internal {m.group(1) if m else '?'}"
    if out.rc != 2:
        return f"exit {out.rc}"
    first = out.stderr.strip().splitlines()[0] if out.stderr.strip() else ""
    if first.startswith(path + ":"):
        rest = first[len(path) + 1:]
        m = re.match(r"(\d+):\s*(.*)", rest)
        prefix, text = ("FILE:LINE", m.group(2)) if m else ("FILE", rest.strip())
    else:
        prefix, text = "no-file", first
    words = re.sub(r"'[^']*'|\"[^\"]*\"|\d+|0x[0-9a-f]+", "_", text.lower()).split()[:3]
    return f"{prefix} {' '.join(words)}"


def check(case: Case, path: str, out: Outcome, original: bytes, limit: float) -> list[str]:
    """Every contract violation of one run."""
    problems = []
    if out.rc is None:
        problems.append(f"timed out after {limit:.0f} s")
    elif out.rc < 0:
        problems.append(f"killed by signal {-out.rc} (memory limit?)")
    elif out.rc not in EXIT_OK_CODES:
        last = out.stderr.strip().splitlines()[-1:] or [""]
        problems.append(f"exit {out.rc}: {last[0][:300]}")
    if "Traceback (most recent call last)" in out.stderr:
        problems.append("traceback on stderr")
    if "MemoryError" in out.stderr:
        problems.append("MemoryError")
    if out.rc == 2 and case.argv:  # an output refused: the message names it and says why
        first = out.stderr.strip().splitlines()[0] if out.stderr.strip() else ""
        if "refusing to overwrite" not in first:
            problems.append(f"exit-2 message does not say it refuses to overwrite: {first[:200]!r}")
    elif out.rc == 2:
        first = out.stderr.strip().splitlines()[0] if out.stderr.strip() else ""
        if not first.startswith(path + ":"):
            problems.append(f"exit-2 message without FILE: prefix: {first[:200]!r}")
        elif case.needs_line and case.command == "parse" and not re.match(re.escape(path) + r":\d+:", first):
            problems.append(f"exit-2 message without a line number: {first[:200]!r}")
    if out.rc is not None and out.seconds > limit:
        problems.append(f"took {out.seconds:.1f} s (limit {limit:.0f} s)")
    if case.expect_rc is not None and out.rc is not None and out.rc >= 0 and out.rc != case.expect_rc:
        problems.append(f"exit {out.rc}, expected {case.expect_rc}: {out.stderr.strip()[-200:]!r}")
    for name, content in case.extra.items():  # headers and data the input reads: never written
        other = Path(path).parent / name
        if not other.is_file() or other.read_bytes() != content:
            problems.append(f"{name} (read by the input) changed")
    try:
        now = Path(path).read_bytes()
    except OSError as e:
        problems.append(f"input file unreadable afterwards: {e}")
    else:
        if hashlib.sha256(now).digest() != hashlib.sha256(original).digest():
            problems.append("input file changed")
    return problems


def run_case(case: Case, workdir: Path, capsys=None) -> Outcome:
    """Write the case to `workdir`, run it and check it (optimize: prove the output too)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / case.filename
    path.write_bytes(case.data)
    for name, content in case.extra.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(content)
    spath = str(path)
    in_process = capsys is not None and not case.may_hang
    if case.command == "parse":
        args = ["parse", spath]
        limit = PARSE_TIMEOUT
    else:
        result = workdir / f"{case.name}.out.s"
        outputs = [a.replace("{file}", spath) for a in case.argv] or [
            "-o", str(result), "--report", str(workdir / f"{case.name}.json")]
        args = ["optimize", spath, *outputs, "--time-limit", OPTIMIZE_TIME_LIMIT, "--workers", "1", "--seed", "1"]
        limit = OPTIMIZE_TIMEOUT
        in_process = in_process and bool(case.argv)  # refused before the solve: safe in-process
    if in_process:
        out = run_in_process(args, limit, capsys, cwd=str(workdir))
    else:
        out = run_cli(args, limit, cwd=str(workdir))
    out.problems = check(case, spath, out, case.data, limit)
    out.message_kind = message_kind(out, spath)
    if case.command == "optimize" and out.rc == 0 and not out.problems and not case.argv:
        result = workdir / f"{case.name}.out.s"
        if not result.exists():
            out.problems.append("exit 0 but no output written")
        else:
            ver = run_cli(["verify", "--prove", spath, str(result)], OPTIMIZE_TIMEOUT)
            if ver.rc != 0:
                tail = (ver.stdout + ver.stderr).strip().splitlines()[-3:]
                out.problems.append(f"verify --prove of the output: exit {ver.rc}: {' | '.join(tail)[:400]}")
    return out


def reproducer(case: Case, out: Outcome) -> str:
    """A one-line description of a failing case."""
    what = f"added {case.added[:160]!r}" if case.added else f"input starts {case.data[:100]!r}"
    return f"{case.name} [{case.kind}] `scheduler {case.command} {case.filename}` -> {'; '.join(out.problems)}; {what}"


def minimize(case: Case, workdir: Path, still_fails, budget: float = 60.0) -> Case:
    """Line-wise delta debugging: the smallest prefix-free subset of lines that `still_fails`."""
    if case.added and len(case.added) < len(case.data):
        alone = replace(case, name=case.name + "-min", data=case.added + b"\n")
        if still_fails(alone, workdir):
            case = alone
    lines = case.data.split(b"\n")
    deadline = time.monotonic() + budget
    chunk = max(len(lines) // 2, 1)
    while chunk >= 1 and time.monotonic() < deadline:
        i, changed = 0, False
        while i < len(lines) and time.monotonic() < deadline:
            trial = lines[:i] + lines[i + chunk:]
            if trial and still_fails(replace(case, name=case.name + "-min", data=b"\n".join(trial), added=b""),
                                     workdir):
                lines, changed = trial, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return replace(case, name=case.name + "-min", data=b"\n".join(lines), added=b"")
