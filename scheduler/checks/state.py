"""Architectural state of an AArch64 core as the simulator sees it.

Registers are plain Python ints (x0-x30 and sp 64-bit, v0-v31 128-bit); NZCV is
a 4-bit int (N=8, Z=4, C=2, V=1, the layout of the NZCV system register >> 28).
Memory is byte-addressed and sparse: bytes never written read as a fixed
pseudo-random function of the address (`background_seed`), so two programs run
from the same initial state see the same "random memory" everywhere without
anyone having to allocate buffers up front.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

MASK64 = (1 << 64) - 1
MASK128 = (1 << 128) - 1


# 64-bit words that break carry chains and comparisons; used by the "words" background.
EDGE_WORDS = (0, 1, 2, 1 << 63, MASK64, MASK64 - 1, (1 << 32) - 1, 1 << 32, (1 << 63) - 1,
              0xFFFFFFFF00000001, 0x8000000080000000)


def _hash(seed: int, addr: int, size: int) -> bytes:
    # Stable across runs and platforms (unlike hash()); speed is fine for kernels.
    return hashlib.blake2b(
        addr.to_bytes(8, "little"), digest_size=size, key=(seed & MASK64).to_bytes(8, "little")
    ).digest()


def _background_byte(seed: int, addr: int, mode: str) -> int:
    if mode == "bytes":
        return _hash(seed, addr, 1)[0]
    if mode.startswith("fill:"):
        return int(mode[5:], 0) & 0xFF
    # "words": each aligned 64-bit word is an edge value or random, chosen by the hash.
    word_addr = addr & ~7
    h = _hash(seed, word_addr, 9)
    word = EDGE_WORDS[h[0] % len(EDGE_WORDS)] if h[0] < 128 else int.from_bytes(h[1:], "little")
    return (word >> (8 * (addr & 7))) & 0xFF


@dataclass
class Memory:
    """Sparse little-endian byte memory.

    `background_seed=None` makes reads of never-written bytes read as zero.
    `background_mode` picks what the background looks like: "bytes" (uniform
    random), "words" (aligned 64-bit words drawn from edge values such as 0 and
    2^64-1, or random) or "fill:0xNN" (every byte NN).
    `reads`/`writes` record every byte address touched, so verification can tell
    which locations a program depends on and which it changes.
    """

    background_seed: int | None = None
    background_mode: str = "bytes"
    data: dict[int, int] = field(default_factory=dict)
    reads: set[int] = field(default_factory=set)
    writes: set[int] = field(default_factory=set)
    _cache: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    def byte(self, addr: int) -> int:
        """The byte at `addr`: the last value written, else the background byte (0 without a seed)."""
        addr &= MASK64
        if addr in self.data:
            return self.data[addr]
        return self._background(addr)

    def _background(self, addr: int) -> int:
        if self.background_seed is None:
            return 0
        # The background is a pure function of (seed, mode, address), so copies share one cache:
        # the candidate's run in a verify trial reads what the original's run computed.
        cached = self._cache.get(addr)
        if cached is None:
            cached = self._cache[addr] = _background_byte(self.background_seed, addr, self.background_mode)
        return cached

    def read(self, addr: int, size: int) -> int:
        """Read `size` bytes little-endian at `addr`, recording them in `reads`."""
        data, reads = self.data, self.reads
        value = 0
        for i in range(size):
            a = (addr + i) & MASK64
            reads.add(a)
            b = data.get(a)
            value |= (self._background(a) if b is None else b) << (8 * i)
        return value

    def write(self, addr: int, size: int, value: int) -> None:
        """Write the low `size` bytes of `value` little-endian at `addr`, recording them in `writes`."""
        data, writes = self.data, self.writes
        for i in range(size):
            a = (addr + i) & MASK64
            writes.add(a)
            data[a] = (value >> (8 * i)) & 0xFF

    def load_bytes(self, addr: int, blob: bytes) -> None:
        """Initialise memory without recording the bytes as written by the program."""
        for i, b in enumerate(blob):
            self.data[(addr + i) & MASK64] = b

    def dump(self, addr: int, size: int) -> bytes:
        """The `size` bytes at `addr` as `bytes`, without recording a read."""
        return bytes(self.byte(addr + i) for i in range(size))

    def copy(self) -> Memory:
        """An independent copy (same background, copied contents and read/write sets)."""
        return Memory(self.background_seed, self.background_mode, dict(self.data),
                      set(self.reads), set(self.writes), self._cache)


@dataclass
class MachineState:
    """Registers, flags and memory of one simulated core."""

    x: list[int] = field(default_factory=lambda: [0] * 31)
    sp: int = 0
    v: list[int] = field(default_factory=lambda: [0] * 32)
    nzcv: int = 0
    mem: Memory = field(default_factory=Memory)

    def copy(self) -> MachineState:
        """An independent deep copy of the state."""
        return MachineState(list(self.x), self.sp, list(self.v), self.nzcv, self.mem.copy())

    # Named access, used by the CLI, verify and tests ("x3", "sp", "v7", "nzcv").
    def get(self, name: str) -> int:
        """The value of register `name` ("x3", "sp", "v7"/"q7", "nzcv"); KeyError for any other name."""
        name = name.lower()
        if name == "sp":
            return self.sp
        if name == "nzcv":
            return self.nzcv
        if name[0] == "x" and name[1:].isdigit() and int(name[1:]) < 31:
            return self.x[int(name[1:])]
        if name[0] in "vq" and name[1:].isdigit() and int(name[1:]) < 32:
            return self.v[int(name[1:])]
        raise KeyError(name)

    def set(self, name: str, value: int) -> None:
        """Set register `name` ("x3", "sp", "v7"/"q7", "nzcv") to `value`, masked to its width."""
        name = name.lower()
        if name == "sp":
            self.sp = value & MASK64
        elif name == "nzcv":
            self.nzcv = value & 0xF
        elif name[0] == "x" and name[1:].isdigit() and int(name[1:]) < 31:
            self.x[int(name[1:])] = value & MASK64
        elif name[0] in "vq" and name[1:].isdigit() and int(name[1:]) < 32:
            self.v[int(name[1:])] = value & MASK128
        else:
            raise KeyError(name)

    def registers(self) -> dict[str, int]:
        """Every register and the flags by name ("x0".."x30", "sp", "v0".."v31", "nzcv")."""
        regs = {f"x{i}": val for i, val in enumerate(self.x)}
        regs["sp"] = self.sp
        regs.update({f"v{i}": val for i, val in enumerate(self.v)})
        regs["nzcv"] = self.nzcv
        return regs
