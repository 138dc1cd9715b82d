"""Register renaming inside the scheduling model.

Hand-allocated kernels reuse a few registers, so most of their WAR/WAW edges are
false. Here every value an instruction produces (a general register, a SIMD
register, or the flags) becomes an interval of the schedule, and the registers
are re-assigned after solving:

  * values: one per write; live-in values (read before written) keep their
    registers, and so do live-out values (registers read after the block,
    declared outputs, callee-saved registers, sp); values in reserved registers
    never move. Read-modify-write destinations (`umlal`, `movk`, `ins`, base
    writeback, ...) tie the value read to the value written: same register.
  * lifetimes in half cycles: a value is written at 2*issue+1 and read at
    2*issue, so it occupies [2*t_def+1, 2*t_last_use+1) — a register can be
    reused by an instruction issued in the same cycle as the last reader, and
    the emitter puts readers before writers within a cycle.
  * encoding (chosen for solve time): a cumulative per register class with the
    number of usable registers as capacity, plus a no-overlap per fixed
    register, instead of one Boolean per (value, register). The solver decides
    the order and bounds the register pressure; an interval-colouring pass then
    assigns concrete registers (fixed values first, then free values by start
    time, best fit around the fixed ones). A schedule that cannot be coloured is
    dropped (and the reorder-only schedule remains as a candidate).
  * flags are one register: the flag values' intervals may not overlap, which is
    exactly "a carry chain is never interleaved with another flag writer".
  * values that must never share a register (`RenameProblem.apart`): those that would
    make their instruction UNPREDICTABLE in one register (`isa.unpredictable`: a
    writeback access's transfer register and base, a load pair's two destinations).
    Such values are always live together at their instruction, so the cumulative counts
    them apart already; the colouring (and regsched's allocator) refuse to join them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scheduler.frontend.abi import (
    ALWAYS_LIVE_OUT,
    CALLEE_SAVED_GPR,
    CALLEE_SAVED_SIMD,
    DEFAULT_RESERVED,
)
from scheduler.frontend.ir import FLAGS, Instruction
from scheduler.frontend.isa.operands import GPR, Mem, Operand, VElem, VReg
from scheduler.frontend.isa.unpredictable import unpredictable, unpredictable_operands
from scheduler.machine.evaluate import BlockTiming
from scheduler.search.cpsat import cp_model


def reg_class(res: str) -> str | None:
    """The register class of a resource: "x", "v" or the flags; None for sp (never renamed)."""
    if res == FLAGS:
        return FLAGS
    if res == "sp":
        return None
    return res[0]  # "x" or "v"


@dataclass
class Value:
    """One value of the block: the register that holds it originally, its definition, its uses and constraints."""

    id: int
    cls: str
    reg: str  # register in the original code
    defn: int | None  # defining instruction, None for a live-in value
    uses: list[int] = field(default_factory=list)
    fixed: bool = False
    live_out: bool = False  # the register's final value: it must survive to the end of the block
    tied_to: int | None = None  # value read by the same RMW instruction (same register)


@dataclass
class RenameProblem:
    """The values of a block, which value each instruction reads and writes, and the registers they may take."""

    values: list[Value]
    reads: list[dict[str, int]]  # per instruction: original register -> value id read
    writes: list[dict[str, int]]  # per instruction: original register -> value id written
    available: dict[str, list[str]]  # per class: registers free values may take
    margin: dict[str, int] = field(default_factory=dict)  # registers held back from the CP model
    # value -> values it may never share a register with (its instruction would be UNPREDICTABLE)
    apart: dict[int, set[int]] = field(default_factory=dict)

    def capacity(self, cls: str) -> int:
        """Registers shared by the free values (and the fixed values that sit in them)."""
        return max(1, len(self.available[cls]) - self.margin.get(cls, 0))

    def shares_pool(self, v: Value) -> bool:
        """Does v compete for the class's usable registers? Fixed values in registers
        outside the pool (e.g. an input pointer the block never overwrites) do not."""
        return not v.fixed or v.reg in self.available[v.cls]


def _tied(instr: Instruction, res: str) -> bool:
    """Does `instr` read and write `res` through one operand (RMW or base writeback)?"""
    for op, pat in zip(instr.operands, instr.form.operands, strict=False):
        if isinstance(op, Mem) and op.writeback and op.base.resource == res:
            return True
        if pat.role == "rw" and getattr(op, "resource", None) == res:
            return True
    return False


def _slots(instr: Instruction, rd: dict[str, int], wr: dict[str, int]) -> list[tuple[int, str, set[int]]]:
    """The register operands of `instr` renaming may change: (operand index, "reg", "base" or
    "index", the values read or written through it)."""
    out: list[tuple[int, str, set[int]]] = []
    for i, (op, pat) in enumerate(zip(instr.operands, instr.form.operands, strict=False)):
        if isinstance(op, Mem):
            for part, reg in (("base", op.base), ("index", op.index)):
                res = reg.resource if reg is not None else None
                vals = {t[res] for t in (rd, wr) if res in t}  # a written base is its writeback
                if vals:
                    out.append((i, part, vals))
            continue
        res = getattr(op, "resource", None)
        if res is None or reg_class(res) in (None, FLAGS):
            continue
        vals = {t[res] for t, role in ((rd, "r"), (wr, "w")) if role in pat.role and res in t}
        if vals:
            out.append((i, "reg", vals))
    return out


def _probe(op, num: int, part: str):
    """Operand `op` with the register in `part` replaced by register number `num`."""
    if isinstance(op, Mem):
        if part == "base":
            return Mem(GPR(num, 64), op.offset, op.mode, op.index, op.modifier, op.offset_text)
        assert op.index is not None  # an index slot
        return Mem(op.base, op.offset, op.mode, GPR(num, op.index.bits), op.modifier, op.offset_text)
    return _renamed_operand(op, f"r{num}")


def _apart(instr: Instruction, rd: dict[str, int], wr: dict[str, int]) -> list[tuple[int, int]]:
    """Pairs of values of `instr` that may not share a register: giving their operands one
    register would make the instruction UNPREDICTABLE (asked of `isa.unpredictable`)."""
    mem = instr.form.mem
    if not mem or unpredictable_operands(mem, instr.operands) is not None:
        return []
    slots = _slots(instr, rd, wr)
    used = {o.num for o in instr.operands if isinstance(o, (GPR, VReg, VElem))}
    used |= {r.num for o in instr.operands if isinstance(o, Mem) for r in (o.base, o.index) if r is not None}
    num = min(set(range(31)) - used)  # a register the instruction does not name
    pairs = []
    for a, (i, pi, va) in enumerate(slots):
        for j, pj, vb in slots[a + 1:]:
            if va & vb:
                continue  # one value in both operands: in one register anyway
            ops = list(instr.operands)
            ops[i] = _probe(ops[i], num, pi)
            ops[j] = _probe(ops[j], num, pj)
            if unpredictable_operands(mem, ops) is not None:
                pairs += [(x, y) for x in va for y in vb]
    return pairs


def analyse(instrs: Sequence[Instruction], live_out: Iterable[str], reserved: Iterable[str] = DEFAULT_RESERVED,
            movable_outputs: Iterable[str] = ()) -> RenameProblem:
    """`movable_outputs`: live-out registers whose final value may end in another register
    (`--rename-outputs`); the caller records where."""
    reserved = set(reserved)
    movable = set(movable_outputs) - ALWAYS_LIVE_OUT
    live_out = set(live_out) | ALWAYS_LIVE_OUT
    values: list[Value] = []
    reads: list[dict[str, int]] = []
    writes: list[dict[str, int]] = []
    cur: dict[str, int] = {}
    used: set[str] = set()
    apart: dict[int, set[int]] = {}
    for k, ins in enumerate(instrs):
        rd, wr = {}, {}
        for r in sorted(ins.reads):
            cls = reg_class(r)
            if cls is None:
                continue
            if r not in cur:
                cur[r] = len(values)
                values.append(Value(len(values), cls, r, None, fixed=True))
            rd[r] = cur[r]
            values[cur[r]].uses.append(k)
        for r in sorted(ins.writes):
            cls = reg_class(r)
            if cls is None:
                continue
            v = Value(len(values), cls, r, k)
            if r in rd and _tied(ins, r):
                v.tied_to = rd[r]
            values.append(v)
            wr[r] = v.id
            cur[r] = v.id
        used |= ins.reads | ins.writes
        reads.append(rd)
        writes.append(wr)
        for x, y in _apart(ins, rd, wr):
            apart.setdefault(x, set()).add(y)
            apart.setdefault(y, set()).add(x)
    for r, vid in cur.items():
        if r in live_out:
            values[vid].live_out = True
            values[vid].fixed = r not in movable or values[vid].defn is None
    written = {r for ins in instrs for r in ins.writes}
    inputs = {v.reg for v in values if v.defn is None}
    # A register may hold temporaries if it is not reserved, not a callee-saved register
    # the block leaves alone, not live after the block unless the block writes it, and not
    # an input the block leaves intact (callers may rely on it; back-to-back runs of the
    # kernel would otherwise chain through it).
    def usable(r: str, callee: tuple[str, ...]) -> bool:
        if r in reserved or (r in callee and r not in used):
            return False
        return r in written or (r not in live_out and r not in inputs)

    avail = {
        "x": [f"x{i}" for i in range(31) if usable(f"x{i}", CALLEE_SAVED_GPR)],
        "v": [f"v{i}" for i in range(32) if usable(f"v{i}", CALLEE_SAVED_SIMD)],
        FLAGS: [FLAGS],
    }
    for v in values:
        if v.reg not in avail[v.cls]:
            v.fixed = True
    # a tie chain is fixed as a whole if any member is
    changed = True
    while changed:
        changed = False
        for v in values:
            if v.tied_to is not None and v.fixed != values[v.tied_to].fixed:
                v.fixed = values[v.tied_to].fixed = True
                changed = True
    return RenameProblem(values, reads, writes, avail, apart=apart)


# ----------------------------------------------------------------- CP-SAT part

def renaming_edges(bt: BlockTiming, prob: RenameProblem) -> tuple[list[list[tuple[int, int]]], list[list[int]]]:
    """Dependencies that remain with renaming: true (RAW) edges, memory ordering, and
    for tied values "every other reader of the old value comes first". (Within one
    cycle the colouring only hands a register over where the readers-before-writer
    order it needs is compatible with these edges.)"""
    raw = [list(x) for x in bt.raw]
    order: list[list[int]] = [[] for _ in range(bt.n)]
    for u, v in bt.dag.edges:
        deps = bt.dag.edges[u, v]["deps"]
        if any(d.kind == "raw" for d in deps):
            continue
        # memory ordering stays, and so do WAR/WAW on registers that are never renamed (sp);
        # register/flag WAR/WAW between renamable values are left to the intervals
        if any(d.resource == "mem" or reg_class(d.resource) is None for d in deps):
            order[v].append(u)
    for val in prob.values:
        if val.tied_to is not None:
            k = val.defn
            assert k is not None  # a tied value is written by its RMW instruction
            for u in prob.values[val.tied_to].uses:
                if u != k:
                    order[k].append(u)
    return raw, order


def add_register_constraints(m: cp_model.CpModel, issue: list, prob: RenameProblem, horizon: int) -> None:
    """Add to `m` one interval per value (in half cycles, from its write to its last read) and limit
    how many overlap per class to its capacity; values fixed to the same register never overlap."""
    end_of_block = 2 * horizon + 2
    per_class: dict[str, list] = {}
    per_fixed: dict[str, list] = {}
    for v in prob.values:
        if v.defn is None:
            s = m.new_constant(0)
        else:
            s = m.new_int_var(1, 2 * horizon + 1, f"val{v.id}_start")
            m.add(s == 2 * issue[v.defn] + 1)
        e = m.new_int_var(0, end_of_block, f"val{v.id}_end")
        m.add(e >= s + 1)
        for u in v.uses:
            if u != v.defn:
                m.add(e >= 2 * issue[u] + 1)
        if v.live_out:
            m.add(e == end_of_block)
        size = m.new_int_var(1, end_of_block, f"val{v.id}_size")
        iv = m.new_interval_var(s, size, e, f"val{v.id}")
        if prob.shares_pool(v):
            per_class.setdefault(v.cls, []).append(iv)
        if v.fixed:
            per_fixed.setdefault(v.reg, []).append(iv)
    for cls, ivs in per_class.items():
        cap = prob.capacity(cls)
        if cap == 1:
            m.add_no_overlap(ivs)
        else:
            m.add_cumulative(ivs, [1] * len(ivs), cap)
    for ivs in per_fixed.values():
        if len(ivs) > 1:
            m.add_no_overlap(ivs)


def _reg_number(reg: str) -> int:
    return int(reg[1:]) if reg[1:].isdigit() else -1


def _writes_class(prob: RenameProblem, k: int, cls: str) -> bool:
    return any(prob.values[x].cls == cls for x in prob.writes[k].values())


# ------------------------------------------------------------------- colouring

@dataclass
class Allocation:
    """A register assignment: value id -> register."""

    reg_of: dict[int, str]  # value id -> register


class ColouringFailed(Exception):
    """No register of class `cls` is left for a value."""

    def __init__(self, cls: str):
        self.cls = cls
        super().__init__(f"no register left in class {cls}")


def lifetimes(prob: RenameProblem, issue: Sequence[int], horizon: int) -> dict[int, tuple[int, int]]:
    """Each value's (start, end) in half cycles under the issue cycles `issue` (live-out values end after the block)."""
    end_of_block = 2 * horizon + 2
    out = {}
    for v in prob.values:
        s = 0 if v.defn is None else 2 * issue[v.defn] + 1
        e = max([s + 1] + [2 * issue[u] + 1 for u in v.uses if u != v.defn])
        if v.live_out:
            e = end_of_block
        out[v.id] = (s, e)
    return out


