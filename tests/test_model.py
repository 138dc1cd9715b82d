"""Machine models: schema errors, the Neoverse N1 facts, timing lookups, forwarding,
the model search path and the `models` command.

Every expected number below is read off models/neoverse-n1.toml by hand (class
latency, micro-ops and busy cycles), not copied from the code's output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scheduler.cli import main
from scheduler.frontend.isa.table import TABLE
from scheduler.frontend.parse import parse_text
from scheduler.machine.model import MODELS_DIR, ModelError, available_models, load_model

N1_FILE = MODELS_DIR / "neoverse-n1.toml"
N1_TEXT = N1_FILE.read_text()


@pytest.fixture(scope="module")
def n1():
    return load_model("neoverse-n1")


@pytest.fixture(scope="module")
def n1_llvm():
    return load_model("neoverse-n1-llvm")


def one(text: str):
    (instr,) = parse_text(text).instructions
    return instr


def edited(old: str, new: str, *, last: bool = False, text: str = N1_TEXT) -> str:
    """The model text with one occurrence of `old` (the first, or the last) replaced."""
    assert old in text, f"test setup: {old!r} is not in the model file any more"
    i = text.rindex(old) if last else text.index(old)
    return text[:i] + new + text[i + len(old):]


def write(tmp_path: Path, text: str, name: str = "broken.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------ schema errors

BROKEN = [
    # id, old text, new text, key paths that must be named, message fragment
    ("unknown-top-level-key",
     'name = "neoverse-n1"\n', 'name = "neoverse-n1"\ncolour = "red"\n',
     ["colour"], "unknown key"),
    ("unknown-nested-key",
     "[classes.1c_I]\nlatency = 1", "[classes.1c_I]\nlatncy = 1",
     ["classes.1c_I.latncy", "classes.1c_I.latency"], "unknown key"),
    ("unknown-key-in-uop",
     'uops = [{ pipe = "M", busy = 5 }]', 'uops = [{ pipe = "M", bsy = 5 }]',
     ["classes.12c5_M.uops.0.bsy"], "unknown key"),
    ("unknown-key-in-hold",
     'holds = [{ pipe = "MUL", busy = 3 }]', 'holds = [{ pipe = "MUL", bsy = 3 }]',
     ["classes.4c3_M.uops.0.holds.0.bsy"], "unknown key"),
    ("hold-on-unknown-pipe",
     'holds = [{ pipe = "MUL", busy = 3 }]', 'holds = [{ pipe = "MULT", busy = 3 }]',
     ["classes.4c3_M.uops.0.holds.0.pipe"], "unknown pipe 'MULT'"),
    ("queue-for-unknown-pipe",
     'V1 = { size = 16,', 'V2 = { size = 16,',
     ["queues.V2"], "unknown pipe 'V2'"),
    ("zero-queue-size",
     'L = { size = 12,', 'L = { size = 0,',
     ["queues.L.size"], "greater than or equal to 1"),
    ("unknown-steering-rule",
     'steering = { rule = "least",', 'steering = { rule = "random",',
     ["steering.rule"], "'issue' or 'least'"),
    ("steering-avoids-unknown-pipe",
     'avoid = ["M"]', 'avoid = ["Q"]',
     ["steering.avoid"], "unknown pipe 'Q'"),
    ("unknown-key-in-core-param",
     'window = { value = 128,', 'window = { value = 128, units = "uops",',
     ["core.window.units"], "unknown key"),
    ("unknown-key-in-opclass-when",
     'shift = ["lsl"], max_amount = 4', 'shfit = ["lsl"], max_amount = 4',
     ["opclasses.int_arith_shifted.when.0.shfit"], "unknown key"),
    ("unknown-key-in-variant-class",
     "[variants.llvm.classes.4c3_M]\nlatency = 4", "[variants.llvm.classes.4c3_M]\nlatency = 4\nlatncy = 4",
     ["variants.llvm.classes.4c3_M.latncy"], "unknown key"),
    ("missing-description",
     'description = "Arm Neoverse N1 / AWS Graviton2, out-of-order, 8-wide dispatch"\n', "",
     ["description"], "Field required"),
    ("missing-class-source",
     'source = "[LLVM] N1Write_1c_1B: branches"\n', "",
     ["classes.1c_B.source"], "Field required"),
    ("missing-core-param",
     'retire_width = { value = 8,', 'retire_wdth = { value = 8,',
     ["core.retire_width", "core.retire_wdth"], "Field required"),
    ("wrong-type-latency",
     "[classes.4c3_M]\nlatency = 4", '[classes.4c3_M]\nlatency = "four"',
     ["classes.4c3_M.latency"], "valid integer"),
    ("wrong-type-pipe-count",
     'S = { count = 2,', 'S = { count = "two",',
     ["pipes.S.count"], "valid integer"),
    ("wrong-type-uops",
     'uops = [{ pipe = "B" }]', 'uops = "B"',
     ["classes.1c_B.uops"], "valid list"),
    ("negative-latency",
     "[classes.1c_I]\nlatency = 1", "[classes.1c_I]\nlatency = -1",
     ["classes.1c_I.latency"], "greater than or equal to 0"),
    ("zero-busy",
     'uops = [{ pipe = "M", busy = 5 }]', 'uops = [{ pipe = "M", busy = 0 }]',
     ["classes.12c5_M.uops.0.busy"], "greater than or equal to 1"),
    ("zero-issue-width",
     'issue_width = { value = 4,', 'issue_width = { value = 0,',
     ["core.issue_width.value"], "greater than or equal to 1"),
    ("zero-pipe-count",
     'L = { count = 2,', 'L = { count = 0,',
     ["pipes.L.count"], "greater than or equal to 1"),
    ("no-uops",
     'uops = [{ pipe = "B" }]', "uops = []",
     ["classes.1c_B.uops"], "at least 1 item"),
    ("uop-with-unknown-pipe",
     'uops = [{ pipe = "B" }]', 'uops = [{ pipe = "X" }]',
     ["classes.1c_B.uops.0.pipe"], "unknown pipe or group 'X'"),
    ("group-with-unknown-pipe",
     'I = { pipes = ["S", "M"]', 'I = { pipes = ["S", "Q"]',
     ["groups.I.pipes"], "unknown pipe 'Q'"),
    ("opclass-to-unknown-class",
     'int_alu = "1c_I"', 'int_alu = "1c_Q"',
     ["opclasses.int_alu"], "unknown class '1c_Q'"),
    ("opclass-when-to-unknown-class",
     'max_amount = 4, class = "1c_I"', 'max_amount = 4, class = "1c_Z"',
     ["opclasses.int_arith_shifted"], "unknown class '1c_Z'"),
    ("forwarding-unknown-producer",
     "forwarding = []",
     'forwarding = [{ producer = "4c_VX", consumer = "4c_V0", operand = "acc", latency = 1, source = "t" }]',
     ["forwarding.0"], "unknown class '4c_VX'"),
    ("forwarding-unknown-consumer",
     "forwarding = []",
     'forwarding = [{ producer = "4c_V0", consumer = "4c_VY", operand = "acc", latency = 1, source = "t" }]',
     ["forwarding.0"], "unknown class '4c_VY'"),
    ("forwarding-bad-operand",
     "forwarding = []",
     'forwarding = [{ producer = "4c_V0", consumer = "4c_V0", operand = "src", latency = 1, source = "t" }]',
     ["forwarding.0.operand"], "'any' or 'acc'"),
    ("forwarding-negative-latency",
     "forwarding = []",
     'forwarding = [{ producer = "4c_V0", consumer = "4c_V0", operand = "acc", latency = -1, source = "t" }]',
     ["forwarding.0.latency"], "greater than or equal to 0"),
    ("forwarding-without-source",
     "forwarding = []",
     'forwarding = [{ producer = "4c_V0", consumer = "4c_V0", operand = "acc", latency = 1 }]',
     ["forwarding.0.source"], "Field required"),
]


@pytest.mark.parametrize("old,new,keys,fragment", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_model_is_rejected_naming_file_and_key(tmp_path, old, new, keys, fragment):
    path = write(tmp_path, edited(old, new))
    with pytest.raises(ModelError) as exc:
        load_model(str(path))
    msg = str(exc.value)
    assert str(path) in msg
    for key in keys:
        # the key path is named as `FILE: KEY: message`
        assert f"{path}: {key}: " in msg, msg
    assert fragment in msg


def test_each_schema_error_line_names_the_file(tmp_path):
    # two mistakes at once: both reported, each line starting with the file
    text = edited("[classes.1c_I]\nlatency = 1", "[classes.1c_I]\nlatncy = 1")
    text = edited('S = { count = 2,', 'S = { count = -2,', text=text)
    path = write(tmp_path, text)
    with pytest.raises(ModelError) as exc:
        load_model(str(path))
    lines = str(exc.value).splitlines()
    assert len(lines) == 3  # latncy unknown, latency missing, count < 1
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert {line.split(": ")[1] for line in lines} == {
        "classes.1c_I.latncy", "classes.1c_I.latency", "pipes.S.count"}


def test_invalid_toml(tmp_path):
    path = write(tmp_path, edited('name = "neoverse-n1"', 'name = "neoverse-n1'))
    with pytest.raises(ModelError, match="invalid TOML") as exc:
        load_model(str(path))
    assert str(path) in str(exc.value)
    line = N1_TEXT[:N1_TEXT.index('name = "neoverse-n1"')].count("\n") + 1
    assert f"line {line}" in str(exc.value)  # the line of the unterminated string


def test_model_error_is_a_scheduler_error():
    from scheduler.core.errors import SchedulerError

    assert issubclass(ModelError, SchedulerError)  # so the CLI reports it as bad input


def test_variant_with_unknown_pipe_is_rejected_when_the_variant_is_loaded(tmp_path, monkeypatch):
    # the variant's own 5c4_M (the last `busy = 3` in the file) names a pipe that does not exist
    text = edited('uops = [{ pipe = "M", busy = 3 }]', 'uops = [{ pipe = "MM", busy = 3 }]', last=True)
    path = write(tmp_path, text.replace('name = "neoverse-n1"', 'name = "tmpcore"', 1), "m.toml")
    monkeypatch.setenv("SCHEDULER_MODELS_PATH", str(tmp_path))
    with pytest.raises(ModelError) as exc:
        load_model("tmpcore-llvm")
    assert str(path) in str(exc.value) and "unknown pipe or group 'MM'" in str(exc.value)


def test_variant_errors_are_found_when_the_file_is_loaded(tmp_path):
    path = write(tmp_path, edited('uops = [{ pipe = "M", busy = 3 }]', 'uops = [{ pipe = "MM", busy = 3 }]',
                                  last=True))
    with pytest.raises(ModelError) as exc:
        load_model(str(path))
    assert f"{path}: variants.llvm.classes.5c4_M.uops.0.pipe: " in str(exc.value)


def test_variant_overriding_an_unknown_class_is_rejected(tmp_path, monkeypatch):
    text = edited("[variants.llvm.classes.4c3_M]", "[variants.llvm.classes.4c3_MM]")
    write(tmp_path, text.replace('name = "neoverse-n1"', 'name = "typo"', 1), "m.toml")
    monkeypatch.setenv("SCHEDULER_MODELS_PATH", str(tmp_path))
    with pytest.raises(ModelError, match=r"variants\.llvm\.classes\.4c3_MM"):
        load_model("typo-llvm")


def test_variant_with_unknown_core_key_is_rejected(tmp_path, monkeypatch):
    text = edited("[variants.llvm.core]\n", '[variants.llvm.core]\nisue_width = { value = 2, source = "x" }\n')
    write(tmp_path, text.replace('name = "neoverse-n1"', 'name = "typo"', 1), "m.toml")
    monkeypatch.setenv("SCHEDULER_MODELS_PATH", str(tmp_path))
    with pytest.raises(ModelError, match=r"isue_width"):
        load_model("typo-llvm")


def test_variant_core_override_applies(tmp_path, monkeypatch):
    text = edited("[variants.llvm.core]\n", '[variants.llvm.core]\nissue_width = { value = 2, source = "x" }\n')
    write(tmp_path, text.replace('name = "neoverse-n1"', 'name = "narrow"', 1), "m.toml")
    monkeypatch.setenv("SCHEDULER_MODELS_PATH", str(tmp_path))
    assert load_model("narrow").issue_width == 4
    assert load_model("narrow-llvm").issue_width == 2
    assert load_model("narrow-llvm").core.decode_width.value == 4


# ------------------------------------------------------------------ the N1 model


def test_n1_loads_and_covers_every_form(n1):
    assert n1.name == "neoverse-n1"
    assert n1.path == N1_FILE
    assert n1.coverage() == []
    # the opclass every table form names is mapped (coverage() checks exactly this)
    assert {oc for f in TABLE for oc in f.opclasses} <= set(n1.spec.opclasses)


def test_n1_structure(n1):
    # MUL: the multiplier behind the M pipe's issue port (docs/model.md section 8)
    assert n1.pipes == {"B": 1, "S": 2, "M": 1, "MUL": 1, "L": 2, "D": 2, "V0": 1, "V1": 1}
    assert n1.expand("I") == ("S", "M")
    assert n1.expand("V") == ("V0", "V1")
    assert n1.expand("M") == ("M",)
    core = n1.core
    assert (n1.issue_width, core.decode_width.value, core.dispatch_width.value,
            core.window.value, core.retire_width.value) == (4, 4, 8, 128, 8)
    assert n1.dispatch_to_issue == 2
    assert n1.spec.forwarding == []
    # one issue queue per pipe ([A76]); D has none
    assert n1.queue_sizes == {"B": 16, "S": 16, "M": 16, "L": 12, "V0": 16, "V1": 16}
    assert (n1.steering, n1.steering_avoid) == ("least", frozenset({"M"}))


def test_llvm_variant_is_llvms_model(n1, n1_llvm):
    """`neoverse-n1-llvm`: MUL and UMULH keep the whole M pipe busy 3 cycles, pipes are picked at
    issue (no queues) one cycle after dispatch; everything else as the default."""
    assert n1_llvm.name == "neoverse-n1-llvm"
    assert n1_llvm.path == n1.path
    a, b = n1.spec, n1_llvm.spec
    assert a.pipes == b.pipes and a.groups == b.groups
    assert a.core.model_copy(update={"dispatch_to_issue": None}) == b.core.model_copy(
        update={"dispatch_to_issue": None})
    assert (n1.dispatch_to_issue, n1_llvm.dispatch_to_issue) == (2, 1)
    assert a.opclasses == b.opclasses and a.forwarding == b.forwarding
    assert set(a.classes) == set(b.classes)
    differing = {c for c in a.classes if a.classes[c] != b.classes[c]}
    assert differing == {"2c_M_mul", "4c3_M", "5c4_M"}
    for c, busy in (("4c3_M", 3), ("5c4_M", 3), ("2c_M_mul", 1)):
        assert [(u.pipe, u.busy, u.holds) for u in b.classes[c].uops] == [("M", busy, [])]
    assert (n1_llvm.steering, n1_llvm.queue_sizes) == ("issue", {})
    assert n1_llvm.coverage() == []


def test_available_models_lists_both(monkeypatch):
    monkeypatch.delenv("SCHEDULER_MODELS_PATH", raising=False)
    models = available_models()
    assert models["neoverse-n1"] == (N1_FILE, None)
    assert models["neoverse-n1-llvm"] == (N1_FILE, "llvm")


def test_default_model_is_n1():
    assert load_model().name == "neoverse-n1"


def test_unknown_model_name_lists_available():
    with pytest.raises(ModelError) as exc:
        load_model("cortex-z9")
    msg = str(exc.value)
    assert "cortex-z9" in msg
    assert "neoverse-n1" in msg and "neoverse-n1-llvm" in msg


def test_model_by_path(tmp_path):
    path = write(tmp_path, N1_TEXT, "copy.toml")
    m = load_model(str(path))
    assert m.name == "neoverse-n1" and m.path == path
    assert m.coverage() == []


# ------------------------------------------------------------------ facts are cited

TAG = re.compile(r"\[([A-Z][A-Z0-9]+)\]")


def _all_sources(spec):
    yield from ((f"classes.{c}", x.source) for c, x in spec.classes.items())
    yield from ((f"pipes.{p}", x.source) for p, x in spec.pipes.items())
    yield from ((f"groups.{g}", x.source) for g, x in spec.groups.items())
    yield from ((f"core.{k}", getattr(spec.core, k).source) for k in type(spec.core).model_fields
                if getattr(spec.core, k) is not None)
    yield from ((f"forwarding.{i}", f.source) for i, f in enumerate(spec.forwarding))
    yield from ((f"queues.{q}", x.source) for q, x in spec.queues.items())
    if spec.steering is not None:
        yield "steering", spec.steering.source
    for v, vs in spec.variants.items():
        yield from ((f"variants.{v}.classes.{c}", x.source) for c, x in vs.classes.items())
        yield from ((f"variants.{v}.core.{k}", x.source) for k, x in vs.core.items())


def test_every_fact_has_a_source(n1):
    sources = list(_all_sources(n1.spec))
    assert len(sources) >= len(n1.spec.classes) + len(n1.spec.pipes) + 5
    for where, src in sources:
        assert src.strip(), f"{where} has an empty source"


def test_every_source_cites_a_known_reference_or_says_assumption(n1):
    known = set(n1.spec.sources)
    assert known == {"BLOG", "SO77101078", "A76", "G2", "MCA19", "SWOG", "LLVM"}
    for where, src in _all_sources(n1.spec):
        tags = set(TAG.findall(src))
        assert tags <= known, f"{where} cites unknown {tags - known}"
        assert tags or src.startswith("assumption"), f"{where}: '{src}' cites nothing"


def test_every_class_is_used_by_an_opclass(n1):
    used = set()
    for target in n1.spec.opclasses.values():
        used |= {target} if isinstance(target, str) else {target.class_, *(w.class_ for w in target.when)}
    assert set(n1.spec.classes) == used


# ------------------------------------------------------------------ timing


def timing(model, text):
    return model.timing(one(text))


def test_mul_and_umulh(n1, n1_llvm):
    # one micro-op on M (its issue port, 1 cycle) holding the multiplier 3 (MUL) / 4 (UMULH)
    # cycles: two reservations, one micro-op
    t = timing(n1, "mul x1, x2, x3")
    assert (t.cls, t.latency, t.uops, t.n_uops) == ("4c3_M", 4, ((("M",), 1), (("MUL",), 3)), 1)
    assert t.issue_uops == ((("M",), 1, ((("MUL",), 3),)),)
    t = timing(n1, "umulh x1, x2, x3")
    assert (t.cls, t.latency, t.uops, t.n_uops) == ("5c4_M", 5, ((("M",), 1), (("MUL",), 4)), 1)
    assert timing(n1_llvm, "mul x1, x2, x3").uops == ((("M",), 3),)
    assert timing(n1_llvm, "umulh x1, x2, x3").uops == ((("M",), 3),)
    # 32-bit and long multiplies: 2c M, the multiplier for one cycle
    assert timing(n1, "umull x1, w2, w3").uops == ((("M",), 1), (("MUL",), 1))
    assert timing(n1, "umull x1, w2, w3").latency == 2
    assert timing(n1_llvm, "umull x1, w2, w3").uops == ((("M",), 1),)


@pytest.mark.parametrize("text,cls,lat,uops", [
    ("adds x1, x2, x3", "1c_I", 1, ((("S", "M"), 1),)),
    ("adds x1, x2, x3, lsl #3", "1c_I", 1, ((("S", "M"), 1),)),
    ("adds x1, x2, x3, lsl #4", "1c_I", 1, ((("S", "M"), 1),)),  # max_amount = 4 is inclusive
    ("adds x1, x2, x3, lsl #5", "2c_M", 2, ((("M",), 1),)),
    ("adds x1, x2, x3, lsr #1", "2c_M", 2, ((("M",), 1),)),
    ("add x1, x2, x3, asr #2", "2c_M", 2, ((("M",), 1),)),
    ("adcs x1, x2, x3", "1c_I", 1, ((("S", "M"), 1),)),
    ("eor x1, x2, x3, lsr #7", "1c_I", 1, ((("S", "M"), 1),)),  # int_logic_shifted: always 1c
])
def test_shifted_operand_classes(n1, text, cls, lat, uops):
    t = timing(n1, text)
    assert (t.cls, t.latency, t.uops) == (cls, lat, uops)


def test_ldp_post_index(n1):
    ins = one("ldp x4, x5, [x1], #16")
    t = n1.timing(ins)
    assert t.cls == "4c_2L_wb"
    assert (t.latency, t.writeback_latency, t.n_uops) == (4, 1, 3)
    # 2 L micro-ops fit the 2 L pipes: they stay two reservations of 1 cycle
    assert t.uops == ((("L",), 1), (("L",), 1), (("S", "M"), 1))
    add_x1 = one("add x6, x1, x1")
    add_x4 = one("add x6, x4, x4")
    add_x5 = one("add x6, x5, x5")
    assert n1.latency(ins, add_x1, "x1") == 1  # the base update
    assert n1.latency(ins, add_x4, "x4") == 4
    assert n1.latency(ins, add_x5, "x5") == 4


def test_ldr_without_writeback_uses_load_latency_for_everything(n1):
    ins = one("ldr x4, [x1, #8]")
    t = n1.timing(ins)
    assert (t.cls, t.latency, t.writeback_latency, t.n_uops) == ("4c_L", 4, 4, 1)
    assert n1.latency(ins, one("add x6, x4, x4"), "x4") == 4


def test_vector_classes(n1):
    t = timing(n1, "umlal v0.2d, v1.2s, v2.2s")
    assert (t.cls, t.latency, t.uops, t.n_uops) == ("4c_V0", 4, ((("V0",), 1),), 1)
    t = timing(n1, "umull v3.2d, v4.2s, v5.2s")
    assert (t.cls, t.latency, t.uops) == ("4c_V0", 4, ((("V0",), 1),))
    t = timing(n1, "add v0.2d, v1.2d, v2.2d")
    assert (t.cls, t.latency, t.uops) == ("2c_V", 2, ((("V0", "V1"), 1),))
    t = timing(n1, "usra v0.2d, v1.2d, #32")
    assert (t.cls, t.latency, t.uops) == ("4c_V1", 4, ((("V1",), 1),))


def test_mul_4s_expands_to_one_v0_reservation_of_two_cycles(n1):
    # 5c_2V0: two V0 micro-ops on one V0 pipe follow each other
    t = timing(n1, "mul v0.4s, v1.4s, v2.4s")
    assert (t.cls, t.latency, t.n_uops) == ("5c_2V0", 5, 2)
    assert t.uops == ((("V0",), 2),)


def test_stp_q_four_l_uops_become_two_reservations_of_two_cycles(n1):
    # 3c_4L_2V: 4 L micro-ops on 2 L pipes -> 2 reservations of busy 2; the 2 V micro-ops fit V0+V1
    t = timing(n1, "stp q0, q1, [x0]")
    assert (t.cls, t.latency, t.n_uops) == ("3c_4L_2V", 3, 6)
    assert sorted(t.uops) == sorted(((("L",), 2), (("L",), 2), (("V0", "V1"), 1), (("V0", "V1"), 1)))
    t = timing(n1, "stp q0, q1, [x0, #32]!")
    assert (t.cls, t.latency, t.writeback_latency, t.n_uops) == ("3c_4L_2V_wb", 3, 1, 7)
    assert sorted(t.uops) == sorted(((("L",), 2), (("L",), 2), (("V0", "V1"), 1), (("V0", "V1"), 1),
                                     (("S", "M"), 1)))


@pytest.mark.parametrize("text,n_uops", [
    ("add x1, x2, x3", 1),
    ("str x1, [x0]", 2),          # L + D
    ("stp x1, x2, [x0]", 3),      # 2L + D
    ("stp x1, x2, [x0, #-16]!", 4),  # 2L + D + I
    ("ldp x1, x2, [x0]", 2),
    ("ldr q0, [x0, #16]", 2),     # 5c_I_L
    ("str q0, [x0]", 4),          # 2c_2L_2V
    ("ins v0.d[1], x1", 2),       # 5c_M_V
    ("extr x1, x2, x3, #17", 2),  # 3c_I_M
])
def test_n_uops(n1, text, n_uops):
    assert timing(n1, text).n_uops == n_uops


def test_timing_is_cached_per_class(n1):
    a = timing(n1, "add x1, x2, x3")
    b = timing(n1, "adcs x7, x8, x9")
    assert a is b  # same class 1c_I: one Timing object


# ------------------------------------------------------------------ forwarding


FWD = '{ producer = "4c_V0", consumer = "4c_V0", operand = "%s", latency = 1, source = "test" }'


@pytest.fixture
def fwd_model(tmp_path):
    def make(operand: str):
        text = edited("forwarding = []", f"forwarding = [{FWD % operand}]")
        return load_model(str(write(tmp_path, text, f"fwd_{operand}.toml")))
    return make


def test_forwarding_to_the_accumulator(fwd_model, n1):
    m = fwd_model("acc")
    producer = one("umlal v0.2d, v1.2s, v2.2s")
    acc_use = one("umlal v0.2d, v3.2s, v4.2s")       # v0 is the read-write accumulator
    src_use = one("umlal v5.2d, v0.2s, v6.2s")       # v0 is a multiplicand
    assert m.latency(producer, acc_use, "v0") == 1
    assert m.latency(producer, src_use, "v0") == 4
    # other consumer classes are not covered by the entry
    assert m.latency(producer, one("add v7.2d, v0.2d, v0.2d"), "v0") == 4
    # without the entry (the shipped model) the accumulator waits the full latency
    assert n1.latency(producer, acc_use, "v0") == 4


def test_forwarding_any_operand(fwd_model):
    m = fwd_model("any")
    producer = one("umull v0.2d, v1.2s, v2.2s")
    assert m.latency(producer, one("umlal v0.2d, v3.2s, v4.2s"), "v0") == 1
    assert m.latency(producer, one("umlal v5.2d, v0.2s, v6.2s"), "v0") == 1
    assert m.latency(producer, one("add v7.2d, v0.2d, v0.2d"), "v0") == 4


def test_forwarding_reaches_the_evaluator(fwd_model):
    from scheduler.machine.evaluate import inorder, prepare

    m = fwd_model("acc")
    instrs = parse_text("umlal v0.2d, v1.2s, v2.2s\numlal v0.2d, v3.2s, v4.2s\n").instructions
    bt = prepare(instrs, m)
    assert bt.raw[1] == [(0, 1)]
    # issue 0 and 1 (V0 is free again after one cycle); completion 1 + 4
    r = inorder(bt, [0, 1], m)
    assert (r.issue, r.cycles) == ([0, 1], 5)


def test_forwarding_not_applied_when_the_register_is_also_a_multiplicand(fwd_model):
    m = fwd_model("acc")
    producer = one("umlal v0.2d, v1.2s, v2.2s")
    assert m.latency(producer, one("umlal v0.2d, v0.2s, v3.2s"), "v0") == 4


# ------------------------------------------------------------------ search path


def test_models_path_env_adds_a_directory(tmp_path, monkeypatch):
    text = N1_TEXT.replace('name = "neoverse-n1"', 'name = "test-core"', 1)
    text = edited('issue_width = { value = 4,', 'issue_width = { value = 3,', text=text)
    write(tmp_path, text, "test-core.toml")
    monkeypatch.setenv("SCHEDULER_MODELS_PATH", str(tmp_path))
    models = available_models()
    assert models["test-core"] == (tmp_path / "test-core.toml", None)
    assert models["test-core-llvm"] == (tmp_path / "test-core.toml", "llvm")
    assert "neoverse-n1" in models and "neoverse-n1-llvm" in models  # the built-in directory stays
    m = load_model("test-core")
    assert m.name == "test-core" and m.issue_width == 3
    assert load_model("test-core-llvm").timing(one("mul x1, x2, x3")).uops == ((("M",), 3),)
    with pytest.raises(ModelError, match="test-core"):  # listed among the available names
        load_model("nope")


def test_models_path_env_takes_precedence(tmp_path, monkeypatch):
    # a model of the same name earlier in the path wins
    text = edited('issue_width = { value = 4,', 'issue_width = { value = 2,')
    write(tmp_path, text, "override.toml")
    monkeypatch.setenv("SCHEDULER_MODELS_PATH", str(tmp_path))
    assert available_models()["neoverse-n1"][0] == tmp_path / "override.toml"
    assert load_model("neoverse-n1").issue_width == 2


def test_models_path_env_several_directories(tmp_path, monkeypatch):
    import os

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write(a, N1_TEXT.replace('name = "neoverse-n1"', 'name = "core-a"', 1), "a.toml")
    write(b, N1_TEXT.replace('name = "neoverse-n1"', 'name = "core-b"', 1), "b.toml")
    monkeypatch.setenv("SCHEDULER_MODELS_PATH", f"{a}{os.pathsep}{b}")
    assert {"core-a", "core-b", "core-a-llvm", "core-b-llvm", "neoverse-n1"} <= set(available_models())


def test_broken_model_on_the_path_is_reported(tmp_path, monkeypatch):
    path = write(tmp_path, edited("[classes.1c_I]\nlatency = 1", "[classes.1c_I]\nlatncy = 1"))
    monkeypatch.setenv("SCHEDULER_MODELS_PATH", str(tmp_path))
    broken: dict[str, str] = {}
    models = available_models(broken)
    assert "neoverse-n1" in models  # one broken file does not hide the others
    assert f"{path}: classes.1c_I.latncy" in broken[path.stem]
    with pytest.raises(ModelError, match=re.escape(f"{path}: classes.1c_I.latncy")):
        load_model(path.stem)


# ------------------------------------------------------------------ CLI


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_models_list(capsys, monkeypatch):
    monkeypatch.delenv("SCHEDULER_MODELS_PATH", raising=False)
    code, out, err = run(capsys, "models", "list")
    assert code == 0 and err == ""
    # a table fitted to COLUMNS: a header, a rule, then one row per model (descriptions wrap)
    names = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()][2:]
    assert len(names) == len(set(names))
    assert names.index("neoverse-n1") + 1 == names.index("neoverse-n1-llvm")  # a variant follows its model
    words = " ".join(out.split())
    assert "neoverse-n1.toml" in out
    assert "Arm Neoverse N1" in words  # the model's description
    assert "LLVM's N1 model as llvm-mca runs it" in words  # the variant's description


def test_cli_models_list_json(capsys, monkeypatch):
    monkeypatch.delenv("SCHEDULER_MODELS_PATH", raising=False)
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["neoverse-n1"] == {"file": str(N1_FILE), "variant": None}
    assert doc["neoverse-n1-llvm"] == {"file": str(N1_FILE), "variant": "llvm"}


def test_cli_models_show(capsys):
    code, out, _ = run(capsys, "models", "show", "neoverse-n1")
    assert code == 0
    assert out.startswith("neoverse-n1: Arm Neoverse N1")
    assert f"file: {N1_FILE}" in out
    assert "issue_width=4" in out and "window=128" in out
    assert "Sx2" in out and "I=S+M" in out
    line = next(x for x in out.splitlines() if x.strip().startswith("4c3_M"))
    assert re.match(r"4c3_M +4 +\S+ +\[BLOG\]", line.strip()), line  # class, latency, uops, source


def test_cli_models_show_llvm_variant(capsys):
    code, out, _ = run(capsys, "models", "show", "neoverse-n1-llvm")
    assert code == 0
    line = next(x for x in out.splitlines() if x.strip().startswith("4c3_M"))
    assert "M/3" in line


def test_cli_models_show_json(capsys):
    code, out, _ = run(capsys, "models", "show", "neoverse-n1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["name"] == "neoverse-n1"
    assert doc["core"]["issue_width"]["value"] == 4
    assert doc["classes"]["4c3_M"]["uops"] == [{"pipe": "M", "busy": 1, "holds": [{"pipe": "MUL", "busy": 3}]}]
    assert doc["classes"]["5c4_M"]["latency"] == 5
    assert doc["opclasses"]["int_mul64"] == "4c3_M"
    assert doc["queues"]["L"]["size"] == 12 and doc["steering"]["rule"] == "least"
    # the `when` refinement is dumped by alias (`class`, not `class_`)
    assert doc["opclasses"]["int_arith_shifted"]["class"] == "2c_M"
    assert doc["opclasses"]["int_arith_shifted"]["when"][0]["class"] == "1c_I"
    assert set(doc["variants"]) == {"llvm"}


def test_cli_models_check(capsys):
    code, out, _ = run(capsys, "models", "check", "neoverse-n1")
    assert code == 0
    assert f"{len(TABLE)} instruction forms" in out
    assert "0 without a class" in out
    assert "missing" not in out


def test_cli_models_check_default_and_variant(capsys):
    assert run(capsys, "models", "check")[0] == 0
    code, out, _ = run(capsys, "models", "check", "neoverse-n1-llvm", "--json")
    assert code == 0
    assert json.loads(out) == {"model": "neoverse-n1-llvm", "forms": len(TABLE), "missing": []}


def test_cli_models_check_incomplete_model_fails(tmp_path, capsys):
    # drop the 64-bit divide: udiv and sdiv (X forms) lose their class
    path = write(tmp_path, edited('int_div64 = "20c5_M"\n', ""), "nodiv.toml")
    code, out, _ = run(capsys, "models", "check", str(path))
    assert code == 1
    n = sum(1 for f in TABLE for oc in f.opclasses if oc == "int_div64")
    assert n == 2
    assert f"{n} without a class" in out
    assert out.count("missing:") == n and "udiv" in out and "sdiv" in out


@pytest.mark.parametrize("action", ["show", "check"])
def test_cli_unknown_model_exits_2(capsys, action):
    code, out, err = run(capsys, "models", action, "cortex-z9")
    assert code == 2
    assert out == ""
    assert "unknown model 'cortex-z9'" in err
    assert "neoverse-n1" in err and "neoverse-n1-llvm" in err


def test_cli_broken_model_exits_2_naming_file_and_key(tmp_path, capsys):
    path = write(tmp_path, edited('int_alu = "1c_I"', 'int_alu = "1c_Q"'))
    code, _, err = run(capsys, "models", "show", str(path))
    assert code == 2
    assert f"{path}: opclasses.int_alu: unknown class '1c_Q'" in err
