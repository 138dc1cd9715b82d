"""`verify --prove`: equivalence for all inputs of a reordered (and renamed) kernel.

The candidate's instructions are matched to the original's by value numbering:
each instruction gets a term built from its operation (mnemonic, immediates,
shifts, conditions, addressing mode) and the terms of the values it reads, so the
n-th computation of the same value in each program is paired with its twin. The
pairing is turned into a certificate (`inst_map` plus per-instruction register
renaming) and checked by `certificate.check_block`, which is the actual proof.

This proves reorderings and renamings. Anything else (commuted operands, a
different instruction sequence) is reported as unknown: the SMT path of a
bit-precise prover is not implemented.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .certificate import Violation, check_block
from .ir import Instruction
from .isa.operands import GPR, Mem, VElem, VReg
from .rename import register_map


@dataclass
class ProofResult:
    status: str  # "proved", or "unknown" (dataflow differs, or not a reordering)
    certificate: dict | None = None
    problems: list[Violation] = field(default_factory=list)
    reason: str = ""


def _shape(instr: Instruction) -> tuple:
    """The operation without its registers."""
    parts = [instr.mnemonic]
    for op in instr.operands:
        if isinstance(op, Mem):
            parts.append(("mem", op.offset, op.mode, str(op.modifier) if op.modifier else None,
                          op.index is not None))
        elif isinstance(op, GPR):
            parts.append(("gpr", op.bits, op.is_zr, op.sp))
        elif isinstance(op, VReg):
            parts.append(("vreg", op.arr, op.view))
        elif isinstance(op, VElem):
            parts.append(("velem", op.size, op.index))
        else:
            parts.append(str(op))
    return tuple(parts)


def _outputs(ins: Instruction) -> list[tuple[object, str]]:
    """What an instruction writes, each with a name that survives renaming: the operand
    position (or "flags")."""
    out: list[tuple[object, str]] = []
    for i, (op, pat) in enumerate(zip(ins.operands, ins.form.operands, strict=False)):
        if isinstance(op, Mem) and op.writeback:
            out.append((i, op.base.resource))
        elif pat.role in ("w", "rw") and getattr(op, "resource", None):
            out.append((i, op.resource))
    if "nzcv" in ins.writes:
        out.append(("flags", "nzcv"))
    return out


def prove(original: Sequence[Instruction], candidate: Sequence[Instruction],
          noalias: Iterable[str] = (), outputs: Sequence[str] | None = None) -> ProofResult:
    if len(original) != len(candidate):
        return ProofResult("unknown", reason="the programs have different lengths: not a reordering")
    # Registers may be renamed, so terms cannot name registers: match on the operation
    # and, iteratively, on the already-matched producers of the values read.
    match = _match(original, candidate)
    if match is None:
        return ProofResult("unknown", reason="no one-to-one pairing of instructions: not a reordering "
                                             "(the SMT path for other equivalences is not implemented)")
    inst_map = [match[p] + 1 for p in range(len(candidate))]
    regmaps = register_map([original[k] for k in (i - 1 for i in inst_map)], list(candidate))
    cert = {"inst_map": inst_map, "register_map": regmaps, "offset_fixups": [],
            "assumptions": {"no_alias": sorted(noalias), "outputs": None if outputs is None else list(outputs)}}
    problems = check_block(original, candidate, cert)
    if problems:
        # a dataflow difference is not a proof of inequivalence (the two may still agree);
        # the caller looks for a concrete counterexample
        return ProofResult("unknown", cert, problems, reason=f"dataflow differs: {problems[0]}")
    return ProofResult("proved", cert)


def _match(original: Sequence[Instruction], candidate: Sequence[Instruction]) -> dict[int, int] | None:
    """Pair each candidate instruction with an original one of the same operation whose
    inputs come from paired producers; None if impossible."""
    def producers(instrs):
        """Per instruction and read: (producer index, which of its outputs) or (-1, input register)."""
        last: dict[str, tuple[int, object]] = {}
        out = []
        for k, ins in enumerate(instrs):
            out.append([last.get(r, (-1, r)) for r in ins.reads])
            for slot, r in _outputs(ins):
                last[r] = (k, slot)
        return out

    p_orig, p_cand = producers(original), producers(candidate)
    match: dict[int, int] = {}
    used: set[int] = set()
    by_shape: dict[tuple, list[int]] = {}
    for k, ins in enumerate(original):
        by_shape.setdefault(_shape(ins), []).append(k)
    def key(reads, mapping):
        return sorted(((mapping[p] if p >= 0 else -1), str(x)) for p, x in reads)

    ident = {k: k for k in range(len(original))}
    by_key: dict[tuple, list[int]] = {}
    for k, reads in enumerate(p_orig):
        by_key.setdefault((_shape(original[k]), tuple(key(reads, ident))), []).append(k)
    for pos, ins in enumerate(candidate):
        want = (_shape(ins), tuple(key(p_cand[pos], match)))
        exact = [k for k in by_key.get(want, []) if k not in used]
        # no twin: pair with any unused instruction of the same operation, and let the
        # certificate check report where the dataflow differs
        pick = exact[0] if exact else next((k for k in by_shape.get(want[0], []) if k not in used), None)
        if pick is None:
            return None
        match[pos] = pick
        used.add(pick)
    return match
