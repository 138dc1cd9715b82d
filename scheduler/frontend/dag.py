"""Dependency DAG of a straight-line block.

Nodes are instruction positions 0..n-1 (attribute `instr`). Each edge carries a
list of `Dep`s: kind raw/war/waw and the resource (a register name, "nzcv" or
"mem"). Register dependencies come from the instruction table's read/write
sets. Memory dependencies come from symbolic addresses: every register value is
tracked as (root, constant) through `add/sub #imm`, `mov` and base writeback, so
`[x1, #8]` after `add x1, x1, #16` is known to be 24 bytes past the block's x1.
Two accesses are independent only if provably disjoint:
  * same root and non-overlapping byte ranges;
  * different incoming registers both declared no-alias (`--no-alias`, `// @noalias`);
  * one based on the incoming sp and the other on another incoming register
    (the stack is disjoint from the buffers the kernel is given).
Otherwise they are ordered if at least one of them is a store.

"Incoming" means the value the register had when the function was entered. A block that
does not start at the function's entry gets, through `AliasFacts.entry`, what the
control-flow analysis (`frontend/cfg.py`) proved of each register at the block's entry:
still an incoming value plus a constant (`mov x29, sp` before a label keeps x29 = the
incoming sp - 32), an incoming value plus an unknown constant (a pointer walked by a
loop), or nothing (root ("entry", reg): it may alias anything but itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import networkx as nx

from scheduler.frontend.ir import FLAGS, Instruction
from scheduler.frontend.isa.operands import GPR, Imm, Mem, Shift

REGISTER, FLAG, MEMORY = "register", "flags", "memory"


@dataclass(frozen=True)
class Dep:
    """One dependency on an edge of the DAG: its kind and the resource it goes through."""

    kind: str  # "raw", "war" or "waw"
    resource: str  # "x3", "v1", "nzcv" or "mem"

    @property
    def category(self) -> str:
        """"register", "flags" or "memory": what kind of resource the dependency goes through."""
        if self.resource == "mem":
            return MEMORY
        return FLAG if self.resource == FLAGS else REGISTER


@dataclass(frozen=True)
class Value:
    """A register value as root + constant. root is ("in", reg) (the function's incoming
    value), ("entry", reg) (the block's incoming value, nothing known of it) or
    ("def", index, reg). const None: an unknown constant (a pointer a loop walks)."""

    root: tuple
    const: int | None = 0

    def plus(self, delta: int | None) -> Value:
        """This value plus `delta` (the constant becomes unknown when either is unknown)."""
        if self.const is None or delta is None:
            return Value(self.root, None)
        return Value(self.root, self.const + delta)


@dataclass(frozen=True)
class AliasFacts:
    """What the memory-dependency analysis of one block may assume.

    `noalias`: incoming registers declared to point at pairwise disjoint buffers.
    `entry`: None when the block starts at the function's entry (every register holds its
    incoming value); else, per register whose value at the block's entry is known, that
    value with an ("in", reg) root; the other registers get an ("entry", reg) root."""

    noalias: frozenset[str] = frozenset()
    entry: tuple[tuple[str, Value], ...] | None = None

    def initial(self, reg: str) -> Value:
        """What register `reg` holds at the block's entry."""
        if self.entry is None:
            return Value(("in", reg))
        return self.entry_map.get(reg, Value(("entry", reg)))

    @cached_property
    def entry_map(self) -> Mapping[str, Value]:
        """`entry` as a mapping from register name to its value."""
        return dict(self.entry or ())

    def to_json(self) -> dict:
        """For certificates and reports: the assumptions in plain data."""
        entry = None if self.entry is None else {
            r: {"incoming": v.root[1], "plus": v.const} for r, v in self.entry}
        return {"no_alias": sorted(self.noalias), "entry": entry}


def alias_facts(facts: AliasFacts | Iterable[str] | None) -> AliasFacts:
    """`facts` as AliasFacts; a plain set of register names means a block at the function's
    entry with those registers declared no-alias (what single-block callers pass)."""
    if isinstance(facts, AliasFacts):
        return facts
    return AliasFacts(frozenset(facts or ()))


@dataclass(frozen=True)
class Address:
    """A memory access as root + constant: the bytes [lo, lo + size) from the value `root`."""

    root: tuple
    lo: int | None  # None: unknown offset (register-indexed)
    size: int
    store: bool

    def overlaps(self, other: Address) -> bool:
        """Whether two accesses from the same root may touch a common byte (True if either offset is unknown)."""
        if self.lo is None or other.lo is None:
            return True
        return self.lo < other.lo + other.size and other.lo < self.lo + self.size


def _is_const_add(instr: Instruction) -> int | None:
    """Constant added by `add/sub Xd, Xn, #imm` (or `mov Xd, Xn`), else None."""
    ops = instr.operands
    if instr.mnemonic in ("add", "sub") and len(ops) >= 3 and isinstance(ops[2], Imm):
        if not (isinstance(ops[0], GPR) and ops[0].bits == 64):
            return None
        shift = 0
        if len(ops) > 3:
            sh = ops[3]
            assert isinstance(sh, Shift)  # `add/sub Xd, Xn, #imm, lsl #12`
            shift = sh.amount
        value = ops[2].value << shift
        return value if instr.mnemonic == "add" else -value
    if instr.mnemonic == "mov" and len(ops) == 2 and all(
        isinstance(o, GPR) and o.bits == 64 and not o.is_zr for o in ops
    ):
        return 0
    return None


