"""Randomized differential equivalence checking with the built-in simulator.

Both programs run from the same random initial state on every trial; afterwards
we compare all memory either of them wrote, the AAPCS64 callee-saved state
(x19-x29, sp, low halves of v8-v15) and the declared outputs (all registers and
flags when none are declared). Trials mix uniform random values with edge values
(0, 1, 2^63, all-ones, long runs of ones) in registers and memory, and in some
trials make base registers that may alias point at overlapping buffers.

A candidate that reads a register the original never reads before writing, or
memory the original never touched, is reported as a problem too: it depends on
state the original does not define.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scheduler.checks.simulate import run_instructions
from scheduler.checks.state import EDGE_WORDS, MASK64, MachineState, Memory
from scheduler.core.errors import SchedulerError
from scheduler.core.forked import in_two
from scheduler.frontend.abi import ALL_RESOURCES, GPR_RESOURCES
from scheduler.frontend.dag import AliasFacts, alias_facts, symbolic_addresses
from scheduler.frontend.ir import Directive, Instruction, Program

CALLEE_SAVED = tuple(f"x{i}" for i in range(19, 30)) + ("sp",)
CALLEE_SAVED_SIMD = tuple(f"v{i}" for i in range(8, 16))  # low 64 bits only
ALL_REGISTERS = ALL_RESOURCES


@dataclass
class Mismatch:
    """The first differing location of a trial: the original's and candidate's values and the initial state."""

    trial: int
    location: str  # "x3", "v1", "nzcv" or "mem[0x...]"
    expected: int  # the original's value
    actual: int  # the candidate's value
    initial: MachineState


@dataclass
class VerifyResult:
    """Outcome of random differential testing: trials run, the first mismatch or other problems."""

    trials: int
    mismatch: Mismatch | None = None
    problems: list[str] = field(default_factory=list)
    compared: tuple[str, ...] = ()

    @property
    def equivalent(self) -> bool:
        """True when no trial found a mismatch or other problem."""
        return self.mismatch is None and not self.problems


def straight_line(program: Program) -> list[Instruction]:
    """The instructions of a straight-line file up to `ret`; any other branch is an error."""
    out = []
    for instr in program.statements:
        if isinstance(instr, Directive) and instr.opaque_code:
            raise SchedulerError(f"{instr.loc}: '{instr}' puts code the tool cannot decode into the "
                                 "instruction stream: the file cannot be run or verified")
        if not isinstance(instr, Instruction):
            continue
        if instr.mnemonic == "ret":
            break
        if instr.is_branch:
            raise SchedulerError(
                f"{instr.loc}: '{instr}': only straight-line code (up to `ret`) can be run or verified")
        out.append(instr)
    return out


def segments(program: Program) -> tuple[list[list[Instruction]], list[Directive]]:
    """The straight-line code up to `ret` cut at each undecodable code directive: (segments,
    the directives between them); any other branch is an error, as in `straight_line`."""
    segs: list[list[Instruction]] = [[]]
    cuts: list[Directive] = []
    for stmt in program.statements:
        if isinstance(stmt, Directive) and stmt.opaque_code:
            cuts.append(stmt)
            segs.append([])
        elif isinstance(stmt, Instruction):
            if stmt.mnemonic == "ret":
                break
            if stmt.is_branch:
                raise SchedulerError(
                    f"{stmt.loc}: '{stmt}': only straight-line code (up to `ret`) can be run or verified")
            segs[-1].append(stmt)
    return segs, cuts


def live_ins(instrs: Sequence[Instruction]) -> set[str]:
    """Registers (and flags) read before being written."""
    written: set[str] = set()
    out: set[str] = set()
    for instr in instrs:
        out |= set(instr.reads) - written
        written |= set(instr.writes)
    return out


def pointer_registers(instrs: Sequence[Instruction]) -> tuple[set[str], set[str]]:
    """(incoming registers used as memory bases, incoming registers used as indexes), for code
    that starts at the function's entry."""
    bases, _, indexes = pointer_roots(instrs, AliasFacts())
    return bases, indexes


