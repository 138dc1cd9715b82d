"""Messages name the real problem in the user's own text (issue 28): a bad register is a
bad register, the line is quoted as written (before cpp), an error in a macro body points
at the body line, and a bad option value is one line."""

from __future__ import annotations

import shutil

import pytest

from scheduler.cli import main
from scheduler.core.errors import AsmError
from scheduler.frontend.parse import parse_file, parse_text

HAVE_CPP = shutil.which("gcc") is not None or shutil.which("cpp") is not None


@pytest.mark.parametrize("line, reg", [("add x5, x3, x32", "x32"), ("add w1, w2, w31", "w31"),
                                       ("add v1.2d, v2.2d, v40.2d", "v40")])
def test_bad_register_is_named(line, reg):
    with pytest.raises(AsmError) as e:
        parse_text(f"\t{line}\n", "k.s")
    assert e.value.message.startswith(f"bad register '{reg}' in '{line}'")
    assert "unsupported instruction" not in e.value.message


def test_register_like_symbol_is_not_a_bad_register():
    with pytest.raises(AsmError) as e:
        parse_text("\tfoo x1, x99\n", "k.s")
    assert e.value.message.startswith("unsupported instruction 'foo x1, x99'")


@pytest.mark.skipif(not HAVE_CPP, reason="no C preprocessor")
def test_message_quotes_the_line_as_written(tmp_path):
    path = tmp_path / "k.S"
    path.write_text("#define a0 x3\n#define b1 x8\n\tmul x1, a0, b1\n\tumulhh r2, a0, b1  // oops\n")
    with pytest.raises(AsmError) as e:
        parse_file(path)
    assert str(e.value) == f"{path}:4: unsupported instruction 'umulhh r2, a0, b1'"


MACRO = """\
.macro STEP d, s
\tadd \\d, \\d, \\s
\tumulhh \\d, \\d, \\s
.endm
\tmov x1, #1
\tSTEP x1, x2
"""


def test_error_in_macro_body_points_at_the_body_line():
    with pytest.raises(AsmError) as e:
        parse_text(MACRO, "k.s")
    assert str(e.value) == "k.s:3: unsupported instruction 'umulhh x1, x1, x2' (in macro 'step' called at k.s:6)"


def test_nested_macro_error_names_the_inner_body():
    text = MACRO + ".macro TWICE d\n\tSTEP \\d, \\d\n.endm\n\tTWICE x4\n"
    text = text.replace("\tSTEP x1, x2\n", "")
    with pytest.raises(AsmError) as e:
        parse_text(text, "k.s")
    assert str(e.value).startswith("k.s:3: unsupported instruction 'umulhh x4, x4, x4' (in macro 'step'")


@pytest.mark.parametrize("argv", [["optimize", "k.s", "--time-limit", "0"],
                                  ["optimize", "k.s", "--time-limit", "nan"],
                                  ["optimize", "k.s", "--workers", "-1"],
                                  ["batch", "d", "--time-limit", "x"]])
def test_bad_value_is_one_line(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err
    assert "argument" in err


def test_missing_argument_still_shows_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["verify", "a.s"])
    assert e.value.code == 2
    assert "usage:" in capsys.readouterr().err
