"""`verify --prove`: equivalence of two straight-line kernels for all inputs.

Two independent engines:

* the **certificate** path (reorderings and renamings): the candidate's instructions
  are matched to the original's by value numbering (`pairing.value_keys`): the n-th
  computation of the same value in each program is paired with its twin. The pairing
  is turned into a certificate (`inst_map` plus per-instruction register renaming) and
  checked by `certificate.check_block`. It does not depend on our semantics, and it is
  what `optimize --certificate` writes;
* the **symbolic** prover (`smt.check_equivalence`): both programs are executed
  over bit-vector terms and every output is compared, structurally first and with
  the SMT solver for the rest. It decides proved / refuted (with a counterexample
  confirmed by the simulator) / unknown, and proves equivalences that are not
  reorderings (commuted operands, different instruction sequences).

The result is "proved" if either engine proves it, "refuted" only with a confirmed
counterexample, and "unknown" otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scheduler.checks.certificate import Violation, check_block, register_map
from scheduler.checks.pairing import pair, shape, value_keys
from scheduler.checks.smt import DEFAULT_TIMEOUT, Counterexample, check_equivalence
from scheduler.frontend.dag import AliasFacts, alias_facts
from scheduler.frontend.ir import Instruction


@dataclass
class ProofResult:
    """Outcome of `verify --prove`: "proved", "refuted" or "unknown", how, and the certificate or counterexample."""

    status: str  # "proved", "refuted" (counterexample confirmed by simulation) or "unknown"
    certificate: dict | None = None
    problems: list[Violation] = field(default_factory=list)
    reason: str = ""
    method: str = ""  # "certificate", "structural", "simplify" or "smt"; refuted: "random", "smt" or "concolic"
    unproved: list[str] = field(default_factory=list)  # locations neither proved nor refuted
    counterexample: Counterexample | None = None
    stats: dict = field(default_factory=dict)


def prove(original: Sequence[Instruction], candidate: Sequence[Instruction],
          noalias: AliasFacts | Iterable[str] = (), outputs: Sequence[str] | None = None,
          timeout: float = DEFAULT_TIMEOUT, symbolic: bool = True) -> ProofResult:
    """Prove `candidate` equivalent to `original` for all inputs under the no-alias
    assumptions, refute it with a confirmed counterexample, or report unknown.
    `symbolic=False` runs only the certificate path (proved or unknown)."""
    cert = certificate_proof(original, candidate, noalias, outputs)
    if not symbolic:
        return cert
    sym = check_equivalence(original, candidate, noalias, outputs, timeout)
    if sym.status == "refuted":
        return ProofResult("refuted", cert.certificate, cert.problems, sym.reason, sym.method,
                           sym.unproved, sym.counterexample, sym.stats)
    if sym.status == "proved":
        return ProofResult("proved", cert.certificate, cert.problems, "", sym.method, [], None, sym.stats)
    if cert.status == "proved":  # e.g. a form the symbolic executor cannot run
        return ProofResult("proved", cert.certificate, [], "", "certificate", [], None, sym.stats)
    reason = sym.reason if not cert.reason else f"{sym.reason}; certificate: {cert.reason}"
    return ProofResult("unknown", cert.certificate, cert.problems, reason, sym.method, sym.unproved,
                       None, sym.stats)


def _checked(original, candidate, origin: list[int], noalias, outputs) -> tuple[dict, list[Violation]]:
    """The certificate of the pairing `origin` (candidate position -> original position), checked."""
    inst_map = [k + 1 for k in origin]
    regmaps = register_map([original[k] for k in origin], list(candidate))
    cert = {"inst_map": inst_map, "register_map": regmaps, "offset_fixups": [],
            "assumptions": {**alias_facts(noalias).to_json(), "outputs": None if outputs is None else list(outputs)}}
    return cert, check_block(original, candidate, cert)


def certificate_proof(original: Sequence[Instruction], candidate: Sequence[Instruction],
                      noalias: AliasFacts | Iterable[str] = (), outputs: Sequence[str] | None = None) -> ProofResult:
    """The reordering/renaming proof: a value-numbering pairing checked as a certificate."""
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
        return ProofResult("unknown", reason="no one-to-one pairing of instructions: not a reordering")
    cert, problems = _checked(original, candidate, origin, noalias, outputs)
    if problems:
        # equal values computed twice (`sxth w5, wzr` ... `sxth w15, wzr`): the k-th-to-k-th
        # pairing may cross them over; pairing those by destination register as well can
        # line them up again
        kd_a = [(k, tuple(sorted(i.writes))) for k, i in zip(ka, original, strict=True)]
        kd_b = [(k, tuple(sorted(i.writes))) for k, i in zip(kb, candidate, strict=True)]
        if Counter(kd_a) == Counter(kd_b) and (other := pair(kd_a, kd_b)) != origin:
            cert2, problems2 = _checked(original, candidate, other, noalias, outputs)
            if not problems2:
                cert, problems = cert2, problems2
    if problems:
        # a dataflow difference is not a proof of inequivalence (the two may still agree);
        # the caller looks for a concrete counterexample
        return ProofResult("unknown", cert, problems, reason=f"dataflow differs: {problems[0]}")
    return ProofResult("proved", cert, method="certificate")