def symbolic_addresses(instrs: Sequence[Instruction], facts: AliasFacts | Iterable[str] | None = None
                       ) -> list[Address | None]:
    """Symbolic address of each instruction's memory access (None if it has none)."""
    return value_trace(instrs, facts)[0]


def value_trace(instrs: Sequence[Instruction], facts: AliasFacts | Iterable[str] | None = None
                ) -> tuple[list[Address | None], list[dict[str, Value]]]:
    """Symbolic addresses, and per instruction the symbolic value of each register it writes.
    The block's incoming registers are valued by `facts` (default: the function's entry)."""
    start = alias_facts(facts)
    values: dict[str, Value] = {}
    written: list[dict[str, Value]] = []

    def value(reg: str) -> Value:
        got = values.get(reg)
        return got if got is not None else start.initial(reg)

    out: list[Address | None] = []
    for i, instr in enumerate(instrs):
        m = instr.mem
        if m is None:
            out.append(None)
        else:
            base = value(m.base)
            lo = None if m.offset is None or base.const is None else base.const + m.offset
            out.append(Address(base.root, lo, m.size, m.kind == "store"))
        step_values(values, instr, i, value)
        written.append({r: values[r] for r in instr.writes if r != FLAGS})
    return out, written


def step_values(values: dict[str, Value], instr: Instruction, index, value) -> None:
    """Update `values` (register -> Value) for the registers `instr` writes; `value(reg)` reads
    the current value; `index` makes the roots of unknown results unique."""
    delta = _is_const_add(instr)
    mem_op = instr.operands[-1] if instr.form.mem else None
    for reg in instr.writes:
        if reg == FLAGS:
            continue
        if isinstance(mem_op, Mem) and mem_op.writeback and mem_op.base.resource == reg:
            values[reg] = value(reg).plus(mem_op.offset)
        elif delta is not None:
            src = instr.operands[1]
            assert isinstance(src, GPR) and src.resource is not None  # Xn or sp, never xzr
            values[reg] = value(src.resource).plus(delta)
        else:
            values[reg] = Value(("def", index, reg))


def may_alias(a: Address, b: Address, facts: AliasFacts | Iterable[str] = ()) -> bool:
    """Whether accesses `a` and `b` may overlap: same root -> by the offsets; two different incoming
    registers -> not if one is sp or both are declared no-alias; otherwise they may."""
    if a.root == b.root:
        return a.overlaps(b)
    if a.root[0] == "in" and b.root[0] == "in":
        ra, rb = a.root[1], b.root[1]
        if "sp" in (ra, rb):
            return False
        na = alias_facts(facts).noalias
        if ra in na and rb in na:
            return False
    return True


def build_dag(instrs: Sequence[Instruction], noalias: AliasFacts | Iterable[str] = ()) -> nx.DiGraph:
    """The dependency DAG of a block, with typed edges (see module docstring)."""
    g = nx.DiGraph()
    for i, instr in enumerate(instrs):
        g.add_node(i, instr=instr)

    def dep(src: int, dst: int, d: Dep) -> None:
        if g.has_edge(src, dst):
            if d not in g.edges[src, dst]["deps"]:
                g.edges[src, dst]["deps"].append(d)
        else:
            g.add_edge(src, dst, deps=[d])

    last_writer: dict[str, int] = {}
    readers: dict[str, list[int]] = {}
    for i, instr in enumerate(instrs):
        for r in instr.reads:
            if r in last_writer:
                dep(last_writer[r], i, Dep("raw", r))
        for r in instr.writes:
            if r in last_writer:
                dep(last_writer[r], i, Dep("waw", r))
            for j in readers.get(r, ()):
                if j != i:
                    dep(j, i, Dep("war", r))
        for r in instr.reads:
            readers.setdefault(r, []).append(i)
        for r in instr.writes:
            last_writer[r] = i
            readers[r] = []

    facts = alias_facts(noalias)
    addrs = symbolic_addresses(instrs, facts)
    accesses = [(i, a) for i, a in enumerate(addrs) if a is not None]
    for n, (i, a) in enumerate(accesses):
        for j, b in accesses[n + 1:]:
            if (a.store or b.store) and may_alias(a, b, facts):
                kind = "raw" if a.store and not b.store else "war" if b.store and not a.store else "waw"
                dep(i, j, Dep(kind, "mem"))
    return g


def edge_kinds(g: nx.DiGraph, u: int, v: int) -> set[str]:
    """The dependency kinds ("raw", "war", "waw") on edge u -> v."""
    return {d.kind for d in g.edges[u, v]["deps"]}


def random_topological_order(g: nx.DiGraph, rng) -> list[int]:
    """A uniformly chosen ready node at each step: a random valid order of the block."""
    indeg = {n: g.in_degree(n) for n in g.nodes}
    ready = [n for n, d in indeg.items() if d == 0]
    order = []
    while ready:
        n = ready.pop(rng.randrange(len(ready)))
        order.append(n)
        for m in g.successors(n):
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    return order


def is_valid_order(g: nx.DiGraph, order: Sequence[int]) -> bool:
    """True if `order` (a permutation of the nodes) respects every edge."""
    pos = {n: k for k, n in enumerate(order)}
    return len(pos) == g.number_of_nodes() and all(pos[u] < pos[v] for u, v in g.edges)
