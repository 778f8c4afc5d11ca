"""The runner: resumable, failure-tolerant, scale-keyed; survives SIGKILL mid-grid."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from reproduce_toys import BROKEN, TOY

from guardopt.core.errors import InvalidParameterError
from guardopt.reproduce.runner import run
from guardopt.reproduce.spec import Scale, Status
from guardopt.reproduce.store import ResultStore

HERE = Path(__file__).resolve().parent


@pytest.fixture
def toy_log(tmp_path, monkeypatch):
    log = tmp_path / "cells.log"
    monkeypatch.setenv("GUARDOPT_TOY_LOG", str(log))
    monkeypatch.setenv("GUARDOPT_TOY_SLEEP", "0")
    return log


def _log_counts(log: Path) -> Counter[str]:
    return Counter(log.read_text().splitlines()) if log.exists() else Counter()


def test_rerun_skips_finished_cells(tmp_path, toy_log):
    store = tmp_path / "r.db"
    first = run([TOY], store=store)
    (s,) = first.reproductions
    assert (s.total, s.ran, s.skipped, s.done, s.failed) == (12, 12, 0, 12, 0)
    assert s.verdict is not None and s.verdict.status is Status.HOLDS
    second = run([TOY], store=store)
    assert second.cells_to_run == 0
    assert second.reproductions[0].ran == 0 and second.reproductions[0].skipped == 12
    assert second.reproductions[0].verdict == s.verdict
    assert sum(_log_counts(toy_log).values()) == 12


def test_failing_cell_is_stored_with_traceback_and_rest_complete(tmp_path, toy_log):
    store = tmp_path / "r.db"
    summary = run([BROKEN], store=store)
    (s,) = summary.reproductions
    assert (s.total, s.done, s.failed) == (8, 6, 2)
    assert summary.has_errors
    assert all("RuntimeError: toy failure" in line for _, line in s.failures)
    with ResultStore(store) as db:
        failed = [r for r in db.load("toy-broken") if r.status == "failed"]
    assert {r.seed for r in failed} == {0, 1}
    assert all("Traceback" in (r.error or "") and "toy_cell" in (r.error or "") for r in failed)
    # A rerun retries exactly the failed cells.
    again = run([BROKEN], store=store)
    assert again.reproductions[0].ran == 2 and again.reproductions[0].skipped == 6
    with ResultStore(store) as db:
        assert {r.attempts for r in db.load("toy-broken") if r.status == "failed"} == {2}


def test_scales_and_seed_override_are_keyed_apart(tmp_path, toy_log):
    store = tmp_path / "r.db"
    run([TOY], store=store, scale="quick", seeds=1)
    full = run([TOY], store=store, scale="full", seeds=1)
    assert full.reproductions[0].ran == 4  # quick rows do not count for full
    more = run([TOY], store=store, scale="quick", seeds=2)
    assert more.reproductions[0].ran == 4 and more.reproductions[0].skipped == 4


def test_changed_settings_rerun_the_cells(tmp_path, toy_log):
    store = tmp_path / "r.db"
    run([TOY], store=store, seeds=1)
    changed = dataclasses.replace(TOY, scales={"quick": Scale(1, {"scale": 2.0}), "full": TOY.scales["full"]})
    summary = run([changed], store=store)
    assert summary.reproductions[0].stale == 4 and summary.reproductions[0].ran == 4


def test_force_recomputes(tmp_path, toy_log):
    store = tmp_path / "r.db"
    run([TOY], store=store, seeds=1)
    assert run([TOY], store=store, seeds=1, force=True).reproductions[0].ran == 4


def test_process_pool_gives_the_same_numbers(tmp_path, toy_log):
    a = run([TOY], store=tmp_path / "a.db", seeds=2)
    b = run([TOY], store=tmp_path / "b.db", seeds=2, workers=2)
    assert b.reproductions[0].ran == 8
    with ResultStore(tmp_path / "a.db") as da, ResultStore(tmp_path / "b.db") as dbb:
        assert [r.metrics for r in da.load("toy")] == [r.metrics for r in dbb.load("toy")]
    assert a.reproductions[0].verdict == b.reproductions[0].verdict


def test_callbacks_and_validation(tmp_path, toy_log):
    seen = []
    started = []
    run([TOY], store=tmp_path / "r.db", seeds=1, on_start=lambda n, per: started.append((n, dict(per))),
        on_cell=lambda cell, outcome: seen.append((cell.key, outcome.status)))
    assert started == [(4, {"toy": 4})]
    assert len(seen) == 4 and all(status == "done" for _, status in seen)
    with pytest.raises(InvalidParameterError, match="'workers' parameter"):
        run([TOY], store=tmp_path / "r.db", workers=0)
    with pytest.raises(InvalidParameterError, match="'executor' parameter"):
        run([TOY], store=tmp_path / "r.db", executor="mpi")


_KILL_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from reproduce_toys import TOY
from guardopt.reproduce.runner import run
run([TOY], store=sys.argv[1], workers=int(sys.argv[2]))
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_resume_after_sigkill_mid_grid(tmp_path, workers):
    store = tmp_path / "r.db"
    log = tmp_path / "cells.log"
    env = dict(os.environ, GUARDOPT_TOY_LOG=str(log), GUARDOPT_TOY_SLEEP="0.4", OMP_NUM_THREADS="1")
    script = tmp_path / "grid.py"
    script.write_text(_KILL_SCRIPT.format(here=str(HERE)))
    proc = subprocess.Popen([sys.executable, str(script), str(store), str(workers)], env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while sum(_log_counts(log).values()) < 4:
            assert proc.poll() is None, "the grid finished before it could be killed"
            assert time.monotonic() < deadline, "no cell finished in time"
            time.sleep(0.05)
        time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, like a crash
        proc.wait()
    with ResultStore(store) as db:
        before = {r.key: r for r in db.load("toy")}
    assert 0 < len(before) < 12
    assert all(r.status == "done" for r in before.values())
    killed_log = _log_counts(log)

    env["GUARDOPT_TOY_SLEEP"] = "0"
    subprocess.run([sys.executable, str(script), str(store), str(workers)], env=env, check=True)
    with ResultStore(store) as db:
        after = {r.key: r for r in db.load("toy")}
    assert len(after) == 12 and all(r.status == "done" for r in after.values())
    counts = _log_counts(log)
    for key, row in before.items():  # nothing finished was recomputed or lost
        line = f"{key[1]} {key[2]} {key[3]} {key[4]}"
        assert counts[line] == 1
        assert after[key].finished_at == row.finished_at and after[key].attempts == 1
        assert after[key].metrics == row.metrics
    # Only cells still running at the kill (at most one per worker) ran twice.
    assert sum(counts.values()) - 12 <= workers
    assert sum(killed_log.values()) >= len(before)


def _bad_grid(scale: str):
    raise ValueError("bad grid")


def test_broken_grid_does_not_stop_the_others(tmp_path, toy_log):
    bad = dataclasses.replace(BROKEN, name="bad-grid", grid=_bad_grid)
    summary = run([bad, TOY], store=tmp_path / "r.db", seeds=1)
    by_name = {r.name: r for r in summary.reproductions}
    assert "ValueError: bad grid" in (by_name["bad-grid"].verdict_error or "")
    assert by_name["toy"].done == 4 and summary.has_errors


def test_two_processes_share_one_store(tmp_path):
    store = tmp_path / "r.db"
    env = dict(os.environ, GUARDOPT_TOY_LOG=str(tmp_path / "cells.log"), GUARDOPT_TOY_SLEEP="0.05",
               OMP_NUM_THREADS="1")
    script = tmp_path / "grid.py"
    script.write_text(_KILL_SCRIPT.format(here=str(HERE)))
    procs = [subprocess.Popen([sys.executable, str(script), str(store), "1"], env=env, stderr=subprocess.PIPE)
             for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with ResultStore(store) as db:
        rows = db.load("toy")
    assert len(rows) == 12 and all(r.status == "done" for r in rows)
