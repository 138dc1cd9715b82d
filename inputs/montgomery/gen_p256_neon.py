#!/usr/bin/env python3
"""Generate NEON-assisted P-256 Montgomery multiplication and squaring kernels.

    python3 inputs/montgomery/gen_p256_neon.py          # writes inputs/montgomery/p256_mont{mul,sqr}_neon.s
    python3 inputs/montgomery/gen_p256_neon.py -o DIR   # into another directory
    python3 inputs/montgomery/gen_p256_neon.py --print p256_montsqr_neon   # one kernel to stdout

Written for this project (example inputs for the instruction-scheduling
optimizer) from the arithmetic below; not derived from any library.
Deterministic output: re-running the script reproduces the committed kernels
byte for byte (tests/test_p256_neon_kernels.py checks this).

Unlike gen_montgomery.py (generic CIOS, multiplier-bound), these kernels use
what the special prime allows and are written the way a hand-writing author
lays code out: one step at a time, every value consumed right after it is
computed.  That order is latency-bound; improving it is the scheduler's job.

Contract (p = 2^256 - 2^224 + 2^192 + 2^96 - 1, R = 2^256, a, b < p):

    p256_montmul_neon:  x0 = z, x1 = a, x2 = b  ->  z = a*b/R mod p  (fully reduced)
    p256_montsqr_neon:  x0 = z, x1 = a          ->  z = a*a/R mod p

Products.  With A0, A1 (B0, B1) the low and high 128-bit halves of a (b):

    a*b = A0*B0 + (A0*B0 + A1*B1 + (A0 - A1)*(B1 - B0)) * 2^128 + A1*B1 * 2^256

and the same identity one level down gives each 128x128 product from the two
"diagonal" 64x64 products and one product of absolute differences:
a0*b1 + a1*b0 = a0*b0 + a1*b1 + (a0 - a1)*(b1 - b0).  The signed product
is |a0 - a1|*|b1 - b0| (subs/cneg/csetm, subs/cneg/cinv give the operands
and the sign mask s = 0 or -1), added as (P xor s) + (s and 1) with the
carry-in set by `cmn s, #1` and s itself as the sign-extension word.  The
128-bit middle product |A0 - A1|*|B1 - B0| is a scalar schoolbook 2x2.
Squaring uses 2*A0*A1 = A0^2 + A1^2 - (A0 - A1)^2, so there is no sign;
the doubled cross products a0*a1 and a2*a3 are shifted left by one bit
(lsl/extr/lsr).

NEON.  The four diagonal products a_i*b_i (squares a_i^2) are full
128-bit products computed two at a time from the lanes (a0, a1) x (b0, b1)
and (a2, a3) x (b2, b3) of `ldr q` loads.  With x = xh*2^32 + xl and
y = yh*2^32 + yl in each 64-bit lane:

    low  = (xl*yl + ((xl*yh + xh*yl) mod 2^32) * 2^32) mod 2^64
           (rev64 / mul .4s / uaddlp / shl #32 / umlal)
    t    = xl*yh + (xl*yl >> 32)           (umull, usra; < 2^64)
    u    = (t mod 2^32) + xh*yl            (and with movi 0xffffffff, umlal; < 2^64)
    high = xh*yh + (t >> 32) + (u >> 32)   (umull, usra, usra)

The 32-bit halves come from xtn (low) and uzp2 (high); for squares, uzp1
and uzp2 of the lane pair with itself.  `mov xN, vM.d[i]` hands each word
to the scalar side, where it is used at once.  4 of the 10 64x64 products
of montmul run on NEON (the scalar side does 6 mul/umulh pairs), 4 of the
9 of montsqr (5 scalar pairs).

Reduction.  m' = -p^-1 mod 2^64 = 1, so q is the lowest word w0 itself, and
w0 + q*(2^64 - 1) = q*2^64, while q*(2^32 - 1)*2^64 adds back to q*2^96:

    (w + q*p) / 2^64 = (w >> 64) + q*2^32 + q*(2^64 - 2^32 + 1)*2^128

q*2^32 is (q << 32, q >> 32) and q*(2^64 - 2^32 + 1) is, in two words,
(q - (q << 32), q - (q >> 32) - borrow): lsl, lsr, subs, sbc and one
adds/adcs chain per step.  Four steps on the low half L of the product
leave (L + Q*p)/2^256 <= p in four words (every intermediate window stays
below 2^192 + p < 2^256); adding the high half H < p gives S < 2p (a fifth
carry word), and one conditional subtraction of p (adds #1 stands for
subtracting 2^64 - 1 with the same carry, then sbcs; csel keeps S when it
borrows) leaves z < p.  Two stp store z.

Registers are handed out lowest first from x3-x17, then x1 and x2 once the
pointers are dead, then x19-x28 (pushed on entry with stp ... [sp, #-16]!
and popped before ret; montmul needs x19-x22 while both operands, L and H
are live, montsqr none); x0 is kept; x18, x29, x30 are never touched.  Vector registers
come from v0-v7 and v16-v31 (v8-v15 are callee-saved and left alone).
Values are updated in place where the old one is dead, as by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the function wrapper and command line of gen_montgomery.py

from gen_montgomery import CALLEE, callee_saved, cli, function  # noqa: E402

P256 = 2**256 - 2**224 + 2**192 + 2**96 - 1
MASK64 = (1 << 64) - 1
NAMES = ["p256_montmul_neon", "p256_montsqr_neon"]

SCRATCH = [f"x{i}" for i in range(3, 18)]
ORDER = SCRATCH + ["x1", "x2"] + CALLEE
VPOOL = [f"v{i}" for i in range(0, 8)] + [f"v{i}" for i in range(16, 32)]


def default_path(name: str) -> Path:
    return HERE / f"{name}.s"


def p_limbs() -> list[int]:
    return [(P256 >> (64 * k)) & MASK64 for k in range(4)]


class Asm:
    """Instruction text plus a lowest-first register allocator."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.free = list(SCRATCH)
        self.vfree = list(VPOOL)
        self.used: set[str] = set()

    def ins(self, op: str, args: str, comment: str = "") -> None:
        text = f"        {op:<8}{args}"
        if comment:
            text = f"{text:<44} // {comment}"
        self.lines.append(text.rstrip())

    def note(self, text: str) -> None:
        self.lines.append(f"        // {text}")

    def new(self) -> str:
        if not self.free:
            self.free = [r for r in CALLEE if r not in self.used]
        if not self.free:
            raise RuntimeError(f"{self.name}: out of registers")
        reg = self.free.pop(0)
        self.used.add(reg)
        return reg

    def kill(self, *regs: str) -> None:
        for reg in regs:
            assert reg not in self.free, reg
            self.free.append(reg)
        self.free.sort(key=ORDER.index)

    def vnew(self) -> str:
        return self.vfree.pop(0)

    def vkill(self, *regs: str) -> None:
        for reg in dict.fromkeys(regs):
            assert reg not in self.vfree, reg
            self.vfree.append(reg)
        self.vfree.sort(key=VPOOL.index)


