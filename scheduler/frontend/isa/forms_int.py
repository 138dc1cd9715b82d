"""Integer (general-register) instruction forms, their aliases, and branches.

Semantics functions take (c, o): `c` is the simulator's execution context
(`c.r(op)` reads an operand, `c.w(op, value)` writes one, `c.nzcv` is the flags
word, `c.cond(op)` evaluates a condition) and `o` the matched operands.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.frontend.isa import bits as B
from scheduler.frontend.isa.operands import (
    COND_FLAGS,
    CONDITIONS,
    GPR,
    Extend,
    Imm,
    Operand,
    Shift,
)
from scheduler.frontend.isa.table import OpClassVariant, define

W = {"X": 64, "W": 32}


# ------------------------------------------------------------------ helpers

def src(c, o: Sequence[Operand], i: int, bits: int) -> int:
    """Operand i, with the shift or extend modifier that follows it applied."""
    value = c.r(o[i])
    mod = o[i + 1] if len(o) > i + 1 else None
    if isinstance(mod, Shift):
        value = B.shift(value, mod.op, mod.amount, bits)
    elif isinstance(mod, Extend):
        value = B.extend(value, mod.op, mod.amount or 0, bits)
    return value & B.mask(bits)


def imm_at(o: Sequence[Operand], i: int) -> int:
    """The value of immediate operand `i`."""
    op = o[i]
    assert isinstance(op, Imm)
    return op.value


def _mod(o: Sequence[Operand], i: int) -> Shift | Extend | None:
    op = o[i] if len(o) > i else None
    return op if isinstance(op, (Shift, Extend)) else None


def shifted_class(i: int, shifted: str):
    """`int_alu` without a (non-zero) shift, else `shifted`. Machine models refine
    by shift kind and amount (many cores treat a small `lsl` as a plain ALU op)."""
    def opclass(o: Sequence[Operand]) -> str:
        mod = _mod(o, i)
        return "int_alu" if mod is None or mod.amount == 0 else shifted
    return OpClassVariant(opclass, ("int_alu", shifted))


# ------------------------------------------------------------ operand checks

def check_arith_imm(i: int):
    """Operand check for an add/sub immediate at `i`: 12 bits, optionally `lsl #12`."""
    def check(o):
        v, mod = imm_at(o, i), _mod(o, i + 1)
        if mod is not None:
            if not isinstance(mod, Shift) or mod.op != "lsl" or mod.amount not in (0, 12):
                return "arithmetic immediate shift must be 'lsl #0' or 'lsl #12'"
            return None if 0 <= v <= 4095 else f"immediate {v} out of range 0..4095"
        if -4095 <= v <= 4095 or (abs(v) % 4096 == 0 and abs(v) >> 12 <= 4095):
            return None
        return f"immediate {v} is not encodable (12 bits, optionally shifted by 12)"
    return check


def check_shift_mod(i: int, bits: int, ror_ok: bool):
    """Operand check for the optional shift at `i`: lsl/lsr/asr (ror if `ror_ok`), amount below `bits`."""
    def check(o):
        mod = _mod(o, i)
        if mod is None:
            return None
        if not isinstance(mod, Shift) or mod.op == "msl" or (mod.op == "ror" and not ror_ok):
            return f"invalid shift '{mod}'"
        return None if 0 <= mod.amount < bits else f"shift amount {mod.amount} out of range"
    return check


def check_ext_mod(i: int, bits: int):
    """Operand check for the extend at `i` (after the register at `i - 1`): amount 0..4, fitting the register."""
    def check(o):
        mod = _mod(o, i)
        rm = o[i - 1]
        if mod is None:
            return None if isinstance(rm, GPR) and rm.bits == bits else "extended register needs an extend"
        if isinstance(mod, Shift):
            ok = mod.op == "lsl" and mod.amount <= 4 and isinstance(rm, GPR) and rm.bits == bits
            return None if ok else f"invalid extend '{mod}'"
        if (mod.amount or 0) > 4:
            return f"extend amount {mod.amount} out of range 0..4"
        wants_x = mod.op.endswith("x")
        if bits == 64 and isinstance(rm, GPR) and (rm.bits == 64) != wants_x:
            return f"extend '{mod.op}' does not fit register {rm}"
        return None
    return check


def check_bitmask(i: int, bits: int):
    """Operand check: immediate `i` is encodable as a logical (bitmask) immediate of `bits` bits."""
    def check(o):
        v = imm_at(o, i)
        if bits == 32 and v >> 32 == 0xFFFFFFFF:
            v &= B.mask(32)  # a W immediate written as its 64-bit sign extension, as assemblers accept
        return None if B.is_bitmask_imm(v, bits) and v >= -(1 << (bits - 1)) else (
            f"immediate {v:#x} is not encodable as a logical immediate")
    return check


def check_range(i: int, lo: int, hi: int, what: str = "immediate"):
    """Operand check: immediate `i` lies in `lo..hi`."""
    def check(o):
        v = imm_at(o, i)
        return None if lo <= v <= hi else f"{what} {v} out of range {lo}..{hi}"
    return check


def check_movw(bits: int):
    """Operand check for movz/movn/movk: a 16-bit immediate, optionally `lsl` by a multiple of 16 below `bits`."""
    def check(o):
        v = imm_at(o, 1)
        mod = _mod(o, 2)
        if not 0 <= v <= 0xFFFF:
            return f"immediate {v:#x} out of range 0..0xffff"
        if mod is not None and (not isinstance(mod, Shift) or mod.op != "lsl"
                                or mod.amount % 16 or mod.amount >= bits):
            return f"invalid shift '{mod}' for a 16-bit move"
        return None
    return check


def check_bitfield(bits: int):
    """Operand check for bitfield lsb (operand 2) and width (operand 3) within `bits`."""
    def check(o):
        lsb, width = imm_at(o, 2), imm_at(o, 3)
        ok = 0 <= lsb < bits and 1 <= width <= bits - lsb
        return None if ok else f"bitfield lsb={lsb} width={width} out of range"
    return check


def all_of(*checks):
    """Operand check combining `checks`: the first problem any of them reports, else None."""
    def check(o):
        for ch in checks:
            problem = ch(o)
            if problem:
                return problem
        return None
    return check


def check_cond_not_al(i: int):
    """Operand check: condition `i` is neither `al` nor `nv`."""
    def check(o):
        return None if o[i].code not in ("al", "nv") else "condition 'al'/'nv' is not allowed here"
    return check


# ------------------------------------------------------------------ semantics

def _sem_add(bits: int, sub: bool, setflags: bool):
    def sem(c, o):
        y = src(c, o, 2, bits)
        x = c.r(o[1])
        res, flags = B.add_with_carry(x, (~y if sub else y), int(sub), bits)
        if setflags:
            c.nzcv = flags
        c.w(o[0], res)
    return sem


def _sem_cmp(bits: int, sub: bool, logical: bool = False):
    def sem(c, o):
        x, y = c.r(o[0]), src(c, o, 1, bits)
        if logical:
            res = x & y
            c.nzcv = B.nzcv_of(res, 0, 0, bits)
        else:
            c.nzcv = B.add_with_carry(x, (~y if sub else y), int(sub), bits)[1]
    return sem


def _sem_adc(bits: int, sub: bool, setflags: bool, neg: bool = False):
    def sem(c, o):
        x = 0 if neg else c.r(o[1])
        y = c.r(o[1] if neg else o[2])
        carry = (c.nzcv >> 1) & 1
        res, flags = B.add_with_carry(x, (~y if sub else y), carry, bits)
        if setflags:
            c.nzcv = flags
        c.w(o[0], res)
    return sem


def _sem_neg(bits: int, setflags: bool):
    def sem(c, o):
        res, flags = B.add_with_carry(0, ~src(c, o, 1, bits), 1, bits)
        if setflags:
            c.nzcv = flags
        c.w(o[0], res)
    return sem


_LOGIC = {
    "and": lambda a, b: a & b, "ands": lambda a, b: a & b, "orr": lambda a, b: a | b,
    "eor": lambda a, b: a ^ b, "bic": lambda a, b: a & ~b, "bics": lambda a, b: a & ~b,
    "orn": lambda a, b: a | ~b, "eon": lambda a, b: a ^ ~b,
}


def _sem_logic(name: str, bits: int):
    fn = _LOGIC[name]

    def sem(c, o):
        res = fn(c.r(o[1]), src(c, o, 2, bits)) & B.mask(bits)
        if name.endswith("s"):
            c.nzcv = B.nzcv_of(res, 0, 0, bits)
        c.w(o[0], res)
    return sem


def _sem_mvn(bits: int):
    return lambda c, o: c.w(o[0], ~src(c, o, 1, bits))


def _sem_mov(c, o):
    c.w(o[0], c.r(o[1]))


def _sem_movz(bits: int, invert: bool):
    def sem(c, o):
        s = o[2].amount if len(o) > 2 else 0
        v = imm_at(o, 1) << s
        c.w(o[0], ~v if invert else v)
    return sem


def _sem_movk(c, o):
    s = o[2].amount if len(o) > 2 else 0
    old = c.r(o[0])
    c.w(o[0], (old & ~(0xFFFF << s)) | (imm_at(o, 1) << s))


def _sem_shift_imm(op: str, bits: int):
    return lambda c, o: c.w(o[0], B.shift(c.r(o[1]), op, imm_at(o, 2), bits))


def _sem_shift_reg(op: str, bits: int):
    return lambda c, o: c.w(o[0], B.shift(c.r(o[1]), op, c.r(o[2]) % bits, bits))


def _sem_mul(bits: int, acc: str):
    def sem(c, o):
        prod = c.r(o[1]) * c.r(o[2])
        a = c.r(o[3]) if acc in ("add", "sub") else 0
        res = {"": prod, "add": a + prod, "sub": a - prod, "neg": -prod}[acc]
        c.w(o[0], res & B.mask(bits))
    return sem


def _sem_mulh(signed: bool):
    def sem(c, o):
        a, b = c.r(o[1]), c.r(o[2])
        if signed:
            a, b = B.sext(a, 64), B.sext(b, 64)
        c.w(o[0], ((a * b) >> 64) & B.mask(64))
    return sem


def _sem_mull(signed: bool, acc: str):
    def sem(c, o):
        a, b = c.r(o[1]), c.r(o[2])
        if signed:
            a, b = B.sext(a, 32), B.sext(b, 32)
        prod = a * b
        acc_v = c.r(o[3]) if acc in ("add", "sub") else 0
        res = {"": prod, "add": acc_v + prod, "sub": acc_v - prod, "neg": -prod}[acc]
        c.w(o[0], res & B.mask(64))
    return sem


def _sem_div(bits: int, signed: bool):
    def sem(c, o):
        a, b = c.r(o[1]), c.r(o[2])
        if signed:
            a, b = B.sext(a, bits), B.sext(b, bits)
        if b == 0:
            q = 0
        else:
            q = abs(a) // abs(b)
            if (a < 0) != (b < 0):
                q = -q
        c.w(o[0], q & B.mask(bits))
    return sem


def _sem_extr(bits: int):
    def sem(c, o):
        lsb = imm_at(o, 3)
        cat = (c.r(o[1]) << bits) | c.r(o[2])
        c.w(o[0], (cat >> lsb) & B.mask(bits))
    return sem


def _sem_ror_imm(bits: int):
    return lambda c, o: c.w(o[0], B.ror(c.r(o[1]), imm_at(o, 2), bits))


def _sem_csel(kind_: str, bits: int):
    def sem(c, o):
        hit = c.cond(o[3])
        v = c.r(o[2])
        v = {"sel": lambda: v, "inc": lambda: v + 1, "inv": lambda: ~v, "neg": lambda: -v}[kind_]()
        c.w(o[0], B.select(hit, c.r(o[1]), v & B.mask(bits)))
    return sem


def _sem_cset(mask_all: bool, bits: int):
    def sem(c, o):
        hit = c.cond(o[1])
        c.w(o[0], B.select(hit, B.mask(bits) if mask_all else 1, 0))
    return sem


def _sem_cinc(kind_: str, bits: int):
    def sem(c, o):
        v = c.r(o[1])
        changed = {"inc": lambda: v + 1, "inv": lambda: ~v, "neg": lambda: -v}[kind_]()
        c.w(o[0], B.select(c.cond(o[2]), changed, v) & B.mask(bits))
    return sem


def _sem_ccmp(bits: int, sub: bool):
    def sem(c, o):
        x, y = c.r(o[0]), c.r(o[1])
        flags = B.add_with_carry(x, (~y if sub else y), int(sub), bits)[1]
        c.nzcv = B.select(c.cond(o[3]), flags, imm_at(o, 2))
    return sem


def _sem_clz(bits: int):
    def sem(c, o):
        c.w(o[0], B.clz(c.r(o[1]), bits))
    return sem


def _sem_cls(bits: int):
    def sem(c, o):
        v = c.r(o[1])
        top = (v >> (bits - 1)) & 1
        x = (v ^ (top * B.mask(bits))) & B.mask(bits - 1)
        c.w(o[0], B.clz(x, bits - 1))
    return sem


def _sem_rbit(bits: int):
    def sem(c, o):
        v = c.r(o[1])
        c.w(o[0], B.pack(B.lanes(v, 1, bits)[::-1], 1))
    return sem


def _sem_rev(bits: int, chunk: int):
    def sem(c, o):
        v = c.r(o[1])
        chunks = [B.pack(B.lanes(part, 8, chunk // 8)[::-1], 8) for part in B.lanes(v, chunk, bits // chunk)]
        c.w(o[0], B.pack(chunks, chunk))
    return sem


def _sem_bfm(op: str, bits: int):
    def sem(c, o):
        lsb, width = imm_at(o, 2), imm_at(o, 3)
        v = c.r(o[1])
        m = B.mask(width)
        if op == "ubfx":
            res = (v >> lsb) & m
        elif op == "sbfx":
            res = B.sext((v >> lsb) & m, width) & B.mask(bits)
        elif op == "ubfiz":
            res = ((v & m) << lsb) & B.mask(bits)
        elif op == "sbfiz":
            res = (B.sext(v & m, width) << lsb) & B.mask(bits)
        elif op == "bfi":
            res = (c.r(o[0]) & ~(m << lsb)) | ((v & m) << lsb)
        else:  # bfxil
            res = (c.r(o[0]) & ~m) | ((v >> lsb) & m)
        c.w(o[0], res & B.mask(bits))
    return sem


def _sem_ext(op: str, size: int, bits: int):
    def sem(c, o):
        v = c.r(o[1]) & B.mask(size)
        if op.startswith("s"):
            v = B.sext(v, size)
        c.w(o[0], v & B.mask(bits))
    return sem


# --------------------------------------------------------------- declarations

def _declare_width(R: str) -> None:
    bits = W[R]
    Rz, Rs = R + "z", R + "s"
    wide = "W|X" if R == "X" else "W"
    _declare_add_sub(bits, Rz, Rs, wide)
    _declare_carry_logic(bits, Rz, Rs)
    _declare_moves_shifts(bits, Rz, Rs)
    _declare_mul_select(bits, Rz)
    _declare_bits(bits, Rz)


def _declare_add_sub(bits: int, Rz: str, Rs: str, wide: str) -> None:
    """add / sub and their flag-setting forms, compares, tst, neg."""
    for name, sub in (("add", False), ("sub", True)):
        for flags in (False, True):
            mn = name + ("s" if flags else "")
            dst = Rz if flags else Rs
            fw = "NZCV" if flags else ""
            define(mn, f">{dst}, {Rs}, #, SHIFT?", "int_alu", _sem_add(bits, sub, flags),
                   flags_written=fw, check=check_arith_imm(2))
            define(mn, f">{Rz}, {Rz}, {Rz}, SHIFT?", shifted_class(3, "int_arith_shifted"), _sem_add(bits, sub, flags),
                   flags_written=fw, check=check_shift_mod(3, bits, False))
            define(mn, f">{dst}, {Rs}, {wide}, EXT|SHIFT?", "int_alu_extended",
                   _sem_add(bits, sub, flags), flags_written=fw, check=check_ext_mod(3, bits))
        cmp = "cmp" if sub else "cmn"
        target = "subs" if sub else "adds"
        define(cmp, f"{Rs}, #, SHIFT?", "int_alu", _sem_cmp(bits, sub), flags_written="NZCV",
               check=check_arith_imm(1), alias_of=target)
        define(cmp, f"{Rz}, {Rz}, SHIFT?", shifted_class(2, "int_arith_shifted"), _sem_cmp(bits, sub),
               flags_written="NZCV", check=check_shift_mod(2, bits, False), alias_of=target)
        define(cmp, f"{Rs}, {wide}, EXT|SHIFT?", "int_alu_extended", _sem_cmp(bits, sub),
               flags_written="NZCV", check=check_ext_mod(2, bits), alias_of=target)
    define("tst", f"{Rz}, #", "int_alu", _sem_cmp(bits, False, logical=True),
           flags_written="NZCV", check=check_bitmask(1, bits), alias_of="ands")
    define("tst", f"{Rz}, {Rz}, SHIFT?", shifted_class(2, "int_logic_shifted_flags"), _sem_cmp(bits, False, logical=True),
           flags_written="NZCV", check=check_shift_mod(2, bits, True), alias_of="ands")
    for name in ("neg", "negs"):
        define(name, f">{Rz}, {Rz}, SHIFT?", shifted_class(2, "int_arith_shifted"), _sem_neg(bits, name == "negs"),
               flags_written="NZCV" if name == "negs" else "",
               check=check_shift_mod(2, bits, False), alias_of="subs" if name == "negs" else "sub")


def _declare_carry_logic(bits: int, Rz: str, Rs: str) -> None:
    """Carry chains and logical operations."""
    # carry chains
    for name, sub in (("adc", False), ("sbc", True)):
        for flags in (False, True):
            define(name + ("s" if flags else ""), f">{Rz}, {Rz}, {Rz}", "int_alu",
                   _sem_adc(bits, sub, flags), flags_read="C",
                   flags_written="NZCV" if flags else "")
    for name in ("ngc", "ngcs"):
        define(name, f">{Rz}, {Rz}", "int_alu", _sem_adc(bits, True, name == "ngcs", neg=True),
               flags_read="C", flags_written="NZCV" if name == "ngcs" else "",
               alias_of="sbcs" if name == "ngcs" else "sbc")
    # logical
    for name in _LOGIC:
        fw = "NZCV" if name.endswith("s") else ""
        if name in ("and", "ands", "orr", "eor"):
            dst = Rz if name == "ands" else Rs
            define(name, f">{dst}, {Rz}, #", "int_alu", _sem_logic(name, bits),
                   flags_written=fw, check=check_bitmask(2, bits))
        define(name, f">{Rz}, {Rz}, {Rz}, SHIFT?",
               shifted_class(3, "int_logic_shifted_flags" if fw else "int_logic_shifted"),
               _sem_logic(name, bits),
               flags_written=fw, check=check_shift_mod(3, bits, True))
    define("mvn", f">{Rz}, {Rz}, SHIFT?", shifted_class(2, "int_logic_shifted"), _sem_mvn(bits),
           check=check_shift_mod(2, bits, True), alias_of="orn")


def _declare_moves_shifts(bits: int, Rz: str, Rs: str) -> None:
    """Moves and shifts."""
    # moves
    define("mov", f">{Rz}, {Rz}", "int_alu", _sem_mov, alias_of="orr")
    define("mov", f">{Rs}, {Rs}", "int_alu", _sem_mov, alias_of="add")
    define("mov", f">{Rz}, #", "int_alu", lambda c, o: c.w(o[0], imm_at(o, 1)),
           check=lambda o: None if B.mov_imm_encodable(imm_at(o, 1), bits)
           else f"immediate {imm_at(o, 1):#x} is not encodable by mov (movz/movn/orr)",
           alias_of="movz/movn/orr")
    define("movz", f">{Rz}, #, SHIFT?", "int_alu", _sem_movz(bits, False), check=check_movw(bits))
    define("movn", f">{Rz}, #, SHIFT?", "int_alu", _sem_movz(bits, True), check=check_movw(bits))
    define("movk", f"+{Rz}, #, SHIFT?", "int_alu", _sem_movk, check=check_movw(bits))
    # shifts
    for op in ("lsl", "lsr", "asr"):
        define(op, f">{Rz}, {Rz}, #", "int_alu", _sem_shift_imm(op, bits),
               check=check_range(2, 0, bits - 1, "shift"), alias_of="ubfm/sbfm")
        define(op, f">{Rz}, {Rz}, {Rz}", "int_alu", _sem_shift_reg(op, bits), alias_of=op + "v")
    define("ror", f">{Rz}, {Rz}, #", "int_ror", _sem_ror_imm(bits),
           check=check_range(2, 0, bits - 1, "shift"), alias_of="extr")
    define("ror", f">{Rz}, {Rz}, {Rz}", "int_alu", _sem_shift_reg("ror", bits), alias_of="rorv")
    define("extr", f">{Rz}, {Rz}, {Rz}, #", "int_extr", _sem_extr(bits),
           check=check_range(3, 0, bits - 1, "lsb"))


def _declare_mul_select(bits: int, Rz: str) -> None:
    """Multiplies and the conditional select family."""
    # multiplies
    mulclass = "int_mul64" if bits == 64 else "int_mul32"
    define("mul", f">{Rz}, {Rz}, {Rz}", mulclass, _sem_mul(bits, ""), alias_of="madd")
    define("mneg", f">{Rz}, {Rz}, {Rz}", mulclass, _sem_mul(bits, "neg"), alias_of="msub")
    define("madd", f">{Rz}, {Rz}, {Rz}, {Rz}", mulclass, _sem_mul(bits, "add"))
    define("msub", f">{Rz}, {Rz}, {Rz}, {Rz}", mulclass, _sem_mul(bits, "sub"))
    define("udiv", f">{Rz}, {Rz}, {Rz}", f"int_div{bits}", _sem_div(bits, False))
    define("sdiv", f">{Rz}, {Rz}, {Rz}", f"int_div{bits}", _sem_div(bits, True))
    # conditional select family
    for name in ("csel", "csinc", "csinv", "csneg"):
        define(name, f">{Rz}, {Rz}, {Rz}, COND", "int_alu",
               _sem_csel({"csel": "sel", "csinc": "inc", "csinv": "inv", "csneg": "neg"}[name], bits),
               flags_read="cond")
    for name in ("cset", "csetm"):
        define(name, f">{Rz}, COND", "int_alu", _sem_cset(name == "csetm", bits),
               flags_read="cond", check=check_cond_not_al(1),
               alias_of="csinc" if name == "cset" else "csinv")
    for name in ("cinc", "cinv", "cneg"):
        define(name, f">{Rz}, {Rz}, COND", "int_alu", _sem_cinc(name[1:], bits),
               flags_read="cond", check=check_cond_not_al(2),
               alias_of={"cinc": "csinc", "cinv": "csinv", "cneg": "csneg"}[name])
    for name in ("ccmp", "ccmn"):
        sem = _sem_ccmp(bits, name == "ccmp")
        nzcv = check_range(2, 0, 15, "nzcv")
        define(name, f"{Rz}, {Rz}, #, COND", "int_alu", sem, flags_read="cond",
               flags_written="NZCV", check=nzcv)
        define(name, f"{Rz}, #, #, COND", "int_alu", sem, flags_read="cond",
               flags_written="NZCV", check=all_of(nzcv, check_range(1, 0, 31)))


def _declare_bits(bits: int, Rz: str) -> None:
    """Bit manipulation, bitfields and extensions."""
    # bit manipulation
    define("clz", f">{Rz}, {Rz}", "int_alu", _sem_clz(bits))
    define("cls", f">{Rz}, {Rz}", "int_alu", _sem_cls(bits))
    define("rbit", f">{Rz}, {Rz}", "int_alu", _sem_rbit(bits))
    define("rev", f">{Rz}, {Rz}", "int_alu", _sem_rev(bits, bits))
    define("rev16", f">{Rz}, {Rz}", "int_alu", _sem_rev(bits, 16))
    if bits == 64:
        define("rev32", f">{Rz}, {Rz}", "int_alu", _sem_rev(bits, 32))
    for name in ("ubfx", "sbfx", "ubfiz", "sbfiz"):
        define(name, f">{Rz}, {Rz}, #, #", "int_alu", _sem_bfm(name, bits),
               check=check_bitfield(bits), alias_of="ubfm" if name[0] == "u" else "sbfm")
    for name in ("bfi", "bfxil"):
        define(name, f"+{Rz}, {Rz}, #, #", "int_bitfield_insert", _sem_bfm(name, bits),
               check=check_bitfield(bits), alias_of="bfm")
    for name, size in (("sxtb", 8), ("sxth", 16), ("uxtb", 8), ("uxth", 16)):
        if name[0] == "u" and bits == 64:
            continue  # uxtb/uxth only exist with a W destination
        define(name, f">{Rz}, Wz", "int_alu", _sem_ext(name, size, bits), alias_of="sbfm/ubfm")
    if bits == 64:
        define("sxtw", ">Xz, Wz", "int_alu", _sem_ext("sxtw", 32, 64), alias_of="sbfm")


for _R in ("X", "W"):
    _declare_width(_R)

# 64-bit-only multiply forms
define("umulh", ">Xz, Xz, Xz", "int_mulh", _sem_mulh(False))
define("smulh", ">Xz, Xz, Xz", "int_mulh", _sem_mulh(True))
for _name, _signed, _acc in (
    ("umull", False, ""), ("smull", True, ""), ("umnegl", False, "neg"), ("smnegl", True, "neg"),
):
    define(_name, ">Xz, Wz, Wz", "int_mull", _sem_mull(_signed, _acc),
           alias_of=("umaddl" if _name[0] == "u" else "smaddl") if _acc == "" else "umsubl/smsubl")
for _name, _signed, _acc in (
    ("umaddl", False, "add"), ("smaddl", True, "add"), ("umsubl", False, "sub"), ("smsubl", True, "sub"),
):
    define(_name, ">Xz, Wz, Wz, Xz", "int_mull", _sem_mull(_signed, _acc))


# ------------------------------------------------------------------- branches
# Branches end straight-line blocks; the simulator stops at `ret` and refuses others.

define("ret", "X?", "branch", None, branch=True, note="reads x30 when no register is given")
define("br", "X", "branch", None, branch=True)
define("blr", "X", "branch", None, branch=True)
define("b", "SYM", "branch", None, branch=True)
define("bl", "SYM", "branch", None, branch=True)
for _R in ("X", "W"):
    define("cbz", f"{_R}z, SYM", "branch", None, branch=True)
    define("cbnz", f"{_R}z, SYM", "branch", None, branch=True)
    define("tbz", f"{_R}z, #, SYM", "branch", None, branch=True)
    define("tbnz", f"{_R}z, #, SYM", "branch", None, branch=True)
for _spelling, _code in CONDITIONS.items():
    define(f"b.{_spelling}", "SYM", "branch", None, branch=True,
           flags_read="".join(f for f in "NZCV" if f in COND_FLAGS[_code]))
