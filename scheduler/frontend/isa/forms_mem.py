"""Loads and stores: single and pair, general and SIMD registers, every addressing mode.

The memory operand (kind MEM) always comes last. Its base register is read;
pre/post-index forms also write it (writeback). `mem_size` is the number of
bytes accessed in total; the dependency analysis derives the address from the
operand. Every form here also refuses the UNPREDICTABLE register combinations
(`table.define` adds `unpredictable.py`'s test to its check).
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.frontend.isa.bits import sext
from scheduler.frontend.isa.operands import Extend, Mem, Operand
from scheduler.frontend.isa.table import OpClassVariant, define

# register kinds per access size for the data operand(s)
GPR_SIZES = {"X": 8, "W": 4}
SIMD_SIZES = {"Q": 16, "D": 8, "S": 4, "H": 2, "B": 1}


def _log2(n: int) -> int:
    return n.bit_length() - 1


def check_single(size: int, unscaled_only: bool = False):
    """Encodable addressing for one register of `size` bytes (ldr/str/ldur/stur)."""
    def check(o: Sequence[Operand]) -> str | None:
        m = o[-1]
        assert isinstance(m, Mem)
        if m.index is not None:
            if unscaled_only:
                return "ldur/stur take no register offset"
            mod = m.modifier
            amount = 0 if mod is None else (mod.amount or 0)
            if amount not in (0, _log2(size)):
                return f"index shift must be 0 or {_log2(size)} for a {size}-byte access"
            if m.index.bits == 32 and not (isinstance(mod, Extend) and mod.op in ("uxtw", "sxtw")):
                return "a W index register needs uxtw or sxtw"
            if m.index.bits == 64 and isinstance(mod, Extend) and mod.op not in ("sxtx", "uxtx"):
                return f"extend '{mod.op}' does not fit an X index register"
            return None
        if unscaled_only and m.mode != "off":
            return "ldur/stur take no writeback"
        if m.mode != "off" or unscaled_only:
            return None if -256 <= m.offset <= 255 else f"offset {m.offset} out of range -256..255"
        scaled_ok = m.offset % size == 0 and 0 <= m.offset <= 4095 * size
        return None if scaled_ok or -256 <= m.offset <= 255 else (
            f"offset {m.offset} is not encodable for a {size}-byte access")
    return check


def check_pair(size: int):
    """Operand check for a pair of `size`-byte registers: no index, offset a multiple of `size` in -64..63 times it."""
    def check(o: Sequence[Operand]) -> str | None:
        m = o[-1]
        assert isinstance(m, Mem)
        if m.index is not None:
            return "load/store pair takes no register offset"
        lo, hi = -64 * size, 63 * size
        if m.offset % size or not lo <= m.offset <= hi:
            return f"pair offset {m.offset} must be a multiple of {size} in {lo}..{hi}"
        return None
    return check


ADDRESSING = ("", "_unscaled", "_regoff", "_wb")


def _mem_class(kind_: str, size: int, unscaled_only: bool = False):
    """opclass such as load_gpr, store_vec_pair_q_wb: what is transferred, then how the
    address is formed ("" scaled immediate, _unscaled, _regoff, _wb writeback)."""
    def opclass(o: Sequence[Operand]) -> str:
        m = o[-1]
        assert isinstance(m, Mem)
        if m.writeback:
            return kind_ + "_wb"
        if m.index is not None:
            return kind_ + "_regoff"
        scaled = m.offset % size == 0 and 0 <= m.offset <= 4095 * size and not unscaled_only
        if "pair" in kind_:
            scaled = True  # pairs have a single (scaled) immediate form
        return kind_ + ("" if scaled else "_unscaled")
    modes: tuple[str, ...]
    if "pair" in kind_:
        modes = ("", "_wb")
    elif unscaled_only:
        modes = ("_unscaled",)
    else:
        modes = ADDRESSING
    return OpClassVariant(opclass, tuple(kind_ + a for a in modes))


def _sem_load(size: int, nregs: int, signed: bool = False):
    def sem(c, o):
        m = o[-1]
        addr = c.addr(m)
        values = [c.load(addr + i * size, size) for i in range(nregs)]
        for r, v in zip(o[:nregs], values, strict=True):
            c.w(r, sext(v, size * 8) if signed else v)
        c.writeback(m)
    return sem


def _sem_store(size: int, nregs: int):
    def sem(c, o):
        m = o[-1]
        addr = c.addr(m)
        values = [c.r(r) for r in o[:nregs]]
        for i, v in enumerate(values):
            c.store(addr + i * size, size, v)
        c.writeback(m)
    return sem


def _declare() -> None:
    for R, size in GPR_SIZES.items():
        Rz = R + "z"
        single, pair = check_single(size), check_pair(size)
        define("ldr", f">{Rz}, MEM", _mem_class("load_gpr", size), _sem_load(size, 1), mem="load",
               mem_size=size, check=single)
        define("str", f"{Rz}, MEM", _mem_class("store_gpr", size), _sem_store(size, 1), mem="store",
               mem_size=size, check=single)
        define("ldur", f">{Rz}, MEM", _mem_class("load_gpr", size, True), _sem_load(size, 1), mem="load", mem_size=size,
               check=check_single(size, unscaled_only=True))
        define("stur", f"{Rz}, MEM", _mem_class("store_gpr", size, True), _sem_store(size, 1), mem="store", mem_size=size,
               check=check_single(size, unscaled_only=True))
        pair_kind = "_pair" if R == "X" else "_pair_w"
        define("ldp", f">{Rz}, >{Rz}, MEM", _mem_class("load_gpr" + pair_kind, size), _sem_load(size, 2),
               mem="load", mem_size=2 * size, check=pair)
        define("stp", f"{Rz}, {Rz}, MEM", _mem_class("store_gpr" + pair_kind, size), _sem_store(size, 2),
               mem="store", mem_size=2 * size, check=pair)
    define("ldrsw", ">Xz, MEM", _mem_class("load_gpr", 4), _sem_load(4, 1, signed=True), mem="load",
           mem_size=4, check=check_single(4))
    for name, size in (("b", 1), ("h", 2)):
        define(f"ldr{name}", ">Wz, MEM", _mem_class("load_gpr", size), _sem_load(size, 1), mem="load",
               mem_size=size, check=check_single(size))
        define(f"str{name}", "Wz, MEM", _mem_class("store_gpr", size), _sem_store(size, 1), mem="store",
               mem_size=size, check=check_single(size))
        define(f"ldur{name}", ">Wz, MEM", _mem_class("load_gpr", size, True), _sem_load(size, 1), mem="load",
               mem_size=size, check=check_single(size, unscaled_only=True))
        define(f"stur{name}", "Wz, MEM", _mem_class("store_gpr", size, True), _sem_store(size, 1), mem="store",
               mem_size=size, check=check_single(size, unscaled_only=True))
    for V, size in SIMD_SIZES.items():
        q = "_q" if V == "Q" else ""
        define("ldr", f">{V}, MEM", _mem_class("load_vec" + q, size), _sem_load(size, 1), mem="load",
               mem_size=size, check=check_single(size))
        define("str", f"{V}, MEM", _mem_class("store_vec" + q, size), _sem_store(size, 1), mem="store",
               mem_size=size, check=check_single(size))
        define("ldur", f">{V}, MEM", _mem_class("load_vec" + q, size, True), _sem_load(size, 1), mem="load", mem_size=size,
               check=check_single(size, unscaled_only=True))
        define("stur", f"{V}, MEM", _mem_class("store_vec" + q, size, True), _sem_store(size, 1), mem="store", mem_size=size,
               check=check_single(size, unscaled_only=True))
        if size >= 4:
            define("ldp", f">{V}, >{V}, MEM", _mem_class("load_vec_pair" + q, size), _sem_load(size, 2),
                   mem="load", mem_size=2 * size, check=check_pair(size))
            define("stp", f"{V}, {V}, MEM", _mem_class("store_vec_pair" + q, size), _sem_store(size, 2),
                   mem="store", mem_size=2 * size, check=check_pair(size))


_declare()
