"""Execution check: run both kernels on real AArch64 semantics (GNU as + qemu-aarch64).

Independent of the built-in simulator (`scheduler/checks/simulate.py`): the instructions are
assembled by GNU as and executed by qemu-aarch64 (natively on an AArch64 host).

Design
------
* Each kernel's straight-line body (`verify.straight_line`: everything up to the first
  `ret`, which is stripped; any other branch is an error) is written out one instruction
  a line in the parser's canonical spelling (macros, `.rept`, `.req` and symbols already
  expanded; a `.S` file went through the C preprocessor in `parse.parse_file`, as for
  every other command). GNU as decides what those lines mean.
* Both bodies go into one generated assembly file, each inside a stub
  `sched_run_{orig,cand}(const state *in, state *out)`. The stub saves the host's
  callee-saved registers, sp and TPIDR_EL0, loads x0-x17, x19-x30, sp, q0-q31 and NZCV
  from `*in` (x18, the platform register, is zeroed), runs the body, parks x0 in
  TPIDR_EL0 to get a free register, stores every register, sp and NZCV to `*out`, and
  restores the host state. The body never needs a valid x30 or frame.
* A generated C harness (`aarch64-linux-gnu-gcc -static`) maps one arena at a fixed
  address (`ARENA_BASE`): one slot per incoming pointer register (`verify.pointer_registers`
  of both kernels) with the pointer in the middle of its slot, and one slot for the stack
  (sp in the middle, 16-aligned). For every trial it reads the initial state and arena
  contents Python generated, runs the original and writes its final state and arena,
  restores the arena, runs the candidate, writes again. One process runs all trials.
* Python compares: the outputs (by `scheduler/frontend/outputs.py`'s rule, passed in), the
  callee-saved x19-x29 and sp, the low 64 bits of v8-v15, and every byte of the arena
  (so all memory either kernel wrote, including the stack slot). A kernel that faults
  (an access outside the arena) kills the process; the output written so far tells which
  kernel on which trial.

Initial states mirror `verify.random_state`: trial 0 all zero (registers and memory),
trial 1 all ones, every third trial edge values (`state.EDGE_WORDS`, runs of ones) in
registers and memory words, the rest uniform; NZCV = trial % 16 so all 16 flag values
occur; index registers get 0, 8, 16, 24 or 32. Pointer aliasing: in every fourth
trial one pair of base registers not declared no-alias overlaps (one pointer = the other
+ 8k, k in -4..4), as in the simulator-based check.
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.checks.state import EDGE_WORDS, MASK64, MachineState, Memory
from scheduler.checks.verify import (
    CALLEE_SAVED_SIMD,
    Mismatch,
    _edge_value,
    compared_registers,
    live_ins,
    pointer_registers,
    straight_line,
)
from scheduler.core.errors import SchedulerError
from scheduler.frontend.dag import symbolic_addresses
from scheduler.frontend.ir import Instruction, Program

GCC = "aarch64-linux-gnu-gcc"
QEMU = "qemu-aarch64"
SETUP_HINT = "install them with scripts/setup-debian.sh (GNU as, aarch64-linux-gnu-gcc, qemu-user)"

ARENA_BASE = 0x10_0000_0000  # 64 GiB: far from the harness's own image, heap and stack
# state layout (bytes): x0-x30, sp, nzcv (NZCV register format, bits 31:28), pad, q0-q31
X_OFF, SP_OFF, NZCV_OFF, V_OFF, STATE_SIZE = 0, 248, 256, 272, 272 + 32 * 16
MAGIC = 0x5343484544455845  # "EXEDEHCS"


class ExecError(SchedulerError):
    """The execution check could not run (exit 2)."""


class ToolchainMissing(ExecError):
    """aarch64-linux-gnu-gcc or qemu-aarch64 is not on PATH."""

    pass


@dataclass
class ExecResult:
    """Outcome of the execution check: trials run, the first mismatch or other problems, and timings (seconds)."""

    trials: int
    mismatch: Mismatch | None = None
    problems: list[str] = field(default_factory=list)
    compared: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)  # build, run, total
    runner: str = ""
    where: str = ""  # a differing memory byte relative to the pointer it was given, e.g. "x0+16"

    @property
    def equivalent(self) -> bool:
        """True when no trial found a mismatch or other problem."""
        return self.mismatch is None and not self.problems


# ------------------------------------------------------------------ toolchain

def toolchain() -> tuple[str, list[str]]:
    """(gcc path, command prefix that runs an AArch64 binary); ToolchainMissing if absent."""
    gcc = shutil.which(GCC)
    native = platform.machine().lower() in ("aarch64", "arm64")
    runner = [] if native else [shutil.which(QEMU) or ""]
    missing = [n for n, ok in ((GCC, gcc), (QEMU, native or runner[0])) if not ok]
    if missing:
        raise ToolchainMissing(f"execution check: {' and '.join(missing)} not found on PATH; {SETUP_HINT}")
    assert gcc is not None  # else it is missing
    return gcc, runner


def available() -> bool:
    """Whether the cross toolchain and a way to run AArch64 binaries are present."""
    try:
        toolchain()
    except ToolchainMissing:
        return False
    return True


# ------------------------------------------------------------------ generated code

def _stub(name: str, body: Sequence[Instruction]) -> list[str]:
    a = [f"    .globl {name}", f"    .type {name}, %function", "    .balign 16", f"{name}:",
         # host callee-saved state
         "    stp x29, x30, [sp, #-160]!", "    stp x19, x20, [sp, #16]", "    stp x21, x22, [sp, #32]",
         "    stp x23, x24, [sp, #48]", "    stp x25, x26, [sp, #64]", "    stp x27, x28, [sp, #80]",
         "    stp d8, d9, [sp, #96]", "    stp d10, d11, [sp, #112]", "    stp d12, d13, [sp, #128]",
         "    stp d14, d15, [sp, #144]",
         "    adrp x9, sched_host", "    add x9, x9, :lo12:sched_host",
         "    mov x10, sp", "    str x10, [x9]", "    str x1, [x9, #8]",
         "    mrs x10, tpidr_el0", "    str x10, [x9, #16]",
         # kernel state
         f"    ldr x1, [x0, #{NZCV_OFF}]", "    msr nzcv, x1",
         f"    ldr x1, [x0, #{SP_OFF}]", "    mov sp, x1"]
    a += [f"    ldp q{i}, q{i + 1}, [x0, #{V_OFF + 16 * i}]" for i in range(0, 32, 2)]
    a += [f"    ldp x{i}, x{i + 1}, [x0, #{8 * i}]" for i in range(1, 17, 2)]
    a += ["    ldr x17, [x0, #136]", "    mov x18, xzr"]
    a += [f"    ldp x{i}, x{i + 1}, [x0, #{8 * i}]" for i in range(19, 31, 2)]
    a += ["    ldr x0, [x0]", f"    // ---- kernel body ({len(body)} instructions)"]
    a += [f"    {instr}" for instr in body]
    a += ["    // ---- end of kernel body",
          "    msr tpidr_el0, x0", "    adrp x0, sched_host", "    add x0, x0, :lo12:sched_host",
          "    ldr x0, [x0, #8]"]
    a += [f"    stp x{i}, x{i + 1}, [x0, #{8 * i}]" for i in range(1, 31, 2)]
    a += ["    mrs x1, tpidr_el0", "    str x1, [x0]", "    mrs x1, nzcv", f"    str x1, [x0, #{NZCV_OFF}]",
          "    mov x1, sp", f"    str x1, [x0, #{SP_OFF}]"]
    a += [f"    stp q{i}, q{i + 1}, [x0, #{V_OFF + 16 * i}]" for i in range(0, 32, 2)]
    a += ["    adrp x9, sched_host", "    add x9, x9, :lo12:sched_host",
          "    ldr x10, [x9, #16]", "    msr tpidr_el0, x10", "    ldr x10, [x9]", "    mov sp, x10",
          "    ldp x19, x20, [sp, #16]", "    ldp x21, x22, [sp, #32]", "    ldp x23, x24, [sp, #48]",
          "    ldp x25, x26, [sp, #64]", "    ldp x27, x28, [sp, #80]", "    ldp d8, d9, [sp, #96]",
          "    ldp d10, d11, [sp, #112]", "    ldp d12, d13, [sp, #128]", "    ldp d14, d15, [sp, #144]",
          "    ldp x29, x30, [sp], #160", "    ret", f"    .size {name}, .-{name}", ""]
    return a


def assembly_source(original: Sequence[Instruction], candidate: Sequence[Instruction]) -> str:
    """The GNU as source of the harness: one stub per kernel that loads the state, runs it and saves the state."""
    lines = ["// generated by scheduler.checks.execcheck", "    .text"]
    lines += _stub("sched_run_orig", original) + _stub("sched_run_cand", candidate)
    lines += ["    .bss", "    .balign 16", "sched_host:", "    .skip 32", ""]
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
extern void sched_run_orig(const void *in, void *out);
extern void sched_run_cand(const void *in, void *out);

static void die(const char *msg) { fprintf(stderr, "exec harness: %%s\n", msg); exit(3); }

static void read_all(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n) { ssize_t k = read(fd, p, n); if (k <= 0) die("short input"); p += k; n -= (size_t)k; }
}

static void write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) { ssize_t k = write(fd, p, n); if (k <= 0) die("write failed"); p += k; n -= (size_t)k; }
}

int main(int argc, char **argv) {
    if (argc != 3) die("usage: harness INPUT OUTPUT");
    int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) die("cannot open files");
    uint64_t hdr[4];
    read_all(in, hdr, sizeof hdr);
    if (hdr[0] != 0x%(magic)xULL) die("bad input");
    uint64_t trials = hdr[1], base = hdr[2], size = hdr[3];
    void *arena = mmap((void *)base, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena != (void *)base) die("cannot map the arena at its fixed address");
    static unsigned char st_in[STATE_SIZE] __attribute__((aligned(16)));
    static unsigned char st_out[STATE_SIZE] __attribute__((aligned(16)));
    unsigned char *init = malloc(size);
    if (!init) die("out of memory");
    for (uint64_t t = 0; t < trials; t++) {
        read_all(in, st_in, STATE_SIZE);
        read_all(in, init, size);
        memcpy(arena, init, size);
        memset(st_out, 0, STATE_SIZE);
        sched_run_orig(st_in, st_out);
        write_all(out, st_out, STATE_SIZE);
        write_all(out, arena, size);
        memcpy(arena, init, size);
        memset(st_out, 0, STATE_SIZE);
        sched_run_cand(st_in, st_out);
        write_all(out, st_out, STATE_SIZE);
        write_all(out, arena, size);
    }
    return 0;
}
"""


