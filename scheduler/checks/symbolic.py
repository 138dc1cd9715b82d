"""Symbolic execution of straight-line code over z3 bit-vector terms.

The instruction table's own `semantics(c, o)` functions run here unchanged, with a
symbolic context (`SymContext`, the interface of `simulate.Context`) and a symbolic
value type (`Sym`). There is no second semantics table.

`Sym` stands for a Python integer (unbounded, signed) held as a z3 bit-vector
term: `e` of width n, read as unsigned (`signed=False`) or two's complement. Each
operation picks a width at which the exact integer result fits (`a + b` one bit
wider, `a * b` the sum of the widths, `a & 0xFFFF` 16 bits unsigned), so masks,
arithmetic `>>`, `sext` and 64x64->128-bit products behave exactly like Python
ints, and constant operands stay Python ints (constant folding for free). Python
branching on a symbolic value (`if`, `bool()`, `int()`) raises
`SymbolicUnsupported`; the semantics use `bits.select` / `bits.bit` instead.

z3 hash-conses terms, so the same computation in two programs gives the same term
(`a.eq(b)`): a reordered and renamed kernel is proved equal without a solver.

Memory is a list of stores over an initial byte array `mem` (z3 Array BV64 ->
BV8). Every address is split into a symbolic part and a constant offset
(`Addr`); a load resolves each byte against earlier stores: same symbolic part ->
equal or disjoint by the offsets; different incoming base registers declared
no-alias, or the incoming sp against any other incoming base -> disjoint (the
assumptions of `dag.may_alias`); anything else -> an `If(the addresses overlap, ...)`
term.
"""

from __future__ import annotations

import functools
import heapq
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import z3

from scheduler.checks.simulate import COND_EVAL, Context
from scheduler.core.errors import SchedulerError
from scheduler.frontend.dag import AliasFacts, alias_facts
from scheduler.frontend.ir import Instruction
from scheduler.frontend.isa import bits as B
from scheduler.frontend.isa.operands import (
    GPR,
    Cond,
    Extend,
    Imm,
    Mem,
    Operand,
    Shift,
    VElem,
    VReg,
)

MASK64 = (1 << 64) - 1
MAX_WIDTH = 1024  # wider intermediate terms mean a semantics outside what we model


class SymbolicUnsupported(SchedulerError):
    """A semantics function did something the symbolic value type cannot follow."""


class Unsupported(SchedulerError):
    """An instruction could not be executed symbolically."""

    def __init__(self, instr: Instruction, why: str):
        self.instr, self.why = instr, why
        super().__init__(f"form '{instr.form.key}' not supported symbolically ({instr}: {why})")


# ----------------------------------------------------------------- values

def _need(v) -> int:
    """Width at which `v` fits as a two's complement number."""
    if isinstance(v, int):
        return (v if v >= 0 else ~v).bit_length() + 1
    n = v.e.size()
    return n if v.signed else n + 1


def _uwidth(v) -> int | None:
    """Width at which `v` fits unsigned, or None if it may be negative."""
    if isinstance(v, int):
        return max(1, v.bit_length()) if v >= 0 else None
    return None if v.signed else v.e.size()


def _as(v, w: int) -> z3.BitVecRef:
    """The low `w` bits of `v`'s two's complement representation."""
    if isinstance(v, int):
        return z3.BitVecVal(v & ((1 << w) - 1), w)
    n = v.e.size()
    if w == n:
        return v.e
    if w < n:
        return z3.Extract(w - 1, 0, v.e)
    return (z3.SignExt if v.signed else z3.ZeroExt)(w - n, v.e)


def _check(w: int) -> int:
    if w > MAX_WIDTH:
        raise SymbolicUnsupported(f"intermediate value of {w} bits")
    return w


def _operand(v):
    if isinstance(v, (int, Sym)):
        return v
    if isinstance(v, bool):
        return int(v)
    return NotImplemented


