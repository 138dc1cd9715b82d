"""Thin wrapper around an external AArch64 assembler (llvm-mc or GNU as).

We never encode instructions ourselves: the assembler is the authority on
encodings, and tests compare our simulator against an emulator running exactly
those bytes.  Everything is batched into one subprocess call because kernels are
assembled thousands of lines at a time.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable

# Newest first: a newer llvm-mc knows more extensions and gives better messages.
_LLVM_MC_NAMES = [f"llvm-mc-{v}" for v in range(25, 9, -1)] + ["llvm-mc"]
_GNU_AS_NAME = "aarch64-linux-gnu-as"
_LLVM_FLAGS = ["-triple=aarch64", "-mattr=+neon"]

# One label per input line lets us attribute every encoding to its source line,
# so an instruction that silently expands (or vanishes) cannot shift the mapping.
_LABEL = "sched_asm_line_"

Assembler = tuple[str, str]
LineMapper = Callable[[int], int | None]  # assembler line number -> input index


class AssemblerError(Exception):
    """The assembler rejected the input; `line_index` is 0-based into the input."""

    def __init__(self, message: str, line_index: int | None = None, line: str | None = None):
        self.message = message
        self.line_index = line_index
        self.line = line
        where = "" if line_index is None else f"line {line_index} ({line!r}): "
        super().__init__(where + message)


class AssemblerNotFound(AssemblerError):
    """Neither llvm-mc nor aarch64-linux-gnu-as is on PATH."""


@functools.cache
def find_assembler() -> Assembler | None:
    """(kind, path) of the preferred available assembler, or None."""
    for name in _LLVM_MC_NAMES:
        path = shutil.which(name)
        if path:
            return ("llvm-mc", path)
    path = shutil.which(_GNU_AS_NAME)
    return ("gnu-as", path) if path else None


def _require_assembler(assembler: Assembler | None) -> Assembler:
    found = assembler or find_assembler()
    if found is None:
        raise AssemblerNotFound("no AArch64 assembler found (need llvm-mc or aarch64-linux-gnu-as)")
    return found


# ---------------------------------------------------------------------------
# Error reporting

# llvm-mc: "<stdin>:3:1: error: msg"; GNU as: "/tmp/x/in.s:3: Error: msg".
_ERROR_RE = re.compile(r":(\d+):(?:\d+:)?\s*(?:error|Error):\s*(.*)")


def _first_error(stderr: str) -> tuple[int, str] | None:
    """(1-based line, message) of the first error the assembler reported."""
    errors = [(int(m.group(1)), m.group(2).strip()) for m in _ERROR_RE.finditer(stderr)]
    return min(errors) if errors else None


def _raise_for_stderr(stderr: str, source_lines: list[str], index_of_line: LineMapper) -> None:
    """Raise AssemblerError pointing at the offending input line."""
    first = _first_error(stderr)
    if first is None:
        raise AssemblerError(stderr.strip() or "assembler failed without a message")
    lineno, message = first
    index = index_of_line(lineno)
    line = source_lines[index] if index is not None and 0 <= index < len(source_lines) else None
    raise AssemblerError(message, index, line)


def _run(cmd: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)


# ---------------------------------------------------------------------------
# Per-instruction encodings


def _check_single_lines(lines: list[str]) -> None:
    # A newline would shift every later line number; reject it up front.
    for i, line in enumerate(lines):
        if "\n" in line or "\r" in line:
            raise AssemblerError("instruction text contains a line break", i, line)


def _labelled_source(lines: list[str], label: str) -> str:
    # Label on the same line keeps assembler line numbers == input index + 1.
    return "".join(f"{label}{i}: {line}\n" for i, line in enumerate(lines))


def assemble_lines(lines: list[str], *, assembler: Assembler | None = None) -> list[bytes]:
    """4-byte little-endian encoding of each single-instruction line, in order."""
    kind, path = _require_assembler(assembler)
    _check_single_lines(lines)
    if not lines:
        return []
    if kind == "llvm-mc":
        return _lines_llvm_mc(path, lines)
    return _lines_gnu_as(path, lines)


_LLVM_LABEL_RE = re.compile(r"^\.L" + _LABEL + r"(\d+):")
_ENCODING_RE = re.compile(r"//\s*encoding:\s*\[([^\]]*)\]")


def _parse_encoding(field: str) -> bytes | None:
    """Bytes of an llvm-mc encoding list; None if it contains fixup placeholders."""
    tokens = [t.strip() for t in field.split(",")]
    if not all(t.startswith("0x") for t in tokens):
        return None  # e.g. "[A,A,A,0b000101AA]": needs a relocation/label fixup
    return bytes(int(t, 16) for t in tokens)


def _lines_llvm_mc(path: str, lines: list[str]) -> list[bytes]:
    label = ".L" + _LABEL  # .L labels stay out of the output's symbol noise
    proc = _run([path, *_LLVM_FLAGS, "-show-encoding"], _labelled_source(lines, label))
    if proc.returncode != 0:
        _raise_for_stderr(proc.stderr, lines, lambda n: n - 1)
    chunks: list[list[bytes | None]] = [[] for _ in lines]
    current: int | None = None
    for out_line in proc.stdout.splitlines():
        label_match = _LLVM_LABEL_RE.match(out_line.strip())
        if label_match:
            current = int(label_match.group(1))
            continue
        enc = _ENCODING_RE.search(out_line)
        if enc is None:
            continue
        if current is None:
            raise AssemblerError(f"encoding before first line label: {out_line.strip()}")
        chunks[current].append(_parse_encoding(enc.group(1)))
    return [_single_word(chunk, i, lines[i]) for i, chunk in enumerate(chunks)]


def _single_word(chunk: list[bytes | None], index: int, line: str) -> bytes:
    """Exactly one complete 4-byte encoding per line, else a clear error."""
    if len(chunk) != 1:
        raise AssemblerError(f"expected exactly one instruction, got {len(chunk)}", index, line)
    word = chunk[0]
    if word is None:
        raise AssemblerError("encoding needs a fixup (label/symbol reference)", index, line)
    if len(word) != 4:
        raise AssemblerError(f"encoding is {len(word)} bytes, expected 4", index, line)
    return word


def _lines_gnu_as(path: str, lines: list[str]) -> list[bytes]:
    # A closing label bounds the last line even if a literal pool follows it.
    source = _labelled_source(lines, _LABEL) + f"{_LABEL}{len(lines)}:\n"
    obj = _gnu_as_object(path, source, lines, lambda n: n - 1)
    text, rela_count = _elf_text(obj)
    if rela_count:
        raise AssemblerError("output needs relocations (label/symbol reference)")
    if len(text) != 4 * len(lines):
        # E.g. a literal pool appended after the last line: not a per-line encoding.
        raise AssemblerError(f".text is {len(text)} bytes, expected {4 * len(lines)}")
    offsets = _elf_symbols(obj)
    words: list[bytes] = []
    for i, line in enumerate(lines):
        start = offsets.get(f"{_LABEL}{i}")
        end = offsets.get(f"{_LABEL}{i + 1}")
        if start is None or end is None or end - start != 4:
            raise AssemblerError("expected exactly one 4-byte instruction", i, line)
        words.append(text[start:end])
    return words


# ---------------------------------------------------------------------------
# Whole snippets


def assemble_text(text: str, *, assembler: Assembler | None = None) -> bytes:
    """Bytes of the .text section produced by assembling a whole snippet."""
    kind, path = _require_assembler(assembler)
    source = text if text.endswith("\n") else text + "\n"
    source_lines = source.splitlines()
    if kind == "llvm-mc":
        obj = _llvm_mc_object(path, source, source_lines)
    else:
        obj = _gnu_as_object(path, source, source_lines, lambda n: n - 1)
    code, rela_count = _elf_text(obj)
    if rela_count:
        # Unresolved references would leave placeholder bits in the code.
        raise AssemblerError(f".text has {rela_count} unresolved relocation(s)")
    return code


def _llvm_mc_object(path: str, source: str, source_lines: list[str]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="sched-asm-") as tmp:
        out = os.path.join(tmp, "out.o")
        proc = _run([path, *_LLVM_FLAGS, "-filetype=obj", "-o", out], source)
        if proc.returncode != 0:
            _raise_for_stderr(proc.stderr, source_lines, lambda n: n - 1)
        with open(out, "rb") as f:
            return f.read()


def _gnu_as_object(
    path: str, source: str, source_lines: list[str], index_of_line: LineMapper
) -> bytes:
    # GNU as wants a real file so its messages carry line numbers we can map back.
    with tempfile.TemporaryDirectory(prefix="sched-asm-") as tmp:
        src, out = os.path.join(tmp, "in.s"), os.path.join(tmp, "out.o")
        with open(src, "w") as f:
            f.write(source)
        proc = _run([path, "-o", out, src])
        if proc.returncode != 0:
            _raise_for_stderr(proc.stderr, source_lines, index_of_line)
        with open(out, "rb") as f:
            return f.read()


# ---------------------------------------------------------------------------
# Minimal ELF64 little-endian reader (avoids depending on an objcopy binary)

_SHT_SYMTAB = 2
_SHT_RELA = 4
_SHT_REL = 9


def _elf_sections(obj: bytes) -> list[tuple[str, int, bytes, int, int]]:
    """(name, type, contents, link, info) of each section header."""
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        raise AssemblerError("assembler output is not a little-endian ELF64 object")
    shoff = struct.unpack_from("<Q", obj, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", obj, 0x3A)
    raw = []
    for i in range(shnum):
        name, stype, _flags, _addr, off, size, link, info = struct.unpack_from(
            "<IIQQQQII", obj, shoff + i * shentsize
        )
        # SHT_NOBITS (8) has no file contents.
        raw.append((name, stype, b"" if stype == 8 else obj[off : off + size], link, info))
    names = raw[shstrndx][2]
    return [(_cstr(names, n), t, data, link, info) for n, t, data, link, info in raw]


def _cstr(table: bytes, offset: int) -> str:
    end = table.index(b"\0", offset)
    return table[offset:end].decode()


def _elf_text(obj: bytes) -> tuple[bytes, int]:
    """Contents of .text and the number of relocations applying to it."""
    sections = _elf_sections(obj)
    text_index = next((i for i, s in enumerate(sections) if s[0] == ".text"), None)
    if text_index is None:
        return b"", 0
    relocs = 0
    for _name, stype, data, _link, info in sections:
        if stype in (_SHT_RELA, _SHT_REL) and info == text_index:
            relocs += len(data) // (24 if stype == _SHT_RELA else 16)
    return sections[text_index][2], relocs


def _elf_symbols(obj: bytes) -> dict[str, int]:
    """Symbol name -> value for every named symbol in .symtab."""
    sections = _elf_sections(obj)
    result: dict[str, int] = {}
    for _name, stype, data, link, _info in sections:
        if stype != _SHT_SYMTAB:
            continue
        strtab = sections[link][2]
        for off in range(0, len(data), 24):
            st_name, _info_b, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", data, off)
            if st_name:
                result[_cstr(strtab, st_name)] = value
    return result
