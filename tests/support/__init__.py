"""Shared test support: generators, reference emulators, and the paths every test uses."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository

from scheduler.machine.model import Model, load_model  # noqa: E402  (after ROOT: the package may need it)

# The two N1 models the tests use, loaded once: `N1` the calibrated default, `N1_LLVM` LLVM's
# numbers. Module-level tables and parametrisations use these; test bodies use the `n1` fixture.
N1: Model = load_model("neoverse-n1")
N1_LLVM: Model = load_model("neoverse-n1-llvm")
