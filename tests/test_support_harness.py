"""Tests of the test-support tooling itself: the assembler wrapper and the
unicorn reference harness.  Expected values are computed independently here."""

from __future__ import annotations

import shutil

import pytest

from scheduler.checks.state import MASK64, MASK128, MachineState, Memory
from scheduler.frontend import assemble
from scheduler.frontend.assemble import AssemblerError, AssemblerNotFound, assemble_lines, assemble_text, find_assembler
from tests.support.unicorn_ref import HarnessError, run_unicorn, run_unicorn_detailed

ASSEMBLER = find_assembler()
needs_assembler = pytest.mark.skipif(
    ASSEMBLER is None, reason="no AArch64 assembler (llvm-mc or aarch64-linux-gnu-as) on PATH"
)
pytestmark = needs_assembler


def _available_assemblers() -> list:
    """Each installed assembler kind, so both code paths get exercised."""
    params = []
    if ASSEMBLER is not None and ASSEMBLER[0] == "llvm-mc":
        params.append(pytest.param(ASSEMBLER, id="llvm-mc"))
    gnu = shutil.which("aarch64-linux-gnu-as")
    params.append(
        pytest.param(
            ("gnu-as", gnu),
            id="gnu-as",
            marks=pytest.mark.skipif(gnu is None, reason="aarch64-linux-gnu-as not installed"),
        )
    )
    return params


ALL_ASSEMBLERS = pytest.mark.parametrize("asm", _available_assemblers())

# Encodings checked by hand against the Arm ARM field layouts.
KNOWN = {
    "mul x0, x1, x2": "207c029b",  # MADD x0, x1, x2, xzr
    "adcs x1, x2, x3": "410003ba",
    "ldp x4, x5, [x1], #16": "2414c1a8",
    "stp x6, x7, [x9, #-16]!": "261dbfa9",
    "umlal v0.2d, v1.2s, v2.2s": "2080a22e",
    "mov x10, v0.d[1]": "0a3c184e",  # UMOV x10, v0.d[1]
    "nop": "1f2003d5",
}


# ---------------------------------------------------------------------------
# assembler wrapper


def test_find_assembler_is_cached_and_well_formed() -> None:
    assert ASSEMBLER is not None
    kind, path = ASSEMBLER
    assert kind in ("llvm-mc", "gnu-as")
    assert shutil.which(path)
    assert find_assembler() is find_assembler()


@ALL_ASSEMBLERS
def test_known_encodings(asm) -> None:
    words = assemble_lines(list(KNOWN), assembler=asm)
    assert [w.hex() for w in words] == list(KNOWN.values())


def test_mul_encoding_fields() -> None:
    # Independent of any assembler: MADD (64-bit) with Ra = xzr.
    word = (0b1 << 31) | (0b0011011000 << 21) | (2 << 16) | (31 << 10) | (1 << 5) | 0
    assert assemble_lines(["mul x0, x1, x2"]) == [word.to_bytes(4, "little")]
    assert word.to_bytes(4, "little") == bytes.fromhex("207c029b")


@ALL_ASSEMBLERS
def test_large_batch_keeps_order(asm) -> None:
    lines = [f"add x{i % 31}, x{(i + 1) % 31}, #{i % 4096}" for i in range(3000)]
    words = assemble_lines(lines, assembler=asm)
    assert len(words) == len(lines)
    for i, w in enumerate(words):
        value = int.from_bytes(w, "little")
        assert value & 0x1F == i % 31
        assert (value >> 10) & 0xFFF == i % 4096


@ALL_ASSEMBLERS
@pytest.mark.parametrize(
    "lines, index",
    [
        (["nop", "frobnicate x1", "nop"], 1),
        (["nop", "nop", "add x1, x2"], 2),
        (["mov x0, #0x12345678"], 0),
        (["nop", "nop", "nop", "ldr x0, [x1, #100000]"], 3),
    ],
)
def test_error_names_the_line(asm, lines, index) -> None:
    with pytest.raises(AssemblerError) as info:
        assemble_lines(lines, assembler=asm)
    assert info.value.line_index == index
    assert info.value.line == lines[index]
    assert info.value.message


@ALL_ASSEMBLERS
@pytest.mark.parametrize("bad", ["nop; nop", "label:", "ldr x0, =0x123456789", "nop\nnop"])
def test_line_must_be_exactly_one_instruction(asm, bad) -> None:
    with pytest.raises(AssemblerError):
        assemble_lines(["nop", bad], assembler=asm)


def test_empty_batch() -> None:
    assert assemble_lines([]) == []


def test_missing_assembler_raises(monkeypatch) -> None:
    monkeypatch.setattr(assemble, "find_assembler", lambda: None)
    with pytest.raises(AssemblerNotFound):
        assemble_lines(["nop"])
    with pytest.raises(AssemblerNotFound):
        assemble_text("nop")


