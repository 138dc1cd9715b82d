"""llvm-mca as an independent second opinion (optional external tool, run as a subprocess).

LLVM's N1 model is only trustworthy from llvm-mca 19 on (older versions silently use
a Cortex-A57 model for `-mcpu=neoverse-n1`), so only `llvm-mca-19` or newer is used.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

CANDIDATES = [f"llvm-mca-{v}" for v in range(25, 18, -1)]

# Model name -> llvm-mca's -mcpu (the schema has no field for it). A variant
# (`neoverse-n1-llvm`) uses its base model's core.
MCPU = {
    "neoverse-n1": "neoverse-n1",
    "neoverse-v1": "neoverse-v1",
    "neoverse-v2": "neoverse-v2",
    "cortex-a55": "cortex-a55",
}


def mcpu_for(model_name: str) -> str | None:
    """llvm-mca's -mcpu for a model name (or a variant of one), None if unknown."""
    if model_name in MCPU:
        return MCPU[model_name]
    base = max((k for k in MCPU if model_name.startswith(k + "-")), key=len, default=None)
    return MCPU[base] if base else None


@dataclass(frozen=True)
class McaResult:
    """What llvm-mca reports for a block: iterations, total cycles and its block reciprocal throughput."""

    iterations: int
    total_cycles: int
    block_rthroughput: float

    @property
    def cycles_per_iteration(self) -> float:
        """Average cycles per iteration over the whole llvm-mca run."""
        return self.total_cycles / self.iterations


@cache
def find_llvm_mca() -> str | None:
    """Path of the newest `llvm-mca-N` (N from 25 down to 19) on PATH, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def run_mca(lines: Sequence[str], iterations: int = 100, mcpu: str = "neoverse-n1") -> McaResult | None:
    """llvm-mca's figures for a straight-line sequence, or None if llvm-mca is unavailable."""
    exe = find_llvm_mca()
    if exe is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=True) as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        proc = subprocess.run([exe, "-mtriple=aarch64", f"-mcpu={mcpu}", f"-iterations={iterations}",
                               "-summary-view", "-resource-pressure=false", "-instruction-info=false",
                               f.name], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"llvm-mca failed: {proc.stderr.strip().splitlines()[:1]}")
    cycles = re.search(r"Total Cycles:\s+(\d+)", proc.stdout)
    rthr = re.search(r"Block RThroughput:\s+([\d.]+)", proc.stdout)
    if not cycles or not rthr:
        raise RuntimeError("cannot read llvm-mca's summary")
    return McaResult(iterations, int(cycles.group(1)), float(rthr.group(1)))


@lru_cache(maxsize=8192)
def mca_cycles_per_iteration(lines: tuple[str, ...], mcpu: str, iterations: int = 100) -> float:
    """llvm-mca's Total Cycles / iterations for a listing (cached: the multi-model search asks
    for the same listing again); RuntimeError if llvm-mca is not available."""
    r = run_mca(list(lines), iterations=iterations, mcpu=mcpu)
    if r is None:
        raise RuntimeError("llvm-mca-19 (or newer) is not on PATH")
    return r.cycles_per_iteration
