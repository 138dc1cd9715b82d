"""`scheduler batch`: optimize a whole library of kernels over Ray, results in a SQLite store.

Tasks are kernel x seed x objective. Each runs in a Ray worker (`run_task`): parse, optimize
with every block verified and proved (`Options(prove=True)`), emit, re-parse the emitted text,
certificate, llvm-mca figures when llvm-mca-19+ is present. The driver (`run_batch`) is the only
writer of the store (scheduler/present/store.py); it submits at most as many tasks as the cluster has
slots, so a task's time limit runs from when it starts, cancels overdue tasks, retries once a
task whose worker crashed, was killed or timed out, and on Ctrl-C stops submitting, cancels
what runs and keeps every finished result. At the end it writes the best output, report and
certificate of every kernel, a table and `<out>/report.html`. See docs/batch.md.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import socket
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from scheduler import __version__
from scheduler.checks.certificate import block_certificate
from scheduler.core.budget import search_limit
from scheduler.core.clock import clear_stop
from scheduler.core.errors import SchedulerError
from scheduler.frontend.outputs import choose_outputs
from scheduler.frontend.parse import DEFAULT_MAX_STATEMENTS, parse_file
from scheduler.machine.model import DEFAULT_MODEL, load_models
from scheduler.present import figures
from scheduler.present.batch_report import print_table, write_html
from scheduler.present.finalize import emitted, finalize
from scheduler.present.outfiles import check_paths, write_atomic
from scheduler.present.reaper import ENV as REAPER_ENV
from scheduler.present.reaper import Reaper
from scheduler.present.report import add_mca, header_lines, model_digest, report_json
from scheduler.present.store import Store
from scheduler.present.tablefit import Col, fit_table
from scheduler.search import parallel
from scheduler.search.multimodel import optimize_program_multi, resolve_objective
from scheduler.search.optimize import Options, VerificationFailed, optimize_program
from scheduler.search.stages import WINDOW_FROM


def _ray():
    import ray

    return ray


OBJECTIVES = ("inorder", "ooo", "single", "worst", "mean")  # worst/mean: several models (--model a,b)
DEFAULT_OUT = "outputs/batch"
DEFAULT_STORE = "outputs/batch.sqlite"
INJECT_ENV = "SCHEDULER_BATCH_INJECT"  # test hook: "crash:NAME", "hang:NAME" or "window-crash:NAME" (first attempt)

# test hook: called by the driver after each recorded result (a test raises KeyboardInterrupt here)
after_result_hook = None


class BatchError(SchedulerError):
    """The batch cannot run or a task fails (no kernels, a missing file, an unplaceable instruction ...)."""

    pass


# ------------------------------------------------------------------ the task (runs in a Ray worker)


def _window_job(fn, job, crash: bool = False):
    """One window solve as a Ray task of its own (`crash`: the test hook, the worker dies)."""
    if crash:
        os._exit(17)
    return parallel.call(fn, job)


class RayWindows(parallel.Executor):
    """The window solves of a large block's sweeps as Ray tasks, one CPU each, submitted from
    inside the kernel's task (scheduler/search/parallel.py). While the kernel's task waits for them
    Ray lends its CPU to them. A window task that raises, whose worker dies or that is still
    running at the sweep's timeout (then cancelled) is a JobFailed: its window stays as it is.
    `jobs`, `failed`, `errors`: what ran, for the task's notes."""

    serial = False

    def __init__(self, ray, min_instructions: int, crash_first: bool = False):
        self.ray = ray
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.min_instructions = min_instructions
        self.remote = ray.remote(_window_job).options(num_cpus=1, max_retries=0)
        self.crash = crash_first
        self.jobs, self.failed = 0, 0
        self.errors: list[str] = []

    def map(self, fn, jobs, timeout=None):
        """Run each job as a Ray task, waiting up to `timeout` seconds; a late or failed one gives a JobFailed."""
        ray = self.ray
        refs = []
        for job in jobs:
            refs.append(self.remote.remote(fn, job, self.crash))
            self.crash = False
        self.jobs += len(refs)
        _, pending = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        late = set(pending)
        out: list[object] = []
        for ref in refs:
            if ref in late:
                ray.cancel(ref, force=True)
                out.append(parallel.JobFailed(f"no result after {timeout:g} s; cancelled"))
                continue
            try:
                out.append(ray.get(ref))
            except ray.exceptions.RayError as e:  # a worker died, a node was lost
                out.append(parallel.JobFailed(f"{type(e).__name__}: {e}"[:500]))
        for o in out:
            if isinstance(o, parallel.JobFailed):
                self.failed += 1
                if len(self.errors) < 3:
                    self.errors.append(o.error.splitlines()[0])
        return out


