"""The one meaning of "the kernel's outputs", shared by optimize, verify, compare and the prover.

The registers whose final values matter, first rule that applies:

1. `--outputs REGS` on the command line (`--outputs none`: no register);
2. `// @outputs` annotations in the ORIGINAL (`// @outputs none`: no register);
3. the AAPCS64 default when the original's last instruction is `ret`: x0, the result
   register. Only x0: a 128-bit result (x0:x1) must be declared (`// @outputs x0, x1`),
   the same choice as the optimizer's `live_out_of`, which lets renaming clobber x1;
4. otherwise every register and the flags (nothing tells us what is dead).

Memory and the callee-saved state (x19-x29, sp, the low 64 bits of v8-v15) are always
compared on top of these; that is the checkers' business (`verify.CALLEE_SAVED`).
A candidate's own `@outputs` line is never consulted: the original defines what must
be preserved, a candidate must not be able to shrink it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scheduler.core.errors import SchedulerError
from scheduler.frontend.ir import FLAGS, Program


class OutputsError(SchedulerError):
    """A malformed or empty `--outputs` value (the CLI exits 2)."""


@dataclass(frozen=True)
class Outputs:
    """The registers whose final values matter, and where that choice came from."""

    registers: tuple[str, ...] | None  # None: every register and the flags
    source: str  # where the choice came from, for messages

    @property
    def every(self) -> bool:
        """Whether every register and the flags are outputs."""
        return self.registers is None

    def as_list(self) -> list[str] | None:
        """What `verify.verify`, `prove.prove` and `execcheck.exec_check` take as `outputs`."""
        return None if self.registers is None else list(self.registers)

    def names(self) -> str:
        """The output registers in words ("x0, x1", "none", or every register and the flags)."""
        if self.registers is None:
            return "every register and the flags"
        return ", ".join(self.registers) or "none"

    def describe(self) -> str:
        """e.g. 'outputs x0 (AAPCS64 default: code ends in ret)'."""
        return f"outputs {self.names()} ({self.source})"

    def to_json(self) -> dict:
        """The outputs as plain data ("all" or a list of registers) with their source."""
        return {"registers": "all" if self.registers is None else list(self.registers),
                "source": self.source}


def parse_outputs_option(text: str) -> tuple[str, ...]:
    """`--outputs` text -> register resources ("x3", "v7", "nzcv"); "none" -> ()."""
    from scheduler.frontend.isa.operands import parse_register

    items = [t.strip() for t in text.split(",")]
    if not text.strip():
        raise OutputsError("--outputs: empty register list (give registers such as x0,x1, "
                           "or 'none' for memory and callee-saved registers only)")
    if [i.lower() for i in items] == ["none"]:
        return ()
    out: list[str] = []
    for item in items:
        if not item:
            raise OutputsError(f"--outputs {text}: empty item in the register list")
        m = re.fullmatch(r"[vq](\d+)", item.lower())
        res: str | None
        if item.lower() in ("nzcv", "flags"):
            res = FLAGS
        elif m and int(m.group(1)) < 32:
            res = f"v{int(m.group(1))}"
        else:
            try:
                reg = parse_register(item)
            except Exception:  # noqa: BLE001 - any parse failure is a bad register name
                reg = None
            res = getattr(reg, "resource", None)
        if not res:
            raise OutputsError(f"--outputs {text}: '{item}' is not a register "
                               f"(x0-x30, w0-w30, sp, v0-v31/q/d/s, nzcv, or 'none')")
        if res not in out:
            out.append(res)
    return tuple(out)


def ends_in_ret(program: Program) -> bool:
    """Whether the file's last instruction is `ret`."""
    instrs = program.instructions
    return bool(instrs) and instrs[-1].mnemonic == "ret"


def choose_outputs(original: Program, option: str | None = None, path: str | None = None) -> Outputs:
    """The outputs of `original` by the rule above. `option` is the raw `--outputs` text,
    None when the option was not given ("" is an error); `path` names the file in messages."""
    if option is not None:
        return Outputs(parse_outputs_option(option), "from --outputs")
    if original.outputs_declared:
        return Outputs(tuple(dict.fromkeys(original.outputs)),
                       f"from // @outputs in {path or original.path}")
    if ends_in_ret(original):
        return Outputs(("x0",), "AAPCS64 default: code ends in ret")
    return Outputs(None, "every register: no outputs declared")
