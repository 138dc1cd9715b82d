#!/usr/bin/env python3
"""Generate a straight-line P-256 point doubling (Jacobian coordinates, a = -3).

    python3 inputs/large/gen_p256_double.py        # writes inputs/large/p256_double.s
    python3 inputs/large/gen_p256_double.py -o -   # to stdout

Written for this project (large example inputs for the instruction-scheduling
optimizer); not derived from any library.  Deterministic output: re-running
the script reproduces the committed kernel byte for byte
(tests/test_examples_large2.py checks this).

Point doubling, formula "dbl-2001-b" of the Explicit-Formulas Database
(Jacobian coordinates, curve coefficient a = -3):

    delta = Z1^2          gamma = Y1^2          beta = X1*gamma
    alpha = 3*(X1 - delta)*(X1 + delta)
    X3 = alpha^2 - 8*beta
    Z3 = (Y1 + Z1)^2 - gamma - delta
    Y3 = alpha*(4*beta - X3) - 8*gamma^2

All values are field elements mod p = 2^256 - 2^224 + 2^192 + 2^96 - 1 in
Montgomery form (R = 2^256), four little-endian 64-bit limbs, fully reduced
(< p) on input and output.  Every field operation is inlined; each loads its
operands (from the input point, the output point or a 32-byte stack slot),
computes in registers and stores its result:

  * mont_mul / mont_sqr: the 512-bit product t = a*b (16 mul/umulh by rows,
    two carry chains per row) or t = a^2 (the six cross products once,
    doubled with adds/adcs, plus the four squares), then four Montgomery
    steps on t0..t3.  Since p = -1 mod 2^64, the quotient of a step is the
    bottom limb q itself, and with p = p3*2^192 + 2^96 - 1
    (p3 = 0xffffffff00000001)
        (w + q*p) / 2^64 = w1 + w2*2^64 + w3*2^128 + q*2^32 + q*p3*2^128,
    i.e. adds (q lsl 32), adcs (q lsr 32), adcs lo(q*p3), adc hi(q*p3): the
    window stays four limbs.  Adding t4..t7 gives a 257-bit value < 2p;
    p is subtracted (adds #1 / sbcs with p1, 0, p3 / sbcs on the carry limb)
    and csel keeps the original when that borrows.
  * add (and double, and triple as double + add): a + b with carry, then the
    same conditional subtraction of p.
  * sub: a - b, then csetm on the borrow gives a mask m, and p & m (m,
    m & 0xffffffff, 0, m & 0xffffffff00000001) is added back.

Registers (x0 = output point, x1 = input point, both preserved):
  x2-x5    first operand a0..a3 (also the add/sub result)
  x6-x9    second operand b0..b3
  x10-x17  product t0..t7 (t0..t3 are the Montgomery window)
  x19-x22  product halves and reduction temporaries
  x23, x24 constants p3 = 0xffffffff00000001 and p1 = 0xffffffff, loaded
           with mov by every operation that needs them
x19-x24 are callee-saved: stored on the stack on entry, restored at the end.
Stack frame: 32-byte slots for the temporaries at sp+0, sp+32, ... (a slot
is reused once its value is dead; allocate_slots), then the saved registers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "p256_double"

P = 2**256 - 2**224 + 2**192 + 2**96 - 1
P1 = 0x00000000FFFFFFFF
P3 = 0xFFFFFFFF00000001

A = ["x2", "x3", "x4", "x5"]
B = ["x6", "x7", "x8", "x9"]
T = [f"x{r}" for r in range(10, 18)]
U = ["x19", "x20", "x21", "x22"]
RP3, RP1 = "x23", "x24"
SAVED = [f"x{r}" for r in range(19, 25)]

# where the inputs and outputs live: (base register, byte offset); temporaries
# get 32-byte stack slots
PLACES = {
    "X1": ("x1", 0), "Y1": ("x1", 32), "Z1": ("x1", 64),
    "X3": ("x0", 0), "Y3": ("x0", 32), "Z3": ("x0", 64),
}


def default_path() -> Path:
    return HERE / f"{NAME}.s"


def _mem(base: str, off: int) -> str:
    return f"[{base}]" if off == 0 else f"[{base}, #{off}]"


class Kernel:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.slot: dict[str, int] = {}

    # -- text ----------------------------------------------------------------

    def ins(self, op: str, args: str, comment: str = "") -> None:
        text = f"        {op:<8}{args}"
        if comment:
            text = f"{text:<40} // {comment}"
        self.lines.append(text.rstrip())

    def note(self, text: str) -> None:
        self.lines.append(f"        // {text}")

    # -- values ----------------------------------------------------------------

    def place(self, name: str) -> tuple[str, int]:
        if name in PLACES:
            return PLACES[name]
        return "sp", 32 * self.slot[name]

    def load(self, regs: list[str], name: str) -> None:
        base, off = self.place(name)
        self.ins("ldp", f"{regs[0]}, {regs[1]}, {_mem(base, off)}", f"{name}")
        self.ins("ldp", f"{regs[2]}, {regs[3]}, {_mem(base, off + 16)}")

    def store(self, regs: list[str], name: str) -> None:
        base, off = self.place(name)
        self.ins("stp", f"{regs[0]}, {regs[1]}, {_mem(base, off)}", f"-> {name}")
        self.ins("stp", f"{regs[2]}, {regs[3]}, {_mem(base, off + 16)}")

    # -- pieces ----------------------------------------------------------------

    def constants(self) -> None:
        self.ins("mov", f"{RP3}, #0x{P3:016x}", "p3")
        self.ins("mov", f"{RP1}, #0x{P1:x}", "p1 (p0 = 2^64 - 1, p2 = 0)")

    def reduce_p(self, s: list[str], carry: str, d: list[str]) -> None:
        """s (with carry limb `carry`, value < 2p) -> s mod p in s; d is scratch."""
        self.ins("adds", f"{d[0]}, {s[0]}, #1", "s - p: limb 0 of p is 2^64 - 1")
        self.ins("sbcs", f"{d[1]}, {s[1]}, {RP1}")
        self.ins("sbcs", f"{d[2]}, {s[2]}, xzr")
        self.ins("sbcs", f"{d[3]}, {s[3]}, {RP3}")
        self.ins("sbcs", f"xzr, {carry}, xzr", "borrow <=> s < p: keep s")
        for k in range(4):
            self.ins("csel", f"{s[k]}, {s[k]}, {d[k]}, cc")

    def product(self) -> None:
        """T[0..7] = A * B, row by row (row j: T[j..j+4] += A * b_j)."""
        t, b = T, B
        for j in range(4):
            self.note(f"row {j}: t{j}..t{j + 4} += a * b{j}")
            if j == 0:
                for i in range(4):
                    self.ins("mul", f"{t[i]}, {A[i]}, {b[0]}")
                for i in range(4):
                    self.ins("umulh", f"{U[i]}, {A[i]}, {b[0]}")
                self.ins("adds", f"{t[1]}, {t[1]}, {U[0]}")
                self.ins("adcs", f"{t[2]}, {t[2]}, {U[1]}")
                self.ins("adcs", f"{t[3]}, {t[3]}, {U[2]}")
                self.ins("adc", f"{t[4]}, {U[3]}, xzr")
                continue
            for i in range(4):
                self.ins("mul", f"{U[i]}, {A[i]}, {b[j]}")
            for i in range(4):
                self.ins("adds" if i == 0 else "adcs", f"{t[j + i]}, {t[j + i]}, {U[i]}")
            self.ins("cset", f"{t[j + 4]}, cs")
            for i in range(4):
                self.ins("umulh", f"{U[i]}, {A[i]}, {b[j]}")
            for i in range(3):
                self.ins("adds" if i == 0 else "adcs", f"{t[j + 1 + i]}, {t[j + 1 + i]}, {U[i]}")
            self.ins("adc", f"{t[j + 4]}, {t[j + 4]}, {U[3]}")

    def square(self) -> None:
        """T[0..7] = A^2: cross products once, doubled, plus the squares."""
        a, t, u = A, T, U
        self.note("cross products a_i*a_j, i < j, into t1..t6")
        self.ins("mul", f"{t[1]}, {a[0]}, {a[1]}")
        self.ins("mul", f"{t[2]}, {a[0]}, {a[2]}")
        self.ins("mul", f"{t[3]}, {a[0]}, {a[3]}")
        self.ins("umulh", f"{u[0]}, {a[0]}, {a[1]}")
        self.ins("umulh", f"{u[1]}, {a[0]}, {a[2]}")
        self.ins("umulh", f"{u[2]}, {a[0]}, {a[3]}")
        self.ins("adds", f"{t[2]}, {t[2]}, {u[0]}")
        self.ins("adcs", f"{t[3]}, {t[3]}, {u[1]}")
        self.ins("adc", f"{t[4]}, {u[2]}, xzr")
        self.ins("mul", f"{u[0]}, {a[1]}, {a[2]}")
        self.ins("mul", f"{u[1]}, {a[1]}, {a[3]}")
        self.ins("umulh", f"{u[2]}, {a[1]}, {a[2]}")
        self.ins("umulh", f"{u[3]}, {a[1]}, {a[3]}")
        self.ins("adds", f"{t[3]}, {t[3]}, {u[0]}")
        self.ins("adcs", f"{t[4]}, {t[4]}, {u[1]}")
        self.ins("cset", f"{t[5]}, cs")
        self.ins("adds", f"{t[4]}, {t[4]}, {u[2]}")
        self.ins("adc", f"{t[5]}, {t[5]}, {u[3]}")
        self.ins("mul", f"{u[0]}, {a[2]}, {a[3]}")
        self.ins("umulh", f"{t[6]}, {a[2]}, {a[3]}")
        self.ins("adds", f"{t[5]}, {t[5]}, {u[0]}")
        self.ins("adc", f"{t[6]}, {t[6]}, xzr")
        self.note("double the cross products: t1..t7 = 2 * (t1..t6)")
        for k in range(1, 7):
            self.ins("adds" if k == 1 else "adcs", f"{t[k]}, {t[k]}, {t[k]}")
        self.ins("adc", f"{t[7]}, xzr, xzr")
        self.note("add the squares a_i^2 at limbs 2i, 2i+1")
        for i in range(4):
            lo, hi = (t[0], u[0]) if i == 0 else (u[2 * (i % 2)], u[2 * (i % 2) + 1])
            self.ins("mul", f"{lo}, {a[i]}, {a[i]}")
            self.ins("umulh", f"{hi}, {a[i]}, {a[i]}")
            if i == 0:
                self.ins("adds", f"{t[1]}, {t[1]}, {hi}")
                continue
            self.ins("adcs", f"{t[2 * i]}, {t[2 * i]}, {lo}")
            self.ins("adcs" if i < 3 else "adc", f"{t[2 * i + 1]}, {t[2 * i + 1]}, {hi}")

    def montgomery(self) -> None:
        """T[0..7] (< p^2) -> T[0..3] = T * 2^-256 mod p (fully reduced)."""
        w = T[:4]
        self.note("Montgomery reduction: four steps q = w0, w = (w + q*p) / 2^64")
        for step in range(4):
            q = w[0]
            self.ins("lsr", f"{U[0]}, {q}, #32", f"step {step}: q = {q}, q >> 32")
            self.ins("mul", f"{U[1]}, {q}, {RP3}", "lo(q * p3)")
            self.ins("umulh", f"{U[2]}, {q}, {RP3}", "hi(q * p3)")
            self.ins("adds", f"{w[1]}, {w[1]}, {q}, lsl #32")
            self.ins("adcs", f"{w[2]}, {w[2]}, {U[0]}")
            self.ins("adcs", f"{w[3]}, {w[3]}, {U[1]}")
            self.ins("adc", f"{q}, {U[2]}, xzr", "hi(q * p3) < 2^64 - 1: no carry out")
            w = w[1:] + [q]
        assert w == T[:4]
        self.note("add the high half (sum < 2p), subtract p unless that borrows")
        for k in range(4):
            self.ins("adds" if k == 0 else "adcs", f"{T[k]}, {T[k]}, {T[4 + k]}")
        self.ins("adc", f"{U[3]}, xzr, xzr")
        self.reduce_p(T[:4], U[3], T[4:])

    # -- field operations ------------------------------------------------------

    def header(self, text: str) -> None:
        self.lines.append("")
        self.note(f"---- {text}")

    def mul(self, dst: str, x: str, y: str) -> None:
        self.header(f"{dst} = {x} * {y} / R mod p")
        self.load(A, x)
        self.load(B, y)
        self.constants()
        self.product()
        self.montgomery()
        self.store(T[:4], dst)

    def sqr(self, dst: str, x: str) -> None:
        self.header(f"{dst} = {x}^2 / R mod p")
        self.load(A, x)
        self.constants()
        self.square()
        self.montgomery()
        self.store(T[:4], dst)

    def add(self, dst: str, x: str, y: str | None = None) -> None:
        """dst = x + y mod p (y = None: 2x)."""
        self.header(f"{dst} = {x} + {y or x} mod p")
        self.load(A, x)
        other = A
        if y is not None:
            self.load(B, y)
            other = B
        self.constants()
        for k in range(4):
            self.ins("adds" if k == 0 else "adcs", f"{A[k]}, {A[k]}, {other[k]}")
        self.ins("adc", f"{U[0]}, xzr, xzr")
        self.reduce_p(A, U[0], T[:4])
        self.store(A, dst)

    def sub(self, dst: str, x: str, y: str) -> None:
        self.header(f"{dst} = {x} - {y} mod p")
        self.load(A, x)
        self.load(B, y)
        for k in range(4):
            self.ins("subs" if k == 0 else "sbcs", f"{A[k]}, {A[k]}, {B[k]}")
        self.ins("csetm", f"{U[0]}, cc", "m = -1 on borrow: add p back")
        self.ins("and", f"{U[1]}, {U[0]}, #0x{P1:x}", "p1 & m")
        self.ins("and", f"{U[2]}, {U[0]}, #0x{P3:016x}", "p3 & m")
        self.ins("adds", f"{A[0]}, {A[0]}, {U[0]}", "p0 & m = m")
        self.ins("adcs", f"{A[1]}, {A[1]}, {U[1]}")
        self.ins("adcs", f"{A[2]}, {A[2]}, xzr")
        self.ins("adc", f"{A[3]}, {A[3]}, {U[2]}")
        self.store(A, dst)


def _header(frame: int) -> list[str]:
    return [
        f"// {NAME}.s -- P-256 point doubling in Jacobian coordinates, (X3, Y3, Z3) = 2 * (X1, Y1, Z1)",
        "//     over p = 2^256 - 2^224 + 2^192 + 2^96 - 1, curve coefficient a = -3",
        "//",
        "// Generated by inputs/large/gen_p256_double.py for this project (a large example",
        "// input for the instruction-scheduling optimizer); not taken from any library.",
        "// Do not edit by hand.  Regenerate from the repository root with:",
        "//     python3 inputs/large/gen_p256_double.py",
        "//",
        "// @noalias x0, x1",
        "//",
        "// Calling convention (AAPCS64, straight-line):",
        "//   x0 = pointer to the output point (X3, Y3, Z3), 3 x 4 little-endian 64-bit limbs",
        "//   x1 = pointer to the input point (X1, Y1, Z1), same layout",
        "//   Coordinates in Montgomery form (x*2^256 mod p), fully reduced (< p) in and out.",
        "//   The output must not overlap the input (declared by the no-alias annotation).",
        "// Clobbers: x2-x17 and the NZCV flags (caller-saved).  x0 and x1 are preserved;",
        "// x19-x24 are used but saved and restored; x18, x25-x30 and the SIMD registers",
        f"// are not touched.  Uses a {frame}-byte stack frame below sp (temporaries and saved",
        "// registers); writes only the output point and that frame.",
        "//",
        "// Method (dbl-2001-b): delta = Z1^2, gamma = Y1^2, beta = X1*gamma,",
        "//   alpha = 3*(X1-delta)*(X1+delta), X3 = alpha^2 - 8*beta,",
        "//   Z3 = (Y1+Z1)^2 - gamma - delta, Y3 = alpha*(4*beta - X3) - 8*gamma^2.",
        "// Field operations inlined: Montgomery multiplication/squaring (512-bit product,",
        "// four reduction steps using p = -1 mod 2^64, conditional subtraction with",
        "// csel), addition (conditional subtraction of p), subtraction (p added back",
        "// under a csetm borrow mask).  Temporaries live in 32-byte stack slots.",
    ]


# The doubling as a list of field operations (op, destination, operands).
PROGRAM = [
    ("sqr", "delta", "Z1"),                 # delta = Z1^2
    ("sqr", "gamma", "Y1"),                 # gamma = Y1^2
    ("mul", "beta", "X1", "gamma"),         # beta = X1 * gamma
    ("sub", "xmd", "X1", "delta"),
    ("add", "xpd", "X1", "delta"),
    ("mul", "m", "xmd", "xpd"),             # (X1 - delta) * (X1 + delta)
    ("add", "m2", "m"),
    ("add", "alpha", "m2", "m"),            # alpha = 3 * m
    ("sqr", "alpha2", "alpha"),
    ("add", "beta2", "beta"),
    ("add", "beta4", "beta2"),
    ("add", "beta8", "beta4"),
    ("sub", "X3", "alpha2", "beta8"),       # X3 = alpha^2 - 8 beta
    ("add", "ypz", "Y1", "Z1"),
    ("sqr", "ypz2", "ypz"),
    ("sub", "zt", "ypz2", "gamma"),
    ("sub", "Z3", "zt", "delta"),           # Z3 = (Y1 + Z1)^2 - gamma - delta
    ("sub", "d", "beta4", "X3"),
    ("mul", "ad", "alpha", "d"),            # alpha * (4 beta - X3)
    ("sqr", "g2", "gamma"),
    ("add", "g4", "g2"),
    ("add", "g8a", "g4"),
    ("add", "g8", "g8a"),                   # 8 gamma^2
    ("sub", "Y3", "ad", "g8"),              # Y3 = alpha * (4 beta - X3) - 8 gamma^2
]


def allocate_slots(program: list[tuple]) -> dict[str, int]:
    """A stack slot per temporary; a slot is reused once its value is dead (after
    the operation that reads it last has stored its own result)."""
    last = {}
    for k, (_, _, *srcs) in enumerate(program):
        for s in srcs:
            last[s] = k
    slot: dict[str, int] = {}
    free: list[int] = []
    used = 0
    for k, (_, dst, *srcs) in enumerate(program):
        if dst not in PLACES:
            if free:
                slot[dst] = free.pop(0)
            else:
                slot[dst] = used
                used += 1
        for s in dict.fromkeys(srcs):
            if s in slot and last[s] == k:
                free.append(slot[s])
                free.sort()
    return slot


def generate() -> str:
    k = Kernel()
    k.slot = allocate_slots(PROGRAM)
    scratch = 32 * (max(k.slot.values()) + 1)
    frame = scratch + 8 * len(SAVED)
    frame += -frame % 16
    k.lines += _header(frame)
    k.lines += [
        "",
        "        .text",
        f"        .globl  {NAME}",
        "        .balign 4",
        f"        .type   {NAME}, %function",
        f"{NAME}:",
    ]
    k.note(f"---- open the frame ({scratch // 32} slots of 32 bytes), save x19-x24")
    k.ins("sub", f"sp, sp, #{frame}")
    for r in range(0, len(SAVED), 2):
        k.ins("stp", f"{SAVED[r]}, {SAVED[r + 1]}, {_mem('sp', scratch + 8 * r)}")
    for op, dst, *srcs in PROGRAM:
        getattr(k, op)(dst, *srcs)
    k.lines.append("")
    k.note("---- restore x19-x24, close the frame")
    for r in range(0, len(SAVED), 2):
        k.ins("ldp", f"{SAVED[r]}, {SAVED[r + 1]}, {_mem('sp', scratch + 8 * r)}")
    k.ins("add", f"sp, sp, #{frame}")
    k.ins("ret", "")
    k.lines += [f"        .size   {NAME}, .-{NAME}", ""]
    return "\n".join(k.lines)


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
