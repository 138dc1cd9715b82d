#!/usr/bin/env python3
"""Generate a 16 x 16-limb multiplication by one level of Karatsuba, partly on NEON.

    python3 inputs/large/gen_karatsuba_neon.py        # writes inputs/large/karatsuba_16x16_neon.s
    python3 inputs/large/gen_karatsuba_neon.py -o -   # to stdout

Written for this project (large example inputs for the instruction-scheduling
optimizer); not derived from any library.  Deterministic output: re-running
the script reproduces the committed kernel byte for byte
(tests/test_examples_large2.py checks this).

Algorithm.  With W = 2^512, x = x1*W + x0 and y = y1*W + y0 (8 limbs each):

    L = x0*y0,  H = x1*y1,  M = |x0 - x1| * |y0 - y1|
    z = L + W*(L + H - s*M) + W^2*H,   s = sign((x0 - x1)*(y0 - y1))

The middle term L + H - s*M = x0*y1 + x1*y0 is non-negative and below
2^1025, so it is computed exactly modulo 2^1088 (17 limbs).

  1. |x0 - x1|: subs/sbcs over 8 limbs, mask mx = csetm cc (all ones when
     x0 < x1), then (d xor mx) - mx limb by limb (eor, subs/sbcs with mx
     as every limb of the subtrahend: subtracting the 512-bit all-ones
     value adds 1).  Same for y with mask my.  Both go to the stack.
     n = mx xor my is all ones exactly when the product of the
     differences is negative (then the middle term is L + H + M).
  2. Three 8 x 8-limb schoolbook products (L -> z[0..15], H -> z[16..31],
     M -> stack) by product scanning (Comba): column k sums the limb
     products a_i*b_j, i + j = k, into a three-limb accumulator
     (adds lo / adcs hi / adc carry) taken from a ring of four registers,
     so a finished column limb waits in the fourth register for its
     partner of the stp.  In each product, the 16 limb products
     a[4..7]*b[0..3] come from NEON (see below); the scalar side reads
     them with mov xN, vM.d[i] instead of mul/umulh.
  3. S = L + H (17 limbs, reading z back), then S = S - (M xor n) - (n & 1)
     (subs/sbcs; the borrow-in is set by cmp xzr, n, the 17th limb of
     M xor n is n): the conditional negation of M is branch-free.
  4. z[8..31] += S: one adds/adcs chain over z[8..24], the carry rippled
     through z[25..31] (adcs with xzr).

NEON products (two 64 x 64 -> 128-bit products per vector instruction
sequence), from 32-bit halves:  for a limb pair P = (a_i, a_i+1),
uzp1/uzp2 P, P give (a_i.lo, a_i+1.lo, a_i.lo, a_i+1.lo) and the high
halves; for a limb pair Q = (b_j, b_j+1), ext swaps it to Q' and
uzp1/uzp2 Q, Q' give (b_j.lo, b_j+1.lo, b_j+1.lo, b_j.lo) and the high
halves.  The lower lanes (umull, umlal) then multiply a_i*b_j and
a_i+1*b_j+1, the upper lanes (umull2, umlal2) a_i*b_j+1 and a_i+1*b_j.
Each product is recombined as

    L = al*bl;  T = al*bh + (L >> 32);  H = ah*bh + (T >> 32)
    U = (T mod 2^32) + ah*bl;  H += U >> 32;  L = (U << 32) | (L mod 2^32)

(umull, umull, umull, usra, usra, and, umlal, usra, sli).

Registers:
  x0, x1, x2   pointers to z, x, y (preserved)
  x3-x10       a[0..7], the current left operand (x0 or x1 half, |x0-x1|)
  x11-x17, x19 b[0..7], the current right operand
  x20-x23      ring of accumulators of the Comba columns
  x24-x27      limb product halves (alternating pairs)
  x28          n = mx xor my, the sign mask of the middle term
  Steps 1, 3 and 4 use x3-x27 freely (step 1: masks mx, my in x26, x27;
  step 3: S in x3-x17, x19, x20, loaded limbs in x21-x24).
  v0 temporary, v1 mask 2^32 - 1, v2-v5 halves of a[4..7], v6/v7 halves of
  a pair of b limbs, v16-v31 the eight (low, high) product vectors.
  x19-x28 are callee-saved: stored below sp on entry and restored at the
  end.  Stack frame (336 bytes): M at sp+0, |x0-x1| at sp+128,
  |y0-y1| at sp+192, the saved registers at sp+256.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "karatsuba_16x16_neon"
N = 16                      # limbs per operand
HALF = N // 2               # limbs per Karatsuba half

A = [f"x{r}" for r in range(3, 11)]                  # left operand limbs
B = [f"x{r}" for r in (11, 12, 13, 14, 15, 16, 17, 19)]  # right operand limbs
RING = ["x20", "x21", "x22", "x23"]                  # Comba accumulators
TMP = [("x24", "x25"), ("x26", "x27")]               # (lo, hi) product halves
SIGN = "x28"
SAVED = [f"x{r}" for r in range(19, 29)]

# stack frame, offsets from sp after the prologue
OFF_M = 0
OFF_DX = 8 * 2 * HALF
OFF_DY = OFF_DX + 8 * HALF
SCRATCH = OFF_DY + 8 * HALF                          # 256
FRAME = SCRATCH + 8 * len(SAVED)                     # 336

# limb products done on NEON in every 8 x 8 piece: a[4..7] * b[0..3]
NEON_A = 4
NEON_B = 4


def default_path() -> Path:
    return HERE / f"{NAME}.s"


def _mem(base: str, off: int) -> str:
    return f"[{base}]" if off == 0 else f"[{base}, #{off}]"


class Asm:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, op: str, args: str = "", comment: str = "") -> None:
        text = f"        {op:<8}{args}"
        if comment:
            text = f"{text:<40} // {comment}"
        self.lines.append(text.rstrip())

    def note(self, text: str) -> None:
        self.lines.append(f"        // {text}")

    def blank(self) -> None:
        self.lines.append("")


def _header() -> list[str]:
    bits = 64 * N
    return [
        f"// {NAME}.s -- {bits} x {bits} -> {2 * bits}-bit multiplication by one level",
        f"//     of Karatsuba, z[0..{2 * N - 1}] = x[0..{N - 1}] * y[0..{N - 1}], from three {HALF} x {HALF}-limb",
        "//     schoolbook products with part of the limb products on NEON",
        "//",
        "// Generated by inputs/large/gen_karatsuba_neon.py for this project (a large",
        "// example input for the instruction-scheduling optimizer); not taken from any",
        "// library.  Do not edit by hand.  Regenerate from the repository root with:",
        "//     python3 inputs/large/gen_karatsuba_neon.py",
        "//",
        "// @noalias x0, x1, x2",
        "//",
        "// Calling convention (AAPCS64, straight-line):",
        f"//   x0 = pointer to z, {2 * N} little-endian 64-bit limbs (output)",
        f"//   x1 = pointer to x, {N} little-endian 64-bit limbs (input)",
        f"//   x2 = pointer to y, {N} little-endian 64-bit limbs (input)",
        "//   z must not overlap x or y (declared by the no-alias annotation above).",
        "// Clobbers: x3-x17, v0-v7, v16-v31 and the NZCV flags (all caller-saved).",
        "// x0, x1, x2 are preserved; x19-x28 are used but saved and restored; x18,",
        "// x29, x30 and v8-v15 are not touched.  Uses a 336-byte stack frame below",
        "// sp (scratch and saved registers); writes only z and that frame.",
        "//",
        "// Method (W = 2^512, x = x1*W + x0, y = y1*W + y0):",
        "//   z = L + W*(L + H - s*M) + W^2*H,  L = x0*y0, H = x1*y1,",
        "//   M = |x0-x1| * |y0-y1|, s = sign of (x0-x1)*(y0-y1).",
        "// The absolute differences use a borrow mask (csetm) and eor + subs/sbcs;",
        "// the sign s is the xor of the two masks and M is conditionally negated",
        "// with eor + subs/sbcs (no branches).  Each 8 x 8 product is a Comba",
        "// (column-wise) schoolbook with a ring of four accumulators; its 16 limb",
        "// products a[4..7]*b[0..3] are computed on NEON from 32-bit halves",
        "// (umull/umull2, usra, and, umlal/umlal2, sli) and moved over with mov.",
    ]


def _prologue(asm: Asm) -> None:
    asm.blank()
    asm.lines += [
        "        .text",
        f"        .globl  {NAME}",
        "        .balign 4",
        f"        .type   {NAME}, %function",
        f"{NAME}:",
    ]
    asm.note("---- save x19-x28, open the scratch frame")
    nsave = 8 * len(SAVED)
    asm("stp", f"{SAVED[0]}, {SAVED[1]}, [sp, #-{nsave}]!")
    for k in range(2, len(SAVED), 2):
        asm("stp", f"{SAVED[k]}, {SAVED[k + 1]}, {_mem('sp', 8 * k)}")
    asm("sub", f"sp, sp, #{SCRATCH}", "M at sp+0, |x0-x1| at sp+128, |y0-y1| at sp+192")


def _epilogue(asm: Asm) -> None:
    asm.blank()
    asm.note("---- close the frame, restore x19-x28")
    asm("add", f"sp, sp, #{SCRATCH}")
    nsave = 8 * len(SAVED)
    for k in range(2, len(SAVED), 2):
        asm("ldp", f"{SAVED[k]}, {SAVED[k + 1]}, {_mem('sp', 8 * k)}")
    asm("ldp", f"{SAVED[0]}, {SAVED[1]}, [sp], #{nsave}")
    asm("ret")
    asm.lines += [f"        .size   {NAME}, .-{NAME}", ""]


def _absdiff(asm: Asm, src: str, name: str, off: int, mask: str) -> None:
    """Stack[off..] = |src[0..7] - src[8..15]|, mask = all ones if src[0..7] < src[8..15]."""
    lo, hi = A, B
    asm.blank()
    asm.note(f"---- |{name}0 - {name}1| -> sp+{off}, {mask} = -1 if {name}0 < {name}1 else 0")
    for k in range(0, HALF, 2):
        asm("ldp", f"{lo[k]}, {lo[k + 1]}, {_mem(src, 8 * k)}", f"{name}[{k}], {name}[{k + 1}]")
    for k in range(0, HALF, 2):
        asm("ldp", f"{hi[k]}, {hi[k + 1]}, {_mem(src, 8 * (HALF + k))}",
            f"{name}[{HALF + k}], {name}[{HALF + k + 1}]")
    for k in range(HALF):
        asm("subs" if k == 0 else "sbcs", f"{lo[k]}, {lo[k]}, {hi[k]}")
    asm("csetm", f"{mask}, cc", "borrow: the difference is negative")
    for k in range(HALF):
        asm("eor", f"{lo[k]}, {lo[k]}, {mask}")
    for k in range(HALF):
        asm("subs" if k == 0 else "sbcs", f"{lo[k]}, {lo[k]}, {mask}",
            "minus the all-ones mask: +1 when negating" if k == 0 else "")
    for k in range(0, HALF, 2):
        asm("stp", f"{lo[k]}, {lo[k + 1]}, {_mem('sp', off + 8 * k)}")


def _neon(asm: Asm, abase: str, aoff: int, bbase: str, boff: int, what: str) -> dict:
    """a[4..7] * b[0..3] into v16-v31; returns {(i, j): (lo element, hi element)}."""
    asm.blank()
    asm.note(f"---- NEON part of {what}: a[4..7] * b[0..3], two limb products per vector")
    asm("ldp", f"q2, q4, {_mem(abase, aoff + 8 * NEON_A)}", "(a4, a5), (a6, a7)")
    asm("uzp2", "v3.4s, v2.4s, v2.4s", "(a4h, a5h, a4h, a5h)")
    asm("uzp1", "v2.4s, v2.4s, v2.4s", "(a4l, a5l, a4l, a5l)")
    asm("uzp2", "v5.4s, v4.4s, v4.4s", "(a6h, a7h, a6h, a7h)")
    asm("uzp1", "v4.4s, v4.4s, v4.4s", "(a6l, a7l, a6l, a7l)")
    asm("movi", "v1.2d, #0x00000000ffffffff", "mask 2^32 - 1")
    offload: dict = {}
    result = 16
    for q in range(NEON_B // 2):
        j = 2 * q
        asm("ldr", f"q6, {_mem(bbase, boff + 8 * j)}", f"(b{j}, b{j + 1})")
        asm("ext", "v0.16b, v6.16b, v6.16b, #8", f"(b{j + 1}, b{j})")
        asm("uzp2", "v7.4s, v6.4s, v0.4s", f"(b{j}h, b{j + 1}h, b{j + 1}h, b{j}h)")
        asm("uzp1", "v6.4s, v6.4s, v0.4s", f"(b{j}l, b{j + 1}l, b{j + 1}l, b{j}l)")
        for p, (al, ah) in enumerate((("v2", "v3"), ("v4", "v5"))):
            i = NEON_A + 2 * p
            for upper in (False, True):
                lo, hi = f"v{result}", f"v{result + 1}"
                result += 2
                pairs = [(i, j + 1), (i + 1, j)] if upper else [(i, j), (i + 1, j + 1)]
                asm.note(f"{lo}/{hi} = a{pairs[0][0]}*b{pairs[0][1]}, a{pairs[1][0]}*b{pairs[1][1]}")
                mull, mlal, s = ("umull2", "umlal2", "4s") if upper else ("umull", "umlal", "2s")
                asm(mull, f"{lo}.2d, {al}.{s}, v6.{s}", "al*bl")
                asm(mull, f"v0.2d, {al}.{s}, v7.{s}", "al*bh")
                asm(mull, f"{hi}.2d, {ah}.{s}, v7.{s}", "ah*bh")
                asm("usra", f"v0.2d, {lo}.2d, #32", "T = al*bh + (al*bl >> 32)")
                asm("usra", f"{hi}.2d, v0.2d, #32", "H = ah*bh + (T >> 32)")
                asm("and", "v0.16b, v0.16b, v1.16b", "T mod 2^32")
                asm(mlal, f"v0.2d, {ah}.{s}, v6.{s}", "U = T mod 2^32 + ah*bl")
                asm("usra", f"{hi}.2d, v0.2d, #32", "high half: H + (U >> 32)")
                asm("sli", f"{lo}.2d, v0.2d, #32", "low half: (U << 32) | (al*bl mod 2^32)")
                for lane, key in enumerate(pairs):
                    offload[key] = (f"{lo}.d[{lane}]", f"{hi}.d[{lane}]")
    assert result == 32
    return offload


def _comba(asm: Asm, abase: str, aoff: int, bbase: str, boff: int,
           zbase: str, zoff: int, offload: dict, what: str) -> None:
    """zbase[zoff..] (16 limbs) = a[0..7] * b[0..7], column by column."""
    asm.blank()
    asm.note(f"---- {what}: Comba schoolbook, column k = sum of a_i*b_j with i + j = k")
    for k in range(0, HALF, 2):
        asm("ldp", f"{A[k]}, {A[k + 1]}, {_mem(abase, aoff + 8 * k)}", f"a{k}, a{k + 1}")
    for k in range(0, HALF, 2):
        asm("ldp", f"{B[k]}, {B[k + 1]}, {_mem(bbase, boff + 8 * k)}", f"b{k}, b{k + 1}")
    live = [False] * 4          # which ring registers hold a live accumulator limb
    nprod = 0
    last = 2 * HALF - 2
    for k in range(last + 1):
        c0, c1, c2 = (RING[(k + d) % 4] for d in range(3))
        r0, r1, r2 = ((k + d) % 4 for d in range(3))
        live[r2] = False
        asm.note(f"column {k}: accumulator {c0}, {c1}, {c2}")
        for i in range(max(0, k - HALF + 1), min(HALF - 1, k) + 1):
            j = k - i
            lo, hi = TMP[nprod % 2]
            nprod += 1
            if not live[r0] and not live[r1]:
                lo, hi = c0, c1          # first product: straight into the accumulator
            if (i, j) in offload:
                asm("mov", f"{lo}, {offload[i, j][0]}", f"lo(a{i}*b{j})")
                asm("mov", f"{hi}, {offload[i, j][1]}", f"hi(a{i}*b{j})")
            else:
                asm("mul", f"{lo}, {A[i]}, {B[j]}", f"a{i}*b{j}")
                asm("umulh", f"{hi}, {A[i]}, {B[j]}")
            if lo == c0:
                live[r0] = live[r1] = True
                continue
            asm("adds", f"{c0}, {c0}, {lo}")
            if live[r1]:
                asm("adcs", f"{c1}, {c1}, {hi}")
            else:
                # hi <= 2^64 - 2, so hi + carry cannot carry out: nothing for c2
                asm("adc", f"{c1}, {hi}, xzr")
                live[r1] = True
                continue
            if k == last:
                continue                 # the product fits in 16 limbs: no carry out of c1
            asm("adc", f"{c2}, {c2}, xzr" if live[r2] else f"{c2}, xzr, xzr")
            live[r2] = True
        live[r0] = False
        if k % 2 == 1:
            asm("stp", f"{RING[(k - 1) % 4]}, {c0}, {_mem(zbase, zoff + 8 * (k - 1))}",
                f"limbs {k - 1}, {k}")
    asm("stp", f"{RING[last % 4]}, {RING[(last + 1) % 4]}, {_mem(zbase, zoff + 8 * last)}",
        f"limbs {last}, {last + 1}")


def _combine(asm: Asm) -> None:
    """z[8..31] += (L + H) - (M xor n) - (n & 1)."""
    S = [f"x{r}" for r in range(3, 18)] + ["x19", "x20"]          # 17 limbs
    T = ["x21", "x22", "x23", "x24", "x25", "x26"]
    n = 2 * HALF
    asm.blank()
    asm.note("---- S = L + H (17 limbs), L in z[0..15], H in z[16..31]")
    for k in range(0, n, 2):
        asm("ldp", f"{S[k]}, {S[k + 1]}, {_mem('x0', 8 * k)}", f"L{k}, L{k + 1}")
        t0, t1 = T[k % 4], T[k % 4 + 1]
        asm("ldp", f"{t0}, {t1}, {_mem('x0', 8 * (n + k))}", f"H{k}, H{k + 1}")
        asm("adds" if k == 0 else "adcs", f"{S[k]}, {S[k]}, {t0}")
        asm("adcs", f"{S[k + 1]}, {S[k + 1]}, {t1}")
    asm("adc", f"{S[n]}, xzr, xzr")
    asm.blank()
    asm.note(f"---- S = S - (M xor n) - (n & 1): S - M if n = 0, S + M if n = -1 ({SIGN} = n)")
    asm("cmp", f"xzr, {SIGN}", "C = 1 (no borrow-in) iff n = 0")
    for k in range(0, n, 2):
        t0, t1 = T[k % 4], T[k % 4 + 1]
        asm("ldp", f"{t0}, {t1}, {_mem('sp', OFF_M + 8 * k)}", f"M{k}, M{k + 1}")
        asm("eor", f"{t0}, {t0}, {SIGN}")
        asm("eor", f"{t1}, {t1}, {SIGN}")
        asm("sbcs", f"{S[k]}, {S[k]}, {t0}")
        asm("sbcs", f"{S[k + 1]}, {S[k + 1]}, {t1}")
    asm("sbc", f"{S[n]}, {S[n]}, {SIGN}", "limb 16 of M xor n is n")
    asm.blank()
    asm.note(f"---- z[{HALF}..{2 * n - 1}] += S")
    for k in range(0, 2 * n - HALF, 2):
        p = HALF + k
        t0, t1 = T[k % 4], T[k % 4 + 1]
        asm("ldp", f"{t0}, {t1}, {_mem('x0', 8 * p)}", f"z{p}, z{p + 1}")
        for d, t in enumerate((t0, t1)):
            m = k + d
            first = m == 0
            if m <= n:
                asm("adds" if first else "adcs", f"{t}, {t}, {S[m]}")
            elif p + d < 2 * n - 1:
                asm("adcs", f"{t}, {t}, xzr")
            else:
                asm("adc", f"{t}, {t}, xzr")
        asm("stp", f"{t0}, {t1}, {_mem('x0', 8 * p)}")


def generate() -> str:
    asm = Asm()
    asm.lines += _header()
    _prologue(asm)
    _absdiff(asm, "x1", "x", OFF_DX, "x26")
    _absdiff(asm, "x2", "y", OFF_DY, "x27")
    asm("eor", f"{SIGN}, x26, x27", "n = -1 iff (x0-x1)*(y0-y1) < 0")
    off = _neon(asm, "x1", 0, "x2", 0, "L = x0*y0")
    _comba(asm, "x1", 0, "x2", 0, "x0", 0, off, "L = x0*y0 -> z[0..15]")
    off = _neon(asm, "x1", 8 * HALF, "x2", 8 * HALF, "H = x1*y1")
    _comba(asm, "x1", 8 * HALF, "x2", 8 * HALF, "x0", 16 * HALF, off, "H = x1*y1 -> z[16..31]")
    off = _neon(asm, "sp", OFF_DX, "sp", OFF_DY, "M = |x0-x1|*|y0-y1|")
    _comba(asm, "sp", OFF_DX, "sp", OFF_DY, "sp", OFF_M, off, "M = |x0-x1|*|y0-y1| -> sp+0")
    _combine(asm)
    _epilogue(asm)
    return "\n".join(asm.lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", help="output file ('-' for stdout); "
                    f"default inputs/large/{NAME}.s next to this script")
    args = ap.parse_args(argv)
    text = generate()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output or default_path()).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
