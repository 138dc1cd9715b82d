"""A register-pressure-aware list scheduler with renaming, for blocks too large for one
CP-SAT model.

Windows (window.py) only move instructions a window's length. Kernels often hold
long-range parallelism (a field operation that could run in the multiplier's idle time
hundreds of instructions earlier). The critical-path list schedule of the true
dependencies finds it but needs far more registers than the core has
(karatsuba_16x16_neon: 137 x-registers live at once against 25 usable). This scheduler
walks the cycles like `listsched.list_schedule`, over renaming's dependencies
(`rename.renaming_edges`), and admits an instruction only if the rest of the block can
still be finished in registers:

* The *witness* is the unscheduled rest of a base order (a valid order of the block, e.g.
  the best reordering). An instruction may go ahead of it only if the witness, with that
  instruction taken out, still fits every register class: each value counted from now (or
  from its definition's place in the witness) to its last reader's place in the base order
  (an over-estimate, so the test is safe). The witness's first instruction always passes,
  so the scheduler cannot deadlock; the cost is one numpy sweep per admission.
* NZCV is a class of one register. Carry chains (flag values linked by their readers) run
  in the base order's sequence, each whole before the next opens; within a chain a flag
  value's readers come before the next value's writer. Everything that does not touch the
  flags moves freely around them.
* A fixed value (inputs, live-outs, registers renaming must not move) is defined only
  after the values before it in its register are dead.
* Only the first `lookahead` unscheduled instructions of the base order are eligible: a
  knob between the base order (small) and the unconstrained list schedule (large).

Values take registers from the definition's issue to the last reader's, and a register
freed by a read in cycle t may be written in cycle t (`rename.lifetimes`). The result is
issue cycles that `rename.colour` turns into registers; the caller rewrites, times and
verifies the code like every other candidate, and drops a schedule it cannot colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import cast

import numpy as np

from scheduler.frontend.ir import FLAGS, Instruction
from scheduler.machine.bounds import tails
from scheduler.machine.evaluate import BlockTiming, PipeTable, prepare
from scheduler.machine.model import Model
from scheduler.search.rename import (
    Allocation,
    RenameProblem,
    UnpredictableRewrite,
    analyse,
    emission_order,
    renaming_edges,
    rewrite,
)


def flag_chains(n: int, prob: RenameProblem) -> list[int]:
    """Per instruction, its carry chain (flag values linked through their readers), or -1."""
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    touches = [False] * n
    for v in prob.values:
        if v.cls != FLAGS:
            continue
        members = ([v.defn] if v.defn is not None else []) + list(v.uses)
        for k in members:
            touches[k] = True
            parent[find(k)] = find(members[0])
    return [find(k) if touches[k] else -1 for k in range(n)]


class _Witness:
    """Register pressure of finishing the block in base order, from a partial schedule."""

    def __init__(self, prob: RenameProblem, pos: dict[int, int], n: int):
        vals = prob.values
        self.classes = [c for c in prob.available if c != FLAGS]
        self.cap = np.array([prob.capacity(c) for c in self.classes], dtype=np.int64)
        cls_index = {c: i for i, c in enumerate(self.classes)}
        self.n = n
        m = len(vals)
        self.cls = np.array([cls_index.get(v.cls, -1) for v in vals], dtype=np.int64)
        self.counted = np.array([self.cls[v.id] >= 0 and prob.shares_pool(v) for v in vals], dtype=bool)
        self.start = np.array([-1 if v.defn is None else pos[v.defn] for v in vals], dtype=np.int64)
        end = np.empty(m, dtype=np.int64)
        for v in vals:
            uses = [pos[u] for u in v.uses if u != v.defn]
            base = max(v.defn is not None and pos[v.defn] + 1 or 0, max(uses, default=0))
            end[v.id] = n + 1 if v.live_out else base
        self.end = end

    def fits(self, alive: np.ndarray, pending: np.ndarray, head: int) -> bool:
        """alive: values holding a register now; pending: values whose definition is still
        to come. Positions before `head` are the present."""
        sel = (alive | pending) & self.counted
        s = np.where(alive, head, self.start)[sel]
        e = np.maximum(self.end[sel], s + 1)
        c = self.cls[sel]
        width = self.n + 3 - head
        for i, cap in enumerate(self.cap.tolist()):
            mask = c == i
            if not mask.any():
                continue
            prof = np.cumsum(np.bincount(s[mask] - head, minlength=width)[:width]
                             - np.bincount(e[mask] - head, minlength=width)[:width])
            if int(prof.max()) > cap:
                return False
        return True


class _ChainOrder:
    """Which carry chain may open next, when chains need not follow the base order.

    A chain opens only when no other is open and every chain it depends on, through any
    path, is finished; otherwise the chain could wait on one that cannot open while it
    holds the flags. A chain is open exactly while one of its flag values is live: its
    members are linked through flag values, each live from its writer to its last reader."""

    def __init__(self, rbt: BlockTiming, chain: list[int], base: Sequence[int]):
        self.chain = chain
        self.left: dict[int, int] = {}
        for c in chain:
            if c >= 0:
                self.left[c] = self.left.get(c, 0) + 1
        self.preds = [sorted({u for u, _ in rbt.raw[k]} | set(rbt.order[k])) for k in range(rbt.n)]
        above: list[set[int]] = [set() for _ in range(rbt.n)]  # chains each instruction depends on
        for k in base:  # a valid order: predecessors first
            for u in self.preds[k]:
                above[k] |= above[u]
                if chain[u] >= 0:
                    above[k].add(chain[u])
        self.needs: dict[int, set[int]] = {}
        for k, c in enumerate(chain):
            if c >= 0:
                self.needs.setdefault(c, set()).update(above[k] - {c})

    def may_open(self, c: int, flag_live: list[int]) -> bool:
        return not flag_live and not any(self.left[d] for d in self.needs[c])

    def issued(self, c: int) -> None:
        self.left[c] -= 1

    def front(self, c: int, todo: list[int], head: int, issue: list[int]) -> list[int] | None:
        """`todo` with chain c's unissued instructions and their unissued predecessors moved
        to `head`, in todo's order; None if that pulls in another chain."""
        pull: set[int] = set()
        stack = [k for k in todo[head:] if self.chain[k] == c and issue[k] < 0]
        while stack:
            k = stack.pop()
            if k in pull:
                continue
            if self.chain[k] not in (-1, c):
                return None
            pull.add(k)
            stack += [u for u in self.preds[k] if issue[u] < 0 and u not in pull]
        rest = todo[head:]
        return todo[:head] + [k for k in rest if k in pull] + [k for k in rest if k not in pull]


