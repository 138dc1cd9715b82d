"""Equivalence of two straight-line programs for all inputs, bit-precisely.

Both programs run symbolically (`scheduler.checks.symbolic`) from the same initial state.
Every output location is then compared, cheapest first:

1. structural identity of the z3 terms (hash-consed: a reordering with renaming
   computes identical terms, no solver involved);
2. identity after `z3.simplify` (light normalisation: commuted operands, constant
   folding, `x + x` vs `x << 1`, ...);
3. for what remains: a few random states in the simulator; one short solver call on
   "some output differs" as a whole; the concolic search on reduced problems (random
   concrete values for every input but a few, see `concolic`), for a share of the
   time limit; then the SMT solver per location, under the no-alias assumptions,
   within the rest of the time limit. A model of `original != candidate` becomes a
   concrete initial state (registers, flags, memory bytes) that is replayed in the
   simulator; it is reported as a counterexample only if the simulator confirms the
   difference.

Outputs are what `verify` compares: every memory byte either program writes, the
declared output registers (all registers and the flags when none are declared),
and the callee-saved registers (low 64 bits of v8-v15).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import z3

from scheduler.checks.simulate import run_instructions
from scheduler.checks.state import MachineState, Memory
from scheduler.checks.symbolic import (
    Access,
    Addr,
    Inputs,
    SymState,
    Unsupported,
    execute,
    term,
)
from scheduler.checks.verify import (
    CALLEE_SAVED_SIMD,
    compare,
    compared_registers,
    live_ins,
    verify,
)
from scheduler.frontend.dag import AliasFacts, alias_facts
from scheduler.frontend.ir import Instruction

DEFAULT_TIMEOUT = 30.0
FALSIFY_TRIALS = 32  # random simulator trials tried before the solver


@dataclass
class Counterexample:
    """An initial state on which the programs differ, confirmed by the simulator."""

    initial: MachineState
    location: str  # first differing location in the simulator ("x3", "mem[0x...]")
    original: int
    candidate: int
    registers: dict[str, int]  # registers and flags either program reads before writing
    memory: list[tuple[int, bytes]]  # runs of initial memory bytes the programs read

    def to_json(self) -> dict:
        """The counterexample as JSON-ready values (numbers and bytes in hex)."""
        return {"location": self.location, "original": hex(self.original), "candidate": hex(self.candidate),
                "registers": {r: hex(v) for r, v in self.registers.items()},
                "memory": [{"address": hex(a), "bytes": b.hex(),
                            "value_le": hex(int.from_bytes(b, "little"))} for a, b in self.memory]}

    def lines(self) -> list[str]:
        """Human-readable lines: the differing location and the initial registers and memory that show it."""
        out = [f"{self.location} differs: original {self.original:#x}, candidate {self.candidate:#x}",
               "initial state (registers and flags either program reads before writing):"]
        out += [f"  {r:5s} = {v:#x}" for r, v in self.registers.items()]
        if self.memory:
            out.append("initial memory read (little-endian value of each run):")
            for a, b in self.memory:
                out.append(f"  mem[{a:#x}..{a + len(b) - 1:#x}] = {int.from_bytes(b, 'little'):#x}")
        return out


@dataclass
class SymbolicResult:
    """Outcome of the symbolic check: "proved", "refuted" or "unknown", how, and what stays unproved."""

    status: str  # "proved", "refuted" or "unknown"
    method: str = ""  # the strongest step needed: "structural", "simplify", "smt" ("random": refuted by a
    # trial, "concolic": by the search on reduced problems)
    reason: str = ""
    unproved: list[str] = field(default_factory=list)
    counterexample: Counterexample | None = None
    stats: dict = field(default_factory=dict)


def _addr_name(a: Addr) -> str:
    if a.sym is None:
        return f"mem[{a.const:#x}]"
    off = a.const if a.const < 1 << 63 else a.const - (1 << 64)
    sym = str(a.sym).replace("\n", " ")
    if len(sym) > 60:
        sym = sym[:57] + "..."
    return f"mem[{sym}{off:+#x}]" if off else f"mem[{sym}]"


def output_pairs(a: SymState, b: SymState, registers: Sequence[str], full: set[str]):
    """(location, original term, candidate term) for every compared location."""
    pairs = []
    for r in registers:
        ea, eb = a.get(r), b.get(r)
        if r in CALLEE_SAVED_SIMD and r not in full:
            ea, eb, r = z3.Extract(63, 0, ea), z3.Extract(63, 0, eb), f"{r}[63:0]"
        pairs.append((r, ea, eb))
    seen = set()
    for s in (*a.stores, *b.stores):
        for i in range(s.size):
            addr = s.addr + i
            if (addr.key, addr.const) in seen:
                continue
            seen.add((addr.key, addr.const))
            pairs.append((_addr_name(addr), term(a.read_byte(addr), 8), term(b.read_byte(addr), 8)))
    return pairs


def _overlap(a: z3.BitVecRef, asize: int, b: z3.BitVecRef, bsize: int) -> z3.BoolRef:
    return z3.Or(z3.ULT(b - a, asize), z3.ULT(a - b, bsize))


def assumptions(inputs: Inputs, accesses: Iterable[Access]) -> list[z3.BoolRef]:
    """The no-alias assumptions as constraints: accesses based on incoming registers
    declared disjoint (and the incoming sp against any other incoming base) do not
    overlap. Constant-offset accesses from one base are summarised as one buffer."""
    regions: dict[str, dict] = {}
    for acc in accesses:
        if acc.addr.root is None:
            continue
        per = regions.setdefault(acc.addr.root, {})
        off = acc.addr.const if acc.addr.const < 1 << 63 else acc.addr.const - (1 << 64)
        key = acc.addr.key
        lo, hi, sym = per.get(key, (off, off + acc.size, acc.addr.sym))
        per[key] = (min(lo, off), max(hi, off + acc.size), sym)
    roots = sorted(regions)
    out = []
    for i, ra in enumerate(roots):
        for rb in roots[i + 1:]:
            if not inputs.disjoint_roots(ra, rb):
                continue
            for lo_a, hi_a, sa in regions[ra].values():
                for lo_b, hi_b, sb in regions[rb].values():
                    ea, eb = sa + (lo_a & (2**64 - 1)), sb + (lo_b & (2**64 - 1))
                    out.append(z3.Not(_overlap(ea, hi_a - lo_a, eb, hi_b - lo_b)))
    return out


def initial_state(model: z3.ModelRef, inputs: Inputs) -> MachineState:
    """The concrete initial state a z3 model describes (memory never read is zero)."""
    def ev(e) -> int:
        return model.eval(e, model_completion=True).as_long()

    st = MachineState(mem=Memory(background_seed=None))
    st.x = [ev(x) for x in inputs.entry_x]
    st.sp = ev(inputs.entry_sp)
    st.v = [ev(v) for v in inputs.v]
    st.nzcv = ev(inputs.nzcv)
    for e in inputs.initial_reads.values():
        st.mem.load_bytes(ev(e), bytes([ev(z3.Select(inputs.mem, e))]))
    return st


def _runs(data: dict[int, int]) -> list[tuple[int, bytes]]:
    runs: list[tuple[int, bytearray]] = []
    for a in sorted(data):
        if runs and runs[-1][0] + len(runs[-1][1]) == a:
            runs[-1][1].append(data[a])
        else:
            runs.append((a, bytearray([data[a]])))
    return [(a, bytes(b)) for a, b in runs]


def replay(original: Sequence[Instruction], candidate: Sequence[Instruction], st: MachineState,
           registers: Sequence[str], full: set[str]) -> Counterexample | None:
    """Run both programs from `st` in the simulator; a Counterexample if they differ."""
    ra, rb = run_instructions(original, st), run_instructions(candidate, st)
    loc = compare(ra, rb, registers, full)
    if loc is None:
        return None

    def observed(s: MachineState) -> int:
        return s.mem.byte(int(loc[4:-1], 16)) if loc.startswith("mem[") else s.get(loc)

    reads = sorted(live_ins(original) | live_ins(candidate), key=lambda r: (r[0] != "x", len(r), r))
    used = (ra.mem.reads | rb.mem.reads) & set(st.mem.data)
    return Counterexample(st, loc, observed(ra), observed(rb), {r: st.get(r) for r in reads},
                          _runs({a: st.mem.data[a] for a in used}))


def falsify(original: Sequence[Instruction], candidate: Sequence[Instruction], noalias: AliasFacts | Iterable[str],
            outputs: Sequence[str] | None, registers: Sequence[str], full: set[str],
            trials: int) -> Counterexample | None:
    """A counterexample from `verify`'s random states, made explicit (the memory bytes
    either program reads are written into the state) and replayed."""
    res = verify(original, candidate, trials=trials, seed=0, outputs=outputs, noalias=noalias)
    if res.mismatch is None:
        return None
    return replay(original, candidate, _explicit(original, candidate, res.mismatch.initial), registers, full)


# ------------------------------------------------------------------ concolic search
#
# When random states find no difference and the full problem is too hard for the solver
# (typically: the programs differ only when some loaded word has one particular value,
# after a long multiply/carry chain), search on smaller problems: start from a random
# concrete state, fix every input to its concrete value except a few "free" ones (a
# register, or the bytes of one load), let z3.simplify fold everything that is concrete
# (the multiplications included) and ask the solver for a model of "some output differs"
# over the free inputs alone. The free sets tried first are the inputs of each condition
# (`If`) the differing outputs depend on, then each input of the differing outputs on
# its own, then all of them at once. A model is replayed in the simulator like the
# solver's: only a confirmed difference is a counterexample.

QUICK_SOLVE = 2.0  # seconds for the first solver call on all differing outputs at once
CONCOLIC_SHARE = 0.4  # share of the time limit the concolic search may use before the solver
CONCOLIC_LIMITS = (1.0, 3.0)  # seconds per solver call on a reduced problem: first pass, second
CONCOLIC_SMALL = 256  # reduced problems of at most this many subterms are solved as soon as reduced
CONCOLIC_STATES = 4  # random starting states
CONCOLIC_SETS = 48  # at most this many other conditions' input sets are tried


def _leaf_groups(inputs: Inputs) -> dict[int, str | tuple]:
    """z3 term id -> the input it is: a register name or ("load", k) for the bytes of one load."""
    ids: dict[int, str | tuple] = {inputs.sp.get_id(): "sp", inputs.nzcv.get_id(): "nzcv"}
    ids.update({x.get_id(): f"x{i}" for i, x in enumerate(inputs.x)})
    ids.update({v.get_id(): f"v{i}" for i, v in enumerate(inputs.v)})
    for k, load in enumerate(inputs.loads):
        for part, _ in load:
            ids.setdefault(part.get_id(), ("load", k))
    return ids


def _cone(root: z3.ExprRef, leaves: dict[int, str | tuple]) -> tuple[frozenset, list[frozenset]]:
    """(the inputs `root` depends on, the inputs of each `If` condition in it)."""
    memo: dict[int, frozenset] = {}
    conds: dict[int, z3.ExprRef] = {}
    stack: list[tuple[z3.ExprRef, bool]] = [(root, False)]
    while stack:
        e, done = stack.pop()
        i = e.get_id()
        if i in memo:
            continue
        if i in leaves:
            memo[i] = frozenset((leaves[i],))
            continue
        kids = e.children() if z3.is_app(e) else []
        if done:
            memo[i] = frozenset().union(*(memo[c.get_id()] for c in kids)) if kids else frozenset()
            continue
        if z3.is_app_of(e, z3.Z3_OP_ITE):
            conds[kids[0].get_id()] = kids[0]
        stack.append((e, True))
        stack.extend((c, False) for c in kids if c.get_id() not in memo)
    return memo[root.get_id()], [memo[i] for i in conds]


def _nodes(roots: Sequence[z3.ExprRef]) -> dict[int, z3.ExprRef]:
    """Every subterm of `roots` by id."""
    seen: dict[int, z3.ExprRef] = {}
    stack = list(roots)
    while stack:
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen[e.get_id()] = e
        if z3.is_app(e):
            stack.extend(e.children())
    return seen


def _differing_conditions(hard: Sequence[tuple[str, z3.ExprRef, z3.ExprRef]]) -> list[z3.ExprRef]:
    """The conditions of the `If`s only one program's outputs have (e.g. the `csel` that
    differs): where the outputs part ways."""
    na = _nodes([ea for _, ea, _ in hard])
    nb = _nodes([eb for _, _, eb in hard])
    out: dict[int, z3.ExprRef] = {}
    for mine, other in ((na, nb), (nb, na)):
        for i, e in mine.items():
            if i not in other and z3.is_app_of(e, z3.Z3_OP_ITE):
                out.setdefault(e.arg(0).get_id(), e.arg(0))
    return list(out.values())


def _depths(root: z3.ExprRef, leaves: dict[int, str | tuple]) -> dict[str | tuple, int]:
    """The inputs `root` depends on, each with its distance (in subterms) from `root`."""
    out: dict[str | tuple, int] = {}
    seen = {root.get_id()}
    level, d = [root], 0
    while level:
        nxt = []
        for e in level:
            g = leaves.get(e.get_id())
            if g is not None:
                out.setdefault(g, d)
                continue
            for c in (e.children() if z3.is_app(e) else []):
                if c.get_id() not in seen:
                    seen.add(c.get_id())
                    nxt.append(c)
        level, d = nxt, d + 1
    return out


def _mem_selects(e: z3.ExprRef, mem: z3.ArrayRef) -> dict[int, z3.ExprRef]:
    """Address -> term of every read of the initial memory at a constant address in `e`."""
    out: dict[int, z3.ExprRef] = {}
    seen: set[int] = set()
    stack = [e]
    while stack:
        t = stack.pop()
        if t.get_id() in seen or not z3.is_app(t):
            continue
        seen.add(t.get_id())
        if z3.is_select(t) and t.arg(0).eq(mem) and z3.is_bv_value(t.arg(1)):
            out[t.arg(1).as_long()] = t
            continue
        stack.extend(t.children())
    return out


def _reduce(e: z3.ExprRef, inputs: Inputs, st: MachineState, free: frozenset
            ) -> tuple[z3.ExprRef, dict[str, z3.ExprRef], dict[int, z3.ExprRef]]:
    """`e` with every input outside `free` replaced by its value in `st`, simplified;
    also the free registers' and free memory bytes' variables."""
    regs = {"sp": inputs.sp, "nzcv": inputs.nzcv, **{f"x{i}": x for i, x in enumerate(inputs.x)},
            **{f"v{i}": v for i, v in enumerate(inputs.v)}}
    subs = [(var, z3.BitVecVal(st.get(name), var.size())) for name, var in regs.items() if name not in free]
    free_regs = {name: regs[name] for name in free if isinstance(name, str)}
    t = z3.simplify(z3.substitute(e, *subs)) if subs else z3.simplify(e)
    free_mem: dict[int, z3.ExprRef] = {}
    for g in free:
        if isinstance(g, tuple):
            for _, addr in inputs.loads[g[1]]:
                a = z3.simplify(z3.substitute(addr, *subs)) if subs else z3.simplify(addr)
                if z3.is_bv_value(a):
                    c = a.as_long()
                    free_mem.setdefault(c, z3.BitVec(f"mem_{c:#x}", 8))
    for _ in range(8):  # reads of the initial memory at addresses that became constant
        sels = _mem_selects(t, inputs.mem)
        if not sels:
            break
        t = z3.simplify(z3.substitute(t, *[(sel, free_mem.get(c, z3.BitVecVal(st.mem.byte(c), 8)))
                                            for c, sel in sels.items()]))
    return t, free_regs, free_mem


def _explicit(original: Sequence[Instruction], candidate: Sequence[Instruction], st: MachineState) -> MachineState:
    """`st` with the memory bytes either program reads written into it (no background)."""
    touched: set[int] = set()
    for prog in (original, candidate):
        touched |= run_instructions(prog, st).mem.reads
    explicit = MachineState(list(st.x), st.sp, list(st.v), st.nzcv, Memory(background_seed=None))
    for addr in sorted(touched):
        explicit.mem.load_bytes(addr, bytes([st.mem.byte(addr)]))
    return explicit


def free_sets(hard: Sequence[tuple[str, z3.ExprRef, z3.ExprRef]], inputs: Inputs,
              fixed: Iterable[str]) -> list[frozenset]:
    """The sets of inputs the concolic search leaves free, in the order tried: each input of
    the conditions where the outputs part ways (nearest the condition first), those
    conditions' inputs together, the inputs of every other condition, each input of the
    differing outputs alone, and all of them."""
    fixed = set(fixed)
    leaves = _leaf_groups(inputs)
    differ = z3.Or(*[ea != eb for _, ea, eb in hard])
    cone, conds = _cone(differ, leaves)
    sets: list[frozenset] = []

    def add(c) -> None:
        c = frozenset(g for g in c if g not in fixed)
        if c and c not in sets:
            sets.append(c)

    split = _differing_conditions(hard)
    depth: dict[str | tuple, int] = {}
    for c in split:
        for g, d in _depths(c, leaves).items():
            depth[g] = min(d, depth.get(g, d))
    for g in sorted(depth, key=lambda g: (depth[g], str(g))):
        add((g,))
    for c in sorted((_cone(c, leaves)[0] for c in split), key=len):
        add(c)
    for c in sorted(conds, key=lambda c: (len(c), sorted(map(str, c))))[:CONCOLIC_SETS]:
        add(c)
    for g in sorted(cone, key=str):
        add((g,))
    add(cone)
    return sets


def concolic(original: Sequence[Instruction], candidate: Sequence[Instruction], inputs: Inputs,
             hard: Sequence[tuple[str, z3.ExprRef, z3.ExprRef]], noalias: AliasFacts | Iterable[str],
             registers: Sequence[str], full: set[str], deadline: float,
             stats: dict | None = None) -> Counterexample | None:
    """A counterexample found on reduced problems (see above), or None by `deadline`."""
    import random

    from scheduler.checks.verify import enter_block, pointer_roots, random_state

    stats = {} if stats is None else stats
    differ = z3.Or(*[ea != eb for _, ea, eb in hard])
    facts = alias_facts(noalias)
    bases, unknown, indexes = pointer_roots(original, facts)
    # addresses stay concrete and inside the buffers
    t_start = time.perf_counter()
    sets = free_sets(hard, inputs, {"sp", *bases, *indexes})
    stats["concolic_sets"] = round(time.perf_counter() - t_start, 2)
    rng = random.Random(1)
    stats.setdefault("concolic_solves", 0)

    def attempt(st: MachineState, item: tuple, limit: float) -> tuple[z3.CheckSatResult, Counterexample | None]:
        """Solve one reduced problem; a model is replayed in the simulator."""
        _, _, free, t, free_regs, free_mem = item
        solver = z3.Solver()
        solver.set("timeout", max(1, int(min(deadline - time.perf_counter(), limit) * 1000)))
        solver.add(t)
        stats["concolic_solves"] += 1
        res = solver.check()
        if res != z3.sat:
            return res, None
        model = solver.model()
        trial = st.copy()
        for name, var in free_regs.items():
            trial.set(name, model.eval(var, model_completion=True).as_long())
        for addr, var in free_mem.items():
            trial.mem.load_bytes(addr, bytes([model.eval(var, model_completion=True).as_long()]))
        cex = replay(original, candidate, _explicit(original, candidate, trial), registers, full)
        if cex is not None:
            stats["concolic_free"] = sorted(g if isinstance(g, str) else f"load {g[1]}" for g in free)
        return res, cex

    for n in range(CONCOLIC_STATES):
        st = random_state(rng, 2 + n, bases, () if facts.entry is not None else indexes, facts.noalias)
        st = enter_block(st, rng, 2 + n, facts, unknown, indexes)
        # reduce each free set on this state: small reduced problems are solved at once,
        # the others afterwards, smallest first, with a short then a longer time limit
        deferred = []
        for i, free in enumerate(sets):
            if deadline - time.perf_counter() <= 0.05:
                return None
            t, free_regs, free_mem = _reduce(differ, inputs, st, free)
            if z3.is_false(t):
                continue
            item = (len(_nodes([t])), i, free, t, free_regs, free_mem)
            if item[0] <= CONCOLIC_SMALL:
                res, cex = attempt(st, item, CONCOLIC_LIMITS[-1])
                if cex is not None:
                    return cex
                if res == z3.unknown:
                    deferred.append(item)
            else:
                deferred.append(item)
        stats.setdefault("concolic_reduced", []).append(round(time.perf_counter() - t_start, 2))
        deferred.sort(key=lambda r: r[:2])
        for limit in CONCOLIC_LIMITS:
            undecided = []
            for item in deferred:
                if deadline - time.perf_counter() <= 0.05:
                    return None
                res, cex = attempt(st, item, limit)
                if cex is not None:
                    return cex
                if res == z3.unknown:
                    undecided.append(item)
            deferred = undecided
    return None


def _easy_locations(pairs, stats: dict) -> tuple[str, list[tuple[str, z3.ExprRef, z3.ExprRef]]]:
    """Count the locations proved structurally or by `z3.simplify`; the method so far and the rest."""
    remaining = []
    for loc, ea, eb in pairs:
        if ea.eq(eb):
            stats["structural"] += 1
        else:
            remaining.append((loc, ea, eb))
    method = "structural"
    hard = []
    for loc, ea, eb in remaining:
        if z3.simplify(ea).eq(z3.simplify(eb)):
            stats["simplify"] += 1
            method = "simplify"
        else:
            hard.append((loc, ea, eb))
    return method, hard


def _check(solver: z3.Solver, seconds: float, claim: z3.BoolRef) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
    """Check `claim` on top of the solver's assertions within `seconds`; the result and a model if sat."""
    solver.set("timeout", max(1, int(seconds * 1000)))
    solver.push()
    solver.add(claim)
    res = solver.check()
    model = solver.model() if res == z3.sat else None
    solver.pop()
    return res, model