# -- NEON: two full 64x64 -> 128-bit products at once ---------------------------


def neon_halves(k: Asm, va: str, vb: str) -> tuple[str, str, str, str]:
    """32-bit halves of the lanes of va and vb: (xl, yl, xh, yh) as .2s views."""
    if va == vb:
        xl, xh = k.vnew(), k.vnew()
        k.ins("uzp1", f"{xl}.4s, {va}.4s, {va}.4s", "x mod 2^32 (lanes 0, 1)")
        k.ins("uzp2", f"{xh}.4s, {va}.4s, {va}.4s", "x >> 32")
        return xl, xl, xh, xh
    xl, yl, xh, yh = k.vnew(), k.vnew(), k.vnew(), k.vnew()
    k.ins("xtn", f"{xl}.2s, {va}.2d", "x mod 2^32")
    k.ins("xtn", f"{yl}.2s, {vb}.2d", "y mod 2^32")
    k.ins("uzp2", f"{xh}.4s, {va}.4s, {va}.4s", "x >> 32")
    k.ins("uzp2", f"{yh}.4s, {vb}.4s, {vb}.4s", "y >> 32")
    return xl, yl, xh, yh


def neon_products(k: Asm, va: str, vb: str, mask: str, what: str) -> tuple[str, str]:
    """Vectors (low, high) of the products va[i]*vb[i], i = 0, 1; va == vb squares."""
    k.note(f"NEON: {what}, full 128-bit products" + (" (y = x)" if va == vb else ""))
    xl, yl, xh, yh = neon_halves(k, va, vb)
    swapped = k.vnew()
    k.ins("rev64", f"{swapped}.4s, {vb}.4s", "y with its 32-bit halves swapped")
    lo = k.vnew()
    k.ins("mul", f"{lo}.4s, {swapped}.4s, {va}.4s", "xl*yh, xh*yl mod 2^32")
    k.ins("uaddlp", f"{lo}.2d, {lo}.4s")
    k.ins("shl", f"{lo}.2d, {lo}.2d, #32")
    k.ins("umlal", f"{lo}.2d, {xl}.2s, {yl}.2s", "low 64 bits")
    k.vkill(swapped)
    ll, t = k.vnew(), k.vnew()
    k.ins("umull", f"{ll}.2d, {xl}.2s, {yl}.2s", "xl*yl")
    k.ins("umull", f"{t}.2d, {xl}.2s, {yh}.2s", "xl*yh")
    k.ins("usra", f"{t}.2d, {ll}.2d, #32", "t = xl*yh + (xl*yl >> 32)")
    hi = k.vnew()
    k.ins("umull", f"{hi}.2d, {xh}.2s, {yh}.2s", "xh*yh")
    u = k.vnew()
    k.ins("and", f"{u}.16b, {t}.16b, {mask}.16b")
    k.ins("umlal", f"{u}.2d, {xh}.2s, {yl}.2s", "u = (t mod 2^32) + xh*yl")
    k.ins("usra", f"{hi}.2d, {t}.2d, #32")
    k.ins("usra", f"{hi}.2d, {u}.2d, #32", "high 64 bits")
    k.vkill(xl, yl, xh, yh, ll, t, u)
    return lo, hi