def _window_executor(spec: dict, min_instructions: int) -> RayWindows | None:
    """The executor of a task's window solves: Ray tasks when asked (`--window-tasks`) and
    running in Ray; else None, the serial passes."""
    if not spec.get("window_tasks"):
        return None
    try:
        ray = _ray()
    except ImportError:
        return None
    if not ray.is_initialized():  # run_task called outside Ray
        return None
    return RayWindows(ray, min_instructions, crash_first=spec.get("inject") == "window-crash")


def _window_notes(ex: RayWindows | None, doc: dict) -> None:
    """Say in the report how many window solves ran as tasks of their own, and which failed."""
    if ex is None:
        return
    doc["window_tasks"] = {"jobs": ex.jobs, "failed": ex.failed}
    if ex.jobs:
        doc.setdefault("notes", []).append(f"window solves as Ray tasks: {ex.jobs} ({ex.failed} failed)")
    for e in ex.errors:
        doc.setdefault("notes", []).append(f"a window task failed, its window was left unchanged: {e}")


# A task keeps to its --time-limit (core/budget.py); the timeout only catches a task that hangs:
# the limit with 25% to spare, plus the start of a worker process and its imports.
TASK_TIMEOUT_FACTOR, TASK_TIMEOUT_SLACK = 1.25, 20.0


def task_timeout(time_limit: float) -> float:
    """Seconds after which a task counts as hung: its time limit with 25% to spare, plus 20 s of start-up."""
    return time_limit * TASK_TIMEOUT_FACTOR + TASK_TIMEOUT_SLACK


