"""The real executor: kernels timed as AArch64 code (GNU as + a generated C driver).

Built from what `verify --exec` has (scheduler/checks/execcheck.py): the same stub around
each kernel body (it loads every register, sp and NZCV from a state record, runs the body,
stores the final state and restores the host's), the same arena of pointer slots at a fixed
address laid out by the rules `verify` uses (verify.pointer_registers, plus --pointer
flags), and `aarch64-linux-gnu-gcc -static` (or the native gcc on an AArch64 host).

The driver:
1. runs every kernel once from the prepared state and writes its final state and arena;
   Python compares them with the built-in simulator's run of the same kernel, so a broken
   harness cannot time the wrong code (or nothing);
2. pins itself to one CPU (sched_setaffinity) where it may;
3. picks a timer: perf_event_open CPU cycles where permitted, else CNTVCT_EL0 (ticks of
   CNTFRQ_EL0), else clock_gettime(CLOCK_MONOTONIC_RAW); and times a known loop (dependent
   adds, one cycle each on every Arm core we model) against clock_gettime to learn the core
   clock, which converts ticks to cycles and ns;
4. warms up, then for each of R repetitions times N back-to-back calls of every kernel
   (and of an empty kernel, the stub's own cost, subtracted in Python), interleaved.

Not running natively on AArch64 means qemu-user: every figure is then flagged emulated.
"""

from __future__ import annotations

import os
import platform
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scheduler.bench.measure import (
    EMULATED_WARNING,
    BenchError,
    Kernel,
    Measurement,
    Samples,
    spread_warnings,
)
from scheduler.checks import execcheck
from scheduler.checks.execcheck import ARENA_BASE, MAGIC, STATE_SIZE, Layout
from scheduler.checks.simulate import SimulationError, run_instructions
from scheduler.checks.state import MachineState, Memory
from scheduler.checks.verify import pointer_registers

LOOP_ADDS = 8 * 200_000  # the known loop: this many dependent adds


def native() -> bool:
    """Whether this host is AArch64 (kernels run without qemu)."""
    return platform.machine().lower() in ("aarch64", "arm64")


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def emulated(cpuinfo: str | None = None, machine: str | None = None) -> bool:
    """Timings here are emulated: not an AArch64 host, or an AArch64 userland whose
    /proc/cpuinfo has no Arm CPU in it (qemu-user under binfmt, e.g. an arm64 container on an
    x86 host: Linux on Arm always lists `CPU implementer`)."""
    machine = (machine if machine is not None else platform.machine()).lower()
    if machine not in ("aarch64", "arm64"):
        return True
    info = (_cpuinfo() if cpuinfo is None else cpuinfo).lower()
    return "cpu implementer" not in info


ARM_PARTS = {0xD0C: "Neoverse N1", 0xD40: "Neoverse V1", 0xD4F: "Neoverse V2", 0xD49: "Neoverse N2",
             0xD05: "Cortex-A55", 0xD0B: "Cortex-A76", 0xD41: "Cortex-A78"}


