"""Status, gap and gain, defined once (docs/figures.md).

Every screen and file that states whether a kernel got faster — the `optimize` headline and
table, the header of the emitted kernel, the JSON report, `batch`'s table, history and HTML
report, `compare` — reads its figures here, so they all mean the same thing:

* the **figure** is what the objective optimises: in-order cycles of one run (`inorder`),
  out-of-order steady-state cycles per iteration (`ooo`) or one cold out-of-order run
  (`single`); with several models each model's own figure;
* **gain** = (before - after) / before of that figure (positive: faster);
* **gap** = (after - bound) / bound of that figure against that figure's own proven lower
  bound (none for `single`: no bound is known for a cold run);
* **status** OPTIMAL only when the figure is at its bound (gap 0, the search having shown
  it for that objective), FALLBACK when the input order was kept, FEASIBLE otherwise.

llvm-mca (when on PATH) is a second opinion on the same figure: cycles per iteration over
100 iterations for the steady state, total cycles of one iteration for a single run or an
in-order core; when one of the two says slower and the other does not, a warning says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

OPTIMAL_TOLERANCE = 1e-9  # a figure at its bound (float sums of steady states)
MCA_STEADY_ITERATIONS = 100  # as compare's and batch's llvm-mca columns


@dataclass(frozen=True)
class FigureKind:
    """Where a figure lives in a report (totals and blocks use the same keys)."""

    label: str
    before: str
    after: str
    bound: str | None
    mca_iterations: int  # llvm-mca's comparable figure: per iteration over this many
    out_of_order: bool  # meaningless for an in-order core


FIGURES = {
    "inorder": FigureKind("in-order cycles", "cycles_before", "cycles_after", "lower_bound", 1, False),
    "ooo": FigureKind("OoO cycles/iteration", "ooo_cycles_before", "ooo_cycles_after", "ooo_lower_bound",
                      MCA_STEADY_ITERATIONS, True),
    "single": FigureKind("OoO single run cycles", "ooo_single_before", "ooo_single_after", None, 1, True),
}


def gain(before: float, after: float) -> float:
    """The fraction of the figure saved: positive when faster."""
    return (before - after) / before if before else 0.0


def gap(after: float, bound: float | None) -> float | None:
    """How far above its proven lower bound the figure is; None without a bound."""
    return (after - bound) / bound if bound else None


def status(claimed: str, gap_: float | None) -> str:
    """The displayed status: the search's claim, OPTIMAL only when the figure is at its bound."""
    if claimed == "OPTIMAL" and (gap_ is None or gap_ > OPTIMAL_TOLERANCE):
        return "FEASIBLE"
    return claimed


def direction(before: float, after: float) -> int:
    """-1 faster, 0 unchanged, 1 slower."""
    return (after > before + OPTIMAL_TOLERANCE) - (after < before - OPTIMAL_TOLERANCE)


WORDS = {-1: "faster", 0: "unchanged", 1: "slower"}


def change(before: float, after: float) -> str:
    """The figure's relative change, signed: `-5.0%` is faster."""
    return f"{(after - before) / before if before else 0.0:+.1%}".replace("-0.0%", "+0.0%")


@dataclass(frozen=True)
class McaFigure:
    """llvm-mca's before and after for one model's -mcpu (cycles per iteration over `iterations`)."""

    mcpu: str
    iterations: int
    before: float
    after: float

    @property
    def gain(self) -> float:
        """llvm-mca's gain, before to after (positive: faster)."""
        return gain(self.before, self.after)

    def to_json(self) -> dict:
        """The report's `mca` entry of a headline line."""
        return {"mcpu": self.mcpu, "iterations": self.iterations, "before": self.before, "after": self.after,
                "gain": round(self.gain, 4)}