def run_task(spec: dict) -> dict:
    """Optimize one kernel for one seed and objective. Never raises for a kernel's own problems:
    the result says ok (with the emitted text, report and certificate) or failed (with the error)."""
    start = time.monotonic()
    inject = spec.get("inject")
    if inject == "hang":
        time.sleep(3600)
    out: dict[str, object] = {"status": "failed", "host": socket.gethostname(), "error": None}
    task_start = time.monotonic()  # the task's --time-limit counts from here (core/budget.py)
    try:
        clear_stop()
        models = load_models(spec["model"])
        model = models[0]  # the report's, header's and certificate's model (the first named)
        prog = parse_file(spec["path"], include_dirs=spec["include"], defines=spec["define"],
                              max_statements=spec.get("max_statements", DEFAULT_MAX_STATEMENTS))
        for m in models:
            for b in prog.blocks():
                for i in b.instructions:
                    if i.opclass not in m.spec.opclasses:
                        raise BatchError(f"{i.loc}: model {m.name} cannot place '{i}' (opclass {i.opclass})")
        # the outputs rule `optimize` and `verify` share (frontend/outputs.py)
        chosen = choose_outputs(prog, None, spec["path"])
        search = search_limit(spec["time_limit"], time.monotonic() - task_start, len(prog.instructions), len(models))
        opts = Options(time_limit=search, workers=spec["workers"], seed=spec["seed"],
                           noalias=prog.noalias, prove=True, objective=spec["objective"],
                           outputs=frozenset(chosen.registers or ()), all_outputs=chosen.every)
        windows = _window_executor(spec, WINDOW_FROM)
        with parallel.using_executor(windows) if windows else contextlib.nullcontext():
            if len(models) > 1:
                results = optimize_program_multi(prog, models, opts)
            else:
                results = optimize_program(prog, model, opts)
        if not all(r.verified and r.proved for r in results):
            raise BatchError("a block was not verified and proved")
        fin = finalize(prog, results, chosen.as_list(), opts.noalias, opts.seed)  # the whole file
        results = fin.results
        doc = report_json(spec["path"], spec["out_name"], model, opts, results)
        doc["objective"] = spec["objective"]
        doc["interrupted"] = False
        doc["whole_file_check"] = fin.to_json()
        _window_notes(windows, doc)
        # llvm-mca beside the objective's figure, per model's -mcpu (present/figures.py), before
        # the header is written: it quotes them
        add_mca(doc, [b.instructions for b in prog.blocks()], results, models)
        mca = (doc["mca"] or [{}])[0]
        text, problem = emitted(prog, results, spec["out_name"], header_lines(model, doc))
        if problem:  # the emitter is checked too
            raise BatchError(problem)
        cert = {"input": spec["path"],
                "blocks": [block_certificate(r, model.name, opts.noalias, opts.reserve) for r in results]}
        if inject == "crash":  # test hook: the worker dies after the work, before returning it
            os._exit(17)
        out.update(status="ok", cycles_before=doc["cycles_before"], cycles_after=doc["cycles_after"],
                   ooo_before=doc["ooo_cycles_before"], ooo_after=doc["ooo_cycles_after"],
                   lower_bound=doc["lower_bound"], gap=doc["gap"], mca_before=mca.get("before"),
                   mca_after=mca.get("after"),
                   single_after=sum(r.ooo_single_after for r in results), multi_after=_multi_figure(doc),
                   window_tasks=windows.jobs if windows else 0,
                   proof=",".join(sorted({r.proof for r in results})) or "empty",
                   output_text=text, report_json=json.dumps(doc, indent=2) + "\n",
                   certificate_json=json.dumps(cert, indent=2) + "\n")
    except VerificationFailed as e:  # includes ProofUnknown
        out["error"] = f"verification failed: {e}"
    except Exception as e:  # noqa: BLE001 - a kernel's failure is a result, not a crash of the batch
        out["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}"
    out["wall_seconds"] = round(time.monotonic() - start, 3)
    return out


def _multi_figure(doc) -> float | None:
    """Several models: the objective over each model's figure after / before (comparable across
    runs, unlike the ratio to a run's own best), for ranking runs in the store."""
    rows = doc.get("models")
    if not rows:
        return None
    ratios = []
    for m in rows:
        key = "inorder" if m["figure"].startswith("in-order") else "ooo"
        ratios.append(m["after"][key] / m["before"][key] if m["before"][key] else 1.0)
    return round(max(ratios) if doc["objective"] == "worst" else sum(ratios) / len(ratios), 6)


# ------------------------------------------------------------------ discovery and task list


def find_kernels(paths: list[str]) -> list[Path]:
    """Every .s/.S file named, under a named directory, or matched by a glob; sorted, unique."""
    found: dict[Path, None] = {}
    for p in paths:
        matches = [Path(m) for m in sorted(glob.glob(p, recursive=True))] if glob.has_magic(p) else [Path(p)]
        if not matches:
            raise BatchError(f"{p}: no such file or directory")
        for m in matches:
            if m.is_dir():
                for f in sorted(m.rglob("*")):
                    if f.is_file() and f.suffix in (".s", ".S"):
                        found[f.resolve()] = None
            elif m.is_file():
                found[m.resolve()] = None
            else:
                raise BatchError(f"{m}: no such file or directory")
    return list(found)


def out_names(kernels: list[Path]) -> dict[Path, str]:
    """Output base names: the file's stem, with its parent directory when stems collide."""
    stems: dict[str, int] = {}
    for k in kernels:
        stems[k.stem] = stems.get(k.stem, 0) + 1
    return {k: k.stem if stems[k.stem] == 1 else f"{k.parent.name}__{k.stem}" for k in kernels}


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@dataclass
class Task:
    """One kernel x seed x objective task of a batch: its options, attempt number and Ray reference."""

    kernel: Path
    name: str
    seed: int
    objective: str
    spec: dict
    attempt: int = 0
    ref: object = None
    started: float = 0.0
    key: dict = field(default_factory=dict)


# ------------------------------------------------------------------ the driver


_REAPERS: list[Reaper] = []  # the reaper of the local Ray this process started, while it runs


def _start_ray(address: str | None, num_cpus: int | None) -> bool:
    """Join a cluster (`address`) or start a local Ray; False if Ray was already up (not ours to stop).
    A local Ray's processes are marked for a reaper (scheduler/present/reaper.py) that kills
    them when this process exits, however it ends: none outlives a `kill -9` of the driver."""
    ray = _ray()
    if ray.is_initialized():
        return False
    kw = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address:
        ray.init(address=address, **kw)
        return True
    reaper = Reaper()
    os.environ[REAPER_ENV] = reaper.token  # inherited by every process Ray starts
    try:
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kw)
    except BaseException:
        reaper.close()
        raise
    finally:
        del os.environ[REAPER_ENV]  # later subprocesses of the driver are not Ray's
    _REAPERS.append(reaper)
    return True