class Sym:
    """A Python-int-like symbolic value (see the module docstring)."""

    __slots__ = ("e", "signed")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, e: z3.BitVecRef, signed: bool = False):
        self.e, self.signed = e, signed

    def __repr__(self) -> str:
        return f"Sym({'s' if self.signed else 'u'}{self.e.size()}: {self.e})"

    # data-dependent Python control flow is not symbolic
    def __bool__(self):
        raise SymbolicUnsupported("Python branch on a symbolic value")

    def __index__(self):
        raise SymbolicUnsupported("symbolic value used as a Python int")

    __int__ = __index__

    def __lt__(self, other):
        raise SymbolicUnsupported("ordered comparison of symbolic values")

    __le__ = __gt__ = __ge__ = __lt__

    # arithmetic
    @staticmethod
    def _arith(a, b, op: str):
        # identities on constants keep terms small (`x + 0` from a carry-in of 0, ...)
        if isinstance(b, int) and (b == 0 and op != "mul" or b == 1 and op == "mul"):
            return a
        if isinstance(a, int) and (a == 0 and op == "add" or a == 1 and op == "mul"):
            return b
        if op == "mul" and (isinstance(a, int) and a == 0 or isinstance(b, int) and b == 0):
            return 0
        ua, ub = _uwidth(a), _uwidth(b)
        if op != "sub" and ua is not None and ub is not None:
            w = _check(max(ua, ub) + 1 if op == "add" else ua + ub)
            signed = False
        else:
            na, nb = _need(a), _need(b)
            w = _check(max(na, nb) + 1 if op != "mul" else na + nb)
            signed = True
        x, y = _as(a, w), _as(b, w)
        e = x + y if op == "add" else x - y if op == "sub" else x * y
        return Sym(e, signed)

    def __add__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._arith(self, o, "add")

    def __radd__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._arith(o, self, "add")

    def __sub__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._arith(self, o, "sub")

    def __rsub__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._arith(o, self, "sub")

    def __mul__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._arith(self, o, "mul")

    def __rmul__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._arith(o, self, "mul")

    def __neg__(self):
        return Sym._arith(0, self, "sub")

    def __invert__(self):
        if self.signed:
            return Sym(~self.e, True)
        return Sym(~z3.ZeroExt(1, self.e), True)

    def __mod__(self, o):
        if isinstance(o, int) and o > 0 and o & (o - 1) == 0:
            return self & (o - 1)
        raise SymbolicUnsupported("symbolic modulo")

    def __floordiv__(self, o):
        raise SymbolicUnsupported("symbolic division")

    __rfloordiv__ = __truediv__ = __rmod__ = __floordiv__

    # bitwise
    @staticmethod
    def _and(a, b):
        if isinstance(a, int) and a == 0 or isinstance(b, int) and b == 0:
            return 0
        ua, ub = _uwidth(a), _uwidth(b)
        if ua is not None or ub is not None:
            k = min(w for w in (ua, ub) if w is not None)
            # `x & mask(k)`: the low k bits, no AND node
            if isinstance(b, int) and b == (1 << k) - 1 and not isinstance(a, int):
                return Sym(_as(a, k), False)
            if isinstance(a, int) and a == (1 << k) - 1 and not isinstance(b, int):
                return Sym(_as(b, k), False)
            return Sym(_as(a, k) & _as(b, k), False)
        w = max(_need(a), _need(b))
        return Sym(_as(a, w) & _as(b, w), True)

    @staticmethod
    def _orx(a, b, xor: bool):
        if isinstance(b, int) and b == 0:
            return a
        if isinstance(a, int) and a == 0:
            return b
        ua, ub = _uwidth(a), _uwidth(b)
        if ua is not None and ub is not None:
            w, signed = max(ua, ub), False
        else:
            w, signed = max(_need(a), _need(b)), True
        x, y = _as(a, w), _as(b, w)
        return Sym(x ^ y if xor else x | y, signed)

    def __and__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._and(self, o)

    def __rand__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._and(o, self)

    def __or__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._orx(self, o, False)

    def __ror__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._orx(o, self, False)

    def __xor__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._orx(self, o, True)

    def __rxor__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else Sym._orx(o, self, True)

    # shifts (`>>` is arithmetic, as on Python ints)
    def __lshift__(self, s):
        if isinstance(s, int):
            if s < 0:
                raise ValueError("negative shift count")
            return self if s == 0 else Sym(z3.Concat(self.e, z3.BitVecVal(0, s)), self.signed)
        return _shift_left(self, s)

    def __rlshift__(self, v):
        return _shift_left(v, self) if isinstance(v, int) else NotImplemented

    def __rshift__(self, s):
        if isinstance(s, int):
            n = self.e.size()
            if s < 0:
                raise ValueError("negative shift count")
            if s == 0:
                return self
            if s >= n:
                return Sym(z3.Extract(n - 1, n - 1, self.e), True) if self.signed else 0
            return Sym(z3.Extract(n - 1, s, self.e), self.signed)
        return _shift_right(self, s)

    def __rrshift__(self, v):
        return _shift_right(Sym(_as(v, _need(v)), True), self) if isinstance(v, int) else NotImplemented

    # comparisons give symbolic booleans
    def __eq__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else SymBool(_equal(self, o))

    def __ne__(self, o):
        o = _operand(o)
        return o if o is NotImplemented else SymBool(z3.Not(_equal(self, o)))

    # the bits.py hooks
    def sext(self, bits: int) -> Sym:
        """Sign-extend from bit `bits - 1`: the low `bits` bits read as two's complement."""
        return Sym(_as(self, bits), True)

    def select(self, a, b):
        """`a` where this value is non-zero, else `b` (the `bits.select` hook)."""
        return SymBool(self != 0).select(a, b)

    def bit(self):
        """1 where this value is non-zero, else 0, as a 1-bit unsigned `Sym` (the `bits.bit` hook)."""
        return SymBool(self != 0).bit()


