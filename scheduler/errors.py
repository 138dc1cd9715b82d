"""Errors that carry a source location, so every failure reads `FILE:LINE: message`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLoc:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class SchedulerError(Exception):
    """Base class of every error the CLI reports as bad input (exit code 2)."""


class AsmError(SchedulerError):
    def __init__(self, loc: SourceLoc | None, message: str):
        self.loc = loc
        self.message = message
        super().__init__(f"{loc}: {message}" if loc else message)


class OperandError(ValueError):
    """Raised while decoding one operand; the parser adds the location."""