@ALL_ASSEMBLERS
def test_assemble_text_with_labels_and_comments(asm) -> None:
    text = """
        // a comment
        .text
    start:
        mul x0, x1, x2      // trailing comment
        b 1f
        nop
    1:  adcs x1, x2, x3
        b start
    """
    code = assemble_text(text, assembler=asm)
    b_fwd = (0b000101 << 26) | 2  # +8 bytes
    b_back = (0b000101 << 26) | ((-4) & 0x3FFFFFF)  # -16 bytes
    expected = (
        bytes.fromhex(KNOWN["mul x0, x1, x2"])
        + b_fwd.to_bytes(4, "little")
        + bytes.fromhex(KNOWN["nop"])
        + bytes.fromhex(KNOWN["adcs x1, x2, x3"])
        + b_back.to_bytes(4, "little")
    )
    assert code == expected


@ALL_ASSEMBLERS
def test_assemble_text_matches_assemble_lines(asm) -> None:
    lines = list(KNOWN)
    assert assemble_text("\n".join(lines), assembler=asm) == b"".join(
        assemble_lines(lines, assembler=asm)
    )


@ALL_ASSEMBLERS
def test_assemble_text_error_line(asm) -> None:
    with pytest.raises(AssemblerError) as info:
        assemble_text("nop\nnop\nbogus x0\n", assembler=asm)
    assert info.value.line_index == 2


@ALL_ASSEMBLERS
def test_assemble_text_rejects_unresolved_symbols(asm) -> None:
    with pytest.raises(AssemblerError):
        assemble_text("bl somewhere_else\n", assembler=asm)


# ---------------------------------------------------------------------------
# unicorn harness


def _add_with_carry(a: int, b: int, carry: int) -> tuple[int, int]:
    """(result, nzcv) of the Arm ARM AddWithCarry pseudocode, 64-bit."""
    unsigned = a + b + carry
    result = unsigned & MASK64
    signed = lambda v: v - (1 << 64) if v >> 63 else v  # noqa: E731
    n = result >> 63
    z = int(result == 0)
    c = int(unsigned != result)
    v = int(signed(a) + signed(b) + carry != signed(result))
    return result, (n << 3) | (z << 2) | (c << 1) | v


def _code(*lines: str) -> bytes:
    return b"".join(assemble_lines(list(lines)))


def _fresh_state(seed: int = 1234) -> MachineState:
    state = MachineState(mem=Memory(background_seed=seed))
    state.x = [(0x0101010101010101 * (i + 1)) & MASK64 for i in range(31)]
    state.v = [(0x0123456789ABCDEF << 64 | i) & MASK128 for i in range(32)]
    state.sp = 0x7FFF0000
    return state


def test_mixed_program_matches_hand_computation() -> None:
    state = _fresh_state()
    state.x[1], state.x[2] = MASK64, 1  # adds: 0 with Z and C set
    state.x[4], state.x[5] = 0x7FFFFFFFFFFFFFFF, 0  # adcs: +C overflows to V
    state.x[8], state.x[9] = 0x200000, 0x300010
    src = bytes(range(0x40, 0x50))
    state.mem.load_bytes(0x200000, src)
    state.v[0] = (0xFFFFFFFFFFFFFFFF << 64) | 0x10
    state.v[1] = (0xDEADBEEF << 96) | (0x00000003 << 32) | 0xFFFFFFFF
    state.v[2] = (0xCAFEF00D << 96) | (0x00000005 << 32) | 0xFFFFFFFF
    state.nzcv = 0
    before = state.copy()

    code = _code(
        "adds x0, x1, x2",
        "adcs x3, x4, x5",
        "ldp x6, x7, [x8], #16",
        "stp x6, x7, [x9, #-16]!",
        "umlal v0.2d, v1.2s, v2.2s",
        "mov x10, v0.d[1]",
    )
    out, touched = run_unicorn_detailed(code, state)

    x0, flags = _add_with_carry(MASK64, 1, 0)
    assert (x0, flags) == (0, 0b0110)
    x3, flags = _add_with_carry(state.x[4], state.x[5], (flags >> 1) & 1)
    assert (x3, flags) == (1 << 63, 0b1001)
    x6 = int.from_bytes(src[:8], "little")
    x7 = int.from_bytes(src[8:], "little")
    lo = (0x10 + 0xFFFFFFFF * 0xFFFFFFFF) & MASK64
    hi = (0xFFFFFFFFFFFFFFFF + 3 * 5) & MASK64  # wraps modulo 2^64
    v0 = (hi << 64) | lo

    expected = before.copy()
    expected.x[0], expected.x[3] = x0, x3
    expected.x[6], expected.x[7] = x6, x7
    expected.x[8], expected.x[9] = 0x200010, 0x300000
    expected.x[10] = hi
    expected.v[0] = v0
    expected.nzcv = flags
    assert out.x == expected.x
    assert out.v == expected.v
    assert out.sp == expected.sp
    assert out.nzcv == 0b1001

    stored = set(range(0x300000, 0x300010))
    loaded = set(range(0x200000, 0x200010))
    assert out.mem.writes == stored
    assert out.mem.reads == loaded
    assert touched == stored | loaded
    assert out.mem.dump(0x300000, 16) == src
    assert out.mem.background_seed == state.mem.background_seed
    # The input state is untouched.
    assert state.x == before.x and state.mem.data == before.mem.data
    assert state.mem.writes == set() and state.mem.reads == set()


