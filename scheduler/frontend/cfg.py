"""The control flow of a whole file, and what each straight-line block may assume about it.

The optimizer reorders straight-line blocks (`Program.blocks()`); branches, labels, code bytes
the tool cannot decode and the ends of the file join them into a control-flow graph. Two
analyses run over that graph to a fixpoint, back-edges included:

* **Liveness** (backward) of every register and the flags. At `ret` the outputs are live (the
  outputs rule, `frontend/outputs.py`) and so is what a caller expects preserved (the
  callee-saved registers, sp, x29, x30). At a call (`bl`, `blr`), an indirect branch (`br`), a
  branch to a label the file does not define (a tail call) and undecodable code bytes, every
  register and the flags are live: a hand-written callee may use any convention. A `ret`
  reached from a local call (`bl` to a label of the file) has everything live too: it returns
  to code that may read anything.
* **Entry facts** (forward): per register at a block's entry, its value as the function's
  incoming value of some register plus a constant (`mov x29, sp` keeps x29 = incoming sp - 32
  across a label), plus an unknown constant (a pointer a loop walks), or nothing. Facts flow
  through labels and directives (`.cfi_*`, `.p2align`), die when the register is redefined,
  and are lost after calls and where paths with different values meet. The memory-dependency
  analysis (`dag.AliasFacts`) applies the no-alias and stack-disjointness assumptions only to
  incoming values, so a fact that held in one block is never assumed in another where the
  register may hold something else.

Entries: the labels the file exports (`.globl`, `.type NAME, %function`) when it defines any,
else the first statement; a label whose address is taken (named by a non-branch instruction or
a data directive) is entered from an unknown place and assumes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from scheduler.frontend.abi import ALL_RESOURCES, ALWAYS_LIVE_OUT, GPR_RESOURCES
from scheduler.frontend.dag import AliasFacts, Value, step_values
from scheduler.frontend.ir import Block, Directive, Instruction, Label, Program
from scheduler.frontend.isa.operands import Sym

BLOCK, BRANCH, OPAQUE = "block", "branch", "opaque"
CONDITIONAL = ("cbz", "cbnz", "tbz", "tbnz")
EVERYTHING = frozenset(ALL_RESOURCES)
# directives that name a label without taking its address
_NAMING_DIRECTIVES = (".globl", ".global", ".type", ".size", ".hidden", ".local", ".weak", ".protected",
                      ".cfi", ".p2align", ".align", ".balign", ".section", ".text", ".data", ".func", ".endfunc")


@dataclass(frozen=True)
class Unit:
    """A node of the graph: a straight-line block, one branch instruction, or opaque code bytes."""

    kind: str
    stmt: int  # index in Program.statements of its first statement
    block: Block | None = None
    instr: Instruction | None = None


@dataclass(frozen=True)
class BlockContext:
    """What one block may assume: the registers live after it, and the facts at its entry."""

    live_out: frozenset[str]
    facts: AliasFacts
    entered_at_function_entry: bool  # the block starts where the function starts (facts.entry is None)


@dataclass
class FlowGraph:
    """The file's control-flow graph over its units (blocks, branches, opaque code), with entries and exits."""

    program: Program
    units: list[Unit]
    succ: list[list[int]]  # unit -> successor units (len(units) = falling off the end of the file)
    exit_all: list[bool]  # control may leave to code that reads every register (call, tail call, br)
    calls: list[int | None]  # a call unit's local target unit (bl to a label of the file), else None
    entries: list[int]
    unknown_entries: list[int]  # address-taken labels: entered from somewhere unknown

    @property
    def end(self) -> int:
        """The pseudo-unit for falling off the end of the file (one past the last unit)."""
        return len(self.units)


# ------------------------------------------------------------------ graph

def _units(program: Program) -> tuple[list[Unit], list[tuple[str, int, int]]]:
    """Units in program order, and labels as (name, statement index, index of the next unit)."""
    starts = {b.start: b for b in program.blocks()}
    units: list[Unit] = []
    labels: list[tuple[str, int, int]] = []
    i, stmts = 0, program.statements
    while i < len(stmts):
        s = stmts[i]
        if i in starts:
            units.append(Unit(BLOCK, i, block=starts[i]))
            i += len(starts[i].instructions)
            continue
        if isinstance(s, Instruction):
            units.append(Unit(BRANCH, i, instr=s))  # (every non-branch instruction is in a block)
        elif isinstance(s, Directive) and s.opaque_code:
            units.append(Unit(OPAQUE, i))
        elif isinstance(s, Label):
            labels.append((s.name, i, len(units)))
        i += 1
    return units, labels


