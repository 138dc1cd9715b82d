"""Reference execution of AArch64 code with unicorn, on our `MachineState`.

Tests use this as ground truth for our own simulator: same initial state in,
compare the states that come out.  Memory is mapped lazily, page by page, from
`state.mem` (including its pseudo-random background), so programs may touch any
address without the test having to pre-declare buffers.

Unicorn 2.1.4 quirk handled here: when an access crosses 2^64 into a page that
is mapped on demand by the unmapped-memory hook, the following read hook reports
a bogus address (0xffff_ffff_ffff_ffff).  With all pages mapped up front the
hooks are exact, so we run twice: once to discover the data pages, once with
those pages pre-mapped to record the exact bytes read and written.
"""

from __future__ import annotations

from unicorn import (
    UC_ARCH_ARM64,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_WRITE,
    UC_MODE_ARM,
    Uc,
    UcError,
)
from unicorn import arm64_const as a64

from scheduler.checks.state import MASK64, MachineState, Memory

PAGE = 0x1000
PAGE_MASK = ~(PAGE - 1) & MASK64
CPACR_FPEN = 0x3 << 20  # no FP/SIMD traps at EL0/EL1

# X29/X30 are not contiguous with X0..X28 in unicorn's numbering; look up by name.
_X_REGS = [getattr(a64, f"UC_ARM64_REG_X{i}") for i in range(31)]
_Q_REGS = [getattr(a64, f"UC_ARM64_REG_Q{i}") for i in range(32)]


class HarnessError(RuntimeError):
    """The code could not be run faithfully (bad layout, branch out, fault)."""


def pages_spanning(addr: int, size: int) -> list[int]:
    """Page bases covering [addr, addr+size), wrapping modulo 2^64."""
    addr &= MASK64
    count = ((addr & (PAGE - 1)) + max(size, 1) - 1) // PAGE + 1
    first = addr & PAGE_MASK
    return [(first + k * PAGE) & MASK64 for k in range(count)]


def _byte_addrs(addr: int, size: int) -> range | list[int]:
    if addr + size <= MASK64 + 1:
        return range(addr, addr + size)
    return [(addr + i) & MASK64 for i in range(size)]


