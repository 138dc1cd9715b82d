"""`compare` and the pairing match instructions by meaning (decoded operation and operand
values), not by text: `#80`, `#0x50` and `#(80 +0)` are the same immediate."""

from __future__ import annotations

from scheduler.checks.pairing import meaning, shape
from scheduler.checks.prove import certificate_proof
from scheduler.frontend.parse import parse_text
from scheduler.present.compare import compare, relate

A = """sub sp, sp, #80
stp x19, x20, [sp, #16]
mul x1, x2, x3
add x4, x5, #0x10
ldr x6, [x0, #8]
csel x7, x1, x4, cs
add sp, sp, #80
"""
B = """sub sp, sp, #(80 +0)
stp x19, x20, [sp, #(8*2)]
mul x1, x2, x3
add x4, x5, #16
ldr x6, [x0, #0x8]
csel x7, x1, x4, hs
add sp, sp, #0x50
"""
B_REORDERED = """sub sp, sp, #0x50
mul x1, x2, x3
stp x19, x20, [sp, #(8*2)]
ldr x6, [x0, #0x8]
add x4, x5, #16
csel x7, x1, x4, hs
add sp, sp, #(40 * 2)
"""


def code(text):
    return parse_text(text).instructions


def test_meaning_ignores_spelling_but_not_values():
    a, b = code(A), code(B)
    assert [meaning(i) for i in a] == [meaning(i) for i in b]
    assert meaning(code("sub sp, sp, #80\n")[0]) != meaning(code("sub sp, sp, #88\n")[0])
    assert meaning(code("add x1, x2, x3\n")[0]) != meaning(code("add x1, x2, x4\n")[0])
    assert shape(code("add x1, x2, x3\n")[0]) == shape(code("add x9, x8, x7\n")[0])
    assert shape(code("add x1, x2, x3\n")[0]) != shape(code("add w1, w2, w3\n")[0])


def test_relate_by_meaning():
    a, b, c = code(A), code(B), code(B_REORDERED)
    assert relate(a, b)[0] == "identical"
    rel, origin, _ = relate(a, c)
    assert rel == "reordering"
    assert [str(a[j]) for j in origin][:3] == ["sub sp, sp, #80", "mul x1, x2, x3", "stp x19, x20, [sp, #16]"]


def test_renamed_reordering_with_other_spelling():
    a = code("mov x1, #0x10\nadd x2, x1, #(4+4)\n")
    b = code("mov x9, #16\nadd x2, x9, #8\n")
    assert relate(a, b)[0] == "renamed reordering"


def test_compare_files(tmp_path):
    paths = []
    for name, text in (("a.s", A), ("b.s", B), ("c.s", B_REORDERED)):
        p = tmp_path / name
        p.write_text(text)
        paths.append(str(p))
    doc = compare(paths, mca=False)
    assert [f["relation"] for f in doc["files"]] == ["reference", "identical", "reordering"]
    assert not any("not the same kernel" in n for n in doc["notes"])


def test_prover_pairs_by_meaning():
    a, c = code(A), code(B_REORDERED)
    res = certificate_proof(a, c)
    # the pairing is found (by meaning); whatever the certificate checker says, it is
    # not "no one-to-one pairing"
    assert "no one-to-one pairing" not in res.reason


def test_certificate_check_compares_operand_values_not_spelling():
    """`#(80 +0)` and `#80` are the same operand for the certificate check too."""
    from scheduler.checks.prove import certificate_proof
    from scheduler.frontend.parse import parse_text

    a = parse_text("\tsub sp, sp, #80\n\tmul x1, x2, x3\n\tadd x4, x5, #(16 + 0)\n").instructions
    b = parse_text("\tmul x1, x2, x3\n\tsub sp, sp, #(80 +0)\n\tadd x4, x5, #0x10\n").instructions
    assert certificate_proof(a, b, set(), ["x0"]).status == "proved"


def test_a_renamed_reordering_must_keep_the_outputs(tmp_path, capsys):
    """compare uses the outputs rule: x0 is the result before `ret`, so moving it elsewhere is
    another kernel; a register nobody reads afterwards may move."""
    from scheduler.cli import main

    ref = tmp_path / "a.s"
    ref.write_text("\tmul x0, x2, x3\n\tadd x4, x5, #16\n\tret\n")
    moved_x0 = tmp_path / "b.s"
    moved_x0.write_text("\tadd x4, x5, #16\n\tmul x1, x2, x3\n\tret\n")
    moved_x4 = tmp_path / "c.s"
    moved_x4.write_text("\tadd x6, x5, #16\n\tmul x0, x2, x3\n\tret\n")
    assert main(["compare", str(ref), str(moved_x0), str(moved_x4), "--no-mca", "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    rel = [f["blocks"][0]["relation"] for f in doc["files"]]
    assert rel == ["reference", "different kernel", "renamed reordering"]
