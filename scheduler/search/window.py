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

With a window executor installed (scheduler/search/parallel.py, e.g. `scheduler batch`
over Ray), a sweep instead cuts the block into *disjoint* windows, solves all of them at
once from the same current code and merges the results in position order (see
`_parallel_sweeps` for why they compose); the cuts move between sweeps.

Every result is still verified and proved over the whole block by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from scheduler.core.clock import Clock, Deadline
from scheduler.core.errors import SourceLoc
from scheduler.frontend.ir import Instruction
from scheduler.frontend.isa.table import TABLE, Form
from scheduler.machine.bounds import tails
from scheduler.machine.evaluate import BlockTiming, inorder, out_of_order, prepare
from scheduler.machine.model import Model
from scheduler.search import fixup, parallel
from scheduler.search.decompose import disjoint_windows, pipe_work
from scheduler.search.localsearch import Score, score
from scheduler.search.options import Options
from scheduler.search.rename_solve import rename_candidates
from scheduler.search.solve import Boundary

TAKEN = 3  # candidates of a window solve tried against the whole block, best first


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


# A window job's instructions as plain data: an instruction's form holds its semantics as
# closures, which pickle cannot carry, so a packed instruction names its form by key and gets
# the instruction table's own Form object back when unpacked (in the worker, and back here).
Packed = tuple[str, tuple, "str | Form", SourceLoc, str]
_forms: dict[str, Form] = {}


def pack(instrs: Sequence[Instruction]) -> list[Packed]:
    """`instrs` as picklable data: each form named by its key when the table holds it."""
    return [(i.mnemonic, i.operands, i.form.key if _form(i.mnemonic, i.form.key) is i.form else i.form, i.loc,
             i.text) for i in instrs]


def unpack(packed: Sequence[Packed]) -> list[Instruction]:
    """Instructions back from `pack`'s data, with the table's own forms; ValueError for an unknown form key."""
    out = []
    for mnemonic, operands, form, loc, text in packed:
        f = _form(mnemonic, form) if isinstance(form, str) else form
        if f is None:
            raise ValueError(f"no instruction form '{form}'")
        out.append(Instruction(mnemonic, operands, f, loc, text))
    return out


def _form(mnemonic: str, key: str) -> Form | None:
    f = _forms.get(key)
    if f is None:
        f = next((x for x in TABLE.forms.get(mnemonic, ()) if x.key == key), None)
        if f is not None:
            _forms[key] = f
    return f


# improve_by_windows' current block: its code, origin and figures ("in" is a keyword, hence
# the functional form; total=False: the dict is filled in two steps)
_WindowState = TypedDict("_WindowState", {
    "instrs": list[Instruction], "origin": list[int], "in": int, "issue": list[int], "bt": BlockTiming,
    "ooo": float, "score": Score | None,
}, total=False)


def _window_problem(state: _WindowState, model: Model, opts, block_live_out, a: int, b: int):
    """The window [a, b) of the current code as a problem of its own: (instructions, their
    timing, live-out registers, Boundary, hint issue cycles, horizon)."""
    current = state["instrs"]
    win = current[a:b]
    wbt = prepare(win, model, opts.alias)
    live = window_live_out(current, b, block_live_out)
    boundary, hint, horizon = window_boundary(state["bt"], model, state["issue"], a, b, wbt)
    return win, wbt, live, boundary, hint, horizon


def _window_solve(win, wbt: BlockTiming, model: Model, opts, live, boundary: Boundary, hint, horizon: int,
                  deadline: Deadline) -> list[tuple[list[Instruction], list[int]]]:
    """CP-SAT with renaming on one window until `deadline`: its best rewrites as (instructions,
    origin in the window)."""
    fixups = fixup.analyse(win, wbt.dag, renaming=True) if opts.fixup else fixup.FixupProblem()
    cands, _ = rename_candidates(win, wbt, model, opts, live, hint, horizon, deadline, [], fixups,
                                  boundary=boundary)
    return [(c.instrs, c.origin) for c in cands[:TAKEN]]


def _splice(state: _WindowState, model: Model, opts, a: int, b: int, cands, accept) -> bool:
    """Put the first window rewrite that improves the whole block in place of [a, b); the whole
    block is re-timed for each. True if one was kept."""
    current = state["instrs"]
    for instrs, origin in cands:
        new = current[:a] + instrs + current[b:]
        new_timing = prepare(new, model, opts.alias)
        timed = inorder(new_timing, list(range(new_timing.n)), model)
        if accept is not None:
            new_score = score(new_timing, list(range(new_timing.n)), model)
            if not accept(new_score, state["score"]):
                continue
            state["score"], new_ooo = new_score, new_score.ooo
        else:
            if timed.cycles >= state["in"]:
                continue
            new_ooo = out_of_order(new_timing, list(range(new_timing.n)), model).steady
            if new_ooo > state["ooo"]:
                continue
        state["instrs"] = new
        state["origin"] = state["origin"][:a] + [state["origin"][a + k] for k in origin] + state["origin"][b:]
        state["in"], state["issue"], state["ooo"], state["bt"] = timed.cycles, timed.issue, new_ooo, new_timing
        return True
    return False


