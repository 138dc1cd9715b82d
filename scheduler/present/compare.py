"""`scheduler compare`: several schedules of a kernel side by side.

Per file and per straight-line block, under each selected model:
  * in-order cycles (`evaluate.inorder`, the figure `optimize` reports as before/after),
  * out-of-order steady-state cycles per iteration and cold-run cycles
    (`evaluate.out_of_order` with its default iterations, as `optimize` reports them),
  * the lower bound of the kernel (true dependencies only, so it holds for every
    reordering and renaming) with its binding constraint, and the gap to it,
  * the critical-path length of the block as written (its own DAG, WAR/WAW included),
  * busy cycles and utilization of every pipe type (reservations placed on units by
    `timeline.assign_units`; utilization = busy / (pipes of the type x in-order cycles)),
  * stall cycles by cause (`stalls.attribute_stalls`).
Independent of our models: llvm-mca's N1 Total Cycles and Block RThroughput for 1 and
100 iterations when llvm-mca-19 (or newer) is on PATH.

The first file is the reference. Every other file is related to it per block:
"identical", "reordering" (same instructions, another order), "renamed reordering"
(the same computation with other registers: the same instructions up to register
names and the same dataflow, e.g. `scheduler optimize` output with renaming) or
"different kernel". For (renamed) reorderings each instruction is matched with its
original, which gives displacement statistics and, with --diff, an aligned listing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scheduler.checks.pairing import final_values, meaning, pair, shape, value_keys
from scheduler.checks.verify import CALLEE_SAVED, CALLEE_SAVED_SIMD
from scheduler.core.errors import SchedulerError
from scheduler.frontend.parse import DEFAULT_MAX_STATEMENTS

if TYPE_CHECKING:  # the evaluators and models are imported when used: `scheduler --help` stays quick
    from rich.console import JustifyMethod

    from scheduler.frontend.ir import Instruction, Program
    from scheduler.machine.model import Model

MCA_ITERATIONS = (1, 100)
RELATION_RANK = {"reference": 0, "identical": 1, "reordering": 2, "renamed reordering": 3, "different kernel": 4}


class CompareError(SchedulerError):
    """The files cannot be compared: a model cannot place an instruction, or a timeline has nothing to draw."""

    pass


# ------------------------------------------------------------------ same kernel?

_UNCHECKED: list[str] = ["(outputs not checked)"]


def relate(ref: Sequence[Instruction], other: Sequence[Instruction],
           outputs: Sequence[str] | None = _UNCHECKED,
           source: str = "") -> tuple[str, list[int] | None, str | None]:
    """(relation, origin of each instruction of `other` in `ref` or None, note). Given `outputs`
    (None: every register and the flags; the callee-saved registers and sp always: the rule
    `verify` uses), a reordering must also leave the same values in them."""
    rel, origin, note = _relate(ref, other)
    if outputs is not _UNCHECKED and rel in ("reordering", "renamed reordering"):
        table: dict[tuple, int] = {}
        value_keys(ref, table)
        fa, fb = final_values(ref, table), final_values(other, table)
        regs = set(fa) | set(fb) if outputs is None else set(outputs)
        regs |= {*CALLEE_SAVED, *CALLEE_SAVED_SIMD}
        differ = sorted(r for r in regs if fa.get(r, ("in", r)) != fb.get(r, ("in", r)))
        if differ:
            return "different kernel", None, (f"the same computations reordering-wise, but output "
                                              f"{', '.join(differ[:4])} ends with another value ({source})")
    return rel, origin, note


def _relate(ref: Sequence[Instruction], other: Sequence[Instruction]) -> tuple[str, list[int] | None, str | None]:
    # by meaning, not text: `#80`, `#0x50` and `#(80 +0)` are the same operand
    sa, sb = [meaning(i) for i in ref], [meaning(i) for i in other]
    if sa == sb:
        return "identical", list(range(len(sa))), None
    table: dict[tuple, int] = {}
    ka, kb = value_keys(ref, table), value_keys(other, table)
    if Counter(sa) == Counter(sb):
        # match by dataflow where possible (repeated instructions), else by text
        origin = pair(ka, kb) if Counter(ka) == Counter(kb) else pair(sa, sb)
        return "reordering", origin, None
    if Counter(ka) == Counter(kb):
        return "renamed reordering", pair(ka, kb), None
    if Counter(shape(i) for i in ref) == Counter(shape(i) for i in other):
        return "different kernel", None, "the same instructions up to register names, but a different dataflow"
    return "different kernel", None, None


def displacement(origin: Sequence[int]) -> dict:
    """How far instructions moved from their original positions: mean, max and how many moved."""
    d = [abs(i - j) for i, j in enumerate(origin)]
    return {"mean": round(sum(d) / len(d), 2) if d else 0.0, "max": max(d, default=0),
            "moved": sum(1 for x in d if x)}


# ------------------------------------------------------------------ analysis


def _mca(instrs: Sequence[Instruction], notes: list[str], where: str, mcpus: Sequence[str]) -> dict | None:
    """llvm-mca's figures for each -mcpu (of the selected models): {mcpu: {iterations: ...}}."""
    from scheduler.machine.mca import find_llvm_mca, run_mca

    if find_llvm_mca() is None or not instrs or not mcpus:
        return None
    out: dict[str, dict] = {}
    for mcpu in mcpus:
        out[mcpu] = {}
        for it in MCA_ITERATIONS:
            try:
                r = run_mca([str(i) for i in instrs], iterations=it, mcpu=mcpu)
            except (RuntimeError, OSError) as e:
                notes.append(f"{where}: llvm-mca -mcpu={mcpu} failed: {e}")
                return None
            assert r is not None  # None only without llvm-mca, checked above
            out[mcpu][str(it)] = {"total_cycles": r.total_cycles, "block_rthroughput": r.block_rthroughput}
    return out


