"""benchmarks/recover.py on one small kernel: scrambled starts are equivalent, the renamed
start differs in its registers, and a run writes its table and JSON."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from scheduler.frontend.dag import build_dag, is_valid_order, random_topological_order
from scheduler.search.rename import analyse
from tests.support import ROOT
from tests.support.benchmarks import load

recover = load("recover")


def _peers(tmp_path: Path) -> Path:
    """A stand-in peer directory: the bundled 4x4 multiplication as `bignum_tiny_neon.s`."""
    d = tmp_path / "peers"
    d.mkdir()
    shutil.copy(ROOT / "inputs" / "mul_4x4.s", d / "bignum_tiny_neon.s")
    return d


def test_the_starts_compute_what_the_peer_does(tmp_path):
    peers = _peers(tmp_path)
    peer = recover.body(recover.peer_path("tiny", peers))
    starts = recover.starts("tiny", [1, 2], recover.VARIANTS, peers)  # (raises if one is not equivalent)
    assert [(s, seed) for s, seed, _ in starts] == [("peer", None), ("scrambled", 1), ("renamed", 1),
                                                    ("scrambled", 2), ("renamed", 2)]
    texts = {(s, seed): [str(i) for i in instrs] for s, seed, instrs in starts}
    assert texts[("scrambled", 1)] != texts[("scrambled", 2)] != [str(i) for i in peer]
    # scrambled: the peer's instructions in a valid order of its DAG
    order = random_topological_order(build_dag(peer), random.Random(1))
    assert is_valid_order(build_dag(peer), order)
    assert texts[("scrambled", 1)] == [str(peer[k]) for k in order]
    # renamed: same order, other registers for the values renaming may move, the fixed ones kept
    renamed, scrambled = texts[("renamed", 1)], texts[("scrambled", 1)]
    assert len(renamed) == len(scrambled) and renamed != scrambled
    fixed = {v.reg for v in analyse(recover.scrambled(peer, 1), recover.LIVE_OUT).values if v.fixed}
    assert "x0" in fixed


def test_a_quick_run_writes_the_table(tmp_path, capsys):
    peers = _peers(tmp_path)
    out = tmp_path / "RECOVER.md"
    rc = recover.main(["--kernels", "tiny", "--budgets", "0.02", "--seeds", "1", "--variants", "scrambled",
                       "--peers", str(peers), "--out", str(out)])
    assert rc == 0
    runs = json.loads(out.with_suffix(".json").read_text())
    assert [(r["start"], r["seed"]) for r in runs] == [("scrambled", 1)]
    for r in runs:
        assert r["status"] in ("OPTIMAL", "FEASIBLE", "FALLBACK")
        assert r["ours"]["steady"] <= r["input"]["steady"]  # the optimiser never returns worse
        assert r["peer"]["steady"] > 0
    text = out.read_text()
    assert "| tiny |" in text and "scrambled" in text


def test_an_unknown_kernel_is_an_input_error(tmp_path, capsys):
    assert recover.main(["--kernels", "nosuch", "--peers", str(_peers(tmp_path))]) == 2
    assert "no such peer schedule" in capsys.readouterr().err
