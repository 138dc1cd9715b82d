"""Parser for GNU-assembler AArch64 files as hand-written kernels use them.

Handles: the C preprocessor for `.S` files (with -I/-D, line markers mapped back
to the original file), `//` and `/* */` comments, `;`-separated statements,
labels, directives, `.req`/`.unreq` register aliases, `.equ`/`.set`/`.equiv`/`=`
constants, conditional assembly (`.if*`/`.elseif`/`.else`/`.endif`) and
`.macro`/`.rept`/`.irp`/`.irpc` expansion. Every line is kept verbatim so the
file can be written back; every instruction is matched against the instruction
table or rejected with `FILE:LINE: unsupported instruction '...'`.

Symbols must be defined before they are used: GNU as resolves forward
references, which would need a second pass; here they are an error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.core.errors import AsmError, OperandError, SourceLoc
from scheduler.frontend import isa  # noqa: F401  (populates the instruction table)
from scheduler.frontend.ir import (
    Directive,
    Instruction,
    Label,
    Program,
    SourceLine,
    SourceText,
    Statement,
)
from scheduler.frontend.isa.operands import (
    eval_expr,
    is_register_name,
    parse_operands,
    register_resource,
    split_operands,
    wrap64,
)
from scheduler.frontend.isa.table import TABLE

# How deep blocks may nest: .rept/.irp/.irpc/.macro bodies inside each other, macro, .rept and
# .irp expansions in progress (a macro calling a macro, recursion), and .if blocks. GNU as
# stops at 100 nested expansions ("macros nested too deeply"); 64 keeps the parser, which
# expands recursively, far from Python's recursion limit wherever it runs.
MAX_NESTING_DEPTH = 64
MAX_LINE_CHARS = 1 << 16  # one statement after macro substitution
# Default bound on the statements a file may produce, counting every statement of
# every .rept/.irp/macro expansion (the CLI's --max-instructions).
DEFAULT_MAX_STATEMENTS = 250_000  # about 10 s of parsing at worst
MAX_INPUT_BYTES = 32 << 20  # larger inputs (or preprocessor output) are refused
MAX_CPP_MESSAGE_LINES = 40
# Directives GNU as spells two ways (measured with aarch64-linux-gnu-as): the
# second spelling is handled as the first.
DIRECTIVE_ALIASES = {".rep": ".rept", ".irep": ".irp", ".irepc": ".irpc"}
# Directives that open or close a block, or change the macros: a body holding one
# has no size known in advance (see Parser._static_size).
_BLOCK_DIRECTIVES = {".rept", ".irp", ".irpc", ".macro", ".endm", ".endr", ".purgem", ".exitm"}
_LABEL_RE = re.compile(r"^\s*([A-Za-z_.$][\w.$]*|\d+)\s*:(?!:)")
_IDENT_RE = re.compile(r"[A-Za-z_.$][\w.$]*")
_ANNOTATION_RE = re.compile(r"@(noalias|outputs)\b[:\s]*([\w\s,]*)")
_STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
UNSUPPORTED_DIRECTIVES = {
    ".include": "run the file through the C preprocessor (#include) instead",
    ".exitm": "'.exitm' is not supported",
    ".altmacro": "'.altmacro' is not supported",
}
# Conditional assembly: tests of an absolute expression, and tests of text
# (name -> (test, result that selects the block)).
_IF_EXPR = {
    ".if": lambda v: v != 0, ".ifne": lambda v: v != 0, ".ifeq": lambda v: v == 0,
    ".ifgt": lambda v: v > 0, ".ifge": lambda v: v >= 0, ".iflt": lambda v: v < 0, ".ifle": lambda v: v <= 0,
}
_IF_TEXT = {
    ".ifdef": ("defined", True), ".ifndef": ("defined", False), ".ifnotdef": ("defined", False),
    ".ifb": ("blank", True), ".ifnb": ("blank", False), ".ifc": ("same", True), ".ifnc": ("same", False),
    ".ifeqs": ("same string", True), ".ifnes": ("same string", False),
}
_IF_TESTS = _IF_EXPR.keys() | _IF_TEXT.keys()
# Directives that put bytes into the current section. In a code section, `.inst` and the
# 4-byte data directives are decoded (capstone) into table instructions when they can be;
# everything else there is opaque code: it ends the block and may read or write anything.
_WORD_DIRECTIVES = {".inst", ".word", ".long", ".int", ".4byte"}
_DATA_DIRECTIVES = _WORD_DIRECTIVES | {
    ".byte", ".2byte", ".hword", ".short", ".8byte", ".quad", ".xword", ".dword", ".octa",
    ".fill", ".skip", ".space", ".zero", ".ascii", ".asciz", ".string", ".incbin",
    ".float", ".single", ".double", ".sleb128", ".uleb128", ".inst.n", ".inst.w"}
_COND_ENDS = (".else", ".elseif", ".endif")
# a register name with a number (bad when out of range: see Parser._bad_register)
_BAD_REG_RE = re.compile(r"(?<![\w.$#])([xwvqdsbhXWVQDSBH])(\d+)\b")


# ------------------------------------------------------------ preprocessing

def preprocess(path: Path, include_dirs=(), defines=(), files: set[str] | None = None
               ) -> list[tuple[str, SourceLoc]]:
    """Run the C preprocessor; return lines with their original locations. `files`, when
    given, receives every file the preprocessor read (its line markers name each one it
    enters, an empty header or a system header too)."""
    cmd = _cpp_command()
    if cmd is None:
        raise AsmError(SourceLoc(str(path), 1), "a .S file needs the C preprocessor (gcc or cpp), none found")
    args = [*cmd, "-C"]
    args += [f"-I{d}" for d in include_dirs]
    args += [f"-D{d}" for d in defines]
    args.append(str(path))
    try:
        proc = subprocess.run(args, capture_output=True, text=True, errors="replace")
    except OSError as e:
        raise AsmError(None, f"cannot run the C preprocessor: {e.strerror or e}", file=str(path)) from None
    if proc.returncode != 0:
        # Every line: the first is often just "In file included from ...".
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()] or ["(no message)"]
        line = _cpp_error_line(lines, str(path))
        first = next((ln for ln in lines if _CPP_ERROR_RE.search(ln)), None)
        if len(lines) > MAX_CPP_MESSAGE_LINES:
            lines = lines[:MAX_CPP_MESSAGE_LINES] + [f"... ({len(lines) - MAX_CPP_MESSAGE_LINES} more lines)"]
        if first is not None and first not in lines:  # the error itself, after a long include chain
            lines.append(first)
        raise AsmError(SourceLoc(str(path), line) if line else None,
                       "C preprocessor failed:\n" + "\n".join(lines), file=str(path))
    if len(proc.stdout) > MAX_INPUT_BYTES:
        raise AsmError(None, f"preprocessed text too large ({len(proc.stdout)} characters, "
                             f"at most {MAX_INPUT_BYTES})", file=str(path))
    return _map_line_markers(proc.stdout, str(path), files)


def _cpp_command() -> list[str] | None:
    if shutil.which("gcc"):
        return ["gcc", "-E", "-x", "assembler-with-cpp"]
    if shutil.which("cpp"):
        return ["cpp", "-x", "assembler-with-cpp"]
    return None


_MARKER_RE = re.compile(r'^#\s*(\d+)\s+"((?:[^"\\]|\\.)*)"((?:\s+\d+)*)\s*$')
_CPP_ERROR_RE = re.compile(r":\d+(?::\d+)?: (?:fatal )?error:")
_CPP_ESCAPE_RE = re.compile(r'\\([0-7]{1,3}|.)')


def _cpp_error_line(lines: list[str], main: str) -> int | None:
    """The line of the main file a preprocessor failure comes from: the line of its first
    error when that is in the main file, else the main file's `#include` that led to it."""
    at = re.compile(r"(?:^In file included from |^\s+from |^)" + re.escape(main) + r":(\d+)[:,]")
    last = None
    for ln in lines:
        m = at.match(ln)
        if m:
            last = int(m.group(1))
        if _CPP_ERROR_RE.search(ln):
            return last
    return last


