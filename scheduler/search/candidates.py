"""Candidate schedules of one block and their scores under both evaluators."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scheduler.frontend.ir import Instruction
from scheduler.machine.evaluate import BlockTiming, prepare
from scheduler.machine.model import Model
from scheduler.search import fixup
from scheduler.search.localsearch import Score, score
from scheduler.search.solve import order_from_issue


@dataclass
class Candidate:
    """A block's instructions in program order, each with the index of its original."""

    instrs: list[Instruction]
    origin: list[int]
    renamed: bool = False
    fixed: bool = False  # some memory offsets were adjusted (fixup)


def fixed_candidate(instrs, fixups: fixup.FixupProblem, issue, order: list[int] | None = None,
                    renamed: bool = False) -> Candidate:
    """The schedule of a solution's issue cycles (emitted in `order`, by default by cycle),
    with the offsets its order needs."""
    offsets = fixup.decide(issue, fixups) if fixups else {}
    body = fixup.apply(instrs, offsets)
    order = order_from_issue(issue) if order is None else order
    return Candidate([body[k] for k in order], order, renamed, bool(offsets))


def score_candidate(c: Candidate, model: Model, noalias) -> tuple[Candidate, BlockTiming, Score]:
    """Score a candidate under `model` as it stands (in its own order); also returns its block timing."""
    bt = prepare(c.instrs, model, noalias)
    return c, bt, score(bt, list(range(bt.n)), model)


def candidate_key(c: Candidate) -> tuple[str, ...]:
    """The candidate's instructions as text: equal keys mean the same code."""
    return tuple(str(i) for i in c.instrs)


def unique_candidates(cands: Iterable[Candidate]) -> list[Candidate]:
    """The candidates with duplicate code dropped (the first one kept)."""
    seen, out = set(), []
    for c in cands:
        key = candidate_key(c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def unique_orders(orders: Iterable[list[int]]) -> list[list[int]]:
    """The orders with duplicates dropped (the first one kept)."""
    seen, out = set(), []
    for o in orders:
        if tuple(o) not in seen:
            seen.add(tuple(o))
            out.append(o)
    return out