def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU as /proc/cpuinfo names it: on AArch64 from the MIDR fields (implementer, part),
    elsewhere `qemu-aarch64 on <host model name>`."""
    if cpuinfo is None:
        cpuinfo = _cpuinfo()
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        k, _, v = line.partition(":")
        fields.setdefault(k.strip().lower(), v.strip())
    if "cpu part" in fields:
        try:
            imp, part = int(fields.get("cpu implementer", "0"), 0), int(fields["cpu part"], 0)
        except ValueError:
            return "unknown AArch64 CPU"
        name = ARM_PARTS.get(part, "") if imp == 0x41 else ""
        midr = f"MIDR implementer {imp:#x} part {part:#x}"
        return f"{name} ({midr})" if name else midr
    host = fields.get("model name", platform.machine() or "unknown host")
    return f"qemu-aarch64 on {host}"


# ------------------------------------------------------------------ generated driver

DRIVER_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STATE_SIZE %(state_size)d
#define NK %(nk)d
typedef void (*kfn)(const void *, void *);
%(externs)s
static kfn kernels[NK] = {%(table)s};

static void die(const char *msg) { fprintf(stderr, "bench harness: %%s\n", msg); exit(3); }
static void read_all(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n) { ssize_t k = read(fd, p, n); if (k <= 0) die("short input"); p += k; n -= (size_t)k; }
}
static void write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) { ssize_t k = write(fd, p, n); if (k <= 0) die("write failed"); p += k; n -= (size_t)k; }
}

static int timer_kind; /* 0 perf, 1 cntvct, 2 clock */
static int perf_fd = -1;
static uint64_t now(void) {
    if (timer_kind == 0) { uint64_t v = 0; if (read(perf_fd, &v, sizeof v) != sizeof v) die("perf read"); return v; }
    if (timer_kind == 1) { uint64_t v; __asm__ volatile("isb\n mrs %%0, cntvct_el0" : "=r"(v) :: "memory"); return v; }
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t ns_now(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static void known_loop(uint64_t iters) {  /* 8 dependent adds per iteration */
    uint64_t x = 1;
    for (uint64_t i = 0; i < iters; i++)
        __asm__ volatile("add %%0, %%0, #1\n add %%0, %%0, #1\n add %%0, %%0, #1\n add %%0, %%0, #1\n"
                         "add %%0, %%0, #1\n add %%0, %%0, #1\n add %%0, %%0, #1\n add %%0, %%0, #1"
                         : "+r"(x));
}

int main(int argc, char **argv) {
    if (argc != 7) die("usage: harness INPUT OUTPUT CALLS REPEATS CPU TIMER");
    int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) die("cannot open files");
    long calls = atol(argv[3]), repeats = atol(argv[4]), cpu = atol(argv[5]);
    const char *want = argv[6];
    uint64_t hdr[4];
    read_all(in, hdr, sizeof hdr);
    if (hdr[0] != 0x%(magic)xULL) die("bad input");
    uint64_t base = hdr[2], size = hdr[3];
    void *arena = mmap((void *)base, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena != (void *)base) die("cannot map the arena at its fixed address");
    static unsigned char st_in[STATE_SIZE] __attribute__((aligned(16)));
    static unsigned char st_out[STATE_SIZE] __attribute__((aligned(16)));
    unsigned char *init = malloc(size);
    if (!init) die("out of memory");
    read_all(in, st_in, STATE_SIZE);
    read_all(in, init, size);
    /* 1. one run of each kernel from the prepared state: Python checks the results */
    for (int k = 1; k < NK; k++) {
        memcpy(arena, init, size);
        memset(st_out, 0, STATE_SIZE);
        kernels[k](st_in, st_out);
        write_all(out, st_out, STATE_SIZE);
        write_all(out, arena, size);
    }
    memcpy(arena, init, size);
    /* 2. pin */
    if (cpu < 0) cpu = sched_getcpu();
    cpu_set_t set; CPU_ZERO(&set);
    if (cpu >= 0) CPU_SET(cpu, &set);
    if (cpu >= 0 && sched_setaffinity(0, sizeof set, &set) == 0) printf("pinned cpu %%ld\n", cpu);
    else printf("pinned no\n");
    /* 3. timer */
    timer_kind = 2;
    if (!strcmp(want, "auto") || !strcmp(want, "perf")) {
        struct perf_event_attr pa; memset(&pa, 0, sizeof pa);
        pa.type = PERF_TYPE_HARDWARE; pa.size = sizeof pa; pa.config = PERF_COUNT_HW_CPU_CYCLES;
        pa.exclude_kernel = 1; pa.exclude_hv = 1;
        perf_fd = (int)syscall(__NR_perf_event_open, &pa, 0, -1, -1, 0);
        if (perf_fd >= 0) { uint64_t v; if (read(perf_fd, &v, sizeof v) == sizeof v) timer_kind = 0; }
        if (timer_kind != 0 && !strcmp(want, "perf")) printf("note perf_event_open not permitted\n");
    }
    uint64_t frq = 0;
    __asm__ volatile("mrs %%0, cntfrq_el0" : "=r"(frq));
    if (timer_kind == 2 && strcmp(want, "clock") && strcmp(want, "perf") && frq) timer_kind = 1;
    if (!strcmp(want, "cntvct") && frq) timer_kind = 1;
    printf("timer %%s %%llu\n", timer_kind == 0 ? "perf" : timer_kind == 1 ? "cntvct" : "clock",
           (unsigned long long)frq);
    known_loop(%(loop_iters)d / 10);
    uint64_t n0 = ns_now(), t0 = now();
    known_loop(%(loop_iters)d);
    uint64_t t1 = now(), n1 = ns_now();
    printf("loop %%d %%llu %%llu\n", %(loop_iters)d * 8, (unsigned long long)(n1 - n0),
           (unsigned long long)(t1 - t0));
    /* 4. warm-up, then R rounds of N back-to-back calls of each kernel, interleaved */
    for (int k = 0; k < NK; k++) for (long i = 0; i < calls; i++) kernels[k](st_in, st_out);
    for (long r = 0; r < repeats; r++)
        for (int k = 0; k < NK; k++) {
            kfn f = kernels[k];
            uint64_t a = now();
            for (long i = 0; i < calls; i++) f(st_in, st_out);
            uint64_t b = now();
            printf("sample %%d %%ld %%llu\n", k, r, (unsigned long long)(b - a));
        }
    return 0;
}
"""


