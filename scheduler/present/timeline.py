"""Timeline pictures of in-order schedules: Gantt charts per pipe, and a text timeline.

A schedule is a block's instructions in program order, timed by the in-order issue
model (`evaluate.inorder`). The evaluator books pipe *types* (S x2, M, L x2, ...);
for a picture each reservation is placed post hoc on one *unit* of its type (S0, S1,
M, L0, L1, ...): reservations are taken by start cycle, most constrained first, each
on the first free unit of an allowed type (a single-cycle reservation in the way is
moved to another free unit when that makes room).

Files (chosen by extension):
  .html  interactive, self-contained (plotly, the library embedded): one bar per pipe
         reservation, the instruction's text, issue cycle, latency and wait on hover;
  .svg / .png  static (matplotlib, Agg backend): each bar labelled with the
         instruction's index and mnemonic, a key with the full text beside each chart
         (for blocks of at most MAX_KEY_LINES instructions; bar labels only while a
         cycle is wide enough for one).
Bars are coloured by the instruction's model class; instructions on the block's
critical path (the longest latency chain of its dependency DAG) have a thick black
outline. Several schedules are stacked, one chart each, on a common cycle axis.

Text timeline (`text_timeline`), one row per instruction, one character per cycle:
  ' '  before the previous instruction issued (in-order issue: not yet considered)
  '.'  waiting to issue (operand, pipe or issue width: see the `wait` column)
  'D'  the issue cycle
  'e'  in flight (issue + 1 .. issue + latency - 1)
  'E'  the result is ready (issue + latency): a dependent instruction may issue here
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.core.errors import SchedulerError
from scheduler.frontend.ir import Instruction
from scheduler.machine.evaluate import BlockTiming, inorder, prepare
from scheduler.machine.model import Model
from scheduler.present.tablefit import shorten

FORMATS = (".html", ".svg", ".png")
MAX_CHART_INCHES = 48.0  # static charts: wider blocks get narrower cycles (and no bar labels)
MAX_KEY_LINES = 240  # static charts: larger blocks get no key beside the chart


class TimelineError(SchedulerError):
    """A timeline cannot be drawn or written (exit 2)."""

    pass


def check_path(path: str | Path) -> Path:
    """The timeline path, or a TimelineError (exit code 2) for an unsupported extension."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise TimelineError(f"{path}: unsupported timeline format '{p.suffix or '(none)'}': "
                            f"use {', '.join(FORMATS)}")
    return p


# ------------------------------------------------------------------ pipe units


def pipe_units(model: Model) -> list[tuple[str, str]]:
    """(unit name, pipe type) for every pipe of the model: S0, S1, M, L0, L1, ..."""
    out = []
    for ptype, count in model.pipes.items():
        out += [(ptype, ptype)] if count == 1 else [(f"{ptype}{i}", ptype) for i in range(count)]
    return out


@dataclass
class Booking:
    """One pipe reservation placed on a unit: whose it is, the unit, its start cycle and busy cycles."""

    instr: int  # index of the instruction in the block
    reservation: int  # index of the reservation within the instruction
    unit: str
    ptype: str
    start: int
    busy: int
    overflow: bool = False  # no free unit found (the evaluator's booking could not be reproduced)


