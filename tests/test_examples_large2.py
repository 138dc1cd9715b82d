"""Big-integer tests of the Karatsuba and P-256 doubling kernels in inputs/large/.

karatsuba_16x16_neon.s (z[0..31] = x[0..15] * y[0..15], one level of Karatsuba
over 8 x 8-limb Comba products, part of them on NEON) is written by
inputs/large/gen_karatsuba_neon.py; p256_double.s (Jacobian doubling on P-256,
Montgomery form) by inputs/large/gen_p256_double.py.  Both are run in our
simulator on random and edge-case operands and compared with Python integer
arithmetic.  Every run also checks the contract: the pointer registers,
x18-x30 (x19-x28 are used but must be restored), sp and v8-v15 (all SIMD
registers for the scalar P-256 kernel) keep their values, the output is
written in full, and nothing outside the output and the kernel's stack frame
is written (nor read outside inputs, output and frame).  The generators must
reproduce the committed files byte for byte, and one run of each kernel is
cross-checked against Unicorn.
"""

from __future__ import annotations

import functools
import importlib.util
import random

import pytest

from scheduler.checks.simulate import run
from scheduler.frontend.parse import parse_file
from tests.support import ROOT
from tests.support.bignum import SP, X_ADDR, Y_ADDR, Z_ADDR, kernel_state, limbs

LARGE = ROOT / "inputs" / "large"
MASK64 = (1 << 64) - 1


