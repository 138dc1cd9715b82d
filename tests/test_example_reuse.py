"""Big-integer test of inputs/mul_4x4_reuse.s: z[0..7] = x[0..3] * y[0..3].

The kernel is the register-starved version of the 4x4-limb multiplication
(every product goes through x8/x9, four rolling accumulators, y re-loaded in
pairs), the benchmark case for register renaming. It is run in our simulator
and its output buffer is compared with Python integer arithmetic.

Every run also checks the kernel's contract: x0, x1, x2 (the pointers),
x18-x30 and sp keep their values, only z is written (and all of it), and only
x and y are read. All other registers and NZCV start with random garbage and
memory outside the inputs reads as pseudo-random background bytes, so a
kernel that depended on uninitialised state would fail.
"""

from __future__ import annotations

import functools
import random

import pytest

from scheduler.checks.simulate import run
from scheduler.frontend.parse import parse_file
from tests.support import ROOT
from tests.support.bignum import SP, X_ADDR, Y_ADDR, Z_ADDR, kernel_state, limbs

KERNEL = ROOT / "inputs" / "mul_4x4_reuse.s"


B = 1 << 64
MASK64 = B - 1
N_RANDOM = 40



@functools.cache
def program():
    return parse_file(KERNEL)


def run_kernel(a: int, b: int, seed: int) -> int:
    st = kernel_state(a, b, 32, seed)
    before = list(st.x)

    out = run(program(), st)
    z = int.from_bytes(out.mem.dump(Z_ADDR, 64), "little")

    # memory discipline
    z_bytes = set(range(Z_ADDR, Z_ADDR + 64))
    may_read = set(range(X_ADDR, X_ADDR + 32)) | set(range(Y_ADDR, Y_ADDR + 32))
    assert out.mem.writes == z_bytes, "must write exactly z[0..7]"
    assert out.mem.reads <= may_read, "read outside x and y"

    # register discipline: pointers kept, x18-x30 and sp untouched
    assert (out.x[0], out.x[1], out.x[2]) == (Z_ADDR, X_ADDR, Y_ADDR)
    for i in range(18, 31):
        assert out.x[i] == before[i], f"x{i} changed"
    assert out.sp == SP
    return z


# ---------------------------------------------------------------------------
# cases

LIMB_POOL = [0, 1, 2, MASK64, MASK64 - 1, 1 << 63, (1 << 32) - 1, 1 << 32]

EDGE = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "limbmax": MASK64,
    "2^64": B,
    "ones": (1 << 256) - 1,
    "ones-1": (1 << 256) - 2,
    "top-bit": 1 << 255,
    "top-limbs": limbs(0, 0, MASK64, MASK64),
    "alt-ones": limbs(MASK64, 0, MASK64, 0),
    "alt-ones2": limbs(0, MASK64, 0, MASK64),
    "hi-bits": limbs(*[1 << 63] * 4),
}


def _random_cases() -> list:
    rng = random.Random(20240517)
    cases = [
        pytest.param(rng.getrandbits(256), rng.getrandbits(256), id=f"rand{i:02d}")
        for i in range(N_RANDOM)
    ]
    # random limbs with sizes all over the place (short operands, sparse high limbs)
    for i in range(10):
        a = rng.getrandbits(rng.randrange(1, 257))
        b = rng.getrandbits(rng.randrange(1, 257))
        cases.append(pytest.param(a, b, id=f"randlen{i:02d}"))
    # limbs drawn from carry-breaking special values
    for i in range(10):
        a = limbs(*(rng.choice(LIMB_POOL) for _ in range(4)))
        b = limbs(*(rng.choice(LIMB_POOL) for _ in range(4)))
        cases.append(pytest.param(a, b, id=f"limbpat{i:02d}"))
    return cases


def _edge_cases() -> list:
    return [pytest.param(a, b, id=f"{na}*{nb}") for na, a in EDGE.items() for nb, b in EDGE.items()]


@pytest.mark.parametrize("a, b", _random_cases() + _edge_cases())
def test_mul_4x4_reuse(a, b):
    assert run_kernel(a, b, seed=a ^ (b << 1)) == a * b


def test_max_product_top_limb():
    """(2^256-1)^2 = 2^512 - 2^257 + 1: every carry chain saturates."""
    ones = (1 << 256) - 1
    z = run_kernel(ones, ones, seed=7)
    assert z == (1 << 512) - (1 << 257) + 1
    assert z >> 448 == MASK64 and z & MASK64 == 1


def test_single_limb_products():
    """x_i * y_j alone lands in limbs i+j and i+j+1 for every (i, j)."""
    for i in range(4):
        for j in range(4):
            a = MASK64 << (64 * i)
            b = MASK64 << (64 * j)
            assert run_kernel(a, b, seed=16 * i + j) == a * b, (i, j)


def test_kernel_shape():
    """The kernel is the register-starved form the renaming benchmark expects."""
    prog = program()
    instrs = prog.instructions
    assert prog.noalias == frozenset({"x0", "x1", "x2"})
    assert len(prog.blocks()) == 1
    assert instrs[-1].mnemonic == "ret"
    muls = [i for i in instrs if i.mnemonic in ("mul", "umulh")]
    assert len(muls) == 32
    # every product half goes into x8 (mul) or x9 (umulh)
    text = KERNEL.read_text()
    for line in text.splitlines():
        code = line.split("//")[0].split()
        if code and code[0] in ("mul", "umulh"):
            assert code[1].rstrip(",") == ("x8" if code[0] == "mul" else "x9"), line