def assign_units(bt: BlockTiming, issue: Sequence[int], model: Model) -> list[Booking]:
    """Place every pipe reservation of the schedule (`issue` cycles) on a concrete unit."""
    units = pipe_units(model)
    of_type: dict[str, list[str]] = {}
    for u, t in units:
        of_type.setdefault(t, []).append(u)
    names = list(model.pipes)
    busy_at: dict[str, dict[int, Booking]] = {u: {} for u, _ in units}
    items = []
    for k in range(bt.n):
        for r, (types, busy) in enumerate(bt.reservations[k]):
            allowed = [u for ti in types for u in of_type[names[ti]]]
            items.append((issue[k], len(allowed), -busy, k, r, allowed, busy))
    items.sort(key=lambda x: x[:5])
    out: list[Booking] = []

    def free(unit: str, start: int, busy: int) -> bool:
        occ = busy_at[unit]
        return all(c not in occ for c in range(start, start + busy))

    def allowed_units(b: Booking) -> list[str]:
        types, _ = bt.reservations[b.instr][b.reservation]
        return [u for ti in types for u in of_type[names[ti]]]

    def place(b: Booking, unit: str) -> None:
        b.unit, b.ptype = unit, dict(units)[unit]
        for c in range(b.start, b.start + b.busy):
            busy_at[unit][c] = b

    for start, _, _, k, r, allowed, busy in items:
        b = Booking(k, r, "", "", start, busy)
        unit = next((u for u in allowed if free(u, start, busy)), None)
        if unit is None:  # make room: move single-cycle bookings in the way to another free unit
            for u in allowed:
                blockers = {id(x): x for c in range(start, start + busy)
                            if (x := busy_at[u].get(c)) is not None}.values()
                if not all(x.busy == 1 for x in blockers):
                    continue
                moves: list[tuple[Booking, str]] = []
                for x in blockers:
                    alt = next((v for v in allowed_units(x) if v != u and free(v, x.start, 1)
                                and all(m[1] != v or m[0].start != x.start for m in moves)), None)
                    if alt is None:
                        break
                    moves.append((x, alt))
                else:
                    for x, alt in moves:
                        del busy_at[u][x.start]
                        place(x, alt)
                    unit = u
                    break
        if unit is None:
            unit = allowed[0]
            b.overflow = True
            b.unit, b.ptype = unit, dict(units)[unit]
        else:
            place(b, unit)
        out.append(b)
    out.sort(key=lambda b: (b.instr, b.reservation))
    return out


def busy_per_type(bookings: Sequence[Booking], model: Model) -> dict[str, int]:
    """Busy cycles booked per pipe type."""
    out = {t: 0 for t in model.pipes}
    for b in bookings:
        out[b.ptype] += b.busy
    return out


# ------------------------------------------------------------------ schedules


def critical_instructions(bt: BlockTiming) -> set[int]:
    """The instructions of one longest latency chain of the block's dependency DAG (the
    critical path: RAW edges weigh their latency, ordering edges 0, the last instruction
    its own latency). Among equally long chains the one starting earliest in the block."""
    from scheduler.machine.bounds import heads, tails

    if bt.n == 0:
        return set()
    h, t = heads(bt), tails(bt)
    cp = max(a + b for a, b in zip(h, t, strict=True))
    succ: list[list[tuple[int, int]]] = [[] for _ in range(bt.n)]
    for v in range(bt.n):
        for u, lat in bt.raw[v]:
            succ[u].append((v, lat))
        for u in bt.order[v]:
            succ[u].append((v, 0))
    k = next(k for k in range(bt.n) if h[k] == 0 and t[k] == cp)
    chain = {k}
    while True:
        nxt = sorted(v for v, lat in succ[k] if h[v] == h[k] + lat and t[k] == lat + t[v])
        if not nxt:
            return chain
        k = nxt[0]
        chain.add(k)


@dataclass
class ScheduleView:
    """One schedule ready to draw: its in-order timing, pipe units and waits."""

    title: str
    instrs: list[Instruction]
    bt: BlockTiming
    issue: list[int]
    cycles: int
    bookings: list[Booking]
    critical: set[int]
    waits: list = field(default_factory=list)  # stalls.InstrWait per instruction


def build_view(title: str, instrs: Sequence[Instruction], model: Model, noalias=()) -> ScheduleView:
    """The in-order schedule of `instrs` (program order) under `model`, with pipe units, critical path and stalls."""
    from scheduler.machine.stalls import attribute_stalls

    bt = prepare(list(instrs), model, noalias)
    order = list(range(bt.n))
    res = inorder(bt, order, model)
    stalls = attribute_stalls(bt, order, model, res.issue)
    return ScheduleView(title, list(instrs), bt, res.issue, res.cycles, assign_units(bt, res.issue, model),
                        critical_instructions(bt), stalls.per_instruction)


