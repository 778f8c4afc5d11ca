"""Where trials live: in memory, or in SQLite so that a killed run loses nothing.

Every finished trial is committed in its own transaction. Trial numbers are allocated inside an
``IMMEDIATE`` transaction with a ``UNIQUE(study, number)`` key, so several processes can share one
SQLite study (WAL journal, busy timeout) without losing or duplicating numbers. The schema is a
single append-mostly table per kind and carries a version. Schema 2 added the ``intermediate``
table (values reported during a trial, for pruning); a schema-1 file is upgraded in place on open by
creating that table in the same transaction that bumps the version, so nothing stored before is
rewritten and an old database stays readable. Schema 3 lets a trial's JSON record hold ``values``
(the objective values of a multi-objective study): nothing is rewritten on upgrade (old records read
as single-objective trials, as they are); the version moves so that an older guardopt, which would
read a multi-objective trial as one without a value, refuses the file. A store written by a newer
schema is refused with a clear message.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from guardopt.core.errors import InvalidParameterError, StorageError, UnsupportedError, check_bool
from guardopt.core.space import Params
from guardopt.core.trial import INTERRUPTED_PREFIX, Trial, TrialState

SCHEMA_VERSION = 3


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays reach the storage through user attributes and Choice options.
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} values cannot be stored (JSON-serializable values only): {obj!r}")


def dumps(data: Any) -> str:
    """JSON text of ``data`` as a storage writes it (numpy scalars and arrays become numbers and lists)."""
    return json.dumps(data, default=_json_default, allow_nan=True)


def _owner() -> dict[str, Any]:
    """Who runs a RUNNING trial: this process on this host (to detect trials orphaned by a crash)."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _owner_gone(owner: Mapping[str, Any] | None) -> bool:
    """True when the process that asked a RUNNING trial is known to be dead (same host only)."""
    if not isinstance(owner, Mapping) or owner.get("host") != socket.gethostname():
        return False
    try:
        pid = int(owner.get("pid", -1))
    except (TypeError, ValueError):  # a damaged record: never judge a trial orphaned on it
        return False
    if pid <= 0:  # os.kill(0 or -1, 0) would probe a process group, not one process
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


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
    def trials(self, name: str, from_number: int = 0) -> list[Trial]:
        """The trials of a study with ``number >= from_number``, by number."""

    def report(self, name: str, number: int, step: int, value: float) -> None:
        """Store an intermediate value of a RUNNING trial (the first value of a step is kept)."""
        raise UnsupportedError(f"{type(self).__name__} does not store intermediate values (needed by pruning).")

    def set_spec(self, name: str, spec: Mapping[str, Any]) -> None:
        """Replace the stored problem of a study (a define-by-run study's space grows as it runs)."""
        raise UnsupportedError(f"{type(self).__name__} cannot update a study's problem (needed by a study "
                               "whose space is defined by its objective).")

    def delete_study(self, name: str) -> None:
        """Delete a study and all its trials.

        Raises:
            InvalidParameterError: no study of that name (naming ``name``).
        """
        raise UnsupportedError(f"{type(self).__name__} cannot delete studies.")

    def get_trial(self, name: str, number: int) -> Trial | None:
        """One trial by number, or None."""
        found = [t for t in self.trials(name, from_number=number) if t.number == number]
        return found[0] if found else None

    def count_trials(self, name: str) -> int:
        """How many trials count toward a study's total: all but the interrupted ones."""
        return sum(not t.interrupted for t in self.trials(name))

    def fail_orphans(self, name: str) -> list[Trial]:
        """Mark RUNNING trials whose asking process has died (a crash, ``kill -9``) as FAILED.

        Only trials asked on this host are judged (a process on another machine cannot be probed);
        trials of live processes, including other studies' workers sharing the store, are left alone.

        Returns:
            The trials that were marked FAILED.
        """
        return []

    def fail_stale(self, name: str) -> list[Trial]:
        """Mark RUNNING trials whose heartbeat is older than the storage's grace period as interrupted.

        Only storages with heartbeats (`guardopt.core.rdb_storage.RDBStorage` with
        ``heartbeat_interval``) judge anything; the others return an empty list.
        """
        return []

    #: Seconds between heartbeats of RUNNING trials (None: no heartbeats).
    heartbeat_interval: float | None = None
    #: Seconds without heartbeat after which a RUNNING trial is marked interrupted.
    grace: float | None = None
    #: Evaluate the parameters of a trial marked interrupted for lack of heartbeat again.
    retry_failed: bool = False


