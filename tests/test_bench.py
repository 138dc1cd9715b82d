"""`scheduler bench`, `optimize --judge bench` and `scheduler calibrate` (scheduler/bench/).

The harness tests run it for real under qemu-user (natively on an AArch64 host); the
noise rule, the judge's selection and calibration's inference run on the fake core
(scheduler/bench/fakecore.py) or on scripted figures, so they are deterministic."""

from __future__ import annotations

import json
import tomllib

import pytest

from scheduler.bench import harness, judge
from scheduler.bench.calibrate import EMULATED_KEY, calibrate, is_emulated, write_model
from scheduler.bench.fakecore import FAKE_CORES, FakeCore
from scheduler.bench.measure import BenchError, Kernel, Samples, faster, spread_warnings, stats
from scheduler.checks import execcheck
from scheduler.checks.verify import straight_line
from scheduler.cli import main
from scheduler.frontend.parse import parse_file, parse_text
from scheduler.machine.model import load_model
from scheduler.search.options import Alternative, BlockResult, Status
from tests.support import ROOT

needs_toolchain = pytest.mark.skipif(not (harness.native() or execcheck.available()),
                                     reason="no aarch64-linux-gnu-gcc / qemu-aarch64 (scripts/setup-debian.sh)")
emulated_host = pytest.mark.skipif(not harness.emulated(), reason="an AArch64 core runs the harness natively")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _kernel(path: str) -> Kernel:
    return Kernel(path, tuple(straight_line(parse_file(ROOT / path))))


# ------------------------------------------------------------------ the harness (qemu)

@needs_toolchain
def test_harness_times_checked_kernels():
    m = harness.HarnessExecutor().measure([_kernel("inputs/mul_4x4.s"), _kernel("outputs/mul_4x4.s")], 200, 5)
    assert m.kernels == ["inputs/mul_4x4.s", "outputs/mul_4x4.s"]
    assert all(len(s.cycles) == 5 and len(s.ns) == 5 for s in m.samples)
    assert m.timer in ("perf", "cntvct", "clock") and m.ghz and m.ghz > 0
    doc = m.to_json()
    assert set(doc["kernels"][0]) == {"name", "cycles", "ns", "spread", "samples"}
    assert len(doc["kernels"][0]["samples"]) == 5
    assert doc["emulated"] is harness.emulated()


@needs_toolchain
def test_a_harness_timing_other_code_is_caught(monkeypatch):
    """The kernels' outputs are checked in the harness itself: a harness that runs the wrong
    body (here: the two kernels swapped) refuses to time anything."""
    original = harness.assembly_source
    monkeypatch.setattr(harness, "assembly_source", lambda ks: original(list(reversed(ks))))
    with pytest.raises(BenchError, match="refusing to time it"):
        harness.HarnessExecutor().measure([_kernel("inputs/mul_4x4.s"), _kernel("inputs/sqr_4x4.s")], 10, 2)


@needs_toolchain
def test_pointer_flag_gives_a_buffer():
    k = Kernel("k", tuple(parse_text("mov x2, #8\nldr x3, [x5, x2]\nadd x0, x3, x3\n").blocks()[0].instructions))
    m = harness.HarnessExecutor(pointers=harness.pointer_flags(["x5:256"])).measure([k], 10, 2)
    assert len(m.samples[0].cycles) == 2
    with pytest.raises(BenchError, match="not a general register"):
        harness.pointer_flags(["v3"])


@needs_toolchain
@emulated_host
def test_bench_cli_flags_emulation(capsys):
    code, out, err = run(capsys, "bench", ROOT / "inputs/mul_4x4.s", ROOT / "inputs/sqr_4x4.s",
                         "--json", "--calls", "100", "--repeats", "3")
    assert code == 0
    doc = json.loads(out)
    assert doc["emulated"] is True and doc["cpu"].startswith("qemu-aarch64 on")
    assert [k["name"] for k in doc["kernels"]] == [str(ROOT / "inputs/mul_4x4.s"), str(ROOT / "inputs/sqr_4x4.s")]
    assert "warning: emulated" in err
    code, out, err = run(capsys, "bench", ROOT / "inputs/mul_4x4.s", "--calls", "50", "--repeats", "3")
    assert code == 0 and out.startswith("EMULATED (qemu-user): ") and "warning: emulated" in err


def test_bench_refuses_control_flow(capsys, tmp_path):
    f = tmp_path / "loop.s"
    f.write_text("top:\n  add x0, x0, #1\n  cbnz x1, top\n  ret\n")
    code, out, err = run(capsys, "bench", f)
    assert code == 2 and f"{f}:3:" in err and "Traceback" not in err


