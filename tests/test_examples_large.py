"""Big-integer tests of the large generated kernels in inputs/large/.

mul_16x16.s and mul_24x24.s (z[0..2n-1] = x[0..n-1] * y[0..n-1]) are written by
inputs/large/gen_mul.py, mul_16x16_neon.s (the same with 16 products on NEON) by
inputs/large/gen_mul_neon.py. Each is run in our simulator on random and
edge-case operands and compared with Python integer arithmetic; every run also
checks the kernel's contract: x0-x2 (the pointers), x18-x30, sp and the SIMD
registers it does not own (all of them for the scalar kernels, v8-v15 for the
NEON one) keep their values, only z is written (all of it), and nothing outside
x, y and z is read. The generators must reproduce the files in the repository
byte for byte, and a couple of runs are cross-checked against Unicorn.
"""

from __future__ import annotations

import functools
import importlib.util
import random
from pathlib import Path

import pytest

from scheduler.checks.simulate import run
from scheduler.frontend.parse import parse_file, parse_text
from tests.support import ROOT
from tests.support.bignum import SP, X_ADDR, Y_ADDR, Z_ADDR, kernel_state, limbs

LARGE = ROOT / "inputs" / "large"
N_RANDOM = 10

MASK64 = (1 << 64) - 1

# kernel name -> (limbs, generator script, generator arguments, uses SIMD)
KERNELS = {
    "mul_16x16": (16, "gen_mul.py", ["16"], False),
    "mul_24x24": (24, "gen_mul.py", ["24"], False),
    "mul_16x16_neon": (16, "gen_mul_neon.py", [], True),
}


def kernel_path(name: str) -> Path:
    return LARGE / f"{name}.s"


