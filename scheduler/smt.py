"""Equivalence of two straight-line programs for all inputs, bit-precisely.

Both programs run symbolically (`scheduler.symbolic`) from the same initial state.
Every output location is then compared, cheapest first:

1. structural identity of the z3 terms (hash-consed: a reordering with renaming
   computes identical terms, no solver involved);
2. identity after `z3.simplify` (light normalisation: commuted operands, constant
   folding, `x + x` vs `x << 1`, ...);
3. the SMT solver on what remains, under the no-alias assumptions, within a time
   limit. A model of `original != candidate` becomes a concrete initial state
   (registers, flags, memory bytes) that is replayed in the simulator; it is
   reported as a counterexample only if the simulator confirms the difference.

Outputs are what `verify` compares: every memory byte either program writes, the
declared output registers (all registers and the flags when none are declared),
and the callee-saved registers (low 64 bits of v8-v15).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import z3

from .ir import Instruction
from .simulate import run_instructions
from .state import MachineState, Memory
from .symbolic import Access, Addr, Inputs, SymState, Unsupported, execute, term
from .verify import (
    ALL_REGISTERS,
    CALLEE_SAVED,
    CALLEE_SAVED_SIMD,
    compare,
    live_ins,
    verify,
)

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
        return {"location": self.location, "original": hex(self.original), "candidate": hex(self.candidate),
                "registers": {r: hex(v) for r, v in self.registers.items()},
                "memory": [{"address": hex(a), "bytes": b.hex(),
                            "value_le": hex(int.from_bytes(b, "little"))} for a, b in self.memory]}

    def lines(self) -> list[str]:
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
    status: str  # "proved", "refuted" or "unknown"
    method: str = ""  # the strongest step needed: "structural", "simplify", "smt" ("random": refuted by a trial)
    reason: str = ""
    unproved: list[str] = field(default_factory=list)
    counterexample: Counterexample | None = None
    stats: dict = field(default_factory=dict)


def compared_registers(outputs: Sequence[str] | None) -> tuple[list[str], set[str]]:
    """(registers compared, registers compared in full) - the same rule as `verify.verify`."""
    registers = list(outputs) if outputs is not None else list(ALL_REGISTERS)
    full = set(registers)
    for r in (*CALLEE_SAVED, *CALLEE_SAVED_SIMD):
        if r not in registers:
            registers.append(r)
    return registers, full


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
    st.x = [ev(x) for x in inputs.x]
    st.sp = ev(inputs.sp)
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


def falsify(original: Sequence[Instruction], candidate: Sequence[Instruction], noalias: Iterable[str],
            outputs: Sequence[str] | None, registers: Sequence[str], full: set[str],
            trials: int) -> Counterexample | None:
    """A counterexample from `verify`'s random states, made explicit (the memory bytes
    either program reads are written into the state) and replayed."""
    res = verify(original, candidate, trials=trials, seed=0, outputs=outputs, noalias=noalias)
    if res.mismatch is None:
        return None
    st = res.mismatch.initial
    touched = set()
    for prog in (original, candidate):
        run = run_instructions(prog, st)
        touched |= run.mem.reads
    explicit = MachineState(list(st.x), st.sp, list(st.v), st.nzcv, Memory(background_seed=None))
    for addr in touched:
        explicit.mem.load_bytes(addr, bytes([st.mem.byte(addr)]))
    return replay(original, candidate, explicit, registers, full)


def check_equivalence(original: Sequence[Instruction], candidate: Sequence[Instruction],
                      noalias: Iterable[str] = (), outputs: Sequence[str] | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> SymbolicResult:
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
    unproved: list[str] = []
    notes: list[str] = []
    if hard:
        method = "smt"
        # cheap falsification first: a few random states in the simulator
        cex = falsify(original, candidate, noalias, outputs, registers, full, FALSIFY_TRIALS)
        if cex is not None:
            stats["seconds"] = time.perf_counter() - t0
            return SymbolicResult("refuted", "random", f"{cex.location} differs (random trial)",
                                  [h[0] for h in hard], cex, stats)
        deadline = t0 + timeout
        solver = z3.Solver()
        solver.add(*assumptions(inputs, [*a.accesses, *b.accesses]))
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
                limit = min(left, max(1.0, timeout / 10)) if round_ == 0 else left
                solver.set("timeout", max(1, int(limit * 1000)))
                solver.push()
                solver.add(ea != eb)
                res = solver.check()
                model = solver.model() if res == z3.sat else None
                solver.pop()
                if res == z3.unsat:
                    stats["smt"] += 1
                elif model is not None:
                    cex = replay(original, candidate, initial_state(model, inputs), registers, full)
                    if cex is not None:
                        stats["seconds"] = time.perf_counter() - t0
                        return SymbolicResult("refuted", "smt", f"{loc} differs for some inputs",
                                              [loc], cex, stats)
                    unproved.append(loc)
                    notes.append(f"{loc}: the solver's model was not confirmed by simulation")
                else:
                    left_over.append((loc, ea, eb))
            todo = left_over
        unproved += [h[0] for h in todo]
    stats["seconds"] = time.perf_counter() - t0
    if unproved:
        why = "; ".join(notes) if notes else f"time limit of {timeout:g} s reached (or the solver gave up)"
        return SymbolicResult("unknown", method, f"{len(unproved)} location(s) not proved: {why}",
                              unproved, None, stats)
    return SymbolicResult("proved", method, "", [], None, stats)