def colour(prob: RenameProblem, issue: Sequence[int], horizon: int,
           order_edges: Sequence[Sequence[int]] = ()) -> Allocation:
    """Give every value a register: fixed chains first, then the others by start time,
    keeping the original register when free, else the tightest fit before a later
    occupant. A register may pass from one value to the next within one cycle (the old
    value's last readers are emitted before the new value's writer) only if that keeps
    the order inside the cycle acyclic."""
    col = _Colouring(prob, issue, horizon, order_edges)
    for r, members in col.chains.items():
        if prob.values[r].fixed and not col.try_place(prob.values[r].reg, members):
            raise ColouringFailed(prob.values[r].cls)
    life = col.life
    flexible = sorted((r for r in col.chains if not prob.values[r].fixed), key=lambda r: (life[r][0], r))
    for r in flexible:
        col.place_flexible(r)
    return Allocation(col.reg_of)


def _tied_chains(prob: RenameProblem) -> dict[int, list[int]]:
    """Values that must share a register (tied to one another), by the root of the tie."""
    root = {}
    for v in prob.values:
        r = v.id
        while (tied := prob.values[r].tied_to) is not None:
            r = tied
        root[v.id] = r
    chains: dict[int, list[int]] = {}
    for v in prob.values:
        chains.setdefault(root[v.id], []).append(v.id)
    return chains


