"""`prove`: reorderings and renamings are proved for all inputs; broken ones are not."""

from __future__ import annotations

import random

import pytest

from scheduler.checks.prove import prove
from scheduler.checks.verify import straight_line, verify
from scheduler.frontend.dag import build_dag, random_topological_order
from scheduler.frontend.parse import parse_file, parse_text
from tests.support import ROOT

EXAMPLES = sorted(p for p in (ROOT / "inputs").iterdir() if p.suffix in (".s", ".S"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_random_reorderings_of_examples_are_proved(path):
    code = straight_line(parse_file(path))
    order = random_topological_order(build_dag(code), random.Random(1))
    res = prove(code, [code[k] for k in order])
    assert res.status == "proved", res.reason
    assert res.certificate["inst_map"] == [k + 1 for k in order] or sorted(res.certificate["inst_map"]) == \
        list(range(1, len(code) + 1))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_dependency_breaking_swap_is_not_proved(path):
    code = straight_line(parse_file(path))
    g = build_dag(code)
    u, v = next((u, v) for u, v in sorted(g.edges) if any(d.kind == "raw" and d.resource != "mem"
                                                          for d in g.edges[u, v]["deps"]))
    broken = list(code)
    broken.insert(u, broken.pop(v))
    res = prove(code, broken, timeout=20)
    assert res.status == "refuted", res.reason
    assert res.counterexample is not None  # confirmed by the simulator (smt.replay)


def test_renamed_reordering_is_proved():
    a = parse_text("mul x8, x2, x3\nadd x4, x8, x8\nmul x8, x5, x6\nadd x7, x8, x8\n").instructions
    b = parse_text("mul x9, x5, x6\nmul x8, x2, x3\nadd x7, x9, x9\nadd x4, x8, x8\n").instructions
    assert prove(a, b, outputs=["x4", "x7"]).status == "proved"
    # if x8 is an output, its final value must be the second product in x8: not the case
    assert prove(a, b, outputs=["x4", "x7", "x8"]).status == "refuted"
    assert prove(a, b, outputs=["x4", "x7", "x8"], symbolic=False).status == "unknown"


def test_rare_input_difference_escapes_random_testing_but_not_the_prover():
    """Both compute x5 = (mem[x0] == 0x1234 ? x2 : x3) ... except the candidate compares
    against 0x1235: they differ only when the loaded word is 0x1234 or 0x1235."""
    a = parse_text("ldr x4, [x0]\nmov x6, #0x1234\ncmp x4, x6\ncsel x5, x2, x3, eq\n").instructions
    b = parse_text("ldr x4, [x0]\nmov x6, #0x1235\ncmp x4, x6\ncsel x5, x2, x3, eq\n").instructions
    assert verify(a, b, trials=200, outputs=["x5"]).equivalent  # random testing misses it
    res = prove(a, b, outputs=["x5"])
    assert res.status == "refuted"  # the prover finds the input
    words = {int.from_bytes(b, "little") for _, b in res.counterexample.memory}
    assert words & {0x1234, 0x1235}


def test_different_length_is_unknown():
    a = parse_text("mov x0, #1\n").instructions
    b = parse_text("mov x0, #1\nmov x1, #2\n").instructions
    assert prove(a, b).status == "refuted"
    assert prove(a, b, symbolic=False).status == "unknown"


def test_one_register_read_under_two_spellings_is_renamed_consistently():
    """`add x3, x1, w1, uxtw` reads x1 twice; renaming only one spelling must not be proved."""
    a = parse_text("mov x1, #5\nmov x2, #7\nadd x3, x1, w1, uxtw\n").instructions
    b = parse_text("mov x1, #5\nmov x2, #7\nadd x3, x2, w1, uxtw\n").instructions
    assert prove(a, b, symbolic=False).status == "unknown"
    assert prove(a, b).status == "refuted"
    c = parse_text("mov x1, #5\nmov x2, #7\nldr x3, [x1, w1, uxtw]\n").instructions
    d = parse_text("mov x1, #5\nmov x2, #7\nldr x3, [x2, w1, uxtw]\n").instructions
    assert prove(c, d, symbolic=False).status == "unknown"
    assert prove(c, d).status == "refuted"


def test_equal_values_renamed_crosswise_still_pair_up():
    """Fuzz case table-kernel-0599: two instructions computing the same value into w5 and w15,
    renamed crosswise by the optimizer. The k-th-to-k-th pairing crosses them; pairing by
    destination as well proves it."""
    from scheduler.checks.prove import certificate_proof
    from scheduler.frontend.parse import parse_text

    orig = parse_text("sxth w5, wzr\nadd x7, x1, x2\nsxth w15, wzr\n").blocks()[0].instructions
    cand = parse_text("sxth w15, wzr\nadd x7, x1, x2\nsxth w5, wzr\n").blocks()[0].instructions
    assert certificate_proof(orig, cand).status == "proved"
    wrong = parse_text("sxth w15, wzr\nadd x7, x1, x2\nsxth w5, w1\n").blocks()[0].instructions
    assert certificate_proof(orig, wrong).status != "proved"
