"""`Study.optimize`, `Study.add_trial` and define-by-run arguments as Optuna users pass them.

``catch`` as a list, one callback instead of a list, a time budget alone, ``low == high`` in a
suggest call; Optuna's own pruners refused up front; an invalid result for a COMPLETE trial refused
before anything is stored; a KeyboardInterrupt in a parallel worker recorded as an interruption,
as in the serial loop.
"""

from __future__ import annotations

import logging
import time

import pytest

import guardopt as go
from guardopt.core.callbacks import StopAtValue
from guardopt.core.errors import InvalidParameterError
from guardopt.core.trial import TrialState

SPACE = go.Space({"x": go.Real(-5.0, 5.0)})


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("guardopt").setLevel(logging.ERROR)


def _diverges_above_three(p: dict) -> float:
    if p["x"] > 3:
        raise ValueError("diverged")
    if p["x"] < -3:
        raise KeyError("other")
    return p["x"] ** 2


@pytest.mark.parametrize("catch", [[ValueError, KeyError], (ValueError, KeyError), {ValueError, KeyError}])
def test_catch_takes_any_iterable_of_exception_classes(catch) -> None:  # type: ignore[no-untyped-def]
    study = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    study.optimize(_diverges_above_three, n_trials=12, catch=catch, max_initial_failures=None)
    states = [t.state for t in study.trials]
    assert len(states) == 12 and TrialState.RUNNING not in states
    assert TrialState.FAILED in states and TrialState.COMPLETE in states


def test_catch_one_class_and_an_uncaught_error_is_recorded_then_raised() -> None:
    study = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    with pytest.raises(KeyError):
        study.optimize(_diverges_above_three, n_trials=40, catch=ValueError, max_initial_failures=None)
    assert all(t.state is not TrialState.RUNNING for t in study.trials)
    assert "KeyError" in (study.trials[-1].failure_reason or "")


@pytest.mark.parametrize("bad", ["ValueError", [ValueError, "x"], 3, [int]])
def test_catch_of_something_else_is_named(bad) -> None:  # type: ignore[no-untyped-def]
    study = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    with pytest.raises(InvalidParameterError, match="'catch'"):
        study.optimize(lambda p: 0.0, n_trials=1, catch=bad)
    assert study.trials == []


def test_one_callback_need_not_be_in_a_list() -> None:
    study = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    study.optimize(lambda p: (p["x"] - 1) ** 2, n_trials=200, callbacks=StopAtValue(0.5))
    assert len(study.trials) < 200 and study.best_value <= 0.5
    with pytest.raises(InvalidParameterError, match="'callbacks'"):
        study.optimize(lambda p: 0.0, n_trials=1, callbacks=3)  # type: ignore[arg-type]


def test_a_time_budget_alone_runs_until_it_is_spent() -> None:
    study = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    t0 = time.monotonic()
    study.optimize(lambda p: time.sleep(0.01) or p["x"] ** 2, timeout=0.3)
    assert 0.25 <= time.monotonic() - t0 < 3.0
    assert len(study.trials) >= 3
    with pytest.raises(InvalidParameterError, match="'n_trials'"):
        study.optimize(lambda p: 0.0)
    with pytest.raises(InvalidParameterError, match="'timeout'"):
        study.optimize(lambda p: 0.0, timeout=-1)
    with pytest.raises(InvalidParameterError, match="'n_trials'"):
        study.optimize(lambda p: 0.0, n_trials=2, until=3)


def test_optuna_pruners_are_refused_with_the_guardopt_name() -> None:
    optuna = pytest.importorskip("optuna")
    with pytest.raises(InvalidParameterError, match=r"guardopt\.core\.pruners"):
        go.Study(SPACE, pruner=optuna.pruners.MedianPruner())
    assert go.Study(SPACE, pruner=go.MedianPruner()).pruner is not None