class _Colouring:
    """The state of one `colour` run: registers given so far and the in-cycle order they need."""

    def __init__(self, prob: RenameProblem, issue: Sequence[int], horizon: int,
                 order_edges: Sequence[Sequence[int]]):
        self.prob = prob
        self.life = lifetimes(prob, issue, horizon)
        self.chains = _tied_chains(prob)
        self.last_users = {}
        for v in prob.values:
            last = max((issue[u] for u in v.uses), default=None)
            self.last_users[v.id] = {u for u in v.uses if issue[u] == last}
        # "must come before" edges between instructions of the same cycle
        self.before: dict[int, set[int]] = {}
        for k, preds in enumerate(order_edges):
            for u in preds:
                if issue[u] == issue[k]:
                    self.before.setdefault(u, set()).add(k)
        self.reg_of: dict[int, str] = {}
        self.busy: dict[str, list[int]] = {}

    def reaches(self, src: int, dst: int, extra: dict[int, set[int]]) -> bool:
        stack, seen = [src], set()
        while stack:
            x = stack.pop()
            if x == dst:
                return True
            if x in seen:
                continue
            seen.add(x)
            stack.extend(self.before.get(x, ()))
            stack.extend(extra.get(x, ()))
        return False

    def needed_edges(self, a: int, b: int) -> list[tuple[int, int]] | None:
        """Edges that let b follow a in one register, or None if they cannot share it."""
        (s1, e1), (s2, e2) = self.life[a], self.life[b]
        if e1 < s2 or e2 < s1:
            return []
        if e2 == s1:
            a, b = b, a
            (s1, e1), (s2, e2) = (s2, e2), (s1, e1)
        if e1 == s2 and (y := self.prob.values[b].defn) is not None:
            return [(u, y) for u in self.last_users[a] if u != y]
        return None

    def plan(self, reg: str, members: list[int]) -> dict[int, set[int]] | None:
        """The in-cycle edges placing `members` in `reg` needs, or None if it cannot."""
        extra: dict[int, set[int]] = {}
        for a in members:
            apart = self.prob.apart.get(a, ())
            for b in self.busy.get(reg, ()):
                if b in apart:
                    return None
                edges = self.needed_edges(a, b)
                if edges is None:
                    return None
                for u, y in edges:
                    if self.reaches(y, u, extra):
                        return None
                    extra.setdefault(u, set()).add(y)
        return extra

    def place(self, reg: str, members: list[int], extra: dict[int, set[int]]) -> None:
        for u, ys in extra.items():
            self.before.setdefault(u, set()).update(ys)
        self.busy.setdefault(reg, []).extend(members)
        for mid in members:
            self.reg_of[mid] = reg

    def try_place(self, reg: str, members: list[int]) -> bool:
        extra = self.plan(reg, members)
        if extra is None:
            return False
        self.place(reg, members, extra)
        return True

    def slack(self, reg: str, end: int) -> int:
        later = [self.life[b][0] for b in self.busy.get(reg, ()) if self.life[b][0] >= end]
        return min(later) - end if later else 1 << 30

    def place_flexible(self, r: int) -> None:
        """The chain rooted at r in the best register of its class that can take it."""
        prob, life = self.prob, self.life
        members = self.chains[r]
        cls = prob.values[r].cls
        end = max(life[m][1] for m in members)
        orig = prob.values[r].reg
        options = []
        for reg in sorted(prob.available[cls], key=_reg_number):
            extra = self.plan(reg, members)
            if extra is not None:
                # registers free since an earlier cycle first: a hand-over inside a cycle
                # adds ordering that may block later hand-overs
                options.append(((bool(extra), reg != orig, self.slack(reg, end), _reg_number(reg)), reg, extra))
        if not options:
            raise ColouringFailed(cls)
        _, reg, extra = min(options)
        self.place(reg, members, extra)


