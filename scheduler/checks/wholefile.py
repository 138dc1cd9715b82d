"""The whole-file check: both files run from the function's entry, through every branch, loop
and call, and must end the same.

Block-level checks (`verify`, the certificate, the prover) check one block under assumptions
taken from the control-flow analysis (`frontend/cfg.py`): which registers are live after the
block and what is known of its registers at its entry. This check assumes none of that. It
runs the original and the candidate file in the simulator from the same random states of the
function's entry, with real control flow:

* execution starts at the file's entry (its first exported label, else its first instruction)
  with x30 = a return address outside the file; `ret` to it ends the run;
* `bl`/`blr` to a label of the file is a real call (x30 = a marker of the call site, the same in
  both files); a call of code outside the file (`bl` to an undefined label, `blr`, a tail call
  `b`/`br` out of the file) runs a stub that reads every register and the flags, writes a
  fingerprint of them to a call log in memory and returns it in x0 (a tail call then ends the
  run);
* a run stops at the first branch after `max_steps` instructions if it has not ended (a loop
  whose count comes from a random register); some trials give the registers small values so
  that such loops end.

Both runs must take the same path (the same branch decisions) and leave the same memory
(call log included); runs that ended must also agree on the outputs and the callee-saved
registers (the outputs rule, as `verify` compares them). Liveness and alias facts play no part,
so a wrong fact shows up as a difference here.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from scheduler.checks.simulate import COND_EVAL, executor
from scheduler.checks.state import MASK64, MachineState
from scheduler.checks.verify import (
    Mismatch,
    compare,
    compared_registers,
    pointer_roots,
    random_state,
)
from scheduler.core.errors import SchedulerError
from scheduler.core.forked import in_two
from scheduler.frontend.cfg import BLOCK, block_contexts, build
from scheduler.frontend.ir import Directive, Instruction, Label, Program
from scheduler.frontend.isa.operands import CONDITIONS, GPR, Imm, Sym

EXIT = 0x00E7_17E7_0000_0000  # the caller's return address: `ret` to it ends the run
CALL_MARK = 0x00CA_11CA_0000_0000  # + call-site ordinal: return address of a local call
CALL_LOG = 0x00C0_FFEE_0000_0000  # the stubs' call log (8 bytes a call)
DEFAULT_STEPS = 200_000


Stub = Callable[[MachineState, str, int], None]  # (state, callee name, calls so far)


class CannotRun(SchedulerError):
    """The file cannot be run as a whole (undecodable code bytes): the check is not possible."""


@dataclass
class Run:
    """One simulated run of a file: the final state, the branches taken and whether it returned to the caller."""

    state: MachineState
    path: list[tuple[int, bool]] = field(default_factory=list)  # (branch ordinal, taken)
    ended: bool = False  # reached the caller's return address (else stopped at the step limit)
    steps: int = 0
    calls: int = 0


@dataclass
class WholeFileResult:
    """Outcome of the whole-file check: trials, how many ended, the first mismatch or problem, or why it did not run."""

    trials: int = 0
    ended: int = 0  # trials whose original run ended within the step limit
    mismatch: Mismatch | None = None
    problem: str = ""
    not_run: str = ""  # why the check could not run ("" when it ran)

    @property
    def equivalent(self) -> bool:
        """True when no trial found a mismatch or other problem."""
        return self.mismatch is None and not self.problem


# ------------------------------------------------------------------ the program as code

@dataclass
class Code:
    """A file's instructions in order, with branch targets resolved to instruction indexes."""

    ops: list[Instruction]
    targets: dict[int, int | None]  # branch op index -> target op index (None: outside the file)
    ordinals: dict[int, int]  # branch op index -> its ordinal among the branches
    entry: int


def code_of(program: Program) -> Code:
    """The file's instructions as `Code`: branch targets and ordinals, and the entry instruction index.
    Raises CannotRun when a directive puts undecodable code into the file."""
    ops: list[Instruction] = []
    labels: list[tuple[str, int, int]] = []  # (name, statement index, next op index)
    for i, s in enumerate(program.statements):
        if isinstance(s, Instruction):
            ops.append(s)
        elif isinstance(s, Label):
            labels.append((s.name, i, len(ops)))
        elif isinstance(s, Directive) and s.opaque_code:
            raise CannotRun(f"{s.loc}: '{s}' puts code the tool cannot decode into the file")
    stmt_of = {id(s): i for i, s in enumerate(program.statements)}
    targets: dict[int, int | None] = {}
    ordinals: dict[int, int] = {}
    for k, ins in enumerate(ops):
        if ins.is_branch:
            ordinals[k] = len(ordinals)
            sym = next((o for o in ins.operands if isinstance(o, Sym)), None)
            targets[k] = _resolve(sym.name, stmt_of[id(ins)], labels) if sym else None
    g = build(program)
    entry_unit = g.entries[0] if g.entries else 0
    entry_stmt = g.units[entry_unit].stmt if entry_unit < len(g.units) else len(program.statements)
    entry = sum(1 for s in program.statements[:entry_stmt] if isinstance(s, Instruction))
    return Code(ops, targets, ordinals, entry)


