"""Pairing the instructions of two versions of a block by what they compute.

Instructions are compared by meaning, not text: their instruction-table form and
operand values (`meaning`), so `sub sp, sp, #80` and `sub sp, sp, #(80 +0)` match.
`value_keys` numbers values: an instruction's key is its operation with register
numbers blanked (`shape`) plus, for each register or flag it reads, the key of the
instruction that produced it (or the live-in register). Two blocks that differ only in
order and register names get the same multiset of keys, and `pair` matches the k-th
occurrence of a key in one block with the k-th in the other. Used by `compare` (to
relate schedules) and `prove` (to build the certificate it then checks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, overload

from scheduler.frontend.isa.operands import GPR, Mem, VElem, VReg

if TYPE_CHECKING:
    from scheduler.frontend.ir import Instruction


@overload
def _operand_key(op: tuple | list, blank: bool) -> tuple: ...
@overload
def _operand_key(op: object, blank: bool) -> object: ...
def _operand_key(op: object, blank: bool) -> object:
    """An operand by value: dataclass fields recursively, without the text it was written
    with (`#0x50`, `#(80 +0)` and `#80` are the same immediate) unless that text is a
    relocation (`:lo12:sym`); with `blank`, register numbers are left out (sp and the
    zero registers stay)."""
    if isinstance(op, tuple | list):
        return tuple(_operand_key(x, blank) for x in op)
    if not dataclasses.is_dataclass(op) or isinstance(op, type):
        return op
    items = []
    for f in dataclasses.fields(op):
        v = getattr(op, f.name)
        if (f.name == "text" or f.name.endswith("_text")) and isinstance(v, str) and ":" not in v:
            continue
        if f.name == "num" and blank and (isinstance(op, VReg | VElem) or (isinstance(op, GPR) and op.num != 31)):
            continue
        items.append((f.name, _operand_key(v, blank)))
    return (type(op).__name__, tuple(items))


def meaning(instr: Instruction) -> tuple:
    """What the instruction does, independent of how it was written: its instruction-table
    form, mnemonic and operand values (`sub sp, sp, #(80 +0)` == `sub sp, sp, #0x50`)."""
    return (instr.form.key, instr.mnemonic.lower(), _operand_key(tuple(instr.operands), False))


def operand_values(operands: tuple) -> tuple:
    """Operands as values (registers, immediates, addresses), whatever their spelling."""
    return _operand_key(operands, False)


def shape(instr: Instruction) -> tuple:
    """`meaning` with register numbers blanked: `mul x4, x0, x2` and `mul x9, x1, x1` have
    the same shape (sp and the zero registers stay as they are)."""
    return (instr.form.key, instr.mnemonic.lower(), _operand_key(tuple(instr.operands), True))


def value_keys(instrs: Sequence[Instruction], interned: dict[tuple, int] | None = None) -> list[int]:
    """A dataflow identity of each instruction: its shape and, for every register or flag
    it reads, which earlier instruction's result (or which live-in register) it reads.
    Two blocks that differ only by order and by register names get the same keys when
    they share `interned` (the table of keys)."""
    return value_trace(instrs, interned)[0]


def final_values(instrs: Sequence[Instruction], interned: dict[tuple, int]) -> dict[str, object]:
    """Which value each register (and the flags) holds at the end, in `value_keys` terms: the
    key of the instruction that wrote it last, or ("in", register) if nothing wrote it."""
    return value_trace(instrs, interned)[1]


def value_trace(instrs: Sequence[Instruction],
                interned: dict[tuple, int] | None = None) -> tuple[list[int], dict[str, object]]:
    """(`value_keys`, `final_values`) in one pass."""
    interned = {} if interned is None else interned
    current: dict[str, object] = {}

    def src(res: str) -> object:
        return current.get(res, ("in", res))

    keys = []
    for ins in instrs:
        srcs: list[object] = []
        pats = ins.form.operands
        for op, pat in zip(ins.operands, pats, strict=False):
            if isinstance(op, Mem):
                srcs.append(src(op.base_resource))
                if op.index is not None and op.index.resource:
                    srcs.append(src(op.index.resource))
            elif pat.role in ("r", "rw"):
                res = getattr(op, "resource", None)
                if res:
                    srcs.append(src(res))
        if ins.flags_read:
            srcs.append(src("nzcv"))
        key = interned.setdefault((shape(ins), tuple(srcs)), len(interned))
        keys.append(key)
        for pos, (op, pat) in enumerate(zip(ins.operands, pats, strict=False)):
            if isinstance(op, Mem):
                if op.writeback:
                    current[op.base_resource] = (key, pos)
            elif pat.role in ("w", "rw"):
                res = getattr(op, "resource", None)
                if res:
                    current[res] = (key, pos)
        if ins.form.flags_written:
            current["nzcv"] = (key, "nzcv")
    return keys, current


def pair(a: list, b: list) -> list[int]:
    """For each position in b, the position in a with the same key (k-th occurrence to k-th)."""
    queues: dict[object, list[int]] = {}
    for i, x in enumerate(a):
        queues.setdefault(x, []).append(i)
    for q in queues.values():
        q.reverse()
    return [queues[x].pop() for x in b]
