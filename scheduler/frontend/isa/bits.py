"""Bit-level helpers shared by the instruction semantics (pure functions).

The semantics never branch in Python on data values: a data-dependent choice is
`select(cond, a, b)` and a truth value used as a number is `bit(cond)`. On ints
these are the obvious expressions; they also accept the symbolic values of
`scheduler.checks.symbolic` (which provide `select`, `bit` and `sext` methods), so the
same semantics run concretely in the simulator and symbolically in the prover.
"""

from __future__ import annotations


def mask(bits: int) -> int:
    """The all-ones value of `bits` bits."""
    return (1 << bits) - 1


def select(cond, a, b):
    """`a if cond else b`, for a concrete or symbolic condition."""
    if isinstance(cond, (bool, int)):
        return a if cond else b
    return cond.select(a, b)


def bit(cond):
    """1 if `cond` holds else 0, for a concrete or symbolic condition."""
    if isinstance(cond, (bool, int)):
        return int(bool(cond))
    return cond.bit()


def sext(value: int, bits: int) -> int:
    """The low `bits` bits of `value` read as a two's complement number."""
    if not isinstance(value, int):
        return value.sext(bits)
    value &= mask(bits)
    return value - (1 << bits) if value >> (bits - 1) else value


def nzcv_of(result: int, carry: int, overflow: int, bits: int) -> int:
    """The 4-bit NZCV of a `bits`-bit result with the given carry and overflow."""
    n = (result >> (bits - 1)) & 1
    z = bit(result & mask(bits) == 0)
    return (n << 3) | (z << 2) | (carry << 1) | overflow


def add_with_carry(x: int, y: int, carry: int, bits: int) -> tuple[int, int]:
    """The Arm ARM's AddWithCarry: (result, nzcv).

    C is the carry out of the unsigned sum; V (signed overflow) is set when both
    addends have the same sign and the result's sign differs (the carry-in never
    overflows on its own), which equals the Arm ARM's SInt comparison."""
    if type(x) is int and type(y) is int and type(carry) is int:
        # Concrete fast path (the simulator's hottest helper): the same formulas, inlined.
        m = (1 << bits) - 1
        x &= m
        y &= m
        unsigned = x + y + carry
        result = unsigned & m
        flags = (((result >> (bits - 1)) & 1) << 3) | ((result == 0) << 2) | (((unsigned >> bits) & 1) << 1)
        return result, flags | ((((x ^ result) & (y ^ result)) >> (bits - 1)) & 1)
    m = mask(bits)
    x &= m
    y &= m
    unsigned = x + y + carry
    result = unsigned & m
    c = (unsigned >> bits) & 1
    v = (((x ^ result) & (y ^ result)) >> (bits - 1)) & 1
    return result, nzcv_of(result, c, v, bits)


def clz(value: int, bits: int) -> int:
    """Leading zero bits of `value` (masked to `bits`)."""
    if isinstance(value, int):
        return bits - (value & mask(bits)).bit_length()
    count, seen = 0, 0
    for i in range(bits - 1, -1, -1):
        seen = seen | ((value >> i) & 1)
        count = count + (seen ^ 1)
    return count


def ror(value: int, amount: int, bits: int) -> int:
    """`value` rotated right by `amount` within `bits` bits."""
    amount %= bits
    value &= mask(bits)
    return ((value >> amount) | (value << (bits - amount))) & mask(bits)


def shift(value: int, op: str, amount: int, bits: int) -> int:
    """`value` shifted by `op` (lsl, lsr, asr or ror) and `amount` within `bits` bits."""
    value &= mask(bits)
    if op == "lsl":
        return (value << amount) & mask(bits)
    if op == "lsr":
        return value >> amount
    if op == "asr":
        return (sext(value, bits) >> amount) & mask(bits)
    if op == "ror":
        return ror(value, amount, bits)
    raise ValueError(op)


def extend(value: int, op: str, amount: int, bits: int) -> int:
    """`value` zero- or sign-extended from the size `op` names (uxtb ... sxtx), then shifted left by `amount`."""
    size = {"b": 8, "h": 16, "w": 32, "x": 64}[op[3]]
    v = value & mask(size)
    if op[0] == "s":
        v = sext(v, size)
    return (v << amount) & mask(bits)


def lanes(value: int, esize: int, count: int) -> list[int]:
    """The `count` lanes of `esize` bits of `value`, lane 0 first."""
    m = mask(esize)
    return [(value >> (i * esize)) & m for i in range(count)]


def pack(elements: list[int], esize: int) -> int:
    """Lanes of `esize` bits (lane 0 first) packed into one value."""
    m = mask(esize)
    out = 0
    for i, e in enumerate(elements):
        out |= (e & m) << (i * esize)
    return out


def is_bitmask_imm(value: int, bits: int) -> bool:
    """True if `value` is encodable as an AArch64 logical (bitmask) immediate."""
    if value < 0:
        value &= mask(bits)
    if value >> bits:
        return False
    size = bits
    # Find the smallest repeating element.
    while size > 2:
        half = size // 2
        if (value & mask(half)) != ((value >> half) & mask(half)):
            break
        size = half
    elem = value & mask(size)
    if elem in (0, mask(size)):
        return False
    # A rotated run of ones has exactly one 0->1 transition going round the element.
    transitions = sum(
        1 for i in range(size)
        if not (elem >> i) & 1 and (elem >> ((i + 1) % size)) & 1
    )
    return transitions == 1


def movz_shift(value: int, bits: int) -> int | None:
    """Shift for `movz` if `value` is one 16-bit chunk, else None."""
    for s in range(0, bits, 16):
        if value & ~(0xFFFF << s) & mask(bits) == 0 and value >> bits == 0:
            return s
    return None


def mov_imm_encodable(value: int, bits: int) -> bool:
    """`mov Rd, #imm` assembles to movz, movn or orr (bitmask)."""
    if value < -(1 << (bits - 1)) or value > mask(bits):
        return False
    v = value & mask(bits)
    return (
        movz_shift(v, bits) is not None
        or movz_shift(~v & mask(bits), bits) is not None
        or is_bitmask_imm(v, bits)
    )
