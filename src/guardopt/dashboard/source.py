"""Storages opened for reading only: the dashboard looks at studies and never changes them.

`open_read_only(url)` returns a `guardopt.core.storage.Storage` whose reading methods answer as the
storage's own would, and whose writing methods raise `StorageError`:

* ``sqlite:///path.db`` is opened by `ReadOnlySQLiteStorage` with SQLite's ``mode=ro`` URI flag and
  ``PRAGMA query_only`` (the SQLite engine itself refuses every write; the file is never created,
  migrated or switched to another journal mode). It reads the tables of the embedded storage
  (`guardopt.core.storage.SQLiteStorage`, schema 1 or 2) and refuses a newer schema. In WAL mode a
  reader sees each transaction a running study commits as soon as it commits.
* a database server URL (``postgresql+psycopg://...``) is opened by
  `guardopt.core.rdb_storage.RDBStorage` with ``read_only=True`` when that storage offers it
  (nothing created or migrated, read-only sessions), and wrapped in `ReadOnlyStorage` so that no
  write is even attempted through the dashboard.

Both leave trials RUNNING as they are: judging a trial orphaned (``fail_orphans``) is a write.
"""

from __future__ import annotations

import inspect
import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from guardopt.core.errors import InvalidParameterError, StorageError, UnsupportedError
from guardopt.core.space import Params
from guardopt.core.storage import SCHEMA_VERSION, Storage
from guardopt.core.trial import Trial


def _refuse(storage: Storage, what: str) -> NoReturn:
    raise StorageError(f"{storage!r} is open read-only (the dashboard never writes); refused: {what}.")


class _ReadOnly(Storage):
    """Every writing method of `Storage` refused; `create_or_get` only finds existing studies."""

    def create_or_get(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        stored = self.get_spec(name)
        if stored is None:
            _refuse(self, f"creating study {name!r}")
        return stored

    def new_trial(self, name: str, params: Params, context: Mapping[str, Any] | None) -> Trial:
        _refuse(self, f"a new trial of study {name!r}")

    def finish_trial(self, name: str, trial: Trial) -> None:
        _refuse(self, f"storing trial {trial.number} of study {name!r}")

    def report(self, name: str, number: int, step: int, value: float) -> None:
        _refuse(self, f"an intermediate value of trial {number} of study {name!r}")

    def set_spec(self, name: str, spec: Mapping[str, Any]) -> None:
        _refuse(self, f"updating the problem of study {name!r}")

    def delete_study(self, name: str) -> None:
        _refuse(self, f"deleting study {name!r}")

    def fail_orphans(self, name: str) -> list[Trial]:
        return []  # marking a trial interrupted is a write: a reader leaves that to the workers

    def fail_stale(self, name: str) -> list[Trial]:
        return []


class ReadOnlyStorage(_ReadOnly):
    """Another storage's reads, with every write refused before it reaches that storage.

    Args:
        inner: The storage to read from.
    """

    def __init__(self, inner: Storage) -> None:
        if not isinstance(inner, Storage):
            raise InvalidParameterError("inner", "ReadOnlyStorage", "a guardopt Storage", inner)
        self.inner = inner

    def __repr__(self) -> str:
        return f"ReadOnlyStorage({self.inner!r})"

    def get_spec(self, name: str) -> dict[str, Any] | None:
        return self.inner.get_spec(name)

    def study_names(self) -> list[str]:
        return self.inner.study_names()

    def trials(self, name: str, from_number: int = 0) -> list[Trial]:
        return self.inner.trials(name, from_number)

    def get_trial(self, name: str, number: int) -> Trial | None:
        return self.inner.get_trial(name, number)

    def count_trials(self, name: str) -> int:
        return self.inner.count_trials(name)


class ReadOnlySQLiteStorage(_ReadOnly):
    """A guardopt SQLite file read through ``mode=ro`` connections (one per thread).

    Args:
        path: The database file; it must exist (a reader never creates one).
        timeout: Seconds a read waits while a writer checkpoints.

    Raises:
        StorageError: no such file, not a guardopt storage, or written by a newer schema.
    """

    def __init__(self, path: str | Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = float(timeout)
        self._local = threading.local()
        if not self.path.is_file():
            raise StorageError(f"No SQLite storage at {self.path} (a read-only reader never creates one).")
        rows = self._read("SELECT name FROM sqlite_master WHERE type='table'", ())
        tables = {r[0] for r in rows}
        if "cells" in tables and not {"studies", "trials"} & tables:
            raise StorageError(f"{self.path} is a result store of `guardopt reproduce` (read it with `guardopt "
                               "report --store`), not a study storage.")
        if not {"meta", "studies", "trials"} <= tables:
            raise StorageError(f"{self.path} is not a guardopt storage (tables found: {sorted(tables)}).")
        self._has_intermediate = "intermediate" in tables
        found = self._read("SELECT value FROM meta WHERE key='schema_version'", ())
        version = int(found[0][0]) if found else 0
        if version > SCHEMA_VERSION:
            raise StorageError(f"{self.path} was written with storage schema {version}; this guardopt reads up "
                               f"to {SCHEMA_VERSION}. Upgrade guardopt to read it.")

    def __repr__(self) -> str:
        return f"ReadOnlySQLiteStorage({str(self.path)!r})"

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # as_uri() percent-encodes the path, so '?' or '#' in a folder name cannot add URI options.
            uri = self.path.resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"Reading {self.path} failed: {exc}") from exc

    def _json(self, text: Any, what: str) -> Any:
        try:
            return json.loads(text)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"The stored {what} in {self.path} is not valid JSON ({exc}).") from exc

    def get_spec(self, name: str) -> dict[str, Any] | None:
        rows = self._read("SELECT spec FROM studies WHERE name=?", (name,))
        if not rows:
            return None
        spec = self._json(rows[0][0], f"problem of study {name!r}")
        if not isinstance(spec, dict):
            raise StorageError(f"The stored problem of study {name!r} in {self.path} is not a JSON object.")
        return spec

    def study_names(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM studies ORDER BY name", ())]

    def trials(self, name: str, from_number: int = 0) -> list[Trial]:
        # One snapshot for both tables: a trial and its intermediate values are read consistently.
        conn = self._conn()
        try:
            conn.execute("BEGIN")
            try:
                rows = conn.execute("SELECT data FROM trials WHERE study=? AND number>=? ORDER BY number",
                                    (name, int(from_number))).fetchall()
                steps = conn.execute("SELECT number, step, value FROM intermediate WHERE study=? AND number>=? "
                                     "ORDER BY number, step", (name, int(from_number))).fetchall() \
                    if self._has_intermediate else []
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"Reading {self.path} failed: {exc}") from exc
        values: dict[int, dict[int, float]] = {}
        for number, step, value in steps:
            values.setdefault(int(number), {})[int(step)] = float(value)
        out = []
        for (text,) in rows:
            data = self._json(text, f"trial of study {name!r}")
            try:
                t = Trial.from_dict(data)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StorageError(f"A stored trial of study {name!r} in {self.path} is malformed "
                                   f"({exc!r}).") from exc
            found = values.get(t.number)
            out.append(replace(t, intermediate_values={**t.intermediate_values, **found}) if found else t)
        return out