def _common(a, b) -> tuple[int, bool]:
    ua, ub = _uwidth(a), _uwidth(b)
    if ua is not None and ub is not None:
        return max(ua, ub), False
    return max(_need(a), _need(b)), True


def _equal(a, b) -> z3.BoolRef:
    w, _ = _common(a, b)
    return _as(a, w) == _as(b, w)


def _amount(s) -> int:
    """Width bound of a symbolic shift amount (semantics mask it to a few bits)."""
    w = _need(s)
    if w > 10:
        raise SymbolicUnsupported("unbounded symbolic shift amount")
    return w


def _shift_left(v, s) -> Sym:
    m = _amount(s)
    signed = isinstance(v, Sym) and v.signed or (isinstance(v, int) and v < 0)
    width = _need(v) if signed else _uwidth(v)
    assert width is not None  # not signed: a non-negative int or an unsigned Sym
    w = _check(width + (1 << m))
    return Sym(_as(v, w) << _as(s, w), signed)


def _shift_right(v: Sym, s) -> Sym:
    _amount(s)
    w = max(v.e.size(), _need(s))
    x, y = _as(v, w), _as(s, w)
    return Sym(x >> y if v.signed else z3.LShR(x, y), v.signed)


class SymBool:
    """A symbolic truth value (result of == / != on `Sym`)."""

    __slots__ = ("b",)

    def __init__(self, b: z3.BoolRef):
        self.b = b

    def __bool__(self):
        raise SymbolicUnsupported("Python branch on a symbolic condition")

    def select(self, a, b):
        """`a` if the condition holds else `b`, as a z3 `If` (just `a` when both are the same int)."""
        if isinstance(a, int) and isinstance(b, int) and a == b:
            return a
        w, signed = _common(a, b)
        return Sym(z3.If(self.b, _as(a, w), _as(b, w)), signed)

    def bit(self):
        """1 if the condition holds else 0, as a 1-bit unsigned `Sym`."""
        return Sym(z3.If(self.b, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)), False)


def term(value, width: int) -> z3.BitVecRef:
    """A register or memory value (int, Sym or z3 term) as a z3 term of `width` bits."""
    if isinstance(value, z3.BitVecRef):
        return value if value.size() == width else _as(Sym(value), width)
    return _as(value, width)


def _value(v):
    """A stored value (int or z3 term, unsigned) as what semantics see (int or Sym)."""
    return v if isinstance(v, int) else Sym(v, False)


# ----------------------------------------------------------------- machine

