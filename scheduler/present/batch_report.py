"""The end-of-batch table (terminal) and HTML report (plotly, JS inline: works offline)."""

from __future__ import annotations

import html
from pathlib import Path

from scheduler.present.outfiles import write_atomic


def print_table(rows: list[dict], console) -> None:
    from rich.table import Table

    t = Table(title="scheduler batch: best verified and proved result per kernel")
    t.caption = "in-order: cycles of one run (in-order model); OoO: cycles/iteration (out-of-order model)"
    for col in ("kernel", "objective", "seed", "before", "after", "gain", "bound", "gap", "OoO before",
                "OoO after", "mca before", "mca after", "seconds"):
        t.add_column(col, justify="left" if col == "kernel" else "right", no_wrap=True)
    for r in rows:
        if r["status"] != "ok":
            t.add_row(r["name"], r["objective"], *["-"] * 10, style="red")
            continue
        t.add_row(r["name"], r["objective"], str(r["seed"]), str(r["cycles_before"]), str(r["cycles_after"]),
                  f"{_gain(r):.1%}", str(r["lower_bound"]), f"{r['gap']:.1%}", f"{r['ooo_before']:.1f}",
                  f"{r['ooo_after']:.1f}", _s(r["mca_before"]), _s(r["mca_after"]), f"{r['seconds']:.1f}")
    console.print(t)


def _gain(r: dict) -> float:
    return 1 - r["cycles_after"] / r["cycles_before"] if r["cycles_before"] else 0.0


def _s(v) -> str:
    return "-" if v is None else str(v)


def write_html(path: Path, rows: list[dict], title: str = "scheduler batch") -> None:
    import plotly.graph_objects as go

    ok = [r for r in rows if r["status"] == "ok"]
    names = [r["name"] for r in ok]
    figs = []
    f = go.Figure([go.Bar(name="before", x=names, y=[r["cycles_before"] for r in ok]),
                   go.Bar(name="after", x=names, y=[r["cycles_after"] for r in ok]),
                   go.Scatter(name="lower bound", x=names, y=[r["lower_bound"] for r in ok], mode="markers")])
    f.update_layout(title="In-order cycles before / after per kernel", barmode="group", yaxis_title="cycles")
    figs.append(f)
    f = go.Figure([go.Bar(name="before", x=names, y=[r["ooo_before"] for r in ok]),
                   go.Bar(name="after", x=names, y=[r["ooo_after"] for r in ok])])
    f.update_layout(title="Out-of-order cycles/iteration before / after", barmode="group", yaxis_title="cycles")
    figs.append(f)
    f = go.Figure([go.Bar(x=names, y=[100 * r["gap"] for r in ok])])
    f.update_layout(title="Gap to the lower bound (in-order)", yaxis_title="%")
    figs.append(f)
    f = go.Figure([go.Bar(x=names, y=[r["seconds"] for r in ok])])
    f.update_layout(title="Task wall time per kernel (this batch; the best run's if skipped)", yaxis_title="s")
    figs.append(f)
    parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figs)]
    head = ("<tr>" + "".join(f"<th>{c}</th>" for c in ("kernel", "objective", "status", "seed", "before", "after",
                                                        "gain", "bound", "gap", "OoO before", "OoO after",
                                                        "mca before", "mca after", "seconds")) + "</tr>")
    body = []
    for r in rows:
        if r["status"] != "ok":
            cells = [r["name"], r["objective"], r["status"]] + ["-"] * 11
        else:
            cells = [r["name"], r["objective"], "ok", r["seed"], r["cycles_before"], r["cycles_after"],
                     f"{_gain(r):.1%}", r["lower_bound"], f"{r['gap']:.1%}", r["ooo_before"], r["ooo_after"],
                     _s(r["mca_before"]), _s(r["mca_after"]), r["seconds"]]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           "<style>body{font-family:sans-serif} table{border-collapse:collapse} "
           "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>"
           f"<h1>{html.escape(title)}</h1><table>{head}{''.join(body)}</table>"
           + "".join(parts) + "</body></html>\n")
    write_atomic(path, doc)
