"""SQLite store of finished cells: one row per cell, committed the moment the cell finishes.

A row is keyed by ``(reproduction, task, method, seed, scale)`` (`guardopt.reproduce.spec.Cell.key`),
so quick and full results never mix and a rerun knows exactly what is left. The journal is WAL with
a busy timeout, so several processes (two ``guardopt reproduce`` runs, a report while a run goes on)
can share one file. Every write is its own ``IMMEDIATE`` transaction: a run killed with SIGKILL loses
at most the cells that were still running. The schema carries a version; a store written by a newer
schema is refused with a clear message rather than migrated.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardopt.core.errors import StorageError
from guardopt.core.storage import RESULT_TABLES, STUDY_TABLES, enable_wal, sqlite_tables
from guardopt.reproduce.spec import Cell, Record

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    reproduction TEXT NOT NULL,
    task TEXT NOT NULL,
    method TEXT NOT NULL,
    seed INTEGER NOT NULL,
    scale TEXT NOT NULL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL,
    metrics TEXT NOT NULL,
    curves TEXT NOT NULL,
    wall_time REAL,
    error TEXT,
    environment TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (reproduction, task, method, seed, scale)
);
"""

_COLUMNS = ("reproduction", "task", "method", "seed", "scale", "status", "settings", "metrics", "curves",
            "wall_time", "error", "environment", "finished_at")


def settings_json(settings: Mapping[str, Any]) -> str:
    """Canonical JSON of a cell's settings (sorted keys), used to spot rows of changed settings."""
    return json.dumps(dict(settings), sort_keys=True, default=str)


@dataclass(frozen=True)
class StoredCell:
    """One stored row: the cell's inputs, what it measured, and where and when it ran.

    ``environment`` holds the guardopt and dependency versions, hostname, CPU count and platform of
    the process that ran the cell.
    """

    reproduction: str
    task: str
    method: str
    seed: int
    scale: str
    status: str  # "done" or "failed"
    settings: Mapping[str, Any]
    metrics: Mapping[str, float]
    curves: Mapping[str, Sequence[float]]
    wall_time: float
    error: str | None
    environment: Mapping[str, Any]
    finished_at: str  # ISO 8601, UTC
    attempts: int = 1
    settings_text: str = field(default="", repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str, str, int, str]:
        """Same identity as `Cell.key`."""
        return (self.reproduction, self.task, self.method, self.seed, self.scale)

    def to_record(self) -> Record:
        """The view a verdict function gets."""
        return Record(self.task, self.method, self.seed, self.status, dict(self.metrics),
                      {k: list(v) for k, v in self.curves.items()}, self.wall_time, self.error)