class Inputs:
    """The initial state both programs start from: one z3 variable per register, the
    flags and the initial memory (a byte array), plus the assumptions.

    `noalias` may be a block's `dag.AliasFacts`: then the variables are the function's
    incoming values, and the block starts from `entry_x`/`entry_sp`, each the incoming value
    of some register plus a constant (a fresh offset variable when the constant is unknown),
    or a fresh variable of its own that no assumption covers."""

    def __init__(self, noalias: AliasFacts | Iterable[str] = ()):
        facts = alias_facts(noalias)
        self.x = [z3.BitVec(f"x{i}", 64) for i in range(31)]
        self.sp = z3.BitVec("sp", 64)
        self.v = [z3.BitVec(f"v{i}", 128) for i in range(32)]
        self.nzcv = z3.BitVec("nzcv", 4)
        self.mem = z3.Array("mem", z3.BitVecSort(64), z3.BitVecSort(8))
        self.noalias = facts.noalias
        self.roots = {self.sp.get_id(): "sp"}
        self.roots.update({x.get_id(): f"x{i}" for i, x in enumerate(self.x)})
        self.offsets: set[int] = set()  # ids of unknown-offset variables (never a root)
        self.entry_x: list = list(self.x)
        self.entry_sp: z3.BitVecRef = self.sp
        if facts.entry is not None:
            self._enter(facts)
        self.initial_reads: dict[int, z3.BitVecRef] = {}  # id -> byte address read from `mem`
        # every load that reads memory not provably written before: its byte terms and their
        # addresses (the counterexample search frees or fixes the bytes one load at a time)
        self.loads: list[tuple[tuple[z3.BitVecRef, z3.BitVecRef], ...]] = []
        self.arrays: dict[tuple, z3.ArrayRef] = {}  # canonical store sequence -> memory term
        self._split: dict[int, tuple] = {}

    def _enter(self, facts: AliasFacts) -> None:
        incoming = {f"x{i}": x for i, x in enumerate(self.x)} | {"sp": self.sp}
        entry = {}
        for reg in incoming:
            v = facts.initial(reg)
            if v.root[0] != "in":
                entry[reg] = z3.BitVec(f"{reg}@entry", 64)
            elif v.const is None:
                off = z3.BitVec(f"{reg}@offset", 64)
                self.offsets.add(off.get_id())
                entry[reg] = incoming[v.root[1]] + off
            else:
                entry[reg] = incoming[v.root[1]] + z3.BitVecVal(v.const & MASK64, 64) if v.const else \
                    incoming[v.root[1]]
        self.entry_x = [entry[f"x{i}"] for i in range(31)]
        self.entry_sp = entry["sp"]

    def disjoint_roots(self, a: str | None, b: str | None) -> bool:
        """Whether addresses based on incoming registers `a` and `b` are assumed not to overlap:
        the incoming sp against any other base, or two distinct bases both declared no-alias."""
        if a is None or b is None or a == b:
            return False
        return "sp" in (a, b) or (a in self.noalias and b in self.noalias)

    def split(self, e: z3.BitVecRef) -> tuple[tuple, int, z3.BitVecRef | None]:
        """(key, constant, symbolic part) of a 64-bit address term: key identifies the
        symbolic part (() for an absolute address)."""
        got = self._split.get(e.get_id())
        if got is None:
            s = z3.simplify(e)
            if z3.is_bv_value(s):
                got = ((), s.as_long(), None)
            else:
                parts = s.children() if z3.is_app_of(s, z3.Z3_OP_BADD) else [s]
                const = sum(p.as_long() for p in parts if z3.is_bv_value(p)) & MASK64
                rest = [p for p in parts if not z3.is_bv_value(p)]
                sym = rest[0] if len(rest) == 1 else z3.simplify(functools.reduce(operator.add, rest))
                got = (tuple(sorted(p.get_id() for p in rest)), const, sym)
            self._split[e.get_id()] = got
        return got

    def root_of(self, key: tuple) -> str | None:
        """The incoming base register ("x3", "sp") an address key is based on, or None when the
        symbolic part is not a single incoming register (unknown-offset variables are ignored)."""
        key = tuple(k for k in key if k not in self.offsets)  # (a pointer walked by a loop)
        return self.roots.get(key[0]) if len(key) == 1 else None


