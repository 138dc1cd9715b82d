"""Errors that carry a source location, so every failure reads `FILE:LINE: message`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLoc:
    """A position in an input file: file name and 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class SchedulerError(Exception):
    """Base class of every error the CLI reports as bad input (exit code 2)."""


class AsmError(SchedulerError):
    """A bad input. Printed `FILE:LINE: message`, or `FILE: message` when the
    problem has no line (`file`), else just the message."""

    def __init__(self, loc: SourceLoc | None, message: str, file: str | None = None):
        self.loc = loc
        self.message = message
        self.file = loc.file if loc else file
        prefix = f"{loc}: " if loc else f"{file}: " if file else ""
        super().__init__(prefix + message)


class OperandError(ValueError):
    """Raised while decoding one operand; the parser adds the location."""