@functools.cache
def generator(script: str):
    spec = importlib.util.spec_from_file_location(f"large2_{script[:-3]}", LARGE / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def program(name: str):
    return parse_file(LARGE / f"{name}.s")


def frame_size(name: str) -> int:
    """Bytes of stack below sp the kernel may use: from its `sub sp, sp, #N` (plus a pre-index push)."""
    total = 0
    for ins in program(name).instructions:
        text = str(ins)
        if text.startswith("sub sp, sp, #"):
            total += int(text.rsplit("#", 1)[1], 0)
        elif "[sp, #-" in text and text.endswith("]!"):
            total += int(text.split("#-", 1)[1].rstrip("]!"), 0)
    return total


def check_contract(name: str, st, out, inputs: list[tuple[int, int]], output: tuple[int, int],
                   pointers: list[str], simd_free: bool) -> None:
    frame = frame_size(name)
    assert 0 < frame <= 512 and frame % 16 == 0
    stack = set(range(SP - frame, SP))
    out_bytes = set(range(output[0], output[0] + output[1]))
    assert out_bytes <= out.mem.writes, "output not fully written"
    assert out.mem.writes <= out_bytes | stack, "wrote outside the output and the stack frame"
    may_read = out_bytes | stack
    for addr, size in inputs:
        may_read |= set(range(addr, addr + size))
    assert out.mem.reads <= may_read, "read outside inputs, output and stack frame"
    for p in pointers:
        assert out.get(p) == st.get(p), f"{p} changed"
    for i in range(18, 31):
        assert out.x[i] == st.x[i], f"x{i} changed"
    assert out.sp == st.sp == SP
    if simd_free:
        assert out.v == st.v, "SIMD registers changed"
    else:
        assert out.v[8:16] == st.v[8:16], "v8-v15 changed"


# ---------------------------------------------------------------------------
# Karatsuba 16 x 16

KNAME = "karatsuba_16x16_neon"
KN = 16
HALF_BITS = 64 * KN // 2


def run_karatsuba(a: int, b: int, seed: int) -> int:
    st = kernel_state(a, b, 8 * KN, seed, simd=True)
    out = run(program(KNAME), st)
    check_contract(KNAME, st, out, [(X_ADDR, 8 * KN), (Y_ADDR, 8 * KN)], (Z_ADDR, 16 * KN),
                   ["x0", "x1", "x2"], simd_free=False)
    return int.from_bytes(out.mem.dump(Z_ADDR, 16 * KN), "little")


def _halves(lo: int, hi: int) -> int:
    return lo | hi << HALF_BITS


def _karatsuba_cases() -> list:
    rng = random.Random(KNAME)
    ones = (1 << (64 * KN)) - 1
    half = (1 << HALF_BITS) - 1
    cases = [pytest.param(rng.getrandbits(64 * KN), rng.getrandbits(64 * KN), id=f"rand{i}")
             for i in range(6)]
    cases += [
        pytest.param(0, 0, id="zero*zero"),
        pytest.param(ones, 0, id="ones*zero"),
        pytest.param(1, ones, id="one*ones"),
        pytest.param(ones, ones, id="ones*ones"),
        pytest.param(1 << (64 * KN - 1), ones, id="top-bit*ones"),
        # the sign of (x0 - x1)(y0 - y1) in every combination, and extreme differences
        pytest.param(_halves(half, 0), _halves(half, 0), id="x0>x1,y0>y1,max-diff"),
        pytest.param(_halves(0, half), _halves(0, half), id="x0<x1,y0<y1,max-diff"),
        pytest.param(_halves(half, 0), _halves(0, half), id="x0>x1,y0<y1,max-diff"),
        pytest.param(_halves(0, half), _halves(half, 0), id="x0<x1,y0>y1,max-diff"),
        pytest.param(_halves(5, 5), rng.getrandbits(64 * KN), id="x0=x1"),
        pytest.param(_halves(half, half - 1), _halves(1, 2), id="diffs-one"),
    ]
    for sx in (False, True):
        for sy in (False, True):
            a0, a1 = sorted((rng.getrandbits(HALF_BITS), rng.getrandbits(HALF_BITS)), reverse=sx)
            b0, b1 = sorted((rng.getrandbits(HALF_BITS), rng.getrandbits(HALF_BITS)), reverse=sy)
            cases.append(pytest.param(_halves(a0, a1), _halves(b0, b1), id=f"sign-{int(sx)}{int(sy)}"))
    pool = [0, 1, MASK64, MASK64 - 1, 1 << 63]
    for i in range(3):
        a = limbs(*(rng.choice(pool) for _ in range(KN)))
        b = limbs(*(rng.choice(pool) for _ in range(KN)))
        cases.append(pytest.param(a, b, id=f"limbpat{i}"))
    return cases


@pytest.mark.parametrize("a, b", _karatsuba_cases())
def test_karatsuba(a, b):
    assert run_karatsuba(a, b, seed=(a ^ (b << 3)) & 0xFFFFFFFF) == a * b


def test_karatsuba_shape():
    prog = program(KNAME)
    instrs = prog.instructions
    assert prog.noalias == frozenset({"x0", "x1", "x2"})
    assert len(prog.blocks()) == 1
    assert instrs[-1].mnemonic == "ret"
    assert not any(i.is_branch for i in instrs[:-1])
    assert 1000 <= len(instrs) <= 2000
    count = {m: sum(i.mnemonic == m for i in instrs) for m in ("mul", "umulh", "umull", "umull2")}
    # three 8 x 8 products of 64 limb products each, 16 of each on NEON: four vector
    # pairs in the lower lanes (umull) and four in the upper lanes (umull2), 3 umull each
    assert count["mul"] == count["umulh"] == 3 * (64 - 16)
    assert count["umull"] == count["umull2"] == 3 * 4 * 3
    never = {"x18", "x29", "x30", *(f"v{r}" for r in range(8, 16))}
    for ins in instrs:
        assert not (ins.writes & never), str(ins)


# ---------------------------------------------------------------------------
# P-256 doubling

PNAME = "p256_double"
P = 2**256 - 2**224 + 2**192 + 2**96 - 1
R = 2**256
B_COEFF = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5


def double_jacobian(X: int, Y: int, Z: int) -> tuple[int, int, int]:
    """Reference doubling (plain integers mod p, a = -3): same formula, independent code."""
    delta, gamma = Z * Z % P, Y * Y % P
    beta = X * gamma % P
    alpha = 3 * (X - delta) * (X + delta) % P
    X3 = (alpha * alpha - 8 * beta) % P
    Z3 = ((Y + Z) ** 2 - gamma - delta) % P
    Y3 = (alpha * (4 * beta - X3) - 8 * gamma * gamma) % P
    return X3, Y3, Z3


def run_double(X: int, Y: int, Z: int, seed: int) -> tuple[int, int, int]:
    """Run the kernel on (X, Y, Z) (plain residues, converted to Montgomery form and back)."""
    point = limbs(*(w for v in (X, Y, Z) for w in ((v * R % P) >> (64 * k) & MASK64 for k in range(4))))
    st = kernel_state(point, None, 96, seed, simd=True)
    out = run(program(PNAME), st)
    check_contract(PNAME, st, out, [(X_ADDR, 96)], (Z_ADDR, 96), ["x0", "x1"], simd_free=True)
    raw = out.mem.dump(Z_ADDR, 96)
    mont = [int.from_bytes(raw[32 * i:32 * i + 32], "little") for i in range(3)]
    assert all(v < P for v in mont), "output not fully reduced"
    r_inv = pow(R, -1, P)
    a, b, c = (v * r_inv % P for v in mont)
    return a, b, c


def _p256_cases() -> list:
    rng = random.Random(PNAME)
    cases = [pytest.param(*(rng.randrange(P) for _ in range(3)), id=f"rand{i}") for i in range(5)]
    cases += [pytest.param(rng.randrange(P), rng.randrange(P), 1, id=f"z1-{i}") for i in range(2)]
    cases += [
        pytest.param(P - 1, P - 1, P - 1, id="p-1"),
        pytest.param(0, 0, 0, id="zero"),
        pytest.param(1, 1, 1, id="one"),
        pytest.param(P - 1, 0, 1, id="y-zero"),
        pytest.param(0, P - 1, rng.randrange(P), id="x-zero"),
        pytest.param(2**255, 2**224, 2**192 + 1, id="powers"),
    ]
    return cases


@pytest.mark.parametrize("X, Y, Z", _p256_cases())
def test_p256_double(X, Y, Z):
    assert run_double(X, Y, Z, seed=(X ^ Y ^ Z) & 0xFFFFFFFF) == double_jacobian(X, Y, Z)


def test_p256_double_affine():
    """2G for the base point in Jacobian form with a random Z: affine result from the chord-tangent law."""
    assert (GY * GY - (GX**3 - 3 * GX + B_COEFF)) % P == 0
    lam = (3 * GX * GX - 3) * pow(2 * GY, -1, P) % P
    x2 = (lam * lam - 2 * GX) % P
    y2 = (lam * (GX - x2) - GY) % P
    assert (y2 * y2 - (x2**3 - 3 * x2 + B_COEFF)) % P == 0
    rng = random.Random(7)
    for Z in (1, rng.randrange(1, P)):
        X3, Y3, Z3 = run_double(GX * Z * Z % P, GY * Z**3 % P, Z, seed=Z & 0xFFFF)
        zi = pow(Z3, -1, P)
        assert (X3 * zi * zi % P, Y3 * zi**3 % P) == (x2, y2)


def test_p256_shape():
    prog = program(PNAME)
    instrs = prog.instructions
    assert prog.noalias == frozenset({"x0", "x1"})
    assert len(prog.blocks()) == 1
    assert instrs[-1].mnemonic == "ret"
    assert not any(i.is_branch for i in instrs[:-1])
    assert 1000 <= len(instrs) <= 2000
    # 3 multiplications (16 products) and 5 squarings (10), 4 reduction steps each
    assert sum(i.mnemonic == "mul" for i in instrs) == sum(i.mnemonic == "umulh" for i in instrs)
    assert sum(i.mnemonic == "umulh" for i in instrs) == 3 * 16 + 5 * 10 + 8 * 4
    for ins in instrs:
        assert not any(r.startswith("v") for r in ins.reads | ins.writes), str(ins)
        assert not (ins.writes & {"x0", "x1", "x18", "x25", "x26", "x27", "x28", "x29", "x30"}), str(ins)


# ---------------------------------------------------------------------------
# Unicorn, generators

def _unicorn_compare(name: str, st, check) -> None:
    unicorn_ref = pytest.importorskip("tests.support.unicorn_ref")
    from scheduler.checks.simulate import run_instructions
    from scheduler.checks.verify import straight_line
    from scheduler.frontend.assemble import assemble_lines

    code_instrs = straight_line(program(name))
    code = b"".join(assemble_lines([str(i) for i in code_instrs]))
    ours = run_instructions(code_instrs, st)
    ref = unicorn_ref.run_unicorn(code, st)
    assert ours.registers() == ref.registers()
    assert {a: ours.mem.byte(a) for a in ours.mem.writes} == {a: ref.mem.byte(a) for a in ref.mem.writes}
    check(ref)


def test_karatsuba_matches_unicorn(assembler):
    rng = random.Random(11)
    a, b = rng.getrandbits(64 * KN), rng.getrandbits(64 * KN)
    st = kernel_state(a, b, 8 * KN, seed=3, simd=True)

    def check(ref):
        assert int.from_bytes(ref.mem.dump(Z_ADDR, 16 * KN), "little") == a * b

    _unicorn_compare(KNAME, st, check)


def test_p256_matches_unicorn(assembler):
    rng = random.Random(12)
    X, Y, Z = (rng.randrange(P) for _ in range(3))
    point = sum(v << (256 * k) for k, v in enumerate((X, Y, Z)))
    st = kernel_state(point, None, 96, seed=4, simd=True)

    def check(ref):
        raw = ref.mem.dump(Z_ADDR, 96)
        r_inv = pow(R, -1, P)
        got = tuple(int.from_bytes(raw[32 * i:32 * i + 32], "little") * r_inv % P for i in range(3))
        assert got == double_jacobian(X * r_inv % P, Y * r_inv % P, Z * r_inv % P)

    _unicorn_compare(PNAME, st, check)


GENERATORS = {KNAME: "gen_karatsuba_neon.py", PNAME: "gen_p256_double.py"}


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_reproduces_file(name, tmp_path, capsys):
    script = GENERATORS[name]
    gen = generator(script)
    committed = (LARGE / f"{name}.s").read_bytes()
    assert gen.generate().encode() == committed
    assert gen.generate() == gen.generate()
    out = tmp_path / f"{name}.s"
    assert gen.main(["-o", str(out)]) == 0
    assert out.read_bytes() == committed
    assert gen.main(["-o", "-"]) == 0
    assert capsys.readouterr().out.encode() == committed
    assert gen.default_path() == LARGE / f"{name}.s"
    assert f"//     python3 inputs/large/{script}\n" in committed.decode()
