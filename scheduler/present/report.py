"""Reports of an optimisation: the JSON document and the terminal summary."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace

from rich.console import Console
from rich.table import Table

from scheduler import __version__
from scheduler.frontend.abi import ALWAYS_LIVE_OUT
from scheduler.machine.model import Model
from scheduler.present import figures
from scheduler.search.options import BlockResult, Options, Status

STATUS_RANK = {Status.OPTIMAL: 0, Status.FEASIBLE: 1, Status.FALLBACK: 2}


def overall_status(blocks: Sequence[BlockResult]) -> str:
    """The worst status of the blocks (OPTIMAL when there are none)."""
    return max((b.status for b in blocks), key=STATUS_RANK.__getitem__, default="OPTIMAL")


def model_digest(model: Model) -> str:
    """The first 16 hex digits of the SHA-256 of the model file."""
    return hashlib.sha256(model.path.read_bytes()).hexdigest()[:16]


def report_json(input_path: str, output_path: str | None, model: Model, opts: Options,
                blocks: Sequence[BlockResult]) -> dict:
    """The JSON report of an optimisation: input, output, model, options, totals and every block."""
    def total(attr):
        return sum(getattr(b, attr) for b in blocks)

    lb = total("lower_bound")
    after = total("cycles_after")
    block_docs = [_block_doc(b, opts.objective) for b in blocks]
    doc = {
        "tool": f"scheduler {__version__}",
        "input": input_path,
        "output": output_path,
        "model": model.name,
        "model_file": str(model.path),
        "model_sha256": model_digest(model),
        "options": {"time_limit": opts.time_limit, "workers": opts.workers, "seed": opts.seed,
                    "no_alias": sorted(opts.noalias), "slack": opts.slack, "rename": opts.rename,
                    "reserve": sorted(opts.reserve), "outputs": sorted(opts.outputs),
                    "fixup": opts.fixup, "rename_outputs": opts.rename_outputs,
                    "decompose": opts.decompose, "deterministic": opts.deterministic, "prove": opts.prove,
                    "objective": opts.objective, "all_outputs": opts.all_outputs},
        "instructions": total("instructions"),
        "cycles_before": total("cycles_before"),
        "cycles_after": after,
        "lower_bound": lb,
        "inorder_gap": round(after / lb - 1, 4) if lb else 0.0,
        "status": None,  # the status under the objective: figures.attach below (here for the key order)
        "search_status": overall_status(blocks),
        "in_order": model.in_order,
        "verified": all(b.verified for b in blocks),
        "proved": all(b.proved for b in blocks),
        "ooo_cycles_before": round(total("ooo_cycles_before"), 2),
        "ooo_cycles_after": round(total("ooo_cycles_after"), 2),
        "ooo_lower_bound": round(total("ooo_lower_bound"), 2),
        "ooo_single_before": total("ooo_single_before"),
        "ooo_single_after": total("ooo_single_after"),
        "solve_seconds": round(total("solve_seconds"), 3),
        "seconds": round(total("seconds"), 3),
        "blocks": block_docs,
    } | ({"models": per_model_totals(blocks)} if any(b.per_model for b in blocks) else {})
    figures.attach(doc)  # status, gain and gap of the objective's figure (present/figures.py)
    return doc


def per_model_totals(blocks: Sequence[BlockResult]) -> list[dict]:
    """Several models (multimodel.py): each model's figures summed over the blocks, and its
    normalised figure (after over its own best, both summed)."""
    out = []
    for j, first in enumerate(blocks[0].per_model if blocks else []):
        docs = [b.per_model[j] for b in blocks]
        row = {"model": first["model"], "figure": first["figure"]}
        for when in ("before", "after"):
            row[when] = {k: round(sum(d[when][k] for d in docs), 2) for k in ("inorder", "ooo", "single")}
        row["own_best"] = round(sum(d["own_best"] for d in docs), 2)
        key = "inorder" if first["figure"].startswith("in-order") else "ooo"
        row["normalised"] = round(row["after"][key] / row["own_best"], 4) if row["own_best"] else 1.0
        row["bound"] = round(sum(d["bound"] for d in docs), 2)
        out.append(row)
    return out


def _block_doc(b: BlockResult, objective: str) -> dict:
    # (not asdict(b): it would deep-convert every output instruction, 0.3 s on 1,000 of them,
    # to pop them; --judge bench's alternatives: only what was measured is reported)
    doc = asdict(replace(b, instructions_after=[], alternatives=[]))
    doc.pop("instructions_after")
    doc.pop("alternatives")
    if doc.get("measured") is None:
        doc.pop("measured", None)
    doc["inorder_gap"] = round(b.gap, 4)
    before, after, bound = figures.block_figure(doc, objective)
    gap = figures.gap(after, bound)
    doc["gain"] = round(figures.gain(before, after), 4)
    doc["gap"] = None if gap is None else round(gap, 4)
    doc["search_status"] = b.status
    doc["status"] = figures.status(b.status, gap)
    return doc


# wall seconds of the headline's llvm-mca runs per instruction and model (before and after at
# once, 100 iterations: about 0.45 s for 1,116 instructions on a 2-core VM)
MCA_SECONDS_PER_INSTR = 0.0004


def add_mca(doc: dict, blocks_before: Sequence[Sequence], results: Sequence[BlockResult],
            models: Sequence[Model], time_left: float | None = None) -> None:
    """llvm-mca's before and after beside the objective's figure (when llvm-mca-19 is on PATH),
    and the headline again with them. `time_left`: seconds of the command's --time-limit left;
    when the llvm-mca runs would not fit, they are skipped with a note."""
    notes: list[str] = []
    need = MCA_SECONDS_PER_INSTR * sum(r.instructions for r in results) * len(models)
    if time_left is not None and need > time_left:
        doc["mca"] = []
        notes.append(f"llvm-mca not run: about {need:.1f} s of it would pass the --time-limit "
                     f"({max(0.0, time_left):.1f} s left)")
    else:
        doc["mca"] = figures.mca_figures([blocks_before[r.index] for r in results],
                                         [r.instructions_after for r in results], models,
                                         doc["options"]["objective"], notes)
    if notes:
        doc.setdefault("notes", []).extend(notes)
    figures.attach(doc)


def register_order(name: str) -> tuple[str, int, str]:
    """x2 before x10; names without a number (sp, nzcv) after the numbered ones of their letter."""
    digits = name[1:]
    return (name[0], int(digits) if digits.isdigit() else 1 << 30, name)


def header_lines(model: Model, doc: dict) -> list[str]:
    """The comment lines written at the top of an optimised file: tool, target, status, figures and `@outputs`."""
    renamed = [b for b in doc["blocks"] if b["renamed"]]
    outputs = []
    if renamed:
        live = sorted({b["output_map"].get(r, r) for b in renamed for r in b["live_out"]
                       if r not in ALWAYS_LIVE_OUT}, key=register_order)  # (those are always compared)
        # registers were re-assigned: only these (with memory and callee-saved registers) keep
        # their meaning, which `scheduler verify` reads from this annotation
        outputs = [f"// @outputs {', '.join(live) if live else 'none'}"]
        outputs += [f"// output {a} is now in {b} (--rename-outputs)"
                    for blk in renamed for a, b in sorted(blk["output_map"].items())]
    # what ran: random-trial verification (unless --verify-trials 0) and the certificate proof
    checked = " and ".join(w for w, ran in (("verified", doc.get("verified")), ("proved", doc.get("proved"))) if ran)
    checked = checked or "unchecked"
    target = f"model {model.name}"
    if doc.get("models"):
        target = f"{len(doc['models'])} models"  # (each named on its own line below)
    h = figures.headline(doc)
    objective = doc["options"]["objective"]
    lines = [f"// Scheduled by {doc['tool']} for {target} ({doc['status']}, {checked}).",
             *[f"// Objective {objective}: {ln.text(len(h.lines) > 1)}." for ln in h.lines],
             *[f"// {text}." for ln in h.lines if (text := ln.mca_text(False))]]
    if not h.in_order and not doc.get("models") and doc["options"]["objective"] != "inorder":
        # an out-of-order core: the issue model's cycles (what CP-SAT optimises) as well
        lines.append(f"// In-order cycles {doc['cycles_before']} -> {doc['cycles_after']} "
                     f"(lower bound {doc['lower_bound']}).")
    return lines + outputs


def _summary_columns(doc: dict) -> list[tuple[str, Callable[[dict], str]]]:
    """(header, cell of a block or the totals) of the summary table: the objective's figure
    first, then the other figures that mean something for the core (no out-of-order figure
    for an in-order core)."""
    objective = doc["options"]["objective"]
    h = figures.headline(doc)
    one = len(h.lines) == 1
    short = {"inorder": "in-order", "ooo": "OoO", "single": "single"}
    name = short.get(objective, "figure") if one else h.lines[0].model.split("-")[-1]

    def fig(d, when):
        if "blocks" in d:  # the totals: the headline's (first) line
            return getattr(h.lines[0], when)
        before, after, bound = figures.block_figure(d, objective)
        return {"before": before, "after": after, "bound": bound}[when]

    cols: list[tuple[str, Callable[[dict], str]]] = [
        ("block", lambda d: "total" if "blocks" in d else str(d["index"])),
        ("instrs", lambda d: str(d["instructions"])),
        (f"{name}\nbefore", lambda d: f"{fig(d, 'before'):g}"),
        (f"{name}\nafter", lambda d: f"{fig(d, 'after'):g}"),
        ("gain", lambda d: f"{d['gain']:.1%}" if "blocks" not in d else f"{h.lines[0].gain:.1%}"),
        ("bound", lambda d: "-" if fig(d, "bound") is None else f"{fig(d, 'bound'):g}"),
        ("gap", lambda d: _pct(figures.gap(fig(d, "after"), fig(d, "bound")))),
        ("status", lambda d: d["status"]),
    ]
    if objective != "inorder" and not h.in_order:
        cols += [("in-ord\nbefore", lambda d: str(d["cycles_before"])),
                 ("in-ord\nafter", lambda d: str(d["cycles_after"]))]
    if objective not in ("ooo", "inorder") and not h.in_order and not doc.get("models"):
        cols += [("OoO\nbefore", lambda d: f"{d['ooo_cycles_before']:.1f}"),
                 ("OoO\nafter", lambda d: f"{d['ooo_cycles_after']:.1f}")]
    return cols + [("total\ns", lambda d: f"{d['seconds']:.1f}")]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def print_headline(doc: dict, console: Console) -> None:
    """The run's answer: the objective's figure before -> after, its bound, llvm-mca's opinion,
    and a warning when the two disagree."""
    for i, line in enumerate(figures.headline(doc).text()):
        console.print(line, style="bold yellow" if line.startswith("warning") else "bold" if i == 0 else None,
                      highlight=False)


def print_summary(doc: dict, console: Console) -> None:
    """The per-block table (fits 80 columns: two-line headers, one space between columns, cells
    wrap rather than being cut), then the headline."""
    from rich import box

    t = Table(title=f"{doc['input']} on {doc['model']}", show_lines=False, box=box.SIMPLE_HEAD,
              padding=(0, 0), pad_edge=False)
    cols = _summary_columns(doc)
    shown = " ".join(c for c, _ in cols)
    t.caption = ("gain and gap of the objective's figure against its own bound; status under the "
                 "objective (docs/figures.md)" + ("; in-ord: cycles of one run under the in-order issue model"
                                                  if "in-ord" in shown else "")
                 + ("; OoO: steady-state cycles per iteration" if "OoO" in shown else "") + "; s: seconds")
    for col, _ in cols:
        t.add_column(col, justify="right", overflow="fold")
    for b in doc["blocks"]:
        t.add_row(*[cell(b) for _, cell in cols])
    t.add_row(*[cell(doc) for _, cell in cols], style="bold")
    console.print(t)
    if doc.get("models"):
        print_models(doc, console)
    for b in doc["blocks"]:
        for n in b["notes"]:
            console.print(f"block {b['index']}: {n}")
    print_headline(doc, console)


def print_models(doc: dict, console: Console) -> None:
    """Several models: each one's figure before and after, its own best and the ratio."""
    from rich import box

    t = Table(title=f"one schedule for {len(doc['models'])} models (--objective {doc['options']['objective']})",
              box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    t.caption = ("figure: out-of-order steady-state cycles/iteration, or in-order cycles for an "
                 "in-order core; own best: the best that core's own search found")
    for col in ("model", "before", "after", "own best", "after/own", "bound"):
        t.add_column(col, justify="left" if col == "model" else "right", overflow="fold")
    for m in doc["models"]:
        key = "inorder" if m["figure"].startswith("in-order") else "ooo"
        t.add_row(m["model"], f"{m['before'][key]:g}", f"{m['after'][key]:g}", f"{m['own_best']:g}",
                  f"{m['normalised']:.3f}", f"{m['bound']:g}")
    console.print(t)


def print_stages(doc: dict, console: Console) -> None:
    """One line per stage of each block: where the time went and what it gained."""
    for b in doc["blocks"]:
        for st in b.get("stages", []):
            console.print(f"block {b['index']} {st['name']:<14} {st['seconds']:7.1f}s  in-order "
                          f"{st['best_inorder_before']}->{st['best_inorder_after']}  OoO "
                          f"{st['best_ooo_before']:g}->{st['best_ooo_after']:g}  bound {st['bound']}",
                          highlight=False, overflow="fold")
