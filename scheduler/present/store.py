"""The results store of `scheduler batch`: one SQLite file (WAL mode).

Tables (see docs/batch.md):
  runs  one row per finished task attempt (ok, failed or timeout), never updated;
  best  per kernel and objective, the best verified and proved result with its output text,
        report and certificate (so outputs can be rewritten without re-running).

Only the batch driver writes, each result in one transaction (its run row and, when it
improves, the best row together), so a batch killed at any point leaves a consistent store.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL,
    finished REAL NOT NULL,             -- unix time
    kernel TEXT NOT NULL,               -- absolute path
    content_sha256 TEXT NOT NULL,
    options_json TEXT NOT NULL,
    options_sha256 TEXT NOT NULL,       -- of options_json: the skip key
    semantic_sha256 TEXT NOT NULL,      -- options that change the meaning of a result
    model TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    seed INTEGER NOT NULL,
    objective TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    cycles_before INTEGER, cycles_after INTEGER,          -- in-order model
    ooo_before REAL, ooo_after REAL,                      -- out-of-order, cycles/iteration
    lower_bound INTEGER, gap REAL,
    mca_before REAL, mca_after REAL,                      -- llvm-mca's figure (present/figures.py)
    proof TEXT,
    wall_seconds REAL,
    host TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')),
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_key ON runs
    (kernel, content_sha256, options_sha256, model_sha256, seed, objective, status);
CREATE TABLE IF NOT EXISTS best (
    kernel TEXT NOT NULL,
    objective TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    content_sha256 TEXT NOT NULL,
    semantic_sha256 TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    score_json TEXT NOT NULL,           -- the ranking key, lower is better
    output_text TEXT NOT NULL,
    report_json TEXT NOT NULL,
    certificate_json TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (kernel, objective)
);
"""

RUN_COLUMNS = ("batch_id", "finished", "kernel", "content_sha256", "options_json", "options_sha256",
               "semantic_sha256", "model", "model_sha256", "tool_version", "seed", "objective", "attempt",
               "cycles_before", "cycles_after", "ooo_before", "ooo_after", "lower_bound", "gap",
               "mca_before", "mca_after", "proof", "wall_seconds", "host", "status", "error")


def score(objective: str, row: dict) -> list:
    """Ranking key of an ok result for an objective (lower is better)."""
    inorder, ooo, single = row["cycles_after"], row["ooo_after"], row.get("single_after") or 0
    if objective == "ooo":
        return [ooo, inorder]
    if objective == "single":
        return [single, inorder]
    if objective in ("worst", "mean"):  # several models: the worst/mean of after / before per model
        return [row.get("multi_after") or 1.0, ooo, inorder]
    return [inorder, ooo]


class Store:
    """The batch results store: an open SQLite connection (WAL mode), its schema created if missing."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        with self.transaction():
            for statement in _statements(SCHEMA):  # (executescript would commit on its own)
                self.db.execute(statement)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    # sqlite3's implicit transactions are off (isolation_level=None): BEGIN/COMMIT are ours
    class _Tx:
        def __init__(self, db):
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type, *rest):
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
            return False

    def transaction(self):
        """A context manager around one immediate transaction: commits on success, rolls back on an exception."""
        return Store._Tx(self.db)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def has_ok(self, kernel: str, content: str, options: str, model: str, seed: int, objective: str) -> bool:
        """Whether a successful run of this kernel exists for the same content, options, model, seed and objective."""
        row = self.db.execute(
            "SELECT 1 FROM runs WHERE kernel=? AND content_sha256=? AND options_sha256=? AND model_sha256=? "
            "AND seed=? AND objective=? AND status='ok' LIMIT 1",
            (kernel, content, options, model, seed, objective)).fetchone()
        return row is not None

    def record(self, run: dict, artifacts: dict | None = None) -> tuple[int, bool]:
        """Insert a run (and for an ok run, update the best row) in one transaction.

        Returns the run id and whether the run became the best of its kernel and objective."""
        improved = False
        with self.transaction() as db:
            cur = db.execute(f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES "
                             f"({', '.join('?' for _ in RUN_COLUMNS)})", [run.get(c) for c in RUN_COLUMNS])
            run_id = cur.lastrowid
            if run["status"] == "ok" and artifacts is not None:
                new = score(run["objective"], {**run, "single_after": artifacts.get("single_after"),
                                               "multi_after": artifacts.get("multi_after")})
                old = db.execute("SELECT * FROM best WHERE kernel=? AND objective=?",
                                 (run["kernel"], run["objective"])).fetchone()
                stale = old is not None and (old["content_sha256"], old["semantic_sha256"], old["model_sha256"]) != (
                    run["content_sha256"], run["semantic_sha256"], run["model_sha256"])
                if old is None or stale or new < json.loads(old["score_json"]):
                    improved = True
                    db.execute("INSERT OR REPLACE INTO best VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                               (run["kernel"], run["objective"], run_id, run["content_sha256"],
                                run["semantic_sha256"], run["model_sha256"], json.dumps(new),
                                artifacts["output_text"], artifacts["report_json"],
                                artifacts["certificate_json"], time.time()))
        return run_id, improved

    def best(self, kernel: str, objective: str):
        """The best row of `kernel` under `objective`, joined with its run's figures, or None."""
        return self.db.execute("SELECT b.*, r.cycles_before, r.cycles_after, r.ooo_before, r.ooo_after, "
                               "r.lower_bound, r.gap, r.mca_before, r.mca_after, r.seed, r.wall_seconds "
                               "FROM best b JOIN runs r ON r.id = b.run_id WHERE b.kernel=? AND b.objective=?",
                               (kernel, objective)).fetchone()

    def runs(self, where: str = "1", params=()) -> list[sqlite3.Row]:
        """The runs matching the SQL condition `where` (with `params`), oldest first."""
        return self.db.execute(f"SELECT * FROM runs WHERE {where} ORDER BY id", params).fetchall()

    def kernels(self) -> list[str]:
        """Every kernel path with a run in the store, sorted."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT kernel FROM runs ORDER BY kernel")]


def _statements(script: str) -> list[str]:
    out, cur = [], []
    for line in script.splitlines():
        cur.append(line.split("--")[0])
        if line.rstrip().endswith(";"):
            out.append("\n".join(cur))
            cur = []
    return [s for s in out if s.strip()]
