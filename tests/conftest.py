from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from scheduler.frontend.assemble import assemble_lines, find_assembler
from tests.support import ROOT
from tests.support.instances import instances, simulable_forms

INSTANCES_PER_FORM = 3

# The gate (CI, `pytest -q`) runs every property test on the same examples, so a red run is
# reproducible and a green one is not luck; `HYPOTHESIS_PROFILE=explore` draws new examples
# on each run (the fuzzing job: docs/testing.md), and failures found there become @example
# cases of the test.
settings.register_profile("gate", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))


@pytest.fixture(scope="session")
def assembler():
    """The AArch64 assembler tests use; a skip (or, in CI, a failure) when there is none."""
    found = find_assembler()
    if found is None:
        if os.environ.get("SCHEDULER_REQUIRE_ASSEMBLER"):
            pytest.fail("SCHEDULER_REQUIRE_ASSEMBLER is set but no AArch64 assembler is on PATH")
        pytest.skip("no AArch64 assembler (llvm-mc or aarch64-linux-gnu-as) on PATH")
    return found


@pytest.fixture(scope="session")
def encoded_forms(assembler) -> dict[str, list[tuple[str, bytes]]]:
    """Random instances of every simulable table form, assembled in one batch: {form key: [(text, code)]}."""
    texts, owners = [], []
    for i, form in enumerate(simulable_forms()):
        for t in instances(form, INSTANCES_PER_FORM, seed=i):
            texts.append(t)
            owners.append(form.key)
    out: dict[str, list[tuple[str, bytes]]] = {}
    for owner, text, code in zip(owners, texts, assemble_lines(texts), strict=True):
        out.setdefault(owner, []).append((text, code))
    return out


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository (also importable as `tests.support.ROOT` for module-level constants)."""
    return ROOT


@pytest.fixture(scope="session")
def n1():
    """The default N1 model, loaded once for the session (tests.support.N1)."""
    from tests.support import N1

    return N1


@pytest.fixture
def run_cli(capsys):
    """Run `scheduler ARGS...` in-process: (exit code, stdout, stderr)."""
    from scheduler.cli import main

    def run(*args) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err
    return run
