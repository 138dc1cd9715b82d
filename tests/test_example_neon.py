"""Big-integer test of the NEON-assisted example kernel inputs/mul_8x8_neon.s.

The kernel computes z[0..15] = x[0..7] * y[0..7] (512 x 512 -> 1024 bits,
little-endian 64-bit limbs; x0 = z, x1 = x, x2 = y). Part of the 64 limb
products is computed on NEON and moved to the scalar side with
`mov xN, vM.d[i]`, so a simulator bug in any of the vector forms shows up as a
wrong product here.

Each case is parsed and run in our simulator and compared with Python integer
arithmetic. Every run also checks the kernel's contract: x0-x2 are preserved,
exactly the 128 bytes of z are written, only x and y are read, and x18-x30,
sp and v8-v15 keep their values. All other registers and NZCV start with
random garbage and z starts as pseudo-random background memory, so a kernel
(or simulator) that depended on uninitialised state would fail.
"""

from __future__ import annotations

import functools
import random

import pytest

from scheduler.checks.simulate import run
from scheduler.checks.state import MachineState
from scheduler.frontend.parse import parse_file
from tests.support import ROOT
from tests.support.bignum import SP, X_ADDR, Y_ADDR, Z_ADDR, kernel_state, limbs

KERNEL = ROOT / "inputs" / "mul_8x8_neon.s"


NLIMBS = 8
MASK64 = (1 << 64) - 1
ONES = (1 << 512) - 1
N_RANDOM = 30


@functools.cache
def program():
    return parse_file(KERNEL)



def make_state(a: int, b: int, seed: int) -> MachineState:
    return kernel_state(a, b, 8 * NLIMBS, seed, simd=True)


def run_mul(a: int, b: int, seed: int) -> int:
    st = make_state(a, b, seed)
    out = run(program(), st)
    z = int.from_bytes(out.mem.dump(Z_ADDR, 16 * 8), "little")

    # memory discipline
    z_bytes = set(range(Z_ADDR, Z_ADDR + 16 * 8))
    inputs = set(range(X_ADDR, X_ADDR + 8 * NLIMBS)) | set(range(Y_ADDR, Y_ADDR + 8 * NLIMBS))
    assert out.mem.writes == z_bytes, "must write exactly z[0..15]"
    assert out.mem.reads <= inputs, "read outside x and y"
    assert out.mem.dump(X_ADDR, 64) == a.to_bytes(64, "little")
    assert out.mem.dump(Y_ADDR, 64) == b.to_bytes(64, "little")

    # register discipline
    assert out.x[0:3] == [Z_ADDR, X_ADDR, Y_ADDR], "x0-x2 must be preserved"
    for i in range(18, 31):
        assert out.x[i] == st.x[i], f"x{i} changed"
    for i in range(8, 16):
        assert out.v[i] == st.v[i], f"v{i} changed"
    assert out.sp == SP
    return z


# ---------------------------------------------------------------------------
# input cases


def _cases() -> list:
    cases = [
        pytest.param(0, 0, id="zero*zero"),
        pytest.param(0, ONES, id="zero*ones"),
        pytest.param(ONES, 0, id="ones*zero"),
        pytest.param(1, 1, id="one*one"),
        pytest.param(1, ONES, id="one*ones"),
        pytest.param(ONES, 1, id="ones*one"),
        pytest.param(ONES, ONES, id="ones*ones"),
        pytest.param(ONES, ONES - 1, id="ones*ones-1"),
        pytest.param(1 << 511, 1 << 511, id="topbit*topbit"),
        pytest.param(limbs(*[1 << 63] * 8), ONES, id="limb-topbits*ones"),
        pytest.param(limbs(*[0xFFFFFFFF] * 8), limbs(*[0xFFFFFFFF00000000] * 8), id="lo32*hi32"),
        pytest.param(limbs(*[MASK64, 0] * 4), limbs(*[0, MASK64] * 4), id="alt-ones"),
    ]
    # a single all-ones limb in one operand, all-ones in the other; and the
    # pair of single limbs that lands on every NEON/scalar product position
    for i in range(NLIMBS):
        cases.append(pytest.param(MASK64 << (64 * i), ONES, id=f"limb{i}*ones"))
        cases.append(pytest.param(ONES, MASK64 << (64 * i), id=f"ones*limb{i}"))
        cases.append(pytest.param(1 << (64 * i), ONES, id=f"unit{i}*ones"))
        j = (i + 3) % NLIMBS
        cases.append(
            pytest.param(MASK64 << (64 * i), MASK64 << (64 * j), id=f"limb{i}*limb{j}")
        )
    rng = random.Random(808)
    for k in range(N_RANDOM):
        cases.append(pytest.param(rng.getrandbits(512), rng.getrandbits(512), id=f"rand{k:02d}"))
    pool = [0, 1, MASK64, MASK64 - 1, 1 << 63, 0xFFFFFFFF, 1 << 32, 0xFFFFFFFF00000000]
    for k in range(10):
        a = limbs(*(rng.choice(pool) for _ in range(NLIMBS)))
        b = limbs(*(rng.choice(pool) for _ in range(NLIMBS)))
        cases.append(pytest.param(a, b, id=f"limbpat{k:02d}"))
    return cases


@pytest.mark.parametrize(("a", "b"), _cases())
def test_mul_8x8_neon(a, b):
    assert run_mul(a, b, seed=(a ^ b) & 0xFFFF_FFFF) == a * b


def test_mul_8x8_neon_uses_vector_products():
    """The kernel really offloads products to NEON: the 64x64 products are
    built from umull/umull2 partial products and read back with mov x, v.d[i]."""
    mnemonics = [ins.mnemonic for ins in program().instructions]
    assert mnemonics[-1] == "ret"
    for m in ("umull", "umull2", "umlal", "umlal2", "usra", "sli", "uzp1", "uzp2",
              "rev64", "uaddlp", "shl", "xtn", "movi", "and"):
        assert m in mnemonics, m
    assert mnemonics.count("umulh") == 48  # 44 full scalar products + 4 high halves
    assert mnemonics.count("mov") == 36  # 16 NEON products x (lo, hi) + 4 low halves
    assert 300 <= len(mnemonics) <= 600
