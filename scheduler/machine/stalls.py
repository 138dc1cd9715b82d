"""Why an instruction waited: stall cycles by cause under the in-order issue model."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from scheduler.machine.evaluate import BlockTiming, PipeTable, inorder
from scheduler.machine.model import Model


@dataclass
class InstrWait:
    """Cycles an instruction issued after the previous one in the order, by cause."""

    operand: int = 0  # a RAW producer's result was not ready
    pipe: int = 0  # operands ready, a slot free, but no permitted pipe free for its busy cycles
    issue_width: int = 0  # operands ready, but `issue_width` instructions already issued that cycle
    other: int = 0  # none of the above (should not happen: the evaluator's rules changed)
    pipe_types: dict[str, int] = field(default_factory=dict)  # pipe cycles by blocked reservation

    @property
    def total(self) -> int:
        """Total wait in cycles, all causes together."""
        return self.operand + self.pipe + self.issue_width + self.other


@dataclass
class Stalls:
    """Stall cycles of a whole order by cause, with the per-instruction breakdown."""

    per_instruction: list[InstrWait]  # indexed by instruction
    operand: int
    pipe: int
    issue_width: int
    other: int
    pipe_types: dict[str, int]

    @property
    def total(self) -> int:
        """Total stall cycles, all causes together."""
        return self.operand + self.pipe + self.issue_width + self.other


def _pipes_label(bt_types: tuple[int, ...], names: list[str]) -> str:
    return "/".join(names[t] for t in bt_types)


def attribute_stalls(bt: BlockTiming, order: Sequence[int], model: Model, issue: Sequence[int] | None = None) -> Stalls:
    """Replay the in-order issue of `order` and say why each instruction waited.

    `issue` (default: `inorder()`'s decisions) gives the issue cycles. Instruction k
    waits `issue[k] - issue[previous]` cycles (the first one from cycle 0). The cycles
    before its operands are ready are *operand* stalls; each later cycle is an
    *issue width* stall if `issue_width` instructions already issued in it, else a
    *pipe* stall if its reservations do not fit the pipes booked so far (attributed to
    the first reservation that does not fit on its own), else *other*."""
    if issue is None:
        issue = inorder(bt, order, model).issue
    width = model.issue_width
    names = list(model.pipes)
    table = PipeTable(model.pipes)
    per_cycle: dict[int, int] = {}
    waits = [InstrWait() for _ in range(bt.n)]
    t_prev = 0
    for k in order:
        t = issue[k]
        ready = t_prev
        for p, lat in bt.raw[k]:
            ready = max(ready, issue[p] + lat)
        w = waits[k]
        w.operand = max(0, min(t, ready) - t_prev)
        res = bt.reservations[k]
        for c in range(max(ready, t_prev), t):
            if per_cycle.get(c, 0) >= width:
                w.issue_width += 1
                continue
            if copy.deepcopy(table).try_book(c, res):
                w.other += 1
                continue
            w.pipe += 1
            label = next((_pipes_label(types, names) for types, busy in res
                          if not copy.deepcopy(table).try_book(c, ((types, busy),))),
                         "+".join(_pipes_label(types, names) for types, _ in res))
            w.pipe_types[label] = w.pipe_types.get(label, 0) + 1
        table.try_book(t, res)  # follow the evaluator's booking (succeeds when the rules agree)
        per_cycle[t] = per_cycle.get(t, 0) + 1
        t_prev = t
    types: dict[str, int] = {}
    for w in waits:
        for label, v in w.pipe_types.items():
            types[label] = types.get(label, 0) + v
    return Stalls(waits, sum(w.operand for w in waits), sum(w.pipe for w in waits),
                  sum(w.issue_width for w in waits), sum(w.other for w in waits), types)
