#!/usr/bin/env python3
"""Generate Montgomery multiplication and squaring kernels for P-256, P-384 and P-521.

    python3 inputs/montgomery/gen_montgomery.py         # writes inputs/montgomery/mont{mul,sqr}_{4,6,9}.s
    python3 inputs/montgomery/gen_montgomery.py -o DIR  # into another directory
    python3 inputs/montgomery/gen_montgomery.py --print montmul_4   # one kernel to stdout

Written for this project (example inputs for the instruction-scheduling
optimizer); not derived from any library.  Deterministic output: re-running
the script reproduces the committed kernels byte for byte
(tests/test_montgomery_kernels.py checks this).

Each kernel is straight-line code in the naive "as written" order: within a
step, the products first, then the carry chains that consume them; no
interleaving of independent steps.  Improving that order is the scheduler's job.

Contract (n limbs of 64 bits, R = 2^(64n), m the field prime, a, b < m):

    montmul_n:  x0 = z, x1 = a, x2 = b   ->  z = a*b/R mod m   (fully reduced)
    montsqr_n:  x0 = z, x1 = a           ->  z = a*a/R mod m

The modulus is built into the code: its distinct limb values are
materialised with `mov` immediates (P-256: 3 registers, a zero limb is
skipped; P-384: 4; P-521: 2), as is m' = -m^-1 mod 2^64 when it is not 1
(P-384: 0x100000001; P-256 and P-521 have m' = 1, so q is the limb itself).

montmul_n: coarsely integrated operand scanning (CIOS).  A window
w[0..n-1] plus two top words e0, e1 holds T < 2m.  For each limb b_j
(loaded with ldr): T += a*b_j (all low-half products, one adds/adcs chain;
all high-half products, a second chain), then q = w0*m', T += q*m (same
two chains; the first starts with cmn w0, lo(q*m0) since the sum is 0 mod
2^64) and T /= 2^64 by renaming the window.  Row 0 writes the low halves
straight into the window.

montsqr_n: separated operand scanning.  The 2n-limb square t = a^2 is
built row by row from the cross products a_i*a_j (i < j), doubled with one
adds/adcs chain, and the squares a_i^2 are added with a last chain.  Then
n reduction steps: q = t_i*m', t += q*m*2^(64i) by a low-half chain (ending
in the running carry word c at position i+n, carry out c1) and a high-half
chain (carry out added to c1: the new c at position i+n+1).  The result is
t[n..2n-1] + c*2^(64n) < 2m.

Both end with a conditional subtraction: d = T - m (subs/sbcs, the top
word with sbcs xzr), then csel picks T when the subtraction borrowed; the
n limbs are stored with stp (and str for the odd limb of P-521).

NEON offload.  The low 64 bits of two products a_i*b_j and a_k*b_l are
computed at once from the lanes (a_i, a_k) and (b_j, b_l) of two vectors:
rev64 swaps the 32-bit halves of the b lanes, mul .4s forms lo*hi and hi*lo
(mod 2^32), uaddlp adds them per 64-bit lane, shl #32 moves the sum up and
umlal adds lo*lo from the xtn-narrowed low halves:

    lo64(a*b) = (al*bl + ((al*bh + ah*bl) << 32)) mod 2^64

The vectors come from ldr q loads of the operands, so each NEON pair is a
"diagonal" (a_2p*b_2r, a_2p+1*b_2r+1); the scalar side reads the result
with mov xN, vM.d[i] instead of a mul.  montmul: every such pair over the
first 2*floor(n/2) limbs (half of the low halves for n = 4, 6; 32 of 81
for n = 9), computed per pair of b limbs just before the two rows that
use them.  montsqr: the squares a_2p^2, a_2p+1^2 and the diagonal cross
pairs (a_2p*a_2r, a_2p+1*a_2r+1), p < r, all computed up front.
High halves (umulh) and the reduction products stay scalar.

Registers are handed out from a pool in a fixed order (x3-x17, then x1 and
x2 once their pointers are dead, then x19-x28, which are pushed on entry
with stp ... [sp, #-16]! and popped before ret when used); x0 is kept;
x18, x29, x30 are never touched.  Vector registers come from v0-v7 and
v16-v31 (v8-v15 are callee-saved and left alone).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MASK64 = (1 << 64) - 1

PRIMES = {
    4: ("P-256", 2**256 - 2**224 + 2**192 + 2**96 - 1),
    6: ("P-384", 2**384 - 2**128 - 2**96 + 2**32 - 1),
    9: ("P-521", 2**521 - 1),
}
SIZES = (4, 6, 9)
KINDS = ("montmul", "montsqr")
NAMES = [f"{kind}_{n}" for n in SIZES for kind in KINDS]

SCRATCH = [f"x{i}" for i in range(3, 18)]
CALLEE = [f"x{i}" for i in range(19, 29)]
VPOOL = [f"v{i}" for i in range(0, 8)] + [f"v{i}" for i in range(16, 32)]


def modulus(n: int) -> int:
    return PRIMES[n][1]


def mprime(n: int) -> int:
    """-m^-1 mod 2^64."""
    return -pow(modulus(n), -1, 1 << 64) % (1 << 64)


def limbs_of(v: int, n: int) -> list[int]:
    return [(v >> (64 * k)) & MASK64 for k in range(n)]


def default_path(name: str) -> Path:
    return HERE / f"{name}.s"


class Product:
    """A value a chain consumes that must first be produced by `emit(tmp)`.

    With temp=True the chain hands it a fresh scratch register; otherwise
    `emit(None)` writes a register of its own choosing.  `emit` returns the
    register holding the value; `release` lists registers freed once the
    value has been added in."""

    def __init__(self, emit, temp: bool = True, release: tuple[str, ...] = ()):
        self.emit = emit
        self.temp = temp
        self.release = release


class Kernel:
    def __init__(self, name: str, n: int) -> None:
        self.name = name
        self.n = n
        self.lines: list[str] = []
        self.free = SCRATCH + CALLEE
        self.order = SCRATCH + ["x1", "x2"] + CALLEE
        self.vfree = list(VPOOL)
        self.used: set[str] = set()

    # -- text ----------------------------------------------------------------

    def ins(self, op: str, args: str, comment: str = "") -> None:
        text = f"        {op:<8}{args}"
        if comment:
            text = f"{text:<44} // {comment}"
        self.lines.append(text.rstrip())

    def note(self, text: str) -> None:
        self.lines.append(f"        // {text}")

    # -- registers -------------------------------------------------------------

    def alloc(self) -> str:
        if not self.free:
            raise RuntimeError(f"{self.name}: out of registers")
        r = self.free.pop(0)
        self.used.add(r)
        return r

    def release(self, *regs: str) -> None:
        for r in regs:
            if r in ("xzr", None):
                continue
            assert r not in self.free, r
            self.free.append(r)
        self.free.sort(key=self.order.index)

    def give(self, *regs: str) -> None:
        """Hand a pointer register whose value is dead to the pool."""
        self.release(*regs)

    def room(self) -> int:
        """Temporaries a chunk may take: the free caller-saved registers, or all free ones when fewer than 2."""
        scratch = sum(r not in CALLEE for r in self.free)
        return scratch if scratch >= 2 else len(self.free)

    def valloc(self) -> str:
        return self.vfree.pop(0)

    def vrelease(self, *regs: str) -> None:
        for r in regs:
            self.vfree.append(r)
        self.vfree.sort(key=VPOOL.index)

    # -- carry chains ----------------------------------------------------------

    def chain(self, terms: list[tuple], carry_out: bool) -> None:
        """Emit dst = lhs + rhs (+ carry) for each term, one flag chain.

        A term is (dst, lhs, rhs); lhs or rhs may be a Product.  Products are
        produced in chunks (as many as the free registers allow), each chunk
        followed by its additions; mul/umulh/mov leave the flags alone, so the
        carry runs on across chunks."""
        count = len(terms)
        k = 0
        while k < count:
            chunk = []
            need = 0
            while k + len(chunk) < count:
                t = terms[k + len(chunk)]
                extra = sum(isinstance(x, Product) and x.temp for x in t[1:])
                if chunk and need + extra > self.room():
                    break
                need += extra
                chunk.append(t)
            resolved = []
            temps: list[str] = []
            for dst, *srcs in chunk:
                vals = []
                for s in srcs:
                    if isinstance(s, Product):
                        tmp = self.alloc() if s.temp else None
                        if tmp:
                            temps.append(tmp)
                        vals.append(s.emit(tmp))
                    else:
                        vals.append(s)
                resolved.append((dst, vals, [r for s in srcs if isinstance(s, Product) for r in s.release]))
            for dst, (lhs, rhs), _rel in resolved:
                if k == 0:
                    op = "adds" if (carry_out or count > 1) else "add"
                elif k == count - 1 and not carry_out:
                    op = "adc"
                else:
                    op = "adcs"
                if op == "adds" and dst == "xzr":
                    self.ins("cmn", f"{lhs}, {rhs}")
                else:
                    self.ins(op, f"{dst}, {lhs}, {rhs}")
                k += 1
            self.release(*temps)
            for _, _, rel in resolved:
                self.release(*rel)

    # -- products --------------------------------------------------------------

    def mul(self, a: str, b: str) -> Product:
        def emit(tmp):
            self.ins("mul", f"{tmp}, {a}, {b}")
            return tmp
        return Product(emit)

    def umulh(self, a: str, b: str) -> Product:
        def emit(tmp):
            self.ins("umulh", f"{tmp}, {a}, {b}")
            return tmp
        return Product(emit)

    def lane(self, v: str, i: int, comment: str = "") -> Product:
        def emit(tmp):
            self.ins("mov", f"{tmp}, {v}.d[{i}]", comment)
            return tmp
        return Product(emit)

    # -- pieces ----------------------------------------------------------------

    def constants(self) -> tuple[list[str], str | None]:
        """Registers for the modulus limbs (xzr for a zero limb) and m' (None if 1)."""
        regs: dict[int, str] = {}
        mreg = []
        for k, v in enumerate(limbs_of(modulus(self.n), self.n)):
            if v == 0:
                mreg.append("xzr")
                continue
            if v not in regs:
                regs[v] = self.alloc()
                self.ins("mov", f"{regs[v]}, #0x{v:x}", f"m{k}")
            mreg.append(regs[v])
        mp = mprime(self.n)
        mpreg = None
        if mp != 1:
            mpreg = self.alloc()
            self.ins("mov", f"{mpreg}, #0x{mp:x}", "m' = -m^-1 mod 2^64")
        return mreg, mpreg

    def load_limbs(self, base: str) -> list[str]:
        regs = [self.alloc() for _ in range(self.n)]
        for k in range(0, self.n - 1, 2):
            self.ins("ldp", f"{regs[k]}, {regs[k + 1]}, {_mem(base, 8 * k)}")
        if self.n % 2:
            self.ins("ldr", f"{regs[-1]}, {_mem(base, 8 * (self.n - 1))}")
        return regs

    def load_vectors(self, base: str, what: str) -> tuple[list[str], list[str], int]:
        """ldr q of limb pairs, their low 32-bit halves (xtn) and half-swapped copies (rev64)."""
        pairs = self.n // 2
        vec = [self.valloc() for _ in range(pairs)]
        for p in range(pairs):
            self.ins("ldr", f"q{vec[p][1:]}, {_mem(base, 16 * p)}", f"({what}{2 * p}, {what}{2 * p + 1})")
        low = [self.valloc() for _ in range(pairs)]
        for p in range(pairs):
            self.ins("xtn", f"{low[p]}.2s, {vec[p]}.2d", "low 32-bit halves")
        return vec, low, pairs

    def rev(self, vecs: list[str]) -> list[str]:
        out = [self.valloc() for _ in vecs]
        for v, r in zip(vecs, out, strict=True):
            self.ins("rev64", f"{r}.4s, {v}.4s", "32-bit halves swapped")
        return out

    def neon_lo(self, dst: str, x: str, yswap: str, xlow: str, ylow: str, comment: str) -> None:
        self.ins("mul", f"{dst}.4s, {yswap}.4s, {x}.4s", comment)
        self.ins("uaddlp", f"{dst}.2d, {dst}.4s")
        self.ins("shl", f"{dst}.2d, {dst}.2d, #32")
        self.ins("umlal", f"{dst}.2d, {xlow}.2s, {ylow}.2s")

    def final(self, w: list[str], top: str, mreg: list[str]) -> None:
        n = self.n
        self.note("---- conditional subtraction: d = T - m; keep T if that borrows")
        d = [self.alloc() for _ in range(n)]
        for k in range(n):
            self.ins("subs" if k == 0 else "sbcs", f"{d[k]}, {w[k]}, {mreg[k]}")
        self.ins("sbcs", f"xzr, {top}, xzr", "borrow <=> T < m")
        for k in range(n):
            self.ins("csel", f"{w[k]}, {w[k]}, {d[k]}, cc")
        self.note("---- store z")
        for k in range(0, n - 1, 2):
            self.ins("stp", f"{w[k]}, {w[k + 1]}, {_mem('x0', 8 * k)}")
        if n % 2:
            self.ins("str", f"{w[-1]}, {_mem('x0', 8 * (n - 1))}")

    # -- montmul ---------------------------------------------------------------

    def montmul(self) -> None:
        n = self.n
        self.note("---- constants, operand a, NEON copies of a")
        mreg, mpreg = self.constants()
        a = self.load_limbs("x1")
        va, al, pairs = self.load_vectors("x1", "a")
        self.give("x1")
        w: list[str] = []
        e0 = e1 = None
        prods: list[str] = []
        for j in range(n):
            r, par = divmod(j, 2)
            if par == 0 and r < pairs:
                self.note(f"---- NEON: low halves of a_2p*b{j}, a_2p+1*b{j + 1}")
                vb = self.valloc()
                self.ins("ldr", f"q{vb[1:]}, {_mem('x2', 16 * r)}", f"(b{j}, b{j + 1})")
                bl = self.valloc()
                self.ins("xtn", f"{bl}.2s, {vb}.2d")
                (br,) = self.rev([vb])
                prods = [self.valloc() for _ in range(pairs)]
                for p in range(pairs):
                    self.neon_lo(prods[p], va[p], br, al[p], bl,
                                 f"lo a{2 * p}*b{j}, a{2 * p + 1}*b{j + 1}")
                self.vrelease(vb, bl, br)

            def lo(i: int, j: int = j) -> Product:
                if i // 2 < pairs and j // 2 < pairs and i % 2 == j % 2:
                    return self.lane(prods[i // 2], i % 2, f"lo a{i}*b{j} (NEON)")
                return self.mul(a[i], bj)

            self.note(f"---- row {j}: T += a * b{j}")
            bj = self.alloc()
            self.ins("ldr", f"{bj}, {_mem('x2', 8 * j)}")
            if j == n - 1:
                self.give("x2")
            if j == 0:
                w = [self.alloc() for _ in range(n)]
                for i in range(n):
                    lo(i).emit(w[i])
                e0 = self.alloc()
                terms = [(w[i + 1], w[i + 1], self.umulh(a[i], bj)) for i in range(n - 1)]
                terms.append((e0, self.umulh(a[n - 1], bj), "xzr"))
                self.chain(terms, carry_out=False)
            else:
                e1 = self.alloc()
                terms = [(w[i], w[i], lo(i)) for i in range(n)]
                terms.append((e0, e0, "xzr"))
                self.chain(terms, carry_out=True)
                self.ins("adc", f"{e1}, xzr, xzr")
                terms = [(w[i + 1], w[i + 1], self.umulh(a[i], bj)) for i in range(n - 1)]
                terms.append((e0, e0, self.umulh(a[n - 1], bj)))
                self.chain(terms, carry_out=True)
                self.ins("adc", f"{e1}, {e1}, xzr")
            self.release(bj)
            if par == 1 or j == n - 1:
                self.vrelease(*[p for p in prods])
                prods = []

            self.note(f"---- reduction {j}: q = w0*m', T = (T + q*m) / 2^64")
            if mpreg is None:
                q = w[0]
            else:
                q = self.alloc()
                self.ins("mul", f"{q}, {w[0]}, {mpreg}")
            mlo = [self.mul(q, mreg[k]) if mreg[k] != "xzr" else "xzr" for k in range(n)]
            terms = [("xzr", w[0], mlo[0])] + [(w[k], w[k], mlo[k]) for k in range(1, n)]
            terms.append((e0, e0, "xzr"))
            self.chain(terms, carry_out=True)
            if e1 is None:
                e1 = self.alloc()
                self.ins("adc", f"{e1}, xzr, xzr")
            else:
                self.ins("adc", f"{e1}, {e1}, xzr")
            mhi = [self.umulh(q, mreg[k]) if mreg[k] != "xzr" else "xzr" for k in range(n)]
            terms = [(w[k + 1], w[k + 1], mhi[k]) for k in range(n - 1)]
            terms.append((e0, e0, mhi[n - 1]))
            self.chain(terms, carry_out=True)
            self.ins("adc", f"{e1}, {e1}, xzr")
            self.release(w[0])
            if q != w[0]:
                self.release(q)
            w = w[1:] + [e0]
            e0, e1 = e1, None
        self.release(*a)
        self.vrelease(*va, *al)
        self.final(w, e0, mreg)

    # -- montsqr ---------------------------------------------------------------

    def montsqr(self) -> None:
        n = self.n
        self.note("---- operand a, NEON copies of a")
        a = self.load_limbs("x1")
        va, al, pairs = self.load_vectors("x1", "a")
        self.give("x1", "x2")
        ar = self.rev(va)
        self.note("---- NEON: low halves of the squares a_2p^2, a_2p+1^2")
        sq = [self.valloc() for _ in range(pairs)]
        for p in range(pairs):
            self.neon_lo(sq[p], va[p], ar[p], al[p], al[p], f"lo a{2 * p}^2, a{2 * p + 1}^2")
        self.note("---- NEON: low halves of the cross products a_2p*a_2r, a_2p+1*a_2r+1 (p < r)")
        cross: dict[tuple[int, int], str] = {}
        for p in range(pairs):
            for r in range(p + 1, pairs):
                cross[p, r] = self.valloc()
                self.neon_lo(cross[p, r], va[p], ar[r], al[p], al[r],
                             f"lo a{2 * p}*a{2 * r}, a{2 * p + 1}*a{2 * r + 1}")
        self.vrelease(*va, *ar, *al)

        def lo(i: int, j: int) -> Product:
            if i // 2 != j // 2 and i // 2 < pairs and j // 2 < pairs and i % 2 == j % 2:
                return self.lane(cross[i // 2, j // 2], i % 2, f"lo a{i}*a{j} (NEON)")
            return self.mul(a[i], a[j])

        t: list[str | None] = [None] * (2 * n)
        for i in range(n - 1):
            self.note(f"---- cross row {i}: t += a{i} * a[{i + 1}..{n - 1}] * 2^(64*({2 * i + 1}..{i + n - 1}))")
            if i == 0:
                for j in range(1, n):
                    t[j] = self.alloc()
                    lo(0, j).emit(t[j])
                t[n] = self.alloc()
                terms = [(t[j + 1], t[j + 1], self.umulh(a[0], a[j])) for j in range(1, n - 1)]
                terms.append((t[n], self.umulh(a[0], a[n - 1]), "xzr"))
                self.chain(terms, carry_out=False)
                continue
            t[i + n] = self.alloc()
            terms = [(t[i + j], t[i + j], lo(i, j)) for j in range(i + 1, n)]
            self.chain(terms, carry_out=True)
            self.ins("adc", f"{t[i + n]}, xzr, xzr")
            terms = [(t[i + j + 1], t[i + j + 1], self.umulh(a[i], a[j])) for j in range(i + 1, n)]
            self.chain(terms, carry_out=False)
        self.vrelease(*cross.values())

        self.note("---- double the cross products")
        t[2 * n - 1] = self.alloc()
        self.chain([(t[k], t[k], t[k]) for k in range(1, 2 * n - 1)], carry_out=True)
        self.ins("adc", f"{t[2 * n - 1]}, xzr, xzr")

        self.note("---- add the squares a_i^2 (low half in place of a_i once its high half is taken)")

        def square_lo_in_place(i: int) -> None:
            if i // 2 < pairs:
                self.ins("mov", f"{a[i]}, {sq[i // 2]}.d[{i % 2}]", f"lo a{i}^2 (NEON)")
            else:
                self.ins("mul", f"{a[i]}, {a[i]}, {a[i]}")

        def hi0(tmp):
            self.ins("umulh", f"{tmp}, {a[0]}, {a[0]}")
            square_lo_in_place(0)
            return tmp

        def lo_sq(i: int) -> Product:
            if i // 2 < pairs:
                return self.lane(sq[i // 2], i % 2, f"lo a{i}^2 (NEON)")
            return self.mul(a[i], a[i])

        def hi_sq(i: int) -> Product:
            def emit(_):
                self.ins("umulh", f"{a[i]}, {a[i]}, {a[i]}")
                return a[i]
            return Product(emit, temp=False, release=(a[i],))

        t[0] = a[0]
        terms = [(t[1], t[1], Product(hi0))]
        for i in range(1, n):
            terms.append((t[2 * i], t[2 * i], lo_sq(i)))
            terms.append((t[2 * i + 1], t[2 * i + 1], hi_sq(i)))
        self.chain(terms, carry_out=False)
        self.vrelease(*sq)

        mreg, mpreg = self.constants()
        c = "xzr"
        for i in range(n):
            self.note(f"---- reduction {i}: q = t{i}*m', t += q*m*2^(64*{i}); carry word at {i + n + 1}")
            if mpreg is None:
                q = t[i]
            else:
                q = self.alloc()
                self.ins("mul", f"{q}, {t[i]}, {mpreg}")
            c1 = self.alloc()
            terms = [("xzr", t[i], self.mul(q, mreg[0]))]
            terms += [(t[i + k], t[i + k], self.mul(q, mreg[k]) if mreg[k] != "xzr" else "xzr")
                      for k in range(1, n)]
            terms.append((t[i + n], t[i + n], c))
            self.chain(terms, carry_out=True)
            self.ins("adc", f"{c1}, xzr, xzr")
            self.release(c)
            terms = [(t[i + k + 1], t[i + k + 1], self.umulh(q, mreg[k]) if mreg[k] != "xzr" else "xzr")
                     for k in range(n)]
            self.chain(terms, carry_out=True)
            self.ins("adc", f"{c1}, {c1}, xzr")
            c = c1
            self.release(t[i])
            if q != t[i]:
                self.release(q)
        self.final(t[n:], c, mreg)


def _mem(base: str, off: int) -> str:
    return f"[{base}]" if off == 0 else f"[{base}, #{off}]"


def _header(name: str, n: int, saved: list[str]) -> list[str]:
    kind = name.split("_")[0]
    prime_name, m = PRIMES[n]
    op = "a*b" if kind == "montmul" else "a^2"
    args = "x0 = z, x1 = a, x2 = b" if kind == "montmul" else "x0 = z, x1 = a"
    noalias = "x0, x1, x2" if kind == "montmul" else "x0, x1"
    save = (f"x19-x28 used: {', '.join(saved)} pushed on entry (stp ... [sp, #-16]!), popped before ret"
            if saved else "no callee-saved register used")
    return [
        f"// {name}.s -- {prime_name} Montgomery {'multiplication' if kind == 'montmul' else 'squaring'}, "
        f"z = {op} / 2^{64 * n} mod p ({n} limbs)",
        f"//     p = 0x{m:x}",
        "//",
        "// Generated by inputs/montgomery/gen_montgomery.py for this project (an example",
        "// input for the instruction-scheduling optimizer); not taken from any library.",
        "// Do not edit by hand.  Regenerate from the repository root with:",
        "//     python3 inputs/montgomery/gen_montgomery.py",
        "//",
        f"// @noalias {noalias}",
        "//",
        f"// {args}: pointers to {n} little-endian 64-bit limbs; inputs < p, output fully",
        "// reduced (< p).  The modulus and m' = -p^-1 mod 2^64 are immediates.",
        f"// Clobbers x1-x17, v0-v7, v16-v31 and NZCV; {save}.",
        "// x18, x29, x30 and v8-v15 are not touched.",
        "// Algorithm: " + ("CIOS, one row T += a*b_j and one reduction step per limb of b."
                            if kind == "montmul" else
                            "square (cross products, doubled, plus squares), then n reduction steps."),
        "// Naive order: each step's products first, then its carry chains.  Part of the",
        "// low-half products come from NEON (rev64 / mul .4s / uaddlp / shl / umlal).",
        "",
    ]


def callee_saved(used) -> list[str]:
    """The callee-saved registers a body uses, padded to whole stp/ldp pairs."""
    saved = [r for r in CALLEE if r in used]
    if len(saved) % 2:
        saved.append(CALLEE[CALLEE.index(saved[-1]) + 1])
    return saved


def function(name: str, header: list[str], body: list[str], saved: list[str]) -> str:
    """A global function: the header comment, the callee-saved pushes, the body, pops, ret."""
    pairs = [(saved[i], saved[i + 1]) for i in range(0, len(saved), 2)]
    out = header + [
        "        .text",
        f"        .globl  {name}",
        "        .balign 4",
        f"        .type   {name}, %function",
        f"{name}:",
    ]
    if pairs:
        out.append("        // ---- save the callee-saved registers used")
        out += [f"        {'stp':<8}{r1}, {r2}, [sp, #-16]!" for r1, r2 in pairs]
    out += body
    if pairs:
        out.append("        // ---- restore the callee-saved registers")
        out += [f"        {'ldp':<8}{r1}, {r2}, [sp], #16" for r1, r2 in reversed(pairs)]
    out.append("        ret")
    out += [f"        .size   {name}, .-{name}", ""]
    return "\n".join(out)


def generate(name: str) -> str:
    kind, n_text = name.split("_")
    n = int(n_text)
    k = Kernel(name, n)
    getattr(k, kind)()
    saved = callee_saved(k.used)
    return function(name, _header(name, n, saved), k.lines, saved)


def cli(argv: list[str] | None, doc: str, names: list[str], generate_one, outdir: Path) -> int:
    """`-o DIR` writes every kernel (default: next to the script); `--print NAME` one to stdout."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("-o", "--output", help="output directory (default: next to this script)")
    ap.add_argument("--print", metavar="NAME", choices=names, help="write one kernel to stdout")
    args = ap.parse_args(argv)
    if args.print:
        sys.stdout.write(generate_one(args.print))
        return 0
    out = Path(args.output) if args.output else outdir
    for name in names:
        (out / f"{name}.s").write_text(generate_one(name))
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli(argv, __doc__ or "", NAMES, generate, HERE)


if __name__ == "__main__":
    sys.exit(main())