@dataclass(frozen=True)
class Line:
    """One model's objective figure before and after, its bound, and llvm-mca's opinion."""

    model: str
    figure: str
    before: float
    after: float
    bound: float | None
    mca: McaFigure | None = None

    @property
    def gain(self) -> float:
        """The objective's gain on this model, before to after (positive: faster)."""
        return gain(self.before, self.after)

    @property
    def gap(self) -> float | None:
        """How far the figure after is above its bound (None without a bound)."""
        return gap(self.after, self.bound)

    @property
    def disagree(self) -> bool:
        """Our figure and llvm-mca's disagree on the direction: one of them got slower and the
        other did not (faster against unchanged is no contradiction)."""
        if self.mca is None:
            return False
        ours, theirs = direction(self.before, self.after), direction(self.mca.before, self.mca.after)
        return ours != theirs and 1 in (ours, theirs)

    def text(self, named: bool) -> str:
        """`neoverse-n1: OoO cycles/iteration 59.5 -> 56.5 (-5.0%), bound 55, gap 2.7%`"""
        gap_ = "" if self.gap is None else f", gap {self.gap:.1%}"
        bound = "no bound" if self.bound is None else f"bound {self.bound:g}"
        return (f"{self.model}: " if named else "") + (
            f"{self.figure} {self.before:g} -> {self.after:g} ({change(self.before, self.after)}), {bound}{gap_}")

    def mca_text(self, named: bool) -> str | None:
        """`llvm-mca -mcpu=neoverse-n1 cycles/iteration 61.13 -> 61.19 (+0.1%)`"""
        if self.mca is None:
            return None
        unit = "cycles/iteration" if self.mca.iterations > 1 else "cycles of one run"
        return (f"{self.model}: " if named else "") + (
            f"llvm-mca -mcpu={self.mca.mcpu} {unit} {self.mca.before:g} -> {self.mca.after:g} "
            f"({change(self.mca.before, self.mca.after)})")

    def warning(self) -> str | None:
        """The warning line when our figure and llvm-mca's disagree on the direction, else None."""
        if not self.disagree:
            return None
        assert self.mca is not None
        return (f"warning: {self.model}: our model and llvm-mca disagree: {self.figure} "
                f"{WORDS[direction(self.before, self.after)]} ({self.before:g} -> {self.after:g}), llvm-mca "
                f"-mcpu={self.mca.mcpu} {WORDS[direction(self.mca.before, self.mca.after)]} "
                f"({self.mca.before:g} -> {self.mca.after:g})")

    def to_json(self) -> dict:
        """The report's entry of this line (`headline.lines[]`)."""
        return {"model": self.model, "figure": self.figure, "before": self.before, "after": self.after,
                "bound": self.bound, "gain": round(self.gain, 4),
                "gap": None if self.gap is None else round(self.gap, 4),
                "mca": None if self.mca is None else self.mca.to_json(), "disagree": self.disagree}


@dataclass(frozen=True)
class Headline:
    """A run's answer to "is it faster?": one line per model and the status under the objective."""

    objective: str
    status: str
    lines: list[Line]
    in_order: bool  # every model an in-order core: out-of-order figures are not shown
    others: tuple[str, ...] = ()  # the other figures that mean something for the core, before -> after

    @property
    def gain(self) -> float:
        """The objective's gain: the worst model's with several models (the mean's under mean)."""
        gains = [ln.gain for ln in self.lines]
        if not gains:
            return 0.0
        return sum(gains) / len(gains) if self.objective == "mean" else min(gains)

    @property
    def gap(self) -> float | None:
        """The objective's gap: the largest of the models' (None when a model has no bound)."""
        gaps = [ln.gap for ln in self.lines]
        return None if not gaps or any(g is None for g in gaps) else max(g for g in gaps if g is not None)

    def text(self) -> list[str]:
        """The status, then per model its figure and llvm-mca's, then the warnings."""
        named = len(self.lines) > 1
        out = [f"{self.status} under --objective {self.objective}"]
        for ln in self.lines:
            out.append(f"  {ln.text(named)}")
            if (mca := ln.mca_text(named)) is not None:
                out.append(f"  {mca}")
        out += [f"  also (not the objective): {o}" for o in self.others]
        out += [w for ln in self.lines if (w := ln.warning())]
        return out

    def to_json(self) -> dict:
        """The report's `headline`."""
        return {"objective": self.objective, "status": self.status, "gain": round(self.gain, 4),
                "gap": None if self.gap is None else round(self.gap, 4), "in_order": self.in_order,
                "lines": [ln.to_json() for ln in self.lines], "others": list(self.others)}


def _mca_of(doc: dict, model: str) -> McaFigure | None:
    for m in doc.get("mca") or []:
        if m["model"] == model and m.get("before") is not None:
            return McaFigure(m["mcpu"], m["iterations"], m["before"], m["after"])
    return None


def figure_key(figure_label: str) -> str:
    """A per-model row's figure (multimodel.py names it) as an objective."""
    return "inorder" if figure_label.startswith("in-order") else "ooo"