def build(original: Sequence[Instruction], candidate: Sequence[Instruction], workdir: Path) -> Path:
    """Assemble and link the harness binary in `workdir`; ExecError with GNU as's message."""
    gcc, _ = toolchain()
    asm = workdir / "kernels.s"
    asm.write_text(assembly_source(original, candidate))
    csrc = workdir / "harness.c"
    csrc.write_text(HARNESS_C % {"state_size": STATE_SIZE, "magic": MAGIC})
    exe = workdir / "harness"
    proc = subprocess.run([gcc, "-static", "-O1", "-o", str(exe), str(csrc), str(asm)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ExecError(_build_error(proc.stderr, asm, original, candidate))
    return exe


def _build_error(stderr: str, asm: Path, original, candidate) -> str:
    """Map an assembler error back to the kernel line that caused it."""
    import re

    lines = asm.read_text().splitlines()
    for m in re.finditer(r"kernels\.s:(\d+): (?:Error|error): (.*)", stderr):
        n = int(m.group(1)) - 1
        text = lines[n].strip() if 0 <= n < len(lines) else ""
        for instr in (*original, *candidate):
            if str(instr) == text:
                return f"{instr.loc}: GNU as rejects '{text}': {m.group(2)}"
        return f"execution check: GNU as rejects '{text}': {m.group(2)}"
    first = (stderr.strip().splitlines() or ["build failed"])[-1]
    return f"execution check: building the harness failed: {first}"


# ------------------------------------------------------------------ initial states

@dataclass
class Layout:
    """The arena the kernels' pointers point into: one slot (bytes) per base register, then one for the stack."""

    slot: int  # bytes per slot
    bases: tuple[str, ...]  # slot i belongs to bases[i]; the last slot is the stack
    size: int

    def pointer(self, i: int) -> int:
        """The address given to the base register of slot `i`: the middle of its slot."""
        return ARENA_BASE + i * self.slot + self.slot // 2

    @property
    def stack_pointer(self) -> int:
        """The initial sp: the middle of the last slot."""
        return self.pointer(len(self.bases))

    def where(self, addr: int, st: MachineState) -> str:
        """`addr` relative to the incoming pointer whose slot holds it ("x0+16", "sp-32")."""
        k = (addr - ARENA_BASE) // self.slot
        reg = self.bases[k] if k < len(self.bases) else "sp"
        off = addr - st.get(reg)
        return f"{reg}{off:+d}"


def layout(programs: Iterable[Sequence[Instruction]]) -> tuple[Layout, set[str]]:
    """The arena for `programs` (a slot big enough for every constant offset they use) and their
    index registers, which get small multiples of 8 instead of pointers."""
    bases: set[str] = set()
    indexes: set[str] = set()
    reach = 64
    for instrs in programs:
        b, ix = pointer_registers(instrs)
        bases |= b
        indexes |= ix
        for addr in symbolic_addresses(instrs):
            if addr is not None and addr.root[0] == "in":
                lo = 0 if addr.lo is None else addr.lo
                reach = max(reach, abs(lo) + addr.size + (40 if addr.lo is None else 0))
    bases.discard("sp")
    slot = max(4096, -(-(2 * (reach + 256)) // 4096) * 4096)
    names = tuple(sorted(bases, key=lambda r: (r[0], int(r[1:]) if r[1:].isdigit() else 0)))
    return Layout(slot, names, slot * (len(names) + 1)), indexes - {"sp"}


def _memory(rng: random.Random, trial: int, size: int) -> bytes:
    if trial == 0:
        return bytes(size)
    if trial == 1:
        return b"\xff" * size
    if trial % 3 != 2:
        return rng.randbytes(size)
    words = [rng.choice(EDGE_WORDS) if rng.random() < 0.5 else rng.getrandbits(64) for _ in range(size // 8)]
    return struct.pack(f"<{len(words)}Q", *words)


def initial_states(lay: Layout, indexes: Iterable[str], trials: int, seed: int,
                   noalias: Iterable[str]) -> list[tuple[MachineState, bytes]]:
    """`trials` initial states (zero, all-ones, edge and random registers; pointers into the arena,
    sometimes two aliased) each with its arena memory bytes, reproducible from `seed`."""
    rng = random.Random(seed)
    noalias = set(noalias)
    out = []
    for t in range(trials):
        if t == 0:
            reg = lambda: 0
        elif t == 1:
            reg = lambda: MASK64
        elif t % 3 == 2:
            reg = lambda: _edge_value(rng)
        else:
            reg = lambda: rng.getrandbits(64)
        st = MachineState()
        st.x = [reg() for _ in range(31)]
        st.x[18] = 0  # the platform register: not an input, zeroed by the stub
        st.v = [reg() | (reg() << 64) for _ in range(32)]
        st.nzcv = t % 16
        for i, b in enumerate(lay.bases):
            st.set(b, lay.pointer(i))
        st.sp = lay.stack_pointer
        pairs = [(a, b) for a in lay.bases for b in lay.bases if a != b and not {a, b} <= noalias]
        if t % 4 == 3 and pairs:
            a, b = rng.choice(pairs)
            st.set(a, st.get(b) + 8 * rng.randrange(-4, 5))
        for r in sorted(indexes):
            if r not in lay.bases:
                st.set(r, rng.choice([0, 8, 16, 24, 32]))
        out.append((st, _memory(rng, t, lay.size)))
    return out


def _pack_state(st: MachineState) -> bytes:
    v = b"".join(x.to_bytes(16, "little") for x in st.v)
    return struct.pack("<31QQQQ", *st.x, st.sp, st.nzcv << 28, 0) + v


def _unpack_state(blob: bytes) -> MachineState:
    vals = struct.unpack_from("<31QQQ", blob)
    st = MachineState()
    st.x = list(vals[:31])
    st.sp = vals[31]
    st.nzcv = (vals[32] >> 28) & 0xF
    st.v = [int.from_bytes(blob[V_OFF + 16 * i:V_OFF + 16 * i + 16], "little") for i in range(32)]
    return st


# ------------------------------------------------------------------ the check


def _first_difference(a: MachineState, b: MachineState, registers, full) -> str | None:
    for r in registers:
        x, y = a.get(r), b.get(r)
        if r in CALLEE_SAVED_SIMD and r not in full:
            x, y = x & MASK64, y & MASK64
        if x != y:
            return r
    return None


def _no_core_dumps() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _signal_name(code: int) -> str:
    import signal

    n = -code if code < 0 else code - 128 if code > 128 else code
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"exit status {code}"


def _live_in_problems(orig: Sequence[Instruction], cand: Sequence[Instruction], result: ExecResult) -> None:
    """Inputs the check cannot give fairly: registers only the candidate reads, and x18."""
    extra = live_ins(cand) - live_ins(orig)
    if extra:
        result.problems.append("candidate reads registers the original never reads before writing: "
                               + ", ".join(sorted(extra)))
    if "x18" in live_ins(orig) | live_ins(cand):
        result.problems.append("a kernel reads x18 (the platform register) before writing it; "
                               "the execution check does not give it an input value")


def _run_harness(orig: Sequence[Instruction], cand: Sequence[Instruction], runner: list[str], lay: Layout,
                 states: list[tuple[MachineState, bytes]], trials: int, t0: float,
                 result: ExecResult) -> tuple[subprocess.CompletedProcess, bytes]:
    """Build the harness, run it on every initial state; the process and its output records."""
    with tempfile.TemporaryDirectory(prefix="scheduler-exec-") as tmp:
        work = Path(tmp)
        exe = build(orig, cand, work)
        t1 = time.monotonic()
        inp, outp = work / "in.bin", work / "out.bin"
        with open(inp, "wb") as f:
            f.write(struct.pack("<4Q", MAGIC, trials, ARENA_BASE, lay.size))
            for st, mem in states:
                f.write(_pack_state(st))
                f.write(mem)
        t2 = time.monotonic()
        proc = subprocess.run([*runner, str(exe), str(inp), str(outp)], capture_output=True, text=True,
                              cwd=tmp, preexec_fn=_no_core_dumps, check=False,
                              env={**os.environ, "QEMU_CPU": os.environ.get("QEMU_CPU", "max")})
        t3 = time.monotonic()
        data = outp.read_bytes() if outp.exists() else b""
    result.seconds = {"build": round(t1 - t0, 3), "run": round(t3 - t2, 3)}
    return proc, data


def _compare_trials(data: bytes, done_runs: int, trials: int, registers: Sequence[str], full: set[str],
                    states: list[tuple[MachineState, bytes]], lay: Layout, result: ExecResult) -> bool:
    """Compare the two kernels' final states trial by trial; True if every trial ran and none differed
    (a difference is recorded in `result`)."""
    record = STATE_SIZE + lay.size
    for t in range(trials):
        if 2 * t + 1 >= done_runs:
            return False
        a_blob = data[2 * t * record:(2 * t + 1) * record]
        b_blob = data[(2 * t + 1) * record:(2 * t + 2) * record]
        result.trials = t + 1
        a, b = _unpack_state(a_blob), _unpack_state(b_blob)
        loc = _first_difference(a, b, registers, full)
        if loc is not None:
            result.mismatch = Mismatch(t, loc, a.get(loc), b.get(loc), initial_state(states[t]))
            return False
        ma, mb = a_blob[STATE_SIZE:], b_blob[STATE_SIZE:]
        if ma != mb:
            i = next(k for k in range(lay.size) if ma[k] != mb[k])
            result.mismatch = Mismatch(t, f"mem[{ARENA_BASE + i:#x}]", ma[i], mb[i], initial_state(states[t]))
            result.where = lay.where(ARENA_BASE + i, states[t][0])
            return False
    return True


def _crashed(proc: subprocess.CompletedProcess, done_runs: int, trials: int,
             states: list[tuple[MachineState, bytes]], lay: Layout, result: ExecResult) -> None:
    """The harness stopped early: a candidate crash is a mismatch, anything else an ExecError."""
    t = done_runs // 2
    who = "original" if done_runs % 2 == 0 else "candidate"
    sig = _signal_name(proc.returncode)
    if proc.returncode == 0 or t >= trials:
        raise ExecError(f"execution check: the harness output is incomplete ({proc.stderr.strip()})")
    if who == "original":
        raise ExecError(f"execution check: the original kernel crashed ({sig}) on trial {t}: it "
                        f"accesses memory outside the buffers its pointer registers get "
                        f"({', '.join(lay.bases) or 'none'}, {lay.slot} bytes each, and sp) or "
                        f"executes something qemu rejects: {proc.stderr.strip()[:200]}")
    result.trials = t + 1
    result.mismatch = Mismatch(t, f"crash ({sig})", 0, 0, initial_state(states[t]))
    result.problems.append(f"candidate crashed ({sig}) on trial {t}; the original did not")


def exec_check(original: Program | Sequence[Instruction], candidate: Program | Sequence[Instruction],
               trials: int = 200, seed: int = 0, outputs: Sequence[str] | None = None,
               noalias: Iterable[str] = ()) -> ExecResult:
    """Run both kernels under GNU as + qemu-aarch64 on `trials` initial states and compare.
    `outputs`: the registers compared besides memory and the callee-saved state (None: every
    register and the flags); pass `outputs.choose_outputs(...).as_list()`.
    Raises ToolchainMissing / ExecError when it cannot run (the CLI exits 2)."""
    t0 = time.monotonic()
    orig = straight_line(original) if isinstance(original, Program) else list(original)
    cand = straight_line(candidate) if isinstance(candidate, Program) else list(candidate)
    if isinstance(original, Program):
        noalias = set(noalias) | set(original.noalias)
    _, runner = toolchain()
    registers, full = compared_registers(outputs)
    result = ExecResult(trials=0, compared=tuple(registers), runner=" ".join(runner) or "native")
    _live_in_problems(orig, cand, result)
    lay, indexes = layout([orig, cand])
    states = initial_states(lay, indexes, trials, seed, noalias)
    proc, data = _run_harness(orig, cand, runner, lay, states, trials, t0, result)
    done_runs = len(data) // (STATE_SIZE + lay.size)
    if proc.returncode != 0 and done_runs >= 2 * trials:
        raise ExecError(f"execution check: the harness failed after all trials: {proc.stderr.strip()}")
    if _compare_trials(data, done_runs, trials, registers, full, states, lay, result):
        result.seconds["total"] = round(time.monotonic() - t0, 3)
        return result
    if result.mismatch is None:
        _crashed(proc, done_runs, trials, states, lay, result)
    result.seconds["total"] = round(time.monotonic() - t0, 3)
    return result


def initial_state(entry: tuple[MachineState, bytes]) -> MachineState:
    """A trial's registers with its arena contents as memory (the simulator's view of it)."""
    st, mem = entry
    st = st.copy()
    st.mem = Memory()
    st.mem.load_bytes(ARENA_BASE, mem)
    return st


def describe_layout(instrs_orig: Sequence[Instruction], instrs_cand: Sequence[Instruction]) -> str:
    """One line describing the arena both kernels run in: the pointer buffers and their size in bytes."""
    lay, _ = layout([instrs_orig, instrs_cand])
    return (f"{len(lay.bases)} pointer buffer(s) ({', '.join(lay.bases) or 'none'}) and a stack, "
            f"{lay.slot} bytes each")


__all__ = ["ExecError", "ExecResult", "ToolchainMissing", "available", "exec_check", "toolchain"]
