"""Studies on a database server (PostgreSQL, MySQL/MariaDB) through SQLAlchemy 2.x.

`RDBStorage` keeps the semantics of `guardopt.core.storage.SQLiteStorage` (a study resumed by name,
every finished trial committed in its own transaction, interrupted trials marked) for workers that
run on different hosts and connect to one server:

* **Trial numbers** are allocated inside a transaction that first locks the study's row
  (``SELECT ... FOR UPDATE``), so allocations of one study are serialized across connections and
  hosts; the ``(study, number)`` primary key would refuse a duplicate anyway.
* **Heartbeats.** With ``heartbeat_interval`` set, a background thread of each process refreshes
  the heartbeat of the RUNNING trials that process asked. A trial whose heartbeat is older than
  ``grace`` seconds (by the server's clock, so hosts' clocks may disagree) is marked interrupted by
  whichever process notices first (a conditional ``UPDATE ... WHERE state='RUNNING'``: exactly one
  claims it); with ``retry_failed`` that process evaluates its parameters again.
* **Schema versions and migrations** are hand-rolled: a ``guardopt_meta`` table holds the version,
  and `MIGRATIONS` lists the steps from each version to the next, applied in order inside one
  transaction that holds the version row locked (two processes opening a fresh database together
  cannot both migrate it). Alembic was not used: the schema is four tables, the same steps must run
  from library code on first connection without a migration environment or ``alembic.ini``, and the
  SQLite storage already follows this pattern; the steps are tested from an old schema upward.
  A database written by a newer schema is refused.

The server is reached through any SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``
(psycopg 3) or ``mysql+pymysql://user:pw@host/db``; only PostgreSQL is exercised by the test suite.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from guardopt.core.errors import InvalidParameterError, StorageError, check_bool
from guardopt.core.heartbeat import Heartbeat
from guardopt.core.space import Params
from guardopt.core.storage import Storage, _owner, _owner_gone, dumps
from guardopt.core.trial import INTERRUPTED_PREFIX, Trial, TrialState

logger = logging.getLogger("guardopt.storage")

RDB_SCHEMA_VERSION = 3

# SQLAlchemy's dialect names ("postgres://" is not one: SQLAlchemy 2 refuses it).
_URL_PREFIXES = ("postgresql", "mysql", "mariadb")


def is_rdb_url(url: str) -> bool:
    """True for a URL this storage handles (``postgresql[+driver]://``, ``mysql[+driver]://``, ...)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return scheme.split("+", 1)[0] in _URL_PREFIXES


def _tables(meta: Any, version: int) -> dict[str, Any]:
    """The tables as they are at schema ``version`` (1: the original; 2: trials gain ``heartbeat``)."""
    from sqlalchemy import Column, DateTime, Float, Integer, String, Table, Text

    trial_cols: list[Any] = [
        Column("study", String(255), primary_key=True),
        Column("number", Integer, primary_key=True, autoincrement=False),
        Column("state", String(16), nullable=False, index=True),
        Column("data", Text, nullable=False),
    ]
    if version >= 2:
        trial_cols.append(Column("heartbeat", DateTime(timezone=True), nullable=True))
    return {
        "meta": Table("guardopt_meta", meta, Column("key", String(64), primary_key=True),
                      Column("value", String(255), nullable=False)),
        "studies": Table("guardopt_studies", meta, Column("name", String(255), primary_key=True),
                         Column("spec", Text, nullable=False)),
        "trials": Table("guardopt_trials", meta, *trial_cols),
        "intermediate": Table("guardopt_intermediate", meta,
                              Column("study", String(255), primary_key=True),
                              Column("number", Integer, primary_key=True, autoincrement=False),
                              Column("step", Integer, primary_key=True, autoincrement=False),
                              Column("value", Float, nullable=False)),
    }


def _migrate_to_1(conn: Any) -> None:
    from sqlalchemy import MetaData

    meta = MetaData()
    t = _tables(meta, 1)
    for name in ("studies", "trials", "intermediate"):
        t[name].create(conn, checkfirst=True)


def _migrate_to_2(conn: Any) -> None:
    from sqlalchemy import text

    # A nullable column: rows written before keep NULL (no heartbeat known) and are never judged stale.
    ts = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    conn.execute(text(f"ALTER TABLE guardopt_trials ADD COLUMN heartbeat {ts} NULL"))


def _migrate_to_3(conn: Any) -> None:
    """Schema 3: a trial's JSON may hold ``values`` (multi-objective studies); no table changes.

    Rows written before read as single-objective trials, as they are. The version moves so that an
    older guardopt, which would read a multi-objective trial as one without a value, refuses the
    database instead.
    """


#: ``MIGRATIONS[v]`` takes a database from schema ``v - 1`` to ``v`` (inside one transaction).
MIGRATIONS: dict[int, Callable[[Any], None]] = {1: _migrate_to_1, 2: _migrate_to_2, 3: _migrate_to_3}


class RDBStorage(Storage):
    """Studies in a relational database server, shared by processes on many hosts.

    Args:
        url: A SQLAlchemy URL, e.g. ``"postgresql+psycopg://user@host:5432/db"``.
        heartbeat_interval: Seconds between heartbeats of this process's RUNNING trials; None (the
            default) sends none, and only trials of dead processes on the same host are detected.
        grace: Seconds without a heartbeat after which a RUNNING trial is marked interrupted
            (default: four heartbeat intervals). Must exceed ``heartbeat_interval``.
        retry_failed: Evaluate the parameters of a trial marked interrupted for lack of heartbeat
            again (the process that notices it runs them next). Needs ``heartbeat_interval``.
        engine_options: Extra keyword arguments for `sqlalchemy.create_engine`.
        migrate_to: The schema version to bring a database to (for tests of the migrations).
        read_only: Create and migrate nothing (a database without guardopt's tables, or with an
            older or newer schema, is refused) and open every connection read-only on the server
            (PostgreSQL ``default_transaction_read_only``, MySQL ``SET SESSION TRANSACTION READ
            ONLY``), so that a viewer can never write. Heartbeats cannot be combined with it.

    Raises:
        InvalidParameterError: a malformed URL or option (naming it).
        StorageError: the server cannot be reached, or the database has a newer schema.
    """

    def __init__(self, url: str, *, heartbeat_interval: float | None = None, grace: float | None = None,
                 retry_failed: bool = False, engine_options: Mapping[str, Any] | None = None,
                 migrate_to: int = RDB_SCHEMA_VERSION, read_only: bool = False) -> None:
        if not isinstance(url, str) or not is_rdb_url(url):
            raise InvalidParameterError("url", "RDBStorage", "a URL 'postgresql+psycopg://user@host/db' or "
                                        "'mysql+pymysql://user@host/db'", url)
        if heartbeat_interval is not None and (isinstance(heartbeat_interval, bool)
                                               or not isinstance(heartbeat_interval, (int, float))
                                               or not heartbeat_interval > 0 or heartbeat_interval == float("inf")):
            raise InvalidParameterError("heartbeat_interval", "RDBStorage", "None or a positive number of seconds",
                                        heartbeat_interval)
        if grace is not None:
            if heartbeat_interval is None:
                raise InvalidParameterError("grace", "RDBStorage", "None unless heartbeat_interval is set", grace)
            if isinstance(grace, bool) or not isinstance(grace, (int, float)) or not grace > heartbeat_interval \
                    or grace == float("inf"):
                raise InvalidParameterError("grace", "RDBStorage",
                                            f"a number of seconds above heartbeat_interval={heartbeat_interval}",
                                            grace)
        check_bool(retry_failed, "retry_failed", "RDBStorage")
        if retry_failed and heartbeat_interval is None:
            raise InvalidParameterError("retry_failed", "RDBStorage", "False unless heartbeat_interval is set",
                                        retry_failed)
        check_bool(read_only, "read_only", "RDBStorage")
        if read_only and heartbeat_interval is not None:
            raise InvalidParameterError("heartbeat_interval", "RDBStorage", "None with read_only=True (a read-only "
                                        "storage runs no trials)", heartbeat_interval)
        if isinstance(migrate_to, bool) or not isinstance(migrate_to, int) \
                or not 1 <= migrate_to <= RDB_SCHEMA_VERSION:
            raise InvalidParameterError("migrate_to", "RDBStorage", f"an integer in [1, {RDB_SCHEMA_VERSION}]",
                                        migrate_to)
        self.url = url
        self.heartbeat_interval: float | None = None if heartbeat_interval is None else float(heartbeat_interval)
        self.grace: float | None = (None if heartbeat_interval is None
                                    else float(grace) if grace is not None else 4.0 * float(heartbeat_interval))
        self.retry_failed = retry_failed
        self._options = dict(engine_options or {})
        self._migrate_to = migrate_to
        self.read_only = read_only
        self._setup_local()
        self._version = self._read_schema() if read_only else self._ensure_schema(migrate_to)

    def _setup_local(self) -> None:
        self._engine: Any = None
        self._pid = -1
        self._lock = threading.Lock()
        self._tables_: dict[str, Any] | None = None
        self._beat: Heartbeat | None = None

    # -- connection ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"RDBStorage({self._shown_url()!r})"

    def _shown_url(self) -> str:
        try:
            from sqlalchemy.engine import make_url

            return str(make_url(self.url).render_as_string(hide_password=True))
        except Exception:
            return "<url>"

    def __getstate__(self) -> dict[str, Any]:
        # Engines, pools and threads never travel: a copy in another process connects itself.
        return {"url": self.url, "heartbeat_interval": self.heartbeat_interval, "grace": self.grace,
                "retry_failed": self.retry_failed, "options": self._options, "migrate_to": self._migrate_to,
                "version": self._version, "read_only": self.read_only}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.url = state["url"]
        self.heartbeat_interval = state["heartbeat_interval"]
        self.grace = state["grace"]
        self.retry_failed = state["retry_failed"]
        self._options = state["options"]
        self._migrate_to = state["migrate_to"]
        self._version = state["version"]
        self.read_only = state["read_only"]
        self._setup_local()

    def engine(self) -> Any:
        """This process's SQLAlchemy engine (a process forked from another builds its own)."""
        if self._engine is None or self._pid != os.getpid():
            from sqlalchemy import create_engine

            options = dict(self._options)
            if self.read_only:
                self._read_only_options(options)
            try:
                # No pre-ping (a round trip per transaction): a pooled connection that died with a
                # server restart fails once, SQLAlchemy then invalidates the pool and `_run` retries.
                self._engine = create_engine(self.url, future=True, **options)
                if self.read_only and not self.url.startswith("postgresql"):
                    self._read_only_sessions(self._engine)
            except Exception as exc:
                raise StorageError(f"Could not create a database engine for {self._shown_url()}: {exc}") from exc
            self._pid = os.getpid()
            self._beat = None
        return self._engine

    def _read_only_options(self, options: dict[str, Any]) -> None:
        if self.url.startswith("postgresql"):
            # Every transaction of these connections is read-only on the server: a write fails there.
            args = dict(options.get("connect_args") or {})
            args["options"] = (str(args.get("options", "")) + " -c default_transaction_read_only=on").strip()
            options["connect_args"] = args

    @staticmethod
    def _read_only_sessions(engine: Any) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, record: Any) -> None:  # MySQL / MariaDB
            cur = dbapi_conn.cursor()
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            cur.close()

    def _read_schema(self) -> int:
        from sqlalchemy import inspect, text

        def body(conn: Any) -> int:
            if not inspect(conn).has_table("guardopt_meta"):
                raise StorageError(f"{self._shown_url()} holds no guardopt storage (no guardopt_meta table).")
            row = conn.execute(text("SELECT value FROM guardopt_meta WHERE key='schema_version'")).first()
            found = int(row[0]) if row is not None else 0
            if found != RDB_SCHEMA_VERSION:
                newer = found > RDB_SCHEMA_VERSION
                raise StorageError(
                    f"{self._shown_url()} has storage schema {found}; this guardopt "
                    + (f"reads up to {RDB_SCHEMA_VERSION}. Upgrade guardopt to read it." if newer else
                       f"writes {RDB_SCHEMA_VERSION}: open it once without read_only to migrate it."))
            return found

        version: int = self._run("Checking the storage schema", body)
        return version

    def close(self) -> None:
        """Stop heartbeats and close this process's connections."""
        if self._beat is not None:
            self._beat.stop()
            self._beat = None
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()
        self._engine = None

    @property
    def _t(self) -> dict[str, Any]:
        if self._tables_ is None:
            from sqlalchemy import MetaData

            self._tables_ = _tables(MetaData(), self._version)
        return self._tables_

    def _run(self, what: str, body: Callable[[Any], Any]) -> Any:
        """Run ``body(conn)`` in one transaction, retried once when the connection was lost."""
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        for attempt in (0, 1):
            try:
                with self.engine().begin() as conn:
                    return body(conn)
            except DBAPIError as exc:
                if attempt == 0 and exc.connection_invalidated:
                    continue
                raise StorageError(f"{what} in {self._shown_url()} failed: {exc}") from exc
            except SQLAlchemyError as exc:
                raise StorageError(f"{what} in {self._shown_url()} failed: {exc}") from exc
        raise AssertionError("unreachable")

    def _ensure_schema(self, target: int) -> int:
        from sqlalchemy import MetaData, insert, select, update
        from sqlalchemy.exc import IntegrityError, ProgrammingError

        meta_table = _tables(MetaData(), 1)["meta"]
        version_row = select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        for attempt in range(5):
            try:
                with self.engine().begin() as conn:
                    meta_table.create(conn, checkfirst=True)
                    if conn.execute(version_row).first() is None:
                        conn.execute(insert(meta_table).values(key="schema_version", value="0"))
            except (IntegrityError, ProgrammingError):
                # Another process created the table or the row at the same moment: look again.
                time.sleep(0.05 * (attempt + 1))
            except Exception as exc:  # an unreachable server, wrong credentials
                raise StorageError(f"Could not open the database storage at {self._shown_url()}: {exc}") from exc
            else:
                break

        def body(conn: Any) -> int:
            # The version row stays locked until commit: concurrent openers migrate one at a time.
            row = conn.execute(version_row.with_for_update()).first()
            found = int(row[0])
            if found > RDB_SCHEMA_VERSION:
                raise StorageError(f"{self._shown_url()} was written with storage schema {found}; this guardopt "
                                   f"reads up to {RDB_SCHEMA_VERSION}. Upgrade guardopt to read it.")
            for v in range(found + 1, target + 1):
                MIGRATIONS[v](conn)
                logger.info("Storage %s migrated to schema %d.", self._shown_url(), v)
            now = max(found, target)
            if now != found:
                conn.execute(update(meta_table).where(meta_table.c.key == "schema_version").values(value=str(now)))
            return now

        version: int = self._run("Checking the storage schema", body)
        return version

    # -- JSON ----------------------------------------------------------------------------------

    def _dumps(self, data: Any, what: str) -> str:
        try:
            return dumps(data)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"{what} cannot be stored in {self._shown_url()} as JSON: {exc}") from exc

    def _trial(self, text: Any, name: str) -> Trial:
        try:
            return Trial.from_dict(json.loads(text))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StorageError(f"A stored trial of study {name!r} in {self._shown_url()} is malformed ({exc!r}); "
                               "the database is corrupted.") from exc

    # -- studies ---------------------------------------------------------------------------------

    def create_or_get(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        from sqlalchemy import insert
        from sqlalchemy.exc import IntegrityError

        text = self._dumps(spec, "The study's problem")
        s = self._t["studies"]
        try:
            self._run("Creating a study", lambda c: c.execute(insert(s).values(name=name, spec=text)))
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):  # an existing study of that name is fine
                raise
        stored = self.get_spec(name)
        assert stored is not None
        return stored

    def get_spec(self, name: str) -> dict[str, Any] | None:
        from sqlalchemy import select

        s = self._t["studies"]
        row = self._run("Reading a study", lambda c: c.execute(select(s.c.spec).where(s.c.name == name)).first())
        if row is None:
            return None
        try:
            spec = json.loads(row[0])
        except ValueError as exc:
            raise StorageError(f"The stored problem of study {name!r} in {self._shown_url()} is not valid JSON "
                               f"({exc}); the database is corrupted.") from exc
        if not isinstance(spec, dict):
            raise StorageError(f"The stored problem of study {name!r} in {self._shown_url()} is not a JSON object.")
        return spec

    def study_names(self) -> list[str]:
        from sqlalchemy import select

        s = self._t["studies"]
        rows = self._run("Listing studies", lambda c: c.execute(select(s.c.name).order_by(s.c.name)).all())
        return [r[0] for r in rows]

    def set_spec(self, name: str, spec: Mapping[str, Any]) -> None:
        from sqlalchemy import update

        text = self._dumps(spec, "The study's problem")
        s = self._t["studies"]
        n = self._run("Updating a study's problem",
                      lambda c: c.execute(update(s).where(s.c.name == name).values(spec=text)).rowcount)
        if n == 0:
            raise InvalidParameterError("name", "Storage.set_spec", f"one of {self.study_names()}", name)

    def delete_study(self, name: str) -> None:
        from sqlalchemy import delete

        t = self._t

        def body(c: Any) -> int:
            n = int(c.execute(delete(t["studies"]).where(t["studies"].c.name == name)).rowcount)
            c.execute(delete(t["trials"]).where(t["trials"].c.study == name))
            c.execute(delete(t["intermediate"]).where(t["intermediate"].c.study == name))
            return n

        if self._run("Deleting a study", body) == 0:
            raise InvalidParameterError("name", "Storage.delete_study", f"one of {self.study_names()}", name)

    # -- trials ----------------------------------------------------------------------------------

    def new_trial(self, name: str, params: Params, context: Mapping[str, Any] | None) -> Trial:
        from sqlalchemy import func, insert, select

        t_, s = self._t["trials"], self._t["studies"]

        def body(c: Any) -> Trial:
            # The study's row lock serializes number allocation across connections and hosts.
            if c.execute(select(s.c.name).where(s.c.name == name).with_for_update()).first() is None:
                raise InvalidParameterError("name", "Storage.new_trial", "a stored study", name)
            top = c.execute(select(func.max(t_.c.number)).where(t_.c.study == name)).scalar()
            t = Trial(0 if top is None else int(top) + 1, dict(params), datetime_start=datetime.now(),
                      context=dict(context) if context is not None else None)
            data = t.to_dict()
            data["owner"] = _owner()
            values: dict[str, Any] = {"study": name, "number": t.number, "state": t.state.value,
                                      "data": self._dumps(data, "The trial's context")}
            if "heartbeat" in t_.c:
                values["heartbeat"] = func.current_timestamp()
            c.execute(insert(t_).values(**values))
            return t

        trial: Trial = self._run("Allocating a trial", body)
        self._beating().add(name, trial.number)
        return trial

    def _beating(self) -> Heartbeat:
        self.engine()  # a forked copy drops the parent's heartbeat thread with its engine
        with self._lock:
            if self._beat is None:
                self._beat = Heartbeat(self._send_heartbeat, self.heartbeat_interval)
            return self._beat

    def _send_heartbeat(self, running: Mapping[str, list[int]]) -> None:
        from sqlalchemy import func, update

        t_ = self._t["trials"]
        if "heartbeat" not in t_.c:
            return

        def body(c: Any) -> None:
            for name, numbers in running.items():
                c.execute(update(t_).where(t_.c.study == name, t_.c.number.in_(numbers),
                                           t_.c.state == TrialState.RUNNING.value)
                          .values(heartbeat=func.current_timestamp()))

        self._run("Sending a heartbeat", body)

    def finish_trial(self, name: str, trial: Trial) -> None:
        from sqlalchemy import update

        t_ = self._t["trials"]
        text = self._dumps(trial.to_dict(), f"Trial {trial.number}")
        n = self._run("Storing a finished trial", lambda c: c.execute(
            update(t_).where(t_.c.study == name, t_.c.number == trial.number,
                             t_.c.state == TrialState.RUNNING.value)
            .values(state=trial.state.value, data=text)).rowcount)
        if self._beat is not None:
            self._beat.discard(name, trial.number)
        if n == 0:
            # Another process marked it interrupted (its heartbeat was older than the grace period)
            # or it was finished already: the first record wins, so numbers are never overwritten.
            logger.warning("Trial %d of study %r was no longer RUNNING when its result arrived (marked "
                           "interrupted by another process?); the result is not stored.", trial.number, name)

    def trials(self, name: str, from_number: int = 0) -> list[Trial]:
        from sqlalchemy import select

        t_, im = self._t["trials"], self._t["intermediate"]

        def body(c: Any) -> tuple[list[Any], list[Any]]:
            rows = c.execute(select(t_.c.data).where(t_.c.study == name, t_.c.number >= from_number)
                             .order_by(t_.c.number)).all()
            vals = c.execute(select(im.c.number, im.c.step, im.c.value)
                             .where(im.c.study == name, im.c.number >= from_number)).all()
            return rows, vals

        rows, vals = self._run("Reading trials", body)
        values: dict[int, dict[int, float]] = {}
        for number, step, value in vals:
            values.setdefault(int(number), {})[int(step)] = float(value)
        out = []
        for (text,) in rows:
            t = self._trial(text, name)
            found = values.get(t.number)
            out.append(replace(t, intermediate_values={**t.intermediate_values, **found}) if found else t)
        return out

    def get_trial(self, name: str, number: int) -> Trial | None:
        found = [t for t in self._trials_range(name, number) if t.number == number]
        return found[0] if found else None

    def _trials_range(self, name: str, number: int) -> list[Trial]:
        from sqlalchemy import select

        t_, im = self._t["trials"], self._t["intermediate"]

        def body(c: Any) -> tuple[Any, list[Any]]:
            row = c.execute(select(t_.c.data).where(t_.c.study == name, t_.c.number == number)).first()
            vals = c.execute(select(im.c.step, im.c.value).where(im.c.study == name, im.c.number == number)).all()
            return row, vals

        row, vals = self._run("Reading a trial", body)
        if row is None:
            return []
        t = self._trial(row[0], name)
        if vals:
            t = replace(t, intermediate_values={**t.intermediate_values, **{int(s): float(v) for s, v in vals}})
        return [t]

    def count_trials(self, name: str) -> int:
        from sqlalchemy import func, select

        t_ = self._t["trials"]

        def body(c: Any) -> tuple[int, list[Any]]:
            total = c.execute(select(func.count()).select_from(t_).where(t_.c.study == name)).scalar()
            failed = c.execute(select(t_.c.data).where(t_.c.study == name,
                                                       t_.c.state == TrialState.FAILED.value)).all()
            return int(total or 0), failed

        total, failed = self._run("Counting trials", body)
        return total - sum(self._trial(r[0], name).interrupted for r in failed)

    def report(self, name: str, number: int, step: int, value: float) -> None:
        from sqlalchemy import insert, select

        im = self._t["intermediate"]

        def body(c: Any) -> None:
            # The first value of a step is kept (a retried report must not overwrite it).
            exists = c.execute(select(im.c.step).where(im.c.study == name, im.c.number == int(number),
                                                       im.c.step == int(step))).first()
            if exists is None:
                c.execute(insert(im).values(study=name, number=int(number), step=int(step), value=float(value)))

        self._run("Storing an intermediate value", body)

    # -- interrupted trials ----------------------------------------------------------------------

    def _mark(self, name: str, pick: Callable[[Any, Any], str | None]) -> list[Trial]:
        """Mark the RUNNING trials for which ``pick(row, now)`` gives a reason as interrupted."""
        from sqlalchemy import func, select, update

        t_ = self._t["trials"]
        cols = [t_.c.number, t_.c.data] + ([t_.c.heartbeat] if "heartbeat" in t_.c else [])

        def body(c: Any) -> list[Trial]:
            now = c.execute(select(func.current_timestamp())).scalar()
            rows = c.execute(select(*cols).where(t_.c.study == name,
                                                 t_.c.state == TrialState.RUNNING.value)).all()
            out = []
            for row in rows:
                why = pick(row, now)
                if why is None:
                    continue
                t = self._trial(row[1], name).finished(state=TrialState.FAILED,
                                                       failure_reason=f"{INTERRUPTED_PREFIX} {why}")
                # Conditional on RUNNING: of several processes noticing the same trial, one claims it.
                n = c.execute(update(t_).where(t_.c.study == name, t_.c.number == t.number,
                                               t_.c.state == TrialState.RUNNING.value)
                              .values(state=t.state.value, data=self._dumps(t.to_dict(), f"Trial {t.number}"))
                              ).rowcount
                if n == 1:
                    out.append(t)
            return out

        marked: list[Trial] = self._run("Marking interrupted trials", body)
        return marked

    def fail_orphans(self, name: str) -> list[Trial]:
        def pick(row: Any, now: Any) -> str | None:
            try:
                owner = json.loads(row[1]).get("owner")
            except (ValueError, AttributeError):
                return None
            if owner is None or not _owner_gone(owner):
                return None
            return f"the process that ran it (pid {owner['pid']}) died"

        return self._mark(name, pick)

    def fail_stale(self, name: str) -> list[Trial]:
        """Mark RUNNING trials whose heartbeat is older than ``grace`` seconds as interrupted.

        Returns:
            The trials this call marked (none when heartbeats are off).
        """
        grace = self.grace
        if grace is None or "heartbeat" not in self._t["trials"].c:
            return []

        def pick(row: Any, now: Any) -> str | None:
            beat = row[2]
            if beat is None or now is None:
                return None
            if (beat.tzinfo is None) != (now.tzinfo is None):  # a backend that drops the zone on one side
                beat, now = beat.replace(tzinfo=None), now.replace(tzinfo=None)
            age = (now - beat).total_seconds()
            if age <= grace:
                return None
            return f"no heartbeat for {age:.1f} s (grace {grace:g} s): its worker died or lost the server"

        return self._mark(name, pick)
