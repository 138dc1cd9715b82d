"""Writing a program back, with some blocks' instructions in a new order.

Everything outside the reordered blocks is written verbatim. Inside a block the
line layout is kept: comment-only and blank lines stay where they were, and
each line that held instructions receives the next instructions of the new
order (one per line, each with the comment its own line carried when it was the
only statement there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scheduler.frontend.ir import Block, Instruction, Program, SourceLine
from scheduler.frontend.isa.operands import Mem


def _indent(raw: str) -> str:
    stripped = raw.lstrip()
    return raw[: len(raw) - len(stripped)] or "\t"


def _instruction_text(instr: Instruction) -> str:
    # The statement as written (keeps `.req` names, expressions, spelling) when it is
    # unchanged; the canonical form otherwise.
    return instr.text or str(instr)


Scheduled = Sequence[tuple[int, Instruction]]  # (original index in the block, instruction as emitted)


HEADER_START = "// Scheduled by scheduler "
_HEADER_NEXT = ("// In-order cycles ", "// Objective ", "// llvm-mca ", "// @outputs ", "// output ")


def own_header(program: Program) -> list[str]:
    """The header an earlier run of this tool put at the top of the file (raw lines), if any:
    re-optimising an output replaces it instead of stacking another."""
    lines = [ln.raw for ln in program.lines]
    if not lines or not lines[0].startswith(HEADER_START):
        return []
    n = 1
    while n < len(lines) and lines[n].startswith(_HEADER_NEXT):
        n += 1
    return lines[:n]


def emit(program: Program, new_blocks: dict[int, Scheduled], header: Sequence[str] = ()) -> str:
    """The program's text with block b's instructions replaced by `new_blocks[b]`: each
    entry is the original instruction's index and the (possibly renamed) instruction."""
    blocks = {b.index: b for b in program.blocks()}
    line_of: dict[int, int] = {}  # id(instruction) -> index of its source line
    for li, line in enumerate(program.lines):
        for stmt in line.statements:
            line_of[id(stmt)] = li
    texts: dict[int, str] = {}  # id(instruction) -> what its place holds now (comment included)
    for b, sched in new_blocks.items():
        block = blocks[b]
        if [i for i, _ in sched] == list(range(len(block.instructions))) and all(
                ins is block.instructions[i] for i, ins in sched):
            continue
        texts.update(_block_texts(program.lines, block, sched, line_of))
    # source line index -> lines to emit instead; a line may hold instructions of several
    # blocks (`mul ...; mid: add ...`, a .rept expansion), each block fills its own places
    replaced = {li: _line_text(line, texts) for li, line in enumerate(program.lines)
                if any(id(stmt) in texts for stmt in line.statements)}
    # a rewritten .rept/.irp expansion replaces its template lines too: only the opening
    # line's own statements (labels before the directive) are kept
    template: dict[int, list[str]] = {}
    for li in replaced:
        start = program.lines[li].expansion_from
        if start is not None and start < li:
            for t in range(start, li):
                template[t] = [str(s) for s in program.lines[t].statements]
    out = list(header)
    # the header's `@outputs` (registers after renaming) supersedes the input's own
    superseded = any("@outputs" in h for h in header)
    old_header = len(own_header(program))
    for li, line in enumerate(program.lines):
        if li < old_header:
            continue
        if li in template:
            out.extend(template[li])
        elif li in replaced:
            out.extend(replaced[li])
        elif superseded and "@outputs" in line.comment:
            out.append(line.raw.replace("@outputs", "outputs of the input (superseded):"))
        else:
            out.append(line.raw)
    return "\n".join(out) + "\n"


_REG_WORD = re.compile(r"\b([xwvqdsbh])(\d{1,2})\b", re.IGNORECASE)


def _register_changes(old: Instruction, new: Instruction) -> dict[str, set[str]]:
    """Register number changes between an instruction and its renamed version, per class
    ("x" for general registers, "v" for vector ones): {"x2": {"x4"}} (several = ambiguous)."""
    out: dict[str, set[str]] = {}

    def regs(op) -> list[str]:
        if isinstance(op, Mem):
            return [r for r in (op.base.resource, op.index.resource if op.index else None) if r]
        res = getattr(op, "resource", None)
        return [res] if isinstance(res, str) and res[:1] in "xv" and res[1:].isdigit() else []

    for a, b in zip(old.operands, new.operands, strict=False):
        for ra, rb in zip(regs(a), regs(b), strict=False):
            out.setdefault(ra, set()).add(rb)
    return {r: n for r, n in out.items() if n != {r}}


def _carry_comment(comment: str, old: Instruction, new: Instruction) -> str:
    """An instruction's comment after renaming: register names it mentions follow the
    instruction's new registers when that is unambiguous; otherwise it is marked stale."""
    if not comment or old is new:
        return comment
    changes = _register_changes(old, new)
    if not changes:
        return comment
    mentioned = {m.group(0) for m in _REG_WORD.finditer(comment)
                 if ("x" if m.group(1).lower() in "xw" else "v") + m.group(2) in changes}
    if not mentioned:
        return comment
    if any(len(n) > 1 for n in changes.values()):
        return f"{comment} [stale: registers renamed]"

    def sub(m: re.Match) -> str:
        cls = "x" if m.group(1).lower() in "xw" else "v"
        new_reg = changes.get(cls + m.group(2))
        return m.group(1) + next(iter(new_reg))[1:] if new_reg else m.group(0)
    return _REG_WORD.sub(sub, comment)


def _comment_for(line: SourceLine) -> str:
    return line.comment if len(line.statements) == 1 and line.comment else ""


def _block_texts(lines: list[SourceLine], block: Block, sched: Scheduled,
                 line_of: dict[int, int]) -> dict[int, str]:
    """id(instruction) -> the text its place in the block holds after scheduling: the k-th
    instruction of the new order, with the comment its own line carried when it was the only
    statement there (registers in it renamed along)."""
    out: dict[int, str] = {}
    for place, (k, instr) in zip(block.instructions, sched, strict=True):
        original = block.instructions[k]
        comment = _carry_comment(_comment_for(lines[line_of[id(original)]]), original, instr)
        body = _instruction_text(instr)
        out[id(place)] = f"{body}  {comment}" if comment else body
    return out


def _line_text(line: SourceLine, texts: dict[int, str]) -> list[str]:
    """A source line holding rewritten places, one statement per output line: instructions
    (new or kept) indented as the line was, labels and directives as they print."""
    text = []
    for stmt in line.statements:
        if id(stmt) in texts:
            text.append(_indent(line.raw) + texts[id(stmt)])
        elif isinstance(stmt, Instruction):
            text.append(_indent(line.raw) + _instruction_text(stmt))
        else:
            text.append(str(stmt))  # a label or directive sharing the line stays, on its own line
    if line.comment and len(line.statements) > 1:
        text[0] = f"{text[0]}  {line.comment}"
    return text


def _block_lines(lines: list[SourceLine], block: Block, sched: Scheduled,
                 line_of: dict[int, int]) -> dict[int, list[str]]:
    """Source line index -> what it holds once this block alone is rewritten (the source
    round trip writes blocks one at a time)."""
    texts = _block_texts(lines, block, sched, line_of)
    return {li: _line_text(lines[li], texts) for li in sorted({line_of[id(i)] for i in block.instructions})}
