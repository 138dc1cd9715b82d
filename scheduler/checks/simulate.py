"""Concrete execution of straight-line code, driven by the instruction table's semantics."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from scheduler.checks.state import MASK64, MachineState
from scheduler.core.errors import SchedulerError
from scheduler.frontend.ir import Instruction, Program
from scheduler.frontend.isa import bits as B
from scheduler.frontend.isa.operands import (
    COND_FLAGS,
    GPR,
    Cond,
    Extend,
    Imm,
    Mem,
    Operand,
    Shift,
    VElem,
    VReg,
)


class SimulationError(SchedulerError):
    """An instruction could not be executed concretely; the message starts with its source location."""

    def __init__(self, instr: Instruction, message: str):
        self.instr = instr
        super().__init__(f"{instr.loc}: {message}")


# Each condition as a 0/1 function of the flag bits, without Python branching, so the
# symbolic executor (scheduler/checks/symbolic.py) evaluates the same table over symbolic bits.
COND_EVAL = {
    "eq": lambda n, z, c, v: z, "ne": lambda n, z, c, v: z ^ 1,
    "hs": lambda n, z, c, v: c, "lo": lambda n, z, c, v: c ^ 1,
    "mi": lambda n, z, c, v: n, "pl": lambda n, z, c, v: n ^ 1,
    "vs": lambda n, z, c, v: v, "vc": lambda n, z, c, v: v ^ 1,
    "hi": lambda n, z, c, v: c & (z ^ 1), "ls": lambda n, z, c, v: (c & (z ^ 1)) ^ 1,
    "ge": lambda n, z, c, v: n ^ v ^ 1, "lt": lambda n, z, c, v: n ^ v,
    "gt": lambda n, z, c, v: (z ^ 1) & (n ^ v ^ 1), "le": lambda n, z, c, v: ((z ^ 1) & (n ^ v ^ 1)) ^ 1,
    "al": lambda n, z, c, v: 1, "nv": lambda n, z, c, v: 1,
}
assert set(COND_EVAL) == set(COND_FLAGS)


_MASKS = tuple((1 << bits) - 1 for bits in range(129))
_ELEM_BITS = {"b": 8, "h": 16, "s": 32, "d": 64}


class Context:
    """What instruction semantics see: operand reads/writes, flags, memory."""

    def __init__(self, state: MachineState):
        self.s = state

    # flags
    @property
    def nzcv(self) -> int:
        """The flags as a 4-bit int (N=8, Z=4, C=2, V=1)."""
        return self.s.nzcv

    @nzcv.setter
    def nzcv(self, value: int) -> None:
        """Set the flags from the low 4 bits of `value`."""
        self.s.nzcv = value & 0xF

    def cond(self, op: Operand) -> bool:
        """Whether condition `op` holds on the current flags."""
        assert isinstance(op, Cond)
        f = self.s.nzcv
        return bool(COND_EVAL[op.code]((f >> 3) & 1, (f >> 2) & 1, (f >> 1) & 1, f & 1))

    # registers
    def r(self, op: Operand) -> int:
        """Read a register, vector element or immediate operand, masked to its width (xzr reads 0)."""
        # the simulator's hottest path (verify runs every instruction 200 times per block):
        # the common operands first, masks from a table
        if isinstance(op, GPR):
            if op.num == 31:
                return self.s.sp & _MASKS[op.bits] if op.sp else 0
            return self.s.x[op.num] & _MASKS[op.bits]
        if isinstance(op, Imm):
            return op.value
        if isinstance(op, VReg):
            return self.s.v[op.num] & _MASKS[op.bits]
        if isinstance(op, VElem):
            size = _ELEM_BITS[op.size]
            return (self.s.v[op.num] >> (size * op.index)) & _MASKS[size]
        raise TypeError(f"cannot read operand {op!r}")

    def w(self, op: Operand, value: int) -> None:
        """Write `value` to a register or vector element operand (W writes zero-extend, writes to xzr are dropped)."""
        if isinstance(op, GPR):
            # A W write zero-extends into the X register.
            value &= _MASKS[op.bits]
            num = op.num
            if num == 31:
                if op.sp:
                    self.s.sp = value
                return
            self.s.x[num] = value
        elif isinstance(op, VReg):
            # Writes to a D/S view or a 64-bit arrangement clear the upper bits.
            self.s.v[op.num] = value & _MASKS[op.bits]
        elif isinstance(op, VElem):
            size = _ELEM_BITS[op.size]
            shift = size * op.index
            old = self.s.v[op.num] & ~(_MASKS[size] << shift)
            self.s.v[op.num] = old | ((value & _MASKS[size]) << shift)
        else:
            raise TypeError(f"cannot write operand {op!r}")

    # memory
    def addr(self, m: Mem) -> int:
        """The byte address memory operand `m` accesses (the base alone for post-index)."""
        base = self.r(GPR(m.base.num, 64, m.base.sp))
        if m.mode == "post":
            return base
        if m.index is not None:
            idx = self.r(m.index)
            mod = m.modifier
            if isinstance(mod, Extend):
                idx = B.extend(idx, mod.op, mod.amount or 0, 64)
            elif isinstance(mod, Shift):
                idx = B.shift(idx, mod.op, mod.amount, 64)
            return (base + idx) & MASK64
        return (base + m.offset) & MASK64

    def writeback(self, m: Mem) -> None:
        """Update the base register of a pre- or post-indexed operand by its offset."""
        if m.writeback:
            base = GPR(m.base.num, 64, m.base.sp)
            self.w(base, self.r(base) + m.offset)

    def load(self, addr: int, size: int) -> int:
        """Read `size` bytes little-endian at `addr`."""
        return self.s.mem.read(addr, size)

    def store(self, addr: int, size: int, value: int) -> None:
        """Write the low `size` bytes of `value` little-endian at `addr`."""
        self.s.mem.write(addr, size, value & B.mask(8 * size))


def step(state: MachineState, instr: Instruction) -> None:
    """Execute one instruction in place."""
    executor(state)(instr)


def _not_straight_line(instr: Instruction) -> SimulationError:
    return SimulationError(instr, f"cannot simulate '{instr}': control flow is outside straight-line code")


def executor(state: MachineState) -> Callable[[Instruction], None]:
    """`step` on `state` for many instructions: one Context for all of them (the semantics
    keep no state in it; a Context per instruction was a tenth of the simulator's time)."""
    ctx = Context(state)

    def execute(instr: Instruction) -> None:
        sem = instr.form.semantics
        if sem is None:
            raise _not_straight_line(instr)
        sem(ctx, instr.operands)
    return execute


def run_instructions(instrs: Iterable[Instruction], state: MachineState) -> MachineState:
    """Execute instructions in order from a copy of `state`; stops at `ret`."""
    s = state.copy()
    ctx = Context(s)  # one per run (see executor), inlined: the simulator's hottest loop
    for instr in instrs:
        sem = instr.form.semantics
        if sem is None:
            if instr.mnemonic == "ret":
                break
            raise _not_straight_line(instr)
        sem(ctx, instr.operands)
    return s


def run(program: Program, state: MachineState) -> MachineState:
    """Run a whole file's instructions in program order (labels and directives are no-ops)."""
    return run_instructions(program.instructions, state)
