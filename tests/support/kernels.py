"""Random straight-line kernels in the style of bignum code, for property tests.

Heavy register reuse (a small register pool), carry chains, multiplies, loads and
stores through two incoming pointers (x0, x1) and the stack, pointer bumps and
writeback, and NEON multiply-accumulates — enough to exercise every kind of
dependency edge.
"""

from __future__ import annotations

from hypothesis import strategies as st

GPRS = [f"x{i}" for i in range(2, 12)]
VREGS = [f"v{i}" for i in range(0, 6)]

TEMPLATES = [
    "adds {d}, {a}, {b}", "adcs {d}, {a}, {b}", "adc {d}, {a}, xzr", "subs {d}, {a}, {b}",
    "sbcs {d}, {a}, {b}", "mul {d}, {a}, {b}", "umulh {d}, {a}, {b}", "eor {d}, {a}, {b}",
    "cneg {d}, {a}, cc", "csetm {d}, hs", "csel {d}, {a}, {b}, eq", "extr {d}, {a}, {b}, #17",
    "lsr {d}, {a}, #32", "adds {d}, {a}, {b}, lsl #33", "cmn {a}, #1", "mov {d}, #0xffffffff00000001",
    "ldp {d}, {e}, [x0, #{o16}]", "stp {a}, {b}, [x1, #{o16}]", "ldr {d}, [x1, #{o8}]",
    "str {a}, [sp, #{o8}]", "ldr {d}, [sp, #{o8}]", "str {a}, [x0, #{o8}]",
    "umull {vd}.2d, {va}.2s, {vb}.2s", "umlal {vd}.2d, {va}.2s, {vb}.2s", "usra {vd}.2d, {va}.2d, #32",
    "uzp1 {vd}.4s, {va}.4s, {vb}.4s", "mov {d}, {va}.d[1]", "ins {vd}.d[0], {a}", "ldr q{vdn}, [x0, #{o16}]",
    "add x1, x1, #16", "ldp {d}, {e}, [x0], #16", "stp {a}, {b}, [x1, #-16]!",
]


@st.composite
def kernel(draw, min_size: int = 4, max_size: int = 40) -> str:
    n = draw(st.integers(min_size, max_size))
    lines = []
    for _ in range(n):
        t = draw(st.sampled_from(TEMPLATES))
        d, e = draw(st.lists(st.sampled_from(GPRS), min_size=2, max_size=2, unique=True))
        vd, va, vb = (draw(st.sampled_from(VREGS)) for _ in range(3))
        lines.append(t.format(
            d=d, e=e, a=draw(st.sampled_from(GPRS)), b=draw(st.sampled_from(GPRS)),
            vd=vd, va=va, vb=vb, vdn=vd[1:],
            o16=16 * draw(st.integers(0, 6)), o8=8 * draw(st.integers(0, 12))))
    return "\n".join(lines) + "\n"
