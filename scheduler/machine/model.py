"""Machine models: loading, validation and per-instruction timing.

A model is a TOML file in `models/` (schema below, validated with pydantic;
unknown keys are errors, and every error names the file and the key). Variants
in the file become extra models named `<name>-<variant>`. Nothing here knows
about any particular core: all numbers come from the file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scheduler.core.errors import SchedulerError
from scheduler.frontend.ir import Instruction
from scheduler.frontend.isa.operands import Shift
from scheduler.frontend.isa.table import TABLE

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"  # the repository's models/


class ModelError(SchedulerError):
    """A model file cannot be read or is invalid, or a model lacks what an instruction needs."""

    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Param(_Strict):
    """A core parameter (a count of at least 1) with the source it was taken from."""

    value: int = Field(ge=1)
    source: str


class CoreSpec(_Strict):
    """The `[core]` table: widths (instructions or micro-ops per cycle) and the window size (micro-ops)."""

    issue_width: Param
    decode_width: Param
    dispatch_width: Param
    window: Param
    retire_width: Param
    # out-of-order model: cycles from dispatch to the earliest issue (default 1)
    dispatch_to_issue: Param | None = None


class PipeSpec(_Strict):
    """A pipe type: how many identical pipes of it the core has, and the source."""

    count: int = Field(ge=1)
    source: str


class GroupSpec(_Strict):
    """A named set of pipe types a micro-op may use any of."""

    pipes: list[str]
    source: str


class HoldSpec(_Strict):
    """A unit a micro-op keeps busy besides its pipe, from the same cycle (e.g. an iterative
    multiplier behind the M pipe's issue port): a reservation, not a micro-op."""

    pipe: str
    busy: int = Field(default=1, ge=1)


class UopSpec(_Strict):
    """A micro-op: the pipe type or group it issues to, the cycles it keeps the pipe busy and its extra holds."""

    pipe: str
    busy: int = Field(default=1, ge=1)
    holds: list[HoldSpec] = []


class ClassSpec(_Strict):
    """A timing class: latency (cycles), micro-ops, and the writeback latency when it differs from the latency."""

    latency: int = Field(ge=0)
    uops: list[UopSpec] = Field(min_length=1)
    writeback_latency: int | None = Field(default=None, ge=0)
    source: str


class WhenSpec(_Strict):
    """A conditional class of an opclass: applies when the shift operator is in `shift` and its amount
    at most `max_amount` (each only if given)."""

    shift: list[str] | None = None
    max_amount: int | None = None
    class_: str = Field(alias="class")


class OpclassSpec(_Strict):
    """An opclass's timing class with conditional alternatives (the first matching `when` wins)."""

    class_: str = Field(alias="class")
    when: list[WhenSpec] = []


class ForwardSpec(_Strict):
    """A forwarding path: latency (cycles) from a producer class to a consumer class (any operand or the `acc` one)."""

    producer: str
    consumer: str
    operand: str = "any"  # "any" or "acc" (the consumer's read-write destination)
    latency: int = Field(ge=0)
    source: str


class QueueSpec(_Strict):
    """Each pipe of a type has its own issue queue of `size` micro-ops."""

    size: int = Field(ge=1)
    source: str


# How a micro-op that may use several pipes gets one (the out-of-order evaluator):
#   issue  no queues: it takes whichever permitted pipe is free when it issues;
#   least  at dispatch, into the least-occupied issue queue of a permitted pipe (ties: the
#          order of `pipes`), and it issues only there; the queues of pipe types in `avoid`
#          only when every other permitted queue is full. Dispatch waits, in program order,
#          while a micro-op finds every permitted queue full.
STEERING_RULES = ("issue", "least")


class SteeringSpec(_Strict):
    """How a micro-op that may use several pipes gets one ("issue" or "least", see STEERING_RULES above)."""

    rule: Literal["issue", "least"]
    avoid: list[str] = []
    source: str


class VariantSpec(_Strict):
    """A variant of a model: classes, core parameters, queues and steering that override the base model's."""

    description: str
    classes: dict[str, ClassSpec] = {}
    core: dict[str, Param] = {}
    queues: dict[str, QueueSpec] | None = None
    steering: SteeringSpec | None = None


class ModelSpec(_Strict):
    """A whole model file as validated: core, pipes, timing classes, the opclass map, forwarding and variants."""

    name: str
    description: str
    # how the core issues: an in-order core is judged by the in-order evaluator (the default
    # objective of `optimize`, and its figure under a multi-model objective)
    issue_order: Literal["out-of-order", "in-order"] = "out-of-order"
    sources: dict[str, str]
    core: CoreSpec
    pipes: dict[str, PipeSpec]
    groups: dict[str, GroupSpec] = {}
    classes: dict[str, ClassSpec]
    opclasses: dict[str, str | OpclassSpec]
    forwarding: list[ForwardSpec] = []
    # per-pipe issue queues and the steering rule of the out-of-order evaluator (without
    # them, or with rule "issue", micro-ops pick their pipe at issue and nothing queues)
    queues: dict[str, QueueSpec] = {}
    steering: SteeringSpec | None = None
    variants: dict[str, VariantSpec] = {}


# --------------------------------------------------------------------- loading

def _format_validation(path: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"] if p not in ("str", "OpclassSpec")) or "(top level)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"{path}: {key}: {msg}")
    return "\n".join(lines)


def _read_spec(path: Path) -> ModelSpec:
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise ModelError(f"{path}: cannot read model: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"{path}: invalid TOML: {e}") from None
    try:
        return ModelSpec.model_validate(raw)
    except ValidationError as e:
        raise ModelError(_format_validation(path, e)) from None


def model_dirs() -> list[Path]:
    """Directories searched for model files: those on `$SCHEDULER_MODELS_PATH` first, then `models/`."""
    extra = os.environ.get("SCHEDULER_MODELS_PATH", "")
    return [Path(p) for p in extra.split(os.pathsep) if p] + [MODELS_DIR]


def available_models(broken: dict[str, str] | None = None) -> dict[str, tuple[Path, str | None]]:
    """Model name -> (file, variant or None), for every model file found. Files that do
    not validate are left out (their errors go into `broken`, keyed by file stem)."""
    out: dict[str, tuple[Path, str | None]] = {}
    for d in model_dirs():
        for path in sorted(d.glob("*.toml")):
            try:
                spec = _read_spec(path)
            except ModelError as e:
                if broken is not None:
                    broken[path.stem] = str(e)
                continue
            out.setdefault(spec.name, (path, None))
            for v in spec.variants:
                out.setdefault(f"{spec.name}-{v}", (path, v))
    return out


DEFAULT_MODEL = "neoverse-n1"


MCA_PREFIX = "llvm-mca:"


def load_models(names: str) -> list[Model]:
    """A comma-separated list of models (`neoverse-n1,neoverse-v1`), each named once.
    `llvm-mca:CPU` names llvm-mca itself as a judge of a multi-model objective (McaModel)."""
    items = [n.strip() for n in names.split(",")]
    if not all(items):
        raise ModelError(f"empty model name in '{names}'")
    if len(set(items)) != len(items):
        raise ModelError(f"a model is named twice in '{names}'")
    models = [load_mca_model(n) if n.startswith(MCA_PREFIX) else load_model(n) for n in items]
    if isinstance(models[0], McaModel):  # the first model is the report's and the certificate's
        raise ModelError(f"{items[0]} judges schedules only after a model of ours under --objective "
                         f"worst|mean (e.g. --model neoverse-n1,{items[0]})")
    return models


def load_model(name_or_path: str = DEFAULT_MODEL) -> Model:
    """Load a model by registry name (`neoverse-n1`, `neoverse-n1-llvm`) or file path."""
    path = Path(name_or_path)
    variant = None
    if path.suffix == ".toml":
        spec = _read_spec(path)
        name = spec.name
    else:
        broken: dict[str, str] = {}
        models = available_models(broken)
        if name_or_path not in models:
            for stem, err in broken.items():
                if name_or_path.startswith(stem):
                    raise ModelError(err)
            raise ModelError(f"unknown model '{name_or_path}'; available: {', '.join(sorted(models))}")
        path, variant = models[name_or_path]
        spec = _read_spec(path)
        name = name_or_path
    base = Model(spec.name, path, spec)
    base.validate_references()
    variants = {v: _apply_variant(path, spec, v) for v in spec.variants}  # every variant is checked
    if variant is not None:
        return Model(name, path, variants[variant])
    return Model(name, path, spec) if name == spec.name else base


def _apply_variant(path: Path, spec: ModelSpec, variant: str) -> ModelSpec:
    v = spec.variants[variant]
    where = f"{path}: variants.{variant}"
    for c in v.classes:
        if c not in spec.classes:
            raise ModelError(f"{where}.classes.{c}: overrides a class the model does not define")
    for k in v.core:
        if k not in CoreSpec.model_fields:
            raise ModelError(f"{where}.core.{k}: unknown key")
    update: dict = {"classes": {**spec.classes, **v.classes}, "core": spec.core.model_copy(update=v.core)}
    if v.queues is not None:
        update["queues"] = v.queues
    if v.steering is not None:
        update["steering"] = v.steering
    merged = spec.model_copy(update=update)
    try:
        Model(f"{spec.name}-{variant}", path, merged).validate_references()
    except ModelError as e:
        raise ModelError(str(e).replace(f"{path}: classes.", f"{where}.classes.")) from None
    return merged


# ---------------------------------------------------------------------- timing

@dataclass(frozen=True)
class Timing:
    """What the evaluators and the solver need to know about one instruction."""

    cls: str
    latency: int
    writeback_latency: int
    uops: tuple[tuple[tuple[str, ...], int], ...]  # pipe reservations: (types it may use, busy cycles)
    n_uops: int  # micro-ops, for dispatch/window/retire accounting
    # the micro-ops one by one, for issue queues: (types it may use, busy, held units as
    # (types, busy) taken in the same cycle)
    issue_uops: tuple[tuple[tuple[str, ...], int, tuple[tuple[tuple[str, ...], int], ...]], ...] = ()


class Model:
    """A loaded machine model (a variant already merged in): pipes and per-instruction timing."""

    def __init__(self, name: str, path: Path, spec: ModelSpec):
        self.name = name
        self.path = path
        self.spec = spec
        self._timing_cache: dict[str, Timing] = {}  # by class name

    # -- structure
    @cached_property
    def pipes(self) -> dict[str, int]:
        """Pipe types with their counts (e.g. S: 2)."""
        return {k: p.count for k, p in self.spec.pipes.items()}

    def expand(self, pipe_or_group: str) -> tuple[str, ...]:
        """The pipe types a pipe type or group name stands for."""
        if pipe_or_group in self.spec.pipes:
            return (pipe_or_group,)
        return tuple(self.spec.groups[pipe_or_group].pipes)

    @property
    def in_order(self) -> bool:
        """Whether the core issues in order (judged by the in-order evaluator)."""
        return self.spec.issue_order == "in-order"

    @property
    def issue_width(self) -> int:
        """Instructions issued per cycle, at most."""
        return self.spec.core.issue_width.value

    @property
    def core(self) -> CoreSpec:
        """The model's core parameters (widths and window)."""
        return self.spec.core

    @property
    def steering(self) -> str:
        """The out-of-order evaluator's steering rule (STEERING_RULES); "issue" without one."""
        return self.spec.steering.rule if self.spec.steering is not None else "issue"

    @property
    def steering_avoid(self) -> frozenset[str]:
        """Pipe types whose queues a flexible micro-op takes only when the others are full."""
        return frozenset(self.spec.steering.avoid) if self.spec.steering is not None else frozenset()

    @property
    def dispatch_to_issue(self) -> int:
        """Out-of-order model: cycles from dispatch to the earliest issue."""
        p = self.spec.core.dispatch_to_issue
        return p.value if p is not None else 1

    @cached_property
    def queue_sizes(self) -> dict[str, int]:
        """Issue-queue size of each pipe of a type (every pipe of the type has its own);
        pipe types without a queue are absent."""
        return {k: q.size for k, q in self.spec.queues.items()}

    def validate_references(self) -> None:
        """Cross-references the schema cannot check: pipes, groups, classes."""
        where = str(self.path)
        for g, spec in self.spec.groups.items():
            for p in spec.pipes:
                if p not in self.spec.pipes:
                    raise ModelError(f"{where}: groups.{g}.pipes: unknown pipe '{p}'")
        for c, cspec in self.spec.classes.items():
            for i, u in enumerate(cspec.uops):
                if u.pipe not in self.spec.pipes and u.pipe not in self.spec.groups:
                    raise ModelError(f"{where}: classes.{c}.uops.{i}.pipe: unknown pipe or group '{u.pipe}'")
                for j, h in enumerate(u.holds):
                    if h.pipe not in self.spec.pipes:
                        raise ModelError(f"{where}: classes.{c}.uops.{i}.holds.{j}.pipe: unknown pipe '{h.pipe}'")
        for op, target in self.spec.opclasses.items():
            names = [target] if isinstance(target, str) else [target.class_, *(w.class_ for w in target.when)]
            for n in names:
                if n not in self.spec.classes:
                    raise ModelError(f"{where}: opclasses.{op}: unknown class '{n}'")
        for q in self.spec.queues:
            if q not in self.spec.pipes:
                raise ModelError(f"{where}: queues.{q}: unknown pipe '{q}'")
        for a in self.spec.steering.avoid if self.spec.steering is not None else ():
            if a not in self.spec.pipes:
                raise ModelError(f"{where}: steering.avoid: unknown pipe '{a}'")
        for i, f in enumerate(self.spec.forwarding):
            for n in (f.producer, f.consumer):
                if n not in self.spec.classes:
                    raise ModelError(f"{where}: forwarding.{i}: unknown class '{n}'")
            if f.operand not in ("any", "acc"):
                raise ModelError(f"{where}: forwarding.{i}.operand: must be 'any' or 'acc'")

    def coverage(self) -> list[str]:
        """Instruction-table forms (with their opclass) that this model cannot place."""
        missing = []
        for form in TABLE:
            for oc in form.opclasses:
                if oc not in self.spec.opclasses:
                    missing.append(f"{form.key}  (opclass {oc})")
        return missing

    # -- per instruction
    def class_of(self, instr: Instruction) -> str:
        """The timing class of `instr`: its opclass's class, or the first `when` alternative its shift matches.
        Raises ModelError when the model has no class for the opclass."""
        oc = instr.opclass
        target = self.spec.opclasses.get(oc)
        if target is None:
            raise ModelError(f"{instr.loc}: model {self.name} has no class for '{instr}' (opclass {oc})")
        if isinstance(target, str):
            return target
        shift = next((o for o in instr.operands if isinstance(o, Shift)), None)
        for w in target.when:
            if w.shift is not None and (shift is None or shift.op not in w.shift):
                continue
            if w.max_amount is not None and (shift is None or shift.amount > w.max_amount):
                continue
            return w.class_
        return target.class_

    def timing(self, instr: Instruction) -> Timing:
        """The timing of `instr` (latencies in cycles, pipe reservations, micro-ops), cached per class."""
        cls = self.class_of(instr)
        cached = self._timing_cache.get(cls)
        if cached is None:
            spec = self.spec.classes[cls]
            wb = spec.writeback_latency if spec.writeback_latency is not None else spec.latency
            issue_uops = tuple((self.expand(u.pipe), u.busy, tuple(((h.pipe,), h.busy) for h in u.holds))
                               for u in spec.uops)
            cached = Timing(cls, spec.latency, wb, self._reservations(spec), len(spec.uops), issue_uops)
            self._timing_cache[cls] = cached
        return cached

    def _reservations(self, spec: ClassSpec) -> tuple[tuple[tuple[str, ...], int], ...]:
        """Micro-ops as pipe reservations that can all start in the issue cycle: when a
        class has more micro-ops on a pipe set than it has pipes (2 x V0, 4 x L), they
        follow each other, so they become fewer reservations of longer busy time."""
        groups: dict[tuple[tuple[str, ...], int], int] = {}
        for u in spec.uops:
            for key in [(self.expand(u.pipe), u.busy)] + [((h.pipe,), h.busy) for h in u.holds]:
                groups[key] = groups.get(key, 0) + 1
        out = []
        for (pipes, busy), count in groups.items():
            cap = sum(self.pipes[p] for p in pipes)
            if count <= cap:
                out += [(pipes, busy)] * count
            else:
                out += [(pipes, busy * -(-count // cap))] * cap
        return tuple(out)

    def latency(self, producer: Instruction, consumer: Instruction, resource: str) -> int:
        """Cycles from the producer's issue until the consumer may issue (RAW on `resource`)."""
        tp = self.timing(producer)
        lat = tp.latency
        if producer.form.mem and producer.mem is not None and resource == producer.mem.base \
                and resource in producer.writes:
            lat = tp.writeback_latency
        if self.spec.forwarding:
            tc = self.timing(consumer)
            roles = {p.role for o, p in zip(consumer.operands, consumer.form.operands, strict=False)
                     if getattr(o, "resource", None) == resource}
            is_acc = roles == {"rw"}  # read only as the accumulator, not also as a source
            for f in self.spec.forwarding:
                if f.producer == tp.cls and f.consumer == tc.cls and (f.operand == "any" or is_acc):
                    lat = min(lat, f.latency)
        return lat


class McaModel(Model):
    """llvm-mca as a judge (`llvm-mca:CPU`, for the multi-model objective): a schedule's figure
    is llvm-mca's Total Cycles / 100 for 100 iterations with `-mcpu=CPU`. Its timing data (what
    a search for this judge optimises) is that of the model llvm-mca is closest to: the
    `-llvm` variant of CPU's model where there is one (LLVM's own tables), else CPU's model."""

    def __init__(self, name: str, base: Model, mcpu: str):
        super().__init__(name, base.path, base.spec)
        self.mcpu = mcpu
        self.base_name = base.name


def load_mca_model(item: str) -> McaModel:
    """`llvm-mca:CPU` as a McaModel; ModelError if llvm-mca 19+ is absent or CPU unknown."""
    from scheduler.machine.mca import MCPU, find_llvm_mca

    cpu = item[len(MCA_PREFIX):]
    if find_llvm_mca() is None:
        raise ModelError(f"{item}: llvm-mca-19 (or newer) is not on PATH")
    bases = [m for m, c in MCPU.items() if c == cpu]
    if not bases:
        raise ModelError(f"{item}: unknown llvm-mca cpu '{cpu}'; known: {', '.join(sorted(set(MCPU.values())))}")
    known = available_models()
    base = f"{bases[0]}-llvm" if f"{bases[0]}-llvm" in known else bases[0]
    return McaModel(item, load_model(base), cpu)
