"""Advanced SIMD (NEON) instruction forms used by NEON-assisted bignum kernels.

Vector operands read as ints of their width (64 bits for 8b/4h/2s/1d, 128 for
16b/8h/4s/2d); a write to a 64-bit arrangement or a D/S view zeroes the upper
bits of the register. Forms that keep part of the old destination (`umlal`,
`usra`, `sli`, `ins`, `xtn2`, ...) declare it read-write (`+`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scheduler.frontend.isa import bits as B
from scheduler.frontend.isa.operands import ESIZE, Imm, Operand, Shift, VElem, VReg
from scheduler.frontend.isa.table import OpClassVariant, define

FULL = ("8b", "16b", "4h", "8h", "2s", "4s", "2d")
NO_2D = ("8b", "16b", "4h", "8h", "2s", "4s")
BYTES = ("8b", "16b")
# widening: wide arrangement -> (narrow arrangement of the low half, of the high half)
WIDEN = {"8h": ("8b", "16b"), "4s": ("4h", "8h"), "2d": ("2s", "4s")}
NARROW = {v[0]: k for k, v in WIDEN.items()}  # "2s" -> "2d"
NARROW2 = {v[1]: k for k, v in WIDEN.items()}  # "4s" -> "2d"


def shape(op: Operand) -> tuple[int, int]:
    """(element bits, lane count) of a vector operand."""
    assert isinstance(op, VReg) and op.arr
    return ESIZE[op.arr[-1]], int(op.arr[:-1])


def vlanes(c, op: Operand) -> list[int]:
    """Read vector operand `op` as its list of lanes."""
    esize, count = shape(op)
    return B.lanes(c.r(op), esize, count)


def vwrite(c, op: Operand, elements: list[int]) -> None:
    """Write `elements` as the lanes of vector operand `op`."""
    c.w(op, B.pack(elements, shape(op)[0]))


def imm(o: Sequence[Operand], i: int) -> int:
    """The value of immediate operand `i`."""
    op = o[i]
    assert isinstance(op, Imm)
    return op.value


# ------------------------------------------------------------------- checks

def check_shift_imm(i: int, left: bool, esize_of: int = 0):
    """Operand check: shift `i` is 0..esize-1 (left) or 1..esize (right), esize from operand `esize_of`."""
    def check(o):
        esize = shape(o[esize_of])[0]
        v = imm(o, i)
        lo, hi = (0, esize - 1) if left else (1, esize)
        return None if lo <= v <= hi else f"shift {v} out of range {lo}..{hi}"
    return check


def check_index(i: int):
    """Operand check: the element index of operand `i` is within the 128-bit register."""
    def check(o):
        op = o[i]
        assert isinstance(op, VElem)
        limit = 128 // ESIZE[op.size]
        return None if 0 <= op.index < limit else f"element index {op.index} out of range"
    return check


# ---------------------------------------------------------------- semantics

def lanewise(fn: Callable[..., int], acc: bool = False):
    """Vd[i] = fn(Vn[i], Vm[i]) (or fn(Vd[i], Vn[i], Vm[i]) when accumulating)."""
    def sem(c, o):
        srcs = [vlanes(c, x) for x in o[1:] if isinstance(x, VReg)]
        if acc:
            srcs.insert(0, vlanes(c, o[0]))
        vwrite(c, o[0], [fn(*vals) for vals in zip(*srcs, strict=True)])
    return sem


def widening(fn: Callable[..., int], upper: bool, acc: bool):
    """Vd (wide lanes) = fn(Vn[i], Vm[i]) on the low or high half of the narrow lanes."""
    def sem(c, o):
        esize, count = shape(o[0])
        ns, ms = vlanes(c, o[1]), vlanes(c, o[2])
        if upper:
            ns, ms = ns[count:], ms[count:]
        old = vlanes(c, o[0]) if acc else [0] * count
        vwrite(c, o[0], [fn(a, n, m) for a, n, m in zip(old, ns[:count], ms[:count], strict=True)])
    return sem


def _permute(kind_: str):
    def sem(c, o):
        n, m = vlanes(c, o[1]), vlanes(c, o[2])
        count = len(n)
        half = count // 2
        if kind_ == "uzp1":
            out = n[0::2] + m[0::2]
        elif kind_ == "uzp2":
            out = n[1::2] + m[1::2]
        elif kind_ == "zip1":
            out = [x for pair in zip(n[:half], m[:half], strict=True) for x in pair]
        elif kind_ == "zip2":
            out = [x for pair in zip(n[half:], m[half:], strict=True) for x in pair]
        elif kind_ == "trn1":
            out = [x for i in range(0, count, 2) for x in (n[i], m[i])]
        else:  # trn2
            out = [x for i in range(0, count, 2) for x in (n[i + 1], m[i + 1])]
        vwrite(c, o[0], out)
    return sem


def _narrow(shift_by: bool, upper: bool):
    def sem(c, o):
        esize_d, count_d = shape(o[0])
        wide = vlanes(c, o[1])
        sh = imm(o, 2) if shift_by else 0
        low = [(x >> sh) & B.mask(esize_d) for x in wide]
        if upper:
            low = vlanes(c, o[0])[: count_d // 2] + low
        vwrite(c, o[0], low)
    return sem


def _rev(container: int):
    def sem(c, o):
        esize, _ = shape(o[0])
        lanes = vlanes(c, o[1])
        per = container // esize
        out: list[int] = []
        for i in range(0, len(lanes), per):
            out.extend(reversed(lanes[i:i + per]))
        vwrite(c, o[0], out)
    return sem


def _pairwise(signed: bool, acc: bool):
    def sem(c, o):
        esize_n = shape(o[1])[0]
        src = vlanes(c, o[1])
        if signed:
            src = [B.sext(x, esize_n) for x in src]
        sums = [src[i] + src[i + 1] for i in range(0, len(src), 2)]
        if acc:
            sums = [a + s for a, s in zip(vlanes(c, o[0]), sums, strict=True)]
        vwrite(c, o[0], sums)
    return sem


def _shift_imm(kind_: str):
    def sem(c, o):
        esize, _ = shape(o[0])
        sh = imm(o, 2)
        src = vlanes(c, o[1])
        old = vlanes(c, o[0])
        m = B.mask(esize)
        if kind_ == "shl":
            out = [(x << sh) & m for x in src]
        elif kind_ in ("ushr", "usra"):
            out = [x >> sh for x in src]
        elif kind_ in ("sshr", "ssra"):
            out = [(B.sext(x, esize) >> sh) & m for x in src]
        elif kind_ == "sli":
            out = [((x << sh) | (d & B.mask(sh))) & m for x, d in zip(src, old, strict=True)]
        else:  # sri
            keep = m & ~(m >> sh)
            out = [(x >> sh) | (d & keep) for x, d in zip(src, old, strict=True)]
        if kind_ in ("usra", "ssra"):
            out = [(a + x) & m for a, x in zip(old, out, strict=True)]
        vwrite(c, o[0], out)
    return sem


def _shll(signed: bool, upper: bool):
    def sem(c, o):
        esize_n, _ = shape(o[1])
        _, count = shape(o[0])
        src = vlanes(c, o[1])
        src = src[count:] if upper else src[:count]
        sh = imm(o, 2) if len(o) > 2 else 0
        vals = [B.sext(x, esize_n) if signed else x for x in src]
        vwrite(c, o[0], [v << sh for v in vals])
    return sem


def _sem_ext(c, o):
    nbytes = o[0].bits // 8
    cat = (c.r(o[2]) << (8 * nbytes)) | c.r(o[1])
    c.w(o[0], cat >> (8 * imm(o, 3)))


def _movi_value(o: Sequence[Operand]) -> int:
    """The 64-bit or per-lane value of `movi`."""
    v = imm(o, 1)
    if len(o) > 2:
        shift = o[2]
        assert isinstance(shift, Shift)  # `lsl #n` / `msl #n`
        v <<= shift.amount
    return v


def _sem_movi(c, o):
    dst = o[0]
    v = _movi_value(o)
    if isinstance(dst, VReg) and dst.arr:
        esize, count = shape(dst)
        vwrite(c, dst, [v] * count)
    else:
        c.w(dst, v)


def check_movi(o):
    """Operand check for movi: an 8-bit immediate with a valid `lsl`, or a 64-bit one of 0x00/0xff bytes."""
    dst, v = o[0], imm(o, 1)
    if isinstance(dst, VReg) and dst.arr in ("2d",) or (isinstance(dst, VReg) and dst.view == "d"):
        if not -(1 << 63) <= v <= B.mask(64):
            return f"movi 64-bit immediate {v:#x} out of range"
        v &= B.mask(64)  # `#-1` is all ones, as the assemblers accept
        ok = all(((v >> (8 * i)) & 0xFF) in (0, 0xFF) for i in range(8))
        return None if ok and len(o) == 2 else f"movi 64-bit immediate {v:#x} must have bytes 0x00 or 0xff"
    if not 0 <= v <= 0xFF:
        return f"movi immediate {v} out of range 0..255"
    if len(o) > 2:
        sh = o[2]
        esize = shape(dst)[0]
        if not isinstance(sh, Shift) or sh.op != "lsl" or sh.amount % 8 or sh.amount >= esize or esize == 8:
            return f"invalid movi shift '{sh}'"
    return None


def _sem_dup_gpr(c, o):
    esize, count = shape(o[0])
    vwrite(c, o[0], [c.r(o[1]) & B.mask(esize)] * count)


def _sem_dup_elem(c, o):
    _, count = shape(o[0])
    vwrite(c, o[0], [c.r(o[1])] * count)


def _sem_copy(c, o):
    c.w(o[0], c.r(o[1]))


# ------------------------------------------------------------- declarations

def _declare() -> None:
    _declare_arith_logic()
    _declare_widening_mul()
    _declare_permute_narrow()
    _declare_pairwise_shifts()
    _declare_moves()


def _declare_arith_logic() -> None:
    """Lanewise arithmetic, multiply-accumulate, logical operations and moves."""
    ops2 = {
        "add": lambda a, b: a + b, "sub": lambda a, b: a - b,
    }
    for name, fn in ops2.items():
        for a in FULL:
            esize = ESIZE[a[-1]]
            define(name, f">V.{a}, V.{a}, V.{a}", "vec_alu",
                   lanewise(lambda x, y, fn=fn, m=B.mask(esize): fn(x, y) & m))  # noqa: B008 (bound once per form)
    for a in NO_2D:
        esize = ESIZE[a[-1]]
        m = B.mask(esize)
        qform = a in ("16b", "8h", "4s")
        define("mul", f">V.{a}, V.{a}, V.{a}", "vec_mul_q" if qform else "vec_mul",
               lanewise(lambda x, y, m=m: (x * y) & m))
        define("mla", f"+V.{a}, V.{a}, V.{a}", "vec_mul_q" if qform else "vec_mul",
               lanewise(lambda d, x, y, m=m: (d + x * y) & m, acc=True))
        define("mls", f"+V.{a}, V.{a}, V.{a}", "vec_mul_q" if qform else "vec_mul",
               lanewise(lambda d, x, y, m=m: (d - x * y) & m, acc=True))
    logic = {
        "and": lambda a, b: a & b, "orr": lambda a, b: a | b, "eor": lambda a, b: a ^ b,
        "bic": lambda a, b: a & ~b, "orn": lambda a, b: a | ~b,
    }
    for name, fn in logic.items():
        for a in BYTES:
            define(name, f">V.{a}, V.{a}, V.{a}", "vec_alu",
                   lanewise(lambda x, y, fn=fn: fn(x, y) & 0xFF))
    for a in BYTES:
        define("mov", f">V.{a}, V.{a}", "vec_alu", _sem_copy, alias_of="orr")
        define("not", f">V.{a}, V.{a}", "vec_alu", lanewise(lambda x: ~x & 0xFF))
        define("mvn", f">V.{a}, V.{a}", "vec_alu", lanewise(lambda x: ~x & 0xFF), alias_of="not")


def _declare_widening_mul() -> None:
    # widening multiplies (64-bit lanes of products of 32-bit lanes, etc.)
    mul_ops = {
        "umull": (False, False, lambda a, n, m: n * m),
        "umlal": (False, True, lambda a, n, m: a + n * m),
        "umlsl": (False, True, lambda a, n, m: a - n * m),
        "smull": (True, False, lambda a, n, m: n * m),
        "smlal": (True, True, lambda a, n, m: a + n * m),
        "smlsl": (True, True, lambda a, n, m: a - n * m),
    }
    for name, (signed, acc, fn) in mul_ops.items():
        for wide, (lo, hi) in WIDEN.items():
            esize_n = ESIZE[lo[-1]]
            mw = B.mask(ESIZE[wide[-1]])

            def f(a, n, m, fn=fn, signed=signed, esize_n=esize_n, mw=mw):
                if signed:
                    n, m = B.sext(n, esize_n), B.sext(m, esize_n)
                return fn(a, n, m) & mw

            role = "+" if acc else ">"
            define(name, f"{role}V.{wide}, V.{lo}, V.{lo}", "vec_mul", widening(f, False, acc))
            define(name + "2", f"{role}V.{wide}, V.{hi}, V.{hi}", "vec_mul", widening(f, True, acc))


def _declare_permute_narrow() -> None:
    """Permutes, narrowing and widening shifts, element reversal."""
    for name in ("uzp1", "uzp2", "zip1", "zip2", "trn1", "trn2"):
        for a in FULL:
            define(name, f">V.{a}, V.{a}, V.{a}", "vec_alu", _permute(name))
    for wide, (lo, hi) in WIDEN.items():
        define("xtn", f">V.{lo}, V.{wide}", "vec_alu", _narrow(False, False))
        define("xtn2", f"+V.{hi}, V.{wide}", "vec_alu", _narrow(False, True))
        define("shrn", f">V.{lo}, V.{wide}, #", "vec_shift", _narrow(True, False),
               check=check_shift_imm(2, False, 0))
        define("shrn2", f"+V.{hi}, V.{wide}, #", "vec_shift", _narrow(True, True),
               check=check_shift_imm(2, False, 0))
        for signed in (False, True):
            p = "s" if signed else "u"
            define(f"{p}shll", f">V.{wide}, V.{lo}, #", "vec_shift", _shll(signed, False),
                   check=check_shift_imm(2, True, 1))
            define(f"{p}shll2", f">V.{wide}, V.{hi}, #", "vec_shift", _shll(signed, True),
                   check=check_shift_imm(2, True, 1))
            define(f"{p}xtl", f">V.{wide}, V.{lo}", "vec_shift", _shll(signed, False),
                   alias_of=f"{p}shll")
            define(f"{p}xtl2", f">V.{wide}, V.{hi}", "vec_shift", _shll(signed, True),
                   alias_of=f"{p}shll2")
    for a in NO_2D:
        define("rev64", f">V.{a}, V.{a}", "vec_alu", _rev(64))
    for a in ("8b", "16b", "4h", "8h"):
        define("rev32", f">V.{a}, V.{a}", "vec_alu", _rev(32))
    for a in BYTES:
        define("rev16", f">V.{a}, V.{a}", "vec_alu", _rev(16))


def _declare_pairwise_shifts() -> None:
    """Pairwise long adds, shifts by an immediate, ext and movi."""
    pair_shapes = {"4h": "8b", "8h": "16b", "2s": "4h", "4s": "8h", "1d": "2s", "2d": "4s"}
    for d, n in pair_shapes.items():
        define("uaddlp", f">V.{d}, V.{n}", "vec_pairwise", _pairwise(False, False))
        define("saddlp", f">V.{d}, V.{n}", "vec_pairwise", _pairwise(True, False))
        define("uadalp", f"+V.{d}, V.{n}", "vec_pairwise_acc", _pairwise(False, True))
        define("sadalp", f"+V.{d}, V.{n}", "vec_pairwise_acc", _pairwise(True, True))
    shifts = {"shl": (True, False), "ushr": (False, False), "sshr": (False, False),
              "usra": (False, True), "ssra": (False, True), "sli": (True, True),
              "sri": (False, True)}
    for name, (left, rmw) in shifts.items():
        for a in FULL:
            define(name, f"{'+' if rmw else '>'}V.{a}, V.{a}, #",
                   "vec_shift_acc" if name in ("usra", "ssra") else "vec_shift",
                   _shift_imm(name), check=check_shift_imm(2, left))
    for a in BYTES:
        define("ext", f">V.{a}, V.{a}, V.{a}, #", "vec_alu", _sem_ext,
               check=lambda o: None if 0 <= imm(o, 3) < o[0].bits // 8 else "ext index out of range")
    for a in FULL:
        define("movi", f">V.{a}, #, SHIFT?", "vec_alu", _sem_movi, check=check_movi)
    define("movi", ">D, #", "vec_alu", _sem_movi, check=check_movi)


def _declare_moves() -> None:
    # moves between register files and between elements
    for a in FULL:
        esize = ESIZE[a[-1]]
        src = "Xz" if esize == 64 else "Wz"
        define("dup", f">V.{a}, {src}", "gpr_to_vec_dup", _sem_dup_gpr)
        define("dup", f">V.{a}, V.{a[-1]}[]", "vec_alu", _sem_dup_elem, check=check_index(1))
    for size in "bhsd":
        src = "Xz" if size == "d" else "Wz"
        define("ins", f"+V.{size}[], {src}", "gpr_to_vec_ins", _sem_copy, check=check_index(0))
        define("mov", f"+V.{size}[], {src}", "gpr_to_vec_ins", _sem_copy, check=check_index(0),
               alias_of="ins")
        define("ins", f"+V.{size}[], V.{size}[]", "vec_alu", _sem_copy,
               check=lambda o: check_index(0)(o) or check_index(1)(o))
        define("mov", f"+V.{size}[], V.{size}[]", "vec_alu", _sem_copy,
               check=lambda o: check_index(0)(o) or check_index(1)(o), alias_of="ins")
        dst = "X" if size == "d" else "W"
        define("umov", f">{dst}z, V.{size}[]", _to_gpr_class, _sem_copy, check=check_index(1))
        if size in "sd":
            define("mov", f">{dst}z, V.{size}[]", _to_gpr_class, _sem_copy, check=check_index(1),
                   alias_of="umov")
    define("fmov", ">D, Xz", "gpr_to_vec", _sem_copy)
    define("fmov", ">S, Wz", "gpr_to_vec", _sem_copy)
    define("fmov", ">Xz, D", "vec_to_gpr", _sem_copy)
    define("fmov", ">Wz, S", "vec_to_gpr", _sem_copy)
    define("fmov", ">D, D", "vec_alu", _sem_copy)
    define("fmov", ">S, S", "vec_alu", _sem_copy)
    define("fmov", "+V.d[], Xz", "gpr_to_vec", _sem_copy,
           check=lambda o: None if o[0].index == 1 else "fmov to an element needs index 1")
    define("fmov", ">Xz, V.d[]", "vec_to_gpr_upper", _sem_copy,
           check=lambda o: None if o[1].index == 1 else "fmov from an element needs index 1")


def _to_gpr_fn(o: Sequence[Operand]) -> str:
    e = o[1]
    return "vec_to_gpr" if isinstance(e, VElem) and e.index == 0 else "vec_to_gpr_upper"


# Moving element 0 out of a SIMD register may be cheaper than other elements on some cores.
_to_gpr_class = OpClassVariant(_to_gpr_fn, ("vec_to_gpr", "vec_to_gpr_upper"))


_declare()