def lanes(k: Asm, lo: str, hi: str, names: tuple[str, str]) -> list[str]:
    """Words (lo0, hi0, lo1, hi1) of the two NEON products, moved to scalar registers."""
    w = [k.new() for _ in range(4)]
    for i in range(2):
        k.ins("mov", f"{w[2 * i]}, {lo}.d[{i}]", f"lo {names[i]}")
        k.ins("mov", f"{w[2 * i + 1]}, {hi}.d[{i}]", f"hi {names[i]}")
    k.vkill(lo, hi)
    return w


# -- scalar pieces ----------------------------------------------------------------


def karatsuba_middle(k: Asm, a: tuple[str, str], b: tuple[str, str], w: list[str], i: int) -> None:
    """w = (a_i*b_i, a_j*b_j), j = i + 1, becomes (a_i + a_j*2^64)*(b_i + b_j*2^64), in place."""
    j = i + 1
    d, s, e = k.new(), k.new(), k.new()
    k.ins("subs", f"{d}, {a[0]}, {a[1]}")
    k.ins("cneg", f"{d}, {d}, cc", f"|a{i} - a{j}|")
    k.ins("csetm", f"{s}, cc", f"-1 if a{i} < a{j}")
    k.ins("subs", f"{e}, {b[1]}, {b[0]}")
    k.ins("cneg", f"{e}, {e}, cc", f"|b{j} - b{i}|")
    k.ins("cinv", f"{s}, {s}, cc", f"sign of (a{i} - a{j})*(b{j} - b{i})")
    lo, hi = k.new(), k.new()
    k.ins("mul", f"{lo}, {d}, {e}")
    k.ins("umulh", f"{hi}, {d}, {e}")
    k.kill(d, e)
    k.ins("eor", f"{lo}, {lo}, {s}")
    k.ins("eor", f"{hi}, {hi}, {s}")
    k.ins("cmn", f"{s}, #1", "carry in = 1 when negative")
    k.ins("adcs", f"{lo}, {lo}, {w[0]}")
    k.ins("adcs", f"{hi}, {hi}, {w[1]}")
    top = k.new()
    k.ins("adc", f"{top}, {s}, xzr", f"a{i}*b{i} + signed product, 3 words")
    k.kill(s)
    k.ins("adds", f"{lo}, {lo}, {w[2]}")
    k.ins("adcs", f"{hi}, {hi}, {w[3]}")
    k.ins("adc", f"{top}, {top}, xzr", f"+ a{j}*b{j} = a{i}*b{j} + a{j}*b{i}")
    k.ins("adds", f"{w[1]}, {w[1]}, {lo}")
    k.ins("adcs", f"{w[2]}, {w[2]}, {hi}")
    k.ins("adc", f"{w[3]}, {w[3]}, {top}")
    k.kill(lo, hi, top)


