"""Register combinations the Arm architecture calls (CONSTRAINED) UNPREDICTABLE.

One predicate for the whole instruction table. The parser rejects such an input through
every memory form's `check` (`table.define` adds it), and every pass that rewrites
registers (renaming, list scheduling with registers, windows) asks the same predicate of
what it produces, so it never emits one.

For the forms in the table (Arm ARM, the pseudocode of LDR/STR/LDRB/STRB/LDRH/STRH/LDRSW
(immediate), LDP/STP, and LDP/STP (SIMD&FP)):

* a load or store with writeback (pre- or post-index) whose base register is also a
  transfer register, base not sp (`if wback && n == t && n != 31`, and `t2 == n` for the
  pairs). GNU as warns "unpredictable transfer with writeback". A SIMD&FP transfer
  register is in another register file and never collides with the base.
* a load pair whose two destinations are one register (`if memop == MemOp_LOAD && t ==
  t2`), general or SIMD&FP, with or without writeback, xzr included. GNU as warns
  "unpredictable load of register pair".

The register-offset forms have no writeback, `ldur`/`stur` take none, and the table has
no other instruction (no `ldpsw`, no exclusives) with such a rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scheduler.frontend.isa.operands import GPR, Mem, Operand, VReg


class _FormLike(Protocol):
    @property
    def mem(self) -> str: ...


class _InstructionLike(Protocol):
    @property
    def form(self) -> _FormLike: ...

    @property
    def operands(self) -> tuple[Operand, ...]: ...


def unpredictable_operands(mem: str, ops: Sequence[Operand]) -> str | None:
    """Why a form with memory access `mem` ("load", "store" or "") and operands `ops` is
    UNPREDICTABLE, or None if it is not."""
    if not mem or not ops or not isinstance(ops[-1], Mem):
        return None
    m = ops[-1]
    data = [o for o in ops[:-1] if isinstance(o, (GPR, VReg))]
    if m.writeback and not m.base.sp:
        for r in data:
            if isinstance(r, GPR) and r.num == m.base.num:
                return (f"base register x{m.base.num} is written back and also transferred "
                        f"(UNPREDICTABLE)")
    if mem == "load" and len(data) == 2:
        a, b = data
        if type(a) is type(b) and a.num == b.num:
            return f"load pair into {a} twice (UNPREDICTABLE)"
    return None


def unpredictable(instr: _InstructionLike) -> str | None:
    """Why `instr` (an `ir.Instruction`, or anything with its `form` and `operands`) is
    UNPREDICTABLE, or None if it is not."""
    return unpredictable_operands(instr.form.mem, instr.operands)


def first_unpredictable(instrs: Sequence[_InstructionLike]) -> str | None:
    """`'<instruction>': <why>` for the first UNPREDICTABLE instruction of `instrs`, or None."""
    for ins in instrs:
        why = unpredictable(ins)
        if why is not None:
            return f"'{ins}': {why}"
    return None
