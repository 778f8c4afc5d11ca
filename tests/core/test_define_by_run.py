"""Suggest-style objectives: form detection, checks against a declared space, spaces defined as they go."""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import guardopt as go
from guardopt.core import InputDataError, InvalidParameterError, TrialState
from guardopt.core.define_by_run import RunningTrial, infer_space
from guardopt.core.study import TrialsFailedError

SPACE = go.Space({"x": go.Real(-5, 5), "n": go.Integer(1, 8), "k": go.Choice(["a", "b"])})


def suggest_objective(trial: Any) -> float:
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", 1, 8)
    k = trial.suggest_categorical("k", ["a", "b"])
    return (x - 1) ** 2 + n + (k == "b")


def dict_objective(params: Mapping[str, Any]) -> float:
    return (params["x"] - 1) ** 2 + params["n"] + (params["k"] == "b")


def test_both_forms_run_and_give_the_same_trials_on_a_declared_space() -> None:
    a = go.Study(SPACE, optimizer=go.RandomSearch(seed=3))
    b = go.Study(SPACE, optimizer=go.RandomSearch(seed=3))
    a.optimize(suggest_objective, n_trials=6)
    b.optimize(dict_objective, n_trials=6)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.value for t in a.trials] == [t.value for t in b.trials]
    assert all(t.state is TrialState.COMPLETE for t in a.trials)


def test_the_form_is_decided_by_behaviour_not_by_name_or_signature() -> None:
    # A dict-style objective whose parameter is called "trial", and a suggest-style one whose
    # parameter is called "params": each works as the form it takes.
    def named_trial(trial: Mapping[str, Any]) -> float:
        assert isinstance(trial, dict)
        return float(trial["x"])

    def named_params(params: Any) -> float:
        return float(params.suggest_float("x", -5, 5))

    for fn in (named_trial, named_params):
        s = go.Study(go.Space({"x": go.Real(-5, 5)}), optimizer=go.RandomSearch(seed=0))
        s.optimize(fn, n_trials=3)
        assert all(t.state is TrialState.COMPLETE for t in s.trials)


def test_suggest_calls_are_checked_against_the_declared_space() -> None:
    s = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    bad = {
        "range": lambda t: t.suggest_float("x", 0, 1),
        "log": lambda t: t.suggest_float("x", 1e-3, 5, log=True),
        "kind": lambda t: t.suggest_categorical("x", [1, 2]),
        "options": lambda t: t.suggest_categorical("k", ["a", "c"]),
        "unknown": lambda t: t.suggest_float("z", -5, 5),
    }
    for why, fn in bad.items():
        with pytest.raises(TrialsFailedError) as info:
            s.optimize(fn, n_trials=1, max_initial_failures=1)
        assert isinstance(info.value.__cause__, InputDataError), why
        name = "'z'" if why == "unknown" else "'k'" if why == "options" else "'x'"
        assert name in str(info.value.__cause__), why


def test_suggest_step_and_log_follow_optuna() -> None:
    def fn(trial: Any) -> float:
        a = trial.suggest_float("a", 0.0, 1.0, step=0.25)
        b = trial.suggest_int("b", 0, 10, step=5)
        c = trial.suggest_float("c", 1e-4, 1.0, log=True)
        assert a in (0.0, 0.25, 0.5, 0.75, 1.0) and b in (0, 5, 10) and 1e-4 <= c <= 1.0
        assert trial.suggest_float("a", 0.0, 1.0, step=0.25) == a  # asked twice: the same value
        return a + b + c

    s = go.Study(optimizer=go.RandomSearch(seed=0))
    s.optimize(fn, n_trials=10)
    assert all(t.state is TrialState.COMPLETE for t in s.trials)
    assert s.space is not None and s.space.params["c"] == go.Real(1e-4, 1.0, log=True)
    r = _running()
    with pytest.raises(InvalidParameterError, match="'step' parameter of suggest_float"):
        r.suggest_float("q", 1e-3, 1.0, step=0.1, log=True)
    with pytest.raises(InvalidParameterError, match="'step' parameter of suggest_int"):
        r.suggest_int("q", 1, 10, step=0)
    with pytest.raises(InvalidParameterError, match="'high' parameter of Real"):
        r.suggest_float("q", 1.0, 0.0)
    with pytest.raises(InvalidParameterError, match="'name' parameter of suggest_categorical"):
        r.suggest_categorical("", ["a"])


def _running(**kw: Any) -> RunningTrial:
    s = go.Study(**kw)
    t = s.ask()
    return s._running(t)