def abs_diff(k: Asm, d: list[str], x: list[str], y: list[str], dead: list[str], what: str) -> str:
    """d = |x - y| (two words; d may be x or y), the sign mask returned; `dead` freed first."""
    k.ins("subs", f"{d[0]}, {x[0]}, {y[0]}")
    k.ins("sbcs", f"{d[1]}, {x[1]}, {y[1]}", what)
    k.kill(*dead)
    m = k.new()
    k.ins("csetm", f"{m}, cc", "-1 if negative")
    k.ins("eor", f"{d[0]}, {d[0]}, {m}")
    k.ins("eor", f"{d[1]}, {d[1]}, {m}")
    k.ins("subs", f"{d[0]}, {d[0]}, {m}")
    k.ins("sbc", f"{d[1]}, {d[1]}, {m}", "absolute value")
    return m


def mul_128(k: Asm, x: list[str], y: list[str]) -> list[str]:
    """Schoolbook (x0 + x1*2^64)*(y0 + y1*2^64) in four words; x and y are freed."""
    p0, p1 = k.new(), k.new()
    k.ins("mul", f"{p0}, {x[0]}, {y[0]}")
    k.ins("umulh", f"{p1}, {x[0]}, {y[0]}")
    lo, p2 = k.new(), k.new()
    k.ins("mul", f"{lo}, {x[0]}, {y[1]}")
    k.ins("umulh", f"{p2}, {x[0]}, {y[1]}")
    k.kill(x[0])
    k.ins("adds", f"{p1}, {p1}, {lo}")
    k.ins("adc", f"{p2}, {p2}, xzr")
    hi = k.new()
    k.ins("mul", f"{lo}, {x[1]}, {y[0]}")
    k.ins("umulh", f"{hi}, {x[1]}, {y[0]}")
    k.kill(y[0])
    k.ins("adds", f"{p1}, {p1}, {lo}")
    k.ins("adcs", f"{p2}, {p2}, {hi}")
    k.kill(lo)
    p3 = k.new()
    k.ins("adc", f"{p3}, xzr, xzr")
    k.ins("mul", f"{hi}, {x[1]}, {y[1]}")
    k.ins("umulh", f"{x[1]}, {x[1]}, {y[1]}")
    k.ins("adds", f"{p2}, {p2}, {hi}")
    k.ins("adc", f"{p3}, {p3}, {x[1]}")
    k.kill(hi, x[1], y[1])
    return [p0, p1, p2, p3]


def double_cross(k: Asm, x: str, y: str, w: list[str], what: str) -> None:
    """w (x^2, y^2 as four words) += 2*x*y*2^64, making (x + y*2^64)^2."""
    c0, c1, c2 = k.new(), k.new(), k.new()
    k.ins("mul", f"{c0}, {x}, {y}", f"{what}")
    k.ins("umulh", f"{c1}, {x}, {y}")
    k.ins("lsr", f"{c2}, {c1}, #63")
    k.ins("extr", f"{c1}, {c1}, {c0}, #63")
    k.ins("lsl", f"{c0}, {c0}, #1", f"2*{what} in three words")
    k.ins("adds", f"{w[1]}, {w[1]}, {c0}")
    k.ins("adcs", f"{w[2]}, {w[2]}, {c1}")
    k.ins("adc", f"{w[3]}, {w[3]}, {c2}")
    k.kill(c0, c1, c2)


