"""Address-offset fixup: let a load or store move across an update of its base register.

Kernels walk buffers with `add x1, x1, #32` or writeback (`ldp x4, x5, [x1], #16`).
An access `[x1, #8]` after such an update reads the new x1; if it is emitted before
the update instead, `[x1, #40]` addresses the same bytes. So the register dependency
between the access and the update is not a real one, provided the adjusted offset is
encodable for the instruction form.

Model (shared by the reorder and the renaming CP-SAT models):
  * an *update* of register R adds a known constant to R in place: `add/sub R, R, #imm`
    or a pre/post-indexed access with base R. A *segment* of R is a maximal run of
    updates with no other write of R in between.
  * a *movable access* uses base R with an immediate offset (no index, no writeback),
    does not otherwise read or write R, and depends on the neighbouring updates of its
    segment only through R. It may cross up to `MAX_CROSS` updates either way.
  * per (access, update) pair a Boolean `after` = "the update comes first"; they are
    monotone along the segment, so the number of updates crossed, and with it the new
    offset (original offset + the constants of updates the access now precedes -
    those it now follows), is a linear expression; its domain is the set of offsets
    the form can encode.
  * `after` -> issue[access] >= issue[update] + latency (it reads the new value);
    otherwise the access issues no later than the update (strictly earlier if it was
    after it originally, so the emitter's tie break by original index stays right).
The memory dependencies are unaffected: they are computed on symbolic addresses
(root register + constant), which a fixup does not change.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scheduler.frontend.ir import Instruction
from scheduler.frontend.isa.operands import GPR, Imm, Mem, Shift
from scheduler.frontend.isa.table import TABLE

MAX_CROSS = 4  # updates an access may cross in each direction (bounds the Booleans)


@dataclass(frozen=True)
class Update:
    """An instruction that adds a constant `delta` to register `reg`."""

    index: int  # instruction
    reg: str
    delta: int  # constant added to reg


@dataclass
class Movable:
    """A load or store whose base register updates it may cross, with the offset it needs after each."""

    access: int  # instruction index
    reg: str  # base register
    updates: list[Update]  # the updates it may cross, in program order
    first_after: int  # how many of `updates` precede the access originally
    offsets: dict[int, int]  # updates preceding the access in the new order -> new offset (encodable only)
    after_write: int | None = None  # the write of reg just before the window: stays before the access
    before_write: int | None = None  # the write just after it: stays after the access


@dataclass
class FixupProblem:
    """Every access of a block that may move across updates of its base register."""

    movables: list[Movable] = field(default_factory=list)

    @property
    def registers(self) -> set[str]:
        """The base registers of the movable accesses."""
        return {m.reg for m in self.movables}

    def pairs(self) -> set[tuple[int, int]]:
        """(access, update) index pairs whose register edge the model relaxes."""
        return {(min(m.access, u.index), max(m.access, u.index)) for m in self.movables for u in m.updates}

    def __bool__(self) -> bool:
        return bool(self.movables)


def update_delta(instr: Instruction, reg: str) -> int | None:
    """The constant `instr` adds to `reg` in place, or None if it is not such an update."""
    ops = instr.operands
    if instr.form.mem:
        m = ops[-1]
        # (a load into the base register itself is not an update)
        if isinstance(m, Mem) and m.writeback and m.base.resource == reg and \
                not any(getattr(o, "resource", None) == reg for o in ops[:-1]):
            return m.offset
        return None
    if instr.mnemonic in ("add", "sub") and len(ops) in (3, 4) and isinstance(ops[2], Imm):
        d, n = ops[0], ops[1]
        if isinstance(d, GPR) and isinstance(n, GPR) and d.bits == 64 and d.resource == reg == n.resource:
            shift = 0
            if len(ops) == 4:
                sh = ops[3]
                assert isinstance(sh, Shift)  # `add/sub Xd, Xn, #imm, lsl #12`
                shift = sh.amount
            value = ops[2].value << shift
            return value if instr.mnemonic == "add" else -value
    return None


def _movable_base(instr: Instruction) -> str | None:
    m = instr.operands[-1] if instr.form.mem else None
    if not isinstance(m, Mem) or m.writeback or m.index is not None:
        return None
    reg = m.base.resource
    if reg in instr.writes or any(getattr(o, "resource", None) == reg for o in instr.operands[:-1]):
        return None
    return reg


def with_offset(instr: Instruction, offset: int) -> Instruction | None:
    """`instr` addressing `offset` from the same base, or None if not encodable."""
    m = instr.operands[-1]
    assert isinstance(m, Mem)
    if offset == m.offset:
        return instr
    ops = (*instr.operands[:-1], Mem(m.base, offset, m.mode, None, None, ""))
    found = TABLE.lookup(instr.mnemonic, ops)
    if isinstance(found, str) or found[0].opclasses != instr.form.opclasses:
        return None
    form, matched = found
    return Instruction(instr.mnemonic, tuple(matched), form, instr.loc, "")


def analyse(instrs: Sequence[Instruction], dag, max_cross: int = MAX_CROSS, renaming: bool = False) -> FixupProblem:
    """The accesses that may move across updates of their base register (see module doc).
    With `renaming`, WAR/WAW edges on other registers do not count (renaming removes them,
    or its register intervals keep the order they need)."""
    writes: dict[str, list[tuple[int, int | None]]] = {}  # register -> (writer, delta or None)
    for k, ins in enumerate(instrs):
        for r in ins.writes:
            writes.setdefault(r, []).append((k, update_delta(ins, r)))
    prob = FixupProblem()
    for k, ins in enumerate(instrs):
        reg = _movable_base(ins)
        if reg is None or reg not in writes:
            continue
        chain = writes[reg]
        split = sum(1 for w, _ in chain if w < k)  # writes before the access
        lo = split
        while lo > 0 and split - lo < max_cross and chain[lo - 1][1] is not None \
                and _only_through(dag, k, chain[lo - 1][0], reg, renaming):
            lo -= 1
        hi = split
        while hi < len(chain) and hi - split < max_cross and chain[hi][1] is not None \
                and _only_through(dag, k, chain[hi][0], reg, renaming):
            hi += 1
        ups = [Update(w, reg, d) for w, d in chain[lo:hi] if d is not None]  # all are, by the loops above
        if not ups:
            continue
        first_after = split - lo
        mem = ins.operands[-1]
        assert isinstance(mem, Mem)  # _movable_base found its base
        base_off = mem.offset
        offsets = {}
        for n_before in range(len(ups) + 1):
            # the access follows the first n_before updates of `ups` in the new order
            shift = sum(u.delta for u in ups[:first_after]) - sum(u.delta for u in ups[:n_before])
            new = base_off + shift
            # the stack: never address below sp (no red zone: a signal may clobber it)
            if (reg != "sp" or new >= 0) and with_offset(ins, new) is not None:
                offsets[n_before] = new
        if len(offsets) > 1:
            prob.movables.append(Movable(
                k, reg, ups, first_after, offsets,
                after_write=chain[lo - 1][0] if lo > 0 else None,
                before_write=chain[hi][0] if hi < len(chain) else None))
    return prob


def _only_through(dag, a: int, b: int, reg: str, renaming: bool) -> bool:
    """No dependency between a and b other than through `reg` (none at all is fine: then
    they are ordered only through the updates in between, which are relaxed too)."""
    u, v = min(a, b), max(a, b)
    if not dag.has_edge(u, v):
        return True
    for d in dag.edges[u, v]["deps"]:
        false_reg = renaming and d.kind != "raw" and d.resource not in ("mem", "sp")
        if d.resource != reg and not false_reg:
            return False
    return True


# ------------------------------------------------------------------ the model

def relax_edges(raw, order, prob: FixupProblem, gap: Callable[[int, int, str], int]):
    """Dependency lists with the (access, update) register edges of `prob` removed, and
    edges to the writes just outside each access's window added (without them the access
    could drift past updates it may not cross, the relaxed edges being its only link)."""
    pairs = prob.pairs()
    raw = [[(u, g) for u, g in preds if tuple(sorted((u, v))) not in pairs] for v, preds in enumerate(raw)]
    order = [[u for u in preds if tuple(sorted((u, v))) not in pairs] for v, preds in enumerate(order)]
    for mv in prob.movables:
        if mv.after_write is not None:
            raw[mv.access].append((mv.after_write, gap(mv.after_write, mv.access, mv.reg)))
        if mv.before_write is not None:
            order[mv.before_write].append(mv.access)
    return raw, order


def add_constraints(m, issue, prob: FixupProblem, gap: Callable[[int, int, str], int]) -> None:
    """The Booleans and constraints of the module docstring, on CP-SAT issue variables."""
    from scheduler.search.cpsat import cp_model

    for mv in prob.movables:
        k = mv.access
        after = []
        for u in mv.updates:
            b = m.new_bool_var(f"fix_{k}_{u.index}")
            after.append(b)
            m.add(issue[k] >= issue[u.index] + gap(u.index, k, mv.reg)).only_enforce_if(b)
            strict = 1 if u.index < k else 0
            m.add(issue[k] + strict <= issue[u.index]).only_enforce_if(~b)
        for b1, b2 in itertools.pairwise(after):
            m.add_implication(b2, b1)  # the updates stay in order among themselves
        m.add_linear_expression_in_domain(sum(after), cp_model.Domain.from_values(sorted(mv.offsets)))


def gap_function(instrs: Sequence[Instruction], model) -> Callable[[int, int, str], int]:
    """Latency from the writer u of reg to a reader v, as the evaluator computes it."""
    return lambda u, v, reg: max(1, model.latency(instrs[u], instrs[v], reg))


def decide(issue: Sequence[int], prob: FixupProblem) -> dict[int, int]:
    """Per access that must change, its new offset, from a schedule's issue cycles."""
    out = {}
    for mv in prob.movables:
        n_before = sum(1 for u in mv.updates if issue[u.index] < issue[mv.access])
        if n_before != mv.first_after:
            out[mv.access] = mv.offsets[n_before]
    return out