def headline(doc: dict) -> Headline:
    """The headline of an optimisation report (`report_json`'s document, with `mca` if measured)."""
    objective = doc["options"]["objective"]
    if doc.get("models"):
        lines = []
        for row in doc["models"]:
            key = figure_key(row["figure"])
            lines.append(Line(row["model"], FIGURES[key].label, row["before"][key], row["after"][key],
                              row["bound"], _mca_of(doc, row["model"])))
        in_order = all(figure_key(r["figure"]) == "inorder" for r in doc["models"])
        others: tuple[str, ...] = ()
    else:
        kind = FIGURES[objective]
        lines = [Line(doc["model"], kind.label, doc[kind.before], doc[kind.after],
                      doc[kind.bound] if kind.bound else None, _mca_of(doc, doc["model"]))]
        in_order = bool(doc.get("in_order"))
        others = tuple(f"{k.label} {doc[k.before]:g} -> {doc[k.after]:g} ({change(doc[k.before], doc[k.after])})"
                       for name, k in FIGURES.items()
                       if name != objective and not (in_order and k.out_of_order) and k.before in doc)
    claimed = doc.get("search_status", doc["status"])
    shown = claimed
    for ln in lines:
        shown = status(shown, ln.gap)
    return Headline(objective, shown, lines, in_order, others)


def block_figure(block: dict, objective: str) -> tuple[float, float, float | None]:
    """(before, after, bound) of one block's objective figure (one model; the first model's
    own figure under worst/mean)."""
    if block.get("per_model"):
        row = block["per_model"][0]
        key = figure_key(row["figure"])
        return row["before"][key], row["after"][key], row["bound"]
    kind = FIGURES[objective]
    return block[kind.before], block[kind.after], block[kind.bound] if kind.bound else None


def mca_iterations(objective: str, in_order_core: bool) -> int:
    """llvm-mca's iterations comparable with a model's figure under the objective: one run for
    in-order cycles and a single run, 100 for the steady state."""
    if in_order_core:
        return 1
    return FIGURES[objective].mca_iterations if objective in FIGURES else MCA_STEADY_ITERATIONS


def mca_figures(blocks_before: Sequence[Sequence], blocks_after: Sequence[Sequence], models: Sequence,
                objective: str, notes: list[str]) -> list[dict]:
    """llvm-mca's figure before and after for each model's -mcpu, summed over the blocks: cycles
    per iteration (total cycles of one run for in-order and single-run figures). Empty without
    llvm-mca; a model without a -mcpu, or a failing llvm-mca, gets no entry (and a note)."""
    from scheduler.machine.mca import find_llvm_mca, mcpu_for, run_mca

    if find_llvm_mca() is None or not blocks_before:
        return []
    runs = []  # (model, mcpu, iterations) that have a -mcpu
    for m in models:
        mcpu = mcpu_for(m.name)
        if mcpu is None:
            notes.append(f"llvm-mca: no -mcpu known for {m.name}")
            continue
        runs.append((m, mcpu, mca_iterations(objective, m.in_order)))

    def total(blocks: Sequence[Sequence], mcpu: str, iterations: int) -> int:
        results = [run_mca([str(i) for i in b], iterations=iterations, mcpu=mcpu) for b in blocks if b]
        return sum(r.total_cycles for r in results if r is not None)

    # llvm-mca is a separate process: before and after (and every model) run at once, so the
    # headline costs the command one llvm-mca run of wall time, not two per model (issue 28)
    with ThreadPoolExecutor(max_workers=max(1, 2 * len(runs))) as pool:
        futures = [(m, mcpu, n, [pool.submit(total, blocks, mcpu, n) for blocks in (blocks_before, blocks_after)])
                   for m, mcpu, n in runs]
        out = []
        for m, mcpu, iterations, pair in futures:
            try:
                sums = [round(f.result() / iterations, 2) for f in pair]
            except (RuntimeError, OSError) as e:
                notes.append(f"llvm-mca failed: {e}")
                continue
            out.append({"model": m.name, "mcpu": mcpu, "iterations": iterations, "before": sums[0], "after": sums[1]})
    return out


def attach(doc: dict) -> Headline:
    """Put the headline's figures into a report: `headline`, and `status`, `gain`, `gap` and
    `figure` of the objective (the search's own claim stays in `search_status`)."""
    doc.setdefault("search_status", doc["status"])
    h = headline(doc)
    doc["headline"] = h.to_json()
    doc["status"] = h.status
    doc["gain"] = round(h.gain, 4)
    doc["gap"] = None if h.gap is None else round(h.gap, 4)
    doc["figure"] = h.lines[0].figure if len(h.lines) == 1 else "per model"
    return h
