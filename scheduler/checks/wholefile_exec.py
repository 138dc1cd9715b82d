"""The whole-file check on real AArch64 semantics: both files, branches, loops and calls
included, assembled by GNU as and run under qemu-aarch64 (natively on an AArch64 host).

It complements `checks/wholefile.py` (the same idea in the built-in simulator) the way
`checks/execcheck.py` complements `verify` for one block: nothing here trusts the simulator's
semantics of an instruction.

Design
------
* Each file becomes its own static binary (so that the two never share labels). Its code is
  written one instruction a line in the parser's spelling, each preceded by a label of its
  own (`.Lop_K`); branches are rewritten to those labels, so `1b`/`1f` and symbol clashes
  do not matter.
* Return addresses must be equal in both files (a kernel may store x30). Every return address
  the code can see is therefore a trampoline in a section at a fixed address, laid out the
  same in both binaries: trampoline 0 ends the run (the caller's return address), trampoline
  1 + k belongs to the k-th branch of the file and jumps to the instruction after it. `bl L`
  becomes `movz/movk x30, <trampoline>; b L`, which changes no flag and no other register.
* External callees (`bl` to a label outside the file, `blr`, tail calls) run one stub that
  logs x0-x29, sp, NZCV and q0-q31 to a call log in the arena (768 bytes a call) and keeps
  every register and the flags (x0 too: code after a call may use it as a pointer, which a
  fingerprint would send outside the arena; the log already holds every argument). The
  Python twin of that stub (`_log_call`) lets the simulator run the same program first.
* The arena holds one slot per incoming pointer register, one for the stack and one for the
  call log. Loops may walk pointers anywhere and loops counted by a random register may not
  end, so only trials whose original run ends in the simulator within the step limit with
  every memory access inside the arena are run (at most `trials` of them); the others cannot
  be run natively without faulting or looping. The result says how many ran.
* A candidate that faults, loops (a timeout) or ends with other outputs, callee-saved
  registers or arena bytes (call log included) is a mismatch. The original faulting means
  the simulator and qemu disagree about the input: the check did not run (reported, never a
  pass).
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.checks.execcheck import (
    ARENA_BASE,
    MAGIC,
    STATE_SIZE,
    Layout,
    _no_core_dumps,
    _pack_state,
    _signal_name,
    _stub,
    _unpack_state,
    initial_state,
    initial_states,
    toolchain,
)
from scheduler.checks.state import MachineState
from scheduler.checks.verify import Mismatch, compare, compared_registers
from scheduler.checks.wholefile import (
    DEFAULT_STEPS,
    CannotRun,
    Code,
    code_of,
    incoming_pointers,
    run_file,
    small_values,
)
from scheduler.frontend.ir import Instruction, Program
from scheduler.frontend.isa.operands import GPR, Sym

TEXT_BASE = 0x0100_0000  # the generated code's section: fixed, so the trampolines' addresses are
TRAMPOLINES = TEXT_BASE  # equal in both binaries; within branch range of the C harness
SLOT = 1 << 16  # bytes per arena slot: pointer walks of a loop stay inside
LOG_ENTRY = 768  # bytes the stub logs per call
MAX_CALLS = SLOT // LOG_ENTRY
TIMEOUT = 60.0  # seconds per binary: a candidate that loops is a mismatch, not a hang


@dataclass
class ExecWholeFileResult:
    """Outcome of the whole-file check under qemu: trials, the first mismatch or problem, or why it did not run."""

    trials: int = 0  # trials run under qemu
    candidates: int = 0  # trials generated (those the simulator says end in the arena are run)
    mismatch: Mismatch | None = None
    problem: str = ""  # a difference that is not a value
    not_run: str = ""  # why the check could not run (never a pass, never a refutation)
    runner: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def equivalent(self) -> bool:
        """True when no trial found a mismatch or other problem."""
        return self.mismatch is None and not self.problem


# ------------------------------------------------------------------ the program as assembly

def _label(k: int) -> str:
    return f".Lop_{k}"


def _mov_x30(address: int) -> list[str]:
    return [f"movz x30, #{address & 0xFFFF}", f"movk x30, #{(address >> 16) & 0xFFFF}, lsl #16"]


def _tramp(ordinal: int) -> int:
    return TRAMPOLINES + 4 * (1 + ordinal)


def runnable(code: Code) -> str:
    """"" if the file can be assembled as a whole here, else why not."""
    for ins in code.ops:
        m = ins.mnemonic.lower()
        if m == "br" and not (isinstance(ins.operands[0], GPR) and ins.operands[0].num == 30):
            return f"{ins.loc}: a computed jump ('{ins}') cannot be followed natively"
        if not ins.is_branch and any(isinstance(o, Sym) for o in ins.operands):
            return f"{ins.loc}: '{ins}' takes the address of a symbol"
    return ""


def _branch_lines(code: Code, k: int, ins: Instruction) -> list[str]:
    m = ins.mnemonic.lower()
    ordinal = code.ordinals[k]
    target = code.targets.get(k)
    if m in ("ret", "br"):
        return [str(ins)]
    if m in ("bl", "blr"):
        return [*_mov_x30(_tramp(ordinal)), f"b {_label(target) if m == 'bl' and target is not None else 'sched_ext'}"]
    dest = _label(target) if target is not None else "sched_ext"  # out of the file: a tail call
    ops = [str(o) for o in ins.operands if not isinstance(o, Sym)]
    return [f"{ins.mnemonic} {', '.join([*ops, dest])}"]


def _ext_stub() -> list[str]:
    """The external callee: logs the registers and keeps them all."""
    a = ["sched_ext:", "msr tpidr_el0, x16", "adrp x16, sched_log", "add x16, x16, :lo12:sched_log",
         "str x17, [x16, #8]", "ldr x17, [x16]"]
    a += [f"stp x{i}, x{i + 1}, [x17, #{8 * i}]" for i in range(0, 16, 2)]
    a += ["mrs x0, tpidr_el0", "ldr x1, [x16, #8]", "stp x0, x1, [x17, #128]"]
    a += [f"stp x{i}, x{i + 1}, [x17, #{8 * i}]" for i in range(18, 30, 2)]
    a += ["mov x0, sp", "mrs x1, nzcv", "stp x0, x1, [x17, #240]"]
    a += [f"stp q{i}, q{i + 1}, [x17, #{256 + 16 * i}]" for i in range(0, 32, 2)]
    a += [f"add x1, x17, #{LOG_ENTRY}", "str x1, [x16]"]
    a += ["ldp x0, x1, [x17]", "ldr x16, [x17, #128]", "ldr x17, [x17, #136]", "ret"]
    return a


def assembly_source(code: Code, branches: int) -> str:
    """The file's code in its fixed-address section, with the run wrapper and the stub."""
    lines = ["// generated by scheduler.checks.wholefile_exec", '    .section .sched_text, "ax", %progbits',
             "sched_tramp_exit:", "    b sched_body_end"]
    call_after = {code.ordinals[k]: k + 1 for k, ins in enumerate(code.ops)
                  if ins.mnemonic.lower() in ("bl", "blr")}
    for o in range(branches):
        lines.append(f"    b {_label(call_after[o])}" if o in call_after else "    brk #1")
    body = [*_mov_x30(TRAMPOLINES), f"b {_label(code.entry)}", "sched_body_end:"]
    lines += _stub("sched_run", body)  # type: ignore[arg-type]  # (lines print as themselves)
    for k, ins in enumerate(code.ops):
        lines.append(f"{_label(k)}:")
        lines += [f"    {x}" for x in (_branch_lines(code, k, ins) if ins.is_branch else [str(ins)])]
    lines += [f"{_label(len(code.ops))}:", "    b sched_body_end"]  # falling off the end returns
    lines += [f"    {x}" if not x.endswith(":") else x for x in _ext_stub()]
    lines += ["    .bss", "    .balign 16", "sched_host:", "    .skip 32", "    .globl sched_log",
              "sched_log:", "    .skip 16", ""]
    return "\n".join(lines)


