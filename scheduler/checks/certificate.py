"""Certificates: how an optimised block was derived from the original, and an
independent check of that derivation.

A certificate lists, per block, `inst_map` (for each output instruction the
1-based index of the original instruction it came from), the register map per
output instruction, offset fixups, and the assumptions (no-alias sets, outputs,
reserved registers), with the model and tool version.

`check_block` re-derives the candidate from the original and the certificate and
checks that the dataflow is preserved, which proves equivalence for all inputs
(not just the random ones `verify` tries), given the assumptions:
  1. `inst_map` is a permutation, and each output instruction is its original with
     only the registers recorded in the register map changed (same mnemonic,
     immediates, shifts, addressing mode);
  2. every register or flag read in the candidate gets its value from the image of
     the instruction (or the block input) the original read it from;
  3. every output register (declared outputs, live-out, callee-saved registers, sp)
     ends with the value of the same original instruction, in the same register;
  4. every pair of memory accesses that may alias under the assumptions, at least
     one of them a store, keeps its relative order; addresses are unchanged because
     base and index values are preserved by 2 and no offset changed.
Each instruction is a deterministic function of the values it reads (registers,
flags, memory), so by induction over the candidate order every instruction
computes the same values as its original, and the outputs and memory agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scheduler import __version__
from scheduler.checks.pairing import operand_values
from scheduler.frontend.dag import AliasFacts, Value, may_alias, symbolic_addresses, value_trace
from scheduler.frontend.ir import Instruction, format_instruction
from scheduler.frontend.isa.operands import GPR, Mem, Operand, VElem, VReg

ALWAYS_COMPARED = tuple(f"x{i}" for i in range(19, 30)) + ("sp",) + tuple(f"v{i}" for i in range(8, 16))


def block_certificate(result, model_name: str, noalias: Iterable[str], reserve: Iterable[str]) -> dict:
    """The certificate entry of one optimised block (an optimize.BlockResult)."""
    outputs = sorted(set(result.live_out) | {"sp"}) if result.renamed else None
    entry = {"entry": result.entry_facts} if result.entry_facts is not None else {}
    return {
        "block": result.index,
        "instructions": result.instructions,
        "inst_map": [k + 1 for k in result.order],
        "register_map": result.register_map or [{"read": {}, "write": {}} for _ in result.order],
        "offset_fixups": result.offset_fixups,
        "output_map": result.output_map,
        "assumptions": {
            "no_alias": sorted(noalias),
            # a block that does not start at the function's entry: each register's value there
            # as known from the control flow (incoming register + constant); others unknown
            **entry,
            # built into the memory-dependency analysis: the incoming sp never points into the
            # buffers the other incoming registers point to
            "stack_disjoint_from_buffers": True,
            # None: every register is an output (a pure reordering keeps them all)
            "outputs": outputs,
            "reserved": sorted(reserve),
        },
        "model": model_name,
        "tool": f"scheduler {__version__}",
    }


def hol_list(inst_map: Sequence[int]) -> str:
    """`inst_map` as a HOL Light list literal, e.g. [5;1;2;4;3]."""
    return "[" + ";".join(str(i) for i in inst_map) + "]"


@dataclass
class Violation:
    """One way a certificate fails to check: the output instruction (or the whole block) and why."""

    position: int | None  # output instruction (0-based), or None for the whole block
    message: str

    def __str__(self) -> str:
        return f"instruction {self.position + 1}: {self.message}" if self.position is not None else self.message


def _renamed(op, regmap: dict[str, str]):
    """`op` with its architectural register replaced per `regmap` (x3 -> x5 also turns
    w3 into w5; v1 -> v2 turns v1.2d into v2.2d and v1.d[1] into v2.d[1])."""
    res = getattr(op, "resource", None)
    if res is None or res not in regmap:
        return op
    new = regmap[res]
    if isinstance(op, GPR):
        return GPR(31, op.bits, sp=True) if new == "sp" else GPR(int(new[1:]), op.bits)
    if isinstance(op, VReg):
        return VReg(int(new[1:]), op.arr, op.view)
    return VElem(int(new[1:]), op.size, op.index)


def rederive(orig: Instruction, regmap: dict[str, dict[str, str]]) -> tuple:
    """The operands of `orig` with the certificate's renaming applied, by role. The
    renaming is a function of the register, so every spelling of one register (x1 and
    w1, v3.2d and v3.d[0]) read by the instruction ends up in the same new register."""
    reads, writes = regmap.get("read", {}), regmap.get("write", {})
    out = []
    for op, pat in zip(orig.operands, orig.form.operands, strict=False):
        if isinstance(op, Mem):
            base = _renamed(op.base, reads)
            index = _renamed(op.index, reads) if op.index is not None else None
            if op.writeback and writes.get(op.base_resource, op.base_resource) != \
                    reads.get(op.base_resource, op.base_resource):
                raise ValueError(f"writeback base {op.base} renamed inconsistently")
            out.append(Mem(base, op.offset, op.mode, index, op.modifier, op.offset_text))
        elif pat.role == "w":
            out.append(_renamed(op, writes))
        elif pat.role == "rw":
            new = _renamed(op, reads)
            if str(new) != str(_renamed(op, writes)):
                raise ValueError(f"read-modify-write operand {op} renamed inconsistently")
            out.append(new)
        else:
            out.append(_renamed(op, reads))
    return tuple(out)


def _producers(instrs: Sequence[Instruction]) -> list[dict[str, int | str]]:
    """For each instruction, the producer of each register it reads: an instruction
    index, or "in" for the block's input value."""
    last: dict[str, int] = {}
    out = []
    for k, ins in enumerate(instrs):
        out.append({r: last.get(r, "in") for r in ins.reads})
        for r in ins.writes:
            last[r] = k
    return out


