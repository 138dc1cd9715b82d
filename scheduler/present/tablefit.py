"""Tables that fit the console's width (COLUMNS; 80 when not a terminal).

A table is built from columns with a priority: when the natural width exceeds the console,
the least important columns go first; then names (file paths, kernels) are shortened from
the left at a path separator (`.../dir/kernel.s`), never broken inside a word; prose cells
wrap at spaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NAME_FLOOR = 24  # a name is shortened to this before columns that say more are dropped
ELLIPSIS = "..."  # (ASCII: `…` reads as rich's own truncation mark)


@dataclass(frozen=True)
class Col:
    """A column of a fitted table: header, justification, drop priority, kind and minimum width."""

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

    t = Table(title=escape(title) if title else None, caption=caption, box=box.SIMPLE_HEAD, padding=(0, 0),
              pad_edge=False, show_edge=False)  # (columns one space apart: the box's own separator)
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
    styles = list(styles) if styles is not None else [None] * len(rows)
    keep = list(range(len(cols)))

    def build(name_width: int | None):
        return _table([cols[i] for i in keep], [[r[i] for i in keep] for r in rows], title, caption,
                      name_width, styles)

    def width(_t) -> int:
        """The kept columns' width, one space apart: values and names whole (at the current
        limit), headers whole, prose at its longest word."""
        total = len(keep) - 1
        for i in keep:
            cells = [r[i] for r in rows]
            if cols[i].kind == "prose":
                w = max((len(x) for v in cells for x in v.split()), default=0)
            else:
                w = max((min(len(v), limit) if cols[i].kind == "name" else len(v) for v in cells), default=0)
            total += max(w, len(cols[i].header), cols[i].min_width)
        return total

    names = [len(r[i]) for r in rows for i in range(len(cols)) if cols[i].kind == "name"]
    limit = max(names, default=0)
    t = build(limit)

    def drop(at_least: int) -> None:
        nonlocal t
        while width(t) > console.width and any(cols[i].priority >= at_least for i in keep):
            keep.remove(max((i for i in keep if cols[i].priority >= at_least), key=lambda i: (cols[i].priority, i)))
            t = build(limit)

    def shrink(floor: int) -> None:
        nonlocal t, limit
        if width(t) > console.width and limit > floor:
            limit = max(floor, limit - (width(t) - console.width))
            t = build(limit)

    drop(4)  # the least useful columns first,
    shrink(NAME_FLOOR)  # then long names down to a readable length,
    drop(1)  # then the other optional columns,
    shrink(8)  # then names as far as it takes
    return t