HARNESS_C = r"""
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define STATE_SIZE %(state_size)d
extern void sched_run(const void *in, void *out);
extern uint64_t sched_log[2];

static void die(const char *msg) { fprintf(stderr, "exec harness: %%s\n", msg); exit(3); }
static void io(ssize_t k) { if (k <= 0) die("i/o failed"); }

int main(int argc, char **argv) {
    if (argc != 3) die("usage: harness INPUT OUTPUT");
    int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) die("cannot open files");
    uint64_t hdr[5];
    io(read(in, hdr, sizeof hdr));
    if (hdr[0] != 0x%(magic)xULL) die("bad input");
    uint64_t trials = hdr[1], base = hdr[2], size = hdr[3], log = hdr[4];
    void *arena = mmap((void *)base, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena != (void *)base) die("cannot map the arena at its fixed address");
    static unsigned char st_in[STATE_SIZE] __attribute__((aligned(16)));
    static unsigned char st_out[STATE_SIZE] __attribute__((aligned(16)));
    for (uint64_t t = 0; t < trials; t++) {
        for (size_t n = 0; n < STATE_SIZE;) { ssize_t k = read(in, st_in + n, STATE_SIZE - n); io(k); n += k; }
        for (size_t n = 0; n < size;) { ssize_t k = read(in, (char *)arena + n, size - n); io(k); n += k; }
        sched_log[0] = log;
        memset(st_out, 0, STATE_SIZE);
        sched_run(st_in, st_out);
        io(write(out, st_out, STATE_SIZE));
        for (size_t n = 0; n < size;) { ssize_t k = write(out, (char *)arena + n, size - n); io(k); n += k; }
    }
    return 0;
}
"""