def test_cpu_name_from_midr():
    info = "processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd0c\n"
    assert harness.cpu_name(info) == "Neoverse N1 (MIDR implementer 0x41 part 0xd0c)"
    assert harness.cpu_name("model name\t: Some x86\n") == "qemu-aarch64 on Some x86"


# ------------------------------------------------------------------ the noise rule

def test_noise_rule():
    s = stats([10, 11, 12, 13, 14])
    assert (s.min, s.median, s.noise) == (10, 12, 2)
    inp = Samples([100, 101, 102, 103, 104], [0] * 5)  # median 102, noise 2
    assert faster(Samples([97, 98, 99, 99, 100], [0] * 5), inp)  # 102 - 99 = 3 > max(2, 1)
    assert not faster(Samples([98, 99, 100, 101, 102], [0] * 5), inp)  # 2, not more than 2
    assert not faster(Samples([90, 95, 99, 110, 120], [0] * 5), inp)  # 3 < its own noise 15
    assert not faster(inp, Samples([97, 98, 99, 99, 100], [0] * 5))


# ------------------------------------------------------------------ the judge (fake timer)

def _block():
    return list(parse_text("mul x1, x2, x3\nadd x4, x5, x6\nadd x7, x8, x9\n").blocks()[0].instructions)


def _result(instrs) -> BlockResult:
    best = [instrs[1], instrs[0], instrs[2]]
    alts = [Alternative([instrs[2], instrs[0], instrs[1]], [2, 0, 1], False, [], [], "certificate", 5, 4.0, 6),
            Alternative([instrs[1], instrs[2], instrs[0]], [1, 2, 0], False, [], [], "certificate", 5, 4.0, 6)]
    return BlockResult(index=0, instructions=3, order=[1, 0, 2], cycles_before=6, cycles_after=5, lower_bound=5,
                       bound_reason="", status=Status.OPTIMAL, solve_seconds=0, seconds=0, verified=True,
                       ooo_cycles_before=5.0, ooo_cycles_after=4.0, ooo_single_before=7, ooo_single_after=6,
                       ooo_lower_bound=4.0, solver_cycles=5, solver_bound=5, instructions_after=best,
                       alternatives=alts, notes=["OPTIMAL under the out-of-order objective"])


def _timer(figures: dict[str, float], jitter: float) -> FakeCore:
    core = FAKE_CORES["mul3-spill"]()
    core.cycles_override, core.jitter, core.seed = figures, jitter, 7
    return core


def test_judge_keeps_the_fastest_when_it_beats_the_noise():
    instrs = _block()
    r = _result(instrs)
    line = judge.judge_block(instrs, r, _timer({"input": 100, "best": 97, "candidate 2": 90, "candidate 3": 99},
                                               jitter=1.0), k=8, calls=10, repeats=9)
    assert r.measured is not None and r.measured["chosen"] == "candidate 2"
    assert r.order == [2, 0, 1] and [str(i) for i in r.instructions_after] == [str(instrs[2]), str(instrs[0]),
                                                                                str(instrs[1])]
    assert r.status == "FEASIBLE" and not any(n.startswith("OPTIMAL") for n in r.notes)
    names = [c["name"] for c in r.measured["candidates"]]
    assert names == ["input", "best", "candidate 2", "candidate 3"]
    assert r.measured["candidates"][0]["model_inorder"] == 6 and r.measured["candidates"][1]["model_ooo"] == 4.0
    assert "kept candidate 2" in line and r.measured["emulated"] is False


def test_judge_keeps_the_input_within_the_noise():
    instrs = _block()
    r = _result(instrs)
    judge.judge_block(instrs, r, _timer({"input": 100, "best": 99, "candidate 2": 99.5, "candidate 3": 100},
                                        jitter=3.0), k=8, calls=10, repeats=15)
    assert r.measured is not None and r.measured["chosen"] == "input"
    assert r.order == [0, 1, 2] and r.status == "FALLBACK" and r.cycles_after == r.cycles_before
    assert "does not beat it by more than the noise" in r.notes[-1]


def test_judge_k_limits_the_candidates():
    instrs = _block()
    r = _result(instrs)
    judge.judge_block(instrs, r, _timer({"input": 100, "best": 90, "candidate 2": 80, "candidate 3": 70}, 0.0),
                      k=1, calls=10, repeats=3)
    assert r.measured is not None
    assert [c["name"] for c in r.measured["candidates"]] == ["input", "best"]
    assert r.measured["chosen"] == "best" and r.order == [1, 0, 2]


