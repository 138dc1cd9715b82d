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


def load_script(path) -> object:
    """A generator script of inputs/ (not a package) as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pushed_bytes(prog) -> int:
    """Bytes a kernel pushes with `stp ..., [sp, #-16]!`."""
    return 16 * sum(str(i).startswith("stp") and str(i).endswith("[sp, #-16]!") for i in prog.instructions)


def run_montgomery(prog, st: MachineState, nbytes: int, two_inputs: bool, modulus: int) -> int:
    """z from one simulated run of a Montgomery kernel started in `st` (kernel_state), with its
    contract checked: memory touched only in the operands, the output and the pushed registers;
    x0, x18-x30, sp and v8-v15 kept; z fully reduced."""
    from scheduler.checks.simulate import run

    out = run(prog, st)
    out_bytes = set(range(Z_ADDR, Z_ADDR + nbytes))
    stack = set(range(SP - pushed_bytes(prog), SP))
    inputs = set(range(X_ADDR, X_ADDR + nbytes))
    if two_inputs:
        inputs |= set(range(Y_ADDR, Y_ADDR + nbytes))
    assert out.mem.writes <= out_bytes | stack, "wrote outside the output and the pushed registers"
    assert out_bytes <= out.mem.writes, "output not fully written"
    assert out.mem.reads <= inputs | stack, "read outside the inputs and the pushed registers"
    assert out.x[0] == st.x[0]
    for i in range(18, 31):
        assert out.x[i] == st.x[i], f"x{i} changed"
    assert out.sp == st.sp == SP
    assert out.v[8:16] == st.v[8:16], "v8-v15 changed"
    z = int.from_bytes(out.mem.dump(Z_ADDR, nbytes), "little")
    assert z < modulus, "output not fully reduced"
    return z
