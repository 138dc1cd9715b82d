"""The shared fixtures of conftest.py do what they say."""

from __future__ import annotations


def test_root_is_the_repository(root):
    assert (root / "pyproject.toml").is_file() and (root / "scheduler" / "cli.py").is_file()


def test_n1_is_the_default_model(n1):
    assert n1.name == "neoverse-n1"


def test_run_cli_returns_code_and_streams(run_cli, root):
    code, out, err = run_cli("parse", root / "inputs" / "mul_4x4.s")
    assert code == 0 and "block 0" in out and err == ""
    code, out, err = run_cli("parse", root / "no-such-file.s")
    assert code == 2 and "no-such-file.s" in err