def _final_writers(instrs: Sequence[Instruction]) -> dict[str, int]:
    last: dict[str, int] = {}
    for k, ins in enumerate(instrs):
        for r in ins.writes:
            last[r] = k
    return last


def check_block(original: Sequence[Instruction], candidate: Sequence[Instruction], cert: dict) -> list[Violation]:
    """Every way `candidate` fails to follow from `original` and `cert` (empty: proved)."""
    n = len(original)
    inst_map = cert.get("inst_map", [])
    if sorted(inst_map) != list(range(1, n + 1)) or len(candidate) != n:
        return [Violation(None, f"inst_map is not a permutation of 1..{n} matching {len(candidate)} instructions")]
    origin = [i - 1 for i in inst_map]
    fixups = _offset_fixups(original, origin, cert.get("offset_fixups") or [])
    if isinstance(fixups, Violation):
        return [fixups]
    regmaps = cert.get("register_map") or [{} for _ in range(n)]
    problems = _check_operations(original, candidate, origin, regmaps, fixups)
    if problems:
        return problems
    facts = certificate_facts(cert)
    problems += _check_dataflow(original, candidate, origin, regmaps, fixups, facts)
    problems += _check_outputs(original, candidate, origin, cert)
    problems += _check_memory_order(original, origin, facts)
    return problems


def certificate_facts(cert: dict) -> AliasFacts:
    """The memory assumptions a certificate records: the no-alias set, and for a block that
    does not start at the function's entry, what is known of each register there
    (`AliasFacts.to_json`: {reg: {"incoming": reg, "plus": int or null}})."""
    assumptions = cert.get("assumptions", {})
    entry = assumptions.get("entry")
    known = None if entry is None else tuple(sorted(
        (reg, Value(("in", str(v["incoming"])), None if v["plus"] is None else int(v["plus"])))
        for reg, v in entry.items()))
    return AliasFacts(frozenset(assumptions.get("no_alias", [])), known)