def _wait_text(w) -> str:
    if w is None or w.total == 0:
        return ""
    parts = [f"{name} {v}" for name, v in (("operand", w.operand), ("pipe", w.pipe),
                                           ("issue width", w.issue_width), ("other", w.other)) if v]
    return f"waited {w.total}: " + ", ".join(parts)


def bar_records(view: ScheduleView) -> list[dict]:
    """One record per pipe reservation: what the charts draw (also handy for tests)."""
    out = []
    for b in view.bookings:
        k = b.instr
        tm = view.bt.timings[k]
        w = view.waits[k] if view.waits else None
        out.append({
            "instr": k, "text": str(view.instrs[k]), "label": f"{k} {view.instrs[k].mnemonic}",
            "cls": tm.cls, "unit": b.unit, "start": b.start, "busy": b.busy,
            "issue": view.issue[k], "latency": tm.latency, "critical": k in view.critical,
            "wait": _wait_text(w),
        })
    return out


# ------------------------------------------------------------------ drawing


def _class_colours(classes: Iterable[str]) -> dict[str, str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmaps = [colormaps["tab20"], colormaps["tab20b"], colormaps["tab20c"]]
    palette = [to_hex(cm(i)) for cm in cmaps for i in range(cm.N)]
    return {c: palette[i % len(palette)] for i, c in enumerate(sorted(classes))}


def draw(views: Sequence[ScheduleView], model: Model, path: str | Path) -> Path:
    """Write the views as stacked Gantt charts to `path` (.html, .svg or .png)."""
    p = check_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".html":
        _draw_plotly(views, model, p)
    else:
        _draw_matplotlib(views, model, p)
    return p


def _hover(r: dict) -> str:
    lines = [f"<b>[{r['instr']}] {html.escape(r['text'])}</b>", f"class {r['cls']} on {r['unit']}",
             f"issue {r['issue']}, pipe busy {r['busy']}, latency {r['latency']} (ready {r['issue'] + r['latency']})"]
    if r["wait"]:
        lines.append(r["wait"])
    if r["critical"]:
        lines.append("on the critical path")
    return "<br>".join(lines)


def _draw_plotly(views: Sequence[ScheduleView], model: Model, path: Path) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    records = [bar_records(v) for v in views]
    used = {r["unit"] for rs in records for r in rs}
    units = [u for u, _ in pipe_units(model) if u in used] or [u for u, _ in pipe_units(model)]
    colours = _class_colours({r["cls"] for rs in records for r in rs})
    xmax = max((v.cycles for v in views), default=1)
    fig = make_subplots(rows=len(views), cols=1, shared_xaxes=True, vertical_spacing=0.3 / max(len(views), 1),
                        subplot_titles=[f"{v.title}: {v.cycles} cycles in order" for v in views])
    shown: set[str] = set()
    for row, rs in enumerate(records, start=1):
        for cls in sorted({r["cls"] for r in rs}):
            sel = [r for r in rs if r["cls"] == cls]
            fig.add_trace(go.Bar(
                orientation="h", y=[r["unit"] for r in sel], x=[r["busy"] for r in sel],
                base=[r["start"] for r in sel], name=cls, legendgroup=cls, showlegend=cls not in shown,
                marker={"color": colours[cls],
                        "line": {"color": ["black" if r["critical"] else "rgba(0,0,0,0.25)" for r in sel],
                                 "width": [2.5 if r["critical"] else 0.5 for r in sel]}},
                text=[str(r["instr"]) for r in sel], textposition="inside", insidetextanchor="middle",
                hovertext=[_hover(r) for r in sel], hoverinfo="text",
                customdata=[r["instr"] for r in sel]), row=row, col=1)
            shown.add(cls)
        fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(units)), row=row, col=1,
                         title_text="pipe")
        fig.update_xaxes(range=[0, xmax + 1], row=row, col=1, showticklabels=True)
    fig.update_xaxes(title_text="cycle", row=len(views), col=1)
    fig.update_layout(barmode="overlay", bargap=0.15, height=120 + 340 * len(views),
                      title="In-order schedules per pipe (thick outline: critical path; hover a bar for its "
                            "instruction)", legend_title_text="class", hoverlabel={"font_family": "monospace"})
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)