@dataclass(frozen=True)
class Addr:
    """A byte address: symbolic part (`key`, `sym`) plus a constant; `root` is the
    incoming base register it is based on, if any (for the no-alias assumptions)."""

    key: tuple
    const: int
    sym: z3.BitVecRef | None
    root: str | None

    def __add__(self, k: int) -> Addr:
        return Addr(self.key, (self.const + k) & MASK64, self.sym, self.root)

    @property
    def expr(self) -> z3.BitVecRef:
        """The address as a 64-bit z3 term (symbolic part plus constant)."""
        c = z3.BitVecVal(self.const, 64)
        return c if self.sym is None else (self.sym if self.const == 0 else self.sym + c)


@dataclass
class Store:
    """One symbolic store: `size` bytes of `value` written at `addr`."""

    addr: Addr
    size: int
    value: int | z3.BitVecRef  # 8*size bits
    canon: tuple = ()  # the same for the same store in another program (canonical ordering)


@dataclass
class Access:
    """One memory access of a program run (load or store), in program order."""

    addr: Addr
    size: int
    store: bool


@dataclass
class SymState:
    """Symbolic machine state: register terms, flags and the list of stores over the initial memory."""

    inputs: Inputs
    x: list = field(default_factory=list)
    sp: object = None
    v: list = field(default_factory=list)
    nzcv: object = None
    stores: list[Store] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)
    _arrays: dict = field(default_factory=dict)

    @classmethod
    def initial(cls, inputs: Inputs) -> SymState:
        """The state at block entry: every register and the flags hold their `inputs` variables."""
        return cls(inputs, list(inputs.entry_x), inputs.entry_sp, list(inputs.v), inputs.nzcv)

    def get(self, name: str) -> z3.BitVecRef:
        """Final value of a register ("x3", "sp", "v7", "nzcv") as a full-width term."""
        if name == "sp":
            return term(self.sp, 64)
        if name == "nzcv":
            return term(self.nzcv, 4)
        if name[0] == "x":
            return term(self.x[int(name[1:])], 64)
        return term(self.v[int(name[1:])], 128)

    # memory
    def _relation(self, a: Addr, size: int, s: Store) -> str | int:
        """How bytes [a, a+size) relate to store `s`: 'disjoint', 'unknown', or the
        offset into the store when it contains them all."""
        if a.key == s.addr.key:
            d = (a.const - s.addr.const) & MASK64
            if d + size <= s.size:
                return d
            if (s.addr.const - a.const) & MASK64 >= size and d >= s.size:
                return "disjoint"
            return "unknown"
        if self.inputs.disjoint_roots(a.root, s.addr.root):
            return "disjoint"
        return "unknown"

    def _resolve(self, a: Addr, size: int):
        """(store, offset) when the newest store touching bytes [a, a+size) provably
        holds them all, else the list of stores that may touch them (newest first)."""
        relevant: list[Store] = []
        for s in reversed(self.stores):
            rel = self._relation(a, size, s)
            if rel == "disjoint":
                continue
            if rel == "unknown":
                relevant.append(s)
                continue
            if not relevant:
                return s, rel
            relevant.append(s)  # the bytes are this store's unless a newer one overwrote them
            break
        return relevant

    def _may_overlap(self, p: Store, q: Store) -> bool:
        return self._relation(p.addr, p.size, q) != "disjoint"

    def _memory_after(self, stores: list[Store]) -> z3.ArrayRef:
        """The initial memory updated by `stores` (newest first), as a z3 array term.
        Stores that cannot overlap commute, so they are applied in a canonical order
        (a topological order of the may-overlap relation, ties broken by content): the
        same stores give the same term in any valid reordering of a program."""
        ids = tuple(id(s) for s in stores)
        got = self._arrays.get(ids)
        if got is not None:
            return got
        n = len(stores)
        older = list(reversed(stores))  # oldest first
        succ: list[list[int]] = [[] for _ in range(n)]
        indeg = [0] * n
        for i in range(n):
            for j in range(i + 1, n):
                if self._may_overlap(older[j], older[i]):
                    succ[i].append(j)
                    indeg[j] += 1
        ready = [(older[i].canon, i) for i in range(n) if indeg[i] == 0]
        heapq.heapify(ready)
        mem = self.inputs.mem
        prefix: tuple = ()
        while ready:
            _, i = heapq.heappop(ready)
            s = older[i]
            prefix += (s.canon,)
            cached = self.inputs.arrays.get(prefix)
            if cached is None:
                for k in range(s.size):
                    mem = z3.Store(mem, (s.addr + k).expr, term(_byte_of(s.value, k), 8))
                self.inputs.arrays[prefix] = mem
            else:
                mem = cached
            for j in succ[i]:
                indeg[j] -= 1
                if indeg[j] == 0:
                    heapq.heappush(ready, (older[j].canon, j))
        self._arrays[ids] = mem
        return mem

    def _read(self, a: Addr, size: int):
        got = self._resolve(a, size)
        if isinstance(got, tuple):
            s, rel = got
            if rel == 0 and size == s.size:
                return _value(s.value)
            v = s.value
            return (v >> (8 * rel)) & B.mask(8 * size) if isinstance(v, int) else \
                Sym(z3.Extract(8 * (rel + size) - 1, 8 * rel, v), False)
        mem = self._memory_after(got) if got else self.inputs.mem
        parts = []
        for i in range(size):
            e = (a + i).expr
            self.inputs.initial_reads.setdefault(e.get_id(), e)
            parts.append(z3.Select(mem, e))
        self.inputs.loads.append(tuple((p, (a + i).expr) for i, p in enumerate(parts)))
        return Sym(z3.Concat(*reversed(parts)) if size > 1 else parts[0], False)

    def read_byte(self, a: Addr) -> int | z3.BitVecRef:
        """The byte at `a` as an int or an 8-bit z3 term, resolved against earlier stores."""
        v = self._read(a, 1)
        return v if isinstance(v, int) else v.e

    def load(self, a: Addr, size: int):
        """Read `size` bytes little-endian at `a` (as an int or `Sym`) and record the access."""
        self.accesses.append(Access(a, size, False))
        return self._read(a, size)

    def store(self, a: Addr, size: int, value) -> None:
        """Record a store of the low `size` bytes of `value` at `a`, and the access."""
        self.accesses.append(Access(a, size, True))
        value = value & B.mask(8 * size)
        value = value if isinstance(value, int) else term(value, 8 * size)
        canon = (a.key, a.const, size, value if isinstance(value, int) else -value.get_id())
        self.stores.append(Store(a, size, value, canon))