def _cpp_file_name(quoted: str) -> str:
    """A file name as a line marker spells it (C escapes: backslash, quote, octal bytes)."""
    def unescape(m: re.Match) -> str:
        code = m.group(1)
        return chr(int(code, 8)) if code[0] in "01234567" else code
    return _CPP_ESCAPE_RE.sub(unescape, quoted)


def _map_line_markers(text: str, main: str, files: set[str] | None = None) -> list[tuple[str, SourceLoc]]:
    out: list[tuple[str, SourceLoc]] = []
    file, line, system = main, 1, False
    for raw in text.splitlines():
        m = _MARKER_RE.match(raw)
        if m:
            file, line = _cpp_file_name(m.group(2)), int(m.group(1))
            system = "3" in m.group(3).split()
            if files is not None and not file.startswith("<"):
                files.add(file)
            continue
        if not system and not file.startswith("<"):
            out.append((raw, SourceLoc(file, line)))
        line += 1
    return out


# ---------------------------------------------------------------- comments

def split_comments(lines: list[tuple[str, SourceLoc]]) -> list[tuple[str, str]]:
    """Per line: (code without comments, comment text). Handles multi-line /* */."""
    out = []
    in_block = False
    for raw, _ in lines:
        code, comment = [], []
        i, n = 0, len(raw)
        start = 0  # where the open block comment's text begins on this line
        in_str = False
        while i < n:
            if in_block:
                end = raw.find("*/", i)
                if end < 0:
                    comment.append(raw[start:])
                    i = n
                else:
                    comment.append(raw[start:end + 2])
                    i = end + 2
                    in_block = False
                    code.append(" ")
                continue
            ch = raw[i]
            if ch == '"':
                in_str = not in_str
            elif not in_str and raw.startswith("/*", i):
                # Look for '*/' only after the '/*', so that '/*/' does not close it.
                in_block, start, i = True, i, i + 2
                continue
            elif not in_str and raw.startswith("//", i):
                comment.append(raw[i:])
                break
            code.append(ch)
            i += 1
        text = "".join(code)
        if text.strip().startswith("#") and not in_str:
            # GNU as treats `#` at the start of a line as a comment.
            comment.insert(0, text.strip())
            text = ""
        out.append((text, " ".join(c.strip() for c in comment)))
    return out


def split_statements(code: str) -> list[str]:
    """Split a line's code at `;` outside string literals; empty statements are dropped."""
    parts: list[str] = []
    cur: list[str] = []
    in_str = False
    for ch in code:
        if ch == '"':
            in_str = not in_str
        if ch == ";" and not in_str:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


# ------------------------------------------------------------------ parser

@dataclass
class _Macro:
    name: str
    params: list[tuple[str, str | None, str]]  # (name, default, qualifier)
    body: list[str]
    loc: SourceLoc
    body_locs: list[SourceLoc] = field(default_factory=list)  # where each body statement is written


@dataclass
class _Collect:
    """State while gathering the body of .macro/.rept/.irp/.irpc up to its end directive."""

    kind: str  # "macro", "rept" or "irp" (.irpc too: its header lists the characters)
    head: str  # the opening directive, for error messages
    loc: SourceLoc
    header: _Macro | int | tuple[str, list[str]]  # the macro, the .rept count, or the .irp symbol and values
    body: list[str] = field(default_factory=list)
    body_locs: list[SourceLoc] = field(default_factory=list)
    depth: int = 0
    line_index: int = -1  # the source line that opened it (Program.lines index)


@dataclass
class _Cond:
    """One open .if block."""

    head: str  # the opening directive, for error messages
    loc: SourceLoc
    outer: bool  # the enclosing region is assembled
    taken: bool  # some branch of this block has been chosen
    active: bool  # the current branch is assembled
    in_else: bool = False