def add_middle(k: Asm, m: list[str], t: list[str]) -> None:
    """t (8 words) += m (5 words) * 2^128; m is freed."""
    k.ins("adds", f"{t[2]}, {t[2]}, {m[0]}")
    for i in range(1, 5):
        k.ins("adcs", f"{t[2 + i]}, {t[2 + i]}, {m[i]}")
    k.ins("adc", f"{t[7]}, {t[7]}, xzr")
    k.kill(*m)


def chain(k: Asm, first: str, rest: str, dst: list[str], x: list[str], y: list[str]) -> None:
    """One flag chain dst[i] = x[i] op y[i]: `first` then `rest` (e.g. adds, adcs)."""
    for i, (d, a, b) in enumerate(zip(dst, x, y, strict=True)):
        k.ins(first if i == 0 else rest, f"{d}, {a}, {b}")


# -- reduction and final subtraction ---------------------------------------------


def reduce_step(k: Asm, w: list[str], i: int) -> list[str]:
    """(w + q*p) / 2^64 for q = w0, in four words: the next window."""
    k.note(f"reduction {i}: q = w0, w = (w + q*p) / 2^64 = w/2^64 + q*2^32 + q*p3*2^128")
    q = w[0]
    sl, sr, lo = k.new(), k.new(), k.new()
    k.ins("lsl", f"{sl}, {q}, #32")
    k.ins("lsr", f"{sr}, {q}, #32")
    k.ins("subs", f"{lo}, {q}, {sl}", "q*p3 = q*2^64 - q*2^32 + q: low word")
    k.ins("sbc", f"{q}, {q}, {sr}", "high word")
    k.ins("adds", f"{w[1]}, {w[1]}, {sl}")
    k.ins("adcs", f"{w[2]}, {w[2]}, {sr}")
    k.ins("adcs", f"{w[3]}, {w[3]}, {lo}")
    k.ins("adc", f"{q}, {q}, xzr")
    k.kill(sl, sr, lo)
    return [w[1], w[2], w[3], q]


def reduce_and_store(k: Asm, t: list[str]) -> None:
    """z = (t + Q*p) / 2^256 mod p, fully reduced, stored at x0."""
    w = t[:4]
    for i in range(4):
        w = reduce_step(k, w, i)
    k.note("add the high half: S = w + t[4..7] < 2p")
    top = k.new()
    chain(k, "adds", "adcs", w, w, t[4:])
    k.ins("adc", f"{top}, xzr, xzr")
    k.kill(*t[4:])
    k.note("conditional subtraction: d = S - p; keep S if that borrows")
    m1, m3 = k.new(), k.new()
    pl = p_limbs()
    k.ins("mov", f"{m1}, #0x{pl[1]:x}", "p1")
    k.ins("mov", f"{m3}, #0x{pl[3]:x}", "p3 (p2 = 0)")
    d = [k.new() for _ in range(4)]
    k.ins("adds", f"{d[0]}, {w[0]}, #1", "w0 - (2^64 - 1), same carry")
    k.ins("sbcs", f"{d[1]}, {w[1]}, {m1}")
    k.ins("sbcs", f"{d[2]}, {w[2]}, xzr")
    k.ins("sbcs", f"{d[3]}, {w[3]}, {m3}")
    k.ins("sbcs", "xzr, " + f"{top}, xzr", "borrow <=> S < p")
    for i in range(4):
        k.ins("csel", f"{w[i]}, {w[i]}, {d[i]}, cc")
    k.note("store z")
    k.ins("stp", f"{w[0]}, {w[1]}, [x0]")
    k.ins("stp", f"{w[2]}, {w[3]}, [x0, #16]")
    k.kill(*w, top, m1, m3, *d)


# -- kernels ------------------------------------------------------------------------


