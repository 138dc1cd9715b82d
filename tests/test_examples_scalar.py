"""Big-integer tests of the four scalar example kernels in inputs/.

Each kernel is parsed and run in our simulator, and its output buffer is
compared with Python integer arithmetic:

* mul_4x4.s        z[0..7]  = x[0..3] * y[0..3]
* sqr_4x4.s        z[0..7]  = x[0..3]^2
* montmul_p256.S   z[0..3]  = x * y * 2^-256 mod p256, fully reduced
* mul_6x6_stack.s  z[0..11] = x[0..5] * y[0..5], with callee-saved pushes/pops
                   and stack spills

Besides the value, every run checks the kernel's contract: x0 is preserved,
only z (and, for the stack kernel, its own 80-byte frame below sp) is
written, only x, y (and that frame) are read, every byte of z is written, and
registers the kernel promises not to touch (x18-x30, sp) keep their values.
All other registers and NZCV start with random garbage and memory that is not
an input reads as pseudo-random background bytes, so a kernel that depended
on uninitialised state would fail.
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

INPUTS = ROOT / "inputs"

STACK_FRAME = 80  # mul_6x6_stack: 3 pairs of callee-saved registers + 32-byte spill area

B = 1 << 64
MASK64 = B - 1
P256 = 2**256 - 2**224 + 2**192 + 2**96 - 1
R256_INV = pow(2**256, -1, P256)

N_RANDOM = 50


@functools.cache
def program(name: str):
    return parse_file(INPUTS / name)



def make_state(x: int, y: int | None, nx: int, seed: int) -> MachineState:
    """x at X_ADDR (pointer in x1), y at Y_ADDR (pointer in x2), z pointer in x0."""
    return kernel_state(x, y, 8 * nx, seed)


def run_kernel(
    name: str,
    x: int,
    y: int | None,
    nx: int,
    nz: int,
    seed: int,
    frame: int = 0,
) -> tuple[MachineState, MachineState, int]:
    """Run `name` on x (and y) and check the memory/register contract.

    `frame` is the number of bytes below sp the kernel may use.
    Returns (state before, state after, z as an int).
    """
    st = make_state(x, y, nx, seed)
    out = run(program(name), st)
    z = int.from_bytes(out.mem.dump(Z_ADDR, 8 * nz), "little")

    # memory discipline
    z_bytes = set(range(Z_ADDR, Z_ADDR + 8 * nz))
    frame_bytes = set(range(SP - frame, SP))
    may_read = set(range(X_ADDR, X_ADDR + 8 * nx)) | frame_bytes
    if y is not None:
        may_read |= set(range(Y_ADDR, Y_ADDR + 8 * nx))
    assert out.mem.writes <= z_bytes | frame_bytes, "wrote outside z / own stack frame"
    assert z_bytes <= out.mem.writes, "did not write every byte of z"
    assert out.mem.reads <= may_read, "read outside the inputs / own stack frame"

    # register discipline: x0 kept, x18-x30 and sp untouched
    assert out.x[0] == Z_ADDR
    for i in range(18, 31):
        assert out.x[i] == st.x[i], f"x{i} changed"
    assert out.sp == SP
    return st, out, z


# ---------------------------------------------------------------------------
# input cases


LIMB_POOL = [0, 1, 2, MASK64, MASK64 - 1, 1 << 63, (1 << 32) - 1, 1 << 32]


def _random_values(nlimbs: int, seed: int, bound: int | None = None) -> list[tuple[str, int]]:
    """2*N_RANDOM uniform values, plus 20 built from special limb values."""
    rng = random.Random(seed)
    top = bound if bound is not None else 1 << (64 * nlimbs)
    vals = [(f"rand{i:02d}", rng.randrange(top)) for i in range(2 * N_RANDOM)]
    vals += [
        (f"limbpat{i:02d}", limbs(*(rng.choice(LIMB_POOL) for _ in range(nlimbs))) % top)
        for i in range(20)
    ]
    return vals


def _random_cases(nlimbs: int, seed: int, bound: int | None = None) -> list:
    """N_RANDOM uniform pairs, plus 10 pairs built from special limb values."""
    vals = [v for _, v in _random_values(nlimbs, seed, bound)]
    pairs = list(zip(vals[0::2], vals[1::2], strict=False))
    return [
        pytest.param(a, b, id=f"rand{i:02d}" if i < N_RANDOM else f"limbpat{i - N_RANDOM:02d}")
        for i, (a, b) in enumerate(pairs)
    ]


def _pair_cases(named: dict[str, int]) -> list:
    return [
        pytest.param(a, b, id=f"{na}*{nb}")
        for na, a in named.items()
        for nb, b in named.items()
    ]


EDGE4 = {
    "zero": 0,
    "one": 1,
    "limbmax": MASK64,
    "ones": (1 << 256) - 1,
    "ones-1": (1 << 256) - 2,
    "top-bit": 1 << 255,
    "alt-ones": limbs(MASK64, 0, MASK64, 0),
    "alt-ones2": limbs(0, MASK64, 0, MASK64),
    "hi-bits": limbs(*[1 << 63] * 4),
}

EDGE6 = {
    "zero": 0,
    "one": 1,
    "limbmax": MASK64,
    "ones": (1 << 384) - 1,
    "ones-1": (1 << 384) - 2,
    "top-bit": 1 << 383,
    "alt-ones": limbs(MASK64, 0, MASK64, 0, MASK64, 0),
    "low-half": (1 << 192) - 1,
}

EDGE_P = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "p-1": P256 - 1,
    "p-2": P256 - 2,
    "p-half-lo": (P256 - 1) // 2,
    "p-half-hi": (P256 + 1) // 2,
    "R": 2**256 % P256,  # Montgomery form of 1
    "R2": 2**512 % P256,
    "2^256-2^224": 2**256 - 2**224,
    "2^255": 2**255,
    "p-2^64": P256 - 2**64,
    "p-2^192": P256 - 2**192,
    "limbmax": MASK64,
}


# ---------------------------------------------------------------------------
# mul_4x4


@pytest.mark.parametrize("a, b", _random_cases(4, seed=401) + _pair_cases(EDGE4))
def test_mul_4x4(a, b):
    _, _, z = run_kernel("mul_4x4.s", a, b, nx=4, nz=8, seed=a ^ b)
    assert z == a * b


def test_mul_4x4_run_does_not_mutate_input_state():
    a, b = (1 << 256) - 1, 0x0123456789ABCDEF << 100
    st = make_state(a, b, nx=4, seed=5)
    before = st.copy()
    out = run(program("mul_4x4.s"), st)
    assert int.from_bytes(out.mem.dump(Z_ADDR, 64), "little") == a * b
    assert st.registers() == before.registers()
    assert st.mem.data == before.mem.data
    assert st.mem.reads == before.mem.reads and st.mem.writes == before.mem.writes
    # ...and running the same state again gives the same result
    again = run(program("mul_4x4.s"), st)
    assert again.registers() == out.registers()
    assert again.mem.dump(Z_ADDR, 64) == out.mem.dump(Z_ADDR, 64)


# ---------------------------------------------------------------------------
# sqr_4x4


SQR_CASES = [pytest.param(a, id=name) for name, a in _random_values(4, seed=402)[:N_RANDOM]]
SQR_CASES += [pytest.param(a, id=name) for name, a in _random_values(4, seed=402)[-10:]]
SQR_CASES += [pytest.param(a, id=name) for name, a in EDGE4.items()]
SQR_CASES += [
    pytest.param((1 << 128) - 1, id="low-half"),
    pytest.param(((1 << 128) - 1) << 128, id="high-half"),
    pytest.param(limbs(1, 1, 1, 1), id="ones-limbs"),
]


@pytest.mark.parametrize("a", SQR_CASES)
def test_sqr_4x4(a):
    _, _, z = run_kernel("sqr_4x4.s", a, None, nx=4, nz=8, seed=a)
    assert z == a * a


# ---------------------------------------------------------------------------
# montmul_p256


def _montmul_final_sum(a: int, b: int) -> int:
    """(a*b + Q*p) / 2^256 before the final conditional subtraction."""
    t = a * b
    q = (t * -pow(P256, -1, 2**256)) % 2**256
    return (t + q * P256) >> 256


def test_montmul_cases_cover_final_subtraction():
    """Sanity check of the test data: both csel outcomes and the carry into
    bit 256 are exercised (a pure-Python check, no simulator involved)."""
    sums = [
        _montmul_final_sum(p.values[0], p.values[1])
        for p in _random_cases(4, seed=403, bound=P256) + _pair_cases(EDGE_P)
    ]
    assert all(s < 2 * P256 for s in sums)
    assert any(s < P256 for s in sums)
    assert any(P256 <= s < 2**256 for s in sums)
    assert any(s >= 2**256 for s in sums)


@pytest.mark.parametrize("a, b", _random_cases(4, seed=403, bound=P256) + _pair_cases(EDGE_P))
def test_montmul_p256(a, b):
    assert a < P256 and b < P256
    _, _, z = run_kernel("montmul_p256.S", a, b, nx=4, nz=4, seed=a ^ b)
    assert z < P256
    assert z == a * b * R256_INV % P256


# ---------------------------------------------------------------------------
# mul_6x6_stack


@pytest.mark.parametrize("a, b", _random_cases(6, seed=404) + _pair_cases(EDGE6))
def test_mul_6x6_stack(a, b):
    st, out, z = run_kernel(
        "mul_6x6_stack.s", a, b, nx=6, nz=12, seed=a ^ b, frame=STACK_FRAME
    )
    assert z == a * b
    # AAPCS64: callee-saved x19-x28, frame pointer x29, link register x30 and
    # sp are restored exactly (run_kernel checks x18-x30 and sp already; this
    # keeps the ABI requirement explicit).
    for i in list(range(19, 29)) + [29, 30]:
        assert out.x[i] == st.x[i], f"callee-saved x{i} not restored"
    assert out.sp == st.sp == SP


def test_mul_6x6_stack_uses_its_frame():
    """The kernel really pushes and spills: it writes exactly its 80-byte frame
    below sp (besides z), and reads the spilled limbs back."""
    a, b = (1 << 384) - 1, (1 << 384) - 3
    _, out, z = run_kernel(
        "mul_6x6_stack.s", a, b, nx=6, nz=12, seed=6, frame=STACK_FRAME
    )
    assert z == a * b
    frame = set(range(SP - STACK_FRAME, SP))
    # 48 bytes of saved x19-x24 at [SP-48, SP); spills at [sp+8, sp+32) of the
    # 32-byte area, i.e. [SP-72, SP-48).  Everything written is read back.
    assert frame & out.mem.writes == set(range(SP - 72, SP))
    assert frame & out.mem.reads == set(range(SP - 72, SP))
