"""`verify --prove`: equivalence for all inputs of a reordered (and renamed) kernel.

The candidate's instructions are matched to the original's by value numbering
(`pairing.value_keys`): the n-th computation of the same value in each program is
paired with its twin. The pairing is turned into a certificate (`inst_map` plus per-instruction register
renaming) and checked by `certificate.check_block`, which is the actual proof.

This proves reorderings and renamings. Anything else (commuted operands, a
different instruction sequence) is reported as unknown: the SMT path of a
bit-precise prover is not implemented.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .certificate import Violation, check_block
from .ir import Instruction
from .pairing import pair, shape, value_keys
from .rename import register_map


@dataclass
class ProofResult:
    status: str  # "proved", or "unknown" (dataflow differs, or not a reordering)
    certificate: dict | None = None
    problems: list[Violation] = field(default_factory=list)
    reason: str = ""


def prove(original: Sequence[Instruction], candidate: Sequence[Instruction],
          noalias: Iterable[str] = (), outputs: Sequence[str] | None = None) -> ProofResult:
    if len(original) != len(candidate):
        return ProofResult("unknown", reason="the programs have different lengths: not a reordering")
    # Registers may be renamed, so pair by value numbering; where the dataflow differs,
    # pair by operation alone and let the certificate check say where.
    table: dict[tuple, int] = {}
    ka, kb = value_keys(original, table), value_keys(candidate, table)
    sa, sb = [shape(i) for i in original], [shape(i) for i in candidate]
    if Counter(ka) == Counter(kb):
        origin = pair(ka, kb)
    elif Counter(sa) == Counter(sb):
        origin = pair(sa, sb)
    else:
        return ProofResult("unknown", reason="no one-to-one pairing of instructions: not a reordering "
                                             "(the SMT path for other equivalences is not implemented)")
    inst_map = [k + 1 for k in origin]
    regmaps = register_map([original[k] for k in (i - 1 for i in inst_map)], list(candidate))
    cert = {"inst_map": inst_map, "register_map": regmaps, "offset_fixups": [],
            "assumptions": {"no_alias": sorted(noalias), "outputs": None if outputs is None else list(outputs)}}
    problems = check_block(original, candidate, cert)
    if problems:
        # a dataflow difference is not a proof of inequivalence (the two may still agree);
        # the caller looks for a concrete counterexample
        return ProofResult("unknown", cert, problems, reason=f"dataflow differs: {problems[0]}")
    return ProofResult("proved", cert)
