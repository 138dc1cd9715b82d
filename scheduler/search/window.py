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
from typing import TypedDict

from scheduler.core.clock import WALL, Clock
from scheduler.frontend.ir import Instruction
from scheduler.machine.bounds import tails
from scheduler.machine.evaluate import BlockTiming, inorder, out_of_order, prepare
from scheduler.machine.model import Model
from scheduler.search import fixup
from scheduler.search.decompose import pipe_work
from scheduler.search.localsearch import Score, score
from scheduler.search.rename_solve import rename_candidates
from scheduler.search.solve import Boundary


def window_live_out(seq: Sequence[Instruction], end: int, block_live_out: frozenset[str]) -> frozenset[str]:
    """Registers whose value at position `end` matters: read later before being
    overwritten, or live after the block and not overwritten before its end."""
    needed: set[str] = set()
    written: set[str] = set()
    for ins in seq[end:]:
        needed |= ins.reads - written
        written |= ins.writes
    return frozenset(needed | (set(block_live_out) - written))


def window_boundary(bt: BlockTiming, model: Model, issue: Sequence[int], a: int, b: int, wbt: BlockTiming):
    """The rest of the block around the window [a, b) of the current code, in cycles from
    the window's first possible cycle (the last prefix instruction's): releases from values
    in flight and from single pipes still busy (exact: issue is in order), tails through the
    instructions after the window, and per single pipe the work after it. Returns
    (Boundary, hint issue cycles from the current schedule, the hint's completion)."""
    t0 = issue[a - 1] if a else 0
    names = list(model.pipes)
    unary = {i for i, p in enumerate(names) if model.pipes[p] == 1}
    busy_until: dict[int, int] = {}
    for k in range(a):
        for types, busy in bt.reservations[k]:
            if len(types) == 1 and types[0] in unary:
                busy_until[types[0]] = max(busy_until.get(types[0], 0), issue[k] + busy)
    tail = tails(bt)
    release, exit_tail = [], []
    for k in range(a, b):
        r = t0
        for u, lat in bt.raw[k]:
            if u < a:
                r = max(r, issue[u] + lat)
        for types, _ in bt.reservations[k]:
            if len(types) == 1 and types[0] in busy_until:
                r = max(r, busy_until[types[0]])
        release.append(r - t0)
        exit_tail.append(0)
    for v in range(b, bt.n):
        for u, lat in bt.raw[v]:
            if a <= u < b:
                exit_tail[u - a] = max(exit_tail[u - a], lat + tail[v])
        for u in bt.order[v]:
            if a <= u < b:
                exit_tail[u - a] = max(exit_tail[u - a], tail[v])
    after = {p: w for p, w in pipe_work(bt, model, range(b, bt.n)).items() if model.pipes[p] == 1}
    hint = [issue[k] - t0 for k in range(a, b)]
    horizon = 0
    for i in range(b - a):
        horizon = max(horizon, hint[i] + max(wbt.timings[i].latency, 1, exit_tail[i]))
        for types, busy in wbt.reservations[i]:
            if len(types) == 1 and names[types[0]] in after:
                horizon = max(horizon, hint[i] + busy + after[names[types[0]]])
    return Boundary(release, exit_tail, after), hint, horizon


# improve_by_windows' current block: its code, origin and figures ("in" is a keyword, hence
# the functional form; total=False: the dict is filled in two steps)
_WindowState = TypedDict("_WindowState", {
    "instrs": list[Instruction], "origin": list[int], "in": int, "issue": list[int], "bt": BlockTiming,
    "ooo": float, "score": Score | None,
}, total=False)


def improve_by_windows(instrs: list[Instruction], origin: list[int], model: Model, opts, block_live_out,
                       deadline: float, size: int = 120, step: int = 60, clock: Clock = WALL, offset: int = 0,
                       on_window=None, accept=None):
    """Sweep windows over the block, again while a sweep improves it and time is left.
    `offset` shifts the window starts (later rounds cut the block elsewhere); `on_window`
    is called after each window with a dict (sweep, window, of, accepted, best).
    `accept(new, current)`: whether a window's result (search.Score of the whole block) is
    kept; by default when the in-order cycles drop and the out-of-order ones do not grow.
    Returns (instructions, origin, windows accepted)."""
    state: _WindowState = {"instrs": list(instrs), "origin": list(origin)}
    bt = prepare(state["instrs"], model, opts.noalias)
    ident = list(range(bt.n))
    first = inorder(bt, ident, model)
    state["in"], state["issue"], state["bt"] = first.cycles, first.issue, bt
    state["ooo"] = out_of_order(bt, ident, model).steady
    state["score"] = score(bt, ident, model) if accept else None
    n = len(instrs)
    shift = offset % step
    starts = ([0] if shift else []) + list(range(shift, max(1, n - size // 2), step)) or [0]

    def try_window(a: int, share: float) -> bool:
        """Re-solve the window at `a`; True if it was improved."""
        current = state["instrs"]
        b = min(n, a + size)
        win = current[a:b]
        wbt = prepare(win, model, opts.noalias)
        live = window_live_out(current, b, block_live_out)
        fprob = fixup.analyse(win, wbt.dag, renaming=True) if opts.fixup else fixup.FixupProblem()
        boundary, hint, horizon = window_boundary(state["bt"], model, state["issue"], a, b, wbt)
        cands, _ = rename_candidates(win, wbt, model, opts, live, hint, horizon, share, [], fprob,
                                      clock=clock, boundary=boundary)
        for c in cands[:3]:
            new = current[:a] + c.instrs + current[b:]
            nbt = prepare(new, model, opts.noalias)
            timed = inorder(nbt, list(range(nbt.n)), model)
            if accept is not None:
                new_score = score(nbt, list(range(nbt.n)), model)
                if not accept(new_score, state["score"]):
                    continue
                state["score"], new_ooo = new_score, new_score.ooo
            else:
                if timed.cycles >= state["in"]:
                    continue
                new_ooo = out_of_order(nbt, list(range(nbt.n)), model).steady
                if new_ooo > state["ooo"]:
                    continue
            state["instrs"] = new
            state["origin"] = state["origin"][:a] + [state["origin"][a + k] for k in c.origin] + state["origin"][b:]
            state["in"], state["issue"], state["ooo"], state["bt"] = timed.cycles, timed.issue, new_ooo, nbt
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
