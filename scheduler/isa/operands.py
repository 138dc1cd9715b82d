"""Typed operands of AArch64 instructions and the decoder from GNU assembler text.

Every operand the parser produces is one of the frozen dataclasses below. The
instruction table matches operand *kinds* (see `kind()`), so the syntax rules
live here and the per-instruction rules live in the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import OperandError

CONDITIONS = {
    "eq": "eq", "ne": "ne", "cs": "hs", "hs": "hs", "cc": "lo", "lo": "lo",
    "mi": "mi", "pl": "pl", "vs": "vs", "vc": "vc", "hi": "hi", "ls": "ls",
    "ge": "ge", "lt": "lt", "gt": "gt", "le": "le", "al": "al", "nv": "nv",
}
# Flags each (canonical) condition reads; used for exact flag dependencies.
COND_FLAGS = {
    "eq": "Z", "ne": "Z", "hs": "C", "lo": "C", "mi": "N", "pl": "N",
    "vs": "V", "vc": "V", "hi": "CZ", "ls": "CZ", "ge": "NV", "lt": "NV",
    "gt": "NZV", "le": "NZV", "al": "", "nv": "",
}
COND_INVERSE = {
    "eq": "ne", "ne": "eq", "hs": "lo", "lo": "hs", "mi": "pl", "pl": "mi",
    "vs": "vc", "vc": "vs", "hi": "ls", "ls": "hi", "ge": "lt", "lt": "ge",
    "gt": "le", "le": "gt", "al": "nv", "nv": "al",
}

SHIFTS = ("lsl", "lsr", "asr", "ror", "msl")
EXTENDS = ("uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx")
# Element size in bits for each arrangement suffix letter.
ESIZE = {"b": 8, "h": 16, "s": 32, "d": 64, "q": 128}
ARRANGEMENTS = ("8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d", "1q")


@dataclass(frozen=True)
class GPR:
    """General register. num 0-30, or 31 with zr/sp telling which one it is."""

    num: int
    bits: int  # 64 (X) or 32 (W)
    sp: bool = False  # number 31 as the stack pointer rather than the zero register

    @property
    def is_zr(self) -> bool:
        return self.num == 31 and not self.sp

    @property
    def resource(self) -> str | None:
        """Name of the architectural register this operand touches (None for ZR)."""
        if self.num == 31:
            return "sp" if self.sp else None
        return f"x{self.num}"

    def __str__(self) -> str:
        if self.num == 31:
            if self.sp:
                return "sp" if self.bits == 64 else "wsp"
            return "xzr" if self.bits == 64 else "wzr"
        return f"{'x' if self.bits == 64 else 'w'}{self.num}"


@dataclass(frozen=True)
class VReg:
    """SIMD&FP register: `v3.2d` (arrangement) or a scalar view `q3`/`d3`/`s3`."""

    num: int
    arr: str | None = None  # "2d", "4s", ... for vector syntax
    view: str | None = None  # "q", "d", "s", "h", "b" for scalar syntax

    @property
    def bits(self) -> int:
        """Width of the value this operand denotes (64 or 128 for arrangements)."""
        if self.arr:
            lanes, size = int(self.arr[:-1]), ESIZE[self.arr[-1]]
            return lanes * size
        return ESIZE[self.view or "q"]

    @property
    def resource(self) -> str:
        return f"v{self.num}"

    def __str__(self) -> str:
        return f"v{self.num}.{self.arr}" if self.arr else f"{self.view}{self.num}"


@dataclass(frozen=True)
class VElem:
    """One element of a SIMD register: `v3.d[1]`."""

    num: int
    size: str  # b h s d
    index: int

    @property
    def resource(self) -> str:
        return f"v{self.num}"

    def __str__(self) -> str:
        return f"v{self.num}.{self.size}[{self.index}]"


@dataclass(frozen=True)
class Imm:
    value: int
    text: str = ""  # as written, kept for faithful printing of expressions

    def __str__(self) -> str:
        return f"#{self.text or self.value}"


@dataclass(frozen=True)
class Shift:
    op: str  # lsl lsr asr ror msl
    amount: int

    def __str__(self) -> str:
        return f"{self.op} #{self.amount}"


@dataclass(frozen=True)
class Extend:
    op: str  # uxtw sxtw ...
    amount: int | None = None

    def __str__(self) -> str:
        return self.op if self.amount is None else f"{self.op} #{self.amount}"


@dataclass(frozen=True)
class Cond:
    code: str  # canonical (hs/lo, never cs/cc)
    text: str = ""

    def __str__(self) -> str:
        return self.text or self.code


@dataclass(frozen=True)
class Sym:
    """A bare identifier: a branch target, or a condition before matching."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Mem:
    """Addressing mode. mode: "off" ([xn, #i] / [xn, xm, ext]), "pre" ([xn, #i]!), "post" ([xn], #i)."""

    base: GPR
    offset: int = 0
    mode: str = "off"
    index: GPR | None = None
    modifier: Shift | Extend | None = None
    offset_text: str = ""

    @property
    def writeback(self) -> bool:
        return self.mode in ("pre", "post")

    def __str__(self) -> str:
        off = self.offset_text or str(self.offset)
        if self.mode == "post":
            return f"[{self.base}], #{off}"
        inner = str(self.base)
        if self.index is not None:
            inner += f", {self.index}"
            if self.modifier is not None:
                inner += f", {self.modifier}"
        elif self.offset or self.mode == "pre" or self.offset_text:
            inner += f", #{off}"
        return f"[{inner}]" + ("!" if self.mode == "pre" else "")


