"""Big-integer tests of the NEON-assisted P-256 kernels in inputs/montgomery/.

p256_montmul_neon.s (z = a*b/R mod p) and p256_montsqr_neon.s (z = a^2/R mod p),
R = 2^256, are written by inputs/montgomery/gen_p256_neon.py in the naive
"as written" order: Karatsuba products with absolute differences, the diagonal
64x64 products as full 128-bit products on NEON, and the shift-based P-256
reduction.  Each kernel is run in our simulator on random operands, on
operands built from edge limbs (0, 1, 2^32 - 1, 2^63, 2^64 - 1, ...) and on
edge values (0, 1, p - 1, R mod p, 2^256 - k mod p, ...), and compared with
Python integers; every run also checks the contract (x0, x18-x30, sp, v8-v15
preserved; exactly the output written; only the inputs and pushed registers
read).  Both kernels are also run in Unicorn, the generator must reproduce
the committed files byte for byte, and `scheduler optimize` must accept them
and produce a verified schedule that still computes the same.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
from pathlib import Path

import pytest

from scheduler.frontend.parse import parse_file
from tests.support import ROOT
from tests.support.bignum import Z_ADDR, assert_abi_clean, kernel_state, load_script, run_montgomery

MONT = ROOT / "inputs" / "montgomery"
P = 2**256 - 2**224 + 2**192 + 2**96 - 1
R = 2**256
NAMES = ["p256_montmul_neon", "p256_montsqr_neon"]
EDGE_LIMBS = [0, 1, 2**32 - 1, 2**32, 2**63, 2**64 - 2**32, 2**64 - 2, 2**64 - 1]


@functools.cache
def generator():
    return load_script(MONT / "gen_p256_neon.py")


@functools.cache
def program(path: Path):
    return parse_file(path)


def is_mul(name: str) -> bool:
    return "montmul" in name


def expected(name: str, a: int, b: int) -> int:
    return a * (b if is_mul(name) else a) * pow(2, -256, P) % P


def state(name: str, a: int, b: int, seed: int):
    return kernel_state(a, b if is_mul(name) else None, 32, seed, simd=True)


def run_kernel(name: str, a: int, b: int, seed: int, path: Path | None = None) -> int:
    """z from one simulated run of the kernel (the committed file unless `path`), contract checked."""
    prog = program(path or MONT / f"{name}.s")
    return run_montgomery(prog, state(name, a, b, seed), 32, is_mul(name), P)


def edge_values() -> list[int]:
    """Operands < p at the borders: small, near p, near 2^256 reduced mod p, Montgomery constants."""
    vals = [0, 1, 2, P - 1, P - 2, P >> 1, (P >> 1) + 1, R % P, R * R % P, 2**255, 2**224, 2**192 - 1]
    vals += [(R - k) % P for k in (1, 2, 3, 2**32, 2**64)]
    vals += [P - 2**k for k in (32, 64, 96, 128, 192)]
    return vals


def _edge_cases() -> list:
    cases = []
    for name in NAMES:
        vals = edge_values()
        pairs = list(itertools.product(vals, vals)) if is_mul(name) else [(v, v) for v in vals]
        rng = random.Random(name)
        rng.shuffle(pairs)
        for k, (a, b) in enumerate(pairs[:60]):
            cases.append(pytest.param(name, a, b, id=f"{name}-edge{k}"))
    return cases


@pytest.mark.parametrize("name, a, b", _edge_cases())
def test_edge_values(name, a, b):
    assert run_kernel(name, a, b, seed=(a ^ (b << 1)) & 0xFFFF) == expected(name, a, b)


@pytest.mark.parametrize("name", NAMES)
def test_random_values(name):
    rng = random.Random(f"random-{name}")
    for k in range(150):
        a, b = rng.randrange(P), rng.randrange(P)
        assert run_kernel(name, a, b, seed=k) == expected(name, a, b), (hex(a), hex(b))


@pytest.mark.parametrize("name", NAMES)
def test_edge_limbs(name):
    """Operands made of extreme 64-bit limbs: equal neighbours, every sign of the differences, carries."""
    rng = random.Random(f"limbs-{name}")

    def operand() -> int:
        return sum(rng.choice(EDGE_LIMBS) << (64 * i) for i in range(4)) % P

    for k in range(150):
        a, b = operand(), operand()
        assert run_kernel(name, a, b, seed=k) == expected(name, a, b), (hex(a), hex(b))


@pytest.mark.parametrize("name", NAMES)
def test_montgomery_roundtrip(name):
    """In Montgomery form: mont(x*R, y*R) = x*y*R, chained a few times."""
    rng = random.Random(f"chain-{name}")
    x, y = rng.randrange(P), rng.randrange(P)
    acc, want = x * R % P, x
    for step in range(4):
        acc = run_kernel(name, acc, y * R % P, seed=step)
        want = want * (y if is_mul(name) else want) % P
        assert acc * pow(R, -1, P) % P == want


@pytest.mark.parametrize("name", NAMES)
def test_shape(name):
    prog = program(MONT / f"{name}.s")
    instrs = prog.instructions
    assert prog.noalias == frozenset({"x0", "x1", "x2"} if is_mul(name) else {"x0", "x1"})
    assert len(prog.blocks()) == 1
    assert instrs[-1].mnemonic == "ret"
    assert not any(i.is_branch for i in instrs[:-1])
    assert (150 <= len(instrs) <= 220) if is_mul(name) else (110 <= len(instrs) <= 160)
    text = [str(i) for i in instrs]
    count = {op: sum(t.split()[0] == op for t in text) for op in ("mul", "umulh", "umull", "usra", "lsl", "lsr")}
    assert sum(t.startswith("mul v") for t in text) == 2          # 2 x 2 diagonal products on NEON
    assert count["umull"] == 6 and count["usra"] == 6
    assert count["umulh"] == (6 if is_mul(name) else 5)          # the rest on scalar
    assert sum(t.startswith("mov x") and ".d[" in t for t in text) == 8
    assert count["lsl"] >= 4 and count["lsr"] >= 4                 # shift-based reduction
    assert_abi_clean(instrs)


def test_unicorn_each_kernel(assembler):
    unicorn_ref = pytest.importorskip("tests.support.unicorn_ref")
    from scheduler.checks.simulate import run_instructions
    from scheduler.checks.verify import straight_line
    from scheduler.frontend.assemble import assemble_lines

    rng = random.Random(256)
    for name in NAMES:
        code_instrs = straight_line(program(MONT / f"{name}.s"))
        code = b"".join(assemble_lines([str(i) for i in code_instrs]))
        for seed, (a, b) in enumerate([(rng.randrange(P), rng.randrange(P)), (P - 1, P - 1), (R % P, 1)]):
            st = state(name, a, b, seed=seed)
            ours = run_instructions(code_instrs, st)
            ref = unicorn_ref.run_unicorn(code, st)
            assert ours.registers() == ref.registers(), name
            assert ({x: ours.mem.byte(x) for x in ours.mem.writes}
                    == {x: ref.mem.byte(x) for x in ref.mem.writes}), name
            assert int.from_bytes(ref.mem.dump(Z_ADDR, 32), "little") == expected(name, a, b), name


@pytest.mark.parametrize("name", NAMES)
def test_generator_reproduces_file(name):
    assert generator().generate(name).encode() == (MONT / f"{name}.s").read_bytes()


def test_generator_main(tmp_path, capsys):
    gen = generator()
    assert gen.NAMES == NAMES
    assert gen.P256 == P
    assert gen.main(["-o", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.s" for n in NAMES]
    for name in NAMES:
        assert (tmp_path / f"{name}.s").read_bytes() == (MONT / f"{name}.s").read_bytes()
    assert gen.main(["--print", "p256_montsqr_neon"]) == 0
    assert capsys.readouterr().out.encode() == (MONT / "p256_montsqr_neon.s").read_bytes()
    assert gen.default_path("p256_montmul_neon") == MONT / "p256_montmul_neon.s"


@pytest.mark.slow  # a full optimize of a P-256 kernel (about 12 s each)
@pytest.mark.parametrize("name", NAMES)
def test_optimize(name, tmp_path, capsys):
    """A short optimize run exits 0 with a verified schedule that still computes a*b/R mod p."""
    from scheduler.cli import main

    out = tmp_path / f"{name}.s"
    code = main(["optimize", str(MONT / f"{name}.s"), "-o", str(out), "--time-limit", "5", "--workers", "1",
                 "--json"])
    capsys.readouterr()
    assert code == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["verified"] is True
    assert report["cycles_after"] <= report["cycles_before"]
    assert main(["verify", str(MONT / f"{name}.s"), str(out), "--trials", "200"]) == 0
    capsys.readouterr()
    rng = random.Random(f"optimize-{name}")
    for k in range(20):
        a, b = rng.randrange(P), rng.randrange(P)
        assert run_kernel(name, a, b, seed=k, path=out) == expected(name, a, b)
