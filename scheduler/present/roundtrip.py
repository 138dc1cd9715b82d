"""Writing a reordered program back into the file as the user wrote it.

`emit.emit` writes the parsed lines, which for a `.S` file are the C preprocessor's
output: `#define`s gone, every name substituted. Here the output is the source itself
(the `.S` text before cpp, or the `.s` text), with each changed block rewritten in place:

* A block whose every instruction sits alone on its own line of the main file (after
  cpp, that line holds exactly that instruction) is rewritten by permuting those
  original lines. A line keeps its text (`#define` names, `.req` aliases, expressions)
  unless renaming changed one of its registers; then only the names that denote a
  changed register are replaced by the new architectural register, and the line's
  comment says which name it replaced (`renamed: a0 -> x7`): a name such as `a0` stands
  for one register throughout the file, so rebinding it would change other blocks, and a
  fresh `#define` per renamed use would bury the file in names. Comment-only lines
  directly above an instruction (no blank line between) move with it; the comments
  above the block's first instruction, blank lines, and comments followed by a blank
  line stay where they are (section comments, at the block's boundary).
* Any other block (instructions from a macro call or `.rept`, several statements on a
  line, a cpp directive inside the block) is written expanded in place of the lines it
  came from, as `emit.emit` writes it; the macro definitions stay and every unchanged
  block keeps its calls. `notes` says which blocks were written expanded and why.

The caller parses the text back (through cpp for a `.S` file) and checks it gives the
planned blocks; see present/finalize.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scheduler.frontend.ir import Block, Instruction, Program
from scheduler.frontend.isa.operands import register_resource
from scheduler.frontend.parse import split_comments, split_statements
from scheduler.present.emit import Scheduled, _block_lines, _carry_comment, _register_changes, own_header

_IDENT = re.compile(r"(?<![\w.$])[A-Za-z_.$][\w.$]*")  # a whole name (not the x10 of 0x10)
_REG_NUM = re.compile(r"^([a-z]+)(\d+)")


def _main_line(program: Program, li: int) -> int | None:
    """The 1-based line of the file as written that parse line `li` came from, or None
    (an included file)."""
    loc = program.lines[li].loc
    return loc.line if loc.file == program.path else None


def _original_lines(program: Program) -> list[str]:
    if program.source is not None:
        return list(program.source.lines)
    return [ln.raw for ln in program.lines]


def _unchanged(block: Block, sched: Scheduled) -> bool:
    return [i for i, _ in sched] == list(range(len(block.instructions))) and all(
        ins is block.instructions[i] for i, ins in sched)


def emit_source(program: Program, new_blocks: dict[int, Scheduled],
                header: Sequence[str] = ()) -> tuple[str, list[str]]:
    """(text, notes): the file as written with block b's instructions replaced by
    `new_blocks[b]` (original index, instruction as emitted)."""
    src = _original_lines(program)
    line_of: dict[int, int] = {}  # id(statement) -> parse line index
    for li, line in enumerate(program.lines):
        for stmt in line.statements:
            line_of[id(stmt)] = li
    replaced: dict[int, list[str]] = {}  # 0-based source line -> lines written instead
    notes: list[str] = []
    for block in program.blocks():
        sched = new_blocks.get(block.index)
        if sched is None or _unchanged(block, sched):
            continue
        lines = [line_of[id(i)] for i in block.instructions]
        why = _why_not_permutable(program, src, block, lines)
        if why is None:
            replaced.update(_permuted(program, src, block, sched, lines))
            continue
        expanded = _expanded(program, block, sched, line_of)
        if expanded is None:
            raise _Unwritable(f"block {block.index}: its lines are shared with another block or an included file")
        replaced.update(expanded)
        where = sorted(expanded)
        notes.append(f"block {block.index} written expanded at lines {where[0] + 1}-{where[-1] + 1}: {why}")
    superseded = any("@outputs" in h for h in header)
    skip = len(own_header(program))
    supersede = {n - 1 for li, ln in enumerate(program.lines) if "@outputs" in ln.comment
                 for n in [_main_line(program, li)] if n is not None} if superseded else set()
    out = list(header)
    for n, raw in enumerate(src):
        if n < skip:
            continue
        if n in replaced:
            out.extend(replaced[n])
        elif n in supersede:
            out.append(raw.replace("@outputs", "outputs of the input (superseded):"))
        else:
            out.append(raw)
    return "\n".join(out) + "\n", notes


class _Unwritable(Exception):
    """A block that cannot be written into the source; the caller writes the expanded file."""


def _why_not_permutable(program: Program, src: list[str], block: Block, lines: list[int]) -> str | None:
    """None when the block can be written by permuting its source lines, else why not."""
    if len(set(lines)) != len(lines):
        first = next(li for li in lines if lines.count(li) > 1)
        return f"line {program.lines[first].loc.line} makes several of its instructions " \
               f"({_first_word(program, src, first)})"
    members = {id(i) for i in block.instructions}
    for li, ins in zip(lines, block.instructions, strict=True):
        line = program.lines[li]
        n = _main_line(program, li)
        if n is None:
            return f"an instruction comes from {line.loc.file}"
        if line.expansion_from is not None:
            return f"line {n} ends a .rept/.irp expansion"
        code = split_comments([(line.raw, line.loc)])[0][0]
        if len(line.statements) != 1 or split_statements(code) != [ins.text]:
            return f"line {n} is not the instruction itself ({_first_word(program, src, li)})"
    mains = [_main_line(program, li) for li in lines]
    lo, hi = min(m for m in mains if m), max(m for m in mains if m)
    for li, line in enumerate(program.lines):
        n = _main_line(program, li)
        if n is not None and lo <= n <= hi and any(id(s) not in members for s in line.statements):
            return f"line {n} holds other statements"
    if program.source is not None:
        for n in range(lo, hi + 1):
            if src[n - 1].lstrip().startswith("#"):
                return f"line {n} is a preprocessor line inside the block"
    return None


def _first_word(program: Program, src: list[str], li: int) -> str:
    n = _main_line(program, li)
    text = src[n - 1] if n is not None else program.lines[li].raw
    code = split_comments([(text, program.lines[li].loc)])[0][0].strip()
    return f"'{code.split(None, 1)[0]}'" if code else "expansion"


def _comment_only(raw: str) -> bool:
    code, comment = split_comments([(raw, None)])[0]  # type: ignore[list-item]
    return bool(comment) and not code.strip() and not raw.lstrip().startswith("#")


def _permuted(program: Program, src: list[str], block: Block, sched: Scheduled,
              lines: list[int]) -> dict[int, list[str]]:
    """Source lines (0-based) of the block's region and what each becomes: slot j (the j-th
    instruction line in file order, with the comments attached above it) receives the
    group of the instruction scheduled j-th."""
    mains = [_main_line(program, li) - 1 for li in lines]  # type: ignore[operator]
    slots = sorted(range(len(mains)), key=lambda k: mains[k])  # instruction indices in file order
    groups: dict[int, list[int]] = {}  # instruction index -> its source lines (comments, then itself)
    for pos, k in enumerate(slots):
        n = mains[k]
        start = n
        if pos > 0:
            prev = mains[slots[pos - 1]]
            while start - 1 > prev and _comment_only(src[start - 1]):
                start -= 1
        groups[k] = list(range(start, n + 1))
    out: dict[int, list[str]] = {n: [] for k in slots for n in groups[k]}
    for pos, (k, new) in enumerate(sched):
        slot = slots[pos]
        old = block.instructions[k]
        text = [src[n] for n in groups[k][:-1]] + [_rewrite(program, src[mains[k]], old, new)]
        out[groups[slot][0]] = text
    return out


def _rewrite(program: Program, raw: str, old: Instruction, new: Instruction) -> str:
    """The source line of `old` written for `new`: verbatim if nothing changed; else the names
    of changed registers replaced by the new registers; else (immediates changed, or names
    that cannot be matched with the preprocessed text) the new instruction in full."""
    if new is old or (str(new) == str(old) and new.text in ("", old.text)):
        return raw
    code, comment = split_comments([(raw, old.loc)])[0]
    indent = raw[: len(raw) - len(raw.lstrip())] or "\t"
    changes = {r: next(iter(n)) for r, n in _register_changes(old, new).items() if len(n) == 1}
    pieces = _substitute(program, code.strip(), old.text, changes)
    if pieces is not None:
        text, renamed = pieces
        if _substitute_canonical(old, changes) == str(new):
            note = "renamed: " + ", ".join(f"{a} -> {b}" for a, b in renamed) if renamed else ""
            comment = _carry_comment(comment, old, new)
            tail = "  ".join(c for c in (comment, f"// {note}" if note else "") if c)
            return f"{indent}{text}  {tail}" if tail else f"{indent}{text}"
    comment = _carry_comment(comment, old, new)
    return f"{indent}{new}  {comment}" if comment else f"{indent}{new}"


def _register_of(program: Program, token: str) -> str | None:
    t = token.lower()
    return program.aliases.get(t, t if register_resource(t) else None)


def _renamed_name(name: str, changes: dict[str, str]) -> str | None:
    """`name` (a register name such as w3 or v2.2d) with its register renamed, or None."""
    res = register_resource(name)
    m = _REG_NUM.match(name.lower())
    if res is None or res not in changes or m is None:
        return None
    return m.group(1) + changes[res][1:] + name[m.end():]


def _substitute(program: Program, code: str, expanded: str,
                changes: dict[str, str]) -> tuple[str, list[tuple[str, str]]] | None:
    """`code` (as written) with every name that denotes a changed register replaced, matching
    its names one to one with the preprocessed `expanded` text; None if they do not match."""
    written = list(_IDENT.finditer(code))
    cpp = [m.group() for m in _IDENT.finditer(expanded)]
    if len(written) != len(cpp):
        return None
    out, at, renamed = [], 0, []
    for m, target in zip(written, cpp, strict=True):
        reg = _register_of(program, target)
        new = _renamed_name(reg, changes) if reg else None
        if new is None:
            continue
        out.append(code[at:m.start()] + new)
        at = m.end()
        if m.group().lower() != reg:
            renamed.append((m.group(), new))
    out.append(code[at:])
    return "".join(out), renamed


def _substitute_canonical(old: Instruction, changes: dict[str, str]) -> str:
    """The canonical text of `old` with the register changes applied: equal to the new
    instruction's text exactly when renaming is all that changed."""
    text = str(old)
    return _IDENT.sub(lambda m: _renamed_name(m.group(), changes) or m.group(), text)


