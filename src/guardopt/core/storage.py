"""Where trials live: in memory, or in SQLite so that a killed run loses nothing.

Every finished trial is committed in its own transaction. Trial numbers are allocated inside an
``IMMEDIATE`` transaction with a ``UNIQUE(study, number)`` key, so several processes can share one
SQLite study (WAL journal, busy timeout) without losing or duplicating numbers. The schema is a
single append-mostly table per kind and carries a version, so there is no migration machinery to go
wrong: a store written by a newer schema is refused with a clear message.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from guardopt.core.errors import InvalidParameterError, StorageError
from guardopt.core.space import Params
from guardopt.core.trial import Trial, TrialState

SCHEMA_VERSION = 1


class Storage(ABC):
    """Persistence for studies and their trials."""

    @abstractmethod
    def create_or_get(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Register a study (or return the stored spec of an existing one)."""

    @abstractmethod
    def get_spec(self, name: str) -> dict[str, Any] | None:
        """The stored spec of a study, or None when there is none."""

    @abstractmethod
    def study_names(self) -> list[str]:
        """Names of the stored studies."""

    @abstractmethod
    def new_trial(self, name: str, params: Params, context: Mapping[str, Any] | None) -> Trial:
        """Allocate the next trial number atomically and store the trial as RUNNING."""

    @abstractmethod
    def finish_trial(self, name: str, trial: Trial) -> None:
        """Store a finished trial (COMPLETE or FAILED) atomically."""

    @abstractmethod
    def trials(self, name: str) -> list[Trial]:
        """All trials of a study, by number."""


class InMemoryStorage(Storage):
    """Trials in a dict; thread-safe; gone when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, dict[str, Any]] = {}
        self._trials: dict[str, list[Trial]] = {}

    def create_or_get(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            if name not in self._specs:
                self._specs[name] = json.loads(json.dumps(spec))
                self._trials[name] = []
            return self._specs[name]

    def get_spec(self, name: str) -> dict[str, Any] | None:
        return self._specs.get(name)

    def study_names(self) -> list[str]:
        return list(self._specs)

    def new_trial(self, name: str, params: Params, context: Mapping[str, Any] | None) -> Trial:
        with self._lock:
            trials = self._trials[name]
            t = Trial(len(trials), dict(params), datetime_start=datetime.now(),
                      context=dict(context) if context is not None else None)
            trials.append(t)
            return t

    def finish_trial(self, name: str, trial: Trial) -> None:
        with self._lock:
            self._trials[name][trial.number] = trial

    def trials(self, name: str) -> list[Trial]:
        with self._lock:
            return list(self._trials.get(name, []))


class SQLiteStorage(Storage):
    """Studies in one SQLite file, shared safely by threads and processes.

    Args:
        path: The database file (created with its folder when missing).
        timeout: Seconds a writer waits for a lock held by another process.
    """

    def __init__(self, path: str | Path, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._conn()
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS studies (name TEXT PRIMARY KEY, spec TEXT NOT NULL)"
                )
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS trials (study TEXT NOT NULL, number INTEGER NOT NULL, "
                    "state TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (study, number))"
                )
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"Could not open the SQLite storage at {self.path}: {exc}") from exc
        if int(row[0]) > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} was written with storage schema {row[0]}; this guardopt reads up to "
                f"{SCHEMA_VERSION}. Upgrade guardopt to read it."
            )

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread: sqlite3 connections must not cross threads.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            self._local.conn = conn
        return conn

    def _write(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cur = conn.execute(sql, args)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return cur
        except sqlite3.Error as exc:
            raise StorageError(f"Writing to {self.path} failed: {exc}") from exc

    def create_or_get(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        self._write("INSERT OR IGNORE INTO studies (name, spec) VALUES (?, ?)", (name, json.dumps(spec)))
        stored = self.get_spec(name)
        assert stored is not None
        return stored

    def get_spec(self, name: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT spec FROM studies WHERE name=?", (name,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def study_names(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT name FROM studies ORDER BY name")]

    def new_trial(self, name: str, params: Params, context: Mapping[str, Any] | None) -> Trial:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study=?", (name,)
                ).fetchone()
                t = Trial(int(row[0]), dict(params), datetime_start=datetime.now(),
                          context=dict(context) if context is not None else None)
                conn.execute(
                    "INSERT INTO trials (study, number, state, data) VALUES (?, ?, ?, ?)",
                    (name, t.number, t.state.value, json.dumps(t.to_dict())),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StorageError(f"Allocating a trial in {self.path} failed: {exc}") from exc
        return t

    def finish_trial(self, name: str, trial: Trial) -> None:
        self._write(
            "UPDATE trials SET state=?, data=? WHERE study=? AND number=?",
            (trial.state.value, json.dumps(trial.to_dict()), name, trial.number),
        )

    def trials(self, name: str) -> list[Trial]:
        rows = self._conn().execute(
            "SELECT data FROM trials WHERE study=? ORDER BY number", (name,)
        ).fetchall()
        return [Trial.from_dict(json.loads(r[0])) for r in rows]


def make_storage(storage: Storage | str | None) -> Storage:
    """A storage from a URL (``"sqlite:///path.db"``), an instance, or None (in memory)."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, str) and storage.startswith("sqlite:///"):
        return SQLiteStorage(storage[len("sqlite:///"):])
    raise InvalidParameterError("storage", "Study", "None, a Storage, or a URL 'sqlite:///path.db'", storage)


def finished(trials: list[Trial]) -> list[Trial]:
    """Trials that are COMPLETE or FAILED."""
    return [t for t in trials if t.state is not TrialState.RUNNING]
