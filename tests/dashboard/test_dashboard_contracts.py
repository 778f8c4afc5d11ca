"""Fail-closed contract of guardopt.dashboard (built on `guardopt.testing.contracts`): bad arguments give a
GuardoptError naming them, stored extremes give valid JSON, and the read-only storage refuses every write."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest
from dashboard_helpers import SPACE
from hypothesis import given
from hypothesis import strategies as st

import guardopt as go
from guardopt.core.errors import StorageError, UnsupportedError
from guardopt.core.trial import Trial
from guardopt.dashboard import (
    Dashboard,
    ReadOnlySQLiteStorage,
    ReadOnlyStorage,
    ReportsDir,
    certified_recommendation,
    open_read_only,
    study_payload,
)
from guardopt.dashboard.data import jsonable
from guardopt.testing.contracts import adversarial_scalars, assert_contract, contract_settings, wrong_types


@contract_settings()
@given(st.one_of(adversarial_scalars(), wrong_types(), st.text(max_size=20)))
def test_open_read_only_refuses_what_is_not_a_storage(url: object) -> None:
    out = assert_contract(open_read_only, url, names=("storage",))
    assert out.ok is False or isinstance(out.result, go.core.storage.Storage)


@contract_settings(scale=0.5)
@given(st.one_of(adversarial_scalars(), wrong_types()))
def test_dashboard_options_are_checked(value: object) -> None:
    for option in ("port", "refresh", "model_interval", "importance", "host"):
        options = {"port": 0, option: value}  # port 0: never the default port another dashboard may hold
        out = assert_contract(Dashboard, go.core.storage.InMemoryStorage(), names=(option,), **options)
        if out.ok:
            out.result.close()


@contract_settings()
@given(st.recursive(st.one_of(st.floats(), st.integers(), st.text(max_size=5), st.none(), st.booleans()),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children,
                                                                                      max_size=3), max_leaves=12))
def test_jsonable_is_always_strict_json(value: object) -> None:
    json.dumps(jsonable(value), allow_nan=False)


def test_study_payload_names_its_parameters(db: str) -> None:
    storage = open_read_only(db)
    assert_contract(study_payload, storage, "missing", names=("name",))
    for rows in (0, -1, 1.5, "3", None, True):
        assert_contract(study_payload, storage, "demo", rows=rows, names=("rows",))
    assert len(study_payload(storage, "demo", rows=2)["trials"]) == 2


def test_the_read_only_storage_refuses_every_write(db: str) -> None:
    storage = open_read_only(db)
    assert isinstance(storage, ReadOnlySQLiteStorage)
    t = Trial(0, {"x": 0.0, "k": "a"})
    for call in (lambda: storage.new_trial("demo", {"x": 0.0}, None), lambda: storage.finish_trial("demo", t),
                 lambda: storage.report("demo", 0, 0, 1.0), lambda: storage.set_spec("demo", {}),
                 lambda: storage.delete_study("demo"), lambda: storage.create_or_get("new", {})):
        with pytest.raises(StorageError, match="read-only"):
            call()
    assert storage.create_or_get("demo", {}) == storage.get_spec("demo")
    assert storage.fail_orphans("demo") == [] and storage.fail_stale("demo") == []
    # Below the library too: SQLite itself refuses a write on the dashboard's connection.
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
        storage._conn().execute("DELETE FROM trials")
    wrapped = ReadOnlyStorage(go.core.storage.make_storage(db))
    with pytest.raises(StorageError, match="read-only"):
        wrapped.delete_study("demo")
    assert wrapped.study_names() == storage.study_names()


def test_a_running_trial_stays_running(tmp_path: Path) -> None:
    # Judging a trial orphaned is a write: the dashboard leaves it to the workers.
    url = f"sqlite:///{tmp_path / 'run.db'}"
    study = go.Study(SPACE, name="run", storage=url, optimizer=go.RandomSearch(seed=0))
    t = study.ask()
    payload = study_payload(open_read_only(url), "run")
    assert payload["counts"]["running"] == 1
    assert certified_recommendation(open_read_only(url), "run")["reason"]
    assert go.core.storage.make_storage(url).get_trial("run", t.number).state.value == "RUNNING"


def test_missing_files_and_foreign_databases_are_storage_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="never creates"):
        open_read_only(f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(StorageError, match="not a guardopt storage"):
        open_read_only(str(other))
    newer = tmp_path / "newer.db"
    go.core.storage.SQLiteStorage(newer)
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="schema 99"):
        open_read_only(f"sqlite:///{newer}")
    with pytest.raises(go.core.errors.InvalidParameterError, match="reports"):
        ReportsDir(tmp_path / "no-such-folder")


def test_a_server_url_is_opened_read_only_or_refused(pg_url_or_skip: str | None) -> None:
    import inspect

    from guardopt.core import rdb_storage

    if "read_only" not in inspect.signature(rdb_storage.RDBStorage).parameters:
        with pytest.raises(UnsupportedError, match="read-only"):
            open_read_only("postgresql+psycopg://nobody@127.0.0.1:1/none")
        return
    if pg_url_or_skip is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    study = go.Study(SPACE, name="pg", constraints={"c": ("<=", 1.0)}, storage=pg_url_or_skip,
                     optimizer=go.RandomSearch(seed=0))
    t = study.ask()
    study.tell(t, {"value": 1.0, "c": 0.0})
    storage = open_read_only(pg_url_or_skip)
    assert storage.study_names() == ["pg"]
    assert study_payload(storage, "pg")["counts"]["complete"] == 1
    with pytest.raises(StorageError):
        storage.delete_study("pg")
    assert math.isclose(study_payload(storage, "pg")["best"]["value"], 1.0)


@pytest.fixture
def pg_url_or_skip(request: pytest.FixtureRequest) -> str | None:
    """A fresh PostgreSQL database when this RDB storage can open one read-only and a server can start."""
    import inspect

    from guardopt.core import rdb_storage

    if "read_only" not in inspect.signature(rdb_storage.RDBStorage).parameters:
        return None
    return str(request.getfixturevalue("pg_url"))


def test_importance_of_a_long_study_uses_a_seeded_sample(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from guardopt.dashboard import data, model_payload

    monkeypatch.setattr(data, "IMPORTANCE_TRIALS", 4)
    storage = open_read_only(db)
    first = model_payload(storage, "demo", "permutation")["importance"]
    assert "on a random sample of 4 of the 6 completed trials" in first["note"]
    assert model_payload(storage, "demo", "permutation")["importance"] == first  # seeded: the same sample
