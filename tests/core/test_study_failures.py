"""Loud failures: a warning per failed trial, and an error once the first k trials all failed."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import pytest

import guardopt as go
from guardopt.core import InvalidParameterError, TrialState
from guardopt.core.study import TrialsFailedError

SPACE = go.Space({"x": go.Real(-5, 5)})


def study() -> go.Study:
    return go.Study(SPACE, optimizer=go.RandomSearch(seed=0))


def typo(p: Mapping[str, Any]) -> float:
    return p["x"] ** 2 + undefined_name  # type: ignore[name-defined] # noqa: F821


def test_every_failed_trial_is_a_warning_and_the_first_k_raise_with_the_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    s = study()
    with caplog.at_level(logging.WARNING, logger="guardopt"), pytest.raises(TrialsFailedError) as info:
        s.optimize(typo, n_trials=50)
    # Five trials, then the error: not fifty silent failures.
    assert [t.state for t in s.trials] == [TrialState.FAILED] * 5
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "failed" in r.getMessage()]
    assert len(warnings) == 5
    assert all("NameError: name 'undefined_name' is not defined" in r.getMessage() for r in warnings)
    assert warnings[0].exc_info is not None  # the first carries the traceback, later ones one line
    assert all(r.exc_info is None for r in warnings[1:])
    err = info.value
    assert isinstance(err, go.GuardoptError) and isinstance(err.__cause__, NameError)
    assert err.__cause__.__traceback__ is not None
    assert "first 5 trials" in str(err) and "max_initial_failures=None" in str(err)
    assert [t.number for t in err.trials] == [0, 1, 2, 3, 4]


def test_an_optuna_objective_given_a_declared_space_fails_loudly_not_silently() -> None:
    # An objective written for Optuna now runs (see test_define_by_run); one calling a method the
    # trial lacks fails, and the user hears about it after k trials.
    with pytest.raises(TrialsFailedError, match="AttributeError") as info:
        study().optimize(lambda trial: trial.suggest_uniform("x", -5, 5), n_trials=20, max_initial_failures=3)
    assert len(info.value.trials) == 3


def test_k_is_a_parameter_and_none_tolerates_failures() -> None:
    s = study()
    s.optimize(typo, n_trials=8, max_initial_failures=None)
    assert len(s.trials) == 8 and s.best() is None
    with pytest.raises(TrialsFailedError):
        study().optimize(typo, n_trials=8, max_initial_failures=2)
    with pytest.raises(InvalidParameterError, match=r"'max_initial_failures' parameter of Study\.optimize"):
        study().optimize(typo, n_trials=1, max_initial_failures=0)


def test_one_success_among_the_first_k_disarms_it() -> None:
    calls = {"n": 0}

    def sometimes(p: Mapping[str, Any]) -> float:
        calls["n"] += 1
        if calls["n"] == 3:
            return 1.0
        raise ValueError("flaky")

    s = study()
    s.optimize(sometimes, n_trials=12)
    states = [t.state for t in s.trials]
    assert len(states) == 12 and states.count(TrialState.COMPLETE) == 1


def test_nan_values_count_as_failures_without_an_exception_to_chain() -> None:
    with pytest.raises(TrialsFailedError, match="not a finite number") as info:
        study().optimize(lambda p: math.nan, n_trials=10)
    assert info.value.__cause__ is None


def test_catch_keeps_its_meaning() -> None:
    # An exception outside `catch` propagates at once, as before.
    with pytest.raises(NameError):
        study().optimize(typo, n_trials=10, catch=(KeyError,))
    # With threads: recorded, then re-raised after the running trials finish (before the k-check).
    s = study()
    with pytest.raises((NameError, TrialsFailedError)):
        s.optimize(typo, n_trials=10, n_jobs=2, executor="thread")
    assert all(t.state is TrialState.FAILED for t in s.trials)


def test_quiet_when_nothing_goes_wrong(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="guardopt"):
        study().optimize(lambda p: p["x"] ** 2, n_trials=5)
    assert caplog.records == []
