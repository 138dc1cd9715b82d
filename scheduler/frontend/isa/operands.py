"""Typed operands of AArch64 instructions and the decoder from GNU assembler text.

Every operand the parser produces is one of the frozen dataclasses below. The
instruction table matches operand *kinds* (see `kind()`), so the syntax rules
live here and the per-instruction rules live in the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scheduler.core.errors import OperandError

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
        """Whether this is the zero register (xzr/wzr: number 31, not sp)."""
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
        """The dependency resource: the whole vector register ("v3"), whatever the view."""
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
        """The dependency resource: the whole vector register ("v3") the element lives in."""
        return f"v{self.num}"

    def __str__(self) -> str:
        return f"v{self.num}.{self.size}[{self.index}]"


@dataclass(frozen=True)
class Imm:
    """An immediate value, with its text as written."""

    value: int
    text: str = ""  # as written, kept for faithful printing of expressions

    def __str__(self) -> str:
        return f"#{self.text or self.value}"


@dataclass(frozen=True)
class Shift:
    """A shift modifier (`lsl #12`, `msl #8` ...): operator and amount."""

    op: str  # lsl lsr asr ror msl
    amount: int

    def __str__(self) -> str:
        return f"{self.op} #{self.amount}"


@dataclass(frozen=True)
class Extend:
    """An extend modifier (`uxtw`, `sxtw #2` ...): operator and optional shift amount."""

    op: str  # uxtw sxtw ...
    amount: int | None = None

    def __str__(self) -> str:
        return self.op if self.amount is None else f"{self.op} #{self.amount}"


@dataclass(frozen=True)
class Cond:
    """A condition code operand (canonical name), with its text as written."""

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
        """Whether the addressing mode writes the base register back (pre- or post-index)."""
        return self.mode in ("pre", "post")

    @property
    def base_resource(self) -> str:
        """The base register's resource name, "x0".."x30" or "sp" (a base is never the zero register)."""
        res = self.base.resource
        assert res is not None, "a memory base is never the zero register"
        return res

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
        if op.arr:
            return f"V.{op.arr}"
        assert op.view is not None  # a VReg has an arrangement or a scalar view
        return op.view.upper()
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
    """The register operand `text` names (GPR, vector register or element, scalar view), or None if none."""
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
# GNU as's input scrubber drops blanks except between two name characters, so
# `1 < < 2` is `1<<2` and `5 ! ! 3` is `5!!3`.
_BLANKS_RE = re.compile(r"(?<![\w.$])\s+|\s+(?![\w.$])")
# GNU as literal forms; a leading 0 means octal.
_NUMBER_FORMS = ((r"0[xX][0-9a-fA-F]+", 16), (r"0[bB][01]+", 2), (r"0[0-7]*", 8), (r"[1-9][0-9]*", 10))
# Longest number literal accepted (characters, prefix included). GNU as takes any
# length (as a "bignum"); a bound keeps int() conversion cheap and within Python's
# int-string limit. 256 characters hold any 64-bit value with plenty of leading zeros.
MAX_NUMBER_CHARS = 256
# Longest expression text accepted (characters).
MAX_EXPR_CHARS = 1 << 20

_MASK64 = (1 << 64) - 1
_SIGN64 = 1 << 63


def wrap64(v: int) -> int:
    """`v` modulo 2**64 as a signed 64-bit value: GNU as computes in the host's
    signed 64-bit `offsetT`, with wrap-around."""
    v &= _MASK64
    return v - (1 << 64) if v & _SIGN64 else v


# GNU as semantics, measured with aarch64-linux-gnu-as (binutils 2.4x) on `.quad (EXPR)`:
# - values are signed 64-bit and wrap; comparisons are signed, true is -1, false 0;
# - `/` and `%` truncate toward zero (C): -7/2 = -3, -7%2 = -1, 7%-2 = 1; x/0 is an
#   error; INT64_MIN/-1 crashes GNU as on x86 (SIGFPE): here it wraps (INT64_MIN, rest 0);
# - `>>` is a logical (unsigned) shift: -1>>1 = 0x7fffffffffffffff;
# - a shift count outside 0..63 (negative or >= 64) gives 0 (GNU as warns);
# - `a ! b` is a | ~b, `a !! b` is a ^ b (MRI compatibility); `&&`/`||` give 1 or 0;
# - blanks go as GNU as's scrubber drops them: `1 < < 2` is 1 << 2;
# - a literal above 0xffffffffffffffff is a "bignum": as an operand of a binary
#   operator it counts as 0 (GNU as warns), unary - and ~ keep it a bignum, `!` gives 0,
#   and a whole expression that is a bignum is truncated to 64 bits (`.quad`) or
#   refused ("bignum invalid") as an instruction's immediate; but an octal literal
#   of at most 22 digits is never a bignum: it silently keeps its low 64 bits.
def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _shl(a: int, b: int) -> int:
    return a << b if 0 <= b < 64 else 0


def _shr(a: int, b: int) -> int:
    return (a & _MASK64) >> b if 0 <= b < 64 else 0