def pressure_schedule(rbt: BlockTiming, prob: RenameProblem, model: Model, base: Sequence[int],
                      lookahead: int, priority: Sequence[float] | None = None,
                      stall_limit: int = 200, free_chains: bool = False) -> tuple[list[int], Allocation] | None:
    """Issue cycles (by instruction) of a list schedule and the registers of its values, or
    None if the base order itself does not fit the registers or the schedule stalls
    `stall_limit` cycles (a fixed value waiting for its register). `rbt`: the block with
    renaming's dependencies; `base`: a valid order of the block. `free_chains`: a carry
    chain may open before the base order's next one (see `_ChainOrder`)."""
    run = _PressureRun(rbt, prob, model, base, priority)
    if not run.witness.fits(run.alive, run.pending, 0):
        return None
    run.prepare(base, free_chains)
    return run.schedule(lookahead, stall_limit)


class _PressureRun:
    """The state of one `pressure_schedule` run: values' liveness, carry chains, registers."""

    def __init__(self, rbt: BlockTiming, prob: RenameProblem, model: Model, base: Sequence[int],
                 priority: Sequence[float] | None):
        self.rbt, self.prob, self.model = rbt, prob, model
        self.n = n = rbt.n
        self.prio = list(priority) if priority is not None else tails(rbt)
        self.todo = list(base)
        self.pos = {k: i for i, k in enumerate(self.todo)}
        self.values = values = prob.values
        self.witness = _Witness(prob, self.pos, n)
        self.uses_left = uses_left = [len({u for u in v.uses if u != v.defn}) for v in values]
        self.alive = np.array([v.defn is None and (uses_left[v.id] > 0 or v.live_out) for v in values], dtype=bool)
        self.pending = np.array([v.defn is not None for v in values], dtype=bool)

    def prepare(self, base: Sequence[int], free_chains: bool) -> None:
        """Everything the schedule needs once the base order is known to fit."""
        n, prob, values = self.n, self.prob, self.values
        self.reads = [sorted(set(prob.reads[k].values())) for k in range(n)]
        self.writes = [sorted(set(prob.writes[k].values())) for k in range(n)]
        # carry chains in base-order sequence
        self.chain = chain = flag_chains(n, prob)
        self.flag_seq = [k for k in base if chain[k] >= 0]
        self.flag_next = 0
        self.chains = _ChainOrder(self.rbt, chain, base) if free_chains else None
        self.flag_live = [x for x in range(len(values)) if values[x].cls == FLAGS and self.alive[x]]
        # fixed values per register, in base order of definition (inputs first)
        self.fixed_before: dict[int, list[int]] = {}
        self.by_reg: dict[str, list[int]] = {}
        for v in sorted((v for v in values if v.fixed), key=lambda v: self.witness.start[v.id]):
            self.fixed_before[v.id] = list(self.by_reg.get(v.reg, []))
            self.by_reg.setdefault(v.reg, []).append(v.id)
        self._prepare_registers()
        self.issue = [-1] * n
        self.table = PipeTable(self.model.pipes)
        self.head = 0

    def _prepare_registers(self) -> None:
        # registers, assigned at issue: a register a value frees in cycle t is reused from t + 1
        # (one instruction may still read and write it), so no hand-over inside a cycle needs an
        # emission order the dependencies forbid
        self.reg_of: dict[int, str] = {}
        self.holder: dict[str, int] = {}
        for v in self.values:
            if v.defn is None:
                self.reg_of[v.id] = v.reg
                if self.alive[v.id]:
                    self.holder[v.reg] = v.id
        self.claim: dict[str, int] = {}  # register -> base position of its next pending fixed value
        self.claims()
        self.released: list[str] = []  # registers freed this cycle
        self.freed_at: dict[str, int] = {}  # register -> cycle it was last freed

    def claims(self) -> None:
        values, witness, claim = self.values, self.witness, self.claim
        claim.clear()
        for x in sorted((v.id for v in values if v.fixed and self.pending[v.id]), key=lambda x: -witness.start[x]):
            claim[values[x].reg] = int(witness.start[x])

    def schedule(self, lookahead: int, stall_limit: int) -> tuple[list[int], Allocation] | None:
        """Walk the cycles, issuing what is ready and admissible, until every instruction is."""
        n = self.n
        done, t, last = 0, 0, 0
        while done < n:
            if t - last > stall_limit:
                return None
            issued = self._issue_cycle(self._ready(lookahead, t), t)
            if issued:
                done += issued
                last = t
            self.released.clear()
            t += 1
        return self.issue, Allocation(self.reg_of)

    def _ready(self, lookahead: int, t: int) -> list[int]:
        """The window's instructions whose predecessors are issued and results ready at t, by
        priority."""
        n, todo, issue, rbt = self.n, self.todo, self.issue, self.rbt
        while self.head < n and issue[todo[self.head]] >= 0:
            self.head += 1
        window: list[int] = []
        j = self.head
        while len(window) < lookahead and j < n:
            if issue[todo[j]] < 0:
                window.append(todo[j])
            j += 1
        ready = [k for k in window
                 if all(issue[u] >= 0 for u in rbt.order[k])
                 and all(issue[u] >= 0 and issue[u] + lat <= t for u, lat in rbt.raw[k])]
        prio, pos = self.prio, self.pos
        ready.sort(key=lambda k: (-prio[k], pos[k]))
        return ready

    def _issue_cycle(self, ready: list[int], t: int) -> int:
        """Issue what fits in cycle t; how many."""
        issued = 0
        for k in ready:
            if issued >= self.model.issue_width:
                break
            if any(self.issue[u] < 0 for u in self.rbt.order[k]):  # its predecessor is still waiting
                continue
            regs = self.admissible(k, k == self.todo[self.head])
            if regs is None:
                continue
            if self.table.try_book(t, self.rbt.reservations[k]):
                self.commit(k, t, regs)
                issued += 1
        return issued

    def pick(self, k: int, freed: list[int]) -> dict[int, str] | None:
        """Registers for k's new values, or None if one is not free. Tied values first (they
        keep their register), and no value in the register of a value it must stay apart
        from (`RenameProblem.apart`: k would be UNPREDICTABLE)."""
        reg_of, holder, released = self.reg_of, self.holder, self.released
        mine = {reg_of[x] for x in freed if x in reg_of}
        taken: set[str] = set()
        out: dict[int, str] = {}
        values, apart = self.values, self.prob.apart
        for x in sorted(self.writes[k], key=lambda x: values[x].tied_to is None):
            v = values[x]
            if v.cls == FLAGS:
                out[x] = FLAGS
                continue
            # registers this value may not take: its partners' (read by k, or written by k already)
            shun = taken | {reg_of[y] for y in apart.get(x, ()) if y in reg_of} | \
                {out[y] for y in apart.get(x, ()) if y in out}
            if v.tied_to is not None and v.tied_to in reg_of:
                r = reg_of[v.tied_to]
                if (r in mine or holder.get(r) is None) and r not in shun:
                    out[x] = r
                    taken.add(r)
                    continue
                return None
            if v.fixed:
                r = v.reg
                if ((holder.get(r) is None and r not in released) or r in mine) and r not in shun:
                    out[x] = r
                    taken.add(r)
                    continue
                return None
            free = [r for r in self.prob.available[v.cls] if r not in shun
                    and ((holder.get(r) is None and r not in released) or r in mine)]
            if not free:
                return None
            # keep clear of registers a fixed value will need soon; then the one free longest,
            # so reuse does not tie neighbouring instructions by WAR edges the later windows
            # would have to respect
            claim, freed_at = self.claim, self.freed_at
            out[x] = max(free, key=lambda r: (claim.get(r, 1 << 30), -freed_at.get(r, -1), r == v.reg, -_num(r)))
            taken.add(out[x])
        return out

    def dead(self, x: int) -> bool:
        return not self.alive[x] and not self.pending[x]

    def admissible(self, k: int, first: bool) -> dict[int, str] | None:
        values, uses_left, chain = self.values, self.uses_left, self.chain
        freed = [x for x in self.reads[k] if uses_left[x] == 1 and not values[x].live_out]
        regs = self.pick(k, freed)
        if regs is None or not self._flags_ok(k, freed):
            return None
        jump = self.chains is not None and chain[k] >= 0 and chain[k] != chain[self.flag_seq[self.flag_next]]
        if first and not jump:
            return regs
        a, p = self.alive.copy(), self.pending.copy()
        a[freed] = False
        a[self.writes[k]] = True
        p[self.writes[k]] = False
        if not jump:
            return regs if self.witness.fits(a, p, self.head) else None
        # open k's chain now: the witness becomes the base order with that chain (and what
        # it still waits for) moved to the front, which must fit the registers too
        assert self.chains is not None  # else no jump
        order = self.chains.front(chain[k], self.todo, self.head, self.issue)
        if order is None:
            return None
        npos = {x: i for i, x in enumerate(order)}
        nwit = _Witness(self.prob, npos, self.n)
        if not self._fixed_in_order(npos) or not nwit.fits(a, p, self.head):
            return None
        self.rebase(order, npos, nwit)
        return regs

    def _fixed_in_order(self, npos: dict[int, int]) -> bool:
        # fixed values of one register keep their order of definition
        values, pending = self.values, self.pending
        # (a pending value has a definition: cast, not an assert, in this inner loop)
        return all(npos[cast(int, values[y].defn)] < npos[cast(int, values[x].defn)]
                   for x, before in self.fixed_before.items() if pending[x]
                   for y in before if pending[y])

    def rebase(self, order: list[int], npos: dict[int, int], nwit: _Witness) -> None:
        self.todo, self.pos, self.witness = order, npos, nwit
        chain, issue = self.chain, self.issue
        self.flag_seq = [x for x in self.todo if chain[x] >= 0]
        self.flag_next = next((i for i, x in enumerate(self.flag_seq) if issue[x] < 0), len(self.flag_seq) - 1)
        self.claims()

    def _flags_ok(self, k: int, freed: list[int]) -> bool:
        values, chain, chains = self.values, self.chain, self.chains
        if chain[k] >= 0:
            if chain[k] != chain[self.flag_seq[self.flag_next]] and (
                    chains is None or not chains.may_open(chain[k], self.flag_live)):
                return False
            new_flags = sum(1 for x in self.writes[k] if values[x].cls == FLAGS)
            if new_flags and any(x not in freed for x in self.flag_live):
                return False
        for x in self.writes[k]:
            if values[x].fixed and not all(self.dead(y) or y in freed for y in self.fixed_before[x]):
                return False
        return True

    def commit(self, k: int, t: int, regs: dict[int, str]) -> None:
        self.issue[k] = t
        self._release_reads(k, t)
        self._bind_writes(k, t, regs)
        if self.chains is not None and self.chain[k] >= 0:
            self.chains.issued(self.chain[k])
        issue, flag_seq = self.issue, self.flag_seq
        while self.flag_next < len(flag_seq) - 1 and issue[flag_seq[self.flag_next]] >= 0:
            self.flag_next += 1

    def _release_reads(self, k: int, t: int) -> None:
        """k's reads: values whose last reader it is die and free their registers."""
        values, uses_left, holder = self.values, self.uses_left, self.holder
        for x in self.reads[k]:
            uses_left[x] -= 1
            if uses_left[x] == 0 and not values[x].live_out:
                self.alive[x] = False
                if x in self.flag_live:
                    self.flag_live.remove(x)
                r = self.reg_of.get(x)
                if r is not None and holder.get(r) == x:
                    del holder[r]
                    self.released.append(r)
                    self.freed_at[r] = t

    def _bind_writes(self, k: int, t: int, regs: dict[int, str]) -> None:
        """k's writes: each value takes its register (and hands it back at once if unread)."""
        values, alive, released, claim = self.values, self.alive, self.released, self.claim
        for x in self.writes[k]:
            self.pending[x] = False
            alive[x] = self.uses_left[x] > 0 or values[x].live_out
            if values[x].cls == FLAGS and alive[x]:
                self.flag_live.append(x)
            r = regs[x]
            self.reg_of[x] = r
            if r != FLAGS:
                if r in released:  # read and written by k itself
                    released.remove(r)
                if alive[x]:
                    self.holder[r] = x
                else:
                    released.append(r)
                    self.freed_at[r] = t
                if values[x].fixed and claim.get(r) == int(self.witness.start[x]):
                    later = [int(self.witness.start[y]) for y in self.by_reg.get(r, ()) if self.pending[y]]
                    if later:
                        claim[r] = min(later)
                    else:
                        claim.pop(r, None)