def _expanded(program: Program, block: Block, sched: Scheduled,
              line_of: dict[int, int]) -> dict[int, list[str]] | None:
    """The block written expanded, as `emit.emit` writes it, on the source lines its
    instructions came from (a .rept's template lines included); None if one of those lines
    is not in the main file."""
    out: dict[int, list[str]] = {}
    per_line = _block_lines(program.lines, block, sched, line_of)
    for li, text in per_line.items():
        start = program.lines[li].expansion_from
        if start is not None and start < li:
            for t in range(start, li):
                n = _main_line(program, t)
                if n is None:
                    return None
                out[n - 1] = [str(s) for s in program.lines[t].statements]
        n = _main_line(program, li)
        if n is None:
            return None
        out[n - 1] = [_reindent(t, program, n) for t in text]
    return out


def _reindent(text: str, program: Program, n: int) -> str:
    """An expanded line with the indentation of source line `n` (cpp squeezes blanks)."""
    if program.source is None or not text[:1].isspace():
        return text
    raw = program.source.lines[n - 1]
    return (raw[: len(raw) - len(raw.lstrip())] or "\t") + text.lstrip()


def try_emit_source(program: Program, new_blocks: dict[int, Scheduled],
                    header: Sequence[str] = ()) -> tuple[str, list[str]] | None:
    """emit_source, or None when some block cannot be written into the source."""
    try:
        return emit_source(program, new_blocks, header)
    except _Unwritable:
        return None