def analyse_block(instrs: Sequence[Instruction], model: Model, noalias=()) -> dict:
    """Every figure of one block under one model (see the module docstring)."""
    from scheduler.machine.bounds import lower_bounds, ooo_bound_detail, true_dependencies
    from scheduler.machine.evaluate import inorder, out_of_order, prepare
    from scheduler.machine.stalls import attribute_stalls
    from scheduler.present.figures import gap
    from scheduler.present.timeline import (
        assign_units,
        busy_per_type,
        critical_instructions,
    )

    bt = prepare(list(instrs), model, noalias)
    ident = list(range(bt.n))
    io = inorder(bt, ident, model)
    ooo = out_of_order(bt, ident, model)
    kernel = lower_bounds(true_dependencies(bt), model)
    written = lower_bounds(bt, model)
    ooo_detail = ooo_bound_detail(true_dependencies(bt), model)  # holds for renamed reorderings too
    stalls = attribute_stalls(bt, ident, model, io.issue)
    busy = busy_per_type(assign_units(bt, io.issue, model), model)
    lb = kernel.best
    return {
        "inorder_cycles": io.cycles,
        "ooo_cycles": ooo.steady,
        "ooo_single": ooo.single,
        "ooo_iterations": ooo.iterations,
        "lower_bound": lb,
        "bound_reason": kernel.binding,
        "gap": _round(gap(io.cycles, lb)),  # present/figures.py: the one definition
        "ooo_lower_bound": round(ooo_detail.value, 2),
        "ooo_bound_reason": ooo_detail.binding,
        "ooo_gap": _round(gap(ooo.steady, ooo_detail.value)),
        "in_order": model.in_order,
        "critical_path": written.critical_path,
        "critical_instructions": sorted(critical_instructions(bt)),
        "pipes": {t: {"count": c, "busy": busy[t],
                      "utilization": round(busy[t] / (c * io.cycles), 4) if io.cycles else 0.0}
                  for t, c in model.pipes.items()},
        "stalls": {"total": stalls.total, "operand": stalls.operand, "pipe": stalls.pipe,
                   "issue_width": stalls.issue_width, "other": stalls.other,
                   "pipe_types": dict(sorted(stalls.pipe_types.items(), key=lambda x: -x[1]))},
        "issue": io.issue,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@dataclass
class Loaded:
    """One parsed file of a comparison: its program, its blocks' instructions and the no-alias registers."""

    path: str
    program: Program
    blocks: list[list[Instruction]]
    noalias: frozenset[str]


def load(path: str, models: Sequence[Model], include=(), define=(), noalias=frozenset(),
         max_statements: int = DEFAULT_MAX_STATEMENTS) -> Loaded:
    """Parse `path` and check every model can place each instruction; CompareError if one cannot."""
    from scheduler.frontend.parse import parse_file

    prog = parse_file(path, include_dirs=include, defines=define, max_statements=max_statements)
    blocks = [b.instructions for b in prog.blocks()]
    for m in models:
        missing = next((i for b in blocks for i in b if i.opclass not in m.spec.opclasses), None)
        if missing is not None:
            raise CompareError(f"{missing.loc}: model {m.name} cannot place '{missing}' (opclass {missing.opclass})")
    return Loaded(path, prog, blocks, frozenset(noalias) | prog.noalias)


def _outputs_rule(ref: Loaded, nfiles: int, notes: list[str]):
    """The outputs rule optimize and verify use, for the reference file."""
    from scheduler.frontend.outputs import choose_outputs

    chosen = choose_outputs(ref.program, None, ref.path)
    if nfiles > 1:
        notes.append(f"same kernel? compared memory order, callee-saved registers and {chosen.describe()}")
    return chosen


def _totals(blocks: list[dict], models: Sequence[Model], mca: bool) -> tuple[dict, dict | None]:
    """A file's figures summed over its blocks, per model (gaps as present/figures.py defines
    them), and llvm-mca's per -mcpu."""
    from scheduler.present.figures import gap

    totals = {}
    for m in models:
        per = [b["models"][m.name] for b in blocks]
        lb = sum(x["lower_bound"] for x in per)
        cyc = sum(x["inorder_cycles"] for x in per)
        ooo, olb = sum(x["ooo_cycles"] for x in per), sum(x["ooo_lower_bound"] for x in per)
        totals[m.name] = {"inorder_cycles": cyc, "ooo_cycles": round(ooo, 2),
                          "ooo_single": sum(x["ooo_single"] for x in per), "lower_bound": lb,
                          "gap": _round(gap(cyc, lb)), "ooo_lower_bound": round(olb, 2),
                          "ooo_gap": _round(gap(ooo, olb)), "in_order": m.in_order,
                          "stalls": sum(x["stalls"]["total"] for x in per)}
    mca_tot = None
    if mca and blocks and all(b["llvm_mca"] for b in blocks):
        mca_tot = {c: {it: {"total_cycles": sum(b["llvm_mca"][c][it]["total_cycles"] for b in blocks),
                            "block_rthroughput": round(sum(b["llvm_mca"][c][it]["block_rthroughput"]
                                                           for b in blocks), 2)}
                       for it in blocks[0]["llvm_mca"][c]} for c in blocks[0]["llvm_mca"]}
    return totals, mca_tot


def compare(paths: Sequence[str], model_names: Sequence[str] = (), include=(), define=(), noalias=frozenset(),
            mca: bool = True, diff: bool = False, max_statements: int = DEFAULT_MAX_STATEMENTS) -> dict:
    """The whole comparison as a JSON-able document."""
    from scheduler.machine.mca import find_llvm_mca, mcpu_for
    from scheduler.machine.model import DEFAULT_MODEL, load_model

    names = list(dict.fromkeys(model_names)) or [DEFAULT_MODEL]
    models = [load_model(n) for n in names]
    files = [load(p, models, include, define, noalias, max_statements) for p in paths]
    notes: list[str] = []
    mca_path = find_llvm_mca() if mca else None
    if mca and mca_path is None:
        notes.append("llvm-mca-19 (or newer) not found on PATH: no llvm-mca columns "
                     "(bash scripts/setup-debian.sh --with-llvm-mca installs it)")
    mcpus = list(dict.fromkeys(c for m in models if (c := mcpu_for(m.name)) is not None))
    if mca_path and len(mcpus) < len(models):
        notes.append("llvm-mca: no -mcpu known for " + ", ".join(m.name for m in models if mcpu_for(m.name) is None))
    ref = files[0]
    if not any(f.blocks for f in files):
        notes.append("no instructions in any file")
    chosen = _outputs_rule(ref, len(files), notes)
    docs = []
    for fi, f in enumerate(files):
        blocks = []
        if fi == 0:
            relation = "reference"
        elif len(f.blocks) != len(ref.blocks):
            relation = "different kernel"
            notes.append(f"{f.path}: {len(f.blocks)} block(s), the reference has {len(ref.blocks)}: "
                         "different kernels")
        else:
            relation = "identical"
        for bi, instrs in enumerate(f.blocks):
            bdoc: dict = {"index": bi, "instructions": len(instrs)}
            if fi == 0:
                bdoc["relation"] = "reference"
            elif len(f.blocks) != len(ref.blocks):
                bdoc["relation"] = "different kernel"
            else:
                last = bi == len(ref.blocks) - 1  # other blocks: every register may be read later
                rel, origin, note = relate(ref.blocks[bi], instrs, chosen.as_list() if last else None,
                                           chosen.describe() if last else "every register: code follows")
                bdoc["relation"] = rel
                if note:
                    notes.append(f"{f.path} block {bi}: {note}")
                if origin is not None:
                    bdoc["displacement"] = displacement(origin)
                    bdoc["origin"] = origin
                    if diff:
                        bdoc["diff"] = [{"position": i, "reference": str(ref.blocks[bi][i]), "instruction": str(ins),
                                         "from": j, "original": str(ref.blocks[bi][j]), "moved": i - j}
                                        for i, (ins, j) in enumerate(zip(instrs, origin, strict=True))]
                if RELATION_RANK[rel] > RELATION_RANK[relation]:
                    relation = rel
            bdoc["models"] = {m.name: analyse_block(instrs, m, f.noalias) for m in models}
            bdoc["llvm_mca"] = _mca(instrs, notes, f"{f.path} block {bi}", mcpus) if mca_path else None
            blocks.append(bdoc)
        if relation == "different kernel" and fi > 0 and len(f.blocks) == len(ref.blocks):
            notes.append(f"{f.path}: not the same kernel as {ref.path} (different instructions): "
                         "compared by the numbers only")
        totals, mca_tot = _totals(blocks, models, bool(mca_path))
        docs.append({"path": f.path, "relation": relation, "instructions": sum(len(b) for b in f.blocks),
                     "blocks": blocks, "totals": totals, "llvm_mca": mca_tot})
    from scheduler import __version__

    return {"tool": f"scheduler {__version__}", "reference": ref.path, "models": [m.name for m in models],
            "llvm_mca": mca_path, "mca_iterations": list(MCA_ITERATIONS) if mca_path else [],
            "mcpus": mcpus if mca_path else [],
            "files": docs, "notes": notes}


# ------------------------------------------------------------------ output


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _best_marks(vals: list[float | None], fmt) -> list[str]:
    """`fmt` of each value, the lowest in green when they differ; "-" for a missing one."""
    present = [v for v in vals if v is not None]
    lo = min(present) if present else None
    return ["-" if v is None else (f"[green]{fmt(v)}[/]" if len(present) > 1 and v == lo
                                   and any(x != lo for x in present) else fmt(v)) for v in vals]


class _Rows:
    """The table's rows, one value per file: (label, values, style), None starts a new section."""

    def __init__(self) -> None:
        from rich.markup import escape

        self.escape = escape
        self.rows: list[tuple[str, list[str], str | None] | None] = []

    def add_section(self) -> None:
        self.rows.append(None)

    def row(self, label: str, values: list[str], style: str | None = None) -> None:
        self.rows.append((self.escape(label), values, style))


def _stall_rows(t: _Rows, p: str, ms: list[dict | None]) -> None:
    """The stall cycles of one block under one model, by cause (pipe stalls by pipe type)."""
    for cause, label in (("operand", "operand"), ("pipe", "pipe"), ("issue_width", "issue width"),
                         ("other", "other")):
        if cause == "other" and not any(x and x["stalls"]["other"] for x in ms):
            continue
        vals = []
        for x in ms:
            if x is None:
                vals.append("-")
                continue
            v = str(x["stalls"][cause])
            if cause == "pipe" and x["stalls"]["pipe_types"]:
                v += " (" + ", ".join(f"{k} {n}" for k, n in x["stalls"]["pipe_types"].items()) + ")"
            vals.append(v)
        t.row(f"{p}  waiting: {label}", vals)


def _model_rows(t: _Rows, p: str, ms: list[dict | None]) -> None:
    """One block's figures under one model (`p`: the model's tag); no out-of-order figures for
    an in-order core. Gaps as defined in present/figures.py."""
    t.row(f"{p}in-order cycles", _best_marks([x["inorder_cycles"] if x else None for x in ms], str), style=None)
    t.row(f"{p}lower bound", [f"{x['lower_bound']} ({x['bound_reason']})" if x else "-" for x in ms])
    t.row(f"{p}gap", [_pct(x["gap"]) if x else "-" for x in ms])
    if not any(x and x.get("in_order") for x in ms):
        t.row(f"{p}OoO cycles/iter", _best_marks([x["ooo_cycles"] if x else None for x in ms],
                                                 lambda v: f"{v:.2f}"))
        t.row(f"{p}OoO bound", [f"{x['ooo_lower_bound']:g}" if x else "-" for x in ms])
        t.row(f"{p}OoO gap", [_pct(x["ooo_gap"]) if x else "-" for x in ms])
        t.row(f"{p}OoO single run", _best_marks([x["ooo_single"] if x else None for x in ms], str))
    t.row(f"{p}critical path", [str(x["critical_path"]) if x else "-" for x in ms])
    t.row(f"{p}stalls", _best_marks([x["stalls"]["total"] if x else None for x in ms], str))
    _stall_rows(t, p, ms)
    ptypes = list(next(x for x in ms if x)["pipes"])
    for pt in ptypes:
        if not any(x and x["pipes"][pt]["busy"] for x in ms):
            continue
        t.row(f"{p}pipe {pt} busy (util.)", [
            f"{x['pipes'][pt]['busy']} ({_pct(x['pipes'][pt]['utilization'])})" if x else "-" for x in ms])


def _block_rows(t: _Rows, doc: dict, bi: int, nblocks: int, tags: dict[str, str]) -> None:
    """The rows of block `bi` of every file."""
    files = doc["files"]
    blocks = [f["blocks"][bi] if bi < len(f["blocks"]) else None for f in files]
    if nblocks > 1 or bi == 0:
        t.add_section()
        t.row(f"block {bi}", ["" for _ in files], style="bold")
    t.row("instructions", [str(b["instructions"]) if b else "-" for b in blocks])
    t.row("relation", [b["relation"] if b else "-" for b in blocks])
    if any(b and "displacement" in b for b in blocks[1:]):
        t.row("moved (mean / max)", [
            f"{b['displacement']['moved']} ({b['displacement']['mean']:.1f} / {b['displacement']['max']})"
            if b and "displacement" in b else "-" for b in blocks])
    for m in doc["models"]:
        _model_rows(t, tags[m], [b["models"][m] if b else None for b in blocks])
    for c in doc.get("mcpus", []) if doc["llvm_mca"] else []:
        for it in doc["mca_iterations"]:
            mc = [b["llvm_mca"][c][str(it)] if b and b["llvm_mca"] else None for b in blocks]
            t.row(f"llvm-mca -mcpu={c} {it} iter: cycles", _best_marks([x and x["total_cycles"] for x in mc], str))
        t.row(f"llvm-mca -mcpu={c} RThroughput", [f"{x['block_rthroughput']:.2f}" if x else "-" for x in mc])


def _total_rows(t: _Rows, doc: dict, tags: dict[str, str]) -> None:
    """The rows of the whole files (when they have several blocks)."""
    files = doc["files"]
    t.add_section()
    t.row("total", ["" for _ in files], style="bold")
    t.row("instructions", [str(f["instructions"]) for f in files])
    t.row("relation", [f["relation"] for f in files])
    for m in doc["models"]:
        p = tags[m]
        tot = [f["totals"][m] for f in files]
        t.row(f"{p}in-order cycles", _best_marks([x["inorder_cycles"] for x in tot], str))
        t.row(f"{p}lower bound", [str(x["lower_bound"]) for x in tot])
        t.row(f"{p}gap", [_pct(x["gap"]) for x in tot])
        if not any(x.get("in_order") for x in tot):  # (an in-order core has no out-of-order figures)
            t.row(f"{p}OoO cycles/iter", _best_marks([x["ooo_cycles"] for x in tot], lambda v: f"{v:.2f}"))
            t.row(f"{p}OoO gap", [_pct(x["ooo_gap"]) for x in tot])
        t.row(f"{p}stalls", [str(x["stalls"]) for x in tot])
    for c in doc.get("mcpus", []) if doc["llvm_mca"] else []:
        for it in doc["mca_iterations"]:
            t.row(f"llvm-mca -mcpu={c} {it} iter: cycles",
                  [str(f["llvm_mca"][c][str(it)]["total_cycles"]) if f["llvm_mca"] else "-" for f in files])


def _tag(i: int) -> str:
    return chr(65 + i) if i < 26 else str(i)


def _share(rows: list, cols: Sequence[int], width: int) -> int:
    """The characters a file's column gets in a table of `width` (labels, borders and padding out)."""
    label = max((len(r[0]) for r in rows if r is not None), default=0)
    return (width - label - 4 - 3 * len(cols)) // len(cols)


def _header(path: str, i: int, share: int) -> str:
    """`A: .../dir/k.s` when at least the file's own name fits, else `A` (named in the legend)."""
    from scheduler.present.tablefit import shorten

    name = shorten(path, share - 3)
    return f"{_tag(i)}: {name}" if name.endswith(path.rsplit("/", 1)[-1]) else _tag(i)


def _table(doc: dict, rows: list, cols: Sequence[int], width: int = 10_000):
    """A rich Table of the rows with the files `cols` side by side; file names shortened from
    the left (`.../dir/k.s`) to the share of `width` their column gets, never cut mid-word."""
    from rich.markup import escape
    from rich.table import Table

    from scheduler.present.tablefit import shorten

    files = doc["files"]
    title = f"compare ({', '.join(doc['models'])}; reference {shorten(doc['reference'], max(20, width - 40))})"
    t = Table(title=escape(title), show_lines=False)
    t.add_column("", no_wrap=True)  # labels stay whole; the values wrap
    for i in cols:
        t.add_column(escape(_header(files[i]["path"], i, _share(rows, cols, width))), justify="right",
                     overflow="fold")
    for r in rows:
        if r is None:
            t.add_section()
        else:
            t.add_row(r[0], *[r[1][i] for i in cols], style=r[2])
    return t


def print_table(doc: dict, console) -> None:
    """Print the comparison as tables fitting the console: as many files side by side as fit, with the reference."""
    from rich.markup import escape
    from rich.measure import Measurement

    files = doc["files"]
    models = doc["models"]
    multi = len(models) > 1
    nblocks = max(len(f["blocks"]) for f in files)
    tags = {m: f"[{m}] " if multi else "" for m in models}
    t = _Rows()
    for bi in range(nblocks):
        _block_rows(t, doc, bi, nblocks, tags)
    if nblocks > 1:
        _total_rows(t, doc, tags)
    rows = t.rows

    # as many files side by side as fit the console (80 columns: the reference and one
    # other file at least); the others in further tables below, each with the reference
    others = list(range(1, len(files)))
    tables = [_table(doc, rows, [0], console.width)]
    wide = console.options.update_width(10_000)  # natural widths, unclamped
    for k in range(len(others), 0, -1):
        tables = [_table(doc, rows, [0, *others[j:j + k]], console.width) for j in range(0, len(others), k)]
        if all(Measurement.get(console, wide, x).maximum <= console.width for x in tables):
            break
    from scheduler.present.tablefit import shorten

    for x in tables:
        console.print(x)
    for i, f in enumerate(files):  # the files whose header is only their letter
        if _header(f["path"], i, _share(rows, [0, *others[:1]], console.width)) == _tag(i):
            console.print(escape(f"{_tag(i)}: {shorten(f['path'], console.width - 3)}"), highlight=False)
    console.print("in-order: cycles of one run, in-order issue model; OoO: steady-state cycles per iteration of "
                  "the out-of-order model; waiting: cycles an instruction issued after the previous one, by cause "
                  "(docs/compare.md); green: best", style="dim", highlight=False)
    for n in doc["notes"]:
        console.print(escape(f"note: {n}"), highlight=False)


def print_diff(doc: dict, console) -> None:
    """Print, per differing block, each file's instructions against the reference's and how far each moved."""
    from rich.markup import escape
    from rich.table import Table

    for f in doc["files"][1:]:
        for b in f["blocks"]:
            if "diff" not in b:
                continue
            t = Table(title=escape(f"{f['path']} block {b['index']} against {doc['reference']} ({b['relation']})"))
            renamed = b["relation"] == "renamed reordering"
            cols: list[tuple[str, JustifyMethod]] = [("pos", "right"), ("reference", "left"), ("this file", "left"),
                                                     ("from", "right"), ("moved", "right")]
            if renamed:
                cols.append(("was (reference[from])", "left"))
            for col, just in cols:  # instructions wrap (80 columns), numbers do not
                t.add_column(escape(col), justify=just, overflow="fold", no_wrap=just == "right")
            for r in b["diff"]:
                mv = r["moved"]
                t.add_row(str(r["position"]), escape(r["reference"]), escape(r["instruction"]), str(r["from"]),
                          "" if mv == 0 else (f"[red]{mv:+d}[/]" if mv > 0 else f"[cyan]{mv:+d}[/]"),
                          *([escape(r["original"])] if renamed else []))
            console.print(t)


def views_for(paths_blocks: Sequence[tuple[str, Sequence[Instruction]]], model: Model, noalias=()) -> list:
    """A timeline view of each (title, instructions) block under `model`."""
    from scheduler.present.timeline import build_view

    return [build_view(title, instrs, model, noalias) for title, instrs in paths_blocks]


def draw_optimized(path: str, blocks: Sequence[Sequence[Instruction]], results, model: Model, noalias=()) -> None:
    """`optimize --timeline`: every block before and after, stacked."""
    from scheduler.present.timeline import build_view, draw

    views = []
    for b, r in zip(blocks, results, strict=True):
        tag = f"block {r.index} " if len(results) > 1 else ""
        views.append(build_view(f"{tag}before", b, model, noalias))
        views.append(build_view(f"{tag}after", r.instructions_after, model, noalias))
    draw(views, model, path)