def driver_source(n_kernels: int) -> str:
    """The C driver that times the empty kernel and `n_kernels` kernels."""
    names = ["sched_bench_empty"] + [f"sched_bench_{i}" for i in range(n_kernels)]
    return DRIVER_C % {"state_size": STATE_SIZE, "nk": len(names), "magic": MAGIC,
                       "externs": "\n".join(f"extern void {n}(const void *, void *);" for n in names),
                       "table": ", ".join(names), "loop_iters": LOOP_ADDS // 8}


def assembly_source(kernels: Sequence[Kernel]) -> str:
    """The GNU as source of the timed stubs: the empty kernel, then one per kernel."""
    lines = ["// generated by scheduler.bench.harness", "    .text"]
    lines += execcheck._stub("sched_bench_empty", [])
    for i, k in enumerate(kernels):
        lines += execcheck._stub(f"sched_bench_{i}", list(k.instrs))
    lines += ["    .bss", "    .balign 16", "sched_host:", "    .skip 32", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ buffers

def bench_layout(kernels: Sequence[Kernel], pointers: dict[str, int]) -> tuple[Layout, set[str]]:
    """verify's rules (execcheck.layout), plus pointer registers named by --pointer REG[:SIZE],
    each slot at least twice the largest size given (the pointer sits in the middle)."""
    lay, indexes = execcheck.layout([list(k.instrs) for k in kernels])
    if not pointers:
        return lay, indexes
    bases = set(lay.bases) | set(pointers)
    slot = max(lay.slot, *(-(-2 * s // 4096) * 4096 for s in pointers.values()))
    names = tuple(sorted(bases, key=lambda r: (r[0], int(r[1:]) if r[1:].isdigit() else 0)))
    return Layout(slot, names, slot * (len(names) + 1)), indexes - set(names)


def prepared_state(lay: Layout, indexes: Iterable[str], seed: int) -> tuple[MachineState, bytes]:
    """The state every timed call starts from: verify's uniform random trial without aliasing
    (trial 4 of execcheck.initial_states: random registers and memory, every pointer in the
    middle of its own slot)."""
    return execcheck.initial_states(lay, indexes, 5, seed, lay.bases)[4]


def _check_outputs(kernels: Sequence[Kernel], data: bytes, st: MachineState, mem: bytes, lay: Layout) -> None:
    """Each kernel's run in the harness against the built-in simulator's, from the same state."""
    record = STATE_SIZE + lay.size
    start = st.copy()
    start.mem = Memory()
    start.mem.load_bytes(ARENA_BASE, mem)
    for i, k in enumerate(kernels):
        blob = data[i * record:(i + 1) * record]
        if len(blob) < record:
            raise BenchError(f"bench: the harness stopped before running kernel {k.name} "
                             "(it crashed: an access outside its buffers?)")
        try:
            want = run_instructions(k.instrs, start)
        except SimulationError as e:
            raise BenchError(f"{e.instr.loc}: bench: the simulator cannot run '{e.instr}' to check the "
                             f"harness: {e}") from None
        got = execcheck._unpack_state(blob)
        regs = [f"x{n}" for n in range(31) if n != 18] + ["sp", "nzcv"] + [f"v{n}" for n in range(32)]
        for r in regs:
            if got.get(r) != want.get(r):
                raise BenchError(f"bench: kernel {k.name} ran in the harness and left {r} = {got.get(r):#x}, "
                                 f"the simulator says {want.get(r):#x}; refusing to time it")
        if blob[STATE_SIZE:] != want.mem.dump(ARENA_BASE, lay.size):
            raise BenchError(f"bench: kernel {k.name} left different memory in the harness than in the "
                             "simulator; refusing to time it")


# ------------------------------------------------------------------ the executor

@dataclass
class HarnessExecutor:
    """Times kernels as AArch64 code; `emulated` unless running natively on AArch64."""

    seed: int = 0
    cpu: int = -1  # -1: the CPU the harness starts on
    timer: str = "auto"  # auto, perf, cntvct, clock
    pointers: dict[str, int] | None = None
    timeout: float = 600.0

    @property
    def emulated(self) -> bool:
        """Whether the timings come from qemu-user rather than an AArch64 core."""
        return emulated()

    def measure(self, kernels: Sequence[Kernel], calls: int, repeats: int) -> Measurement:
        """Build and run the harness to time the kernels; the figures count only if each kernel
        ends as the simulator says (else BenchError, as when the harness fails or times out)."""
        gcc, runner = check_toolchain()
        lay, indexes = bench_layout(kernels, self.pointers or {})
        st, mem = prepared_state(lay, indexes, self.seed)
        with tempfile.TemporaryDirectory(prefix="scheduler-bench-") as tmp:
            work = Path(tmp)
            exe = _build(kernels, work, gcc)
            inp, outp = work / "in.bin", work / "out.bin"
            inp.write_bytes(struct.pack("<4Q", MAGIC, 1, ARENA_BASE, lay.size) + execcheck._pack_state(st) + mem)
            try:
                proc = subprocess.run([*runner, str(exe), str(inp), str(outp), str(calls), str(repeats),
                                       str(self.cpu), self.timer], capture_output=True, text=True, cwd=tmp,
                                      check=False, timeout=self.timeout, preexec_fn=execcheck._no_core_dumps,
                                      env={**os.environ, "QEMU_CPU": os.environ.get("QEMU_CPU", "max")})
            except subprocess.TimeoutExpired:
                raise BenchError(f"bench: the harness took over {self.timeout:.0f} s; use fewer --calls or "
                                 "--repeats") from None
            data = outp.read_bytes() if outp.exists() else b""
        _check_outputs(kernels, data, st, mem, lay)
        if proc.returncode != 0:
            raise BenchError(f"bench: the harness failed ({execcheck._signal_name(proc.returncode)}): "
                             f"{proc.stderr.strip()[:300]}")
        return self._parse(proc.stdout, kernels, calls, repeats)

    def _parse(self, text: str, kernels: Sequence[Kernel], calls: int, repeats: int) -> Measurement:
        raw: dict[int, list[int]] = {k: [0] * repeats for k in range(len(kernels) + 1)}
        timer, frq, pinned, loop = "clock", 0, "", (0, 0, 0)
        notes = []
        for line in text.splitlines():
            w = line.split()
            if w[0] == "sample":
                raw[int(w[1])][int(w[2])] = int(w[3])
            elif w[0] == "timer":
                timer, frq = w[1], int(w[2])
            elif w[0] == "pinned":
                pinned = "cpu " + w[2] if w[1] == "cpu" else "not pinned (sched_setaffinity refused)"
            elif w[0] == "loop":
                loop = (int(w[1]), int(w[2]), int(w[3]))
            elif w[0] == "note":
                notes.append("note: " + " ".join(w[1:]))
        adds, loop_ns, loop_ticks = loop
        if loop_ns <= 0 or loop_ticks <= 0:
            raise BenchError("bench: the timer did not advance over the known loop")
        if timer == "perf":
            ns_per_tick, cyc_per_tick = loop_ns / loop_ticks, 1.0
            ghz = loop_ticks / loop_ns
        else:
            ns_per_tick = 1e9 / frq if timer == "cntvct" else 1.0
            ghz = adds / loop_ns  # one cycle per dependent add
            cyc_per_tick = ns_per_tick * ghz
        empty = sorted(raw[0])[repeats // 2] / calls  # the stub's own per-call cost (median)
        samples = []
        for k in range(1, len(kernels) + 1):
            per_call = [t / calls - empty for t in raw[k]]
            samples.append(Samples([t * cyc_per_tick for t in per_call], [t * ns_per_tick for t in per_call]))
        m = Measurement([k.name for k in kernels], samples, calls, repeats, timer, self.emulated, cpu_name(),
                        pinned, ghz, notes)
        if self.emulated:
            m.warnings.insert(0, EMULATED_WARNING)
        if not pinned.startswith("cpu"):
            m.warnings.append("warning: the harness could not pin itself to a CPU (sched_setaffinity refused): "
                              "migrations add noise")
        m.warnings += spread_warnings(m)
        return m


def check_toolchain() -> tuple[str, list[str]]:
    """(gcc, command prefix that runs the harness); BenchError (exit 2) if something is missing."""
    import shutil

    if native():
        path = shutil.which("gcc")
        if path is None:
            raise BenchError("bench: gcc not found on PATH (the harness is built with the native gcc)")
        return path, []
    try:
        return execcheck.toolchain()
    except execcheck.ToolchainMissing as e:
        raise BenchError(str(e).replace("execution check", "bench")) from None


def _build(kernels: Sequence[Kernel], work: Path, gcc: str) -> Path:
    asm = work / "kernels.s"
    asm.write_text(assembly_source(kernels))
    csrc = work / "driver.c"
    csrc.write_text(driver_source(len(kernels)))
    exe = work / "harness"
    proc = subprocess.run([gcc, "-static", "-O2", "-o", str(exe), str(csrc), str(asm)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        instrs = [i for k in kernels for i in k.instrs]
        raise BenchError(execcheck._build_error(proc.stderr, asm, instrs, []).replace("execution check", "bench"))
    return exe


def kernel_of(name: str, instrs: Sequence) -> Kernel:
    """A `Kernel` named `name` of `instrs`."""
    return Kernel(name, tuple(instrs))


def pointer_flags(items: Sequence[str]) -> dict[str, int]:
    """--pointer REG[:SIZE] (SIZE in bytes, default 4096)."""
    out = {}
    for item in items:
        reg, _, size = item.partition(":")
        reg = reg.strip().lower()
        if not (reg.startswith("x") and reg[1:].isdigit() and int(reg[1:]) <= 30) or reg == "x18":
            raise BenchError(f"--pointer {item}: not a general register (x0-x30 except x18)")
        try:
            out[reg] = int(size, 0) if size else 4096
        except ValueError:
            raise BenchError(f"--pointer {item}: SIZE must be a number of bytes") from None
    return out


__all__ = ["HarnessExecutor", "cpu_name", "native", "pointer_flags", "pointer_registers"]