Operand = GPR | VReg | VElem | Imm | Shift | Extend | Cond | Sym | Mem


def kind(op: Operand) -> str:
    """Operand kind used by instruction signatures (see table.py for the patterns)."""
    if isinstance(op, GPR):
        if op.num == 31:
            base = "SP" if op.sp else "ZR"
            return base if op.bits == 64 else "W" + base
        return "X" if op.bits == 64 else "W"
    if isinstance(op, VReg):
        return f"V.{op.arr}" if op.arr else op.view.upper()
    if isinstance(op, VElem):
        return f"V.{op.size}[]"
    if isinstance(op, Imm):
        return "#"
    if isinstance(op, Shift):
        return "SHIFT"
    if isinstance(op, Extend):
        return "EXT"
    if isinstance(op, Cond):
        return "COND"
    if isinstance(op, Sym):
        return "SYM"
    return "MEM"


# ---------------------------------------------------------------- decoding text

_GPR_RE = re.compile(r"^(?:([xw])(\d+)|(xzr|wzr|sp|wsp|fp|lr))$")
_VEC_RE = re.compile(r"^v(\d+)(?:\.(\d*)([bhsdq]))?(?:\[(\d+)\])?$")
_SCALAR_RE = re.compile(r"^([qdshb])(\d+)$")


def parse_register(text: str) -> GPR | VReg | VElem | None:
    t = text.strip().lower().replace(" ", "")
    m = _GPR_RE.match(t)
    if m:
        if m.group(3):
            special = {
                "xzr": GPR(31, 64), "wzr": GPR(31, 32), "sp": GPR(31, 64, sp=True),
                "wsp": GPR(31, 32, sp=True), "fp": GPR(29, 64), "lr": GPR(30, 64),
            }
            return special[m.group(3)]
        num = int(m.group(2))
        if num > 30:
            return None
        return GPR(num, 64 if m.group(1) == "x" else 32)
    m = _VEC_RE.match(t)
    if m:
        num = int(m.group(1))
        if num > 31:
            return None
        count, size, index = m.group(2), m.group(3), m.group(4)
        if size is None:
            return None
        if index is not None:
            if count:
                return None
            return VElem(num, size, int(index))
        arr = f"{count}{size}"
        if arr not in ARRANGEMENTS:
            return None
        return VReg(num, arr=arr)
    m = _SCALAR_RE.match(t)
    if m:
        num = int(m.group(2))
        return VReg(num, view=m.group(1)) if num <= 31 else None
    return None


_BARE_VEC_RE = re.compile(r"^v([0-9]|[12][0-9]|3[01])$")


def is_register_name(text: str) -> bool:
    """A register name, including a bare `vN`: GNU as takes it as a `.req` target
    (`vv .req v3` then `vv.2d`), although it is no operand by itself."""
    t = text.strip().lower()
    return parse_register(t) is not None or bool(_BARE_VEC_RE.match(t))


def register_resource(text: str) -> str | None:
    """The architectural register a register name (or bare `vN`) denotes; None for zr or a non-register."""
    t = text.strip().lower()
    if _BARE_VEC_RE.match(t):
        return t
    reg = parse_register(t)
    return None if reg is None else reg.resource


# One token of a GNU-as expression: a number-like word (validated separately, so
# Python-only spellings such as 1_0 or 0o17 are refused), a symbol, or an operator.
_TOKEN_RE = re.compile(r"\s*(\d\w*|[A-Za-z_.$][\w.$]*|<<|>>|<=|>=|==|!=|<>|&&|\|\||[-+*/%&|^~!<>()])")
_SYMBOL_RE = re.compile(r"[A-Za-z_.$][\w.$]*")
# GNU as literal forms; a leading 0 means octal.
_NUMBER_FORMS = ((r"0[xX][0-9a-fA-F]+", 16), (r"0[bB][01]+", 2), (r"0[0-7]*", 8), (r"[1-9][0-9]*", 10))


