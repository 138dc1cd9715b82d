"""Reports of an optimisation: the JSON document and the terminal summary."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from scheduler import __version__
from scheduler.frontend.abi import ALWAYS_LIVE_OUT
from scheduler.machine.model import Model
from scheduler.search.options import BlockResult, Options

STATUS_RANK = {"OPTIMAL": 0, "FEASIBLE": 1, "FALLBACK": 2}


def overall_status(blocks: Sequence[BlockResult]) -> str:
    return max((b.status for b in blocks), key=STATUS_RANK.__getitem__, default="OPTIMAL")


def model_digest(model: Model) -> str:
    return hashlib.sha256(model.path.read_bytes()).hexdigest()[:16]


def report_json(input_path: str, output_path: str | None, model: Model, opts: Options,
                blocks: Sequence[BlockResult]) -> dict:
    def total(attr):
        return sum(getattr(b, attr) for b in blocks)

    lb = total("lower_bound")
    after = total("cycles_after")
    return {
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
        "gap": round(after / lb - 1, 4) if lb else 0.0,
        "status": overall_status(blocks),
        "verified": all(b.verified for b in blocks),
        "proved": all(b.proved for b in blocks),
        "ooo_cycles_before": round(total("ooo_cycles_before"), 2),
        "ooo_cycles_after": round(total("ooo_cycles_after"), 2),
        "ooo_lower_bound": round(total("ooo_lower_bound"), 2),
        "solve_seconds": round(total("solve_seconds"), 3),
        "seconds": round(total("seconds"), 3),
        "blocks": [_block_doc(b) for b in blocks],
    } | ({"models": per_model_totals(blocks)} if any(b.per_model for b in blocks) else {})


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


def _block_doc(b: BlockResult) -> dict:
    doc = asdict(b)
    doc.pop("instructions_after")
    doc.pop("alternatives", None)  # (--judge bench: only what was measured is reported)
    if doc.get("measured") is None:
        doc.pop("measured", None)
    doc["gap"] = round(b.gap, 4)
    return doc


def register_order(name: str) -> tuple[str, int, str]:
    """x2 before x10; names without a number (sp, nzcv) after the numbered ones of their letter."""
    digits = name[1:]
    return (name[0], int(digits) if digits.isdigit() else 1 << 30, name)


def header_lines(model: Model, doc: dict) -> list[str]:
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
    checked = "verified and proved" if doc.get("proved") else "verified"
    target = f"model {model.name}"
    if doc.get("models"):
        target = (f"models {', '.join(m['model'] for m in doc['models'])} (--objective "
                  f"{doc['options']['objective']}; figures below for {model.name})")
    return [
        f"// Scheduled by {doc['tool']} for {target} ({doc['status']}, {checked}).",
        (f"// In-order cycles {doc['cycles_before']} -> {doc['cycles_after']} (lower bound "
         f"{doc['lower_bound']}); out-of-order cycles/iteration {doc['ooo_cycles_before']} -> "
         f"{doc['ooo_cycles_after']}."),
    ] + outputs


SUMMARY_COLUMNS = ("block", "instrs", "cycles\nbefore", "cycles\nafter", "lower\nbound", "gap", "status",
                   "OoO\nbefore", "OoO\nafter", "solve\ns", "total\ns")


def print_summary(doc: dict, console: Console) -> None:
    """The per-block table; fits 80 columns (two-line headers, one space between columns,
    cells wrap rather than being cut)."""
    from rich import box

    t = Table(title=f"{doc['input']} on {doc['model']}", show_lines=False, box=box.SIMPLE_HEAD,
              padding=(0, 0), pad_edge=False)
    t.caption = ("cycles: of one run under the in-order issue model (what CP-SAT optimises); "
                 "OoO: steady-state cycles per iteration under the out-of-order model; status: "
                 "under the objective (ooo: against the OoO bound, in the notes); s: seconds")
    for col in SUMMARY_COLUMNS:
        t.add_column(col, justify="right", overflow="fold")
    for b in doc["blocks"]:
        t.add_row(str(b["index"]), str(b["instructions"]), str(b["cycles_before"]), str(b["cycles_after"]),
                  str(b["lower_bound"]), f"{b['gap']:.1%}", b["status"], f"{b['ooo_cycles_before']:.1f}",
                  f"{b['ooo_cycles_after']:.1f}", f"{b['solve_seconds']:.1f}", f"{b['seconds']:.1f}")
    t.add_row("total", str(doc["instructions"]), str(doc["cycles_before"]), str(doc["cycles_after"]),
              str(doc["lower_bound"]), f"{doc['gap']:.1%}", doc["status"], f"{doc['ooo_cycles_before']:.1f}",
              f"{doc['ooo_cycles_after']:.1f}", f"{doc['solve_seconds']:.1f}", f"{doc['seconds']:.1f}",
              style="bold")
    console.print(t)
    if doc.get("models"):
        print_models(doc, console)
    for b in doc["blocks"]:
        for n in b["notes"]:
            console.print(f"block {b['index']}: {n}")


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
