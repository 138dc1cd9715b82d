"""Dependency DAG: typed register/flag edges and memory disambiguation."""

from __future__ import annotations

import pytest

from scheduler.frontend.dag import Dep, build_dag, is_valid_order
from scheduler.frontend.parse import parse_text


def dag_of(text: str, noalias=()):
    instrs = parse_text(text).instructions
    return build_dag(instrs, noalias)


def deps(g, u, v) -> set[tuple[str, str]]:
    return {(d.kind, d.resource) for d in g.edges[u, v]["deps"]} if g.has_edge(u, v) else set()


def test_register_raw_war_waw():
    g = dag_of("""
        mul x3, x1, x2
        add x4, x3, x1
        mov x1, #5
        mov x3, #7
    """)
    assert deps(g, 0, 1) == {("raw", "x3")}
    assert deps(g, 1, 2) == {("war", "x1")}
    assert ("war", "x1") in deps(g, 0, 2)
    assert deps(g, 0, 3) == {("waw", "x3")}
    assert ("war", "x3") in deps(g, 1, 3)


def test_flag_chain_edges():
    g = dag_of("""
        adds x0, x0, x4
        adcs x1, x1, x5
        adc x2, x2, xzr
        cmp x6, x7
    """)
    assert ("raw", "nzcv") in deps(g, 0, 1)
    assert ("raw", "nzcv") in deps(g, 1, 2)
    assert ("waw", "nzcv") in deps(g, 1, 3)
    assert ("war", "nzcv") in deps(g, 2, 3)
    assert all(d.category == "flags" for d in g.edges[0, 1]["deps"])


def test_w_write_is_full_register_write():
    g = dag_of("mov x3, #1\nmov w3, #2\nadd x4, x3, x3")
    assert deps(g, 0, 1) == {("waw", "x3")}
    assert deps(g, 1, 2) == {("raw", "x3")}
    assert not g.has_edge(0, 2)


def test_read_modify_write_vector():
    g = dag_of("umull v0.2d, v1.2s, v2.2s\numlal v0.2d, v3.2s, v4.2s\nusra v5.2d, v0.2d, #32")
    assert deps(g, 0, 1) == {("raw", "v0"), ("waw", "v0")}
    assert ("raw", "v0") in deps(g, 1, 2)


def test_disjoint_offsets_same_base_independent():
    g = dag_of("stp x2, x3, [x0]\nstp x4, x5, [x0, #16]\nldr x6, [x0, #32]")
    assert g.number_of_edges() == 0


def test_overlapping_offsets_ordered():
    g = dag_of("stp x2, x3, [x0]\nldr x6, [x0, #8]\nstr x7, [x0, #12]")
    assert deps(g, 0, 1) == {("raw", "mem")}
    assert ("war", "mem") in deps(g, 1, 2)
    assert ("waw", "mem") in deps(g, 0, 2)


def test_loads_never_depend_on_loads():
    g = dag_of("ldr x2, [x0]\nldr x3, [x0]\nldr x4, [x1]")
    assert g.number_of_edges() == 0


def test_different_bases_alias_unless_declared():
    text = "str x2, [x0]\nldr x3, [x1]"
    assert deps(dag_of(text), 0, 1) == {("raw", "mem")}
    assert not dag_of(text, noalias={"x0", "x1"}).has_edge(0, 1)
    # Only one of the two declared: still ordered.
    assert dag_of(text, noalias={"x0"}).has_edge(0, 1)


def test_noalias_annotation_in_file():
    prog = parse_text("// @noalias x0, x1\nstr x2, [x0]\nldr x3, [x1]")
    assert prog.noalias == {"x0", "x1"}
    assert not build_dag(prog.instructions, prog.noalias).has_edge(0, 1)


def test_stack_disjoint_from_incoming_buffers():
    g = dag_of("str x2, [sp, #8]\nldr x3, [x1]\nstr x4, [x0, #8]\nldr x5, [sp, #8]")
    assert not g.has_edge(0, 1)
    assert not g.has_edge(2, 3)
    assert deps(g, 0, 3) == {("raw", "mem")}


def test_pointer_arithmetic_is_tracked():
    # After `add x0, x0, #16`, [x0] is the old [x0, #16]: disjoint from [x0 (old)] but not from old +16.
    g = dag_of("str x2, [x0]\nadd x0, x0, #16\nldr x3, [x0]\nldr x4, [x0, #-16]")
    assert ("raw", "mem") not in deps(g, 0, 2)
    assert ("raw", "mem") in deps(g, 0, 3)


def test_writeback_is_tracked():
    g = dag_of("stp x2, x3, [x1], #16\nldp x4, x5, [x1]\nldp x6, x7, [x1, #-16]")
    assert ("raw", "x1") in deps(g, 0, 1)
    assert ("raw", "mem") not in deps(g, 0, 1)
    assert ("raw", "mem") in deps(g, 0, 2)


def test_loaded_pointer_is_unknown():
    g = dag_of("ldr x5, [x1]\nstr x2, [x5]\nldr x3, [x0]\nldr x4, [sp]")
    assert ("raw", "mem") in deps(g, 1, 2)
    assert ("raw", "mem") in deps(g, 1, 3)  # a loaded pointer may point into the stack


def test_register_offset_overlaps_everything_on_base():
    g = dag_of("str x2, [x0, x9, lsl #3]\nldr x3, [x0, #800]")
    assert ("raw", "mem") in deps(g, 0, 1)


@pytest.mark.parametrize("order,ok", [([0, 1, 2], True), ([1, 0, 2], True), ([0, 2, 1], True), ([2, 0, 1], False),
                                      ([0, 1], False)])
def test_is_valid_order(order, ok):
    g = dag_of("mov x1, #1\nmov x2, #2\nadd x3, x1, x1")
    assert is_valid_order(g, order) is ok
    assert Dep("raw", "x1") in g.edges[0, 2]["deps"]
