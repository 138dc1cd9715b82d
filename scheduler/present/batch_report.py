"""The end-of-batch table (terminal) and HTML report (plotly, JS inline: works offline)."""

from __future__ import annotations

import html
from pathlib import Path

from scheduler.present.outfiles import write_atomic

CAPTION = ("gain, gap and status of each objective's figure against its own bound, as defined in "
           "docs/figures.md; llvm-mca with the model's -mcpu")
SHORT = {"in-order cycles": "in-ord", "OoO cycles/iteration": "OoO/it", "OoO single run cycles": "single"}


def figure_rows(r: dict) -> list[dict]:
    """A batch row's objective figures (one per model), from its report's headline
    (present/figures.py); empty for a failed task or a report without them."""
    h = r.get("headline") if r["status"] == "ok" else None
    return [] if h is None else h["lines"]


def _cells(r: dict) -> list[list[str]]:
    """The table's rows for one kernel: one per model (each naming its model with several)."""
    lines = figure_rows(r)
    if not lines:
        return [[r["name"], r["objective"], "", "", r["status"], *["-"] * 7]]
    out = []
    status = r["headline"]["status"]
    for k, ln in enumerate(lines):
        mca = ln.get("mca")
        out.append([r["name"] if k == 0 else "", r["objective"] if k == 0 else "",
                    ln["model"], SHORT.get(ln["figure"], ln["figure"]), status if k == 0 else "",
                    f"{ln['before']:g}", f"{ln['after']:g}", f"{ln['gain']:.1%}",
                    "-" if ln["bound"] is None else f"{ln['bound']:g}",
                    "-" if ln["gap"] is None else f"{ln['gap']:.1%}",
                    "-" if mca is None else f"{mca['before']:g}>{mca['after']:g}"
                    + ("!" if ln.get("disagree") else ""),
                    f"{r['seconds']:.1f}" if k == 0 else ""])
    return out


def print_table(rows: list[dict], console) -> None:
    """The best result per kernel, fitted to the console (COLUMNS; names shortened, never cut
    mid-word): the objective's figure before and after, gain, bound and gap as defined in
    present/figures.py, llvm-mca's before>after for the model's -mcpu."""
    from scheduler.present.tablefit import Col, fit_table

    several = any(len(figure_rows(r)) > 1 for r in rows)
    cols = [Col("kernel", "left", 0, "name", min_width=8), Col("obj", "left"),
            Col("model", "left", 0 if several else 3),
            Col("figure", "left", 4), Col("status", "left"), Col("before"), Col("after"), Col("gain"),
            Col("bound", priority=2), Col("gap"), Col("llvm-mca"), Col("s", priority=5)]
    table_rows, styles = [], []
    for r in rows:
        for cells in _cells(r):
            table_rows.append(cells)
            styles.append(None if r["status"] == "ok" else "red")
    if not any(r.get("headline") and any(ln.get("mca") for ln in r["headline"]["lines"]) for r in rows):
        cols.pop(10)  # no llvm-mca on this machine
        table_rows = [c[:10] + c[11:] for c in table_rows]
    t = fit_table(console, cols, table_rows, title="scheduler batch: best verified and proved result per kernel",
                  caption="figure: what the objective optimises (in-ord: in-order cycles of one run; OoO/it: "
                          "out-of-order cycles/iteration; single: one cold run); gain, gap and status of that "
                          "figure against its own bound (docs/figures.md); llvm-mca: before>after with the "
                          "model's -mcpu, ! where it disagrees on the direction", styles=styles)
    console.print(t)


def write_html(path: Path, rows: list[dict], title: str = "scheduler batch") -> None:
    """Write the HTML report of a batch to `path`: figures before/after, llvm-mca, gaps and wall times, then a table."""
    import plotly.graph_objects as go

    ok = [r for r in rows if figure_rows(r)]
    names = [r["name"] for r in ok]
    first = [figure_rows(r)[0] for r in ok]  # the (first) model's objective figure
    figs = []
    f = go.Figure([go.Bar(name="before", x=names, y=[ln["before"] for ln in first]),
                   go.Bar(name="after", x=names, y=[ln["after"] for ln in first]),
                   go.Scatter(name="lower bound", x=names, y=[ln["bound"] for ln in first], mode="markers")])
    f.update_layout(title="The objective's figure before / after per kernel (its unit in the table)",
                    barmode="group", yaxis_title="cycles")
    figs.append(f)
    with_mca = [(n, ln["mca"]) for n, ln in zip(names, first, strict=True) if ln.get("mca")]
    if with_mca:
        f = go.Figure([go.Bar(name="before", x=[n for n, _ in with_mca], y=[m["before"] for _, m in with_mca]),
                       go.Bar(name="after", x=[n for n, _ in with_mca], y=[m["after"] for _, m in with_mca])])
        f.update_layout(title="llvm-mca before / after (the model's -mcpu)", barmode="group", yaxis_title="cycles")
        figs.append(f)
    gaps = [ln["gap"] for ln in first]
    f = go.Figure([go.Bar(x=names, y=[None if g is None else 100 * g for g in gaps])])
    f.update_layout(title="Gap of the objective's figure to its bound (docs/figures.md)", yaxis_title="%")
    figs.append(f)
    f = go.Figure([go.Bar(x=names, y=[r["seconds"] for r in ok])])
    f.update_layout(title="Task wall time per kernel (this batch; the best run's if skipped)", yaxis_title="s")
    figs.append(f)
    parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figs)]
    head = ("<tr>" + "".join(f"<th>{c}</th>" for c in ("kernel", "objective", "model", "figure", "status",
                                                        "before", "after", "gain", "bound", "gap",
                                                        "llvm-mca before>after", "seconds")) + "</tr>")
    body = []
    for r in rows:
        for cells in _cells(r):
            if len(cells) == 12:
                cells[10] = cells[10].replace("!", " (disagrees)")
            body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           "<style>body{font-family:sans-serif} table{border-collapse:collapse} "
           "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>"
           f"<h1>{html.escape(title)}</h1><p>{CAPTION}</p><table>{head}{''.join(body)}</table>"
           + "".join(parts) + "</body></html>\n")
    write_atomic(path, doc)