def _stop_ray(ray) -> None:
    """Shut down the Ray `_start_ray` started; its reaper then kills any straggler."""
    try:
        ray.shutdown()
    finally:
        while _REAPERS:
            _REAPERS.pop().close()


class _KernelBar:
    """Batch's progress: a bar of kernels done with the tasks' counts (a terminal only), and
    log lines. Not optimize's per-block line (commands/optimize.py `_BlockLine`): a batch runs
    tasks in other processes, whose stage events do not reach this one."""

    def __init__(self, console, kernels: int, tasks: int, enabled: bool):
        self.console = console
        self.enabled = enabled and console.is_terminal
        self.kernels_total = kernels
        self.tasks_total = tasks
        self.bar = None
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("kernels"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console,
                                transient=False)
            self.task = self.bar.add_task("batch", total=kernels, info="")
            self.bar.start()

    def update(self, kernels_done: int, tasks_done: int, running: int, best_gain: float | None) -> None:
        gain = "-" if best_gain is None else f"{best_gain:.1%}"
        info = f"tasks {tasks_done}/{self.tasks_total}, running {running}, best gain {gain}"
        if self.bar is not None:
            self.bar.update(self.task, completed=kernels_done, info=info)

    def log(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _plan(args, kernels: list[Path], names: dict[Path, str], objectives: list[str], model, model_sha: str,
          store: Store) -> tuple[list[Task], int]:
    """The tasks to run (kernel x seed x objective) and how many were skipped as unchanged."""
    options = {"time_limit": args.time_limit, "workers": args.workers_per_task, "prove": True,
               "include": list(args.include), "define": list(args.define), "window_tasks": args.window_tasks}
    if args.max_instructions != DEFAULT_MAX_STATEMENTS:  # only then: unchanged stores stay valid
        options["max_statements"] = args.max_instructions
    options_json = json.dumps(options, sort_keys=True)
    semantic_json = json.dumps({"prove": True, "include": options["include"], "define": options["define"]},
                               sort_keys=True)
    tasks: list[Task] = []
    skipped = 0
    for k in kernels:
        content = _sha(k.read_bytes())
        for seed in range(args.seeds):
            for obj in objectives:
                key = {"kernel": str(k), "content_sha256": content, "options_json": options_json,
                       "options_sha256": _sha(options_json), "semantic_sha256": _sha(semantic_json),
                       "model": model.name, "model_sha256": model_sha, "tool_version": __version__,
                       "seed": seed, "objective": obj}
                if not args.force and store.has_ok(str(k), content, key["options_sha256"], model_sha, seed, obj):
                    skipped += 1
                    continue
                out_name = names[k] + (".s" if len(objectives) == 1 else f".{obj}.s")
                spec = {"path": str(k), "out_name": out_name, "model": model.name, "time_limit": args.time_limit,
                        "workers": args.workers_per_task, "seed": seed, "objective": obj,
                        "include": list(args.include), "define": list(args.define),
                        "window_tasks": args.window_tasks, "max_statements": args.max_instructions}
                tasks.append(Task(k, names[k], seed, obj, spec, key=key))
    return tasks, skipped


class _Driver:
    """One batch's tasks on Ray: submits, collects, retries and cancels; records every result."""

    def __init__(self, args, ray, store: Store, batch_id: str, kernels: list[Path], tasks: list[Task],
                 inject: str, err) -> None:
        self.args = args
        self.ray = ray
        self.store = store
        self.batch_id = batch_id
        self.kernels = kernels
        self.tasks = tasks
        self.inject_kind, _, self.inject_name = inject.partition(":")
        self.err = err
        self.counts = {"ok": 0, "failed": 0, "timeout": 0, "retried": 0}
        self.interrupted = False
        self.wall: dict[Path, float] = {}

    def run(self) -> None:
        """Run every task; on Ctrl-C stop submitting and cancel what runs (finished results stay)."""
        args, ray = self.args, self.ray
        ours = _start_ray(args.address, args.num_cpus)
        self.remote = ray.remote(run_task).options(num_cpus=args.workers_per_task, max_retries=0)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = max(1, cpus // max(1, args.workers_per_task))
        self.timeout = args.task_timeout if args.task_timeout else task_timeout(args.time_limit)
        self.queue = list(self.tasks)
        self.running: dict[object, Task] = {}
        self.left = {k: 0 for k in self.kernels}
        for t in self.tasks:
            self.left[t.kernel] += 1
        self.kernels_done = sum(1 for k in self.kernels if self.left[k] == 0)
        self.best_gain: float | None = None
        self.progress = _KernelBar(self.err, len(self.kernels), len(self.tasks), enabled=not args.json)
        try:
            while self.queue or self.running:
                self.step()
        except KeyboardInterrupt:
            self.interrupted = True
            for ref in self.running:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001, S110 - best effort; the results already recorded stay
                    pass
            self.running.clear()
        finally:
            self.progress.stop()
            if ours:
                _stop_ray(ray)
        if self.interrupted:
            self.err.print(f"interrupted: {len(self.queue)} task(s) not started, running tasks "
                           f"cancelled; finished results are in {args.store}", highlight=False)

    def step(self) -> None:
        """Fill the free slots, take the results ready, cancel overdue tasks, update the progress."""
        ray = self.ray
        while self.queue and len(self.running) < self.slots:
            self.submit(self.queue.pop(0))
        ready, _ = ray.wait(list(self.running), num_returns=1, timeout=0.25)
        for ref in ready:
            t = self.running.pop(ref)
            self.finish(t, self.result(ref, t))
            if after_result_hook is not None:
                after_result_hook()
        now = time.monotonic()
        for ref, t in list(self.running.items()):
            if now - t.started > self.timeout:
                ray.cancel(ref, force=True)
                self.running.pop(ref)
                self.finish(t, {"status": "timeout", "error": f"no result after {self.timeout:g} s; cancelled",
                                "wall_seconds": round(now - t.started, 3)})
        self.progress.update(self.kernels_done, sum(self.counts[s] for s in ("ok", "failed", "timeout")),
                             len(self.running), self.best_gain)

    def result(self, ref, t: Task) -> dict:
        """The task's result; a crashed worker's is a failure marked for a retry."""
        ray = self.ray
        try:
            return ray.get(ref)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.TaskCancelledError,
                ray.exceptions.NodeDiedError, ray.exceptions.RayActorError,
                ray.exceptions.ObjectLostError) as e:
            return {"status": "failed", "crashed": True, "error": f"worker died: {type(e).__name__}",
                    "wall_seconds": round(time.monotonic() - t.started, 3)}
        except ray.exceptions.RayError as e:
            return {"status": "failed", "crashed": True, "error": f"{type(e).__name__}: {e}"[:2000],
                    "wall_seconds": round(time.monotonic() - t.started, 3)}

    def submit(self, t: Task) -> None:
        spec = dict(t.spec)
        if t.attempt == 0 and self.inject_kind and self.inject_name in (t.name, str(t.kernel)):
            spec["inject"] = self.inject_kind
        t.ref = self.remote.remote(spec)
        t.started = time.monotonic()
        self.running[t.ref] = t

    def finish(self, t: Task, res: dict) -> None:
        """Record a result; retry once a task that crashed or timed out, else count and report it."""
        run = {**t.key, "batch_id": self.batch_id, "finished": time.time(), "attempt": t.attempt,
               **{c: res.get(c) for c in ("cycles_before", "cycles_after", "ooo_before", "ooo_after",
                                          "lower_bound", "gap", "mca_before", "mca_after", "proof",
                                          "wall_seconds", "host", "status", "error")}}
        arts = res if res["status"] == "ok" else None
        self.store.record(run, arts)
        self.wall[t.kernel] = self.wall.get(t.kernel, 0.0) + (res.get("wall_seconds") or 0.0)
        retry = res["status"] == "timeout" or res.get("crashed")
        progress = self.progress
        if retry and t.attempt == 0:
            self.counts["retried"] += 1
            progress.log(f"{t.name} seed {t.seed} {t.objective}: {res['status']} ({res['error']}); retrying")
            self.queue.insert(0, Task(t.kernel, t.name, t.seed, t.objective, t.spec, attempt=1, key=t.key))
            return
        self.counts[res["status"]] += 1
        if res["status"] == "ok":
            h = json.loads(res["report_json"])["headline"]  # the objective's figures (present/figures.py)
            self.best_gain = h["gain"] if self.best_gain is None else max(self.best_gain, h["gain"])
            if progress.bar is None:
                wt = f", {res['window_tasks']} window tasks" if res.get("window_tasks") else ""
                figs = "; ".join(f"{ln['model']} {ln['figure']} {ln['before']:g} -> {ln['after']:g}"
                                 + ("" if ln["bound"] is None else f" (bound {ln['bound']:g})") for ln in h["lines"])
                progress.log(f"{t.name} seed {t.seed} {t.objective}: {h['status']}, {figs}, "
                             f"{res['wall_seconds']:.1f} s{wt}")
        else:
            progress.log(f"{t.name} seed {t.seed} {t.objective}: {res['status']}: "
                         f"{(res['error'] or '').splitlines()[0] if res['error'] else ''}")
        self.left[t.kernel] -= 1
        if self.left[t.kernel] == 0:
            self.kernels_done += 1


def _summary(args, batch_id: str, kernels: list[Path], tasks: list[Task], skipped: int, driver: _Driver,
             rows: list[dict]) -> int:
    """Print the JSON summary or the table and counts; the exit status."""
    from rich.console import Console

    counts = driver.counts
    summary = {"batch_id": batch_id, "kernels": len(kernels), "tasks": len(tasks), "skipped": skipped,
               **counts, "interrupted": driver.interrupted, "store": str(args.store),
               "report": str(Path(args.out) / "report.html"), "results": rows}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        console = Console()  # COLUMNS wide (80 when not a terminal)
        print_table(rows, console)
        print(f"ok {counts['ok']}, failed {counts['failed']}, timeout {counts['timeout']}, "
              f"retried {counts['retried']}, skipped {skipped}; wrote {args.out} and {args.out}/report.html")
    if driver.interrupted:
        return 130
    return 0 if counts["failed"] == 0 and counts["timeout"] == 0 else 1


@dataclass(frozen=True)
class _ModelList:
    """The models of a batch: `name` is what tasks load (`a,b` for several) and what the store keeps."""

    models: list

    @property
    def name(self) -> str:
        return ",".join(m.name for m in self.models)


def run_batch(args) -> int:
    """Run `scheduler batch`: plan, run the tasks over Ray, write the outputs and report.
    Exit status 0 when every task succeeded, 1 if any failed or timed out, 130 when interrupted."""
    from rich.console import Console
    ray = _ray()
    err = Console(stderr=True, quiet=args.json)
    models = load_models(args.model or DEFAULT_MODEL)
    objectives = list(dict.fromkeys(resolve_objective(o, models) for o in (args.objective or [None])))
    kernels = find_kernels(args.paths)
    if not kernels:
        raise BatchError("no kernels (.s or .S files) found")
    names = out_names(kernels)
    out_files = {f"{names[k]}{'' if len(objectives) == 1 else '.' + o}{x}": Path(args.out) / (
        f"{names[k]}{'' if len(objectives) == 1 else '.' + o}{x}")
        for k in kernels for o in objectives for x in (".s", ".json", ".cert.json")}
    # before any work: no output may overwrite a kernel (say --out inputs/) or be unwritable
    Path(args.out).mkdir(parents=True, exist_ok=True)
    check_paths({str(k): k for k in kernels}, out_files)
    model = _ModelList(models)
    model_sha = "+".join(model_digest(m) for m in models)
    store = Store(args.store)
    batch_id = uuid.uuid4().hex[:12]
    inject = os.environ.get(INJECT_ENV, "")
    tasks, skipped = _plan(args, kernels, names, objectives, model, model_sha, store)
    err.print(f"{len(kernels)} kernel(s), {len(tasks)} task(s) to run, {skipped} unchanged (skipped; "
              f"--force redoes them)", highlight=False)

    driver = _Driver(args, ray, store, batch_id, kernels, tasks, inject, err)
    if tasks:
        driver.run()

    rows = _write_outputs(store, kernels, names, objectives, Path(args.out), driver.wall)
    store.close()
    write_html(Path(args.out) / "report.html", rows, title=f"scheduler batch ({model.name})")
    return _summary(args, batch_id, kernels, tasks, skipped, driver, rows)


def _write_outputs(store: Store, kernels, names, objectives, out: Path, wall: dict) -> list[dict]:
    """Write each kernel's best output, report and certificate from the store; the rows of the report."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in kernels:
        content = _sha(k.read_bytes())
        for obj in objectives:
            base = names[k] if len(objectives) == 1 else f"{names[k]}.{obj}"
            b = store.best(str(k), obj)
            row = {"kernel": str(k), "name": base, "objective": obj}
            if b is None or b["content_sha256"] != content:
                row["status"] = "no result"
                rows.append(row)
                continue
            files = {".s": b["output_text"], ".json": b["report_json"], ".cert.json": b["certificate_json"]}
            for suffix, text in files.items():
                write_atomic(out / f"{base}{suffix}", text)
            row.update(status="ok", seed=b["seed"], cycles_before=b["cycles_before"],
                       cycles_after=b["cycles_after"], ooo_before=b["ooo_before"], ooo_after=b["ooo_after"],
                       lower_bound=b["lower_bound"], gap=b["gap"], mca_before=b["mca_before"],
                       mca_after=b["mca_after"], seconds=round(wall.get(k, b["wall_seconds"] or 0.0), 3),
                       output=str(out / f"{base}.s"), headline=_headline(b["report_json"]),
                       window_tasks=json.loads(b["report_json"]).get("window_tasks", {}).get("jobs", 0))
            rows.append(row)
    return rows


def _headline(report_json: str) -> dict | None:
    """The objective's figures of a stored report (present/figures.py); None for a report of an
    older version without them."""
    doc = json.loads(report_json)
    if "headline" in doc:
        return doc["headline"]
    try:
        return figures.headline(doc).to_json()
    except KeyError:
        return None


def print_history(args) -> int:
    """Print every stored run of the kernel `args.history` names (table or JSON); 2 if there is none, else 0."""
    store = Store(args.store)
    target = args.history
    resolved = str(Path(target).resolve())
    kernels = [k for k in store.kernels() if k == resolved] or \
              [k for k in store.kernels() if k.endswith("/" + target) or Path(k).stem == target]
    if not kernels:
        print(f"no runs of '{target}' in {args.store}", file=sys.stderr)
        return 2
    out = []
    for k in kernels:
        best_ids = {r["run_id"] for r in store.db.execute("SELECT run_id FROM best WHERE kernel=?", (k,))}
        for r in store.runs("kernel=?", (k,)):
            d = dict(r)
            d["best"] = r["id"] in best_ids
            out.append(d)
    store.close()
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    from rich.console import Console

    console = Console()
    console.print(history_table(kernels, out, console))
    return 0


HISTORY_FIGURES = {"inorder": ("cycles_before", "cycles_after"), "ooo": ("ooo_before", "ooo_after")}


def history_table(kernels: list[str], runs: list[dict], console):
    """Every run of the kernels, fitted to the console: the objective's figure before and
    after with its gain (present/figures.py); less important columns go first when narrow."""
    cols = [Col("run"), Col("when", priority=3), Col("content", priority=5), Col("model", "left", 4, "name"),
            Col("seed"), Col("obj"), Col("try", priority=6), Col("status"), Col("before"), Col("after"),
            Col("gain"), Col("gap"), Col("mca after", priority=2), Col("proof", priority=7),
            Col("wall s", priority=1), Col("best")]
    rows = []
    for d in runs:
        keys = HISTORY_FIGURES.get(d["objective"])
        before, after = (d[keys[0]], d[keys[1]]) if keys else (None, None)
        gain = "-" if before is None or after is None else f"{figures.gain(before, after):.1%}"
        rows.append([str(d["id"]), time.strftime("%m-%d %H:%M", time.localtime(d["finished"])),
                     d["content_sha256"][:8], d["model"], str(d["seed"]), d["objective"], str(d["attempt"]),
                     d["status"], _s(before), _s(after), gain, "-" if d["gap"] is None else f"{d['gap']:.1%}",
                     _s(d["mca_after"]), d["proof"] or "-", _s(d["wall_seconds"]), "*" if d["best"] else ""])
    return fit_table(console, cols, rows, title=f"history of {', '.join(kernels)}",
                     caption="before/after: the objective's figure (in-order cycles, OoO cycles/iteration); "
                             "gain and gap as defined in docs/figures.md")


def _s(v) -> str:
    return "-" if v is None else str(v)


# ------------------------------------------------------------------ command line