def pointer_roots(instrs: Sequence[Instruction], facts: AliasFacts) -> tuple[set[str], set[str], set[str]]:
    """(incoming registers whose values, plus constants, are memory bases; registers used as
    bases whose value at the block's entry is unknown (`facts`); registers used as indexes)."""
    bases: set[str] = set()
    unknown: set[str] = set()
    indexes: set[str] = set()
    written: set[str] = set()
    for instr, addr in zip(instrs, symbolic_addresses(instrs, facts), strict=True):
        if addr is not None and addr.root[0] in ("in", "entry"):
            (bases if addr.root[0] == "in" else unknown).add(addr.root[1])
        m = instr.mem
        if m is not None and m.index and m.index not in written:
            indexes.add(m.index)
        written |= set(instr.writes)
    return bases, unknown, indexes


def _edge_value(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.4:
        return rng.choice(EDGE_WORDS)
    if r < 0.5:
        run = rng.randrange(1, 64)
        return ((1 << run) - 1) << rng.randrange(0, 65 - run)
    return rng.getrandbits(64)


def random_state(
    rng: random.Random,
    trial: int,
    bases: Iterable[str] = (),
    indexes: Iterable[str] = (),
    noalias: Iterable[str] = (),
) -> MachineState:
    """Initial state for one trial. The first trials are the extreme ones."""
    if trial == 0:
        mode, reg = "fill:0x00", lambda: 0
    elif trial == 1:
        mode, reg = "fill:0xff", lambda: MASK64
    elif trial % 3 == 2:
        mode, reg = "words", lambda: _edge_value(rng)
    else:
        mode, reg = "bytes", lambda: rng.getrandbits(64)
    st = MachineState(mem=Memory(background_seed=rng.getrandbits(63), background_mode=mode))
    st.x = [reg() for _ in range(31)]
    st.v = [reg() | (reg() << 64) for _ in range(32)]
    st.nzcv = trial % 16
    # Pointers: distinct, 16-aligned, far apart, away from address 0 and from 2^64.
    bases = sorted(bases)
    for n, b in enumerate(bases):
        st.set(b, ((n + 1) << 32) + (rng.getrandbits(20) << 4))
    st.sp = ((len(bases) + 1) << 32) + (rng.getrandbits(20) << 4) + (1 << 24)
    others = [b for b in bases if b != "sp"]
    pairs = [(a, b) for a in others for b in others if a != b and not {a, b} <= set(noalias)]
    if trial % 4 == 3 and pairs:
        # Overlapping buffers: legal unless the user declared the pair no-alias.
        a, b = rng.choice(pairs)
        st.set(a, st.get(b) + 8 * rng.randrange(-4, 5))
    for r in indexes:
        st.set(r, rng.choice([0, 8, 16, 24, 32]))
    return st


def enter_block(st: MachineState, rng: random.Random, trial: int, facts: AliasFacts,
                unknown_bases: Iterable[str] = (), indexes: Iterable[str] = ()) -> MachineState:
    """`st` (the function's incoming state) carried to a block's entry as `facts` describe it:
    a register known as an incoming value plus a constant gets exactly that (plus a multiple of
    8 when the constant is unknown); one used as a base with nothing known gets a pointer of its
    own, which in every fourth trial overlaps another base (the stack included: nothing says it
    cannot)."""
    if facts.entry is None:
        return st
    incoming = st.copy()
    for reg in GPR_RESOURCES:
        v = facts.initial(reg)
        if v.root[0] == "in":
            plus = v.const if v.const is not None else 8 * rng.randrange(0, 16)
            st.set(reg, incoming.get(v.root[1]) + plus)
    unknown = sorted(unknown_bases)
    for n, r in enumerate(unknown):
        st.set(r, ((n + 64) << 32) + (rng.getrandbits(20) << 4))
    if trial % 4 == 3 and unknown:
        a = rng.choice(unknown)
        others = [r for r in GPR_RESOURCES if r != a and facts.initial(r).root[0] == "in"] + unknown
        others = [r for r in others if r != a]
        if others:
            st.set(a, st.get(rng.choice(others)) + 8 * rng.randrange(-4, 5))
    for r in indexes:
        st.set(r, rng.choice([0, 8, 16, 24, 32]))
    return st


def _observed(st: MachineState, loc: str) -> int:
    if loc.startswith("mem["):
        return st.mem.byte(int(loc[4:-1], 16))
    return st.get(loc)


def compare(orig: MachineState, cand: MachineState, registers: Sequence[str],
            full: Iterable[str] = (), output_map: dict[str, str] | None = None) -> str | None:
    """First differing location, in a fixed order (registers, then memory ascending).
    v8-v15 are compared on their low 64 bits (what AAPCS64 preserves) unless in `full`.
    `output_map`: outputs the candidate leaves in another register (original -> candidate)."""
    full = set(full)
    moved = output_map or {}
    for r in registers:
        c = moved.get(r, r)
        if r in CALLEE_SAVED_SIMD and r not in full:
            if orig.get(r) & MASK64 != cand.get(c) & MASK64:
                return r
        elif orig.get(r) != cand.get(c):
            return r
    for addr in sorted(orig.mem.writes | cand.mem.writes):
        if orig.mem.byte(addr) != cand.mem.byte(addr):
            return f"mem[{addr:#x}]"
    return None


def compared_registers(outputs: Sequence[str] | None) -> tuple[list[str], set[str]]:
    """(registers compared, those compared in full): the outputs (None: every register and
    the flags), then the callee-saved ones; callee-saved SIMD registers that are not outputs
    are compared in their low 64 bits only. verify, the prover and the execution check share it."""
    registers = list(outputs) if outputs is not None else list(ALL_REGISTERS)
    full = set(registers)
    for r in (*CALLEE_SAVED, *CALLEE_SAVED_SIMD):
        if r not in registers:
            registers.append(r)
    return registers, full


def verify(
    original: Sequence[Instruction],
    candidate: Sequence[Instruction],
    trials: int = 200,
    seed: int = 0,
    outputs: Sequence[str] | None = None,
    noalias: AliasFacts | Iterable[str] = (),
    output_map: dict[str, str] | None = None,
) -> VerifyResult:
    """Check `candidate` against `original` on `trials` random initial states.
    `outputs=None` compares every register and the flags; a list compares those
    (plus memory and the callee-saved registers, always). `noalias`: the registers declared
    no-alias, or the block's `AliasFacts` (its entry facts: states are built to match them)."""
    facts = alias_facts(noalias)
    registers, full = compared_registers(outputs)
    result = VerifyResult(trials=0, compared=tuple(registers))
    extra = live_ins(candidate) - live_ins(original)
    if extra:
        result.problems.append(
            "candidate reads registers the original never reads before writing: "
            + ", ".join(sorted(extra)))
    bases, unknown, indexes = pointer_roots(original, facts)
    rng = random.Random(seed)
    states = []  # drawn in trial order first: the runs themselves draw nothing
    for t in range(trials):
        st = random_state(rng, t, bases, () if facts.entry is not None else indexes, facts.noalias)
        states.append(enter_block(st, rng, t, facts, unknown, indexes))

    def trial(t: int) -> tuple[int | None, str | None, int, int]:
        """(the first address the candidate reads that the original never touches, the first
        differing location, the original's and the candidate's values there)."""
        a = run_instructions(original, states[t])
        b = run_instructions(candidate, states[t])
        stray = b.mem.reads - (a.mem.reads | a.mem.writes)
        loc = compare(a, b, registers, full, output_map)
        values = (_observed(a, loc), _observed(b, loc)) if loc is not None else (0, 0)
        return (min(stray) if stray else None, loc, *values)

    work = trials * (len(original) + len(candidate))
    for t, (stray, loc, expected, actual) in enumerate(in_two(trial, range(trials), work)):
        result.trials = t + 1
        if stray is not None and not any("memory" in p for p in result.problems):
            result.problems.append(
                f"candidate reads memory the original never touches (trial {t}, first at {stray:#x})")
        if loc is not None:
            result.mismatch = Mismatch(t, loc, expected, actual, states[t])
            break
    return result