def _draw_matplotlib(views: Sequence[ScheduleView], model: Model, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    records = [bar_records(v) for v in views]
    used = {r["unit"] for rs in records for r in rs}
    units = [u for u, _ in pipe_units(model) if u in used] or [u for u, _ in pipe_units(model)]
    row_of = {u: len(units) - 1 - i for i, u in enumerate(units)}
    colours = _class_colours({r["cls"] for rs in records for r in rs})
    xmax = max((v.cycles for v in views), default=1) + 1
    nmax = max((len(v.instrs) for v in views), default=1)
    chart_w = min(MAX_CHART_INCHES, max(10.0, 0.17 * xmax))
    labels = chart_w / xmax >= 0.09  # room for a rotated label in a one-cycle bar
    with_key = nmax <= MAX_KEY_LINES
    key_cols = max(1, -(-nmax // 60)) if with_key else 1  # the key: at most 60 lines a column
    key_w = 2.6 * key_cols if with_key else 0.1
    chart_h = max(0.42 * len(units) + 1.2, 0.11 * min(nmax, 60) + 0.8 if with_key else 0.0)
    plt.rcParams["svg.fonttype"] = "none"  # text stays text in SVG (searchable, selectable)
    fig, axes = plt.subplots(len(views), 2, squeeze=False, figsize=(chart_w + key_w, chart_h * len(views) + 0.8),
                             gridspec_kw={"width_ratios": [chart_w, key_w]})
    for (ax, kax), view, rs in zip(axes, views, records, strict=True):
        for j, r in enumerate(rs):
            y = row_of[r["unit"]]
            rect = Rectangle((r["start"], y - 0.4), r["busy"], 0.8, facecolor=colours[r["cls"]],
                             edgecolor="black" if r["critical"] else "#555555",
                             linewidth=(1.8 if r["critical"] else 0.4) if labels else (0.6 if r["critical"] else 0))
            rect.set_gid(f"bar-{view.title}-{r['instr']}-{j}".replace(" ", "_"))
            ax.add_patch(rect)
            if labels:
                ax.text(r["start"] + r["busy"] / 2, y, r["label"], rotation=90, ha="center", va="center",
                        fontsize=5.5, family="monospace", clip_on=True)
        ax.set_xlim(0, xmax)
        ax.set_ylim(-0.6, len(units) - 0.4)
        ax.set_yticks(range(len(units)))
        ax.set_yticklabels(list(reversed(units)), family="monospace")
        ax.set_ylabel("pipe")
        ax.set_xlabel("cycle")
        ax.set_title(f"{view.title}: {view.cycles} cycles in order", loc="left", fontsize=10)
        ax.grid(axis="x", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        if xmax <= 400:
            ax.xaxis.set_major_locator(matplotlib.ticker.MultipleLocator(10 if xmax > 40 else 5))
            ax.xaxis.set_minor_locator(matplotlib.ticker.MultipleLocator(1))
        # the key: the full text of every instruction, by index
        kax.axis("off")
        if not with_key:
            continue
        per_col = -(-len(view.instrs) // key_cols) if view.instrs else 1
        for k, ins in enumerate(view.instrs):
            col, line = divmod(k, per_col)
            crit = k in view.critical
            kax.text(col / key_cols, 1 - (line + 0.5) / max(per_col, 1), f"{k:3d} {ins}", fontsize=5.5,
                     family="monospace", va="center", transform=kax.transAxes,
                     fontweight="bold" if crit else "normal")
    handles = [Patch(facecolor=c, edgecolor="#555555", label=cls) for cls, c in colours.items()]
    handles.append(Patch(facecolor="white", edgecolor="black", linewidth=1.8, label="critical path (bold in key)"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 8), fontsize=7, frameon=False)
    fig.suptitle("In-order schedules per pipe: bars = pipe busy cycles, label = index and mnemonic", fontsize=11)
    fig.tight_layout(rect=(0, 0.6 / (chart_h * len(views) + 0.8), 1, 0.97))
    fig.savefig(path, dpi=110 if path.suffix.lower() == ".png" else None)
    plt.close(fig)


# ------------------------------------------------------------------ text timeline


MIN_INSTRUCTION_TEXT = 24  # characters of the instruction kept beside the cycles when narrow


def text_timeline(view: ScheduleView, cycles: int | None = None, width: int | None = None) -> str:
    """An llvm-mca-style timeline of one schedule (legend in the module docstring): at most
    `cycles` cycles (as llvm-mca's -timeline-max-cycles), and every line at most `width`
    characters (the cycles shown are cut to fit first, then the wait causes are left out,
    then long instructions are shortened)."""
    n = len(view.instrs)
    end = max([view.cycles] + [view.issue[k] + view.bt.timings[k].latency for k in range(n)])
    total = end + 1
    idx_w = len(f"[{max(n - 1, 0)}]")
    shown = total if cycles is None else max(1, min(cycles, total))
    texts = [str(ins) for ins in view.instrs]
    if width is not None:
        longest = min(max((len(t) for t in texts), default=0), MIN_INSTRUCTION_TEXT)
        shown = max(1, min(shown, width - idx_w - 4 - longest))
    about = f": {view.cycles} cycles in order" + (f" (cycles 0-{shown - 1} of {total} shown)" if shown < total else "")
    title = view.title if width is None else shorten(view.title, max(12, width - len(about)))
    lines = [title + about,  # (the file name gives way, never the figures)
             " " * idx_w + " " + "".join(str(c // 10 % 10) if c % 10 == 0 else " " for c in range(shown)),
             " " * idx_w + " " + "".join(str(c % 10) for c in range(shown))]
    prev = 0
    for k, text in enumerate(texts):
        line = f"{f'[{k}]':<{idx_w}} {_row(view, k, prev, total)[:shown]}  {'*' if k in view.critical else ' '}"
        wait = _wait_text(view.waits[k]) if view.waits else ""
        if width is not None and len(line) + len(text) > width:
            text = text[: max(4, width - len(line) - 3)] + "..."
        line += text
        if wait and (width is None or len(line) + len(wait) + 5 <= width):
            line += f"   ({wait})"
        lines.append(line)
        prev = view.issue[k]
    lines.append("legend: D issue, e in flight, E result ready, . waiting to issue, * critical path")
    if width is not None:
        lines = [ln[:width] if len(ln) > width and not ln.startswith("legend") else ln for ln in lines]
        if len(lines[-1]) > width:
            lines[-1:] = ["legend: D issue, e in flight, E result ready,",
                          "        . waiting to issue, * critical path"]
    return "\n".join(lines)


def _row(view: ScheduleView, k: int, prev: int, cols: int) -> str:
    """Instruction k's cycles: waiting since the previous issue, issue, in flight, ready."""
    t = view.issue[k]
    lat = view.bt.timings[k].latency
    row = [" "] * cols
    for c in range(prev, t):
        row[c] = "."
    for c in range(t + 1, t + lat):
        row[c] = "e"
    if lat >= 1:
        row[t + lat] = "E"
    row[t] = "D"
    return "".join(row)