def improve_by_windows(instrs: list[Instruction], origin: list[int], model: Model, opts, block_live_out,
                       deadline: Deadline, size: int = 120, step: int = 60, offset: int = 0,
                       on_window=None, accept=None):
    """Sweep windows over the block, again while a sweep improves it and time is left.
    `offset` shifts the window starts (later rounds cut the block elsewhere); `on_window`
    is called after each window with a dict (sweep, window, of, accepted, best).
    `accept(new, current)`: whether a window's result (search.Score of the whole block) is
    kept; by default when the in-order cycles drop and the out-of-order ones do not grow.
    With a window executor installed for blocks of this size (scheduler/search/parallel.py),
    the sweeps are parallel ones (`_parallel_sweeps`). Returns (instructions, origin, windows accepted)."""
    clock = deadline.clock
    state: _WindowState = {"instrs": list(instrs), "origin": list(origin)}
    bt = prepare(state["instrs"], model, opts.alias)
    ident = list(range(bt.n))
    first = inorder(bt, ident, model)
    state["in"], state["issue"], state["bt"] = first.cycles, first.issue, bt
    state["ooo"] = out_of_order(bt, ident, model).steady
    state["score"] = score(bt, ident, model) if accept else None
    n = len(instrs)
    ex = parallel.current()
    if not ex.serial and n >= ex.min_instructions and n > size:
        accepted = _parallel_sweeps(state, ex, model, opts, block_live_out, deadline, size, offset,
                                    on_window, accept)
        return state["instrs"], state["origin"], accepted
    shift = offset % step
    starts = ([0] if shift else []) + list(range(shift, max(1, n - size // 2), step)) or [0]

    def try_window(a: int, share: float) -> bool:
        """Re-solve the window at `a`; True if it was improved."""
        b = min(n, a + size)
        win, wbt, live, boundary, hint, horizon = _window_problem(state, model, opts, block_live_out, a, b)
        cands = _window_solve(win, wbt, model, opts, live, boundary, hint, horizon, Deadline.after(clock, share))
        return _splice(state, model, opts, a, b, cands, accept)

    accepted, sweeps = 0, 0
    while deadline.left() > 1.0:
        gained = 0
        for i, a in enumerate(starts):
            left = deadline.left()
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


# ------------------------------------------------------------------ parallel sweeps


@dataclass
class RenameJob:
    """One window of a parallel sweep, as plain picklable data (instructions packed)."""

    start: int
    instrs: list[Packed]
    model: Model
    opts: Options
    live_out: frozenset[str]
    boundary: Boundary
    hint: list[int]
    horizon: int
    share: float  # seconds, or deterministic work units
    deterministic: bool


@dataclass
class RenameJobResult:
    """One renaming window as solved: where it starts, its candidates (best first) and the work it took."""

    start: int
    candidates: list[tuple[list[Packed], list[int]]]  # best first: (instructions, origin)
    work: float  # the job's time on its own clock


def solve_rename_job(job: RenameJob) -> RenameJobResult:
    """Solve one window job (in any process: it gets everything it needs from `job`)."""
    clock = Clock(job.deterministic)
    win = unpack(job.instrs)
    wbt = prepare(win, job.model, job.opts.alias)
    cands = _window_solve(win, wbt, job.model, job.opts, job.live_out, job.boundary, job.hint, job.horizon,
                          Deadline.after(clock, job.share))
    return RenameJobResult(job.start, [(pack(i), list(o)) for i, o in cands], clock.now())


def _parallel_sweeps(state: _WindowState, ex: parallel.Executor, model: Model, opts, block_live_out,
                     deadline: Deadline, size: int, offset: int, on_window, accept) -> int:
    """Sweeps of disjoint windows, each window one job of the executor; returns windows accepted.

    Why the windows of one sweep compose although each was solved against the same old code:
    a window's rewrite keeps its interface. Values entering it are read from the registers they
    arrived in, values leaving it (read after it, or live after the block) end in the registers
    they had, and registers live across it are not touched; a register it writes beyond those is
    dead at its end in the old code. So replacing window j changes neither the registers and
    values the code after window i < j needs at i's end (what j reads on entry is unchanged, what
    it leaves is in place, anything else it writes was dead), nor the values that reach window j
    through window i. Each rewrite is therefore still correct with the other windows replaced;
    only the timing at the cuts changes, which is why every result is spliced in position order
    and kept only if the re-timed whole block still improves under the usual rule. The cuts
    themselves are never solved across in one sweep, so sweeps alternate their offset by half a
    window: a value held at a cut in one sweep is inside a window in the next."""
    clock = deadline.clock
    accepted, sweeps, idle = 0, 0, 0
    while deadline.left() > 1.0 and idle < 2:
        n = len(state["instrs"])
        wins = disjoint_windows(n, size, offset + (sweeps % 2) * (size // 2))
        # each sweep gets at most half of what is left: the next one cuts elsewhere
        rounds = -(-len(wins) // ex.slots)
        share = max(1.0, deadline.left() / (2 * rounds))
        jobs = []
        for a, b in wins:
            win, _, live, boundary, hint, horizon = _window_problem(state, model, opts, block_live_out, a, b)
            jobs.append(RenameJob(a, pack(win), model, opts, live, boundary, hint, horizon, share,
                                  clock.deterministic))
        # a job past three times its share (plus start-up) is given up: its window stays as it is
        outcomes = parallel.run_jobs(solve_rename_job, jobs, timeout=rounds * (3 * share + 30))
        # the sweep's critical path: its longest job, or the jobs' work over the executor's slots
        done = [o.work for o in outcomes if isinstance(o, RenameJobResult)]
        clock.charge(max(done + [sum(done) / ex.slots]))
        gained = 0
        for i, ((a, b), o) in enumerate(zip(wins, outcomes, strict=True)):
            if isinstance(o, RenameJobResult):  # a failed job: its window stays as it is
                cands = [(unpack(p), org) for p, org in o.candidates]
                gained += _splice(state, model, opts, a, b, cands, accept)
            if on_window:
                on_window({"sweep": sweeps + 1, "window": i + 1, "of": len(wins),
                           "accepted": accepted + gained, "best": state["in"]})
        accepted += gained
        sweeps += 1
        idle = 0 if gained else idle + 1
    return accepted