def _resolve(name: str, at: int, labels: list[tuple[str, int, int]]) -> int | None:
    m = re.fullmatch(r"(\d+)([bf])", name)
    if m:
        back = m.group(2) == "b"
        hits = [op for n, s, op in labels if n == m.group(1) and (s < at if back else s > at)]
        return (hits[-1] if back else hits[0]) if hits else None
    return next((op for n, _, op in labels if n == name), None)


# ------------------------------------------------------------------ running

def _stub(st: MachineState, name: str, calls: int, call_reads: Iterable[str] | None) -> None:
    """An external callee: reads the registers (all, or `call_reads`), logs a fingerprint, returns it in x0."""
    names = list(call_reads) if call_reads is not None else (
        [f"x{i}" for i in range(31)] + ["sp"] + [f"v{i}" for i in range(32)] + ["nzcv"])
    h = hashlib.blake2b(name.encode(), digest_size=8)
    for r in names:
        h.update(r.encode() + st.get(r).to_bytes(16, "little"))
    fingerprint = int.from_bytes(h.digest(), "little")
    st.mem.write(CALL_LOG + 8 * calls, 8, fingerprint)
    st.set("x0", fingerprint)


def _taken(st: MachineState, ins: Instruction) -> bool:
    m = ins.mnemonic.lower()
    if m.startswith("b."):
        f = st.nzcv
        code = CONDITIONS[m[2:]]
        return bool(COND_EVAL[code]((f >> 3) & 1, (f >> 2) & 1, (f >> 1) & 1, f & 1))
    reg = ins.operands[0]
    assert isinstance(reg, GPR)
    value = st.get(f"x{reg.num}") & (MASK64 if reg.bits == 64 else 0xFFFFFFFF) if reg.num != 31 else 0
    if m in ("cbz", "cbnz"):
        return (value == 0) == (m == "cbz")
    bit = ins.operands[1]
    assert isinstance(bit, Imm)
    return bool((value >> bit.value) & 1) == (m == "tbnz")


def run_file(code: Code, state: MachineState, max_steps: int = DEFAULT_STEPS,
             call_reads: Iterable[str] | None = None, stub: Stub | None = None,
             exit_address: int = EXIT, call_mark: int = CALL_MARK, call_stride: int = 1) -> Run:
    """Run `code` from its entry on a copy of `state` (x30 is set to the caller's return address).
    `stub(state, name, calls)` plays an external callee (default: the fingerprint stub);
    `exit_address` and `call_mark + call_stride * ordinal` are the return addresses the run
    uses (the qemu check passes its own trampolines' addresses, so both see the same values)."""
    st = state.copy()
    st.set("x30", exit_address)
    if stub is None:
        stub = lambda s, name, calls: _stub(s, name, calls, call_reads)  # noqa: E731
    marks = (exit_address, call_mark, call_stride)
    run = Run(st)
    pc = code.entry
    call_sites = {o: k for k, o in code.ordinals.items()}
    step = executor(st)
    while 0 <= pc < len(code.ops):
        ins = code.ops[pc]
        if not ins.is_branch:
            step(ins)
            run.steps += 1
            pc += 1
            continue
        if run.steps >= max_steps:
            return run
        run.steps += 1  # branches count: `0: b 0b` must stop too
        pc = _branch(code, run, pc, ins, call_sites, stub, marks)
        if pc < 0:
            run.ended = pc == -1
            return run
    run.ended = True  # fell off the end of the file
    return run