class _Emulation:
    """One unicorn run; records data pages, bytes read and bytes written."""

    def __init__(self, code: bytes, state: MachineState, code_addr: int, page_cache: dict[int, bytes]):
        self.code = code
        self.state = state
        self.code_addr = code_addr
        self.code_pages = set(pages_spanning(code_addr, len(code)))
        self.page_cache = page_cache  # initial page contents, shared between runs
        self.data_pages: dict[int, bytes] = {}
        self.reads: set[int] = set()
        self.writes: set[int] = set()
        self.error: Exception | None = None
        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self._load_code()
        self._load_registers()
        self.uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        self.uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._on_access)

    # -- setup -------------------------------------------------------------

    def _load_code(self) -> None:
        for page in sorted(self.code_pages):
            self.uc.mem_map(page, PAGE)
        self.uc.mem_write(self.code_addr, self.code)

    def _load_registers(self) -> None:
        uc, st = self.uc, self.state
        uc.reg_write(a64.UC_ARM64_REG_CPACR_EL1, CPACR_FPEN)
        for reg, value in zip(_X_REGS, st.x, strict=False):
            uc.reg_write(reg, value & MASK64)
        for reg, value in zip(_Q_REGS, st.v, strict=False):
            uc.reg_write(reg, value)
        uc.reg_write(a64.UC_ARM64_REG_SP, st.sp & MASK64)
        uc.reg_write(a64.UC_ARM64_REG_NZCV, (st.nzcv & 0xF) << 28)

    def map_data_page(self, page: int) -> None:
        if page in self.code_pages:
            raise HarnessError(
                f"data access to code page {page:#x}; choose a different code_addr"
            )
        if page in self.data_pages:
            return
        if page not in self.page_cache:
            # dump() reproduces the background without recording reads.
            self.page_cache[page] = self.state.mem.dump(page, PAGE)
        self.uc.mem_map(page, PAGE)
        self.uc.mem_write(page, self.page_cache[page])
        self.data_pages[page] = self.page_cache[page]

    # -- hooks (exceptions are stored, not raised, so unicorn stops cleanly) --

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error
        self.uc.emu_stop()

    def _on_unmapped(self, uc: Uc, access: int, address: int, size: int, value: int, data: object) -> bool:
        if access == UC_MEM_FETCH_UNMAPPED:
            self._fail(HarnessError(f"instruction fetch outside the code at {address:#x}"))
            return False
        try:
            for page in pages_spanning(address, size):
                self.map_data_page(page)
        except Exception as exc:  # noqa: BLE001 - re-raised after emu_start
            self._fail(exc)
            return False
        return True

    def _on_access(self, uc: Uc, access: int, address: int, size: int, value: int, data: object) -> None:
        addrs = _byte_addrs(address, size)
        if any((a & PAGE_MASK) in self.code_pages for a in addrs):
            self._fail(HarnessError(f"data access to code page at {address:#x}; choose a different code_addr"))
            return
        (self.writes if access == UC_MEM_WRITE else self.reads).update(addrs)

    # -- running ---------------------------------------------------------------

    def run(self) -> None:
        end = self.code_addr + len(self.code)
        if self.code:
            try:
                # count bounds the run even if a branch loops back.
                self.uc.emu_start(self.code_addr, end, count=len(self.code) // 4)
            except UcError as exc:
                if self.error is None:
                    pc = self.uc.reg_read(a64.UC_ARM64_REG_PC)
                    raise HarnessError(f"unicorn stopped at pc={pc:#x}: {exc}") from exc
        if self.error is not None:
            raise self.error
        pc = self.uc.reg_read(a64.UC_ARM64_REG_PC)
        if self.code and pc != end:
            raise HarnessError(f"execution ended at pc={pc:#x}, expected {end:#x} (branch?)")

    def result(self) -> MachineState:
        uc = self.uc
        out = MachineState(
            x=[uc.reg_read(reg) for reg in _X_REGS],
            sp=uc.reg_read(a64.UC_ARM64_REG_SP),
            v=[uc.reg_read(reg) for reg in _Q_REGS],
            nzcv=(uc.reg_read(a64.UC_ARM64_REG_NZCV) >> 28) & 0xF,
            mem=self._result_memory(),
        )
        return out

    def _result_memory(self) -> Memory:
        mem = self.state.mem.copy()  # keeps background_seed and prior history
        final = {page: bytes(self.uc.mem_read(page, PAGE)) for page in self.data_pages}
        changed = {
            page + i
            for page, before in self.data_pages.items()
            for i, (b0, b1) in enumerate(zip(before, final[page], strict=False))
            if b0 != b1
        }
        # Writes of an unchanged value count too: our simulator records them.
        for addr in changed | self.writes:
            mem.data[addr] = final[addr & PAGE_MASK][addr & (PAGE - 1)]
            mem.writes.add(addr)
        mem.reads |= self.reads
        return mem


def run_unicorn_detailed(
    code: bytes, state: MachineState, *, code_addr: int = 0x10000
) -> tuple[MachineState, set[int]]:
    """Execute straight-line `code` from `state`; return the new state and the
    set of byte addresses the code read or wrote.  `state` is not modified."""
    if code_addr % 4 or len(code) % 4:
        raise ValueError("code_addr and len(code) must be multiples of 4")
    page_cache: dict[int, bytes] = {}
    discovery = _Emulation(code, state, code_addr, page_cache)
    discovery.run()
    exact = _Emulation(code, state, code_addr, page_cache)
    for page in discovery.data_pages:
        exact.map_data_page(page)
    exact.run()
    return exact.result(), exact.reads | exact.writes


def run_unicorn(code: bytes, state: MachineState, *, code_addr: int = 0x10000) -> MachineState:
    """Execute straight-line `code` from a copy of `state`; return the new state."""
    return run_unicorn_detailed(code, state, code_addr=code_addr)[0]
