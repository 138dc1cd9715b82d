"""What every command shares: exit codes, the input error, register lists and loading a file."""

from __future__ import annotations

from scheduler.commands.options import parse_kwargs
from scheduler.core.errors import SchedulerError
from scheduler.frontend.ir import Program
from scheduler.frontend.parse import parse_file

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 4


class InputError(SchedulerError):
    """Bad input or usage on the command line (exit 2)."""

    pass


def reg_list(text: str) -> list[str]:
    """Resource names ("x3", "v1", "nzcv") of a comma-separated register list; InputError for a non-register."""
    from scheduler.frontend.isa.operands import parse_register

    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        reg = parse_register(item)
        res = "nzcv" if item.lower() == "nzcv" else getattr(reg, "resource", None)
        if res is None:
            raise InputError(f"'{item}' is not a register")
        out.append(res)
    return out


def load(path: str, args) -> Program:
    """Parse the file at `path` with the input options in `args` (include directories, defines, limits)."""
    return parse_file(path, **parse_kwargs(args))


def parse_int(text: str, what: str) -> int:
    """`text` as an integer (any base prefix); InputError naming `what` if it is not one."""
    try:
        return int(text, 0)
    except ValueError:
        raise InputError(f"{what}: '{text}' is not an integer") from None
