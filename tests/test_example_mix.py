"""inputs/mix64_x2_reuse.s against Python integer arithmetic, and renaming's gain on it."""

from __future__ import annotations

import random

import pytest

from scheduler.checks.simulate import run
from scheduler.checks.state import MachineState, Memory
from scheduler.frontend.parse import parse_file
from tests.support import ROOT

KERNEL = ROOT / "inputs" / "mix64_x2_reuse.s"
M64 = (1 << 64) - 1
OUT = 0x10000


def mix(x: int, k: int, rounds: int = 75) -> int:
    for _ in range(rounds):
        x ^= x >> 29
        x = (x * k) & M64
    return x


@pytest.mark.parametrize("seed", range(8))
def test_mix_matches_python(seed):
    rng = random.Random(seed)
    a, b = rng.getrandbits(64), rng.getrandbits(64)
    k = rng.getrandbits(64) | 1
    if seed == 0:
        a, b, k = 0, M64, M64
    st = MachineState(mem=Memory(background_seed=seed))
    st.x = [rng.getrandbits(64) for _ in range(31)]
    st.x[0], st.x[1], st.x[2], st.x[5] = a, b, OUT, k
    out = run(parse_file(KERNEL), st)
    assert out.mem.read(OUT, 8) == mix(a, k)
    assert out.mem.read(OUT + 8, 8) == mix(b, k)
    assert out.x[0] == a and out.x[1] == b and out.x[5] == k  # inputs intact
    assert out.mem.writes == set(range(OUT, OUT + 16))