def test_without_a_space_the_suggest_calls_define_it_with_conditions() -> None:
    def svc_like(trial: Any) -> float:
        kernel = trial.suggest_categorical("kernel", ["linear", "rbf", "poly"])
        c = trial.suggest_float("C", 1e-3, 1e3, log=True)
        v = math.log10(c) ** 2
        if kernel in ("rbf", "poly"):
            v += (math.log10(trial.suggest_float("gamma", 1e-4, 1.0, log=True)) + 2) ** 2
        if kernel == "poly":
            v += trial.suggest_int("degree", 2, 5)
        return v

    s = go.Study(optimizer=go.RandomSearch(seed=1))
    assert s.space is None
    s.optimize(svc_like, n_trials=30)
    space = s.space
    assert space is not None and space.names == ["kernel", "C", "gamma", "degree"]
    assert space.params["gamma"].conditions == {"kernel": ("rbf", "poly")}
    assert space.params["degree"].conditions == {"kernel": ("poly",)}
    for t in s.trials:  # a parameter not suggested in a trial is absent from it
        assert ("gamma" in t.params) == (t.params["kernel"] != "linear")
        assert ("degree" in t.params) == (t.params["kernel"] == "poly")
        space.validate(t.params)


def test_a_model_based_optimizer_learns_on_the_space_seen_so_far() -> None:
    from guardopt.bo import GPOptimizer

    def fn(trial: Any) -> float:
        x = trial.suggest_float("x", -3, 3)
        if trial.suggest_categorical("shift", [False, True]):
            return (x - trial.suggest_float("s", 0, 2)) ** 2
        return (x - 1) ** 2

    s = go.Study(optimizer=GPOptimizer(seed=0))
    s.optimize(fn, n_trials=14)
    assert isinstance(s.optimizer, GPOptimizer)
    assert s.space is not None and s.space.params["s"].conditions == {"shift": (True,)}
    assert s.best_value < 0.05  # the GP, not random points only, after its initial design


def test_infer_space_leaves_out_a_parameter_no_parent_explains() -> None:
    real = go.Real(0, 1)
    trials = [go.Trial(0, {"a": "x", "u": 0.5}, TrialState.COMPLETE, 1.0),
              go.Trial(1, {"a": "x"}, TrialState.COMPLETE, 1.0),
              go.Trial(2, {"a": "y", "u": 0.1}, TrialState.COMPLETE, 1.0)]
    space, left_out = infer_space({"a": go.Choice(["x", "y"]), "u": real}, trials)
    assert space is not None and space.names == ["a"] and left_out == ["u"]
    assert infer_space({}, []) == (None, [])


def test_define_by_run_study_resumes_from_sqlite_and_checks_domains(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    s = go.Study(name="dbr", storage=url, optimizer=go.RandomSearch(seed=0))
    s.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 0, 3), n_trials=4)
    again = go.Study.load("dbr", url, optimizer=go.RandomSearch(seed=0))
    assert again.space == s.space and len(again.trials) == 4
    again.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 0, 3), n_trials=2)
    assert len(again.trials) == 6
    with pytest.raises(TrialsFailedError) as info:
        again.optimize(lambda t: t.suggest_float("x", 0, 2), n_trials=1, max_initial_failures=1)
    assert "must match the study's Real(low=0" in str(info.value.__cause__)
    with pytest.raises(InvalidParameterError, match="'space' parameter of Study"):
        go.Study(go.Space({"x": go.Real(0, 1)}), name="dbr", storage=url)


def test_parallel_define_by_run_in_threads_and_processes(tmp_path: Path) -> None:
    for executor, storage in (("thread", None), (None, f"sqlite:///{tmp_path / 'p.db'}"), (None, None)):
        s = go.Study(storage=storage, optimizer=go.RandomSearch(seed=0))
        s.optimize(suggest_objective, n_trials=6, n_jobs=2, executor=executor)
        assert [t.number for t in s.trials] == list(range(6))
        assert all(t.state is TrialState.COMPLETE for t in s.trials)
        assert all(t.value == pytest.approx(dict_objective(t.params)) for t in s.trials)


def test_user_attrs_and_the_running_trial_api() -> None:
    def fn(trial: Any) -> float:
        trial.set_user_attr("note", {"epochs": 3})
        x = trial.suggest_float("x", 0, 1)
        assert trial.params == {"x": x} and trial.number >= 0 and trial.user_attrs == {"note": {"epochs": 3}}
        assert trial.distributions == {"x": go.Real(0, 1)}
        return x

    s = go.Study(optimizer=go.RandomSearch(seed=0))
    s.optimize(fn, n_trials=2)
    assert s.trials[0].user_attrs == {"note": {"epochs": 3}}
    r = _running()
    with pytest.raises(InvalidParameterError, match="'value' parameter of set_user_attr"):
        r.set_user_attr("f", object())
    assert pickle.loads(pickle.dumps(r)).number == r.number


def test_a_dict_objective_on_a_study_without_a_space_says_why_it_fails() -> None:
    with pytest.raises(TrialsFailedError, match="the study declares no space"):
        go.Study().optimize(dict_objective, n_trials=5)
