"""``guardopt study copy`` and `copy_study`: SQLite -> PostgreSQL -> SQLite keeps every trial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import guardopt as go
from guardopt.cli.study_copy_cmd import run as copy_run
from guardopt.core.errors import InvalidParameterError
from guardopt.core.storage import InMemoryStorage, SQLiteStorage, copy_study, make_storage
from guardopt.core.trial import TrialState

SPACE = go.Space({"x": go.Real(-5, 5)})


def _fill(url: str) -> list[Any]:
    study = go.Study(SPACE, name="s", constraints={"c": ("<=", 0.0)}, optimizer=go.RandomSearch(seed=0),
                     storage=url)

    def fn(p: dict[str, Any]) -> dict[str, float]:
        if p["x"] > 4:
            raise ValueError("too far")
        return {"value": p["x"] ** 2, "c": p["x"] - 1}

    study.optimize(fn, n_trials=12, max_initial_failures=None)
    t = study.ask()
    study.storage.report("s", t.number, 0, 0.25)  # left RUNNING, with an intermediate value
    return study.trials


class Args:
    def __init__(self, name: str, source: str, target: str, new_name: str | None = None) -> None:
        self.name, self.source, self.target, self.new_name = name, source, target, new_name


def _same(a: Any, b: Any) -> bool:
    return (a.number, dict(a.params), a.value, dict(a.constraints), a.datetime_start, a.user_attrs) == \
        (b.number, dict(b.params), b.value, dict(b.constraints), b.datetime_start, b.user_attrs)


def test_sqlite_to_postgresql_and_back(pg_url: str, tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'a.db'}"
    original = _fill(sqlite_url)
    from guardopt.cli.main import main

    assert main(["study", "copy", "s", "--from", sqlite_url, "--to", pg_url]) == 0
    on_pg = make_storage(pg_url).trials("s")
    assert len(on_pg) == len(original) == 13
    assert all(_same(a, b) for a, b in zip(original, on_pg, strict=True))
    assert [t.state for t in on_pg[:12]] == [t.state for t in original[:12]]
    assert on_pg[12].interrupted and on_pg[12].intermediate_values == {0: 0.25}
    assert make_storage(pg_url).get_spec("s") == make_storage(sqlite_url).get_spec("s")
    back = f"sqlite:///{tmp_path / 'b.db'}"
    assert copy_run(Args("s", pg_url, back, "t"), None) == 0  # type: ignore[arg-type]
    again = make_storage(back).trials("t")
    assert all(_same(a, b) for a, b in zip(on_pg, again, strict=True))
    assert [t.failure_reason for t in again] == [t.failure_reason for t in on_pg]
    # The copy is a study like any other: it resumes by name.
    study = go.Study(SPACE, name="s", constraints={"c": ("<=", 0.0)}, storage=pg_url)
    study.optimize(lambda p: {"value": p["x"] ** 2, "c": p["x"] - 1}, n_trials=2)
    assert [t.number for t in study.trials] == list(range(15))


def test_copy_refuses_an_existing_target_and_a_missing_source(tmp_path: Path) -> None:
    src = SQLiteStorage(tmp_path / "a.db")
    _fill(f"sqlite:///{tmp_path / 'a.db'}")
    dst = InMemoryStorage()
    assert copy_study(src, dst, "s") == 13
    with pytest.raises(InvalidParameterError, match="new_name"):
        copy_study(src, dst, "s")
    with pytest.raises(InvalidParameterError, match="name"):
        copy_study(src, dst, "nope", "other")
    assert copy_run(Args("s", f"sqlite:///{tmp_path / 'missing.db'}", "sqlite:///x.db"), None) == 2  # type: ignore[arg-type]
    assert [t.state for t in dst.trials("s")][:3] == [t.state for t in src.trials("s")][:3]
    assert dst.trials("s")[12].state is TrialState.FAILED


def test_copy_study_contract() -> None:
    from guardopt.testing.contracts import assert_contract

    src = InMemoryStorage()
    src.create_or_get("s", {"space": {}})
    for bad in ("", 3):
        out = assert_contract(copy_study, src, InMemoryStorage(), "s", bad, names=["new_name"])
        assert out.error is not None
