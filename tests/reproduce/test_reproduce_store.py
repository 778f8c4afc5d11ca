"""The SQLite result store: rows round-trip, reruns replace, newer schemas are refused."""

from __future__ import annotations

import math
import sqlite3

import pytest

from guardopt.core.errors import StorageError
from guardopt.reproduce.spec import Cell
from guardopt.reproduce.store import ResultStore

ENV = {"hostname": "h", "cpu_count": 2, "versions": {"numpy": "2"}}


def _cell(seed: int = 0, scale: str = "quick") -> Cell:
    return Cell("r", "t", "m", seed, scale, {"pools": 5})


def test_put_and_load_round_trip(tmp_path):
    with ResultStore(tmp_path / "sub" / "s.db") as db:
        db.put(_cell(), "done", {"a": 1.5, "b": math.nan}, {"c": [1, 2]}, 0.25, None, ENV, "2026-01-01T00:00:00+00:00")
        (row,) = db.load("r")
    assert row.key == ("r", "t", "m", 0, "quick")
    assert row.metrics["a"] == 1.5 and math.isnan(row.metrics["b"])
    assert row.curves == {"c": [1.0, 2.0]}
    assert row.settings == {"pools": 5}
    assert row.environment["hostname"] == "h"
    assert row.wall_time == 0.25 and row.attempts == 1
    rec = row.to_record()
    assert rec.status == "done" and rec.seed == 0


def test_rerun_replaces_and_counts_attempts(tmp_path):
    db = ResultStore(tmp_path / "s.db")
    db.put(_cell(), "failed", {}, {}, 0.1, "Traceback\nValueError: x", ENV, "t1")
    assert db.done_settings("r", "quick") == {}
    db.put(_cell(), "done", {"a": 1.0}, {}, 0.1, None, ENV, "t2")
    (row,) = db.load("r")
    assert row.status == "done" and row.error is None and row.attempts == 2
    assert list(db.done_settings("r", "quick")) == [("r", "t", "m", 0, "quick")]
    db.close()


def test_scales_never_mix(tmp_path):
    with ResultStore(tmp_path / "s.db") as db:
        db.put(_cell(0, "quick"), "done", {"a": 1.0}, {}, 0.1, None, ENV, "t")
        db.put(_cell(0, "full"), "done", {"a": 2.0}, {}, 0.1, None, ENV, "t")
        assert [r.metrics["a"] for r in db.load("r", "quick")] == [1.0]
        assert [r.metrics["a"] for r in db.load("r", "full")] == [2.0]
        assert db.scales("r") == ["full", "quick"]
        assert db.reproductions() == ["r"]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    ResultStore(path).close()
    with sqlite3.connect(path) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StorageError, match="newer guardopt"):
        ResultStore(path)


def test_wal_mode(tmp_path):
    path = tmp_path / "s.db"
    ResultStore(path).close()
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
