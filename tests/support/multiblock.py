"""Random multi-block kernels: what crosses a block boundary in real code.

Labels mid-kernel, `.cfi_*` and alignment directives between instructions, a frame pointer
copied from sp and used beside it, pointers reassigned before a label under `@noalias`, counted
loops that carry registers and the carry flag around their back-edge, and calls to a stub
outside the file. Each kernel is valid straight-line-plus-loops code that ends in `ret`."""

from __future__ import annotations

import random

DATA = [f"x{i}" for i in (3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14)]


def _body(rng: random.Random, n: int, in_loop: bool, frame: bool) -> list[str]:
    out = []
    for _ in range(n):
        d, a, b = rng.choice(DATA), rng.choice(DATA), rng.choice(DATA)
        kind = rng.randrange(11)
        if kind == 0:
            out.append(f"mul {d}, {a}, {b}")
        elif kind == 1:
            out.append(f"umulh {d}, {a}, {b}")
        elif kind == 2:
            out.append(f"adds {d}, {a}, {b}")
        elif kind == 3:
            out.append(f"adcs {d}, {a}, {b}")
        elif kind == 4:
            out.append(f"eor {d}, {a}, {b}")
        elif kind == 5:
            base = rng.choice(["x0", "x1"])
            out.append(f"ldr {d}, [{base}, #{8 * rng.randrange(4)}]")
        elif kind == 6:
            base = rng.choice(["x0", "x1"])
            out.append(f"str {a}, [{base}, #{8 * rng.randrange(4)}]")
        elif kind == 7 and frame:
            base = rng.choice(["x29", "sp"])
            op = rng.choice(["str", "ldr"])
            reg = a if op == "str" else d
            out.append(f"{op} {reg}, [{base}, #{16 + 8 * rng.randrange(3)}]")
        elif kind == 8 and in_loop:
            out.append(f"ldr {d}, [x2], #8")
        elif kind == 9:
            out.append(f"add {d}, {a}, #{rng.randrange(1, 9)}")
        else:
            out.append(f"cmn {a}, {b}")
    return out


def multiblock_kernel(seed: int) -> str:
    rng = random.Random(seed)
    frame = rng.random() < 0.6
    calls = rng.random() < 0.3
    lines = []
    if rng.random() < 0.5:
        lines.append("// @noalias x0, x1")
    lines += ["\t.text", "\t.globl kernel", "\t.p2align 2", "kernel:"]
    if frame or calls:
        lines += ["\tstp x29, x30, [sp, #-48]!", "\tmov x29, sp"]
        if rng.random() < 0.5:
            lines.append("\t.cfi_def_cfa_offset 48")
    seps = ["1:", "\t.p2align 2", "\t.cfi_remember_state", "mid:"]
    for part in range(rng.randrange(2, 4)):
        kind = rng.randrange(4)
        if kind == 0:  # a counted loop carrying registers and the carry flag
            lines += [f"\tmov x5, #{rng.randrange(1, 4)}", "\tcmn xzr, xzr", f"loop{part}:"]
            lines += [f"\t{s}" for s in _body(rng, rng.randrange(3, 9), True, frame)]
            lines += ["\tsub x5, x5, #1", f"\tcbnz x5, loop{part}"]
        elif kind == 1 and rng.random() < 0.5:  # a pointer reassigned before a boundary
            lines += [f"\tadd x1, x0, #{8 * rng.randrange(0, 3)}", "2:"]
            lines += [f"\t{s}" for s in _body(rng, rng.randrange(3, 8), False, frame)]
        elif kind == 2 and calls:
            lines += [f"\t{s}" for s in _body(rng, rng.randrange(2, 6), False, frame)]
            lines += ["\tbl external_stub"]
        else:
            lines += [f"\t{s}" for s in _body(rng, rng.randrange(3, 9), False, frame)]
        sep = rng.choice(seps)
        if sep.endswith(":"):
            sep = sep.replace("1:", f"{part + 10}:").replace("mid:", f"mid{part}:")
        lines.append(sep)
    lines += [f"\t{s}" for s in _body(rng, rng.randrange(2, 6), False, frame)]
    if frame or calls:
        lines.append("\tldp x29, x30, [sp], #48")
    lines.append("\tret")
    return "\n".join(lines) + "\n"
