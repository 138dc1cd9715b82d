"""The Neoverse V1, Neoverse V2 and Cortex-A55 models: they load and validate, cover the
whole instruction table, carry the cited figures, and drive `optimize` and `compare`.

The expected numbers are read off the model files' cited sources by hand (LLVM's
AArch64SchedNeoverseV1/V2.td and AArch64SchedA55.td), not copied from the code's output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from scheduler.cli import main
from scheduler.frontend.isa.table import TABLE
from scheduler.frontend.parse import parse_text
from scheduler.machine.mca import MCPU, find_llvm_mca, mcpu_for, run_mca
from scheduler.machine.model import MODELS_DIR, available_models, load_model
from tests.support import ROOT

CORES = ["neoverse-v1", "neoverse-v2", "cortex-a55"]
TINY = """\
        mul     x4, x0, x2
        umulh   x5, x0, x2
        mul     x6, x1, x3
        umulh   x7, x1, x3
        adds    x5, x5, x6
        adc     x7, x7, xzr
        ldr     x8, [x9]
        add     x8, x8, x4
        str     x8, [x9, #8]
        stp     x5, x7, [x9, #16]
"""


def one(text: str):
    (instr,) = parse_text(text).instructions
    return instr


@pytest.fixture(scope="module", params=CORES)
def core(request):
    return load_model(request.param)


# ------------------------------------------------------------------ load, validate, cover


def test_registered_with_their_files():
    models = available_models()
    for name in CORES:
        path, variant = models[name]
        assert path == MODELS_DIR / f"{name}.toml" and variant is None


def test_loads_validates_and_covers_the_table(core):
    core.validate_references()
    assert core.coverage() == []
    pairs = sum(len(f.opclasses) for f in TABLE)
    assert pairs > 0


def test_every_class_and_param_is_cited(core):
    spec = core.spec
    for name, cls in spec.classes.items():
        assert cls.source.strip(), name
        assert any(f"[{tag}]" in cls.source for tag in spec.sources), (name, cls.source)
    for key in ("issue_width", "decode_width", "dispatch_width", "window", "retire_width"):
        assert getattr(spec.core, key).source.strip()
    for name, p in spec.pipes.items():
        assert p.source.strip(), name


@pytest.mark.parametrize("name", CORES)
def test_models_check_exits_0(name, capsys):
    assert main(["models", "check", name]) == 0
    out = capsys.readouterr().out
    assert "0 without a class" in out


def test_models_list_shows_descriptions(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    for name in CORES:
        line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
        assert f"{name}.toml" in line
    assert "in-order, dual-issue" in out  # the A55's description


# ------------------------------------------------------------------ cited figures


@pytest.mark.parametrize("name, text, cls, latency, reservations", [
    # 64-bit MUL: V1/V2 2c on either M pipe (V?Write_2c_1M), A55 4c on the one MAC (WriteIM64)
    ("neoverse-v1", "mul x4, x0, x2", "2c_M", 2, ((("M0", "M1"), 1),)),
    ("neoverse-v2", "mul x4, x0, x2", "2c_M", 2, ((("M0", "M1"), 1),)),
    ("cortex-a55", "mul x4, x0, x2", "4c_MAC", 4, ((("MAC",), 1),)),
    # UMULH: V1/V2 3c on M (V?Write_3c_1M), A55 4c MAC
    ("neoverse-v1", "umulh x4, x0, x2", "3c_M", 3, ((("M0", "M1"), 1),)),
    ("neoverse-v2", "umulh x4, x0, x2", "3c_M", 3, ((("M0", "M1"), 1),)),
    ("cortex-a55", "umulh x4, x0, x2", "4c_MAC", 4, ((("MAC",), 1),)),
    # loads: V1/V2 4c on any of the 3 load pipes; A55 3c on its one load pipe
    ("neoverse-v1", "ldr x1, [x2, #8]", "4c_L", 4, ((("L01", "L2"), 1),)),
    ("neoverse-v2", "ldr x1, [x2, #8]", "4c_L", 4, ((("L01", "L2"), 1),)),
    ("cortex-a55", "ldr x1, [x2, #8]", "3c_LD", 3, ((("LD",), 1),)),
    # A55 load pair X: 5c, the load pipe twice (CortexA55WriteLDP2)
    ("cortex-a55", "ldp x1, x3, [x2]", "5c2_LD", 5, ((("LD",), 2),)),
    # ASIMD: umlal 4c on V0/V2, usra 4c on V1/V3; A55 Q-form multiply on both FP pipes
    ("neoverse-v1", "umlal v0.2d, v1.2s, v2.2s", "4c_V02", 4, ((("V0", "V2"), 1),)),
    ("neoverse-v2", "usra v0.2d, v1.2d, #3", "4c_V13", 4, ((("V1", "V3"), 1),)),
    ("cortex-a55", "umull v0.2d, v1.2s, v2.2s", "4c_2FP", 4, ((("FP",), 1), (("FP",), 1))),
    # integer ALU: V1 four pipes (S x2, M0, M1), V2 six (S0..S3, M0, M1)
    ("neoverse-v1", "add x1, x2, x3", "1c_I", 1, ((("S", "M0", "M1"), 1),)),
    ("neoverse-v2", "add x1, x2, x3", "1c_I", 1, ((("R", "S23", "M0", "M1"), 1),)),
])
def test_spot_checks(name, text, cls, latency, reservations):
    m = load_model(name)
    t = m.timing(one(text))
    assert (t.cls, t.latency, t.uops) == (cls, latency, reservations)


def test_pipe_counts():
    v1, v2, a55 = (load_model(n).pipes for n in CORES)
    assert v1["S"] + v1["M0"] + v1["M1"] == 4 and v1["M0"] + v1["M1"] == 2
    assert v1["L01"] + v1["L2"] == 3 and v1["B"] == 2
    assert sum(v1[f"V{i}"] for i in range(4)) == 4
    assert v2["R"] + v2["S23"] + v2["M0"] + v2["M1"] == 6 and v2["L01"] + v2["L2"] == 3
    assert a55 == {"ALU": 2, "MAC": 1, "DIV": 1, "LD": 1, "ST": 1, "B": 1, "FP": 2}
    assert load_model("cortex-a55").issue_width == 2


def test_shifted_operands():
    # V2Write_2c_1M: flag-setting logical with any shift; ALU add with LSL > 4 or LSR
    v2 = load_model("neoverse-v2")
    assert v2.timing(one("ands x1, x2, x3, lsl #3")).cls == "2c_M"
    for name in ("neoverse-v1", "neoverse-v2"):
        m = load_model(name)
        assert m.timing(one("add x1, x2, x3, lsl #3")).cls == "1c_I"
        assert m.timing(one("add x1, x2, x3, lsl #5")).latency == 2
        assert m.timing(one("add x1, x2, x3, lsr #3")).latency == 2


def test_a55_forwarding_follows_llvm_read_advance():
    a55 = load_model("cortex-a55")
    instrs = parse_text("add x1, x2, x3\nadd x4, x1, x5\nmadd x6, x7, x8, x1\nmul x9, x1, x7\n"
                        "ldr x10, [x1, #8]\nldr x11, [x12, x1]\nadd x13, x9, x5\n").instructions
    add, add2, madd, mul, ldr_imm, ldr_reg, add3 = instrs
    assert a55.latency(add, add2, "x1") == 1    # 3 - ReadAdvance<ReadI, 2>
    # madd's accumulator: LLVM's ReadIMA advance 2 cannot be singled out (see the model
    # file), so it gets the multiplier sources' ReadAdvance<ReadIM, 1>
    assert a55.latency(add, madd, "x1") == 2
    assert a55.latency(add, mul, "x1") == 2     # 3 - ReadAdvance<ReadIM, 1>
    assert a55.latency(add, ldr_imm, "x1") == 3  # immediate-offset base: no advance
    assert a55.latency(add, ldr_reg, "x1") == 2  # register-offset: ReadAdvance<ReadAdrBase, 1>
    assert a55.latency(mul, add3, "x9") == 2     # MAC 4 - ReadAdvance<ReadI, 2>


def test_mcpu_mapping():
    assert MCPU == {"neoverse-n1": "neoverse-n1", "neoverse-v1": "neoverse-v1",
                    "neoverse-v2": "neoverse-v2", "cortex-a55": "cortex-a55"}
    assert mcpu_for("neoverse-n1-llvm") == "neoverse-n1"
    assert mcpu_for("no-such-core") is None
    for name in available_models():
        assert mcpu_for(name) is not None, name


# ------------------------------------------------------------------ optimize and compare


@pytest.mark.parametrize("name", CORES)
def test_optimize_tiny_kernel_is_verified(name, tmp_path):
    src = tmp_path / "tiny.s"
    src.write_text(TINY)
    out = tmp_path / "out.s"
    code = main(["optimize", str(src), "-o", str(out), "--model", name, "--time-limit", "2",
                 "--deterministic", "--workers", "1", "--json"])
    assert code == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["model"] == name and report["verified"] is True
    assert report["cycles_after"] <= report["cycles_before"]


def test_compare_with_a_list_of_models(capsys):
    code = main(["compare", str(ROOT / "inputs/mul_4x4.s"), str(ROOT / "outputs/mul_4x4.s"),
                 "--model", "neoverse-v1", "--model", "neoverse-v2", "--model", "cortex-a55",
                 "--json", "--no-mca"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["models"] == CORES
    for f in doc["files"]:
        for b in f["blocks"]:
            assert set(b["models"]) == set(CORES)
            for m in CORES:
                assert b["models"][m]["inorder_cycles"] >= b["models"][m]["lower_bound"] > 0


@pytest.mark.skipif(find_llvm_mca() is None, reason="llvm-mca-19 not on PATH")
def test_llvm_mca_accepts_each_mcpu():
    lines = [str(i) for i in parse_text(TINY).instructions]
    for name in CORES:
        r = run_mca(lines, iterations=10, mcpu=mcpu_for(name))
        assert r is not None and r.total_cycles > 0


@pytest.mark.skipif(find_llvm_mca() is None or shutil.which("llvm-mca-19") is None,
                    reason="llvm-mca-19 not on PATH")
def test_models_mca_script_runs(tmp_path):
    src = tmp_path / "tiny.s"
    src.write_text(TINY)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/models_mca.py"), "--orders", "4",
                           "--model", "cortex-a55", "--model", "neoverse-v1", str(src)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "| cortex-a55 | cortex-a55 | tiny.s | 10 |" in proc.stdout
    assert "| neoverse-v1 | neoverse-v1 | tiny.s | 10 |" in proc.stdout
