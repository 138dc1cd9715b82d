"""Parser for GNU-assembler AArch64 files as hand-written kernels use them.

Handles: the C preprocessor for `.S` files (with -I/-D, line markers mapped back
to the original file), `//` and `/* */` comments, `;`-separated statements,
labels, directives, `.req`/`.unreq` register aliases, `.equ`/`.set`/`=`
constants, and `.macro`/`.rept`/`.irp` expansion. Every line is kept verbatim so
the file can be written back; every instruction is matched against the
instruction table or rejected with `FILE:LINE: unsupported instruction '...'`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import isa  # noqa: F401  (populates the instruction table)
from .errors import AsmError, OperandError, SourceLoc
from .ir import Directive, Instruction, Label, Program, SourceLine, Statement
from .isa.operands import eval_expr, parse_operands, parse_register
from .isa.table import TABLE

MAX_EXPANSION_DEPTH = 64
_LABEL_RE = re.compile(r"^\s*([A-Za-z_.$][\w.$]*|\d+)\s*:(?!:)")
_IDENT_RE = re.compile(r"^[A-Za-z_.$][\w.$]*$")
_ANNOTATION_RE = re.compile(r"@(noalias|outputs)\b[:\s]*([\w\s,]*)")
UNSUPPORTED_DIRECTIVES = {
    ".include": "run the file through the C preprocessor (#include) instead",
    ".if": "conditional assembly is not supported; use #if in a .S file",
    ".ifdef": "conditional assembly is not supported; use #ifdef in a .S file",
    ".ifndef": "conditional assembly is not supported; use #ifndef in a .S file",
    ".ifc": "conditional assembly is not supported",
    ".ifnc": "conditional assembly is not supported",
    ".ifeq": "conditional assembly is not supported",
    ".ifne": "conditional assembly is not supported",
    ".exitm": "'.exitm' is not supported",
    ".altmacro": "'.altmacro' is not supported",
}


# ------------------------------------------------------------ preprocessing

def preprocess(path: Path, include_dirs=(), defines=()) -> list[tuple[str, SourceLoc]]:
    """Run the C preprocessor; return lines with their original locations."""
    cmd = _cpp_command()
    if cmd is None:
        raise AsmError(SourceLoc(str(path), 1), "a .S file needs the C preprocessor (gcc or cpp), none found")
    args = [*cmd, "-C"]
    args += [f"-I{d}" for d in include_dirs]
    args += [f"-D{d}" for d in defines]
    args.append(str(path))
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["preprocessor failed"])[0]
        raise AsmError(None, f"{first}")
    return _map_line_markers(proc.stdout, str(path))


def _cpp_command() -> list[str] | None:
    if shutil.which("gcc"):
        return ["gcc", "-E", "-x", "assembler-with-cpp"]
    if shutil.which("cpp"):
        return ["cpp", "-x", "assembler-with-cpp"]
    return None


_MARKER_RE = re.compile(r'^#\s*(\d+)\s+"((?:[^"\\]|\\.)*)"((?:\s+\d+)*)\s*$')


def _map_line_markers(text: str, main: str) -> list[tuple[str, SourceLoc]]:
    out: list[tuple[str, SourceLoc]] = []
    file, line, system = main, 1, False
    for raw in text.splitlines():
        m = _MARKER_RE.match(raw)
        if m:
            file, line = m.group(2), int(m.group(1))
            system = "3" in m.group(3).split()
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
        in_str = False
        while i < n:
            if in_block:
                end = raw.find("*/", i)
                if end < 0:
                    comment.append(raw[i:])
                    i = n
                else:
                    comment.append(raw[i:end + 2])
                    i = end + 2
                    in_block = False
                    code.append(" ")
                continue
            ch = raw[i]
            if ch == '"':
                in_str = not in_str
            elif not in_str and raw.startswith("/*", i):
                in_block = True
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
    parts, cur, in_str = [], [], False
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


@dataclass
class _Collect:
    """State while gathering the body of .macro/.rept/.irp up to its end directive."""

    kind: str  # "macro", "rept" or "irp"
    loc: SourceLoc
    header: object
    body: list[str] = field(default_factory=list)
    depth: int = 0


class Parser:
    def __init__(self, filename: str):
        self.filename = filename
        self.aliases: dict[str, str] = {}
        self.symbols: dict[str, int] = {}
        self.macros: dict[str, _Macro] = {}
        self.statements: list[Statement] = []
        self.lines: list[SourceLine] = []
        self.collect: _Collect | None = None
        self.expansions = 0
        self.noalias: set[str] = set()
        self.outputs: list[str] = []

    # -- driver
    def parse_lines(self, lines: list[tuple[str, SourceLoc]]) -> Program:
        for (raw, loc), (code, comment) in zip(lines, split_comments(lines), strict=True):
            line = SourceLine(loc, raw, comment)
            self.lines.append(line)
            self._annotations(comment, loc)
            before = len(self.statements)
            self._process_code(code, loc, depth=0)
            line.statements = self.statements[before:]
        if self.collect is not None:
            end = {"macro": ".endm", "rept": ".endr", "irp": ".endr"}[self.collect.kind]
            raise AsmError(self.collect.loc, f"'.{self.collect.kind}' without matching '{end}'")
        return Program(self.filename, self.lines, self.statements,
                       frozenset(self.noalias), tuple(self.outputs))

    def _annotations(self, comment: str, loc: SourceLoc) -> None:
        for m in _ANNOTATION_RE.finditer(comment):
            regs = [r for r in re.split(r"[\s,]+", m.group(2).strip()) if r]
            for r in regs:
                reg = parse_register(self.aliases.get(r.lower(), r))
                if reg is None or getattr(reg, "resource", None) is None:
                    raise AsmError(loc, f"@{m.group(1)}: '{r}' is not a register")
                (self.noalias.add if m.group(1) == "noalias" else self.outputs.append)(reg.resource)

    def _process_code(self, code: str, loc: SourceLoc, depth: int) -> None:
        for stmt in split_statements(code):
            self._statement(stmt, loc, depth)

    # -- one statement
    def _statement(self, stmt: str, loc: SourceLoc, depth: int) -> None:
        if self.collect is not None:
            self._collect_line(stmt, loc, depth)
            return
        while True:
            m = _LABEL_RE.match(stmt)
            if not m:
                break
            self.statements.append(Label(m.group(1), loc))
            stmt = stmt[m.end():].strip()
        if not stmt:
            return
        words = stmt.split(None, 2)
        head = words[0].lower()
        if len(words) >= 2 and words[1].lower() == ".req":
            self._req(words[0], words[2] if len(words) > 2 else "", loc)
            return
        assign = re.match(r"^([A-Za-z_.$][\w.$]*)\s*=\s*(.+)$", stmt)
        if assign and not head.startswith("."):
            self._set_symbol(assign.group(1), assign.group(2), loc)
            self.statements.append(Directive(stmt, loc))
            return
        if head.startswith("."):
            self._directive(stmt, head, loc, depth)
            return
        if head in self.macros:
            self._expand_macro(self.macros[head], stmt[len(words[0]):].strip(), loc, depth)
            return
        self.statements.append(self._instruction(stmt, loc))

    def _instruction(self, stmt: str, loc: SourceLoc) -> Instruction:
        parts = stmt.split(None, 1)
        mnemonic = parts[0].lower()
        optext = parts[1] if len(parts) > 1 else ""
        try:
            ops = parse_operands(optext, self.symbols, self.aliases)
        except OperandError as e:
            raise AsmError(loc, f"unsupported instruction '{stmt}': {e}") from None
        found = TABLE.lookup(mnemonic, ops)
        if isinstance(found, str):
            if found in ("unsupported instruction", "unsupported operand form"):
                raise AsmError(loc, f"unsupported instruction '{stmt}'")
            raise AsmError(loc, f"invalid operand in '{stmt}': {found}")
        form, matched = found
        return Instruction(mnemonic, tuple(matched), form, loc, stmt)

    # -- directives
    def _directive(self, stmt: str, head: str, loc: SourceLoc, depth: int) -> None:
        rest = stmt[len(head):].strip()
        if head in UNSUPPORTED_DIRECTIVES:
            raise AsmError(loc, f"unsupported directive '{head}': {UNSUPPORTED_DIRECTIVES[head]}")
        if head in (".equ", ".set", ".equiv"):
            name, _, expr = rest.partition(",")
            self._set_symbol(name.strip(), expr, loc)
        elif head == ".unreq":
            self.aliases.pop(rest.lower(), None)
        elif head == ".req":
            raise AsmError(loc, "'.req' needs the form 'name .req register'")
        elif head == ".macro":
            self.collect = _Collect("macro", loc, self._macro_header(rest, loc))
            self.statements.append(Directive(stmt, loc))
            return
        elif head == ".rept":
            self.collect = _Collect("rept", loc, self._eval(rest, loc))
            return
        elif head == ".irp":
            name, _, values = rest.partition(",")
            if not name.strip():
                raise AsmError(loc, "'.irp' needs a symbol name")
            vals = [v.strip() for v in re.split(r"[,\s]+", values.strip()) if v.strip()]
            self.collect = _Collect("irp", loc, (name.strip(), vals))
            return
        elif head in (".endm", ".endr"):
            raise AsmError(loc, f"'{head}' without an opening directive")
        elif head == ".purgem":
            self.macros.pop(rest.lower(), None)
        self.statements.append(Directive(stmt, loc))

    def _req(self, name: str, reg: str, loc: SourceLoc) -> None:
        target = self.aliases.get(reg.strip().lower(), reg.strip().lower())
        if parse_register(target) is None:
            raise AsmError(loc, f"'.req': '{reg.strip()}' is not a register")
        self.aliases[name.lower()] = target
        self.statements.append(Directive(f"{name} .req {reg.strip()}", loc))

    def _set_symbol(self, name: str, expr: str, loc: SourceLoc) -> None:
        if not _IDENT_RE.match(name):
            raise AsmError(loc, f"bad symbol name '{name}'")
        self.symbols[name] = self._eval(expr, loc)

    def _eval(self, expr: str, loc: SourceLoc) -> int:
        try:
            return eval_expr(expr, self.symbols)
        except OperandError as e:
            raise AsmError(loc, str(e)) from None

    # -- macros and repetition
    def _macro_header(self, rest: str, loc: SourceLoc) -> _Macro:
        parts = [p for p in re.split(r"[\s,]+", rest.strip()) if p]
        if not parts:
            raise AsmError(loc, "'.macro' needs a name")
        params = []
        for p in parts[1:]:
            name, _, default = p.partition("=")
            name, _, qual = name.partition(":")
            params.append((name, default if _ else None, qual))
        return _Macro(parts[0].lower(), params, [], loc)

    def _collect_line(self, stmt: str, loc: SourceLoc, depth: int) -> None:
        c = self.collect
        assert c is not None
        head = stmt.split(None, 1)[0].lower() if stmt.strip() else ""
        opening = {".macro": "macro", ".rept": "rept", ".irp": "irp", ".irpc": "irp"}
        closing = {"macro": ".endm", "rept": ".endr", "irp": ".endr"}
        if head in opening and (opening[head] == "macro") == (c.kind == "macro"):
            c.depth += 1
        elif head == closing[c.kind]:
            if c.depth == 0:
                self.collect = None
                self._finish_collect(c, loc, depth)
                if c.kind == "macro":
                    self.statements.append(Directive(stmt, loc))
                return
            c.depth -= 1
        c.body.append(stmt)

    def _finish_collect(self, c: _Collect, loc: SourceLoc, depth: int) -> None:
        if c.kind == "macro":
            macro = c.header
            assert isinstance(macro, _Macro)
            macro.body = c.body
            self.macros[macro.name] = macro
        elif c.kind == "rept":
            for _ in range(int(c.header)):
                self._run_body(c.body, {}, c.loc, depth + 1)
        else:
            name, values = c.header
            for v in values:
                self._run_body(c.body, {name: v}, c.loc, depth + 1)

    def _expand_macro(self, macro: _Macro, argtext: str, loc: SourceLoc, depth: int) -> None:
        args = [a.strip() for a in (argtext.split(",") if "," in argtext else argtext.split())]
        args = [a for a in args if a] if argtext.strip() else []
        values: dict[str, str] = {}
        for i, (name, default, qual) in enumerate(macro.params):
            if qual == "vararg":
                values[name] = ", ".join(args[i:])
                break
            if i < len(args):
                values[name] = args[i]
            elif default is not None:
                values[name] = default
            elif qual == "req":
                raise AsmError(loc, f"macro '{macro.name}': missing required argument '{name}'")
            else:
                values[name] = ""
        if len(args) > len(macro.params) and not any(q == "vararg" for *_, q in macro.params):
            raise AsmError(loc, f"macro '{macro.name}' takes {len(macro.params)} arguments, got {len(args)}")
        self._run_body(macro.body, values, loc, depth + 1)

    def _run_body(self, body: list[str], values: dict[str, str], loc: SourceLoc, depth: int) -> None:
        if depth > MAX_EXPANSION_DEPTH:
            raise AsmError(loc, "macro expansion nested too deeply")
        self.expansions += 1
        counter = str(self.expansions)
        for line in body:
            text = re.sub(r"\\(\w+|@|\(\))", lambda m: _subst(m.group(1), values, counter), line)
            self._process_code(text, loc, depth)


def _subst(name: str, values: dict[str, str], counter: str) -> str:
    if name == "()":
        return ""
    if name == "@":
        return counter
    return values.get(name, "\\" + name)


# ------------------------------------------------------------------ entry points

def parse_text(text: str, filename: str = "<input>") -> Program:
    lines = [(raw, SourceLoc(filename, i + 1)) for i, raw in enumerate(text.splitlines())]
    return Parser(filename).parse_lines(lines)


def parse_file(path: str | Path, include_dirs=(), defines=(), preprocess_: bool | None = None) -> Program:
    """Parse an assembly file; `.S` files go through the C preprocessor first."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise AsmError(None, f"{path}: cannot read file: {e.strerror}") from None
    except UnicodeDecodeError:
        raise AsmError(None, f"{path}: not a text file") from None
    if preprocess_ if preprocess_ is not None else path.suffix == ".S":
        lines = preprocess(path, include_dirs, defines)
    else:
        lines = [(raw, SourceLoc(str(path), i + 1)) for i, raw in enumerate(text.splitlines())]
    return Parser(str(path)).parse_lines(lines)