def _offset_fixups(original: Sequence[Instruction], origin: list[int], entries: list) -> dict[int, dict] | Violation:
    """The certificate's offset fixups by output position, or the first malformed one."""
    n = len(original)
    fixups: dict[int, dict] = {}
    for f in entries:
        try:
            pos = int(f["position"]) - 1
            m = original[origin[pos]].operands[-1]
            ok = (0 <= pos < n and original[origin[pos]].form.mem and isinstance(m, Mem) and m.mode == "off"
                  and m.index is None and m.offset == int(f["from"]) and isinstance(f["to"], int))
        except (KeyError, TypeError, ValueError, IndexError):
            ok = False
        if not ok or pos in fixups:
            return Violation(None, f"malformed offset fixup {f}")
        fixups[pos] = f
    return fixups


def _check_operations(original: Sequence[Instruction], candidate: Sequence[Instruction], origin: list[int],
                      regmaps: list, fixups: dict[int, dict]) -> list[Violation]:
    # 1. same operation, registers renamed as recorded
    problems: list[Violation] = []
    for pos, (k, cand) in enumerate(zip(origin, candidate, strict=True)):
        orig = original[k]
        try:
            expect = rederive(orig, regmaps[pos])
            if pos in fixups:
                m = expect[-1]
                expect = (*expect[:-1], Mem(m.base, fixups[pos]["to"], m.mode, None, None, ""))
        except ValueError as e:
            problems.append(Violation(pos, str(e)))
            continue
        # by value, not spelling: `#(80 +0)` and `#0x50` are the same operand
        if cand.mnemonic != orig.mnemonic or operand_values(tuple(cand.operands)) != operand_values(tuple(expect)):
            wanted = format_instruction(orig.mnemonic, expect)
            problems.append(Violation(pos, f"'{cand}' is not '{wanted}' ('{orig}' with registers "
                                           f"{regmaps[pos]}{' and the recorded offset' if pos in fixups else ''})"))
    return problems


def _check_dataflow(original: Sequence[Instruction], candidate: Sequence[Instruction], origin: list[int],
                    regmaps: list, fixups: dict[int, dict], facts: AliasFacts) -> list[Violation]:
    # 2. dataflow: each read comes from the image of the original producer; a fixed-up base
    # may come from another link of the same chain of constant updates, if the address agrees
    problems: list[Violation] = []
    p_orig, p_cand = _producers(original), _producers(candidate)
    _, written = value_trace(original, facts)
    for pos, k in enumerate(origin):
        want = p_orig[k]
        got = p_cand[pos]
        renamed_reads = regmaps[pos].get("read", {})
        for r_orig, producer in sorted(want.items(), key=lambda kv: kv[0]):
            r_cand = renamed_reads.get(r_orig, r_orig)
            src = got.get(r_cand)
            src_orig = "in" if src == "in" else origin[src] if isinstance(src, int) else None  # src: int, "in" or None
            if pos in fixups and r_orig == _mem_base(original[k]):
                if not _same_address(written, r_orig, r_cand, producer, src_orig, fixups[pos], facts):
                    problems.append(Violation(pos, f"offset fixup {fixups[pos]['from']} -> {fixups[pos]['to']}: "
                                              f"base {r_cand} from {_name(src_orig)} does not address the same "
                                              f"bytes as {r_orig} from {_name(producer)}"))
                continue
            if src_orig != producer or (producer == "in" and r_cand != r_orig):
                problems.append(Violation(pos, f"reads {r_cand} from "
                                          f"{_name(src_orig)} but its original reads {r_orig} from {_name(producer)}"))
    return problems