class Parser:
    """The parser state for one file: aliases, symbols, macros, open blocks and the statements so far."""

    def __init__(self, filename: str, max_statements: int = DEFAULT_MAX_STATEMENTS,
                 include_dirs=(), sources=()):
        self.filename = filename
        self.include_dirs = [str(d) for d in include_dirs]
        # every file the input reads (the file, its #include'd headers, .incbin files), in order
        self.sources: list[str] = list(dict.fromkeys([filename, *sources]))
        self.max_statements = max_statements
        self.produced = 0  # statements processed so far, expansions included
        self.size_cache: dict[int, tuple[_Macro, int | None]] = {}  # see _macro_size
        self.aliases: dict[str, str] = {}
        self.all_aliases: dict[str, str | None] = {}  # every alias ever defined; None: redefined differently
        self.symbols: dict[str, int] = {}
        self.labels: set[str] = set()
        self.macros: dict[str, _Macro] = {}
        self.statements: list[Statement] = []
        self.lines: list[SourceLine] = []
        self.collect: _Collect | None = None
        self.conds: list[_Cond] = []
        self.macro_count = 0  # value of \@: GNU as numbers macro expansions from 0
        self.section = ".text"  # what GNU as assembles into: .text until a section directive
        self.section_stack: list[str] = []
        self.previous_section = ".text"
        self.noalias: set[str] = set()
        self.outputs: list[str] = []
        self.outputs_declared = False
        # the files as written (before cpp), for messages; None when the text is not preprocessed
        self.original: dict[str, list[str]] | None = None

    # -- driver
    def parse_lines(self, lines: list[tuple[str, SourceLoc]]) -> Program:
        """Parse (text, location) lines into a `Program`; AsmError for an unclosed macro, .rept or .if."""
        for (raw, loc), (code, comment) in zip(lines, split_comments(lines), strict=True):
            line = SourceLine(loc, raw, comment)
            self.lines.append(line)
            self._annotations(comment, loc)
            before = len(self.statements)
            try:
                self._process_code(code, loc, depth=0)
            except RecursionError:  # a safety net: the nesting limits below should come first
                raise AsmError(loc, "blocks or expansions nested too deeply to parse") from None
            line.statements = self.statements[before:]
        if self.collect is not None:
            end = ".endm" if self.collect.kind == "macro" else ".endr"
            raise AsmError(self.collect.loc, f"'{self.collect.head}' without matching '{end}'")
        if self.conds:
            raise AsmError(self.conds[-1].loc, f"'{self.conds[-1].head}' without matching '.endif'")
        return Program(self.filename, self.lines, self.statements,
                       frozenset(self.noalias), tuple(self.outputs), self.outputs_declared,
                       tuple(self.sources), {k: v for k, v in self.all_aliases.items() if v is not None})

    def _annotations(self, comment: str, loc: SourceLoc) -> None:
        for m in _ANNOTATION_RE.finditer(comment):
            regs = [r for r in re.split(r"[\s,]+", m.group(2).strip()) if r]
            if not regs:  # never a silent "none": that would compare no register at all
                hint = "; for no register write '// @outputs none'" if m.group(1) == "outputs" else ""
                raise AsmError(loc, f"@{m.group(1)} names no register{hint}")
            if m.group(1) == "outputs":
                self.outputs_declared = True
                if regs == ["none"]:  # `// @outputs none`: no register is live after the code
                    continue
            for r in regs:
                resource = "nzcv" if r.lower() == "nzcv" else register_resource(self.aliases.get(r.lower(), r))
                if resource is None:
                    raise AsmError(loc, f"@{m.group(1)}: '{r}' is not a register")
                (self.noalias.add if m.group(1) == "noalias" else self.outputs.append)(resource)

    def _process_code(self, code: str, loc: SourceLoc, depth: int) -> None:
        for stmt in split_statements(code):
            self.produced += 1
            if self.produced > self.max_statements:
                raise self._too_many(loc)
            self._statement(stmt, loc, depth)

    def _too_many(self, loc: SourceLoc, what: str = "") -> AsmError:
        return AsmError(loc, f"{what}more than {self.max_statements} statements after .rept/.irp/macro "
                             "expansion (the limit is --max-instructions)")

    def _budget(self, count: int, body: list[str], head: str, loc: SourceLoc) -> None:
        """Fail before expanding `count` copies of `body` that cannot fit the statements left."""
        if not count:
            return
        size = self._static_size(body, frozenset())
        each = max(1, len(body) if size is None else size)  # an empty body still costs its iterations
        if count * each > self.max_statements - self.produced:
            lines = sum(len(split_statements(line)) for line in body)
            what = (f"{count} x {each} statements" if each <= max(lines, 1) else
                    f"{count} x {each} statements (a body of {lines} statements whose nested "
                    ".rept/.irp/macro blocks are read again at each level)")
            raise self._too_many(loc, f"'{head}' expands to {what}: ")

    @property
    def _active(self) -> bool:
        """False inside a branch that conditional assembly skips."""
        return not self.conds or self.conds[-1].active

    # -- one statement
    def _statement(self, stmt: str, loc: SourceLoc, depth: int) -> None:
        if self.collect is not None:
            # A body is gathered verbatim, .if included: it is evaluated when expanded.
            self._collect_line(stmt, loc, depth)
            return
        labels = []
        while m := _LABEL_RE.match(stmt):
            labels.append(m.group(1))
            stmt = stmt[m.end():].strip()
        head = stmt.split(None, 1)[0].lower() if stmt else ""
        if head in DIRECTIVE_ALIASES:
            stmt, head = _unalias(stmt, head)
        if not self._active:
            # Skipped text: only conditionals count, to find the matching .else/.endif.
            if head in _IF_TESTS or head in _COND_ENDS:
                self._conditional(stmt, head, loc)
            return
        for name in labels:
            self.statements.append(Label(name, loc))
            self.labels.add(name)
        if stmt:
            self._unlabelled(stmt, head, loc, depth)

    def _unlabelled(self, stmt: str, head: str, loc: SourceLoc, depth: int) -> None:
        words = stmt.split(None, 2)
        if len(words) >= 2 and words[1].lower() == ".req":
            self._req(words[0], words[2] if len(words) > 2 else "", loc)
            return
        assign = re.match(r"^([A-Za-z_.$][\w.$]*)\s*=\s*(.+)$", stmt)
        if assign and not head.startswith("."):
            self._set_symbol(assign.group(1), assign.group(2), loc)
            self.statements.append(Directive(stmt, loc))
        elif head in _IF_TESTS or head in _COND_ENDS:
            self._conditional(stmt, head, loc)
        elif head.startswith("."):
            self._directive(stmt, head, loc, depth)
        elif head in self.macros:
            self._expand_macro(self.macros[head], stmt[len(words[0]):].strip(), loc, depth)
        else:
            self.statements.append(self._instruction(stmt, loc, written=depth == 0))

    def _instruction(self, stmt: str, loc: SourceLoc, written: bool = False) -> Instruction:
        """`written`: the statement is on its source line (not made by a macro or .rept), so
        messages quote that line as written, before the C preprocessor."""
        parts = stmt.split(None, 1)
        mnemonic = parts[0].lower()
        shown = _clip(self._as_written(stmt, loc) if written else stmt)
        if mnemonic not in TABLE.forms:
            # Before decoding operands, so the message does not depend on them.
            raise AsmError(loc, f"unsupported instruction '{shown}'")
        optext = _hash_offsets(parts[1], self.aliases) if len(parts) > 1 else ""
        try:
            ops = parse_operands(optext, self.symbols, self.aliases)
        except OperandError as e:
            raise AsmError(loc, self._bad_register(optext, shown)
                           or f"unsupported instruction '{shown}': {e}") from None
        found = TABLE.lookup(mnemonic, ops)
        if isinstance(found, str):
            if found in ("unsupported instruction", "unsupported operand form"):
                raise AsmError(loc, self._bad_register(optext, shown) or f"unsupported instruction '{shown}'")
            raise AsmError(loc, f"invalid operand in '{shown}': {found}")
        form, matched = found
        return Instruction(mnemonic, tuple(matched), form, loc, stmt)

    def _bad_register(self, optext: str, shown: str) -> str | None:
        """The message for an operand that looks like a register but has no such number
        (`x32`, `v40`), or None: such a name is a bad register, not an unknown instruction."""
        for m in _BAD_REG_RE.finditer(optext):
            name = m.group(0)
            if name in self.symbols or name.lower() in self.aliases or name in self.labels:
                continue
            top = 30 if m.group(1).lower() in "xw" else 31
            if int(m.group(2)) > top:
                return f"bad register '{name}' in '{shown}' ({m.group(1).lower()}0-{m.group(1).lower()}{top} exist)"
        return None

    def _as_written(self, stmt: str, loc: SourceLoc) -> str:
        """`stmt` as its source line spells it before the C preprocessor (for messages): the
        same statement of the line as written, or `stmt` when the line cannot be read."""
        if self.original is None:
            return stmt
        lines = self.original.get(loc.file)
        if lines is None:
            try:
                lines = Path(loc.file).read_text(errors="replace").splitlines()
            except OSError:
                lines = []
            self.original[loc.file] = lines
        if not 0 < loc.line <= len(lines):
            return stmt
        code = split_comments([(lines[loc.line - 1], loc)])[0][0]
        parts = []
        for part in split_statements(code):
            while m := _LABEL_RE.match(part):
                part = part[m.end():].strip()
            if part:
                parts.append(part)
        return parts[0] if len(parts) == 1 else stmt

    # -- conditional assembly
    def _conditional(self, stmt: str, head: str, loc: SourceLoc) -> None:
        """.if*/.elseif/.else/.endif. Kept as directives (when the enclosing region
        is assembled) so that blocks, and so reordering, never cross them."""
        arg = stmt[len(head):].strip()
        if head in _IF_TESTS:
            if len(self.conds) >= MAX_NESTING_DEPTH:
                raise AsmError(loc, f"'{head}' blocks nested more than {MAX_NESTING_DEPTH} deep")
            outer = self._active
            chosen = outer and self._condition(head, arg, loc)
            self.conds.append(_Cond(head, loc, outer, chosen, chosen))
        else:
            if not self.conds:
                raise AsmError(loc, f"'{head}' without matching '.if'")
            c = self.conds[-1]
            outer = c.outer
            if head == ".endif":
                self.conds.pop()
            elif c.in_else:
                raise AsmError(loc, "duplicate '.else'" if head == ".else" else "'.elseif' after '.else'")
            else:
                # .else, or an .elseif that is only evaluated if no branch was chosen yet
                c.in_else = head == ".else"
                c.active = c.outer and not c.taken and (c.in_else or self._condition(".if", arg, loc))
                c.taken = c.taken or c.active
        if outer:
            self.statements.append(Directive(stmt, loc))

    def _condition(self, head: str, arg: str, loc: SourceLoc) -> bool:
        if head in _IF_EXPR:
            return _IF_EXPR[head](self._eval(arg, loc, signed=True))
        test, wanted = _IF_TEXT[head]
        return self._text_test(test, head, arg, loc) == wanted

    def _text_test(self, test: str, head: str, arg: str, loc: SourceLoc) -> bool:
        if test == "defined":
            if not _IDENT_RE.fullmatch(arg):
                raise AsmError(loc, f"'{head}' needs a symbol name, got '{arg}'")
            # Symbols and labels defined so far (not .req aliases, as in GNU as).
            return arg in self.symbols or arg in self.labels
        if test == "blank":
            return arg == ""
        if test == "same":
            a, comma, b = _scrub(arg).partition(",")
            if not comma:
                raise AsmError(loc, f"'{head}' needs two comma-separated strings")
            return a == b
        m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"\s*,\s*"((?:[^"\\]|\\.)*)"', arg)
        if not m:
            raise AsmError(loc, f"'{head}' needs two quoted strings")
        return m.group(1) == m.group(2)

    # -- directives
    def _directive(self, stmt: str, head: str, loc: SourceLoc, depth: int) -> None:
        rest = stmt[len(head):].strip()
        if head in (".err", ".error", ".fail"):
            self._error_directive(head, rest, loc)
        elif head == ".incbin":
            self._incbin(rest)
        if head in _SECTION_DIRECTIVES:
            self._switch_section(head, rest)
        elif head in _DATA_DIRECTIVES and _is_code_section(self.section):
            self.statements.extend(self._code_directive(stmt, head, rest, loc))
            return
        if head in UNSUPPORTED_DIRECTIVES:
            raise AsmError(loc, f"unsupported directive '{head}': {UNSUPPORTED_DIRECTIVES[head]}")
        if head.startswith(".if"):
            # An unknown conditional must not pass through: both branches would be assembled.
            raise AsmError(loc, f"unsupported directive '{head}': unknown conditional directive")
        if head in (".equ", ".set", ".equiv"):
            name, _, expr = rest.partition(",")
            name = name.strip()
            if head == ".equiv" and (name in self.symbols or name in self.labels):
                raise AsmError(loc, f"'.equiv': symbol '{name}' is already defined")
            self._set_symbol(name, expr, loc)
        elif head == ".unreq":
            self._unreq(rest, loc)
        elif head == ".req":
            raise AsmError(loc, "'.req' needs the form 'name .req register'")
        elif head == ".macro":
            macro = self._macro_header(rest, loc)
            if macro.name in self.macros:
                raise AsmError(loc, f"macro '{macro.name}' is already defined")
            self.collect = _Collect("macro", head, loc, macro)
        elif head == ".rept":
            self.collect = _Collect("rept", head, loc, self._eval(rest, loc), line_index=len(self.lines) - 1)
            return
        elif head in (".irp", ".irpc"):
            self.collect = _Collect("irp", head, loc, _irp_header(head, rest, loc), line_index=len(self.lines) - 1)
            return
        elif head in (".endm", ".endr"):
            raise AsmError(loc, f"'{head}' without an opening directive")
        elif head == ".purgem":
            self.macros.pop(rest.lower(), None)
        self.statements.append(Directive(stmt, loc))

    def _switch_section(self, head: str, rest: str) -> None:
        name = rest.split(",")[0].strip() if head in (".section", ".pushsection") else head
        if head == ".previous":
            name = self.previous_section
        elif head == ".popsection":
            name = self.section_stack.pop() if self.section_stack else self.section
        elif head == ".pushsection":
            self.section_stack.append(self.section)
        if head in (".section", ".pushsection") and "x" in _section_flags(rest):
            name = ".text" + name  # an executable section, whatever its name
        if name != self.section:
            self.previous_section, self.section = self.section, name

    def _code_directive(self, stmt: str, head: str, rest: str, loc: SourceLoc) -> list[Statement]:
        """Bytes in a code section: table instructions when every value decodes to one,
        else one opaque directive (the block ends there and nothing is assumed about it)."""
        if head in _WORD_DIRECTIVES and rest:
            words = [self._eval(v, loc) & 0xFFFFFFFF for v in _split_values(rest)]
            decoded = [self._decode_word(w, head, loc) for w in words]
            if all(d is not None for d in decoded):
                return [d for d in decoded if d is not None]
        return [Directive(stmt, loc, opaque_code=True)]

    def _decode_word(self, word: int, head: str, loc: SourceLoc) -> Instruction | None:
        text = _disassemble(word)
        if text is None:
            return None
        try:
            ins = self._instruction(text, loc)
        except AsmError:
            return None
        # emitted as written while its operands are unchanged (emit uses `text`)
        return Instruction(ins.mnemonic, ins.operands, ins.form, loc, f"{head} {word:#010x}")

    def _error_directive(self, head: str, rest: str, loc: SourceLoc) -> None:
        """`.err`, `.error "text"` and `.fail N` (N < 500) stop the assembly, as in GNU as;
        `.fail N` with N >= 500, like `.warning`, is only a warning there and passes."""
        if head == ".err":
            raise AsmError(loc, "'.err' encountered")
        if head == ".fail":
            value = self._eval(rest, loc, signed=True)
            if value < 500:
                raise AsmError(loc, f"'.fail {value}' encountered")
            return
        if not rest:
            raise AsmError(loc, "'.error' directive invoked in source file")
        m = _STRING_RE.fullmatch(rest)
        if not m:
            raise AsmError(loc, f"'.error' argument must be a string, got '{_clip(rest)}'")
        raise AsmError(loc, "'.error': " + re.sub(r"\\(.)", r"\1", m.group(1)))

    def _unreq(self, name: str, loc: SourceLoc) -> None:
        """Drop a `.req` alias. GNU as: an unknown name is an error, a register name a warning."""
        key = name.strip().lower()
        if not key or not _IDENT_RE.fullmatch(key):
            raise AsmError(loc, "invalid syntax for '.unreq': it needs an alias name")
        if key in self.aliases:
            del self.aliases[key]
        elif not is_register_name(key):
            raise AsmError(loc, f"'.unreq': unknown register alias '{name.strip()}'")

    def _incbin(self, rest: str) -> None:
        """Record the file `.incbin "FILE"` reads (GNU as looks in the current directory, then
        in each -I directory), so that no output may overwrite it."""
        m = _STRING_RE.match(rest)
        if not m:
            return
        name = m.group(1)
        candidates = [name] + ([str(Path(d) / name) for d in self.include_dirs] if not Path(name).is_absolute() else [])
        for c in candidates:
            if c not in self.sources:
                self.sources.append(c)

    def _req(self, name: str, reg: str, loc: SourceLoc) -> None:
        target = self.aliases.get(reg.strip().lower(), reg.strip().lower())
        if not is_register_name(target):
            raise AsmError(loc, f"'.req': '{reg.strip()}' is not a register")
        key = name.lower()
        # GNU as ignores (with a warning) a redefinition of an alias or of a register name.
        if key not in self.aliases and not is_register_name(key):
            self.aliases[key] = target
            self.all_aliases[key] = target if self.all_aliases.get(key, target) == target else None
        self.statements.append(Directive(f"{name} .req {reg.strip()}", loc))

    def _set_symbol(self, name: str, expr: str, loc: SourceLoc) -> None:
        if not _IDENT_RE.fullmatch(name):
            raise AsmError(loc, f"bad symbol name '{name}'")
        self.symbols[name] = self._eval(expr, loc)

    def _eval(self, expr: str, loc: SourceLoc, signed: bool = False) -> int:
        try:
            return eval_expr(expr, self.symbols, signed=signed)
        except OperandError as e:
            raise AsmError(loc, str(e)) from None

    # -- macros and repetition
    def _macro_header(self, rest: str, loc: SourceLoc) -> _Macro:
        """`.macro name[,] p[:req|:vararg][=default][,] ...` (separators: commas or spaces)."""
        rest = _scrub(rest)
        m = _IDENT_RE.match(rest)
        if not m:
            raise AsmError(loc, "'.macro' needs a name")
        name, i = m.group(), _skip_comma(rest, m.end())
        params: list[tuple[str, str | None, str]] = []
        while i < len(rest):
            p = _PARAM_RE.match(rest, i)
            if not p or p.group(2) not in (None, "req", "vararg"):
                raise AsmError(loc, f"macro '{name}': bad parameter '{rest[i:].split()[0]}'")
            if any(p.group(1) == q[0] for q in params):
                raise AsmError(loc, f"macro '{name}': parameter '{p.group(1)}' given twice")
            default, i = None, _skip_white(rest, p.end())
            if rest.startswith("=", i):
                default, i = _macro_arg(rest, i + 1)
            params.append((p.group(1), default, p.group(2) or ""))
            if p.group(2) == "vararg":
                break  # takes the rest of the line
            i = _skip_comma(rest, i)
        return _Macro(name.lower(), params, [], loc)

    def _collect_line(self, stmt: str, loc: SourceLoc, depth: int) -> None:
        c = self.collect
        assert c is not None
        head = stmt.split(None, 1)[0].lower() if stmt.strip() else ""
        head = DIRECTIVE_ALIASES.get(head, head)
        opening = {".macro": "macro", ".rept": "rept", ".irp": "irp", ".irpc": "irp"}
        closing = {"macro": ".endm", "rept": ".endr", "irp": ".endr"}
        if head in opening and (opening[head] == "macro") == (c.kind == "macro"):
            c.depth += 1
            if depth + c.depth >= MAX_NESTING_DEPTH:
                raise AsmError(loc, f"'{head}' blocks nested more than {MAX_NESTING_DEPTH} deep")
        elif head == closing[c.kind]:
            if c.depth == 0:
                self.collect = None
                if c.kind != "macro" and c.line_index >= 0:
                    # the expansion's statements belong to this line; the lines from the
                    # opening directive to here are its template (emit replaces them together)
                    self.lines[-1].expansion_from = c.line_index
                self._finish_collect(c, loc, depth)
                if c.kind == "macro":
                    self.statements.append(Directive(stmt, loc))
                return
            c.depth -= 1
        c.body.append(stmt)
        c.body_locs.append(loc)

    def _finish_collect(self, c: _Collect, loc: SourceLoc, depth: int) -> None:
        if c.kind == "macro":
            macro = c.header
            assert isinstance(macro, _Macro)
            macro.body, macro.body_locs = c.body, c.body_locs
            self.macros[macro.name] = macro
            self.size_cache.clear()  # sizes of macros that call this name change
        elif c.kind == "rept":
            assert isinstance(c.header, int)
            count = wrap64(int(c.header))
            if count < 0:
                raise AsmError(c.loc, f"negative count {count} for '{c.head}'")
            self._budget(count, c.body, c.head, c.loc)
            for _ in range(count):
                self._run_body(c.body, None, c.loc, depth + 1, f"'{c.head}'")
        else:
            assert isinstance(c.header, tuple)
            name, values = c.header
            self._budget(len(values), c.body, c.head, c.loc)
            for v in values:
                # .irp/.irpc substitute \@ with the current macro count, not incrementing it.
                self._run_body(c.body, {name: v, "@": str(self.macro_count)}, c.loc, depth + 1, f"'{c.head}'")

    def _expand_macro(self, macro: _Macro, argtext: str, loc: SourceLoc, depth: int) -> None:
        size = self._macro_size(macro, frozenset())
        if size is not None and size > self.max_statements - self.produced:
            raise self._too_many(loc, f"macro '{macro.name}' expands to {size} statements: ")
        values = self._bind_args(macro, argtext, loc)
        values["@"] = str(self.macro_count)
        self.macro_count += 1
        self._run_body(macro.body, values, loc, depth + 1, f"macro '{macro.name}'", macro)

    def _macro_size(self, macro: _Macro, visiting: frozenset[str], depth: int = 0) -> int | None:
        """Statements one expansion of `macro` makes, when that can be known without
        expanding it (see _static_size); memoised per definition."""
        cached = self.size_cache.get(id(macro))
        if cached is not None and cached[0] is macro:
            return cached[1]
        size = self._static_size(macro.body, visiting | {macro.name}, depth)
        self.size_cache[id(macro)] = (macro, size)
        return size

    def _static_size(self, body: list[str], visiting: frozenset[str], depth: int = 0) -> int | None:
        """Statements `body` makes, counted as _process_code counts them, when every
        line is plain (an instruction, a directive without a block, or a call of a
        known macro whose size is known): lets an exponential nest of macros fail
        before it runs; a nested `.rept` with a constant count counts its copies. None
        when a line could make a different number (conditionals, other blocks, heads
        made by substitution, symbol assignments, recursion, nesting deeper than
        MAX_NESTING_DEPTH); the running count then applies."""
        if depth > MAX_NESTING_DEPTH:
            return None
        stmts = [st for line in body for st in split_statements(line)]
        total, i = 0, 0
        while i < len(stmts):
            stmt = stmts[i]
            i += 1
            total += 1
            while m := _LABEL_RE.match(stmt):
                stmt = stmt[m.end():].strip()
            head = stmt.split(None, 1)[0].lower() if stmt else ""
            head = DIRECTIVE_ALIASES.get(head, head)
            if head == ".rept" and "\\" not in stmt:
                end, level = i, 0
                while end < len(stmts):  # the matching .endr
                    h = stmts[end].split(None, 1)[0].lower() if stmts[end].strip() else ""
                    h = DIRECTIVE_ALIASES.get(h, h)
                    if h == ".rept":
                        level += 1
                    elif h == ".endr":
                        if level == 0:
                            break
                        level -= 1
                    end += 1
                inner = self._static_size(stmts[i:end], visiting, depth + 1)
                try:
                    count = wrap64(eval_expr(stmt.split(None, 1)[1], self.symbols))
                except (OperandError, IndexError):
                    return None
                if inner is None or count < 0 or end == len(stmts):
                    return None
                total += (end - i) + 1 + count * inner  # the body as collected, .endr, the copies
                i = end + 1
                continue
            if ("\\" in head or head in _IF_TESTS or head in _COND_ENDS or head in _BLOCK_DIRECTIVES
                    or head in (".set", ".equ", ".equiv") or re.match(r"^[A-Za-z_.$][\w.$]*\s*=", stmt)):
                return None
            if head in self.macros:
                if head in visiting:
                    return None
                size = self._macro_size(self.macros[head], visiting, depth + 1)
                if size is None:
                    return None
                total += size
        return total

    def _bind_args(self, macro: _Macro, argtext: str, loc: SourceLoc) -> dict[str, str]:
        """Match invocation arguments to parameters as GNU as does: positional
        ones, then `name=value` ones; an empty or missing argument takes the default."""
        names = [p[0] for p in macro.params]
        argtext = _scrub(argtext)
        args = _split_args(argtext)
        given: dict[str, str] = {}
        keywords = False
        for pos, (keyword, value, start) in enumerate(args):
            if keyword is not None:
                if keyword not in names:
                    raise AsmError(loc, f"macro '{macro.name}' has no parameter '{keyword}'")
                given[keyword], keywords = value, True
            elif keywords:
                raise AsmError(loc, f"macro '{macro.name}': positional argument after keyword arguments")
            elif pos >= len(names):
                raise AsmError(loc, f"macro '{macro.name}' takes {len(names)} arguments, got {len(args)}")
            elif macro.params[pos][2] == "vararg":
                given[names[pos]] = argtext[start:]
                break
            else:
                given[names[pos]] = value
        values = {}
        for name, default, qual in macro.params:
            values[name] = given.get(name) or default or ""
            if qual == "req" and not values[name]:
                raise AsmError(loc, f"macro '{macro.name}': missing required argument '{name}'")
        return values

    def _run_body(self, body: list[str], values: dict[str, str] | None, loc: SourceLoc, depth: int,
                  what: str, macro: _Macro | None = None) -> None:
        """Process body lines; `values` (None for .rept, which substitutes nothing) maps
        `\\name` to its text, and "@" to the value of `\\@`. `what`: the macro or directive, for
        messages; an error in a macro's body points at the body line, and names the macro and the call."""
        if depth > MAX_NESTING_DEPTH:
            raise AsmError(loc, f"{what}: expansions nested more than {MAX_NESTING_DEPTH} deep (macros "
                                "calling macros, or a recursion that does not end)")
        for k, line in enumerate(body):
            if values is not None:
                line = re.sub(r"\\(\w+|@|\(\))", lambda m: _subst(m.group(1), values), line)
                if len(line) > MAX_LINE_CHARS:  # e.g. a macro that doubles its argument at each level
                    raise AsmError(loc, f"macro expansion makes a line of over {MAX_LINE_CHARS} characters")
            try:
                self._process_code(line, loc, depth)
            except AsmError as e:
                if macro is None or k >= len(macro.body_locs) or e.loc != loc or _about_expansion(e):
                    raise  # not this body's line (or already placed in an inner macro, or about the call)
                raise AsmError(macro.body_locs[k], f"{e.message} (in macro '{macro.name}' called at {loc})") from None


def _about_expansion(e: AsmError) -> bool:
    """An error about the expansion as a whole (its size, its depth): it belongs to the call."""
    return any(k in e.message for k in ("nested too deeply", "nested more than",
                                         "statements after .rept/.irp/macro", "macro expansion makes a line"))


_SECTION_DIRECTIVES = {".text", ".data", ".bss", ".rodata", ".section", ".pushsection", ".popsection",
                       ".previous"}


def _is_code_section(name: str) -> bool:
    return name.startswith(".text") or name.startswith(".init") or name.startswith(".fini")


def _section_flags(rest: str) -> str:
    m = re.search(r',\s*"([^"]*)"', rest)
    return m.group(1) if m else ""


def _split_values(rest: str) -> list[str]:
    """Comma-separated expressions (commas inside parentheses belong to the expression)."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in rest:
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        cur.append(ch)
    out.append("".join(cur))
    return [v.strip() for v in out if v.strip()]


_CAPSTONE = None


def _disassemble(word: int) -> str | None:
    """The instruction a 32-bit little-endian word encodes, in assembler syntax, or None."""
    global _CAPSTONE
    import capstone

    if _CAPSTONE is None:
        _CAPSTONE = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    found = list(_CAPSTONE.disasm_lite(word.to_bytes(4, "little"), 0))
    if len(found) != 1:
        return None
    _, _, mnemonic, op_str = found[0]
    return f"{mnemonic} {op_str}".strip()


def _is_register(text: str, aliases: dict[str, str]) -> bool:
    low = text.strip().lower()
    return is_register_name(aliases.get(low, low))


def _hash_offsets(optext: str, aliases: dict[str, str]) -> str:
    """Operand text with a `#` before an address offset written without one: GNU as reads
    `[x1, OFF - 16]`, `[x1, OFF*2]!` and `[x1], OFF` as immediates, like `[x1, #OFF - 16]`.
    An offset that is a register (or a `.req` alias), a relocation (`:lo12:`) or already
    starts with `#` is left alone; so is text that does not split into operands."""
    try:
        parts = split_operands(optext)
    except OperandError:
        return optext
    out, changed = [], False
    for k, part in enumerate(parts):
        after_address = k > 0 and parts[k - 1].startswith("[") and parts[k - 1].endswith("]")
        if part.startswith("[") and part.rstrip("!").rstrip().endswith("]"):
            inner = part[1:part.rindex("]")]
            try:
                fields = split_operands(inner) if inner.strip() else []
            except OperandError:
                fields = []
            if len(fields) == 2 and _bare_offset(fields[1], aliases):
                part = "[" + fields[0] + ", #" + fields[1] + part[part.rindex("]"):]
                changed = True
        elif after_address and _bare_offset(part, aliases):
            part, changed = "#" + part, True
        out.append(part)
    return ", ".join(out) if changed else optext


def _bare_offset(text: str, aliases: dict[str, str]) -> bool:
    t = text.strip()
    return bool(t) and t[0] not in "#:" and not _is_register(t, aliases)


def _clip(text: str, limit: int = 160) -> str:
    """Statement text for a message, cut short when very long."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _unalias(stmt: str, head: str) -> tuple[str, str]:
    """`.rep 3` -> `.rept 3` (see DIRECTIVE_ALIASES)."""
    canonical = DIRECTIVE_ALIASES[head]
    return canonical + stmt[len(head):], canonical


def _subst(name: str, values: dict[str, str]) -> str:
    if name == "()":
        return ""
    return values.get(name, "\\" + name)


# ------------------------------------------------- macro and .irp argument text

_PARAM_RE = re.compile(r"([A-Za-z_.$][\w.$]*)(?:\s*:\s*(\w+))?")
_KEYWORD_RE = re.compile(r"([A-Za-z_.$][\w.$]*)\s*=")
_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"?')
_SCRUB_RE = re.compile(r'("(?:[^"\\]|\\.)*"?)|[ \t]+')


def _scrub(text: str) -> str:
    """Drop blanks except between two name characters (or quotes), as GNU as's
    input scrubber does before it splits arguments: `m 1 + 2, x3` has two."""
    text = text.strip()

    def blank(m: re.Match) -> str:
        if m.group(1) is not None:
            return m.group(1)  # strings are kept as written
        around = text[m.start() - 1:m.start()] + text[m.end():m.end() + 1]
        return " " if len(around) == 2 and all(c.isalnum() or c in '_.$"' for c in around) else ""
    return _SCRUB_RE.sub(blank, text)


def _skip_white(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _skip_comma(text: str, i: int) -> int:
    """Skip the separator between arguments: blanks with at most one comma."""
    i = _skip_white(text, i)
    return _skip_white(text, i + 1) if text.startswith(",", i) else i


def _macro_arg(text: str, i: int) -> tuple[str, int]:
    """One argument from i: a "quoted string" (quotes removed), or text up to a
    comma, or a blank outside brackets and quotes. Returns (text, end index)."""
    i = _skip_white(text, i)
    if text.startswith('"', i):
        m = _QUOTED_RE.match(text, i)
        assert m is not None  # the pattern matches any text that starts with a quote
        return m.group(1), m.end()
    start, depth = i, 0
    while i < len(text) and text[i] != "," and (depth or text[i] not in " \t"):
        if text[i] in "\"'":
            close = text.find(text[i], i + 1)
            i = close if close >= 0 else len(text) - 1
        elif text[i] in "([":
            depth += 1
        elif text[i] in ")]" and depth:
            depth -= 1
        i += 1
    return text[start:i], i


def _split_args(text: str, keywords: bool = True) -> list[tuple[str | None, str, int]]:
    """Arguments of a macro call or .irp: (keyword or None, value, start index).
    Commas or blanks separate them; `a, , b` has an empty second argument."""
    out: list[tuple[str | None, str, int]] = []
    i = _skip_white(text, 0)
    while i < len(text):
        kw = _KEYWORD_RE.match(text, i) if keywords else None
        value, end = _macro_arg(text, kw.end() if kw else i)
        out.append((kw.group(1) if kw else None, value, i))
        i = _skip_comma(text, end)
    return out


def _irp_header(head: str, rest: str, loc: SourceLoc) -> tuple[str, list[str]]:
    """`.irp sym, values` / `.irpc sym, chars`: the symbol and the values to run the
    body with; with no values the body runs once with an empty one (GNU as)."""
    rest = _scrub(rest)
    m = _IDENT_RE.match(rest)
    if not m:
        raise AsmError(loc, f"'{head}' needs a symbol name")
    text = rest[_skip_comma(rest, m.end()):]
    if head == ".irp":
        values = [value for _, value, _ in _split_args(text, keywords=False)]
    else:
        values, quoted = [], False
        for ch in text:  # one value per character; blanks count only inside quotes
            if ch == '"':
                quoted = not quoted
            elif quoted or not ch.isspace():
                values.append(ch)
    return m.group(), values or [""]


# ------------------------------------------------------------------ entry points

def parse_text(text: str, filename: str = "<input>", max_statements: int = DEFAULT_MAX_STATEMENTS) -> Program:
    """Parse assembly source text (not preprocessed) into a `Program`; AsmError if it is invalid or too large."""
    _check_text(text, filename)
    lines = [(raw, SourceLoc(filename, i + 1)) for i, raw in enumerate(text.splitlines())]
    return Parser(filename, max_statements).parse_lines(lines)


def parse_preprocessed_text(text: str, name: str, source: SourceText,
                            max_statements: int = DEFAULT_MAX_STATEMENTS) -> Program:
    """Parse `text` as a `.S` file that stands where `source.path` stands: through the C
    preprocessor with the source's -I/-D and its directory (so its `#include "..."` resolve);
    locations name `name`."""
    import os
    import tempfile

    _check_text(text, name)
    fd, tmp = tempfile.mkstemp(suffix=".S", prefix=".scheduler-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        dirs = (*source.include_dirs, str(Path(source.path).parent))
        try:
            lines = preprocess(Path(tmp), dirs, source.defines)
        except AsmError as e:
            raise AsmError(None, e.message.replace(tmp, name), file=name) from None
    finally:
        os.unlink(tmp)
    lines = [(raw, SourceLoc(name, loc.line) if loc.file == tmp else loc) for raw, loc in lines]
    return Parser(name, max_statements).parse_lines(lines)


def parse_file(path: str | Path, include_dirs=(), defines=(), preprocess_: bool | None = None,
               max_statements: int = DEFAULT_MAX_STATEMENTS) -> Program:
    """Parse an assembly file; `.S` files go through the C preprocessor first."""
    path = Path(path)
    text = read_source(path)
    files: set[str] = set()
    if preprocess_ if preprocess_ is not None else path.suffix == ".S":
        lines = preprocess(path, include_dirs, defines, files)
        for raw, loc in lines:
            if "\0" in raw:
                raise AsmError(loc, "NUL byte in the preprocessed text: not a text file")
        parser = Parser(str(path), max_statements, include_dirs, sorted(files))
        parser.original = {str(path): text.splitlines()}
        prog = parser.parse_lines(lines)
        prog.source = SourceText(str(path), tuple(text.splitlines()), tuple(map(str, include_dirs)),
                                 tuple(map(str, defines)))
        return prog
    lines = [(raw, SourceLoc(str(path), i + 1)) for i, raw in enumerate(text.splitlines())]
    return Parser(str(path), max_statements, include_dirs, sorted(files)).parse_lines(lines)


def read_source(path: Path) -> str:
    """The text of a source file, or an AsmError saying `FILE: why not`."""
    name = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_INPUT_BYTES + 1)
    except OSError as e:
        raise AsmError(None, f"cannot read: {e.strerror or e}", file=name) from None
    if len(data) > MAX_INPUT_BYTES:
        raise AsmError(None, f"file too large (more than {MAX_INPUT_BYTES} bytes)", file=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise AsmError(SourceLoc(name, line), f"not UTF-8 text: invalid byte 0x{data[e.start]:02x} at offset "
                                              f"{e.start}") from None
    _check_text(text, name)
    return text


def _check_text(text: str, filename: str) -> None:
    if len(text) > MAX_INPUT_BYTES:
        raise AsmError(None, f"input too large ({len(text)} characters, at most {MAX_INPUT_BYTES})",
                       file=filename)
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise AsmError(SourceLoc(filename, line),
                       f"NUL byte at offset {len(text[:nul].encode())}: not a text file")
