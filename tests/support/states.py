"""Random machine states with the edge values that break arithmetic code."""

from __future__ import annotations

import random

from scheduler.checks.state import MachineState, Memory

EDGE64 = [0, 1, 2, (1 << 63), (1 << 64) - 1, (1 << 64) - 2, (1 << 32) - 1, 1 << 32,
          (1 << 63) - 1, 0xFFFFFFFF00000001, 0x8000000080000000]


def edge_or_random(rng: random.Random, bits: int = 64) -> int:
    r = rng.random()
    if r < 0.35:
        v = rng.choice(EDGE64)
        return v & ((1 << bits) - 1) if bits <= 64 else v | (rng.choice(EDGE64) << 64)
    if r < 0.45:
        # values that make carries propagate: long runs of ones
        run = rng.randrange(1, bits)
        return ((1 << run) - 1) << rng.randrange(0, bits - run + 1)
    return rng.getrandbits(bits)


def random_state(rng: random.Random, nzcv: int | None = None) -> MachineState:
    st = MachineState(mem=Memory(background_seed=rng.getrandbits(32)))
    st.x = [edge_or_random(rng) for _ in range(31)]
    st.v = [edge_or_random(rng, 128) for _ in range(32)]
    st.sp = rng.randrange(1 << 36, 1 << 40) & ~0xF
    st.nzcv = rng.getrandbits(4) if nzcv is None else nzcv
    return st


def point_bases(st: MachineState, instr, rng: random.Random) -> None:
    """Make the registers an instruction uses as an address hold plausible pointers."""
    m = instr.mem
    if m is None:
        return
    pointer = rng.randrange(1 << 36, 1 << 40) & ~0x7
    if m.base == "sp":
        st.sp = pointer & ~0xF
    else:
        st.set(m.base, pointer)
    if m.index:
        st.set(m.index, rng.choice([0, 1, 8, 24, 0xFFFFFFF8, (1 << 64) - 8]))
