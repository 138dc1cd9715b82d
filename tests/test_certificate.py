"""Certificates: optimised blocks are proved dataflow-equivalent; tampering is caught."""

from __future__ import annotations

import copy

import pytest

from scheduler.checks.certificate import block_certificate, check_block, hol_list
from scheduler.frontend.parse import parse_text
from scheduler.search.optimize import Options, live_out_of, optimize_block
from tests.support import N1

KERNEL = """
    ldp x2, x3, [x1]
    ldp x4, x5, [x1, #16]
    mul x8, x2, x4
    umulh x9, x2, x4
    stp x8, x9, [x0]
    mul x8, x3, x5
    umulh x9, x3, x5
    adds x8, x8, x9
    adc x9, xzr, xzr
    stp x8, x9, [x0, #16]
    ret
"""


@pytest.fixture(scope="module")
def optimised():
    prog = parse_text(KERNEL)
    block = prog.blocks()[0]
    opts = Options(time_limit=3, workers=1, noalias=frozenset({"x0", "x1"}))
    res = optimize_block(0, block.instructions, N1, opts, 3,
                         live_out=live_out_of(prog, block, frozenset()))
    cert = block_certificate(res, N1.name, opts.noalias, opts.reserve)
    return block.instructions, res, cert


def test_optimised_block_is_proved(optimised):
    instrs, res, cert = optimised
    assert res.proved
    assert check_block(instrs, res.instructions_after, cert) == []
    assert sorted(cert["inst_map"]) == list(range(1, len(instrs) + 1))
    assert hol_list([5, 1, 2]) == "[5;1;2]"


def test_identity_certificate_proves_itself():
    instrs = parse_text(KERNEL).instructions[:-1]
    cert = {"inst_map": list(range(1, len(instrs) + 1)), "assumptions": {"no_alias": [], "outputs": None}}
    assert check_block(instrs, instrs, cert) == []


def test_dependency_breaking_swap_is_refuted():
    instrs = parse_text(KERNEL).instructions[:-1]
    # move `stp x8, x9, [x0]` (4th) before `umulh x9, ...` (3rd): it reads x9 before it is produced
    order = [0, 1, 2, 4, 3, 5, 6, 7, 8, 9]
    cand = [instrs[k] for k in order]
    cert = {"inst_map": [k + 1 for k in order], "assumptions": {"no_alias": ["x0", "x1"], "outputs": None}}
    problems = check_block(instrs, cand, cert)
    assert problems and "reads x9" in str(problems[0])


def test_tampered_inst_map_is_rejected(optimised):
    instrs, res, cert = optimised
    bad = copy.deepcopy(cert)
    bad["inst_map"][0], bad["inst_map"][1] = bad["inst_map"][1], bad["inst_map"][0]
    assert check_block(instrs, res.instructions_after, bad)
    bad2 = copy.deepcopy(cert)
    bad2["inst_map"][0] = bad2["inst_map"][1]  # not a permutation
    assert "permutation" in str(check_block(instrs, res.instructions_after, bad2)[0])


def test_tampered_register_map_is_rejected(optimised):
    instrs, res, cert = optimised
    bad = copy.deepcopy(cert)
    pos = next(i for i, ins in enumerate(res.instructions_after) if ins.mnemonic == "mul")
    bad["register_map"][pos] = {"read": {}, "write": {str(res.instructions_after[pos].operands[0]): "x17"}}
    assert check_block(instrs, res.instructions_after, bad)


def test_memory_order_of_aliasing_accesses_is_checked():
    instrs = parse_text("str x2, [x0]\nldr x3, [x1]\n").instructions
    swapped = [instrs[1], instrs[0]]
    cert = {"inst_map": [2, 1], "assumptions": {"no_alias": [], "outputs": None}}
    problems = check_block(instrs, swapped, cert)
    assert problems and "may alias" in str(problems[0])
    cert["assumptions"]["no_alias"] = ["x0", "x1"]
    assert check_block(instrs, swapped, cert) == []


def test_outputs_must_keep_their_registers():
    instrs = parse_text("mul x3, x1, x2\n").instructions
    renamed = parse_text("mul x4, x1, x2\n").instructions
    cert = {"inst_map": [1], "register_map": [{"read": {}, "write": {"x3": "x4"}}],
            "assumptions": {"no_alias": [], "outputs": ["x3"]}}
    problems = check_block(instrs, renamed, cert)
    assert problems and "output x3" in str(problems[0])
    cert["assumptions"]["outputs"] = []
    assert check_block(instrs, renamed, cert) == []


# ------------------------------------------------------------------------ CLI

def _cli(capsys, *argv):
    from scheduler.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_certificate_round_trip(tmp_path, capsys):
    from pathlib import Path

    src = Path(__file__).resolve().parent.parent / "inputs" / "sqr_4x4.s"
    out, cert = tmp_path / "o.s", tmp_path / "c.json"
    code, _, _ = _cli(capsys, "optimize", str(src), "-o", str(out), "--time-limit", "3", "--workers", "1",
                      "--certificate", str(cert))
    assert code == 0
    assert _cli(capsys, "check-certificate", str(src), str(out), str(cert))[0] == 0
    code, text, _ = _cli(capsys, "verify", "--prove", str(src), str(out))
    assert code == 0 and "proved equivalent" in text
    # tampering with the certificate is caught
    import json

    doc = json.loads(cert.read_text())
    im = doc["blocks"][0]["inst_map"]
    im[0], im[-1] = im[-1], im[0]
    cert.write_text(json.dumps(doc))
    code, text, _ = _cli(capsys, "check-certificate", str(src), str(out), str(cert))
    assert code == 1 and "violated" in text
    hol = tmp_path / "c.hol"
    assert _cli(capsys, "optimize", str(src), "-o", str(out), "--time-limit", "2", "--workers", "1",
                "--certificate", str(hol), "--certificate-format", "hol")[0] == 0
    assert hol.read_text().startswith("(* block 0 *) [") and ";" in hol.read_text()


def test_cli_prove_refutes_with_counterexample(tmp_path, capsys):
    a, b = tmp_path / "a.s", tmp_path / "b.s"
    a.write_text("mul x3, x1, x2\nadd x0, x3, x4\n")
    b.write_text("add x0, x3, x4\nmul x3, x1, x2\n")
    code, text, _ = _cli(capsys, "verify", "--prove", str(a), str(b))
    assert code == 1 and "NOT equivalent" in text and "x0 differs" in text


def test_cli_prove_rare_difference_is_refuted(tmp_path, capsys):
    a, b = tmp_path / "a.s", tmp_path / "b.s"
    a.write_text("ldr x4, [x0]\nmov x6, #0x1234\ncmp x4, x6\ncsel x5, x2, x3, eq\n// @outputs x5\n")
    b.write_text("ldr x4, [x0]\nmov x6, #0x1235\ncmp x4, x6\ncsel x5, x2, x3, eq\n")
    assert _cli(capsys, "verify", str(a), str(b))[0] == 0  # random testing misses the difference
    code, text, _ = _cli(capsys, "verify", "--prove", str(a), str(b))
    assert code == 1 and "NOT equivalent" in text  # the symbolic prover finds it (tests/test_symbolic.py)
