"""The README's first steps: a Python version and a venv, a quick start that leaves the checkout
clean, and a quick test subset whose `slow` marker is real."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from scheduler.cli import main
from tests.support import ROOT

README = (ROOT / "README.md").read_text()


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)


def test_python_version_and_venv_are_stated():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11" and "Python 3.11 or\nnewer" in README
    assert "python3 -m venv .venv" in README


def test_quick_start_writes_to_an_untracked_path(tmp_path, monkeypatch, capsys):
    first = _commands()[0]
    install, run = first.split(" && ")
    assert install == "python3 -m pip install -e ."
    argv = shlex.split(run)
    assert argv[:3] == ["scheduler", "optimize", "inputs/mul_4x4.s"] and argv[3] == "-o"
    out = Path(argv[4])
    assert out.parts[:2] == ("outputs", "quickstart")
    assert "outputs/quickstart/" in (ROOT / ".gitignore").read_text().splitlines()
    # the command works (in a copy of the layout, quickly)
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "mul_4x4.s").write_text((ROOT / "inputs" / "mul_4x4.s").read_text())
    monkeypatch.chdir(tmp_path)
    assert main([*argv[1:], "--time-limit", "1", "--workers", "1", "--quiet"]) == 0
    assert (tmp_path / out).exists() and (tmp_path / out).with_suffix(".json").exists()
    assert "under --objective ooo" in capsys.readouterr().out


def test_quick_subset_uses_a_real_marker():
    assert 'python3 -m pytest -q -m "not slow"' in _commands()[2]
    marked = [p.name for p in (ROOT / "tests").glob("test_*.py") if "pytest.mark.slow" in p.read_text()]
    assert len(marked) >= 5, marked
