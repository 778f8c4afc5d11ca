"""The names Optuna users reach for, and resuming made explicit (load_if_exists)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import guardopt as go
from guardopt.core import InsufficientDataError, InvalidParameterError

SPACE = go.Space({"x": go.Real(-5, 5)})


def test_best_aliases_and_trials_dataframe() -> None:
    s = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    with pytest.raises(InsufficientDataError, match="no feasible completed trial yet"):
        _ = s.best_trial
    s.optimize(lambda p: (p["x"] - 1) ** 2, n_trials=15)
    best = s.best()
    assert best is not None
    assert s.best_trial == best and s.best_value == best.value and s.best_params == dict(best.params)
    df = s.trials_dataframe()
    assert df.equals(s.to_dataframe()) and len(df) == 15 and "params_x" in df.columns


def test_best_value_follows_constraints_and_direction() -> None:
    s = go.Study(SPACE, direction="maximize", constraints={"c": ("<=", 0.0)})
    s.tell(s.ask(), {"value": 5.0, "c": 1.0})  # infeasible, never best
    s.tell(s.ask(), {"value": 2.0, "c": -1.0})
    s.tell(s.ask(), {"value": 1.0, "c": -1.0})
    assert s.best_value == 2.0


def test_a_rerun_says_it_resumes_and_load_if_exists_false_refuses(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = go.Study(SPACE, name="exp", storage=url, optimizer=go.RandomSearch(seed=0))
    first.optimize(lambda p: p["x"] ** 2, n_trials=3)
    with caplog.at_level(logging.INFO, logger="guardopt"):
        again = go.Study(SPACE, name="exp", storage=url, optimizer=go.RandomSearch(seed=0))
    (record,) = [r for r in caplog.records if "resumes" in r.getMessage()]
    assert record.levelno == logging.WARNING and "3 trials already stored" in record.getMessage()
    assert len(again.trials) == 3
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="guardopt"):
        go.Study.load("exp", url)
    assert [r.levelno for r in caplog.records if "resumes" in r.getMessage()] == [logging.INFO]
    with pytest.raises(InvalidParameterError, match=r"'name' parameter of Study must be a study name not yet in"):
        go.Study(SPACE, name="exp", storage=url, load_if_exists=False)
    fresh = go.Study(SPACE, name="other", storage=url, load_if_exists=False)
    assert fresh.trials == []
    with pytest.raises(InvalidParameterError, match="'load_if_exists' parameter of Study must be True or False"):
        go.Study(SPACE, load_if_exists="yes")  # type: ignore[arg-type]
