"""The instruction table: one declaration per instruction form.

A form is a mnemonic plus an operand signature. It declares, in one place:
  * each operand's accepted kinds and role (read, write, read-write, or none),
  * the NZCV flags it reads and writes,
  * its memory access (load/store and size in bytes),
  * a machine-independent operation class (`opclass`) that machine models map to
    pipes and latencies,
  * operand constraints (encodable immediates),
  * its semantics, a function executed by the simulator.

The parser, the dependency analysis, the simulator and the scheduler all read
these declarations; nothing else in the code knows about individual mnemonics.

Signature syntax (see `sig()`): comma-separated operand patterns; each is a
`|`-separated list of operand kinds (operands.kind()), with shorthands
Xz = X|ZR, Xs = X|SP, Wz = W|WZR, Ws = W|WSP. A prefix `>` marks a written
operand, `+` a read-and-written one; a suffix `?` an optional trailing operand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scheduler.frontend.isa.operands import (
    COND_FLAGS,
    CONDITIONS,
    Cond,
    Operand,
    Sym,
    kind,
)
from scheduler.frontend.isa.unpredictable import unpredictable_operands

SHORTHANDS = {
    "Xz": ("X", "ZR"), "Xs": ("X", "SP"), "Wz": ("W", "WZR"), "Ws": ("W", "WSP"),
}

Semantics = Callable[..., None]


@dataclass(frozen=True)
class OpClassVariant:
    """An operand-dependent operation class: `fn(ops)` returns one of `names`.

    `names` lists every possible result, so coverage of a machine model can be
    checked without enumerating operands."""

    fn: Callable[[Sequence[Operand]], str]
    names: tuple[str, ...]

    def __call__(self, ops: Sequence[Operand]) -> str:
        name = self.fn(ops)
        assert name in self.names, name
        return name
Check = Callable[[Sequence[Operand]], str | None]


@dataclass(frozen=True)
class OpPattern:
    """One operand position of a form: the kinds it accepts, its role and whether it may be left out."""

    kinds: frozenset[str]
    role: str  # "r", "w", "rw" or "" (immediates, conditions, modifiers, labels)
    optional: bool = False

    def __str__(self) -> str:
        prefix = {"w": ">", "rw": "+"}.get(self.role, "")
        return prefix + "|".join(sorted(self.kinds)) + ("?" if self.optional else "")


_NON_REGISTER = {"#", "SHIFT", "EXT", "COND", "SYM"}


def sig(text: str) -> tuple[OpPattern, ...]:
    """Operand patterns from a signature string: kinds separated by `|`, `>` marks a write,
    `+` a read-write, a trailing `?` an optional operand."""
    pats = []
    for tok in (t.strip() for t in text.split(",")) if text.strip() else ():
        role = "r"
        if tok.startswith(">"):
            role, tok = "w", tok[1:]
        elif tok.startswith("+"):
            role, tok = "rw", tok[1:]
        optional = tok.endswith("?")
        tok = tok.rstrip("?")
        kinds: list[str] = []
        for alt in tok.split("|"):
            kinds.extend(SHORTHANDS.get(alt, (alt,)))
        if all(k in _NON_REGISTER for k in kinds):
            role = ""
        pats.append(OpPattern(frozenset(kinds), role, optional))
    return tuple(pats)


@dataclass(frozen=True)
class Form:
    """One instruction form: mnemonic, operand signature, semantics, opclass, flags, memory access and check."""

    mnemonic: str
    operands: tuple[OpPattern, ...]
    semantics: Semantics | None
    opclass: str | OpClassVariant
    flags_read: str = ""  # subset of "NZCV", or "cond" (given by the COND operand)
    flags_written: str = ""
    mem: str = ""  # "", "load" or "store"
    mem_size: int = 0  # bytes accessed in total (both registers of a pair)
    check: Check | None = None
    alias_of: str = ""  # the underlying instruction, for documentation and tests
    branch: bool = False
    note: str = ""

    @property
    def signature(self) -> str:
        """The operand signature as text, the patterns separated by ", "."""
        return ", ".join(str(p) for p in self.operands)

    @property
    def key(self) -> str:
        """Unique, stable name of the form, e.g. `adcs >X|ZR, X|ZR, X|ZR`."""
        return f"{self.mnemonic} {self.signature}".strip()

    def opclass_of(self, ops: Sequence[Operand]) -> str:
        """The opclass for these operands (a variant picks it from them)."""
        return self.opclass(ops) if callable(self.opclass) else self.opclass

    @property
    def opclasses(self) -> tuple[str, ...]:
        """Every operation class this form can have (one unless operand-dependent)."""
        return self.opclass.names if isinstance(self.opclass, OpClassVariant) else (self.opclass,)

    def flags_read_by(self, ops: Sequence[Operand]) -> str:
        """The flags read with these operands: the form's own, or for a condition operand the flags it tests."""
        if self.flags_read != "cond":
            return self.flags_read
        if any(isinstance(o, Cond) and o.code in ("al", "nv") for o in ops):
            return "NZCV"  # does not depend on the flags, but the encoding reads them: stay conservative
        return "".join(
            sorted({f for o in ops if isinstance(o, Cond) for f in COND_FLAGS[o.code]},
                   key="NZCV".index)
        )