def open_read_only(url: str | Path) -> Storage:
    """A read-only storage for ``url`` (see the module docstring).

    Args:
        url: ``"sqlite:///path.db"``, a path to a SQLite file, or a database server URL such as
            ``"postgresql+psycopg://user@host/db"``.

    Raises:
        InvalidParameterError: ``url`` is not a storage URL (naming ``storage``).
        UnsupportedError: a server URL while the installed RDB storage cannot open one read-only.
        StorageError: the storage cannot be read.
    """
    if isinstance(url, Path):
        return ReadOnlySQLiteStorage(url)
    if not isinstance(url, str) or not url:
        raise InvalidParameterError("storage", "open_read_only", "a storage URL such as 'sqlite:///studies.db'", url)
    if url.startswith("sqlite:///"):
        return ReadOnlySQLiteStorage(url[len("sqlite:///"):])
    if "://" not in url:
        return ReadOnlySQLiteStorage(url)
    try:
        from guardopt.core import rdb_storage
    except ImportError:  # pragma: no cover - an install without the RDB storage module
        rdb_storage = None  # type: ignore[assignment]
    if rdb_storage is None or not rdb_storage.is_rdb_url(url):
        raise InvalidParameterError("storage", "open_read_only", "'sqlite:///path.db' or a database server URL "
                                    "such as 'postgresql+psycopg://user@host/db'", url)
    if "read_only" not in inspect.signature(rdb_storage.RDBStorage).parameters:
        raise UnsupportedError("This guardopt's RDBStorage cannot open a database read-only, and the dashboard "
                               "never risks a write; use a SQLite copy (`guardopt study copy`).")
    return ReadOnlyStorage(rdb_storage.RDBStorage(url, read_only=True))  # type: ignore[call-arg,unused-ignore]
