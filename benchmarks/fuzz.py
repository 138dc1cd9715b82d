"""Fuzz the CLI: >= 1,000 generated inputs, each run as `python -m scheduler ...` in a subprocess.

    python benchmarks/fuzz.py --cases 1000 --optimize-every 20 --seed 0 [--jobs 2] [--failures DIR]

Cases (tests/support/fuzz.py): mutations of the bundled kernels in inputs/ (truncation, line
deletion/duplication/swap, token garbage, register kinds, huge immediates, bad brackets, deep
nesting, non-UTF-8/NUL/control bytes, .rept/.irp/macro bombs, data directives in code, one 40 MiB
file) and random valid kernels from the instruction table; every --optimize-every-th case is
`optimize --time-limit 2` whose exit-0 output must pass `verify --prove`.

Prints a histogram of exit codes and message kinds per case kind and every failing case;
each failure's input (line-minimized where that is cheap) is saved to --failures.
"""

from __future__ import annotations

import argparse
import collections
import platform
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fuzz import Case, generate, minimize, reproducer, run_case  # noqa: E402


def signature(case: Case, problems: list[str]) -> str:
    """What kind of failure: used to group failures and to keep a minimization on the same bug."""
    first = problems[0]
    if first.startswith("verify --prove"):
        verdict = re.match(r"verify --prove of the output: exit -?\d+", first)
        return f"{case.command}: {verdict.group(0) if verdict else first[:60]}"
    for key in ("timed out", "killed by signal", "exit-2 message without a line number",
                "exit-2 message without FILE", "input file changed", "verify --prove", "took "):
        if first.startswith(key):
            return f"{case.command}: {key}"
    if first.startswith("exit "):
        words = first.split(":")
        return f"{case.command}: {':'.join(words[:3])[:80]}"
    return f"{case.command}: {first[:60]}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--optimize-every", type=int, default=20, help="every k-th case is an optimize case (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--no-huge", action="store_true", help="skip the 40 MiB file")
    ap.add_argument("--failures", metavar="DIR", help="where failing inputs go (default: a new temp dir)")
    ap.add_argument("--minimize-seconds", type=float, default=60.0)
    ap.add_argument("--only", choices=["parse", "optimize"], help="run only the cases of this command")
    args = ap.parse_args(argv)

    fail_dir = Path(args.failures or tempfile.mkdtemp(prefix="scheduler-fuzz-failures-"))
    fail_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scheduler-fuzz-"))
    cases = generate(args.cases, args.seed, args.optimize_every, huge=not args.no_huge)
    if args.only:
        cases = [c for c in cases if c.command == args.only]
    start = time.monotonic()
    print(f"# scheduler fuzz: {len(cases)} cases, seed {args.seed}, optimize every {args.optimize_every}, "
          f"jobs {args.jobs}", flush=True)
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}; {platform.node()}; {platform.platform()}; "
          f"Python {platform.python_version()}; work dir {work}", flush=True)

    def one(case):
        out = run_case(case, work / case.name)
        if case.kind == "huge-file":  # 40 MiB: not kept on disk once run
            (work / case.name / case.filename).unlink(missing_ok=True)
        return case, out

    results = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for n, (case, out) in enumerate(pool.map(one, cases), 1):
            results.append((case, out))
            if out.problems:
                print(f"FAIL {reproducer(case, out)}", flush=True)
            if n % 100 == 0:
                print(f"# {n}/{len(cases)} done, {time.monotonic() - start:.0f} s", flush=True)

    # histogram: per kind, exit codes and message kinds
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    codes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    total_codes: collections.Counter = collections.Counter()
    for case, out in results:
        key = f"{case.kind} ({case.command})"
        code = "timeout" if out.rc is None else str(out.rc)
        codes[key][code] += 1
        total_codes[code] += 1
        by_kind[key][out.message_kind] += 1
    print(f"\n## Exit codes ({len(results)} cases, {time.monotonic() - start:.0f} s)\n")
    print("| case kind | cases | " + " | ".join(f"exit {c}" for c in sorted(total_codes)) + " | failing |")
    print("|---|---:|" + "---:|" * len(total_codes) + "---:|")
    for key in sorted(codes):
        nfail = sum(1 for c, o in results if f"{c.kind} ({c.command})" == key and o.problems)
        print(f"| {key} | {sum(codes[key].values())} | "
              + " | ".join(str(codes[key][c]) for c in sorted(total_codes)) + f" | {nfail} |")
    print(f"| **all** | {len(results)} | " + " | ".join(str(total_codes[c]) for c in sorted(total_codes))
          + f" | {sum(1 for _, o in results if o.problems)} |")
    print("\n## Message kinds (exit 2: prefix and first words of the message)\n")
    for key in sorted(by_kind):
        items = ", ".join(f"{m} x{n}" for m, n in by_kind[key].most_common())
        print(f"- {key}: {items}")

    failing = [(c, o) for c, o in results if o.problems]
    print(f"\n## Failures: {len(failing)} of {len(results)} cases\n")
    groups: dict[str, list] = collections.defaultdict(list)
    for c, o in failing:
        groups[signature(c, o.problems)].append((c, o))
    for sig, items in sorted(groups.items()):
        print(f"### {sig} ({len(items)} cases)")
        for c, o in items:
            print(f"- {reproducer(c, o)}")
        # one minimized reproducer per group (not for hangs or the huge file: too slow)
        c, o = min(items, key=lambda item: len(item[0].data))
        cheap = not any(p.startswith(("timed out", "took ")) for p in o.problems) and len(c.data) < 1 << 20
        def still(trial, wd, sig=sig):
            res = run_case(trial, wd)
            return bool(res.problems) and signature(trial, res.problems) == sig
        if cheap:
            small = minimize(c, work / (c.name + "-min"), still, args.minimize_seconds)
        elif c.added and len(c.added) < len(c.data) and still(
                replace(c, name=c.name + "-min", data=c.added + b"\n"), work / (c.name + "-min")):
            small = replace(c, name=c.name + "-min", data=c.added + b"\n")
        else:
            small = c
        if len(small.data) < 1 << 20:
            saved = fail_dir / small.filename
            saved.write_bytes(small.data)
            print(f"  reproducer ({len(small.data)} bytes): scheduler {c.command} {saved}")
            if len(small.data) <= 300:
                print(f"  content: {small.data!r}")
        else:
            print(f"  reproducer: huge_file() of tests/support/fuzz.py ({len(small.data)} bytes, not saved)")
    for c, o in failing:
        if c.data and len(c.data) < 1 << 20:
            (fail_dir / c.filename).write_bytes(c.data)
    print(f"\nfailing inputs saved in {fail_dir}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