@emulated_host
def test_judge_bench_refuses_under_emulation(capsys, tmp_path):
    code, out, err = run(capsys, "optimize", ROOT / "inputs/add_8_walk.s", "-o", tmp_path / "o.s",
                         "--judge", "bench", "--time-limit", "1", "--workers", "1")
    assert code == 2 and "--allow-emulated" in err and "qemu" in err
    assert not (tmp_path / "o.s").exists()


@needs_toolchain
def test_judge_bench_through_optimize(capsys, tmp_path):
    out = tmp_path / "o.s"
    code, _, err = run(capsys, "optimize", ROOT / "inputs/add_8_walk.s", "-o", out, "--judge", "bench",
                       "--allow-emulated", "--judge-k", "3", "--time-limit", "2", "--workers", "1", "--quiet")
    assert code == 0, err
    doc = json.loads(out.with_suffix(".json").read_text())
    measured = doc["blocks"][0]["measured"]
    assert measured["emulated"] is harness.emulated()
    assert 2 <= len(measured["candidates"]) <= 4 and measured["candidates"][0]["name"] == "input"
    assert {"model_inorder", "model_ooo", "cycles", "ns"} <= set(measured["candidates"][1])
    if harness.emulated():
        assert "warning: emulated" in err
    code, _, _ = run(capsys, "verify", ROOT / "inputs/add_8_walk.s", out)
    assert code == 0


# ------------------------------------------------------------------ calibrate (fake core)

def _class(doc: dict, name: str) -> dict:
    return doc["classes"][name]


def test_calibrate_recovers_mul_busy_3_and_the_alu_spill(tmp_path, capsys):
    code, out, err = run(capsys, "calibrate", "--fake-core", "mul3-spill", "-o", tmp_path / "fake.toml")
    assert code == 0, err
    doc = tomllib.loads((tmp_path / "fake.toml").read_text())
    assert doc["name"] == "fake"
    mul = _class(doc, "4c3_M")  # the base holds a multiplier behind M; the fake core keeps M busy 3
    assert mul["uops"] == [{"pipe": "M", "busy": 3}] and mul["latency"] == 4
    assert mul["source"].startswith("measured by scheduler calibrate on fake core mul3-spill")
    assert _class(doc, "1c_I")["uops"] == [{"pipe": "I", "busy": 1}]  # I = S + M: ALU work on the multiplier
    assert _class(doc, "5c4_M")["latency"] == 5 and _class(doc, "2c_V1")["uops"] == [{"pipe": "V1", "busy": 1}]
    base = load_model("neoverse-n1").spec
    assert _class(doc, "4c_L")["source"] == base.classes["4c_L"].source  # not probed: the base's
    assert EMULATED_KEY not in doc["sources"] and "variants" not in doc
    code, out, _ = run(capsys, "models", "check", tmp_path / "fake.toml")
    assert code == 0 and "0 without a class" in out


def test_calibrate_tells_a_core_without_the_spill():
    """The inference reads the measurements, not the base model: a core with MUL busy 2 whose
    ALU work stays on the S pipes gives those numbers back."""
    cal = calibrate(load_model("neoverse-n1"), FAKE_CORES["mul2-nospill"](), 8, 3)
    assert cal.fits["4c3_M"].uops == [(frozenset({"M"}), 2)]
    assert cal.fits["1c_I"].uops == [(frozenset({"S"}), 1)]


def test_calibrate_inference_survives_noise():
    core = FAKE_CORES["mul3-spill"]()
    core.jitter = 0.4
    cal = calibrate(load_model("neoverse-n1"), core, 8, 7)
    assert cal.fits["4c3_M"].uops == [(frozenset({"M"}), 3)]
    assert cal.fits["1c_I"].uops == [(frozenset({"S", "M"}), 1)] and cal.fits["4c3_M"].latency == 4


@needs_toolchain
@emulated_host
def test_calibrate_under_emulation_marks_everything(tmp_path, capsys):
    path = tmp_path / "emu.toml"
    code, out, err = run(capsys, "calibrate", "-o", path, "--calls", "20", "--repeats", "3")
    assert code == 0 and "warning: emulated" in err and out.startswith("EMULATED")
    doc = tomllib.loads(path.read_text())
    assert EMULATED_KEY in doc["sources"] and doc["description"].startswith("[EMULATED]")
    measured = [c for c in doc["classes"].values() if "scheduler calibrate" in c["source"]]
    assert len(measured) >= 6 and all(c["source"].startswith("EMULATED") for c in measured)
    model = load_model(str(path))
    assert is_emulated(model)
    assert run(capsys, "models", "check", path)[0] == 0
    code, _, err = run(capsys, "optimize", ROOT / "inputs/add_8_walk.s", "-o", tmp_path / "o.s", "--model", path,
                       "--time-limit", "1", "--workers", "1", "--quiet")
    assert code == 0 and "calibrated under emulation" in err


