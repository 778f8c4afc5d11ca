"""Storages: SQLite persistence, schema refusal, thread and process safety, crash safety (SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import guardopt as go
from guardopt.core import InMemoryStorage, SQLiteStorage, StorageError, TrialState, make_storage
from guardopt.core.storage import SCHEMA_VERSION
from guardopt.core.trial import Trial

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
WORKER = HERE / "crash_worker.py"


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}


def _count(db: Path, state: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM trials WHERE state=?", (state,)).fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _complete(db: Path) -> dict[int, dict[str, object]]:
    with sqlite3.connect(db, timeout=5) as conn:
        rows = conn.execute("SELECT number, data FROM trials WHERE state='COMPLETE'").fetchall()
    return {int(n): json.loads(d)["params"] for n, d in rows}


def _kill_when(proc: subprocess.Popen[bytes], db: Path, n_complete: int, limit: float = 60.0) -> None:
    t0 = time.monotonic()
    while _count(db, "COMPLETE") < n_complete:
        assert proc.poll() is None, "the study finished before it could be killed"
        assert time.monotonic() - t0 < limit, "the study made no progress"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: driver and its worker processes
    proc.wait()


def test_sqlite_persists_trials_and_specs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'a.db'}"
    study = go.Study(go.Space({"x": go.Real(0, 1)}), name="s", storage=url, optimizer=go.RandomSearch(seed=0))
    study.optimize(lambda p: p["x"], n_trials=3)
    t = study.ask(context={"instance": 3})
    study.tell(t, go.Observation(0.5, user_attrs={"arr": np.arange(2), "scalar": np.float32(1.5)}))
    again = go.Study.load("s", url)
    assert [x.to_dict() for x in again.trials] == [x.to_dict() for x in study.trials]
    assert again.trials[3].context == {"instance": 3}
    assert again.trials[3].user_attrs == {"arr": [0, 1], "scalar": 1.5}
    assert make_storage(url).study_names() == ["s"]
    assert repr(make_storage(url)).startswith("SQLiteStorage(")


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    SQLiteStorage(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StorageError, match=rf"storage schema 99; this guardopt reads up to {SCHEMA_VERSION}"):
        SQLiteStorage(path)


def test_unwritable_path_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="Could not open the SQLite storage"):
        SQLiteStorage(blocker / "db.sqlite")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_threads_sharing_one_storage_get_distinct_numbers(tmp_path: Path, kind: str) -> None:
    store = InMemoryStorage() if kind == "memory" else SQLiteStorage(tmp_path / "t.db")
    store.create_or_get("s", {"space": {}})
    numbers: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(25):
            t = store.new_trial("s", {"x": 1}, None)
            store.finish_trial("s", t.finished(state=TrialState.COMPLETE, value=1.0))
            with lock:
                numbers.append(t.number)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(numbers) == list(range(100))
    assert [t.number for t in store.trials("s")] == list(range(100))
    assert all(t.state is TrialState.COMPLETE for t in store.trials("s"))
    assert [t.number for t in store.trials("s", from_number=95)] == [95, 96, 97, 98, 99]
    got = store.get_trial("s", 7)
    assert got is not None and got.number == 7 and store.get_trial("s", 100) is None


def test_storage_survives_fork_and_pickling(tmp_path: Path) -> None:
    import pickle

    store = SQLiteStorage(tmp_path / "f.db")
    store.create_or_get("s", {})
    copy = pickle.loads(pickle.dumps(store))
    t = copy.new_trial("s", {}, None)
    assert store.get_trial("s", t.number) is not None
    store.close()
    assert store.study_names() == ["s"]  # reopens


def test_two_processes_share_one_study_without_duplicate_numbers(tmp_path: Path) -> None:
    db, log = tmp_path / "shared.db", tmp_path / "log.txt"
    # Each process runs until the study holds 16 trials; together they may overshoot by at most one
    # trial per process, since counting and asking are two steps.
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(db), str(log), str(seed), "16", "1", "0.06"],
                              env=_env()) for seed in (1, 2)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    study = go.Study.load("crash", f"sqlite:///{db}")
    numbers = [t.number for t in study.trials]
    assert numbers == list(range(len(numbers))) and 16 <= len(numbers) <= 18
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert len(log.read_text().splitlines()) == len(numbers)


def test_sigkill_halfway_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db, log = tmp_path / "crash.db", tmp_path / "log.txt"
    args = [sys.executable, str(WORKER), str(db), str(log), "0", "30", "4", "0.2"]
    proc = subprocess.Popen(["nice", "-n", "10", *args], env=_env(), start_new_session=True)
    _kill_when(proc, db, 15)  # about half of the 30
    before = _complete(db)
    assert 15 <= len(before) < 30

    study = go.Study.load("crash", f"sqlite:///{db}", optimizer=go.RandomSearch(seed=0))
    after = {t.number: dict(t.params) for t in study.trials if t.state is TrialState.COMPLETE}
    assert after == before  # every trial committed before the kill is there, unchanged
    assert all(t.state is not TrialState.RUNNING for t in study.trials)  # orphans were marked
    assert all(t.interrupted for t in study.trials if t.state is TrialState.FAILED)
    logged = {tuple(line.split()) for line in log.read_text().splitlines()}
    assert {(repr(p["x"]), repr(p["y"])) for p in before.values()} <= logged  # no phantom results

    # Rerunning the same script continues to 30 results.
    assert subprocess.run(args, env=_env(), timeout=120).returncode == 0
    final = go.Study.load("crash", f"sqlite:///{db}").trials
    numbers = [t.number for t in final]
    assert numbers == list(range(len(numbers)))  # no lost or duplicated numbers
    complete = [t for t in final if t.state is TrialState.COMPLETE]
    assert len(complete) == 30
    assert {t.number: dict(t.params) for t in complete if t.number in before} == before
    assert len({repr(sorted(t.params.items())) for t in complete}) == 30  # the resumed run did not repeat points


def test_fail_orphans_leaves_live_owners_alone(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "o.db")
    store.create_or_get("s", {})
    mine = store.new_trial("s", {}, None)  # owned by this (live) process
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    other = store.new_trial("s", {}, None)
    with sqlite3.connect(store.path) as conn:
        (text,) = conn.execute("SELECT data FROM trials WHERE number=?", (other.number,)).fetchone()
        data = json.loads(text)
        data["owner"]["pid"] = int(dead.stdout)
        conn.execute("UPDATE trials SET data=? WHERE number=?", (json.dumps(data), other.number))
    failed = store.fail_orphans("s")
    assert [t.number for t in failed] == [other.number]
    assert failed[0].interrupted and "died" in (failed[0].failure_reason or "")
    assert store.get_trial("s", mine.number).state is TrialState.RUNNING  # type: ignore[union-attr]
    assert store.count_trials("s") == 1  # the interrupted one does not count toward a total
    assert Trial.from_dict(failed[0].to_dict()) == failed[0]


def test_quickstart_example_runs_is_killed_and_resumes(tmp_path: Path) -> None:
    script = ROOT / "examples" / "quickstart.py"
    db = tmp_path / "runs.db"
    # niced, so that this process polls often enough on a loaded machine to kill it halfway
    proc = subprocess.Popen(["nice", "-n", "10", sys.executable, str(script)], cwd=tmp_path, env=_env(),
                            start_new_session=True, stdout=subprocess.DEVNULL)
    _kill_when(proc, db, 5)
    assert _count(db, "COMPLETE") < 30
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Trial(number=" in out.stdout or "None" in out.stdout
    study = go.Study.load("demo", f"sqlite:///{db}")
    assert sum(t.state is TrialState.COMPLETE for t in study.trials) == 30
    assert [t.number for t in study.trials] == list(range(len(study.trials)))