@functools.cache
def generator(script: str = "gen_mul.py"):
    spec = importlib.util.spec_from_file_location(f"large_{script[:-3]}", LARGE / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def program(name: str):
    return parse_file(kernel_path(name))


def run_kernel(name: str, a: int, b: int, seed: int) -> int:
    n, _, _, simd = KERNELS[name]
    nbytes = 8 * n
    st = kernel_state(a, b, nbytes, seed, simd=True)
    before_x, before_v, before_sp = list(st.x), list(st.v), st.sp

    out = run(program(name), st)
    z = int.from_bytes(out.mem.dump(Z_ADDR, 2 * nbytes), "little")

    # memory discipline: writes exactly z; reads x, y and (already written) z only
    z_bytes = set(range(Z_ADDR, Z_ADDR + 2 * nbytes))
    may_read = set(range(X_ADDR, X_ADDR + nbytes)) | set(range(Y_ADDR, Y_ADDR + nbytes)) | z_bytes
    assert out.mem.writes == z_bytes, f"must write exactly z[0..{2 * n - 1}]"
    assert out.mem.reads <= may_read, "read outside x, y and z"

    # register discipline: pointers kept, x18-x30, sp and v0-v31 untouched
    assert (out.x[0], out.x[1], out.x[2]) == (Z_ADDR, X_ADDR, Y_ADDR)
    for i in range(18, 31):
        assert out.x[i] == before_x[i], f"x{i} changed"
    assert out.sp == before_sp == SP
    if simd:
        assert out.v[8:16] == before_v[8:16], "v8-v15 changed"
    else:
        assert out.v == before_v, "SIMD registers changed"
    return z


# ---------------------------------------------------------------------------
# cases


def _edge_values(n: int) -> dict[str, int]:
    ones = (1 << (64 * n)) - 1
    return {
        "zero": 0,
        "one": 1,
        "ones": ones,
        "top-bit": 1 << (64 * n - 1),
        "alt-limbs": limbs(*[MASK64 if i % 2 else 0 for i in range(n)]),
    }


def _cases() -> list:
    cases = []
    for name, (n, *_) in KERNELS.items():
        rng = random.Random(name)
        for i in range(N_RANDOM):
            a, b = rng.getrandbits(64 * n), rng.getrandbits(64 * n)
            cases.append(pytest.param(n, a, b, id=f"{name}-rand{i}"))
        edge = _edge_values(n)
        for na in ("zero", "one", "ones"):
            for nb in ("zero", "one", "ones"):
                cases.append(pytest.param(n, edge[na], edge[nb], id=f"{name}-{na}*{nb}"))
        for na, nb in (("ones", "top-bit"), ("alt-limbs", "ones"), ("alt-limbs", "alt-limbs")):
            cases.append(pytest.param(n, edge[na], edge[nb], id=f"{name}-{na}*{nb}"))
        # random operands with every limb drawn from carry-heavy values
        pool = [0, 1, MASK64, MASK64 - 1, 1 << 63]
        for i in range(3):
            a = limbs(*(rng.choice(pool) for _ in range(n)))
            b = limbs(*(rng.choice(pool) for _ in range(n)))
            cases.append(pytest.param(n, a, b, id=f"{name}-limbpat{i}"))
    return cases


@pytest.mark.parametrize("name, n, a, b", [
    pytest.param(c.id.split("-", 1)[0], *c.values, id=c.id) for c in _cases()])
def test_mul_large(name, n, a, b):
    assert run_kernel(name, a, b, seed=(a ^ (b << 1)) & 0xFFFFFFFF) == a * b


@pytest.mark.parametrize("name", KERNELS)
def test_max_product(name):
    """(2^64n - 1)^2 = 2^128n - 2^(64n+1) + 1: every carry chain and merge saturates."""
    n = KERNELS[name][0]
    ones = (1 << (64 * n)) - 1
    z = run_kernel(name, ones, ones, seed=n)
    assert z == (1 << (128 * n)) - (1 << (64 * n + 1)) + 1


SCALAR_OPS = {"ldp", "ldr", "stp", "mul", "umulh", "adds", "adcs", "adc", "ret"}
NEON_OPS = {"mov", "movi", "uzp1", "uzp2", "rev64", "umull", "umull2", "umlal", "umlal2",
            "usra", "and", "sli"}


@pytest.mark.parametrize("name", KERNELS)
def test_kernel_shape(name):
    """Straight-line, x3-x17 scratch (plus caller-saved v registers), n^2 products, ends with ret."""
    n, _, _, simd = KERNELS[name]
    prog = program(name)
    instrs = prog.instructions
    assert prog.noalias == frozenset({"x0", "x1", "x2"})
    assert len(prog.blocks()) == 1
    assert instrs[-1].mnemonic == "ret"
    assert {i.mnemonic for i in instrs} <= SCALAR_OPS | (NEON_OPS if simd else set())
    on_neon = 16 if simd else 0
    assert sum(i.mnemonic == "mul" for i in instrs) == n * n - on_neon
    assert sum(i.mnemonic == "umulh" for i in instrs) == n * n - on_neon
    scratch = {f"x{r}" for r in range(3, 18)}
    if simd:
        scratch |= {f"v{r}" for r in [*range(8), *range(16, 32)]}
    for ins in instrs:
        assert ins.writes <= scratch | {"nzcv"}, str(ins)
        assert ins.reads <= scratch | {"x0", "x1", "x2", "nzcv", "x30"}, str(ins)
    assert 1000 <= len(instrs) <= 3000


@pytest.mark.parametrize("name", KERNELS)
def test_matches_unicorn(name, assembler):
    """Two random products run in Unicorn too: same registers, same z."""
    unicorn_ref = pytest.importorskip("tests.support.unicorn_ref")
    from scheduler.checks.simulate import run_instructions
    from scheduler.checks.verify import straight_line
    from scheduler.frontend.assemble import assemble_lines

    n = KERNELS[name][0]
    code_instrs = straight_line(program(name))
    code = b"".join(assemble_lines([str(i) for i in code_instrs]))
    rng = random.Random(name)
    for trial in range(2):
        a, b = rng.getrandbits(64 * n), rng.getrandbits(64 * n)
        st = kernel_state(a, b, 8 * n, seed=trial, simd=True)
        ours = run_instructions(code_instrs, st)
        ref = unicorn_ref.run_unicorn(code, st)
        assert ours.registers() == ref.registers(), trial
        assert int.from_bytes(ref.mem.dump(Z_ADDR, 16 * n), "little") == a * b
        assert {a: ours.mem.byte(a) for a in ours.mem.writes} == {a: ref.mem.byte(a) for a in ref.mem.writes}


# ---------------------------------------------------------------------------
# the generator


@pytest.mark.parametrize("name", KERNELS)
def test_generator_reproduces_file(name, tmp_path):
    n, script, args, _ = KERNELS[name]
    gen = generator(script)
    committed = kernel_path(name).read_bytes()
    assert gen.generate(n).encode() == committed
    out = tmp_path / f"{name}.s"
    assert gen.main([*args, "-o", str(out)]) == 0
    assert out.read_bytes() == committed
    # the header names the command that regenerates the file
    command = " ".join(["python3", f"inputs/large/{script}", *args])
    assert f"//     {command}\n" in committed.decode()
    assert "// @noalias x0, x1, x2\n" in committed.decode()


def test_generator_other_sizes():
    """Smaller instances of the same generator are correct too (checked without files)."""
    gen = generator()
    rng = random.Random(5)
    for n in (4, 8):
        prog = parse_text(gen.generate(n), f"mul_{n}x{n}.s")
        for _ in range(3):
            a, b = rng.getrandbits(64 * n), rng.getrandbits(64 * n)
            out = run(prog, kernel_state(a, b, 8 * n, seed=rng.getrandbits(32)))
            assert int.from_bytes(out.mem.dump(Z_ADDR, 16 * n), "little") == a * b
    with pytest.raises(ValueError):
        gen.generate(6)
