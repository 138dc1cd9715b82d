"""Sliding-window renaming for blocks too large for one renaming model.

The whole-block CP-SAT model with register renaming stops converging at a few
hundred instructions. Here a window of consecutive instructions of the current
schedule is re-solved on its own, reordered and renamed, with its interface
fixed: values that enter the window keep their registers, values that leave it
(read later in the block, or live after the block) keep theirs, and registers
live across the window are not touched. The rewritten window therefore fits
back between the unchanged prefix and suffix; the whole block is re-timed and
the change kept only if the in-order cycles drop and the out-of-order figure does
not get worse. Windows overlap, so a value can move further over several steps.

Every result is still verified and proved over the whole block by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import fixup
from .clock import WALL, Clock
from .evaluate import inorder, out_of_order, prepare
from .ir import Instruction
from .model import Model


def window_live_out(seq: Sequence[Instruction], end: int, block_live_out: frozenset[str]) -> frozenset[str]:
    """Registers whose value at position `end` matters: read later before being
    overwritten, or live after the block and not overwritten before its end."""
    needed: set[str] = set()
    written: set[str] = set()
    for ins in seq[end:]:
        needed |= ins.reads - written
        written |= ins.writes
    return frozenset(needed | (set(block_live_out) - written))


def improve_by_windows(instrs: list[Instruction], origin: list[int], model: Model, opts, block_live_out,
                       deadline: float, size: int = 120, step: int = 60, clock: Clock = WALL, offset: int = 0,
                       on_window=None):
    """Sweep windows over the block, again while a sweep improves it and time is left.
    `offset` shifts the window starts (later rounds cut the block elsewhere); `on_window`
    is called after each window with a dict (sweep, window, of, accepted, best).
    Returns (instructions, origin, windows accepted)."""
    from .optimize import (
        _rename_candidates,  # the renaming pipeline of a whole block, reused
    )

    state = {"instrs": list(instrs), "origin": list(origin)}
    bt = prepare(state["instrs"], model, opts.noalias)
    ident = list(range(bt.n))
    state["in"] = inorder(bt, ident, model).cycles
    state["ooo"] = out_of_order(bt, ident, model).steady
    n = len(instrs)
    shift = offset % step
    starts = ([0] if shift else []) + list(range(shift, max(1, n - size // 2), step)) or [0]

    def try_window(a: int, share: float) -> bool:
        """Re-solve the window at `a`; True if it was improved."""
        current = state["instrs"]
        b = min(n, a + size)
        win = current[a:b]
        wbt = prepare(win, model, opts.noalias)
        hint = inorder(wbt, list(range(wbt.n)), model)
        live = window_live_out(current, b, block_live_out)
        fprob = fixup.analyse(win, wbt.dag, renaming=True) if opts.fixup else fixup.FixupProblem()
        cands, _ = _rename_candidates(win, wbt, model, opts, live, hint.issue, hint.cycles, share, [], fprob,
                                      clock=clock)
        for c in cands[:3]:
            new = current[:a] + c.instrs + current[b:]
            nbt = prepare(new, model, opts.noalias)
            new_in = inorder(nbt, list(range(nbt.n)), model).cycles
            if new_in >= state["in"]:
                continue
            new_ooo = out_of_order(nbt, list(range(nbt.n)), model).steady
            if new_ooo > state["ooo"]:
                continue
            state["instrs"] = new
            state["origin"] = state["origin"][:a] + [state["origin"][a + k] for k in c.origin] + state["origin"][b:]
            state["in"], state["ooo"] = new_in, new_ooo
            return True
        return False

    accepted, sweeps = 0, 0
    while clock.left(deadline) > 1.0:
        gained = 0
        for i, a in enumerate(starts):
            left = clock.left(deadline)
            if left < 1.0:
                break
            gained += try_window(a, min(left, max(2.0, left / (len(starts) - i))))
            if on_window:
                on_window({"sweep": sweeps + 1, "window": i + 1, "of": len(starts),
                           "accepted": accepted + gained, "best": state["in"]})
        accepted += gained
        sweeps += 1
        if not gained:
            break  # a whole sweep without progress
    return state["instrs"], state["origin"], accepted