def apply(instrs: Sequence[Instruction], new_offsets: dict[int, int]) -> list[Instruction]:
    """`instrs` with the memory offsets `new_offsets` (instruction index -> offset) put in."""
    out = list(instrs)
    for k, off in new_offsets.items():
        fixed = with_offset(instrs[k], off)
        assert fixed is not None, "offsets come from the encodable domain"
        out[k] = fixed
    return out


def records(original: Sequence[Instruction], origin: Sequence[int], candidate: Sequence[Instruction]) -> list[dict]:
    """The certificate's `offset_fixups`: every access whose offset changed or whose base
    now comes from another update of the chain (crossed updates may cancel out), as output
    position (1-based), original instruction (1-based), base register, old and new offset."""
    from scheduler.checks.certificate import _producers

    p_orig, p_cand = _producers(original), _producers(candidate)
    out = []
    for pos, (k, ins) in enumerate(zip(origin, candidate, strict=True)):
        a, b = original[k].operands[-1], ins.operands[-1]
        if not (original[k].form.mem and isinstance(a, Mem) and isinstance(b, Mem)):
            continue
        src = p_cand[pos].get(b.base_resource)
        src = origin[src] if isinstance(src, int) else src  # an instruction index, "in" or None
        if a.offset != b.offset or src != p_orig[k].get(a.base_resource):
            out.append({"position": pos + 1, "original": k + 1, "base": a.base_resource,
                        "from": a.offset, "to": b.offset})
    return out


def prepare_renaming(rprob, prob: FixupProblem) -> None:
    """Adapt a renaming problem (rename.RenameProblem) in place: the values of a base
    register with movable accesses stay in that register (so an access reads the right
    value whichever update it follows), and each movable access counts as a reader of
    the value its last crossable update writes. That keeps every value it may read
    alive long enough: an earlier value lives at least until the next update reads it."""
    regs = prob.registers
    for v in rprob.values:
        if v.reg in regs:
            v.fixed = True
    for mv in prob.movables:
        if mv.reg not in rprob.reads[mv.access]:
            continue  # sp: never renamed, its order edges stay (relaxed by relax_edges)
        old = rprob.values[rprob.reads[mv.access][mv.reg]]
        if mv.access in old.uses:
            old.uses.remove(mv.access)
        last = rprob.writes[mv.updates[-1].index][mv.reg]
        rprob.values[last].uses.append(mv.access)
