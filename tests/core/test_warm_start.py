"""Warm starts: enqueue (asked next), add_trial (a finished trial from elsewhere), CSV / DataFrame import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import guardopt as go
from guardopt.core import InputDataError, InvalidParameterError, TrialState

SPACE = go.Space({"x": go.Real(-5, 5), "n": go.Integer(1, 8), "k": go.Choice(["a", "b"])})


def value(p: Any) -> float:
    return float((p["x"] - 1) ** 2 + p["n"] + (p["k"] == "b"))


def study(**kw: Any) -> go.Study:
    return go.Study(SPACE, optimizer=go.RandomSearch(seed=0), **kw)


def test_enqueued_params_are_asked_next_in_order_also_partial_ones() -> None:
    s = study()
    s.enqueue({"x": 1.0, "n": 1, "k": "a"})
    s.enqueue({"x": 2.0})  # partial: n and k come from the optimizer
    s.optimize(value, n_trials=4)
    t0, t1, *_ = s.trials
    assert t0.params == {"x": 1.0, "n": 1, "k": "a"} and t0.value == 1.0
    assert t1.params["x"] == 2.0 and set(t1.params) == {"x", "n", "k"}
    assert s.best_value == 1.0
    with pytest.raises(InputDataError, match="'x' must lie in"):
        s.enqueue({"x": 9.0})
    with pytest.raises(InputDataError, match="names 'z', which is not in the study's space"):
        s.enqueue({"z": 1.0})


def test_enqueue_reaches_suggest_calls_and_batches() -> None:
    s = go.Study(optimizer=go.RandomSearch(seed=0))
    s.enqueue_trial({"lr": 0.01})  # Optuna's name
    s.optimize(lambda t: t.suggest_float("lr", 1e-4, 1.0, log=True), n_trials=2)
    assert s.trials[0].params == {"lr": 0.01}
    p = study()
    for x in (0.0, 0.5, 1.0):
        p.enqueue({"x": x, "n": 2, "k": "a"})
    batch = p.ask_batch(4)
    assert [t.params.get("x") for t in batch[:3]] == [0.0, 0.5, 1.0]


def test_add_trial_records_a_finished_trial_and_tells_the_optimizer() -> None:
    from guardopt.bo import GPOptimizer

    s = go.Study(SPACE, constraints={"c": ("<=", 0.0)}, optimizer=GPOptimizer(seed=0))
    t = s.add_trial({"x": 1.0, "n": 1, "k": "a"}, {"value": 1.0, "c": -1.0}, user_attrs={"from": "paper"})
    assert t.state is TrialState.COMPLETE and t.value == 1.0 and t.user_attrs == {"from": "paper"}
    assert s.best_trial == t and s.optimizer._told == 1  # type: ignore[attr-defined]
    f = s.add_trial({"x": 0.0, "n": 2, "k": "b"}, RuntimeError("diverged"))
    assert f.state is TrialState.FAILED and "diverged" in (f.failure_reason or "")
    pr = s.add_trial({"x": 0.0, "n": 2, "k": "b"}, state="PRUNED", intermediate_values={1: 3.0, 2: 2.5})
    assert pr.state is TrialState.PRUNED and s.trials[2].intermediate_values == {1: 3.0, 2: 2.5}
    with pytest.raises(InputDataError, match="'x' must lie in"):
        s.add_trial({"x": 7.0, "n": 1, "k": "a"}, 1.0)
    with pytest.raises(InputDataError, match="exactly the names"):
        s.add_trial({"x": 1.0}, 1.0)
    with pytest.raises(InvalidParameterError, match=r"'state' parameter of Study\.add_trial"):
        s.add_trial({"x": 1.0, "n": 1, "k": "a"}, 1.0, state="DONE")  # type: ignore[arg-type]
    assert len(s.trials) == 3


def test_add_trial_to_a_study_whose_objective_defines_its_space() -> None:
    s = go.Study(optimizer=go.RandomSearch(seed=0))
    with pytest.raises(InvalidParameterError, match=r"'distributions' parameter of Study\.add_trial"):
        s.add_trial({"lr": 0.1}, 0.5)
    s.add_trial({"lr": 0.1}, 0.5, distributions={"lr": go.Real(1e-4, 1.0, log=True)})
    assert s.space == go.Space({"lr": go.Real(1e-4, 1.0, log=True)})
    s.optimize(lambda t: t.suggest_float("lr", 1e-4, 1.0, log=True), n_trials=2)
    assert len(s.trials) == 3 and s.best_value <= 0.5


def test_import_from_a_dataframe_and_a_csv_written_by_to_dataframe(tmp_path: Path) -> None:
    src = study(constraints={"c": ("<=", 3.0)})
    src.optimize(lambda p: {"value": value(p), "c": p["n"]}, n_trials=6)
    src.tell(src.ask(), ValueError("boom"))
    df = src.trials_dataframe()
    csv = tmp_path / "trials.csv"
    df.to_csv(csv, index=False)
    for source in (df, csv, str(csv)):
        dst = study(constraints={"c": ("<=", 3.0)})
        added = dst.add_trials_from(source)
        assert [t.state for t in added] == [t.state for t in src.trials]
        assert [t.params for t in added] == [t.params for t in src.trials]
        assert all(type(t.params["n"]) is int for t in added)
        assert [t.value for t in added] == pytest.approx([t.value for t in src.trials], nan_ok=True)
        assert dst.best_params == src.best_params


def test_import_from_an_optuna_style_table_with_its_own_column_names() -> None:
    df = pd.DataFrame({"number": [0, 1, 2, 3], "value": [0.5, None, 0.2, 0.1],
                       "params_lr": [0.1, 0.2, 0.05, None], "params_layers": [2.0, 3.0, 1.0, 2.0],
                       "state": ["COMPLETE", "FAIL", "PRUNED", "RUNNING"]})
    s = go.Study(optimizer=go.RandomSearch(seed=0))
    added = s.add_trials_from(df, distributions={"lr": go.Real(1e-3, 1.0, log=True), "layers": go.Integer(1, 4)})
    assert [t.state for t in added] == [TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED]
    assert added[0].params == {"lr": 0.1, "layers": 2}
    with pytest.raises(InputDataError, match="no parameter columns"):
        s.add_trials_from(pd.DataFrame({"value": [1.0]}))
    with pytest.raises(InputDataError, match="not in the study's space"):
        study().add_trials_from(pd.DataFrame({"value": [1.0], "params_z": [1.0]}))
    with pytest.raises(InvalidParameterError, match=r"'source' parameter of Study\.add_trials_from"):
        s.add_trials_from("missing.csv")