def emission_order(issue: Sequence[int], prob: RenameProblem, alloc: Allocation,
                   order_edges: Sequence[Sequence[int]], raw_edges) -> list[int] | None:
    """Program order from issue cycles: by cycle; inside a cycle, readers of a register
    before the instruction that writes it anew, ordering edges kept, ties by original
    index. None if the constraints inside a cycle are cyclic."""
    n = len(issue)
    succ: dict[int, set[int]] = {k: set() for k in range(n)}
    for v in range(n):
        for u in order_edges[v]:
            if issue[u] == issue[v]:
                succ[u].add(v)
        for u, _ in raw_edges[v]:
            if issue[u] == issue[v]:
                succ[u].add(v)
    by_reg: dict[str, list[Value]] = {}
    for val in prob.values:
        by_reg.setdefault(alloc.reg_of[val.id], []).append(val)
    for vals in by_reg.values():
        for b in vals:
            if b.defn is None:
                continue
            for a in vals:
                if a is b or b.tied_to == a.id:
                    continue
                for u in a.uses:
                    if u != b.defn and issue[u] == issue[b.defn]:
                        succ[u].add(b.defn)
                # two writes of one register in one cycle (a dead flag result beside a live
                # one: NZCV is never held back a cycle like other registers): the dead first
                if a.defn is not None and a.defn != b.defn and issue[a.defn] == issue[b.defn] \
                        and _dead(a) and not _dead(b):
                    succ[a.defn].add(b.defn)
    indeg = {k: 0 for k in range(n)}
    for targets in succ.values():
        for v in targets:
            indeg[v] += 1
    heap = [(issue[k], k) for k in range(n) if indeg[k] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, k = heapq.heappop(heap)
        out.append(k)
        for v in succ[k]:
            indeg[v] -= 1
            if indeg[v] == 0:
                heapq.heappush(heap, (issue[v], v))
    return out if len(out) == n else None


def _dead(v: Value) -> bool:
    """Written and never read (in the block or after it)."""
    return not v.live_out and all(u == v.defn for u in v.uses)


# --------------------------------------------------------------------- rewrite

def _renamed_operand(op, new_reg: str | None):
    if new_reg is None:
        return op
    num = int(new_reg[1:])
    if isinstance(op, GPR):
        return GPR(num, op.bits)
    if isinstance(op, VReg):
        return VReg(num, op.arr, op.view)
    if isinstance(op, VElem):
        return VElem(num, op.size, op.index)
    return op


class UnpredictableRewrite(Exception):
    """The allocation would make an instruction UNPREDICTABLE (`isa.unpredictable`). The
    allocators keep such values apart (`RenameProblem.apart`); this is the safety net behind
    them: the caller drops the allocation and goes on with its next candidate."""


def rewrite(instrs: Sequence[Instruction], prob: RenameProblem, alloc: Allocation) -> list[Instruction]:
    """The block's instructions with registers replaced per the allocation. Raises
    UnpredictableRewrite rather than return an UNPREDICTABLE instruction."""
    out = []
    for k, ins in enumerate(instrs):
        new_ops: list[Operand] = []
        for op, pat in zip(ins.operands, ins.form.operands, strict=False):
            if isinstance(op, Mem):
                base = op.base
                if base.resource in prob.reads[k]:
                    base = _renamed_operand(base, alloc.reg_of[prob.reads[k][base.resource]])
                index = op.index
                if index is not None and index.resource in prob.reads[k]:
                    index = _renamed_operand(index, alloc.reg_of[prob.reads[k][index.resource]])
                new_ops.append(Mem(base, op.offset, op.mode, index, op.modifier, op.offset_text))
                continue
            res = getattr(op, "resource", None)
            if res is None or reg_class(res) in (None, FLAGS):
                new_ops.append(op)
                continue
            table = prob.writes[k] if pat.role in ("w", "rw") else prob.reads[k]
            vid = table.get(res)
            new_ops.append(_renamed_operand(op, alloc.reg_of[vid]) if vid is not None else op)
        changed = tuple(new_ops) != ins.operands
        new_ins = Instruction(ins.mnemonic, tuple(new_ops), ins.form, ins.loc, "" if changed else ins.text)
        why = unpredictable(new_ins) if changed else None
        if why is not None:
            raise UnpredictableRewrite(f"'{new_ins}' (renamed from '{ins}'): {why}")
        out.append(new_ins)
    return out
