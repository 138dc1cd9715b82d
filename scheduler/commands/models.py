"""`scheduler models list|show|check`: the machine models."""

from __future__ import annotations

import argparse
import json
import sys

from scheduler.commands.common import (
    EXIT_FAIL,
    EXIT_OK,
)
from scheduler.frontend.isa.table import TABLE


def _console():
    """stdout as rich sees it: COLUMNS wide (80 when not a terminal), no colour codes in pipes."""
    from rich.console import Console

    return Console(highlight=False)


def _models_parser(sub) -> None:
    p = sub.add_parser("models", help="list, show and check machine models",
                       description="Machine models live in models/*.toml (and $SCHEDULER_MODELS_PATH).\n\n"
                                   "examples:\n  scheduler models list\n  scheduler models show neoverse-n1\n"
                                   "  scheduler models check neoverse-n1-llvm",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["list", "show", "check"])
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--json", action="store_true")


def cmd_models(args) -> int:
    """`scheduler models list|show|check`: list the models, show one, or check it covers every instruction form.
    Exit 0, or 1 when `check` finds forms without a class."""
    from scheduler.machine.model import DEFAULT_MODEL, available_models, load_model

    if args.action == "list":
        broken: dict[str, str] = {}
        models = available_models(broken)
        for err in broken.values():
            print(f"warning: skipped a model file: {err.splitlines()[0]}", file=sys.stderr)
        if args.json:
            print(json.dumps({n: {"file": str(p), "variant": v} for n, (p, v) in models.items()}, indent=2))
        else:
            from scheduler.present.tablefit import Col, fit_table

            rows = [[n, p.name, load_model(n).spec.description if v is None
                     else load_model(n).spec.variants[v].description] for n, (p, v) in models.items()]
            _console().print(fit_table(_console(), [Col("model", "left"), Col("file", "left", 1),
                                                    Col("description", "left", kind="prose")], rows))
        return EXIT_OK
    model = load_model(args.name or DEFAULT_MODEL)
    if args.action == "show":
        spec = model.spec
        if args.json:
            print(json.dumps(spec.model_dump(by_alias=True), indent=2))
            return EXIT_OK
        from scheduler.present.tablefit import Col, fit_table, shorten

        console = _console()
        for line in (f"{model.name}: {spec.description}", f"file: {shorten(str(model.path), console.width - 6)}",
                     "core: " + ", ".join(f"{k}={getattr(spec.core, k).value}" for k in type(spec.core).model_fields
                         if getattr(spec.core, k) is not None),
                     "pipes: " + ", ".join(f"{k}x{v}" for k, v in model.pipes.items())
                     + "; groups: " + ", ".join(f"{g}={'+'.join(x.pipes)}" for g, x in spec.groups.items())):
            console.print(line, highlight=False, markup=False)
        rows = [[name, str(c.latency), " ".join(f"{u.pipe}" + (f"/{u.busy}" if u.busy > 1 else "") for u in c.uops),
                 c.source] for name, c in spec.classes.items()]
        console.print(fit_table(console, [Col("class", "left"), Col("latency"), Col("uops", "left"),
                                          Col("source", "left", kind="prose")], rows))
        return EXIT_OK
    missing = model.coverage()
    classes = sum(len(f.opclasses) for f in TABLE)
    if args.json:
        print(json.dumps({"model": model.name, "forms": len(TABLE), "missing": missing}, indent=2))
    else:
        print(f"{model.name}: {len(TABLE)} instruction forms ({classes} form/opclass pairs), "
              f"{len(missing)} without a class")
        for m in missing:
            print(f"  missing: {m}")
    return EXIT_OK if not missing else EXIT_FAIL


NAMES = ['models']  # the subcommands this module adds
add_parser = _models_parser


def run(args) -> int:
    """Run `scheduler models`; its exit code."""
    return cmd_models(args)
