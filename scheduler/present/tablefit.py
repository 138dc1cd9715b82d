"""Tables that fit the console's width (COLUMNS; 80 when not a terminal).

A table is built from columns with a priority: when the natural width exceeds the console,
the least important columns go first; then names (file paths, kernels) are shortened from
the left at a path separator (`.../dir/kernel.s`), never broken inside a word; prose cells
wrap at spaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ELLIPSIS = "..."  # (ASCII: `…` reads as rich's own truncation mark)


@dataclass(frozen=True)
class Col:
    header: str
    justify: str = "right"
    priority: int = 0  # 0: always shown; higher numbers are dropped first
    kind: str = "value"  # value (never wraps), name (shortened from the left), prose (wraps at spaces)
    min_width: int = 0


def shorten(name: str, width: int) -> str:
    """`name` in at most `width` characters: leading path components replaced by `...`, then
    (a single component longer than that) its middle."""
    if len(name) <= width:
        return name
    parts = name.split("/")
    for k in range(1, len(parts)):
        tail = ELLIPSIS + "/" + "/".join(parts[k:])
        if len(tail) <= width:
            return tail
    last = parts[-1]
    if width <= len(ELLIPSIS) + 2:
        return last[: max(1, width)]
    keep = width - len(ELLIPSIS)
    return last[: keep // 2] + ELLIPSIS + last[len(last) - (keep - keep // 2):]


def _table(cols: Sequence[Col], rows: Sequence[Sequence[str]], title: str | None, caption: str | None,
           name_width: int | None, styles: Sequence[str | None]):
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(title) if title else None, caption=caption, box=box.SIMPLE_HEAD, padding=(0, 1),
              pad_edge=False, collapse_padding=True)
    for c in cols:
        t.add_column(escape(c.header), justify=c.justify,  # type: ignore[arg-type]
                     no_wrap=c.kind != "prose", overflow="fold", min_width=c.min_width or None)
    for row, style in zip(rows, styles, strict=True):
        cells = []
        for c, v in zip(cols, row, strict=True):
            if c.kind == "name" and name_width is not None:
                v = shorten(v, name_width)
            cells.append(escape(v))
        t.add_row(*cells, style=style)
    return t


def fit_table(console, cols: Sequence[Col], rows: Sequence[Sequence[str]], title: str | None = None,
              caption: str | None = None, styles: Sequence[str | None] | None = None):
    """A rich Table of the rows that fits `console.width`: optional columns dropped by priority,
    names shortened, prose wrapped."""
    from rich.measure import Measurement

    styles = list(styles) if styles is not None else [None] * len(rows)
    keep = list(range(len(cols)))
    wide = console.options.update_width(10_000)

    def build(name_width: int | None):
        return _table([cols[i] for i in keep], [[r[i] for i in keep] for r in rows], title, caption,
                      name_width, styles)

    def width(t) -> int:
        return Measurement.get(console, wide, t).minimum  # (prose columns wrap at spaces)

    t = build(None)
    while width(t) > console.width and any(cols[i].priority for i in keep):
        drop = max(keep, key=lambda i: (cols[i].priority, i))
        keep.remove(drop)
        t = build(None)
    names = [r[i] for r in rows for i in keep if cols[i].kind == "name"]
    if width(t) > console.width and names:
        longest = max(len(n) for n in names)
        excess = width(t) - console.width
        t = build(max(8, longest - excess))
    return t