@dataclass
class _Proof:
    """One `check_equivalence` run: the programs, what is compared, the clock and the stats."""

    original: Sequence[Instruction]
    candidate: Sequence[Instruction]
    noalias: AliasFacts | Iterable[str]
    outputs: Sequence[str] | None
    timeout: float
    t0: float
    inputs: Inputs
    registers: list[str]
    full: set[str]
    stats: dict

    def refuted(self, method: str, reason: str, locations: list[str], cex: Counterexample) -> SymbolicResult:
        self.stats["seconds"] = time.perf_counter() - self.t0
        return SymbolicResult("refuted", method, reason, locations, cex, self.stats)

    def replay_model(self, model: z3.ModelRef) -> Counterexample | None:
        return replay(self.original, self.candidate, initial_state(model, self.inputs), self.registers, self.full)

    def search(self, hard: list, accesses: list[Access]) -> tuple[SymbolicResult | None, list, z3.Solver | None]:
        """Random trials, one quick solve, the concolic search: a refutation, or the locations still open
        and the solver holding the no-alias assumptions."""
        # cheap falsification first: a few random states in the simulator
        cex = falsify(self.original, self.candidate, self.noalias, self.outputs, self.registers, self.full,
                      FALSIFY_TRIALS)
        if cex is not None:
            return self.refuted("random", f"{cex.location} differs (random trial)", [h[0] for h in hard],
                                cex), hard, None
        deadline = self.t0 + self.timeout
        solver = z3.Solver()
        solver.add(*assumptions(self.inputs, accesses))
        # one short look at "some output differs" as a whole: small problems end here
        differ = z3.Or(*[ea != eb for _, ea, eb in hard])
        res, model = _check(solver, min(QUICK_SOLVE, self.timeout / 10), differ)
        if res == z3.unsat:
            self.stats["smt"] += len(hard)
            hard = []
        elif model is not None:
            cex = self.replay_model(model)
            if cex is not None:
                return self.refuted("smt", f"{cex.location} differs for some inputs", [cex.location],
                                    cex), hard, solver
        if hard:
            # then the concolic search on reduced problems, for a share of the time
            cex = concolic(self.original, self.candidate, self.inputs, hard, self.noalias, self.registers,
                           self.full, min(deadline, time.perf_counter() + CONCOLIC_SHARE * self.timeout),
                           self.stats)
            if cex is not None:
                return self.refuted("concolic", f"{cex.location} differs (concolic search)",
                                    [h[0] for h in hard], cex), hard, solver
        return None, hard, solver

    def per_location(self, solver: z3.Solver, hard: list, unproved: list[str],
                     notes: list[str]) -> SymbolicResult | None:
        """The solver on each location left; a refutation, or None with `unproved` and `notes` filled."""
        deadline = self.t0 + self.timeout
        # two rounds: a short limit per location first (a refutation needs only one), then
        # the rest of the time for what is left
        todo = hard
        for round_ in (0, 1):
            left_over = []
            for loc, ea, eb in todo:
                left = deadline - time.perf_counter()
                if left <= 0:
                    left_over.append((loc, ea, eb))
                    continue
                limit = min(left, max(1.0, self.timeout / 10)) if round_ == 0 else left
                res, model = _check(solver, limit, ea != eb)
                if res == z3.unsat:
                    self.stats["smt"] += 1
                elif model is not None:
                    cex = self.replay_model(model)
                    if cex is not None:
                        return self.refuted("smt", f"{loc} differs for some inputs", [loc], cex)
                    unproved.append(loc)
                    notes.append(f"{loc}: the solver's model was not confirmed by simulation")
                else:
                    left_over.append((loc, ea, eb))
            todo = left_over
        unproved += [h[0] for h in todo]
        return None