def _byte_of(value, k: int):
    if isinstance(value, int):
        return (value >> (8 * k)) & 0xFF
    return z3.Extract(8 * k + 7, 8 * k, value)


_VSIZE = {"b": 8, "h": 16, "s": 32, "d": 64}


class SymContext(Context):
    """`simulate.Context` over a `SymState`: what instruction semantics see (`writeback`
    is inherited: it only goes through `r` and `w`)."""

    # Duck-typed substitution: symbolic state, values and addresses where Context has
    # concrete ones; the semantics only use the shared interface.
    s: SymState  # type: ignore[assignment]

    def __init__(self, state: SymState):
        self.s = state

    @property
    def nzcv(self):
        """The flags as a 4-bit value (int or `Sym`)."""
        return _value(self.s.nzcv)

    @nzcv.setter
    def nzcv(self, value) -> None:
        """Set the flags from the low 4 bits of `value`."""
        value = value & 0xF
        self.s.nzcv = value if isinstance(value, int) else term(value, 4)

    def cond(self, op: Operand):
        """Whether condition `op` holds on the current flags: a bool, or a `SymBool` when the flags are symbolic."""
        assert isinstance(op, Cond)
        f = self.nzcv
        hit = COND_EVAL[op.code]((f >> 3) & 1, (f >> 2) & 1, (f >> 1) & 1, f & 1)
        if isinstance(hit, int):
            return bool(hit)
        return hit != 0

    def _get(self, num: int, sp: bool, vec: bool):
        if vec:
            return self.s.v[num]
        if num == 31:
            return self.s.sp if sp else 0
        return self.s.x[num]

    def r(self, op: Operand):
        """Read a register, vector element or immediate operand, masked to its width."""
        if isinstance(op, GPR):
            return _value(self._get(op.num, op.sp, False)) & B.mask(op.bits)
        if isinstance(op, VReg):
            return _value(self.s.v[op.num]) & B.mask(op.bits)
        if isinstance(op, VElem):
            size = _VSIZE[op.size]
            return (_value(self.s.v[op.num]) >> (size * op.index)) & B.mask(size)
        if isinstance(op, Imm):
            return op.value
        raise TypeError(f"cannot read operand {op!r}")

    def w(self, op: Operand, value) -> None:
        """Write `value` to a register or vector element operand (W writes zero-extend, writes to xzr are dropped)."""
        if isinstance(op, GPR):
            value = value & B.mask(op.bits)
            stored = value if isinstance(value, int) else term(value, 64)
            if op.num == 31:
                if op.sp:
                    self.s.sp = stored
                return
            self.s.x[op.num] = stored
        elif isinstance(op, VReg):
            value = value & B.mask(op.bits)
            self.s.v[op.num] = value if isinstance(value, int) else term(value, 128)
        elif isinstance(op, VElem):
            size = _VSIZE[op.size]
            lo = size * op.index
            old, value = self.s.v[op.num], value & B.mask(size)
            if isinstance(old, int) and isinstance(value, int):
                self.s.v[op.num] = (old & ~(B.mask(size) << lo)) | (value << lo)
                return
            old = term(old, 128)
            parts = []
            if lo + size < 128:
                parts.append(z3.Extract(127, lo + size, old))
            parts.append(term(value, size))
            if lo:
                parts.append(z3.Extract(lo - 1, 0, old))
            self.s.v[op.num] = z3.Concat(*parts) if len(parts) > 1 else parts[0]
        else:
            raise TypeError(f"cannot write operand {op!r}")

    def _address(self, value) -> Addr:
        inputs = self.s.inputs
        if isinstance(value, int):
            return Addr((), value & MASK64, None, None)
        key, const, sym = inputs.split(term(value, 64))
        return Addr(key, const, sym, inputs.root_of(key))

    def addr(self, m: Mem) -> Addr:  # type: ignore[override]  # a symbolic Addr where Context has an int
        """The symbolic `Addr` that memory operand `m` accesses (the base alone for post-index)."""
        base_value = self.r(GPR(m.base.num, 64, m.base.sp))
        base = self._address(base_value)
        if m.mode == "post":
            return base
        if m.index is None:
            return base + m.offset
        idx = self.r(m.index)
        mod = m.modifier
        if isinstance(mod, Extend):
            idx = B.extend(idx, mod.op, mod.amount or 0, 64)
        elif isinstance(mod, Shift):
            idx = B.shift(idx, mod.op, mod.amount, 64)
        full = self._address((base_value + idx) & MASK64)
        return Addr(full.key, full.const, full.sym, base.root)

    def load(self, addr: Addr, size: int):  # type: ignore[override]  # takes the Addr that addr() gives
        """Read `size` bytes at `addr` from the symbolic state."""
        return self.s.load(addr, size)

    def store(self, addr: Addr, size: int, value) -> None:  # type: ignore[override]  # takes addr()'s Addr
        """Store the low `size` bytes of `value` at `addr` in the symbolic state."""
        self.s.store(addr, size, value)


def execute(instrs: Sequence[Instruction], inputs: Inputs) -> SymState:
    """Run `instrs` symbolically from `inputs` (stops at `ret`). Raises `Unsupported`
    for an instruction whose semantics cannot be followed symbolically."""
    state = SymState.initial(inputs)
    ctx = SymContext(state)
    for instr in instrs:
        if instr.mnemonic == "ret":
            break
        sem = instr.form.semantics
        if sem is None:
            raise Unsupported(instr, "control flow")
        try:
            sem(ctx, instr.operands)
        except (SymbolicUnsupported, TypeError, AttributeError, ValueError, z3.Z3Exception) as exc:
            raise Unsupported(instr, str(exc) or type(exc).__name__) from None
    return state


def supported(instr: Instruction) -> str | None:
    """None if `instr` runs symbolically, else why not."""
    try:
        execute([instr], Inputs())
    except Unsupported as u:
        return u.why
    return None