@pytest.mark.parametrize("result", ["0.25", "abc", float("nan"), float("inf"), {"value": None}])
@pytest.mark.parametrize("state", [None, "COMPLETE"])
def test_add_trial_refuses_a_result_a_complete_trial_cannot_hold(result, state) -> None:  # type: ignore[no-untyped-def]
    study = go.Study(SPACE)
    with pytest.raises(InvalidParameterError, match="'result'"):
        study.add_trial({"x": 0.5}, result, state=state)
    assert study.trials == []
    # A failure given as an exception is still a FAILED trial; a finite value a COMPLETE one.
    assert study.add_trial({"x": 0.5}, RuntimeError("diverged")).state is TrialState.FAILED
    assert study.add_trial({"x": 0.5}, 0.25).state is TrialState.COMPLETE


def test_suggest_with_low_equal_high_fixes_the_value() -> None:
    def objective(trial):  # type: ignore[no-untyped-def]
        n = trial.suggest_int("n_layers", 1, 1)
        lr = trial.suggest_float("lr", 1e-3, 1e-3, log=True)
        x = trial.suggest_float("x", -1.0, 1.0)
        return n * lr + x**2

    study = go.Study()
    study.optimize(objective, n_trials=6)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert {(t.params["n_layers"], t.params["lr"]) for t in study.trials} == {(1, 1e-3)}
    assert isinstance(study.trials[0].params["n_layers"], int)

    def bad(trial):  # type: ignore[no-untyped-def]
        return trial.suggest_float("lr", 0.0, 0.0, log=True)

    with pytest.raises(go.GuardoptError):
        go.Study().optimize(bad, n_trials=5)


def test_keyboard_interrupt_in_a_parallel_worker_is_an_interruption(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'ki.db'}"
    flag = tmp_path / "second_run"

    def objective(p):  # type: ignore[no-untyped-def]
        if p.number == 2 and not flag.exists():
            raise KeyboardInterrupt
        return (p["x"] - 1) ** 2

    with pytest.raises(KeyboardInterrupt):
        go.Study(SPACE, name="s", storage=url, optimizer=go.RandomSearch(seed=0)).optimize(
            objective, until=6, n_jobs=2, executor="thread")
    flag.touch()
    study = go.Study(SPACE, name="s", storage=url, optimizer=go.RandomSearch(seed=0))
    assert study.trials[2].interrupted
    study.optimize(objective, until=6, n_jobs=2, executor="thread")
    # The interrupted trial has no result, so `until` does not count it and the rerun makes six.
    assert sum(t.state is TrialState.COMPLETE for t in study.trials) == 6


def test_optuna_names_study_name_get_trials_and_enqueue_skip_if_exists() -> None:
    study = go.Study(SPACE, name="demo", optimizer=go.RandomSearch(seed=0))
    assert study.study_name == "demo"
    study.add_trial({"x": 0.5}, 0.25)
    study.add_trial({"x": 1.5}, RuntimeError("diverged"))
    assert [t.number for t in study.get_trials(states=[TrialState.COMPLETE])] == [0]
    assert [t.number for t in study.get_trials(deepcopy=False, states=("FAIL",))] == [1]
    assert len(study.get_trials()) == 2
    with pytest.raises(InvalidParameterError, match="'states'"):
        study.get_trials(states=["DONE"])
    study.enqueue({"x": 0.5}, skip_if_exists=True)   # already evaluated: nothing queued
    study.enqueue({"x": 2.5}, skip_if_exists=True)
    study.enqueue({"x": 2.5}, skip_if_exists=True)   # already queued
    study.optimize(lambda p: p["x"] ** 2, n_trials=2)
    xs = [t.params["x"] for t in study.trials[2:]]
    assert xs[0] == 2.5 and xs[1] not in (0.5, 2.5)
    optuna = pytest.importorskip("optuna")
    assert len(study.get_trials(states=[optuna.trial.TrialState.COMPLETE])) == 3