def load(k: Asm, base: str, what: str) -> tuple[list[str], list[str]]:
    """Limbs of one operand in scalar registers (ldp) and as lane pairs (ldr q)."""
    x = [k.new() for _ in range(4)]
    k.ins("ldp", f"{x[0]}, {x[1]}, [{base}]")
    k.ins("ldp", f"{x[2]}, {x[3]}, [{base}, #16]")
    v = [k.vnew(), k.vnew()]
    k.ins("ldr", f"q{v[0][1:]}, [{base}]", f"({what}0, {what}1)")
    k.ins("ldr", f"q{v[1][1:]}, [{base}, #16]", f"({what}2, {what}3)")
    return x, v


def mask32(k: Asm) -> str:
    m = k.vnew()
    k.ins("movi", f"{m}.2d, #0x00000000ffffffff", "mask of the low 32 bits")
    return m


def montmul(k: Asm) -> None:
    k.note("load a and b (scalar and lane pairs)")
    a, va = load(k, "x1", "a")
    b, vb = load(k, "x2", "b")
    k.kill("x1", "x2")
    mask = mask32(k)
    t: list[str] = []
    for h in range(2):
        i, j = 2 * h, 2 * h + 1
        k.note(f"---- {'L = A0*B0' if h == 0 else 'H = A1*B1'}: a{i}*b{i}, a{j}*b{j} on NEON, "
               f"Karatsuba middle term on scalar")
        lo, hi = neon_products(k, va[h], vb[h], mask, f"a{i}*b{i}, a{j}*b{j}")
        w = lanes(k, lo, hi, (f"a{i}*b{i}", f"a{j}*b{j}"))
        k.vkill(va[h], vb[h])
        k.note(f"middle: a{i}*b{j} + a{j}*b{i} = a{i}*b{i} + a{j}*b{j} + (a{i} - a{j})*(b{j} - b{i})")
        karatsuba_middle(k, (a[i], a[j]), (b[i], b[j]), w, i)
        t += w
    k.vkill(mask)
    k.note("---- M = (A0 - A1)*(B1 - B0) from absolute values and a sign mask")
    sa = abs_diff(k, a[:2], a[:2], a[2:], a[2:], "A0 - A1")
    sb = abs_diff(k, b[:2], b[2:], b[:2], b[2:], "B1 - B0")
    k.ins("eor", f"{sa}, {sa}, {sb}", "sign of M")
    k.kill(sb)
    p = mul_128(k, a[:2], b[:2])
    k.note("---- t += (L + H + M) * 2^128, the middle term (5 words, signed M)")
    for r in p:
        k.ins("eor", f"{r}, {r}, {sa}")
    k.ins("cmn", f"{sa}, #1", "carry in = 1 when M < 0")
    p.append(k.new())
    chain(k, "adcs", "adcs", p[:4], p[:4], t[:4])
    k.ins("adc", f"{p[4]}, {sa}, xzr", "L + M")
    k.kill(sa)
    chain(k, "adds", "adcs", p[:4], p[:4], t[4:])
    k.ins("adc", f"{p[4]}, {p[4]}, xzr", "+ H")
    add_middle(k, p, t)
    k.note("---- Montgomery reduction of t")
    reduce_and_store(k, t)


