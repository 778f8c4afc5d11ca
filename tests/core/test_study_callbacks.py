"""Callbacks after each trial, stop rules, and the progress bar's best feasible value."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

import guardopt as go
from guardopt.core import InvalidParameterError, Trial
from guardopt.core.callbacks import StopAtValue, StopOnPlateau, TimeBudget

SPACE = go.Space({"x": go.Real(-5, 5)})


def bowl(p: Mapping[str, Any]) -> float:
    return float((p["x"] - 1) ** 2)


def study(**kw: Any) -> go.Study:
    return go.Study(SPACE, optimizer=go.RandomSearch(seed=0), **kw)


def test_callbacks_get_study_and_each_finished_trial_in_order() -> None:
    seen: list[tuple[int, str]] = []

    def cb(s: go.Study, t: Trial) -> None:
        assert s.storage.get_trial(s.name, t.number) == t  # stored before the callback runs
        seen.append((t.number, t.state.value))

    s = study()
    s.optimize(bowl, n_trials=4, callbacks=[cb])
    assert seen == [(i, "COMPLETE") for i in range(4)]
    s2 = study()
    s2.optimize(bowl, n_trials=6, n_jobs=2, executor="thread", callbacks=[cb])
    assert len(seen) == 10


def test_study_stop_from_a_callback_ends_the_loop() -> None:
    s = study()
    s.optimize(bowl, n_trials=100, callbacks=[lambda st, t: st.stop() if t.number == 2 else None])
    assert len(s.trials) == 3
    s.optimize(bowl, n_trials=2)  # a new call starts again
    assert len(s.trials) == 5


def test_stop_at_target_value_counts_only_feasible_trials() -> None:
    s = go.Study(SPACE, constraints={"c": ("<=", 0.0)}, optimizer=go.RandomSearch(seed=0))
    # Infeasible trials with a great value never stop the study.
    s.optimize(lambda p: {"value": -100.0, "c": 1.0}, n_trials=5, callbacks=[StopAtValue(0.0)],
               max_initial_failures=None)
    assert len(s.trials) == 5
    s2 = study()
    s2.optimize(bowl, n_trials=200, callbacks=[StopAtValue(0.5)])
    assert s2.best_value <= 0.5
    values = [t.value for t in s2.trials]
    assert all(v is not None and v > 0.5 for v in values[:-1])  # stopped at the first hit
    s3 = go.Study(SPACE, direction="maximize", optimizer=go.RandomSearch(seed=0))
    s3.optimize(lambda p: p["x"], n_trials=200, callbacks=[StopAtValue(4.0)])
    assert s3.best_value >= 4.0 and len(s3.trials) < 200


def test_stop_on_plateau_after_k_trials_without_improvement() -> None:
    values = iter([5.0, 4.0, 4.5, 4.2, 3.0, 3.5, 3.1, 3.2, 9.0, 8.0])
    s = study()
    s.optimize(lambda p: next(values), n_trials=10, callbacks=[StopOnPlateau(3)])
    # Improvements at trials 0, 1 and 4; trials 5, 6 and 7 do not improve: stop after trial 7.
    assert len(s.trials) == 8


def test_time_budget() -> None:
    s = study()
    s.optimize(lambda p: time.sleep(0.02) or 1.0, n_trials=1000, callbacks=[TimeBudget(0.15)])
    assert 2 <= len(s.trials) <= 12


@pytest.mark.parametrize(("make", "match"), [
    (lambda: StopAtValue(float("nan")), "'target' parameter of StopAtValue"),
    (lambda: StopOnPlateau(0), "'patience' parameter of StopOnPlateau"),
    (lambda: StopOnPlateau(3, min_delta=-1), "'min_delta' parameter of StopOnPlateau"),
    (lambda: TimeBudget(0), "'seconds' parameter of TimeBudget"),
])
def test_stop_rule_arguments(make: Any, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        make()


def test_callbacks_argument_and_a_failing_callback() -> None:
    with pytest.raises(InvalidParameterError, match=r"'callbacks' parameter of Study\.optimize"):
        study().optimize(bowl, n_trials=1, callbacks=[42])  # type: ignore[list-item]

    def broken(s: go.Study, t: Trial) -> None:
        raise RuntimeError("callback bug")

    s = study()
    with pytest.raises(RuntimeError, match="callback bug"):
        s.optimize(bowl, n_trials=5, callbacks=[broken])
    assert len(s.trials) == 1 and s.trials[0].state is go.TrialState.COMPLETE


def test_progress_bar_shows_the_best_feasible_value(capsys: pytest.CaptureFixture[str]) -> None:
    s = study()
    s.optimize(bowl, n_trials=5, show_progress=True)
    out = capsys.readouterr().out
    assert f"best feasible: {s.best_value:.6g}" in out and "5/5" in out