class ResultStore:
    """Finished cells in one SQLite file (created with its folder on first use).

    Args:
        path: The SQLite file, e.g. ``.guardopt/results.db``.
        timeout: Seconds to wait for another process's write lock before failing.
    """

    def __init__(self, path: str | Path, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        tables = sqlite_tables(self.path)
        if tables & STUDY_TABLES and not tables & RESULT_TABLES:
            # Checked before anything is written (the two kinds of file share the 'meta' table).
            raise StorageError(f"{self.path} is a study storage (read it with `guardopt study list --storage "
                               f"sqlite:///{self.path}`), not a result store of `guardopt reproduce`.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            enable_wal(self._db, timeout)
            # NORMAL keeps every commit across a process crash (SIGKILL); only power loss may drop
            # the last commits, which a rerun recomputes.
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._immediate():
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.Error as exc:
            raise StorageError(f"Cannot open the result store {self.path}: {exc}") from exc
        version = int(row[0]) if row is not None else SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            self.close()
            raise StorageError(
                f"The result store {self.path} was written by a newer guardopt (schema {version}; this "
                f"one reads schema {SCHEMA_VERSION}). Upgrade guardopt or use another --store."
            )

    def close(self) -> None:
        """Close the connection (the store can be reopened any time)."""
        self._db.close()

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """One write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to
        ``timeout`` for other processes), COMMIT on success, ROLLBACK on any exception."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def put(self, cell: Cell, status: str, metrics: Mapping[str, float],
            curves: Mapping[str, Sequence[float]], wall_time: float, error: str | None,
            environment: Mapping[str, Any], finished_at: str) -> None:
        """Store one finished cell in its own transaction (replacing an earlier row of the same key)."""
        values = (
            *cell.key,
            status,
            settings_json(cell.settings),
            json.dumps({k: float(v) for k, v in metrics.items()}),
            json.dumps({k: [float(x) for x in v] for k, v in curves.items()}),
            float(wall_time),
            error,
            json.dumps(dict(environment), default=str),
            finished_at,
        )
        cols = ", ".join(_COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[5:])
        sql = (f"INSERT INTO cells ({cols}) VALUES ({marks}) "
               "ON CONFLICT (reproduction, task, method, seed, scale) DO UPDATE SET "
               f"{updates}, attempts = cells.attempts + 1")
        try:
            with self._immediate():
                self._db.execute(sql, values)
        except sqlite3.Error as exc:
            raise StorageError(f"Cannot write cell {cell.key} to {self.path}: {exc}") from exc

    # -- reading -------------------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"Cannot read the result store {self.path}: {exc}") from exc

    def done_settings(self, reproduction: str, scale: str) -> dict[tuple[str, str, str, int, str], str]:
        """Keys of the cells stored as done at a scale, with the settings JSON they ran with."""
        rows = self._query("SELECT task, method, seed, settings FROM cells "
                           "WHERE reproduction = ? AND scale = ? AND status = 'done'", (reproduction, scale))
        return {(reproduction, t, m, int(s), scale): settings for t, m, s, settings in rows}

    def load(self, reproduction: str, scale: str | None = None) -> list[StoredCell]:
        """Every stored row of a reproduction (at one scale, or all), by task, method, seed."""
        sql = f"SELECT {', '.join(_COLUMNS)}, attempts FROM cells WHERE reproduction = ?"
        args: tuple[Any, ...] = (reproduction,)
        if scale is not None:
            sql += " AND scale = ?"
            args += (scale,)
        sql += " ORDER BY scale, task, method, seed"
        return [_row_to_cell(r) for r in self._query(sql, args)]

    def scales(self, reproduction: str) -> list[str]:
        """The scales at which a reproduction has stored rows."""
        rows = self._query("SELECT DISTINCT scale FROM cells WHERE reproduction = ? ORDER BY scale",
                           (reproduction,))
        return [r[0] for r in rows]

    def reproductions(self) -> list[str]:
        """Names of the reproductions with stored rows."""
        return [r[0] for r in self._query("SELECT DISTINCT reproduction FROM cells ORDER BY reproduction")]

    # -- evidence export -----------------------------------------------------------------------

    def export_jsonl(self, out_dir: str | Path, scale: str | None = None,
                     reproductions: Sequence[str] | None = None) -> list[Path]:
        """Write ``<out_dir>/<reproduction>.jsonl.gz``: every stored row, one JSON object a line, by key.

        The export is the evidence committed beside reports: `import_jsonl` (or a ``--store`` naming
        the folder) gives back a store from which every report regenerates byte for byte. Rows are
        written in key order with sorted JSON keys and a fixed gzip timestamp, so the same rows give
        the same bytes.
        """
        names = list(reproductions) if reproductions is not None else self.reproductions()
        written = [export_evidence(out_dir, name, self.load(name, scale)) for name in names]
        return [p for p in written if p is not None]

    def import_jsonl(self, path: str | Path) -> int:
        """Load the rows of one export file (``.jsonl`` or ``.jsonl.gz``) into this store; returns the count."""
        p = Path(path)
        try:
            raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
            rows = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
        except (OSError, EOFError, ValueError) as exc:  # EOFError: a truncated gzip file
            raise StorageError(f"Cannot read the evidence file {p}: {exc}") from exc
        if not all(isinstance(row, dict) for row in rows):
            raise StorageError(f"Cannot load the evidence file {p}: every line must be a JSON object (one cell).")
        cols = ", ".join((*_COLUMNS, "attempts"))
        marks = ", ".join("?" for _ in range(len(_COLUMNS) + 1))
        try:
            with self._immediate():
                for row in rows:
                    self._db.execute(f"INSERT OR REPLACE INTO cells ({cols}) VALUES ({marks})",
                                     tuple(row[c] for c in (*_COLUMNS, "attempts")))
        except (sqlite3.Error, KeyError) as exc:
            raise StorageError(f"Cannot load the evidence file {p}: {exc}") from exc
        return len(rows)


def export_evidence(out_dir: str | Path, name: str, rows: Sequence[StoredCell]) -> Path | None:
    """Write ``rows`` to ``<out_dir>/<name>.jsonl.gz`` in key order (None, and no file, when empty)."""
    if not rows:
        return None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows, key=lambda r: (r.scale, r.task, r.method, r.seed))
    lines = [json.dumps(_cell_to_json(r), sort_keys=True, allow_nan=True) for r in ordered]
    path = out / f"{name}.jsonl.gz"
    # A fixed gzip timestamp and no file name in the header: the same rows give the same bytes.
    # Written beside the target and renamed over it, so an export killed half-way never leaves a
    # truncated evidence file (nor destroys the previous one).
    partial = out / f".{name}.jsonl.gz.partial"
    try:
        with open(partial, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
            gz.write(("\n".join(lines) + "\n").encode("utf-8"))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _cell_to_json(r: StoredCell) -> dict[str, Any]:
    # Columns as stored (settings, metrics, curves, environment stay JSON text) so that an import
    # writes back exactly the strings that were read.
    return {
        "reproduction": r.reproduction, "task": r.task, "method": r.method, "seed": r.seed, "scale": r.scale,
        "status": r.status, "settings": r.settings_text or settings_json(r.settings),
        "metrics": json.dumps(dict(r.metrics)), "curves": json.dumps({k: list(v) for k, v in r.curves.items()}),
        "wall_time": None if math.isnan(r.wall_time) else r.wall_time, "error": r.error,
        "environment": json.dumps(dict(r.environment), default=str), "finished_at": r.finished_at,
        "attempts": r.attempts,
    }


@contextmanager
def open_store(path: str | Path) -> Iterator[ResultStore]:
    """A store from a SQLite file, or from a folder of `ResultStore.export_jsonl` files (loaded into a
    temporary SQLite file that is removed afterwards)."""
    p = Path(path)
    if not p.is_dir():
        with ResultStore(p) as store:
            yield store
        return
    files = sorted([*p.glob("*.jsonl"), *p.glob("*.jsonl.gz")])
    with tempfile.TemporaryDirectory(prefix="guardopt-evidence-") as tmp:
        with ResultStore(Path(tmp) / "evidence.db") as store:
            for f in files:
                store.import_jsonl(f)
            yield store


def _loads_floats(text: str) -> dict[str, Any]:
    # json writes NaN / Infinity for non-finite floats and reads them back.
    out: dict[str, Any] = json.loads(text)
    return out


def _row_to_cell(row: tuple[Any, ...]) -> StoredCell:
    (repro, task, method, seed, scale, status, settings, metrics, curves, wall, error, env, finished,
     attempts) = row
    return StoredCell(
        reproduction=repro,
        task=task,
        method=method,
        seed=int(seed),
        scale=scale,
        status=status,
        settings=json.loads(settings),
        metrics=_loads_floats(metrics),
        curves=_loads_floats(curves),
        wall_time=float(wall) if wall is not None else math.nan,
        error=error,
        environment=json.loads(env),
        finished_at=finished,
        attempts=int(attempts),
        settings_text=settings,
    )