def _resolve(name: str, at: int, labels: list[tuple[str, int, int]]) -> int | None:
    """The unit a branch at statement `at` to `name` goes to (GNU local labels `1b`/`1f`
    included); None when the file does not define it."""
    m = re.fullmatch(r"(\d+)([bf])", name)
    if m:
        num, back = m.group(1), m.group(2) == "b"
        hits = [u for n, s, u in labels if n == num and (s < at if back else s > at)]
        if not hits:
            return None
        return hits[-1] if back else hits[0]
    return next((u for n, _, u in labels if n == name), None)


def target_name(instr: Instruction) -> str | None:
    """The label a branch names (its last symbol operand), or None when it names none (e.g. `br x16`)."""
    sym = next((o for o in reversed(instr.operands) if isinstance(o, Sym)), None)
    return sym.name if sym is not None else None


def _exported(program: Program) -> set[str]:
    names: set[str] = set()
    for s in program.statements:
        if isinstance(s, Directive):
            m = re.match(r"\s*\.(globl|global)\s+(.*)", s.text)
            if m:
                names |= {n.strip() for n in m.group(2).split(",") if n.strip()}
            m = re.match(r"\s*\.type\s+([\w.$]+)\s*,\s*[%@#]?function\b", s.text)
            if m:
                names.add(m.group(1))
    return names


def _address_taken(program: Program, names: set[str]) -> set[str]:
    """Labels named by a non-branch instruction or a data directive."""
    taken: set[str] = set()
    for s in program.statements:
        if isinstance(s, Instruction) and not s.is_branch:
            taken |= {o.name for o in s.operands if isinstance(o, Sym) and o.name in names}
        elif isinstance(s, Directive) and not s.text.lstrip().startswith(_NAMING_DIRECTIVES):
            words = set(re.findall(r"[A-Za-z_.$][\w.$]*", s.text))
            taken |= words & names
    return taken


def build(program: Program) -> FlowGraph:
    """The control-flow graph of `program`: successors, calls, exits and entry units (the exported
    labels, else the first unit)."""
    units, labels = _units(program)
    n = len(units)
    succ: list[list[int]] = []
    exit_all = [False] * n
    calls: list[int | None] = [None] * n
    for k, u in enumerate(units):
        nxt = [k + 1]
        if u.kind == BRANCH:
            assert u.instr is not None
            nxt, exit_all[k], calls[k] = _branch_edges(u.instr, u.stmt, k, labels)
        succ.append(nxt)
    names = {name for name, _, _ in labels}
    exported = [u for name, _, u in labels if name in _exported(program)]
    entries = sorted(set(exported)) if exported else [0]
    unknown = sorted({u for name, _, u in labels if name in _address_taken(program, names)})
    return FlowGraph(program, units, succ, exit_all, calls, entries, unknown)


def _branch_edges(instr: Instruction, stmt: int, k: int, labels) -> tuple[list[int], bool, int | None]:
    """(successors, leaves to unknown code, local call target) of a branch unit."""
    m = instr.mnemonic.lower()
    if m == "ret":
        return [], False, None
    if m in ("br",):
        return [], True, None
    if m == "blr":
        return [k + 1], True, None
    name = target_name(instr)
    target = _resolve(name, stmt, labels) if name else None
    if m == "bl":
        return [k + 1], True, target
    if m == "b":
        return ([target], False, None) if target is not None else ([], True, None)
    # conditional: the target (or unknown code) and the fall-through
    if target is None:
        return [k + 1], True, None
    return [target, k + 1], False, None


# ------------------------------------------------------------------ liveness

def _live_in_block(block: Block, live_out: frozenset[str]) -> frozenset[str]:
    live = set(live_out)
    for instr in reversed(block.instructions):
        live -= instr.writes - instr.reads
        live |= instr.reads
    return frozenset(live)


def _called_region(g: FlowGraph) -> set[int]:
    """Units reached from a local call target without passing another call: a `ret` there
    returns into the caller."""
    seen: set[int] = set()
    todo = [t for t in g.calls if t is not None]
    while todo:
        u = todo.pop()
        if u in seen or u >= g.end:
            continue
        seen.add(u)
        if g.calls[u] is None or g.units[u].kind != BRANCH:
            todo.extend(g.succ[u])
        else:
            todo.append(u + 1)
    return seen