# Binary operators with GNU as ranks (binutils expr.c), which differ from C:
# `<<`/`>>` bind like `*`, and `| & ^ !` bind tighter than `+ -`; all are
# left-associative. A comparison gives -1 when true; `&&`/`||` give 1.
_BINARY = {
    "*": (9, lambda a, b: a * b), "/": (9, _c_div), "%": (9, lambda a, b: a - b * _c_div(a, b)),
    "<<": (9, _shl), ">>": (9, _shr),
    "|": (7, lambda a, b: a | b), "!": (7, lambda a, b: a | ~b),
    "^": (7, lambda a, b: a ^ b), "&": (7, lambda a, b: a & b),
    "+": (5, lambda a, b: a + b), "-": (5, lambda a, b: a - b),
    "==": (4, lambda a, b: -(a == b)), "!=": (4, lambda a, b: -(a != b)), "<>": (4, lambda a, b: -(a != b)),
    "<": (4, lambda a, b: -(a < b)), "<=": (4, lambda a, b: -(a <= b)),
    ">": (4, lambda a, b: -(a > b)), ">=": (4, lambda a, b: -(a >= b)),
    "&&": (3, lambda a, b: int(bool(a and b))), "||": (2, lambda a, b: int(bool(a or b))),
}
_UNARY = {"-": lambda v: -v, "+": lambda v: v, "~": lambda v: ~v, "!": lambda v: int(v == 0)}

# (value, is a bignum, exact value or None). A non-bignum value is always wrap64'ed:
# that is GNU's value. `exact` is the value in unbounded arithmetic for the ring
# operators (+ - * & | ^ ~ << unary -), GNU's value after the others (/ % >> and
# comparisons), None once it grows past _EXACT_BITS; it is always congruent to the
# value modulo 2**64. It only chooses how a 64-bit pattern with the top bit set is
# returned: as written when the exact value fits (0xffffffffffffffff stays
# 18446744073709551615, -1 stays -1, 1<<63 is 2**63), else signed.
_Value = tuple[int, bool, int | None]
_EXACT_BITS = 130
_RING = frozenset(("+", "-", "*", "&", "|", "^", "!", "<<"))


class _Expr:
    """Operator-precedence evaluator over the tokens of one expression. Iterative
    (explicit stacks), so deep nesting costs memory, never Python recursion."""

    def __init__(self, src: str, text: str, symbols: dict[str, int]):
        self.text, self.symbols = text.strip(), symbols
        if len(src) > MAX_EXPR_CHARS:
            raise OperandError(f"expression too long ({len(src)} characters, at most {MAX_EXPR_CHARS})")
        self.tokens: list[str] = []
        src = _BLANKS_RE.sub("", src)
        pos = 0
        while m := _TOKEN_RE.match(src, pos):
            self.tokens.append(m.group(1))
            pos = m.end()
        if src[pos:].strip():
            raise self.error()

    def error(self) -> OperandError:
        return OperandError(f"cannot parse expression '{_short(self.text)}'")

    def operand(self, tok: str) -> _Value:
        if tok[:1].isdigit():
            if len(tok) > MAX_NUMBER_CHARS:
                raise OperandError(f"number too long ({len(tok)} characters, at most {MAX_NUMBER_CHARS}) "
                                   f"in expression '{_short(self.text)}'")
            for pattern, base in _NUMBER_FORMS:
                if re.fullmatch(pattern, tok):
                    v = int(tok, base)
                    if base == 8 and len(tok) <= 23:
                        # GNU as reads up to 22 octal digits (after the 0) into a
                        # 64-bit number, dropping what overflows: no bignum.
                        v &= _MASK64
                    return (v, True, None) if v > _MASK64 else (wrap64(v), False, v)
            raise OperandError(f"bad number '{_short(tok)}' in expression '{_short(self.text)}'")
        if tok in self.symbols:
            value = self.symbols[tok]
            return wrap64(value), False, value
        if _SYMBOL_RE.fullmatch(tok):
            raise OperandError(f"unknown symbol '{tok}' in expression '{_short(self.text)}' "
                               "(symbols must be defined before they are used)")
        raise self.error()

    def evaluate(self) -> _Value:
        values: list[_Value] = []
        ops: list[str] = []  # "(" , "u<op>" (unary) or "b<op>" (binary)

        def reduce(min_rank: int) -> None:
            # Apply stacked operators down to the innermost "(", while their rank is
            # at least min_rank (unary operators bind tightest).
            while ops and ops[-1] != "(":
                top = ops[-1]
                if top[0] == "b" and _BINARY[top[1:]][0] < min_rank:
                    return
                ops.pop()
                if top[0] == "u":
                    v, big, exact = values.pop()
                    op = top[1:]
                    if op == "!":
                        r = int(v == 0 and not big)
                        values.append((r, False, r))
                    elif big:
                        values.append((_UNARY[op](v), True, None))
                    else:
                        values.append((wrap64(_UNARY[op](v)), False, _bounded(exact, _UNARY[op])))
                else:
                    (b, bbig, bx), (a, abig, ax) = values.pop(), values.pop()
                    if abig:
                        a = ax = 0
                    if bbig:
                        b = bx = 0
                    op = top[1:]
                    if op in ("/", "%") and b == 0:
                        raise OperandError(f"division by zero in '{_short(self.text)}'")
                    r = wrap64(_BINARY[op][1](a, b))
                    exact = r  # int | None, declared by the unary branch above
                    if op in _RING:
                        exact = None
                        if ax is not None and bx is not None and (op != "<<" or 0 <= b < 64):
                            exact = _bounded(ax, lambda x: _BINARY[op][1](x, b if op == "<<" else bx))
                    values.append((r, False, exact))

        expect_operand = True
        tokens = self.tokens
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            i += 1
            if not expect_operand and tok == "!" and i < len(tokens) and tokens[i] == "!":
                tok = "^"  # binary `!!` is exclusive or
                i += 1
            if expect_operand:
                if tok in _UNARY:
                    ops.append("u" + tok)
                elif tok == "(":
                    ops.append("(")
                else:
                    values.append(self.operand(tok))
                    expect_operand = False
            elif tok == ")":
                reduce(0)
                if not ops:
                    raise self.error()
                ops.pop()
            elif tok in _BINARY:
                # Left-associative: first apply stacked operators of the same or higher rank.
                reduce(_BINARY[tok][0])
                ops.append("b" + tok)
                expect_operand = True
            else:
                raise self.error()
        if expect_operand:
            raise self.error()
        reduce(0)
        if ops:
            raise self.error()  # an unclosed "("
        return values[0]