class InMemoryStorage(Storage):
    """Trials in a dict; thread-safe; gone when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, dict[str, Any]] = {}
        self._trials: dict[str, list[Trial]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # A copy travels to a worker process as a snapshot (a lock cannot be pickled); what the
        # worker writes stays in its copy, so trials there see the study as it was when sent.
        with self._lock:
            return {"specs": json.loads(dumps(self._specs)), "trials": {k: list(v) for k, v in self._trials.items()}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._specs = state["specs"]
        self._trials = state["trials"]

    def create_or_get(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            if name not in self._specs:
                self._specs[name] = json.loads(dumps(spec))
                self._trials[name] = []
            return self._specs[name]

    def get_spec(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._specs.get(name)

    def study_names(self) -> list[str]:
        with self._lock:
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
            stored = self._trials[name][trial.number]
            # Values reported while the trial ran are kept even when the finished record lacks them.
            merged = {**stored.intermediate_values, **trial.intermediate_values}
            self._trials[name][trial.number] = replace(trial, intermediate_values=merged)

    def trials(self, name: str, from_number: int = 0) -> list[Trial]:
        with self._lock:
            return list(self._trials.get(name, [])[max(from_number, 0):])

    def report(self, name: str, number: int, step: int, value: float) -> None:
        with self._lock:
            t = self._trials[name][number]
            if step not in t.intermediate_values:
                self._trials[name][number] = replace(t, intermediate_values={**t.intermediate_values,
                                                                             int(step): float(value)})

    def set_spec(self, name: str, spec: Mapping[str, Any]) -> None:
        with self._lock:
            if name not in self._specs:
                raise InvalidParameterError("name", "Storage.set_spec", f"one of {list(self._specs)}", name)
            self._specs[name] = json.loads(dumps(spec))

    def delete_study(self, name: str) -> None:
        with self._lock:
            if name not in self._specs:
                raise InvalidParameterError("name", "Storage.delete_study", f"one of {list(self._specs)}", name)
            del self._specs[name]
            del self._trials[name]

    def get_trial(self, name: str, number: int) -> Trial | None:
        with self._lock:
            trials = self._trials.get(name, [])
            return trials[number] if 0 <= number < len(trials) else None


class SQLiteStorage(Storage):
    """Studies in one SQLite file, shared safely by threads and processes.

    Each thread (and each forked process) opens its own connection: sqlite3 connections must not
    cross threads or a ``fork``. Every write is one ``BEGIN IMMEDIATE`` transaction, so a finished
    trial is either fully stored or not at all, and a writer waits up to ``timeout`` seconds for a
    lock held by another process (WAL journal: readers never block the writer).

    Args:
        path: The database file (created with its folder when missing).
        timeout: Seconds a writer waits for a lock held by another process.

    Raises:
        StorageError: the file cannot be opened, or it was written by a newer storage schema.
    """

    def __init__(self, path: str | Path, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        tables = sqlite_tables(self.path)
        if tables & RESULT_TABLES and not tables & STUDY_TABLES:
            # Checked before anything is written: adding study tables to a result store would
            # make both unreadable to the other command.
            raise StorageError(f"{self.path} is a result store of `guardopt reproduce` (read it with `guardopt "
                               "report --store`), not a study storage.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.execute("CREATE TABLE IF NOT EXISTS studies (name TEXT PRIMARY KEY, spec TEXT NOT NULL)")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS trials (study TEXT NOT NULL, number INTEGER NOT NULL, "
                    "state TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (study, number))"
                )
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
                found = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                if int(found[0]) <= SCHEMA_VERSION:
                    # Schema 1 -> 2: a new table only; 2 -> 3: nothing to change (trial records may
                    # carry "values"). Existing rows are untouched.
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS intermediate (study TEXT NOT NULL, number INTEGER NOT NULL, "
                        "step INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (study, number, step))"
                    )
                    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"Could not open the SQLite storage at {self.path}: {exc}") from exc
        if int(row[0]) > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} was written with storage schema {row[0]}; this guardopt reads up to "
                f"{SCHEMA_VERSION}. Upgrade guardopt to read it."
            )

    def __repr__(self) -> str:
        return f"SQLiteStorage({str(self.path)!r})"

    def __getstate__(self) -> dict[str, Any]:
        # Connections never travel: a copy in another process opens its own.
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.timeout = state["timeout"]
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread and per process: a connection inherited through fork() must
        # not be used by the child.
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=True)
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            enable_wal(conn, self.timeout)
            # NORMAL in WAL mode: a committed transaction survives a process crash (kill -9); only
            # an OS crash or power loss can lose the last commits.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None

    def _transaction(self, what: str, body: Any) -> Any:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                out = body(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return out
        except sqlite3.Error as exc:
            raise StorageError(f"{what} in {self.path} failed: {exc}") from exc

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"Reading {self.path} failed: {exc}") from exc

    def _dumps(self, data: Any, what: str) -> str:
        try:
            return dumps(data)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"{what} cannot be stored in {self.path} as JSON: {exc}") from exc

    def _loads(self, text: Any, what: str) -> Any:
        # A guardopt database edited by hand or damaged on disk: say where, never a raw JSONDecodeError.
        try:
            return json.loads(text)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"The stored {what} in {self.path} is not valid JSON ({exc}); the database "
                               "is corrupted.") from exc

    def _trial(self, text: Any, name: str) -> Trial:
        data = self._loads(text, f"trial of study {name!r}")
        try:
            return Trial.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StorageError(f"A stored trial of study {name!r} in {self.path} is malformed ({exc!r}); the "
                               "database is corrupted.") from exc

    def create_or_get(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        text = self._dumps(spec, "The study's problem")
        self._transaction("Creating a study", lambda c: c.execute(
            "INSERT OR IGNORE INTO studies (name, spec) VALUES (?, ?)", (name, text)))
        stored = self.get_spec(name)
        assert stored is not None
        return stored

    def get_spec(self, name: str) -> dict[str, Any] | None:
        rows = self._read("SELECT spec FROM studies WHERE name=?", (name,))
        if not rows:
            return None
        spec = self._loads(rows[0][0], f"problem of study {name!r}")
        if not isinstance(spec, dict):
            raise StorageError(f"The stored problem of study {name!r} in {self.path} is not a JSON object; the "
                               "database is corrupted.")
        return spec

    def study_names(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM studies ORDER BY name", ())]

    def new_trial(self, name: str, params: Params, context: Mapping[str, Any] | None) -> Trial:
        def body(conn: sqlite3.Connection) -> Trial:
            # Inside BEGIN IMMEDIATE no other writer can allocate between this read and the insert;
            # the primary key would refuse a duplicate number anyway.
            row = conn.execute("SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study=?", (name,)).fetchone()
            t = Trial(int(row[0]), dict(params), datetime_start=datetime.now(),
                      context=dict(context) if context is not None else None)
            data = t.to_dict()
            data["owner"] = _owner()
            conn.execute("INSERT INTO trials (study, number, state, data) VALUES (?, ?, ?, ?)",
                         (name, t.number, t.state.value, self._dumps(data, "The trial's context")))
            return t

        trial: Trial = self._transaction("Allocating a trial", body)
        return trial

    def finish_trial(self, name: str, trial: Trial) -> None:
        text = self._dumps(trial.to_dict(), f"Trial {trial.number}")
        self._transaction("Storing a finished trial", lambda c: c.execute(
            "UPDATE trials SET state=?, data=? WHERE study=? AND number=?",
            (trial.state.value, text, name, trial.number)))

    def trials(self, name: str, from_number: int = 0) -> list[Trial]:
        rows = self._read("SELECT data FROM trials WHERE study=? AND number>=? ORDER BY number", (name, from_number))
        values = self._intermediate(name, "number>=?", from_number)
        return [self._with_values(self._trial(r[0], name), values) for r in rows]

    def _intermediate(self, name: str, where: str, arg: int) -> dict[int, dict[int, float]]:
        out: dict[int, dict[int, float]] = {}
        for number, step, value in self._read(
                f"SELECT number, step, value FROM intermediate WHERE study=? AND {where} ORDER BY number, step",
                (name, arg)):
            out.setdefault(int(number), {})[int(step)] = float(value)
        return out

    @staticmethod
    def _with_values(t: Trial, values: Mapping[int, dict[int, float]]) -> Trial:
        found = values.get(t.number)
        return replace(t, intermediate_values={**t.intermediate_values, **found}) if found else t

    def report(self, name: str, number: int, step: int, value: float) -> None:
        self._transaction("Storing an intermediate value", lambda c: c.execute(
            "INSERT OR IGNORE INTO intermediate (study, number, step, value) VALUES (?, ?, ?, ?)",
            (name, int(number), int(step), float(value))))

    def set_spec(self, name: str, spec: Mapping[str, Any]) -> None:
        text = self._dumps(spec, "The study's problem")

        def body(conn: sqlite3.Connection) -> int:
            return int(conn.execute("UPDATE studies SET spec=? WHERE name=?", (text, name)).rowcount)

        if self._transaction("Updating a study's problem", body) == 0:
            raise InvalidParameterError("name", "Storage.set_spec", f"one of {self.study_names()}", name)

    def delete_study(self, name: str) -> None:
        def body(conn: sqlite3.Connection) -> int:
            n = int(conn.execute("DELETE FROM studies WHERE name=?", (name,)).rowcount)
            conn.execute("DELETE FROM trials WHERE study=?", (name,))
            conn.execute("DELETE FROM intermediate WHERE study=?", (name,))
            return n

        if self._transaction("Deleting a study", body) == 0:
            raise InvalidParameterError("name", "Storage.delete_study", f"one of {self.study_names()}", name)

    def count_trials(self, name: str) -> int:
        rows = self._read(
            "SELECT COUNT(*) FROM trials WHERE study=? AND NOT (state=? AND "
            "COALESCE(json_extract(data, '$.failure_reason'), '') LIKE ?)",
            (name, TrialState.FAILED.value, INTERRUPTED_PREFIX + "%"),
        )
        return int(rows[0][0])

    def get_trial(self, name: str, number: int) -> Trial | None:
        rows = self._read("SELECT data FROM trials WHERE study=? AND number=?", (name, number))
        if not rows:
            return None
        return self._with_values(self._trial(rows[0][0], name), self._intermediate(name, "number=?", number))

    def fail_orphans(self, name: str) -> list[Trial]:
        def body(conn: sqlite3.Connection) -> list[Trial]:
            out = []
            rows = conn.execute("SELECT data FROM trials WHERE study=? AND state=?",
                                (name, TrialState.RUNNING.value)).fetchall()
            for (text,) in rows:
                data = self._loads(text, f"trial of study {name!r}")
                owner = data.get("owner") if isinstance(data, dict) else None
                if owner is None or not _owner_gone(owner):
                    continue
                t = self._trial(text, name).finished(
                    state=TrialState.FAILED,
                    failure_reason=f"{INTERRUPTED_PREFIX} the process that ran it (pid {owner['pid']}) died",
                )
                conn.execute("UPDATE trials SET state=?, data=? WHERE study=? AND number=?",
                             (t.state.value, self._dumps(t.to_dict(), f"Trial {t.number}"), name, t.number))
                out.append(t)
            return out

        failed: list[Trial] = self._transaction("Marking orphaned trials", body)
        return failed


#: Tables that mark an SQLite file as a study storage, and as a result store of ``guardopt reproduce``.
STUDY_TABLES = frozenset({"studies", "trials"})
RESULT_TABLES = frozenset({"cells"})


def sqlite_tables(path: str | Path) -> set[str]:
    """The table names of an existing SQLite file, read without writing (empty for a new or empty file).

    Raises:
        StorageError: the file exists but is not an SQLite database.
    """
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        return set()
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StorageError(f"{p} is not an SQLite database: {exc}") from exc


def enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch a connection's database to WAL, retrying while another process holds a lock.

    Changing the journal mode needs an exclusive lock and SQLite answers "database is locked" at
    once, without calling the busy handler, when two processes open a fresh file together.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            transient = "locked" in str(exc) or "busy" in str(exc)
            if not transient or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def make_storage(storage: Storage | str | None, *, read_only: bool = False) -> Storage:
    """A storage from a URL, an instance, or None (in memory).

    ``"sqlite:///path.db"`` opens `SQLiteStorage` (the embedded default); a database server URL
    such as ``"postgresql+psycopg://user@host/db"`` or ``"mysql+pymysql://user@host/db"`` opens
    `guardopt.core.rdb_storage.RDBStorage` (SQLAlchemy; heartbeats need the class itself).
    ``read_only=True`` (database URLs only) opens a server storage that creates, migrates and
    writes nothing.
    """
    check_bool(read_only, "read_only", "make_storage")
    if isinstance(storage, str):
        from guardopt.core.rdb_storage import RDBStorage, is_rdb_url

        if is_rdb_url(storage):
            return RDBStorage(storage, read_only=read_only)
    if read_only:
        raise InvalidParameterError("read_only", "make_storage", "False unless storage is a database server URL "
                                    "such as 'postgresql+psycopg://user@host/db'", read_only)
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, str) and storage.startswith("sqlite:///"):
        return SQLiteStorage(storage[len("sqlite:///"):])
    raise InvalidParameterError("storage", "Study", "None, a Storage, or a URL 'sqlite:///path.db' or "
                                "'postgresql+psycopg://user@host/db'", storage)


def copy_study(source: Storage, target: Storage, name: str, new_name: str | None = None) -> int:
    """Copy one study with all its trials from ``source`` to ``target`` (e.g. SQLite to PostgreSQL).

    Trial numbers, states, values, constraints, times, attributes and intermediate values are kept. A
    trial still RUNNING in ``source`` arrives FAILED as interrupted (its worker writes to ``source``,
    never to the copy). When anything fails, the partial copy is deleted again.

    Args:
        source: The storage holding the study.
        target: The storage to copy into; it must not hold a study named ``new_name`` yet.
        name: The study's name in ``source``.
        new_name: Its name in ``target`` (default: ``name``).

    Returns:
        The number of trials copied.

    Raises:
        InvalidParameterError: no study ``name`` in ``source``, or ``new_name`` already in ``target``.
    """
    dest = name if new_name is None else new_name
    if not isinstance(dest, str) or not dest:
        raise InvalidParameterError("new_name", "copy_study", "None or a non-empty string", new_name)
    spec = source.get_spec(name)
    if spec is None:
        raise InvalidParameterError("name", "copy_study", f"one of {source.study_names()}", name)
    if target.get_spec(dest) is not None:
        raise InvalidParameterError("new_name", "copy_study", f"a study name not yet in {target!r}", dest)
    target.create_or_get(dest, spec)
    trials = source.trials(name)
    try:
        for t in trials:
            fresh = target.new_trial(dest, dict(t.params), t.context)
            if fresh.number != t.number:
                raise StorageError(f"Copying study {name!r}: trial {t.number} received number {fresh.number} in "
                                   f"{target!r} (another process writes to the new study?).")
            for step, value in sorted(t.intermediate_values.items()):
                target.report(dest, t.number, step, value)
            done = t
            if t.state is TrialState.RUNNING:
                done = t.finished(state=TrialState.FAILED,
                                  failure_reason=f"{INTERRUPTED_PREFIX} still running when the study was copied")
            target.finish_trial(dest, done)
    except BaseException:
        target.delete_study(dest)
        raise
    return len(trials)


def finished(trials: list[Trial]) -> list[Trial]:
    """Trials that are COMPLETE or FAILED."""
    return [t for t in trials if t.state is not TrialState.RUNNING]
