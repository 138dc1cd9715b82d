"""The parser against GNU as on what issue 25 found: `.err`/`.error`/`.fail`/`.warning`,
`.unreq` of something that is not an alias, empty `@outputs`/`@noalias` annotations, and
address offsets written without `#` (`[x1, OFF - 16]`).

Each case states what aarch64-linux-gnu-as 2.40 does; where it is installed the test also
runs it, so a case cannot drift from the assembler it describes.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from scheduler.cli import main
from scheduler.core.errors import AsmError
from scheduler.frontend.parse import parse_text

GNU_AS = shutil.which("aarch64-linux-gnu-as")


def gnu_accepts(tmp_path, text: str) -> bool:
    src = tmp_path / "g.s"
    src.write_text(text)
    assert GNU_AS is not None
    return subprocess.run([GNU_AS, "-o", str(tmp_path / "g.o"), str(src)], capture_output=True).returncode == 0


# (text, GNU as accepts it, the line of the error, words of our message)
DIRECTIVES = [
    (".unreq x99\nadd x0, x0, #1\n", False, 1, "unknown register alias 'x99'"),
    (".unreq foo\n", False, 1, "unknown register alias 'foo'"),
    ("foo .req x1\n.unreq foo\nadd x0, x0, #1\n.unreq foo\n", False, 4, "unknown register alias 'foo'"),
    (".unreq\n", False, 1, "invalid syntax for '.unreq'"),
    (".unreq x1\nadd x0, x0, #1\n", True, 0, ""),  # a register name: GNU as warns only
    ("foo .req x1\n.unreq FOO\n", True, 0, ""),
    ("add x0, x0, #1\n.err\n", False, 2, "'.err' encountered"),
    ('.error "stop here"\n', False, 1, "'.error': stop here"),
    (".error\n", False, 1, "'.error' directive invoked"),
    (".error stop\n", False, 1, "'.error' argument must be a string"),
    (".fail 0\n", False, 1, "'.fail 0' encountered"),
    (".fail 499\n", False, 1, "'.fail 499' encountered"),
    (".fail 500\nadd x0, x0, #1\n", True, 0, ""),  # >= 500: a warning
    ('.warning "careful"\nadd x0, x0, #1\n', True, 0, ""),
    (".warning\n", True, 0, ""),
    ('.print "hello"\n', True, 0, ""),
    (".if 0\n.err\n.error \"no\"\n.endif\nadd x0, x0, #1\n", True, 0, ""),  # skipped by .if
    ('.macro m\n.error "in m"\n.endm\nadd x0, x0, #1\n', True, 0, ""),  # never expanded
    ('.macro m\n.error "in m"\n.endm\nadd x0, x0, #1\nm\n', False, 2, "'.error': in m"),  # the body line
    (".rept 2\n.err\n.endr\n", False, 1, "'.err' encountered"),  # GNU as: line 2 (we locate expansions
    # at their opening line)
]


@pytest.mark.parametrize("text, accepted, line, message", DIRECTIVES)
def test_error_directives_and_unreq_as_gnu_as(tmp_path, capsys, text, accepted, line, message):
    if GNU_AS:
        assert gnu_accepts(tmp_path, text) == accepted, "the case no longer describes GNU as"
    path = tmp_path / "k.s"
    path.write_text(text)
    code = main(["parse", str(path)])
    err = capsys.readouterr().err
    if accepted:
        assert code == 0, err
    else:
        assert code == 2
        assert err.startswith(f"{path}:{line}: ") and message in err, err


@pytest.mark.parametrize("comment, message", [
    ("// @outputs", "@outputs names no register; for no register write '// @outputs none'"),
    ("// @outputs:", "@outputs names no register"),
    ("/* @outputs , */", "@outputs names no register"),
    ("// @noalias", "@noalias names no register"),
])
def test_empty_annotation_is_a_located_error(comment, message):
    with pytest.raises(AsmError) as e:
        parse_text(f"mul x0, x1, x2\n{comment}\nret\n", "k.s")
    assert str(e.value).startswith(f"k.s:2: {message}")


def test_outputs_none_is_how_no_register_is_written():
    prog = parse_text("mul x0, x1, x2\n// @outputs none\n")
    assert prog.outputs_declared and prog.outputs == ()


def test_verify_with_an_empty_outputs_line_does_not_call_different_kernels_equal(tmp_path, capsys):
    """The report: `// @outputs` with nothing after it meant 'no register', so `verify` called
    `mul x0, x1, x2` and `mul x0, x1, x1` equivalent (exit 0). Now it is exit 2 with the line."""
    a, b = tmp_path / "a.s", tmp_path / "b.s"
    a.write_text("// @outputs\nmul x0, x1, x2\n")
    b.write_text("mul x0, x1, x1\n")
    assert main(["verify", str(a), str(b)]) == 2
    assert capsys.readouterr().err.startswith(f"{a}:1: @outputs names no register")
    a.write_text("// @outputs x0\nmul x0, x1, x2\n")
    assert main(["verify", str(a), str(b)]) == 1
    capsys.readouterr()


OFFSETS = ["[x1, OFF - 16]", "[x1, #OFF - 16]", "[x1, (OFF-16)]", "[x1, #(OFF-16)]", "[x1,OFF-16]",
           "[x1, OFF]", "[x1, -16+OFF]", "[x1, OFF*2]", "[x1, OFF >> 1]", "[x1, (OFF)-16]", "[x1, ~OFF]",
           "[x1, -OFF]", "[x1, +16]", "[x1, 8]", "[x1, OFF-16]!", "[x1], OFF-16", "[x1], OFF", "[x1, IDX]",
           "[x1, IDX, lsl #3]", "[x1, w2, sxtw #3]"]


@pytest.mark.parametrize("address", OFFSETS)
def test_address_offsets_without_hash_read_as_gnu_as_reads_them(tmp_path, address):
    """`[x1, OFF - 16]` (a symbol expression without `#`) was refused; GNU as reads it as an
    immediate. The instruction we read, printed canonically, must assemble to GNU as's bytes."""
    prelude = ".equ OFF, 32\nIDX .req x2\n"
    text = f"{prelude}ldr x0, {address}\n"
    (ins,) = parse_text(text).instructions
    assert ins.text == f"ldr x0, {address}"
    if not GNU_AS:
        pytest.skip("needs aarch64-linux-gnu-as to compare encodings")
    from scheduler.frontend.assemble import assemble_text

    gnu = ("gnu-as", GNU_AS)
    expected = assemble_text(text, assembler=gnu)
    assert assemble_text(prelude + str(ins), assembler=gnu) == expected, str(ins)  # the text we write
    mem = ins.operands[-1]
    if mem.index is None:  # the offset the DAG and the simulator use
        numeric = {"off": f"[x1, #{mem.offset}]", "pre": f"[x1, #{mem.offset}]!", "post": f"[x1], #{mem.offset}"}
        assert assemble_text(f"ldr x0, {numeric[mem.mode]}", assembler=gnu) == expected


@pytest.mark.parametrize("address", ["[x1, OFF - 16, lsl #0]", "[x1, UNDEFINED - 16]", "[x1, x2 - 16]"])
def test_address_offsets_gnu_as_refuses_are_refused(tmp_path, address):
    text = f".equ OFF, 32\nldr x0, {address}\n"
    if GNU_AS:
        assert not gnu_accepts(tmp_path, text)
    with pytest.raises(AsmError, match="^<input>:2: "):
        parse_text(text)


def test_pair_and_store_offsets_without_hash():
    prog = parse_text(".equ OFF, 32\nldp x0, x2, [x1, OFF - 16]\nstp x3, x4, [sp, OFF*2]!\nstr x5, [x1], OFF\n")
    assert [(i.mem.kind, i.mem.base, i.mem.offset) for i in prog.instructions] == [
        ("load", "x1", 16), ("store", "sp", 64), ("store", "x1", 0)]
    assert [i.operands[-1].mode for i in prog.instructions] == ["off", "pre", "post"]