def test_write_model_round_trips(tmp_path):
    cal = calibrate(load_model("neoverse-n1"), FAKE_CORES["mul3-spill"](), 8, 3)
    m = write_model(cal, tmp_path / "x.toml", "x-core", date="2026-01-02")
    assert m.name == "x-core" and "2026-01-02" in m.spec.classes["1c_I"].source
    assert not is_emulated(m)


def test_the_alu_heavy_mix_shows_the_spill():
    """42 ALU + 6 MUL (busy 3): ALU work that may use the multiplier shares its 18 busy cycles
    with 42 others over three pipes (20 cycles); on the S pipes alone it takes 21."""
    base = load_model("neoverse-n1")
    spill = calibrate(base, FAKE_CORES["mul3-spill"](), 8, 3).figures
    nospill_core = FAKE_CORES["mul2-nospill"]()
    nospill_core.classes["mul"] = FAKE_CORES["mul3-spill"]().classes["mul"]  # same multiplier, ALU on S
    nospill = calibrate(base, nospill_core, 8, 3)
    assert spill["mix:1c_I:42+4c3_M:6"] == 20.0 and nospill.figures["mix:1c_I:42+4c3_M:6"] == 21.0
    assert nospill.fits["4c3_M"].uops == [(frozenset({"M"}), 3)] and nospill.fits["1c_I"].uops[0][0] == {"S"}


def test_spread_warnings():
    core = _timer({f"k{i}": 100 for i in range(5)} | {"steady": 100}, jitter=0.0)
    ks = [Kernel(f"k{i}", ()) for i in range(5)] + [Kernel("steady", ())]
    m = core.measure(ks, 10, 5)
    assert m.warnings == []
    for s in m.samples[:5]:
        s.cycles[:] = [90, 95, 100, 105, 110]  # noise 10 over median 100: 10%
    lines = spread_warnings(m)
    assert len(lines) == 4 and lines[0].startswith("warning: k0: spread 10.0% of the median is over 2%")
    assert lines[3] == "warning: and 2 more of the 6 kernels have a spread over 2%"


def test_judge_keeps_the_model_choice_when_the_harness_fails():
    class Broken:
        emulated = False

        def measure(self, kernels, calls, repeats):
            raise BenchError("bench: the harness stopped before running kernel best (it crashed)")

    instrs = _block()
    r = _result(instrs)
    line = judge.judge_block(instrs, r, Broken(), k=8)
    assert line is not None and "not measured" in line
    assert r.order == [1, 0, 2] and r.measured is None and "model's choice is kept" in r.notes[-1]


def test_emulation_is_detected():
    arm = "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
    assert not harness.emulated(arm, "aarch64")
    assert harness.emulated(arm, "x86_64")  # qemu-user from an x86 Python
    assert harness.emulated("vendor_id\t: GenuineIntel\nmodel name\t: Xeon\n", "aarch64")  # an arm64 container


def test_judge_choice_is_written_and_verified(capsys, tmp_path, monkeypatch):
    """The fake timer makes the second candidate the fastest: that schedule (not the search's
    best) is what optimize writes, it passes the whole-file check and `verify`, and the
    report says so."""
    figures = {"input": 100.0, "best": 95.0, "candidate 2": 60.0, "candidate 3": 90.0}
    monkeypatch.setattr(harness, "HarnessExecutor", lambda seed=0: _timer(figures, jitter=0.5))
    monkeypatch.setattr(harness, "check_toolchain", lambda: ("gcc", []))
    out = tmp_path / "o.s"
    code, _, err = run(capsys, "optimize", ROOT / "inputs/mul_4x4.s", "-o", out, "--judge", "bench",
                       "--allow-emulated", "--judge-k", "3", "--time-limit", "1", "--quiet", "--seed", "1",
                       "--deterministic")
    assert code == 0, err
    block = json.loads(out.with_suffix(".json").read_text())["blocks"][0]
    names = [c["name"] for c in block["measured"]["candidates"]]
    assert names == ["input", "best", "candidate 2", "candidate 3"]  # --judge-k 3 (--deterministic)
    assert block["measured"]["chosen"] == "candidate 2" and block["measured"]["emulated"] is False
    assert "kept candidate 2" in block["notes"][-1] and block["status"] == "FEASIBLE"
    assert run(capsys, "verify", ROOT / "inputs/mul_4x4.s", out)[0] == 0