def test_background_memory_is_what_unicorn_sees() -> None:
    state = _fresh_state(seed=99)
    state.x[1] = 0x5555_0000_1230
    out = run_unicorn(_code("ldr x0, [x1]", "ldr q3, [x1, #64]"), state)
    mem = state.mem.copy()
    assert out.x[0] == mem.read(0x5555_0000_1230, 8)
    assert out.v[3] == mem.read(0x5555_0000_1270, 16)
    assert out.mem.writes == set()


def test_zero_background_when_seed_is_none() -> None:
    state = MachineState()
    state.x[1] = 0x40000
    out = run_unicorn(_code("ldr x0, [x1]"), state)
    assert out.x[0] == 0


def test_page_straddling_accesses() -> None:
    state = _fresh_state()
    state.x[1] = 0x20FFC  # 8-byte load across 0x21000
    state.x[2] = 0x0123456789ABCDEF
    state.x[3] = 0x31FFA  # 16-byte store across 0x32000
    out = run_unicorn(_code("ldr x0, [x1]", "stp x2, x2, [x3]"), state)
    assert out.x[0] == state.mem.copy().read(0x20FFC, 8)
    assert out.mem.writes == set(range(0x31FFA, 0x3200A))
    assert out.mem.read(0x31FFA, 16) == (state.x[2] << 64) | state.x[2]


def test_addresses_wrap_at_2_pow_64() -> None:
    state = _fresh_state()
    state.x[1] = (1 << 64) - 8  # q load: 8 bytes at the top, 8 at address 0
    state.sp = 8  # pre-index by -16 wraps sp below zero
    state.x[4], state.x[5] = 0x1111, 0x2222
    out, touched = run_unicorn_detailed(
        _code("ldr q0, [x1]", "stp x4, x5, [sp, #-16]!"), state
    )
    wrapped = set(range((1 << 64) - 8, 1 << 64)) | set(range(8))
    assert out.v[0] == state.mem.copy().read((1 << 64) - 8, 16)
    assert out.sp == (1 << 64) - 8
    assert out.mem.reads == wrapped
    assert out.mem.writes == wrapped
    assert out.mem.read((1 << 64) - 8, 16) == (0x2222 << 64) | 0x1111
    assert touched == wrapped


def test_same_value_store_still_counts_as_write() -> None:
    state = _fresh_state()
    state.x[1] = 0x50000
    out = run_unicorn(_code("ldr x0, [x1]", "str x0, [x1]"), state)
    assert out.mem.writes == set(range(0x50000, 0x50008))
    assert out.mem.read(0x50000, 8) == state.mem.copy().read(0x50000, 8)


def test_nzcv_round_trip_and_conditional() -> None:
    state = _fresh_state()
    state.nzcv = 0b0010  # C set: "csel hs" picks x1, adc adds 1
    out = run_unicorn(_code("csel x0, x1, x2, hs", "adc x3, xzr, xzr"), state)
    assert out.x[0] == state.x[1]
    assert out.x[3] == 1
    assert out.nzcv == 0b0010


def test_x29_x30_and_sp_are_mapped() -> None:
    state = _fresh_state()
    out = run_unicorn(_code("add x29, x30, #1", "add sp, sp, #32", "mov x30, sp"), state)
    assert out.x[29] == state.x[30] + 1
    assert out.sp == state.sp + 32
    assert out.x[30] == state.sp + 32


def test_data_access_to_code_page_is_rejected() -> None:
    state = _fresh_state()
    state.x[1] = 0x10008
    with pytest.raises(HarnessError, match="code page"):
        run_unicorn(_code("ldr x0, [x1]"), state)
    # The same access is fine with the code placed elsewhere.
    out = run_unicorn(_code("ldr x0, [x1]"), state, code_addr=0x900000)
    assert out.x[0] == state.mem.copy().read(0x10008, 8)


def test_branch_out_of_code_is_reported() -> None:
    with pytest.raises(HarnessError):
        run_unicorn(_code("b #0x100", "nop"), _fresh_state())


def test_empty_code_returns_equal_state() -> None:
    state = _fresh_state()
    out = run_unicorn(b"", state)
    assert out == state and out is not state