def _check_outputs(original: Sequence[Instruction], candidate: Sequence[Instruction], origin: list[int],
                   cert: dict) -> list[Violation]:
    # 3. outputs end with the same values in the same registers
    problems: list[Violation] = []
    outputs = cert.get("assumptions", {}).get("outputs")
    f_orig, f_cand = _final_writers(original), _final_writers(candidate)
    regs = set(f_orig) | set(f_cand) if outputs is None else set(outputs) | set(ALWAYS_COMPARED)
    moved = cert.get("output_map") or {}
    if any(r in ALWAYS_COMPARED or r not in regs for r in moved):
        problems.append(Violation(None, f"output_map {moved} moves a register that is not a movable output"))
    for r in sorted(regs):
        a = f_orig.get(r)
        b = f_cand.get(moved.get(r, r))
        b_orig = origin[b] if b is not None else None
        if a != b_orig:
            problems.append(Violation(None, f"output {r} ends with {_name(b_orig, 'its input')} "
                                            f"instead of {_name(a, 'its input')}"))
    return problems


def _check_memory_order(original: Sequence[Instruction], origin: list[int], facts: AliasFacts) -> list[Violation]:
    # 4. memory order of possibly aliasing pairs
    problems: list[Violation] = []
    noalias = facts
    addrs = symbolic_addresses(original, facts)
    pos_of = {k: p for p, k in enumerate(origin)}
    accesses = [(i, a) for i, a in enumerate(addrs) if a is not None]
    for x, (i, a) in enumerate(accesses):
        for j, b in accesses[x + 1:]:
            if (a.store or b.store) and may_alias(a, b, noalias) and pos_of[i] > pos_of[j]:
                problems.append(Violation(pos_of[i], f"memory access '{original[i]}' moved after "
                                                     f"'{original[j]}', which it may alias"))
    return problems


def _same_address(written, r_orig: str, r_cand: str, producer, src_orig, fix: dict, facts: AliasFacts) -> bool:
    """Is (value of src_orig's write) + to == (value of producer's write) + from, by the
    original's symbolic values (root + constant, exact modulo 2^64)?"""
    def value(p, reg):
        if p == "in":
            return facts.initial(reg)
        return None if p is None else written[p].get(reg)

    a, b = value(producer, r_orig), value(src_orig, r_orig if src_orig != "in" else r_cand)
    if a is None or b is None or a.const is None or b.const is None:
        return False
    return a.root == b.root and a.const + fix["from"] == b.const + fix["to"]


def _mem_base(ins: Instruction) -> str:
    """The base register of a memory instruction (its address is the last operand)."""
    m = ins.operands[-1]
    assert isinstance(m, Mem)
    return m.base_resource


def _name(producer, input_name: str = "the block input") -> str:
    if producer is None:
        return "nothing"
    if producer == "in":
        return input_name
    return f"original instruction {producer + 1}"


def register_map(instrs: Sequence[Instruction], renamed: Sequence[Instruction]) -> list[dict[str, dict[str, str]]]:
    """Per instruction: {"read": {old: new}, "write": {old: new}} over architectural registers
    (x3, v5: a W or D view follows its register) for the ones that changed. A register may
    be read from one place and written to another by the same instruction."""
    maps = []
    for a, b in zip(instrs, renamed, strict=True):
        m: dict[str, dict[str, str]] = {"read": {}, "write": {}}
        for oa, ob, pat in zip(a.operands, b.operands, a.form.operands, strict=False):
            pairs: list[tuple[str, Operand | None, Operand | None]]
            if isinstance(oa, Mem):
                assert isinstance(ob, Mem)  # the renamed instruction has the same form
                pairs = [("read", oa.base, ob.base), ("read", oa.index, ob.index)]
                if oa.writeback:
                    pairs.append(("write", oa.base, ob.base))
            else:
                roles = {"r": ["read"], "w": ["write"], "rw": ["read", "write"]}.get(pat.role, [])
                pairs = [(role, oa, ob) for role in roles]
            for role, x, y in pairs:
                rx, ry = getattr(x, "resource", None), getattr(y, "resource", None)
                if rx is not None and ry is not None and rx != ry:
                    m[role][rx] = ry
        maps.append(m)
    return maps
