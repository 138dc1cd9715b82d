"""AArch64 procedure-call standard (AAPCS64) register roles the tools rely on."""

from __future__ import annotations

# never handed out by renaming: the platform register, frame pointer, link register, sp
DEFAULT_RESERVED = frozenset({"x18", "x29", "x30", "sp"})
CALLEE_SAVED_GPR = tuple(f"x{i}" for i in range(19, 29))
CALLEE_SAVED_SIMD = tuple(f"v{i}" for i in range(8, 16))  # low 64 bits only
# a caller may read these after the kernel: their values must survive any renaming
ALWAYS_LIVE_OUT = frozenset({*CALLEE_SAVED_GPR, "x29", "x30", "sp", *CALLEE_SAVED_SIMD})
# every architectural resource the tools track: general registers, sp, SIMD registers, the flags
GPR_RESOURCES = tuple(f"x{i}" for i in range(31)) + ("sp",)
ALL_RESOURCES = GPR_RESOURCES + tuple(f"v{i}" for i in range(32)) + ("nzcv",)
