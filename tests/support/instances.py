"""Random concrete instances of instruction-table forms, for differential tests.

For every form we build operand lists that satisfy its signature and its own
encodability check, print them as assembly text, and (in the tests) assemble
them with a real assembler. A table entry that accepts something the assembler
rejects is a bug this exposes too.
"""

from __future__ import annotations

import random

from scheduler.frontend.ir import format_instruction
from scheduler.frontend.isa.operands import (
    CONDITIONS,
    ESIZE,
    EXTENDS,
    GPR,
    Cond,
    Extend,
    Imm,
    Mem,
    Shift,
    Sym,
    VElem,
    VReg,
)
from scheduler.frontend.isa.table import TABLE, Form

IMM_POOL = [
    *range(0, 66), 255, 256, 4095, 4096, 4096 * 7, 4095 << 12, -1, -2, -8, -16, -256, -255,
    -512, -504, 504, 1008, 1024, 8 * 4095, 16 * 4095, 0x1234, 0xFFFF, 0x12340000,
    0xFF, 0xFFFFFFFF, 0xFFFFFFFF00000001, 0xFFFFFFFFFFFFF, 0x8000000000000000,
    0x5555555555555555, 0x00FF00FF00FF00FF, 0xF0F0F0F0, 0x7FFFFFFE, 0xFF00FF00FF00FF00,
    0x000000FFFFFFFF, 0xFFFFFFFFFFFF1234, -9223372036854775808, 0xFFFF0000FFFF0000,
    0xFFFFFFFFFFFFFFFF, 0x00000000FFFF0000,
]
SHIFT_AMOUNTS = [0, 1, 2, 3, 4, 5, 8, 12, 16, 31, 32, 33, 48, 63]
COND_SPELLINGS = list(CONDITIONS)


def _gpr(kind: str, rng: random.Random, used: set[int]) -> GPR:
    if kind in ("ZR", "WZR"):
        return GPR(31, 64 if kind == "ZR" else 32)
    if kind in ("SP", "WSP"):
        return GPR(31, 64 if kind == "SP" else 32, sp=True)
    choices = [n for n in range(31) if n not in used and n != 18]
    n = rng.choice(choices)
    used.add(n)
    return GPR(n, 64 if kind == "X" else 32)


def _vreg(rng: random.Random, used_v: set[int]) -> int:
    n = rng.choice([n for n in range(32) if n not in used_v])
    used_v.add(n)
    return n


def _operand(kind: str, rng: random.Random, used: set[int], used_v: set[int], size_hint: int):
    if kind in ("X", "W", "ZR", "WZR", "SP", "WSP"):
        return _gpr(kind, rng, used)
    if kind.startswith("V.") and kind.endswith("[]"):
        size = kind[2]
        return VElem(_vreg(rng, used_v), size, rng.randrange(128 // ESIZE[size]))
    if kind.startswith("V."):
        return VReg(_vreg(rng, used_v), arr=kind[2:])
    if kind in ("Q", "D", "S", "H", "B"):
        return VReg(_vreg(rng, used_v), view=kind.lower())
    if kind == "#":
        return Imm(rng.choice(IMM_POOL))
    if kind == "SHIFT":
        return Shift(rng.choice(["lsl", "lsl", "lsr", "asr", "ror", "msl"]), rng.choice(SHIFT_AMOUNTS))
    if kind == "EXT":
        return Extend(rng.choice(EXTENDS), rng.choice([None, 0, 1, 2, 3, 4]))
    if kind == "COND":
        spelling = rng.choice(COND_SPELLINGS)
        return Cond(CONDITIONS[spelling], spelling)
    if kind == "MEM":
        base = GPR(31, 64, sp=True) if rng.random() < 0.25 else _gpr("X", rng, used)
        mode = rng.choice(["off", "off", "pre", "post", "reg"])
        step = max(size_hint, 1)
        offset = rng.choice([0, step, 2 * step, -step, 3 * step, 4095 * step, 63 * step, -64 * step,
                             rng.randrange(-256, 256)])
        if mode == "reg":
            idx = _gpr(rng.choice(["X", "W"]), rng, used)
            mod: Extend | Shift | None = None
            if idx.bits == 32:
                mod = Extend(rng.choice(["uxtw", "sxtw"]), rng.choice([None, 0, size_hint.bit_length() - 1]))
            elif rng.random() < 0.5:
                mod = Shift("lsl", rng.choice([0, size_hint.bit_length() - 1]))
            return Mem(base, 0, "off", index=idx, modifier=mod)
        return Mem(base, offset, mode)
    if kind == "SYM":
        return Sym("target")
    raise ValueError(kind)


def data_size(form: Form) -> int:
    """Bytes per transferred register (for choosing scaled offsets)."""
    if not form.mem:
        return 1
    nregs = sum(1 for p in form.operands if "MEM" not in p.kinds)
    return form.mem_size // max(nregs, 1)


def instance(form: Form, rng: random.Random, tries: int = 400):
    """One operand tuple for `form` that passes its check, or None."""
    for _ in range(tries):
        used: set[int] = set()
        used_v: set[int] = set()
        ops = []
        for pat in form.operands:
            if pat.optional and rng.random() < 0.5:
                break
            kind_ = rng.choice(sorted(pat.kinds))
            ops.append(_operand(kind_, rng, used, used_v, data_size(form)))
        from scheduler.frontend.isa.table import match
        matched = match(form, ops)
        if matched is None:
            continue
        if form.check is None or form.check(matched) is None:
            return tuple(matched)
    return None


def instances(form: Form, count: int, seed: int) -> list[str]:
    """Distinct assembly texts of `count` random instances of `form`."""
    rng = random.Random(seed)
    texts: list[str] = []
    for _ in range(count * 4):
        ops = instance(form, rng)
        if ops is None:
            break
        text = format_instruction(form.mnemonic, ops)
        if text not in texts:
            texts.append(text)
        if len(texts) == count:
            break
    return texts


def simulable_forms() -> list[Form]:
    return [f for f in TABLE if not f.branch]