def _build(code: Code, branches: int, work: Path, name: str) -> Path:
    gcc, _ = toolchain()
    asm, csrc, exe = work / f"{name}.s", work / "harness.c", work / name
    asm.write_text(assembly_source(code, branches))
    csrc.write_text(HARNESS_C % {"state_size": STATE_SIZE, "magic": MAGIC})
    proc = subprocess.run([gcc, "-static", "-O1", f"-Wl,--section-start=.sched_text={TEXT_BASE:#x}",
                           "-o", str(exe), str(csrc), str(asm)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["build failed"])[-1]
        raise CannotRun(f"whole-file execution check: building the {name} file failed: {last}")
    return exe


# ------------------------------------------------------------------ trials

def _log_call(log_base: int):
    """The stub's twin for the simulator (the same log, every register kept)."""
    def stub(st: MachineState, name: str, calls: int) -> None:
        at = log_base + LOG_ENTRY * calls
        for i in range(30):
            st.mem.write(at + 8 * i, 8, st.get(f"x{i}"))
        st.mem.write(at + 240, 8, st.sp)
        st.mem.write(at + 248, 8, st.nzcv << 28)
        for i in range(32):
            st.mem.write(at + 256 + 16 * i, 16, st.v[i])
    return stub


def _states(original: Program, code: Code, trials: int, seed: int, noalias: Iterable[str],
            max_steps: int) -> tuple[Layout, int, list[tuple[MachineState, bytes]], int]:
    """(layout, log base, the trials to run, how many were generated): the original must end
    in the simulator with every access inside the arena."""
    noalias = frozenset(noalias) | original.noalias
    bases, indexes = incoming_pointers(original, noalias)
    bases.discard("sp")
    names = tuple(sorted(bases, key=lambda r: int(r[1:])))
    lay = Layout(SLOT, names, SLOT * (len(names) + 2))
    log_base = ARENA_BASE + SLOT * (len(names) + 1)
    rng = random.Random(seed)
    generated = initial_states(lay, indexes, 3 * trials, seed, noalias)
    chosen = []
    for t, (st, mem) in enumerate(generated):
        small_values(st, rng, t, bases, keep=(18,))  # (x18: the platform register, which the harness zeroes)
        run = run_file(code, initial_state((st, mem)), max_steps, stub=_log_call(log_base), exit_address=TRAMPOLINES,
                       call_mark=TRAMPOLINES + 4, call_stride=4)
        touched = run.state.mem.reads | run.state.mem.writes
        if run.ended and run.calls <= MAX_CALLS and all(ARENA_BASE <= a < ARENA_BASE + lay.size for a in touched):
            chosen.append((st, mem))
            if len(chosen) == trials:
                return lay, log_base, chosen, t + 1
    return lay, log_base, chosen, len(generated)


def _run(exe: Path, runner: list[str], lay: Layout, log_base: int,
         states: Sequence[tuple[MachineState, bytes]], work: Path) -> tuple[list[tuple[MachineState, bytes]], str]:
    """Final (state, arena) per trial that completed, and why the run stopped early ("" if it did not)."""
    inp, outp = work / f"{exe.name}.in", work / f"{exe.name}.out"
    with open(inp, "wb") as f:
        f.write(struct.pack("<5Q", MAGIC, len(states), ARENA_BASE, lay.size, log_base))
        for st, mem in states:
            f.write(_pack_state(st))
            f.write(mem)
    try:
        proc = subprocess.run([*runner, str(exe), str(inp), str(outp)], capture_output=True, text=True,
                              cwd=work, preexec_fn=_no_core_dumps, check=False, timeout=TIMEOUT,
                              env={**os.environ, "QEMU_CPU": os.environ.get("QEMU_CPU", "max")})
        why = "" if proc.returncode == 0 else f"{_signal_name(proc.returncode)} {proc.stderr.strip()[:160]}".strip()
    except subprocess.TimeoutExpired:
        why = f"did not end within {TIMEOUT:.0f} s"
    data = outp.read_bytes() if outp.exists() else b""
    record = STATE_SIZE + lay.size
    done = [(_unpack_state(data[i:i + STATE_SIZE]), data[i + STATE_SIZE:i + record])
            for i in range(0, len(data) - record + 1, record)]
    return done, why


def exec_check_files(original: Program, candidate: Program, trials: int = 32, seed: int = 0,
                     outputs: Sequence[str] | None = None, noalias: Iterable[str] = (),
                     output_map: dict[str, str] | None = None,
                     max_steps: int = DEFAULT_STEPS) -> ExecWholeFileResult:
    """Run both files under qemu from the same states of the function's entry and compare.
    Raises ToolchainMissing when GNU as, gcc or qemu is absent (callers decide what that means)."""
    _, runner = toolchain()
    result = ExecWholeFileResult(runner=" ".join(runner) or "native")
    try:
        code_a, code_b = code_of(original), code_of(candidate)
    except CannotRun as e:
        result.not_run = str(e)
        return result
    result.not_run = runnable(code_a) or runnable(code_b)
    if len(code_a.ordinals) != len(code_b.ordinals):
        result.problem = "the two files have different numbers of branches"
    if result.not_run or result.problem:
        return result
    lay, log_base, states, result.candidates = _states(original, code_a, trials, seed, noalias, max_steps)
    if not states:
        result.not_run = (f"none of {result.candidates} trials ends within {max_steps} steps inside "
                          "the buffers the check can give")
        return result
    branches = len(code_a.ordinals)
    with tempfile.TemporaryDirectory(prefix="scheduler-wholefile-") as tmp:
        work = Path(tmp)
        try:
            exe_a, exe_b = _build(code_a, branches, work, "original"), _build(code_b, branches, work, "candidate")
        except CannotRun as e:
            result.not_run = str(e)
            return result
        done_a, why_a = _run(exe_a, runner, lay, log_base, states, work)
        done_b, why_b = _run(exe_b, runner, lay, log_base, states, work)
    registers, full = compared_registers(outputs)
    for t, ((a, ma), (b, mb)) in enumerate(zip(done_a, done_b, strict=False)):
        result.trials = t + 1
        loc = compare(a, b, registers, full, output_map)
        if loc is not None:
            moved = (output_map or {}).get(loc, loc)
            result.mismatch = Mismatch(t, loc, a.get(loc), b.get(moved), initial_state(states[t]))
            return result
        if ma != mb:
            i = next(k for k in range(len(ma)) if ma[k] != mb[k])
            result.mismatch = Mismatch(t, f"mem[{ARENA_BASE + i:#x}]", ma[i], mb[i], initial_state(states[t]))
            return result
    if why_a or len(done_a) < len(states):  # the simulator and qemu disagree on the input itself
        result.not_run = (f"the original file stopped on trial {len(done_a)} under {result.runner} "
                          f"({why_a or 'incomplete output'}) although the simulator ran it to its end")
    elif why_b or len(done_b) < len(states):
        t = len(done_b)
        result.trials = t + 1
        result.mismatch = Mismatch(t, f"run ({why_b or 'incomplete output'})", 0, 0, initial_state(states[t]))
    return result


__all__ = ["ExecWholeFileResult", "exec_check_files", "runnable"]