def liveness(g: FlowGraph, exit_live: frozenset[str]) -> list[frozenset[str]]:
    """Live-in set of every unit (index len(units): the end of the file) at the fixpoint.
    `exit_live`: what is live when the function returns (`ret`) or falls off the end."""
    at_exit = exit_live | ALWAYS_LIVE_OUT
    called = _called_region(g)
    live_in: list[frozenset[str]] = [frozenset()] * g.end + [at_exit]
    changed = True
    while changed:
        changed = False
        for k in reversed(range(g.end)):
            new = _unit_live_in(g, k, live_in, at_exit, k in called)
            if new != live_in[k]:
                live_in[k], changed = new, True
    return live_in


def _unit_live_in(g: FlowGraph, k: int, live_in, at_exit: frozenset[str], called: bool) -> frozenset[str]:
    u = g.units[k]
    out: set[str] = set().union(*(live_in[s] for s in g.succ[k]))
    if u.kind == OPAQUE:
        return EVERYTHING
    if u.kind == BLOCK:
        assert u.block is not None
        return _live_in_block(u.block, frozenset(out))
    instr = u.instr
    assert instr is not None
    if instr.mnemonic.lower() == "ret":
        out |= EVERYTHING if called else at_exit
    if g.exit_all[k]:
        out |= EVERYTHING
    if instr.mnemonic.lower() in ("bl", "blr"):
        out.discard("x30")  # written by the call itself
    return frozenset((out - (instr.writes - instr.reads)) | instr.reads)


# ------------------------------------------------------------------ entry facts

State = dict[str, Value]


def _incoming() -> State:
    return {r: Value(("in", r)) for r in GPR_RESOURCES}


def _join(a: State | None, b: State) -> State:
    if a is None:
        return dict(b)
    out: State = {}
    for r, va in a.items():
        vb = b.get(r)
        if vb is None:
            continue
        if va == vb:
            out[r] = va
        elif va.root == vb.root:
            out[r] = Value(va.root, None)
    return out


def _through(g: FlowGraph, k: int, state: State) -> State:
    """The state after unit k: incoming-rooted values only (others are this block's own)."""
    u = g.units[k]
    if u.kind == OPAQUE:
        return {}
    if u.kind == BRANCH:
        assert u.instr is not None
        return {} if u.instr.mnemonic.lower() in ("bl", "blr") else state
    assert u.block is not None
    values = dict(state)
    for i, instr in enumerate(u.block.instructions):
        step_values(values, instr, i, lambda r: values.get(r, Value(("entry", r))))
    return {r: v for r, v in values.items() if v.root[0] == "in"}


def entry_states(g: FlowGraph) -> list[State | None]:
    """Per unit, the facts at its entry (None: not reached from any entry)."""
    states: list[State | None] = [None] * (g.end + 1)
    for e in g.entries:
        states[e] = _join(states[e], _incoming())
    for e in g.unknown_entries:
        states[e] = {}
    work = list(range(g.end))
    while work:
        k = work.pop(0)
        st = states[k]
        if st is None:
            continue
        after = _through(g, k, st)
        edges = [(s, after) for s in g.succ[k]]
        callee = g.calls[k]
        if callee is not None:  # the callee starts with the caller's registers (x30 aside)
            edges.append((callee, {r: v for r, v in st.items() if r != "x30"}))
        for s, flow in edges:
            new = _join(states[s], flow)
            if new != states[s]:
                states[s] = new
                if s < g.end and s not in work:
                    work.append(s)
    return states


# ------------------------------------------------------------------ per block

def block_contexts(program: Program, exit_live: Iterable[str], noalias: Iterable[str] = ()) -> list[BlockContext]:
    """For each block of `program` (in `Program.blocks()` order): its live-out set and entry facts.
    `exit_live`: the registers whose values matter when the function returns (the outputs)."""
    g = build(program)
    live_in = liveness(g, frozenset(exit_live))
    states = entry_states(g)
    full = _incoming()
    out = []
    for k, u in enumerate(g.units):
        if u.kind != BLOCK:
            continue
        live_out = frozenset().union(*(live_in[s] for s in g.succ[k]))
        st = states[k]
        at_entry = st is not None and st == full and k in g.entries
        entry = None if at_entry else tuple(sorted((st or {}).items()))
        out.append(BlockContext(live_out, AliasFacts(frozenset(noalias), entry), at_entry))
    return out


def is_straight_line(program: Program) -> bool:
    """At most one block, followed at most by a `ret`: nothing crosses a block boundary."""
    kinds = [(u.kind, u.instr.mnemonic.lower() if u.instr is not None else "") for u in build(program).units]
    return kinds in ([], [(BLOCK, "")], [(BRANCH, "ret")], [(BLOCK, ""), (BRANCH, "ret")])