def montsqr(k: Asm) -> None:
    k.note("load a (scalar and lane pairs)")
    a, va = load(k, "x1", "a")
    k.kill("x1", "x2")
    mask = mask32(k)
    t: list[str] = []
    for h in range(2):
        i, j = 2 * h, 2 * h + 1
        k.note(f"---- {'A0^2' if h == 0 else 'A1^2'}: a{i}^2, a{j}^2 on NEON, 2*a{i}*a{j} on scalar")
        lo, hi = neon_products(k, va[h], va[h], mask, f"a{i}^2, a{j}^2")
        w = lanes(k, lo, hi, (f"a{i}^2", f"a{j}^2"))
        k.vkill(va[h])
        double_cross(k, a[i], a[j], w, f"a{i}*a{j}")
        t += w
    k.vkill(mask)
    k.note("---- D = |A0 - A1|, D^2 (2*A0*A1 = A0^2 + A1^2 - D^2)")
    k.kill(abs_diff(k, a[:2], a[:2], a[2:], a[2:], "A0 - A1"))
    d = a[:2]
    e = [k.new() for _ in range(4)]
    k.ins("mul", f"{e[0]}, {d[0]}, {d[0]}", "D = d0 + d1*2^64")
    k.ins("umulh", f"{e[1]}, {d[0]}, {d[0]}")
    k.ins("mul", f"{e[2]}, {d[1]}, {d[1]}")
    k.ins("umulh", f"{e[3]}, {d[1]}, {d[1]}")
    double_cross(k, d[0], d[1], e, "d0*d1")
    k.kill(*d)
    k.note("---- t += (A0^2 + A1^2 - D^2) * 2^128, the middle term (5 words)")
    e.append(k.new())
    chain(k, "subs", "sbcs", e[:4], t[:4], e[:4])
    k.ins("sbc", f"{e[4]}, xzr, xzr", "A0^2 - D^2 (may be negative)")
    chain(k, "adds", "adcs", e[:4], e[:4], t[4:])
    k.ins("adc", f"{e[4]}, {e[4]}, xzr", "+ A1^2 = 2*A0*A1")
    add_middle(k, e, t)
    k.note("---- Montgomery reduction of t")
    reduce_and_store(k, t)


def _header(name: str, saved: list[str]) -> list[str]:
    mul = "montmul" in name
    save = (f"{', '.join(saved)} pushed on entry (stp ... [sp, #-16]!), popped before ret"
            if saved else "no callee-saved register used")
    return [
        f"// {name}.s -- P-256 Montgomery {'multiplication' if mul else 'squaring'}, "
        f"z = {'a*b' if mul else 'a^2'} / 2^256 mod p (4 limbs), NEON-assisted",
        f"//     p = 0x{P256:x}",
        "//       = 2^256 - 2^224 + 2^192 + 2^96 - 1",
        "//",
        "// Generated by inputs/montgomery/gen_p256_neon.py for this project (an example",
        "// input for the instruction-scheduling optimizer); not taken from any library.",
        "// Do not edit by hand.  Regenerate from the repository root with:",
        "//     python3 inputs/montgomery/gen_p256_neon.py",
        "//",
        f"// @noalias {'x0, x1, x2' if mul else 'x0, x1'}",
        "//",
        f"// {'x0 = z, x1 = a, x2 = b' if mul else 'x0 = z, x1 = a'}: pointers to 4 little-endian "
        "64-bit limbs; inputs < p,",
        "// output fully reduced (< p).  z must not overlap the inputs.",
        f"// Clobbers x1-x17, v0-v7, v16-v31 and NZCV; {save}.",
        "// x18, x29, x30 and v8-v15 are not touched.",
        "// Product: " + ("Karatsuba on 128-bit halves, A0*B0 and A1*B1 each by Karatsuba on"
                          if mul else "A0^2 + (A0^2 + A1^2 - (A0 - A1)^2)*2^128 + A1^2*2^256; the"),
        "// " + ("64-bit limbs; the diagonal products a_i*b_i as full 128-bit products on NEON,"
                 if mul else "squares a_i^2 as full 128-bit products on NEON, the cross products"),
        "// " + ("the three products of absolute differences on scalar mul/umulh."
                 if mul else "a0*a1, a2*a3 and (A0 - A1)^2 on scalar mul/umulh."),
        "// Reduction: m' = 1; four shift-based steps (lsl/lsr #32, subs/sbc, adds/adcs)",
        "// on the low half, add the high half, one conditional subtraction of p.",
        "// Naive order: written step by step, each value consumed right after it is computed.",
        "",
    ]


def generate(name: str) -> str:
    k = Asm(name)
    (montmul if "montmul" in name else montsqr)(k)
    saved = callee_saved(k.used)
    return function(name, _header(name, saved), k.lines, saved)


def main(argv: list[str] | None = None) -> int:
    return cli(argv, __doc__ or "", NAMES, generate, HERE)


if __name__ == "__main__":
    sys.exit(main())
