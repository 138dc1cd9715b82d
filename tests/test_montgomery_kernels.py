"""Big-integer tests of the Montgomery kernels in inputs/montgomery/.

montmul_n.s (z = a*b/R mod p) and montsqr_n.s (z = a^2/R mod p), R = 2^(64n),
for P-256 (n = 4), P-384 (n = 6) and P-521 (n = 9), are written by
inputs/montgomery/gen_montgomery.py in naive order with part of the low-half
products on NEON.  Each is run in our simulator on random and edge operands
(0, 1, p-1, ...) and compared with Python integers; every run also checks the
contract (pointers, x18-x30, sp, v8-v15 preserved; exactly the output written;
reads only inputs, output and the pushed callee-saved registers).  Each kernel
is also run once in Unicorn, and the generator must reproduce the committed
files byte for byte.
"""

from __future__ import annotations

import functools
import random

import pytest

from scheduler.checks.simulate import run
from scheduler.frontend.parse import parse_file
from tests.support import ROOT
from tests.support.bignum import Z_ADDR, assert_abi_clean, kernel_state, load_script, run_montgomery

MONT = ROOT / "inputs" / "montgomery"


@functools.cache
def generator():
    return load_script(MONT / "gen_montgomery.py")


NAMES = [f"{kind}_{n}" for n in (4, 6, 9) for kind in ("montmul", "montsqr")]
PRIMES = {
    4: 2**256 - 2**224 + 2**192 + 2**96 - 1,
    6: 2**384 - 2**128 - 2**96 + 2**32 - 1,
    9: 2**521 - 1,
}


@functools.cache
def program(name: str):
    return parse_file(MONT / f"{name}.s")


def split(name: str) -> tuple[str, int]:
    kind, n = name.split("_")
    return kind, int(n)


def expected(name: str, a: int, b: int) -> int:
    kind, n = split(name)
    p = PRIMES[n]
    if kind == "montsqr":
        b = a
    return a * b * pow(2 ** (64 * n), -1, p) % p


def state(name: str, a: int, b: int, seed: int):
    kind, n = split(name)
    return kernel_state(a, b if kind == "montmul" else None, 8 * n, seed, simd=True)


def run_kernel(name: str, a: int, b: int, seed: int) -> int:
    kind, n = split(name)
    return run_montgomery(program(name), state(name, a, b, seed), 8 * n, kind == "montmul", PRIMES[n])


def _cases() -> list:
    cases = []
    for name in NAMES:
        kind, n = split(name)
        p = PRIMES[n]
        rng = random.Random(name)
        pairs = [(rng.randrange(p), rng.randrange(p)) for _ in range(4)]
        pairs += [(0, 0), (1, 1), (p - 1, p - 1), (p - 1, 1), (1, p - 1), (0, p - 1),
                  (2 ** (64 * n) % p, rng.randrange(p)),         # R mod p: the Montgomery one
                  (p - 2, p - 3), (p >> 1, (p >> 1) + 1)]
        for k, (a, b) in enumerate(pairs):
            cases.append(pytest.param(name, a, b, id=f"{name}-{k}"))
    return cases


@pytest.mark.parametrize("name, a, b", _cases())
def test_montgomery(name, a, b):
    assert run_kernel(name, a, b, seed=(a ^ (b << 1)) & 0xFFFF) == expected(name, a, b)


@pytest.mark.parametrize("name", NAMES)
def test_montgomery_roundtrip(name):
    """In Montgomery form: mont(x*R, y*R) = x*y*R, chained a few times."""
    kind, n = split(name)
    p, r = PRIMES[n], 2 ** (64 * n)
    rng = random.Random(f"chain-{name}")
    x, y = rng.randrange(p), rng.randrange(p)
    acc = x * r % p
    want = x
    for step in range(3):
        other = y * r % p
        acc = run_kernel(name, acc, other, seed=step)
        want = want * (y if kind == "montmul" else want) % p
        assert acc * pow(r, -1, p) % p == want


@pytest.mark.parametrize("name", NAMES)
def test_shape(name):
    kind, n = split(name)
    prog = program(name)
    instrs = prog.instructions
    assert prog.noalias == frozenset({"x0", "x1", "x2"} if kind == "montmul" else {"x0", "x1"})
    assert len(prog.blocks()) == 1
    assert instrs[-1].mnemonic == "ret"
    assert not any(i.is_branch for i in instrs[:-1])
    assert 130 <= len(instrs) <= 900
    text = [str(i) for i in instrs]
    neon_mul = sum(t.startswith("mul v") for t in text)
    assert neon_mul >= 2
    assert neon_mul == sum(t.startswith("umlal v") for t in text) == sum(t.startswith("uaddlp") for t in text)
    scalar_lo = sum(t.startswith("mul x") for t in text)
    assert 2 * neon_mul <= scalar_lo
    assert_abi_clean(instrs)


def test_unicorn_each_kernel(assembler):
    unicorn_ref = pytest.importorskip("tests.support.unicorn_ref")
    from scheduler.checks.simulate import run_instructions
    from scheduler.checks.verify import straight_line
    from scheduler.frontend.assemble import assemble_lines

    rng = random.Random(99)
    for name in NAMES:
        kind, n = split(name)
        p = PRIMES[n]
        a, b = rng.randrange(p), rng.randrange(p)
        st = state(name, a, b, seed=5)
        code_instrs = straight_line(program(name))
        code = b"".join(assemble_lines([str(i) for i in code_instrs]))
        ours = run_instructions(code_instrs, st)
        ref = unicorn_ref.run_unicorn(code, st)
        assert ours.registers() == ref.registers(), name
        assert ({a_: ours.mem.byte(a_) for a_ in ours.mem.writes}
                == {a_: ref.mem.byte(a_) for a_ in ref.mem.writes}), name
        z = int.from_bytes(ref.mem.dump(Z_ADDR, 8 * n), "little")
        assert z == expected(name, a, b), name


@pytest.mark.parametrize("name", NAMES)
def test_generator_reproduces_file(name):
    assert generator().generate(name).encode() == (MONT / f"{name}.s").read_bytes()


def test_generator_main(tmp_path, capsys):
    gen = generator()
    assert gen.NAMES == NAMES
    assert gen.main(["-o", str(tmp_path)]) == 0
    for name in NAMES:
        assert (tmp_path / f"{name}.s").read_bytes() == (MONT / f"{name}.s").read_bytes()
    assert gen.main(["--print", "montsqr_4"]) == 0
    assert capsys.readouterr().out.encode() == (MONT / "montsqr_4.s").read_bytes()
    assert gen.default_path("montmul_4") == MONT / "montmul_4.s"
    assert all(gen.modulus(n) == p for n, p in PRIMES.items())


@pytest.mark.slow  # a full optimize (about 8 s)
def test_optimize_montmul_4(tmp_path, capsys):
    """The optimizer accepts the naive P-256 kernel, verifies its schedule, and the schedule still computes a*b/R."""
    import json

    from scheduler.cli import main

    out = tmp_path / "montmul_4.s"
    code = main(["optimize", str(MONT / "montmul_4.s"), "-o", str(out), "--time-limit", "3", "--workers", "1",
                 "--json"])
    capsys.readouterr()
    assert code == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["verified"] is True
    assert report["cycles_after"] <= report["cycles_before"]
    p = PRIMES[4]
    rng = random.Random(4)
    a, b = rng.randrange(p), rng.randrange(p)
    got = run(parse_file(out), state("montmul_4", a, b, seed=1))
    assert int.from_bytes(got.mem.dump(Z_ADDR, 32), "little") == expected("montmul_4", a, b)
