"""Shared test support: generators, reference emulators, and the paths every test uses."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