def _bounded(x: int | None, fn) -> int | None:
    """fn(x) in unbounded arithmetic, or None when x is None or the result is too big."""
    if x is None:
        return None
    r = fn(x)
    return r if r.bit_length() <= _EXACT_BITS else None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def eval_expr(text: str, symbols: dict[str, int] | None = None, bignum_ok: bool = True,
              signed: bool = False) -> int:
    """Evaluate a GNU-as constant expression with GNU as operators, precedence,
    literals and 64-bit wrap-around; the result is a signed 64-bit value. A result
    that is a bignum (a literal above 64 bits, see above) is truncated to 64 bits
    as `.quad` does, or refused when `bignum_ok` is False (as GNU as refuses it as
    an instruction operand).

    The result is GNU's 64-bit value: with `signed`, as a signed number (what
    `.if`, `.rept` and the comparisons see); otherwise a pattern with the top bit
    set is returned unsigned when it was written so (see `_Value`), so
    `0xffffffffffffffff` reads back as written and `-1` as -1."""
    src = text.strip()
    if src.startswith("#"):
        src = src[1:].strip()
    if not src:
        raise OperandError("empty immediate")
    value, big, exact = _Expr(src, text, symbols or {}).evaluate()
    if big and not bignum_ok:
        raise OperandError(f"number does not fit in 64 bits in '{_short(text.strip())}'")
    value = wrap64(value)
    if not signed and not big and exact is not None and 0 <= exact <= _MASK64:
        return exact
    return value


def split_operands(text: str) -> list[str]:
    """Split on top-level commas (not inside [] or {})."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
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
        return Shift(word, eval_expr(amount_text, symbols, bignum_ok=False))
    if word in EXTENDS:
        return Extend(word, None if amount_text is None else eval_expr(amount_text, symbols, bignum_ok=False))
    return None


def _looks_like_imm(text: str) -> bool:
    t = text.strip()
    return bool(t) and (t[0] in "#-+~(" or t[0].isdigit())


def parse_operand(
    text: str, symbols: dict[str, int], aliases: dict[str, str]
) -> Operand:
    """Decode one operand's text (register aliases and assembler symbols resolved); OperandError if it cannot."""
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
        return Imm(eval_expr(t, symbols, bignum_ok=False), t.lstrip("#").strip())
    if re.match(r"^[A-Za-z_.$][\w.$]*$", t):
        if t in symbols:  # symbols are case-sensitive, unlike register names
            return Imm(symbols[t], t)
        return Sym(t)
    raise OperandError(f"cannot parse operand '{t}'")


def _parse_mem(inner: str, symbols: dict[str, int], aliases: dict[str, str]) -> Mem:
    parts = split_operands(inner) if inner.strip() else []
    if not parts:
        raise OperandError("empty address '[]'")
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
        mod: Shift | Extend | None = None
        if len(parts) == 3:
            parsed = parse_operand(parts[2], symbols, aliases)
            if not isinstance(parsed, (Shift, Extend)) or (isinstance(parsed, Shift) and parsed.op != "lsl"):
                raise OperandError(f"bad index modifier '{parts[2]}'")
            mod = parsed
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
                mem = Mem(mem.base, eval_expr(post, symbols, bignum_ok=False), "post", offset_text=post.lstrip("#").strip())
                i += 1
            ops.append(mem)
        elif part.startswith("{"):
            raise OperandError(f"register lists are not supported: '{part}'")
        else:
            ops.append(parse_operand(part, symbols, aliases))
        i += 1
    return ops
