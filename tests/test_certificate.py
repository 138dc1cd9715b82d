"""Certificates: optimised blocks are proved dataflow-equivalent; tampering is caught."""

from __future__ import annotations

import copy

import pytest

from scheduler.certificate import block_certificate, check_block, hol_list
from scheduler.model import load_model
from scheduler.optimize import Options, live_out_of, optimize_block
from scheduler.parse import parse_text

MODEL = load_model("neoverse-n1")
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
    res = optimize_block(0, block.instructions, MODEL, opts, 3,
                         live_out=live_out_of(prog, block, frozenset()))
    cert = block_certificate(res, MODEL.name, opts.noalias, opts.reserve)
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
