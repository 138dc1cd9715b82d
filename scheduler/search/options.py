"""What an optimisation is asked to do (Options) and what it gives back per block."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from scheduler.frontend.abi import DEFAULT_RESERVED
from scheduler.frontend.dag import AliasFacts
from scheduler.frontend.ir import Instruction


class Status(StrEnum):
    """A block's result: OPTIMAL (at a bound that holds for every allowed schedule, under the
    objective), FEASIBLE (faster, not proven optimal), FALLBACK (the input order kept)."""

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    FALLBACK = "FALLBACK"


class Objective(StrEnum):
    """What "faster" means (--objective); worst and mean combine several models."""

    INORDER = "inorder"
    OOO = "ooo"
    SINGLE = "single"
    WORST = "worst"
    MEAN = "mean"


@dataclass(frozen=True)
class Options:
    """What an optimisation is asked to do: time limit (seconds), search effort, checks, objective and assumptions."""

    time_limit: float = 30.0  # seconds, shared by all blocks
    workers: int = 0  # CP-SAT workers; 0 = all cores
    seed: int = 0
    noalias: frozenset[str] = frozenset()
    slack: float = 0.0  # allowed in-order cycles above the best found, as a fraction
    diversity_solves: int = 4
    search_evaluations: int = 150
    verify_trials: int = 100
    rename: bool = True  # register renaming inside the CP-SAT model
    reserve: frozenset[str] = DEFAULT_RESERVED  # registers never handed out by renaming
    outputs: frozenset[str] = frozenset()  # registers live after every block (--outputs)
    all_outputs: bool = False  # no outputs declared and no `ret`: every register's final value counts
    fixup: bool = True  # loads/stores may cross updates of their base register (offset adjusted)
    rename_outputs: bool = False  # declared outputs may end in other registers (recorded in output_map)
    decompose: str = "auto"  # window passes: "auto" (blocks of DECOMPOSE_FROM+), "always", "never"
    deterministic: bool = False  # time limits in CP-SAT deterministic time, one worker: repeatable runs
    # what "faster" means: ooo (back-to-back runs), single (one cold run), inorder; with several
    # models worst or mean (of each model's figure over its own best)
    objective: str = Objective.OOO  # an Objective (plain strings of its values are accepted)
    prove: bool = False  # also prove each block by symbolic execution (scheduler/checks/prove.py) before writing
    # the block being optimised: what its memory-dependency analysis may assume (frontend/cfg.py's
    # entry facts); None at the program level (every block starts at the function's entry)
    facts: AliasFacts | None = None
    # `optimize --judge bench`: besides the best schedule, keep up to judge_k - 1 other distinct
    # candidates that pass every check (BlockResult.alternatives), for the harness to measure
    judge_k: int = 0

    @property
    def alias(self) -> AliasFacts:
        """The memory-dependency assumptions of the block being optimised."""
        return self.facts if self.facts is not None else AliasFacts(self.noalias)


@dataclass
class Alternative:
    """A verified candidate other than the best (what BlockResult needs to switch to it)."""

    instrs: list[Instruction]
    order: list[int]
    renamed: bool
    register_map: list[dict[str, dict[str, str]]]
    offset_fixups: list[dict]
    proof: str
    cycles: int  # in-order
    ooo_steady: float
    ooo_single: int


@dataclass
class BlockResult:
    """What optimising one block gave: the new order and code, cycles before and after, bounds, checks and timings."""

    index: int
    instructions: int
    order: list[int]
    cycles_before: int
    cycles_after: int
    lower_bound: int
    bound_reason: str
    status: Status
    solve_seconds: float  # CP-SAT time
    seconds: float  # everything: solve, candidate search, checks
    verified: bool
    ooo_cycles_before: float
    ooo_cycles_after: float
    ooo_single_before: int
    ooo_single_after: int
    ooo_lower_bound: float
    solver_cycles: int | None  # the solver's claimed in-order cycles for its best order
    solver_bound: int | None
    instructions_after: list[Instruction] = field(default_factory=list, repr=False)
    proved: bool = False  # equivalent for all inputs (certificate.check_block, and with --prove symbolically)
    proof: str = "certificate"  # how: "certificate", or the symbolic prover's method with --prove
    renamed: bool = False  # registers were re-assigned
    register_map: list[dict[str, dict[str, str]]] = field(default_factory=list)  # per output instruction
    offset_fixups: list[dict] = field(default_factory=list)  # accesses moved across base updates
    output_map: dict[str, str] = field(default_factory=dict)  # outputs now in other registers
    live_out: list[str] = field(default_factory=list)
    # what the block's checks assumed at its entry (AliasFacts.to_json()["entry"]); None: the
    # block starts at the function's entry
    entry_facts: dict | None = None
    candidates: int = 0
    notes: list[str] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)  # where the time went (pipeline.StageRecord)
    # several models (--model a,b --objective worst|mean): per model its figures before and after,
    # its own best and the normalised figure (scheduler/search/multimodel.py)
    per_model: list[dict] = field(default_factory=list)
    # `--judge bench` (scheduler/bench/judge.py): other verified candidates (Alternative), and
    # the measured figures beside the model's once judged (None: not measured)
    alternatives: list[Alternative] = field(default_factory=list, repr=False)
    measured: dict | None = None
    ooo_bound_reason: str = ""  # what binds ooo_lower_bound (bounds.OooBound.binding)

    @property
    def gap(self) -> float:
        """How far the in-order cycles after are above the lower bound, as a fraction (0 without a bound)."""
        return self.cycles_after / self.lower_bound - 1 if self.lower_bound else 0.0


class VerificationFailed(Exception):
    """A schedule failed an independent check: nothing may be written."""


class ProofUnknown(VerificationFailed):
    """`--prove`: the symbolic prover could neither prove nor refute a block (time limit)."""
