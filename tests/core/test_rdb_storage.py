"""RDBStorage on a real PostgreSQL server started by the suite (tests/pg_server.py).

Acceptance tests: 8 processes x 25 trials on one study (no lost or duplicated numbers), a worker
killed with SIGKILL (its trial reclaimed after the grace period, finished trials kept, the trial
retried), resume after a server restart, a same-named study with another problem refused, the
schema migrations from an old schema, and a database from a newer schema refused.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

import guardopt as go
from guardopt.core.errors import GuardoptError, InvalidParameterError, StorageError
from guardopt.core.rdb_storage import RDB_SCHEMA_VERSION, RDBStorage, is_rdb_url
from guardopt.core.storage import make_storage
from guardopt.core.trial import TrialState
from guardopt.testing.contracts import assert_contract

SPACE = go.Space({"x": go.Real(-5, 5), "y": go.Real(-5, 5)})
CONSTRAINTS = {"c": ("<=", 0.0)}


def objective(p: dict[str, Any]) -> dict[str, float]:
    return {"value": (p["x"] - 1) ** 2 + p["y"] ** 2, "c": p["x"] + p["y"] - 2}


def _study(storage: Any, seed: int = 0, name: str = "s") -> go.Study:
    return go.Study(SPACE, name=name, constraints=CONSTRAINTS, optimizer=go.RandomSearch(seed=seed), storage=storage)


def _worker(url: str, seed: int, n: int) -> None:
    # A fresh process with its own engine: what a worker on another host does.
    _study(url, seed=seed).optimize(objective, n_trials=n)


def _slow_worker(url: str, mark: str, beat: float) -> None:
    # This worker poses as a process on another host: its death can only be seen by its heartbeats.
    import guardopt.core.rdb_storage as rdb

    rdb._owner = lambda: {"pid": os.getpid(), "host": "another-host"}  # type: ignore[attr-defined]
    storage = RDBStorage(url, heartbeat_interval=beat, grace=1.0)
    count = [0]

    def fn(p: dict[str, Any]) -> dict[str, float]:
        count[0] += 1
        if count[0] == 3:
            Path(mark).write_text("inside trial 3")
            time.sleep(120)  # killed here
        return objective(p)

    _study(storage, seed=1).optimize(fn, n_trials=10)


FORK = mp.get_context("fork")


def test_eight_processes_share_one_study_without_lost_or_duplicated_numbers(pg_url: str) -> None:
    _study(pg_url)  # created once, so that the workers race only on trial numbers
    procs = [FORK.Process(target=_worker, args=(pg_url, seed, 25)) for seed in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    trials = RDBStorage(pg_url).trials("s")
    assert [t.number for t in trials] == list(range(200))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    # Every worker's 25 parameter sets arrived (8 different seeds: 200 distinct points).
    assert len({(t.params["x"], t.params["y"]) for t in trials}) == 200


def test_sigkilled_worker_trial_is_reclaimed_after_grace_and_retried(pg_url: str, tmp_path: Path) -> None:
    _study(pg_url, seed=1)
    mark = tmp_path / "mark"
    proc = FORK.Process(target=_slow_worker, args=(pg_url, str(mark), 0.2))
    proc.start()
    deadline = time.monotonic() + 60
    while not mark.exists():
        assert time.monotonic() < deadline and proc.is_alive()
        time.sleep(0.05)
    time.sleep(0.5)  # a few heartbeats while the trial runs: it must not be judged stale
    watcher = RDBStorage(pg_url, heartbeat_interval=0.2, grace=1.0, retry_failed=True)
    assert watcher.fail_stale("s") == []
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    before = watcher.trials("s")
    assert [t.state for t in before] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.RUNNING]
    assert watcher.fail_stale("s") == []  # within the grace period
    time.sleep(1.3)
    # A study that asks next notices the stale trial, marks it interrupted and evaluates it again.
    study = _study(watcher, seed=2)
    study.optimize(objective, n_trials=1)
    after = study.trials
    assert after[0] == before[0] and after[1] == before[1]  # finished trials kept, unchanged
    assert after[2].state is TrialState.FAILED and after[2].interrupted
    assert "heartbeat" in (after[2].failure_reason or "")
    assert after[3].params == before[2].params and after[3].state is TrialState.COMPLETE
    assert study.storage.count_trials("s") == 3  # the interrupted trial does not count


def test_two_processes_noticing_one_stale_trial_claim_it_once(pg_url: str) -> None:
    a = RDBStorage(pg_url, heartbeat_interval=0.1, grace=0.3)
    _study(a)
    t = a.new_trial("s", {"x": 0.0, "y": 0.0}, None)
    a._beating().stop()  # its worker "dies": no more heartbeats
    time.sleep(0.6)
    b = RDBStorage(pg_url, heartbeat_interval=0.1, grace=0.3)
    first, second = b.fail_stale("s"), a.fail_stale("s")
    assert [x.number for x in first] == [t.number] and second == []
    # The dead worker's late result does not overwrite the interrupted record.
    a.finish_trial("s", t.finished(state=TrialState.COMPLETE, value=1.0))
    assert b.get_trial("s", t.number).interrupted  # type: ignore[union-attr]


def test_resume_after_server_restart(pg_server: Any, pg_url: str) -> None:
    study = _study(pg_url)
    study.optimize(objective, n_trials=5)
    pg_server.stop()
    pg_server.start()
    # The same storage object reconnects (stale pooled connections are replaced), and a new study
    # object resumes by name.
    study.optimize(objective, n_trials=2)
    resumed = _study(pg_url, seed=5)
    resumed.optimize(objective, n_trials=3)
    trials = resumed.trials
    assert [t.number for t in trials] == list(range(10))
    assert all(t.state is TrialState.COMPLETE for t in trials)


def test_same_name_with_a_different_problem_is_refused(pg_url: str) -> None:
    _study(pg_url).optimize(objective, n_trials=2)
    other = go.Space({"x": go.Real(0, 1)})
    with pytest.raises(InvalidParameterError, match="space"):
        go.Study(other, name="s", storage=pg_url)
    with pytest.raises(InvalidParameterError):
        go.Study(SPACE, name="s", direction="maximize", constraints=CONSTRAINTS, storage=pg_url)
    assert len(RDBStorage(pg_url).trials("s")) == 2


def test_storage_interface_round_trip(pg_url: str) -> None:
    s = make_storage(pg_url)
    assert isinstance(s, RDBStorage) and "postgresql" in repr(s)
    s.create_or_get("a", {"space": {}, "k": [1, 2]})
    assert s.get_spec("a") == {"space": {}, "k": [1, 2]} and s.get_spec("missing") is None
    t = s.new_trial("a", {"x": 1}, {"ctx": 1})
    s.report("a", t.number, 0, 0.5)
    s.report("a", t.number, 0, 9.0)  # the first value of a step is kept
    s.finish_trial("a", t.finished(state=TrialState.COMPLETE, value=2.0, user_attrs={"u": "v"}))
    got = s.get_trial("a", 0)
    assert got is not None and got.value == 2.0 and got.intermediate_values == {0: 0.5}
    assert got.context == {"ctx": 1} and got.user_attrs == {"u": "v"}
    s.set_spec("a", {"space": {}, "k": [3]})
    assert s.get_spec("a") == {"space": {}, "k": [3]}
    assert s.study_names() == ["a"]
    s.delete_study("a")
    assert s.study_names() == [] and s.trials("a") == []
    with pytest.raises(InvalidParameterError, match="name"):
        s.delete_study("a")


def _open_together(url: str, barrier: Any) -> None:
    barrier.wait()
    RDBStorage(url).create_or_get("s", {"space": {}})


def test_processes_opening_a_fresh_database_together_create_the_schema_once(pg_url: str) -> None:
    barrier = FORK.Barrier(4)
    procs = [FORK.Process(target=_open_together, args=(pg_url, barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    storage = RDBStorage(pg_url)
    assert storage._version == RDB_SCHEMA_VERSION and storage.study_names() == ["s"]


def test_migration_from_schema_1_keeps_trials(pg_url: str) -> None:
    old = RDBStorage(pg_url, migrate_to=1)
    assert "heartbeat" not in old._t["trials"].c
    _study(old).optimize(objective, n_trials=3)
    new = RDBStorage(pg_url, heartbeat_interval=0.5)
    assert new._version == RDB_SCHEMA_VERSION and "heartbeat" in new._t["trials"].c
    assert [t.number for t in new.trials("s")] == [0, 1, 2]
    study = _study(new)
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5
    assert new.fail_stale("s") == []  # rows from schema 1 have no heartbeat and are never judged stale


def test_newer_schema_is_refused(pg_url: str) -> None:
    from sqlalchemy import create_engine, text

    RDBStorage(pg_url)
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE guardopt_meta SET value='99' WHERE key='schema_version'"))
    engine.dispose()
    with pytest.raises(StorageError, match="schema 99"):
        RDBStorage(pg_url)


def test_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="Could not open"):
        RDBStorage("postgresql+psycopg://nobody@127.0.0.1:1/none", engine_options={"connect_args":
                                                                                 {"connect_timeout": 2}})


@pytest.mark.parametrize("kwargs,param", [
    ({"heartbeat_interval": 0}, "heartbeat_interval"),
    ({"heartbeat_interval": float("nan")}, "heartbeat_interval"),
    ({"heartbeat_interval": True}, "heartbeat_interval"),
    ({"heartbeat_interval": 1.0, "grace": 0.5}, "grace"),
    ({"heartbeat_interval": 1.0, "grace": float("inf")}, "grace"),
    ({"grace": 5.0}, "grace"),
    ({"retry_failed": True}, "retry_failed"),
    ({"heartbeat_interval": 1.0, "retry_failed": 1}, "retry_failed"),
    ({"migrate_to": 0}, "migrate_to"),
])
def test_options_are_validated_naming_the_parameter(kwargs: dict[str, Any], param: str) -> None:
    # Checked before any connection is made: no server needed.
    out = assert_contract(RDBStorage, "postgresql+psycopg://u@127.0.0.1:1/x", names=[param], **kwargs)
    assert isinstance(out.error, InvalidParameterError)


@pytest.mark.parametrize("url", ["", "sqlite:///x.db", "http://host/db", 3, None])
def test_bad_url_is_refused(url: Any) -> None:
    out = assert_contract(RDBStorage, url, names=["url"])
    assert isinstance(out.error, GuardoptError)


def test_url_dispatch() -> None:
    assert is_rdb_url("postgresql+psycopg://u@h/db") and is_rdb_url("mysql+pymysql://u@h/db")
    assert is_rdb_url("postgresql://u@h/db") and not is_rdb_url("sqlite:///x.db") and not is_rdb_url("x")
    assert not is_rdb_url("postgres://u@h/db")  # not a SQLAlchemy dialect name
    with pytest.raises(InvalidParameterError, match="storage"):
        make_storage("redis://h/0")


def test_read_only_storage_reads_and_never_writes(pg_url: str) -> None:
    with pytest.raises(StorageError, match="no guardopt storage"):
        RDBStorage(pg_url, read_only=True)  # an empty database is not created by a viewer
    _study(pg_url).optimize(objective, n_trials=3)
    viewer = make_storage(pg_url, read_only=True)
    assert isinstance(viewer, RDBStorage) and viewer.read_only
    assert viewer.study_names() == ["s"] and len(viewer.trials("s", from_number=1)) == 2
    assert viewer.get_spec("s") == RDBStorage(pg_url).get_spec("s")
    with pytest.raises(StorageError, match="read-only"):
        viewer.new_trial("s", {"x": 0.0, "y": 0.0}, None)
    with pytest.raises(StorageError, match="read-only"):
        viewer.delete_study("s")
    assert len(RDBStorage(pg_url).trials("s")) == 3
    with pytest.raises(InvalidParameterError, match="read_only"):
        make_storage("sqlite:///x.db", read_only=True)
    with pytest.raises(InvalidParameterError, match="heartbeat_interval"):
        RDBStorage(pg_url, read_only=True, heartbeat_interval=1.0)


def test_read_only_refuses_an_old_schema(pg_url: str) -> None:
    RDBStorage(pg_url, migrate_to=1)
    with pytest.raises(StorageError, match="schema 1"):
        RDBStorage(pg_url, read_only=True)
