"""Intermediate representation: a parsed assembly file.

A `Program` keeps every source line verbatim (so it can be written back) and a
flat list of statements in program order after macro/.rept expansion: labels,
directives and instructions. Instructions carry their instruction-table form
and derived read/write sets; blocks are maximal straight-line runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from scheduler.core.errors import SourceLoc
from scheduler.frontend.isa.operands import GPR, Mem, Operand, VElem, VReg
from scheduler.frontend.isa.table import Form

FLAGS = "nzcv"  # the single resource name for the flags in read/write sets


@dataclass(frozen=True)
class MemAccess:
    """A memory access as the dependency analysis sees it (address = base + offset)."""

    kind: str  # "load" or "store"
    base: str  # resource name of the base register ("x1", "sp")
    offset: int | None  # None when the address uses an index register
    size: int
    index: str | None = None


@dataclass(frozen=True, eq=False)
class Instruction:
    """One parsed instruction: mnemonic, operands, its instruction-table form and where it was written."""

    mnemonic: str
    operands: tuple[Operand, ...]
    form: Form
    loc: SourceLoc
    text: str = ""  # the statement as written, for messages

    def __str__(self) -> str:
        return self.canonical

    @cached_property
    def canonical(self) -> str:
        """The instruction in canonical syntax (what `str` gives; computed once: candidates are
        compared by their text, thousands of times on a large block)."""
        return format_instruction(self.mnemonic, self.operands)

    @cached_property
    def opclass(self) -> str:
        """The instruction's opclass (the key machine models give a timing class for), from its form and operands."""
        return self.form.opclass_of(self.operands)

    @cached_property
    def flags_read(self) -> str:
        """Which flags the instruction reads ("" for none), from its form and condition operand."""
        return self.form.flags_read_by(self.operands)

    @cached_property
    def reads(self) -> frozenset[str]:
        """Architectural resources read: register names ("x3", "sp", "v7") and "nzcv"."""
        out: set[str] = set()
        for op, pat in zip(self.operands, self.form.operands, strict=False):
            if isinstance(op, Mem):
                out.add(op.base_resource)
                if op.index is not None and op.index.resource:
                    out.add(op.index.resource)
            elif pat.role in ("r", "rw"):
                res = _resource(op)
                if res:
                    out.add(res)
        if self.mnemonic == "ret" and not self.operands:
            out.add("x30")
        if self.flags_read:
            out.add(FLAGS)
        return frozenset(out)

    @cached_property
    def writes(self) -> frozenset[str]:
        """Architectural resources written: register names (a writeback base included) and "nzcv"."""
        out: set[str] = set()
        for op, pat in zip(self.operands, self.form.operands, strict=False):
            if isinstance(op, Mem):
                if op.writeback:
                    out.add(op.base_resource)
            elif pat.role in ("w", "rw"):
                res = _resource(op)
                if res:
                    out.add(res)
        if self.form.flags_written:
            out.add(FLAGS)
        return frozenset(out)

    @cached_property
    def mem(self) -> MemAccess | None:
        """The memory access for the dependency analysis, or None if the instruction does not access memory."""
        if not self.form.mem:
            return None
        m = self.operands[-1]
        assert isinstance(m, Mem)
        index = m.index.resource if m.index is not None else None
        offset = None if index else (0 if m.mode == "post" else m.offset)
        return MemAccess(self.form.mem, m.base_resource, offset, self.form.mem_size, index)

    @property
    def is_branch(self) -> bool:
        """Whether the instruction is a branch (it ends a block)."""
        return self.form.branch


def _resource(op: Operand) -> str | None:
    if isinstance(op, (GPR, VReg, VElem)):
        return op.resource
    return None


def format_instruction(mnemonic: str, operands: tuple[Operand, ...]) -> str:
    """The instruction as assembly text: mnemonic, then the operands separated by ", "."""
    if not operands:
        return mnemonic
    return f"{mnemonic} " + ", ".join(str(o) for o in operands)


@dataclass(frozen=True)
class Label:
    """A label definition (`name:`)."""

    name: str
    loc: SourceLoc

    def __str__(self) -> str:
        return f"{self.name}:"


@dataclass(frozen=True)
class Directive:
    """An assembler directive, kept as written; `opaque_code` when it puts undecodable bytes into the code."""

    text: str
    loc: SourceLoc
    # Puts bytes the tool does not understand into the instruction stream (`.inst` of an
    # encoding outside the table, `.byte`, `.fill`, ... in a code section): it ends the
    # block, and every register may be read or written by it.
    opaque_code: bool = False

    def __str__(self) -> str:
        return self.text


Statement = Instruction | Label | Directive


@dataclass
class SourceLine:
    """One line of the (preprocessed) file: raw text plus the statements it produced."""

    loc: SourceLoc
    raw: str
    comment: str = ""  # the comment text including its delimiters, "" if none
    statements: list[Statement] = field(default_factory=list)
    # for the line that closes a .rept/.irp: the index (in Program.lines) of the line that
    # opened it; the statements here are the expansion of the lines from there to here
    expansion_from: int | None = None


@dataclass(frozen=True)
class SourceText:
    """A `.S` file as written, before the C preprocessor, and how to run cpp on it again:
    the emitter writes reordered blocks back into these lines (present/roundtrip.py)."""

    path: str
    lines: tuple[str, ...]
    include_dirs: tuple[str, ...] = ()
    defines: tuple[str, ...] = ()


@dataclass
class Block:
    """A maximal straight-line run of instructions (no labels, directives or branches inside)."""

    index: int
    start: int  # index into Program.statements of the first instruction
    instructions: list[Instruction]


@dataclass
class Program:
    """A parsed file: its source lines, statements in program order, and the `@noalias`/`@outputs` annotations."""

    path: str
    lines: list[SourceLine]
    statements: list[Statement]
    noalias: frozenset[str] = frozenset()  # from `// @noalias` annotations
    outputs: tuple[str, ...] = ()  # from `// @outputs` annotations
    outputs_declared: bool = False  # an `@outputs` annotation exists (possibly `@outputs none`)
    # every file the parse read: the input, headers the C preprocessor included, `.incbin`
    # files (as named; relative to the working directory) -- no output may overwrite one
    sources: tuple[str, ...] = ()
    # every `.req` alias the file defines (name -> register), for writing renamed lines back
    aliases: dict[str, str] = field(default_factory=dict)
    source: SourceText | None = None  # the file as written, when it went through the C preprocessor

    @property
    def opaque_code(self) -> list[Directive]:
        """The directives that put code the tool cannot decode into the file."""
        return [s for s in self.statements if isinstance(s, Directive) and s.opaque_code]

    @property
    def instructions(self) -> list[Instruction]:
        """Every instruction of the file, in program order."""
        return [s for s in self.statements if isinstance(s, Instruction)]

    def blocks(self) -> list[Block]:
        """The file's maximal straight-line runs of non-branch instructions, numbered in order."""
        blocks: list[Block] = []
        current: list[Instruction] = []
        start = 0

        def close() -> None:
            if current:
                blocks.append(Block(len(blocks), start, list(current)))
                current.clear()

        for i, stmt in enumerate(self.statements):
            if isinstance(stmt, Instruction) and not stmt.is_branch:
                if not current:
                    start = i
                current.append(stmt)
            else:
                close()
        close()
        return blocks