def _num(reg: str) -> int:
    return int(reg[1:]) if reg[1:].isdigit() else -1


# Variants tried per call: (lookahead, weight of the base order in the priority, carry
# chains free to open out of the base order's sequence). A weight of None is oldest first:
# the gaps of the base order filled from up to `lookahead` later instructions, as an
# out-of-order core would; a number w ranks by critical path minus w per place in the base
# order.
# Pure critical path (w = 0) with 30-60 instructions of lookahead and free carry chains is the
# best single variant on the NEON-assisted P-256 kernels (in-order 82-84 against 85-91 for the
# others on p256_montsqr_neon, 99 against 112+ on p256_montmul_neon, from the as-written order).
VARIANTS = ((10, None, False), (120, None, False), (30, 5.0, False), (120, 2.0, False),
            (30, None, True), (120, None, True), (30, 5.0, True), (30, 0.0, True), (60, 0.0, True),
            (60, 5.0, True))


def reschedule(instrs: Sequence[Instruction], model: Model, live_out, reserved, noalias=(),
               variants=VARIANTS) -> list[tuple[list[Instruction], list[int]]]:
    """Renamed schedules of `instrs` (in its given order, the base): per variant that
    succeeds, the rewritten instructions in emission order and, for each, the index of the
    instruction it came from. The caller times and verifies them."""
    bt = prepare(instrs, model, noalias)
    prob = analyse(instrs, live_out, reserved)
    raw, order = renaming_edges(bt, prob)
    rbt = replace(bt, raw=raw, order=order)
    tl = tails(rbt)
    out = []
    for lookahead, w, free in variants:
        prio = [-k if w is None else tl[k] - w * k for k in range(bt.n)]
        res = pressure_schedule(rbt, prob, model, list(range(bt.n)), lookahead, prio, free_chains=free)
        if res is None:
            continue
        issue, alloc = res
        emit = emission_order(issue, prob, alloc, order, raw)
        if emit is None:
            continue
        try:
            body = rewrite(instrs, prob, alloc)
        except UnpredictableRewrite:
            continue  # (never expected: `pick` keeps `prob.apart` values apart)
        out.append(([body[k] for k in emit], list(emit)))
    return out