def _branch(code: Code, run: Run, pc: int, ins: Instruction, call_sites: dict[int, int],
            stub: Stub, marks: tuple[int, int, int]) -> int:
    """Execute the branch at `pc`; the next pc, -1 when the run ended, -2 when it left to unknown code."""
    st, m = run.state, ins.mnemonic.lower()
    exit_address, call_mark, stride = marks
    ordinal = code.ordinals[pc]
    target = code.targets.get(pc)
    if m in ("ret", "br"):
        reg = ins.operands[0] if ins.operands else GPR(30, 64)
        assert isinstance(reg, GPR)
        to = st.get(f"x{reg.num}")
        run.path.append((ordinal, True))
        if to == exit_address:
            return -1
        if call_mark <= to < call_mark + stride * len(call_sites) and (to - call_mark) % stride == 0:
            return call_sites[(to - call_mark) // stride] + 1
        if m == "br":  # a computed jump or tail call out of the file
            stub(st, f"*{to:#x}", run.calls)
            run.calls += 1
        return -2
    if m in ("bl", "blr"):
        run.path.append((ordinal, True))
        if m == "bl" and target is not None:
            st.set("x30", call_mark + stride * ordinal)
            return target
        name = str(ins.operands[0])
        st.set("x30", call_mark + stride * ordinal)
        stub(st, name, run.calls)
        run.calls += 1
        return pc + 1
    taken = True if m == "b" else _taken(st, ins)
    run.path.append((ordinal, taken))
    if not taken:
        return pc + 1
    if target is None:  # a tail call out of the file
        stub(st, str(next(o for o in ins.operands if isinstance(o, Sym))), run.calls)
        run.calls += 1
        return -1
    return target


# ------------------------------------------------------------------ the check

def incoming_pointers(program: Program, noalias: Iterable[str] = ()) -> tuple[set[str], set[str]]:
    """(incoming registers any block uses as a base, plus a constant; registers used as
    indexes), from every block under its entry facts."""
    bases: set[str] = set()
    indexes: set[str] = set()
    contexts = block_contexts(program, (), noalias)
    for block, ctx in zip(program.blocks(), contexts, strict=True):
        b, _, ix = pointer_roots(block.instructions, ctx.facts)
        bases |= b
        if ctx.entered_at_function_entry:
            indexes |= ix
    return bases, indexes


def small_values(st: MachineState, rng: random.Random, trial: int, bases, keep: Iterable[int] = ()) -> None:
    """Every fifth trial, registers that are not pointers (nor in `keep`) get values 0-8, so
    that loops counted by an incoming register end (the simulator's and the qemu check's rule)."""
    if trial % 5 == 4:
        for i in range(31):
            if f"x{i}" not in bases and i not in keep:
                st.x[i] = rng.randrange(0, 9)


def _initial(rng: random.Random, t: int, bases, indexes, noalias) -> MachineState:
    st = random_state(rng, t, bases, indexes, noalias)
    small_values(st, rng, t, bases)
    return st


def check_files(original: Program, candidate: Program, trials: int = 32, seed: int = 0,
                outputs: Sequence[str] | None = None, noalias: Iterable[str] = (),
                max_steps: int = DEFAULT_STEPS, call_reads: Iterable[str] | None = None,
                output_map: dict[str, str] | None = None) -> WholeFileResult:
    """Run both files from the same random states of the function's entry and compare.
    `output_map`: outputs the candidate leaves in another register (`--rename-outputs`)."""
    result = WholeFileResult()
    try:
        code_a, code_b = code_of(original), code_of(candidate)
    except CannotRun as e:
        result.not_run = str(e)
        return result
    noalias = frozenset(noalias) | original.noalias
    bases, indexes = incoming_pointers(original, noalias)
    registers, full = compared_registers(outputs)
    rng = random.Random(seed)
    states = [_initial(rng, t, bases, indexes, noalias) for t in range(trials)]  # the runs draw nothing

    def trial(t: int) -> tuple[bool, int | None, str | None, int, int]:
        """(the original's run ended, the first branch where the paths differ, the first
        differing location, the original's and the candidate's values there)."""
        a = run_file(code_a, states[t], max_steps, call_reads)
        b = run_file(code_b, states[t], max_steps, call_reads)
        if a.path != b.path:
            pairs = enumerate(zip(a.path, b.path, strict=False))
            return a.ended, next((i for i, (x, y) in pairs if x != y), min(len(a.path), len(b.path))), None, 0, 0
        loc = compare(a.state, b.state, registers if a.ended and b.ended else [], full, output_map)
        if loc is None:
            return a.ended, None, None, 0, 0
        moved = (output_map or {}).get(loc, loc)
        return a.ended, None, loc, _observed(a.state, loc), _observed(b.state, moved)

    work = trials * (len(code_a.ops) + len(code_b.ops))
    for t, (ended, branch, loc, expected, actual) in enumerate(in_two(trial, range(trials), work)):
        result.trials = t + 1
        result.ended += ended
        if branch is not None:
            result.problem = f"trial {t}: the two files take different paths at the {branch + 1}th branch executed"
            result.mismatch = Mismatch(t, "control flow", branch, branch, states[t])
            return result
        if loc is not None:
            result.mismatch = Mismatch(t, loc, expected, actual, states[t])
            return result
    return result


def _observed(st: MachineState, loc: str) -> int:
    if loc.startswith("mem["):
        return st.mem.byte(int(loc[4:-1], 16))
    return st.get(loc)


def is_single_block(program: Program) -> bool:
    """Whether the file has at most one basic block (so the block-level checks already cover it)."""
    return sum(1 for u in build(program).units if u.kind == BLOCK) <= 1
