"""Shared set-up for the big-integer tests of the example kernels: buffers at fixed
addresses (x0 = z, x1 = x, x2 = y), every other register and the flags random."""

from __future__ import annotations

import random

from scheduler.checks.state import MachineState, Memory

X_ADDR = 0x1000_0000
Y_ADDR = 0x2000_0000
Z_ADDR = 0x3000_0000
SP = 0x7FFF_0000  # 16-byte aligned
MASK64 = (1 << 64) - 1


def limbs(*words: int) -> int:
    """The integer whose little-endian 64-bit limbs are `words`."""
    return sum((w & MASK64) << (64 * i) for i, w in enumerate(words))


def kernel_state(x: int, y: int | None, nbytes: int, seed: int, simd: bool = False) -> MachineState:
    """x at X_ADDR, y (if any) at Y_ADDR, z pointer in x0; garbage elsewhere."""
    rng = random.Random(seed)
    st = MachineState(mem=Memory(background_seed=1))
    st.x = [rng.getrandbits(64) for _ in range(31)]
    if simd:
        st.v = [rng.getrandbits(128) for _ in range(32)]
    st.nzcv = rng.getrandbits(4)
    st.sp = SP
    st.x[0] = Z_ADDR
    st.x[1] = X_ADDR
    st.mem.load_bytes(X_ADDR, x.to_bytes(nbytes, "little"))
    if y is not None:
        st.x[2] = Y_ADDR
        st.mem.load_bytes(Y_ADDR, y.to_bytes(nbytes, "little"))
    return st


def assert_abi_clean(instrs) -> None:
    """AAPCS64 for a leaf kernel: x18, x29, x30 and v8-v15 are never written, and every
    callee-saved register written (x19-x28) is pushed first with `stp ..., [sp, #-16]!`."""
    text = [str(i) for i in instrs]
    never = {"x18", "x29", "x30", *(f"v{r}" for r in range(8, 16))}
    for ins in instrs:
        assert not (ins.writes & never), str(ins)
    pushed = {r for t in text if t.endswith("[sp, #-16]!") for r in t[4:].split("[")[0].replace(",", " ").split()}
    written = {r for ins in instrs for r in ins.writes if r in {f"x{i}" for i in range(19, 29)}}
    assert written <= pushed