def _c_div(a: int, b: int) -> int:
    # GNU as divides like C: truncate toward zero.
    return abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)


def _shift(a: int, b: int, left: bool) -> int:
    if b < 0:
        raise OperandError(f"negative shift amount {b}")
    return a << b if left else a >> b


# Binary operators with GNU as ranks (binutils expr.c), which differ from C:
# `<<`/`>>` bind like `*`, and `| & ^` bind tighter than `+ -`. A comparison
# gives -1 when true; `&&`/`||` give 1.
_BINARY = {
    "*": (9, lambda a, b: a * b), "/": (9, _c_div), "%": (9, lambda a, b: a - b * _c_div(a, b)),
    "<<": (9, lambda a, b: _shift(a, b, True)), ">>": (9, lambda a, b: _shift(a, b, False)),
    "|": (7, lambda a, b: a | b), "!": (7, lambda a, b: a | ~b),
    "^": (7, lambda a, b: a ^ b), "&": (7, lambda a, b: a & b),
    "+": (5, lambda a, b: a + b), "-": (5, lambda a, b: a - b),
    "==": (4, lambda a, b: -(a == b)), "!=": (4, lambda a, b: -(a != b)), "<>": (4, lambda a, b: -(a != b)),
    "<": (4, lambda a, b: -(a < b)), "<=": (4, lambda a, b: -(a <= b)),
    ">": (4, lambda a, b: -(a > b)), ">=": (4, lambda a, b: -(a >= b)),
    "&&": (3, lambda a, b: int(bool(a and b))), "||": (2, lambda a, b: int(bool(a or b))),
}
_UNARY = {"-": lambda v: -v, "+": lambda v: v, "~": lambda v: ~v, "!": lambda v: int(v == 0)}


class _Expr:
    """Precedence-climbing evaluator over the tokens of one expression."""

    def __init__(self, src: str, text: str, symbols: dict[str, int]):
        self.text, self.symbols = text.strip(), symbols
        self.tokens: list[str] = []
        pos = 0
        while src[pos:].strip():
            m = _TOKEN_RE.match(src, pos)
            if not m:
                raise self.error()
            self.tokens.append(m.group(1))
            pos = m.end()
        self.pos = 0

    def error(self) -> OperandError:
        return OperandError(f"cannot parse expression '{self.text}'")

    def take(self) -> str:
        tok = self.tokens[self.pos] if self.pos < len(self.tokens) else ""
        self.pos += 1
        return tok

    def evaluate(self) -> int:
        value = self.binary(0)
        if self.pos != len(self.tokens):
            raise self.error()
        return value

    def binary(self, min_rank: int) -> int:
        left = self.unary()
        while self.pos < len(self.tokens):
            op = self.tokens[self.pos]
            if op not in _BINARY or _BINARY[op][0] < min_rank:
                break
            self.pos += 1
            rank, fn = _BINARY[op]
            right = self.binary(rank + 1)  # rank + 1: operators are left-associative
            if op in ("/", "%") and right == 0:
                raise OperandError(f"division by zero in '{self.text}'")
            left = fn(left, right)
        return left

    def unary(self) -> int:
        tok = self.take()
        if tok in _UNARY:
            return _UNARY[tok](self.unary())
        if tok == "(":
            value = self.binary(0)
            if self.take() != ")":
                raise self.error()
            return value
        if tok[:1].isdigit():
            for pattern, base in _NUMBER_FORMS:
                if re.fullmatch(pattern, tok):
                    return int(tok, base)
            raise OperandError(f"bad number '{tok}' in expression '{self.text}'")
        if tok in self.symbols:
            return self.symbols[tok]
        if _SYMBOL_RE.fullmatch(tok):
            raise OperandError(f"unknown symbol '{tok}' in expression '{self.text}' "
                               "(symbols must be defined before they are used)")
        raise self.error()


def eval_expr(text: str, symbols: dict[str, int] | None = None) -> int:
    """Evaluate a GNU-as constant expression with GNU as operators, precedence and literals."""
    src = text.strip()
    if src.startswith("#"):
        src = src[1:].strip()
    if not src:
        raise OperandError("empty immediate")
    return _Expr(src, text, symbols or {}).evaluate()