def check_equivalence(original: Sequence[Instruction], candidate: Sequence[Instruction],
                      noalias: AliasFacts | Iterable[str] = (), outputs: Sequence[str] | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> SymbolicResult:
    """Prove or refute that `candidate` computes the same outputs as `original` for all inputs,
    cheapest method first; "unknown" when execution is unsupported or `timeout` (seconds) runs out."""
    t0 = time.perf_counter()
    inputs = Inputs(noalias)
    try:
        a = execute(original, inputs)
        b = execute(candidate, inputs)
    except Unsupported as u:
        return SymbolicResult("unknown", reason=str(u), unproved=["(all)"],
                              stats={"seconds": time.perf_counter() - t0, "unsupported": u.instr.form.key})
    registers, full = compared_registers(outputs)
    pairs = output_pairs(a, b, registers, full)
    t_exec = time.perf_counter() - t0
    stats = {"locations": len(pairs), "structural": 0, "simplify": 0, "smt": 0, "execute_seconds": t_exec}
    method, hard = _easy_locations(pairs, stats)
    unproved: list[str] = []
    notes: list[str] = []
    if hard:
        method = "smt"
        proof = _Proof(original, candidate, noalias, outputs, timeout, t0, inputs, registers, full, stats)
        refuted, hard, solver = proof.search(hard, [*a.accesses, *b.accesses])
        if refuted is None:
            refuted = proof.per_location(solver, hard, unproved, notes)
        if refuted is not None:
            return refuted
    stats["seconds"] = time.perf_counter() - t0
    if unproved:
        why = "; ".join(notes) if notes else f"time limit of {timeout:g} s reached (or the solver gave up)"
        return SymbolicResult("unknown", method, f"{len(unproved)} location(s) not proved: {why}",
                              unproved, None, stats)
    return SymbolicResult("proved", method, "", [], None, stats)