@dataclass
class Table:
    """Every instruction form, by mnemonic."""

    forms: dict[str, list[Form]] = field(default_factory=dict)

    def add(self, form: Form) -> Form:
        """Add `form` and return it; ValueError if a form with the same key exists."""
        existing = self.forms.setdefault(form.mnemonic, [])
        if any(f.key == form.key for f in existing):
            raise ValueError(f"duplicate instruction form {form.key}")
        existing.append(form)
        return form

    def __iter__(self):
        for forms in self.forms.values():
            yield from forms

    def __len__(self) -> int:
        return sum(len(v) for v in self.forms.values())

    def lookup(self, mnemonic: str, ops: Sequence[Operand]) -> tuple[Form, list[Operand]] | str:
        """Find the form matching `ops`; returns (form, normalised operands) or an error message."""
        candidates = self.forms.get(mnemonic)
        if not candidates:
            return "unsupported instruction"
        for form in candidates:
            matched = match(form, ops)
            if matched is not None:
                problem = form.check(matched) if form.check else None
                if problem:
                    return problem
                return form, matched
        return "unsupported operand form"


def match(form: Form, ops: Sequence[Operand]) -> list[Operand] | None:
    """The operands if they fit the form's signature (condition names read as conditions), else None."""
    pats = form.operands
    if len(ops) > len(pats) or len(ops) < sum(1 for p in pats if not p.optional):
        return None
    out: list[Operand] = []
    for op, pat in zip(ops, pats, strict=False):
        if "COND" in pat.kinds and isinstance(op, Sym) and op.name.lower() in CONDITIONS:
            op = Cond(CONDITIONS[op.name.lower()], op.name.lower())
        if kind(op) not in pat.kinds:
            return None
        out.append(op)
    return out


TABLE = Table()


def define(
    mnemonic: str,
    signature: str,
    opclass: str | OpClassVariant,
    semantics: Semantics | None = None,
    **kw,
) -> Form:
    """Declare one instruction form in the global table. A memory form's check also
    refuses the UNPREDICTABLE register combinations (`unpredictable.py`): the parser
    rejects them, and so does any pass that tests a rewritten instruction with `check`."""
    if kw.get("mem"):
        kw["check"] = _refusing_unpredictable(kw["mem"], kw.get("check"))
    return TABLE.add(Form(mnemonic, sig(signature), semantics, opclass, **kw))


def _refusing_unpredictable(mem: str, check: Check | None) -> Check:
    def both(ops: Sequence[Operand]) -> str | None:
        return (check(ops) if check else None) or unpredictable_operands(mem, ops)
    return both