def split_operands(text: str) -> list[str]:
    """Split on top-level commas (not inside [] or {})."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    tail = "".join(cur).strip()
    if tail or parts:
        parts.append(tail)
    if any(p == "" for p in parts):
        raise OperandError("empty operand")
    return parts


def _parse_modifier(text: str, symbols: dict[str, int]) -> Shift | Extend | None:
    m = re.match(r"^([a-zA-Z]{3,4})(?:\s+(.*)|\s*(#.*))?$", text.strip())
    if not m:
        return None
    word = m.group(1).lower()
    amount_text = m.group(2) or m.group(3)
    if word in SHIFTS:
        if amount_text is None:
            raise OperandError(f"shift '{text.strip()}' needs an amount")
        return Shift(word, eval_expr(amount_text, symbols))
    if word in EXTENDS:
        return Extend(word, None if amount_text is None else eval_expr(amount_text, symbols))
    return None


def _looks_like_imm(text: str) -> bool:
    t = text.strip()
    return bool(t) and (t[0] in "#-+~(" or t[0].isdigit())


def parse_operand(
    text: str, symbols: dict[str, int], aliases: dict[str, str]
) -> Operand:
    t = text.strip()
    low = t.lower()
    if low in aliases:
        t = low = aliases[low]
    reg = parse_register(low)
    if reg is not None:
        return reg
    # `v3.d[1]` via an alias, e.g. `acc .req v3` then `acc.d[1]`.
    head = re.match(r"^([a-z_][a-z0-9_]*)(\..*)$", low)
    if head and head.group(1) in aliases:
        reg = parse_register(aliases[head.group(1)] + head.group(2))
        if reg is not None:
            return reg
    mod = _parse_modifier(t, symbols)
    if mod is not None:
        return mod
    if re.fullmatch(r"\d+[bf]", t):
        return Sym(t)  # local label reference: `b 1b`, `cbz x0, 2f`
    if _looks_like_imm(t):
        return Imm(eval_expr(t, symbols), t.lstrip("#").strip())
    if re.match(r"^[A-Za-z_.$][\w.$]*$", t):
        if t in symbols:  # symbols are case-sensitive, unlike register names
            return Imm(symbols[t], t)
        return Sym(t)
    raise OperandError(f"cannot parse operand '{t}'")


def _parse_mem(inner: str, symbols: dict[str, int], aliases: dict[str, str]) -> Mem:
    parts = split_operands(inner)
    base = parse_operand(parts[0], symbols, aliases)
    if not isinstance(base, GPR) or base.bits != 64 or base.is_zr:
        raise OperandError(f"memory base must be an X register or sp, got '{parts[0]}'")
    if len(parts) == 1:
        return Mem(base)
    second = parse_operand(parts[1], symbols, aliases)
    if isinstance(second, Imm):
        if len(parts) > 2:
            raise OperandError(f"unexpected '{parts[2]}' in address")
        return Mem(base, second.value, offset_text=second.text)
    if isinstance(second, GPR) and not second.sp:  # xzr/wzr is a valid (zero) index
        mod = None
        if len(parts) == 3:
            mod = parse_operand(parts[2], symbols, aliases)
            if not isinstance(mod, (Shift, Extend)) or (isinstance(mod, Shift) and mod.op != "lsl"):
                raise OperandError(f"bad index modifier '{parts[2]}'")
        elif len(parts) > 3:
            raise OperandError("too many parts in address")
        return Mem(base, 0, index=second, modifier=mod)
    raise OperandError(f"bad address offset '{parts[1]}'")


def parse_operands(
    text: str, symbols: dict[str, int] | None = None, aliases: dict[str, str] | None = None
) -> list[Operand]:
    """Decode an operand list; folds `[xn], #imm` into one post-index Mem operand."""
    symbols = symbols or {}
    aliases = aliases or {}
    if not text.strip():
        return []
    raw = split_operands(text)
    ops: list[Operand] = []
    i = 0
    while i < len(raw):
        part = raw[i]
        if part.startswith("["):
            pre = part.endswith("!")
            body = part[:-1].rstrip() if pre else part
            if not body.endswith("]"):
                raise OperandError(f"unterminated address '{part}'")
            mem = _parse_mem(body[1:-1], symbols, aliases)
            if pre:
                if mem.index is not None:
                    raise OperandError("pre-index needs an immediate offset")
                mem = Mem(mem.base, mem.offset, "pre", offset_text=mem.offset_text)
            elif i + 1 < len(raw) and _looks_like_imm(raw[i + 1]) and mem.offset == 0 and not mem.offset_text and mem.index is None:
                # `[xn], #imm` post-index.
                post = raw[i + 1]
                mem = Mem(mem.base, eval_expr(post, symbols), "post", offset_text=post.lstrip("#").strip())
                i += 1
            ops.append(mem)
        elif part.startswith("{"):
            raise OperandError(f"register lists are not supported: '{part}'")
        else:
            ops.append(parse_operand(part, symbols, aliases))
        i += 1
    return ops
