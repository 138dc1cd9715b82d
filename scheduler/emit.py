"""Writing a program back, with some blocks' instructions in a new order.

Everything outside the reordered blocks is written verbatim. Inside a block the
line layout is kept: comment-only and blank lines stay where they were, and
each line that held instructions receives the next instructions of the new
order (one per line, each with the comment its own line carried when it was the
only statement there).
"""

from __future__ import annotations

from collections.abc import Sequence

from .ir import Block, Instruction, Program, SourceLine


def _indent(raw: str) -> str:
    stripped = raw.lstrip()
    return raw[: len(raw) - len(stripped)] or "\t"


def _instruction_text(instr: Instruction) -> str:
    # The statement as written (keeps `.req` names, expressions, spelling) when it is
    # unchanged; the canonical form otherwise.
    return instr.text or str(instr)


Scheduled = Sequence[tuple[int, Instruction]]  # (original index in the block, instruction as emitted)


def emit(program: Program, new_blocks: dict[int, Scheduled], header: Sequence[str] = ()) -> str:
    """The program's text with block b's instructions replaced by `new_blocks[b]`: each
    entry is the original instruction's index and the (possibly renamed) instruction."""
    blocks = {b.index: b for b in program.blocks()}
    line_of: dict[int, int] = {}  # id(instruction) -> index of its source line
    for li, line in enumerate(program.lines):
        for stmt in line.statements:
            line_of[id(stmt)] = li
    replaced: dict[int, list[str]] = {}  # source line index -> lines to emit instead
    for b, sched in new_blocks.items():
        block = blocks[b]
        if [i for i, _ in sched] == list(range(len(block.instructions))) and all(
                ins is block.instructions[i] for i, ins in sched):
            continue
        replaced.update(_block_lines(program.lines, block, sched, line_of))
    out = list(header)
    # the header's `@outputs` (registers after renaming) supersedes the input's own
    superseded = any("@outputs" in h for h in header)
    for li, line in enumerate(program.lines):
        if li in replaced:
            out.extend(replaced[li])
        elif superseded and "@outputs" in line.comment:
            out.append(line.raw.replace("@outputs", "outputs of the input (superseded):"))
        else:
            out.append(line.raw)
    return "\n".join(out) + "\n"


def _comment_for(line: SourceLine) -> str:
    return line.comment if len(line.statements) == 1 and line.comment else ""


def _block_lines(lines: list[SourceLine], block: Block, sched: Scheduled,
                 line_of: dict[int, int]) -> dict[int, list[str]]:
    instrs = block.instructions
    members = {id(i) for i in instrs}
    new = iter(sched)
    out: dict[int, list[str]] = {}
    for li in sorted({line_of[id(i)] for i in instrs}):
        line = lines[li]
        text = []
        for stmt in line.statements:
            if id(stmt) in members:
                k, instr = next(new)
                comment = _comment_for(lines[line_of[id(instrs[k])]])
                body = _indent(line.raw) + _instruction_text(instr)
                text.append(f"{body}  {comment}" if comment else body)
            else:
                # a label, directive or branch sharing the line stays, on its own line
                body = str(stmt) if not isinstance(stmt, Instruction) else _instruction_text(stmt)
                text.append(_indent(line.raw) + body if isinstance(stmt, Instruction) else body)
        if line.comment and len(line.statements) > 1:
            text[0] = f"{text[0]}  {line.comment}"
        out[li] = text
    return out
