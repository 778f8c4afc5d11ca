"""Multi-objective studies: ask/tell with a vector of values, storage round trips, the fail-closed front."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import guardopt as go
from guardopt.core.errors import InputDataError, InvalidParameterError, UnsupportedError
from guardopt.core.problem import ProblemSpec
from guardopt.core.storage import SCHEMA_VERSION, InMemoryStorage, SQLiteStorage
from guardopt.core.trial import Trial, TrialState
from guardopt.testing.contracts import adversarial_floats, contract_settings

SPACE = go.Space({"x": go.Real(0.0, 1.0)})


def _study(**kw: object) -> go.Study:
    kw.setdefault("directions", ["minimize", "maximize"])
    kw.setdefault("optimizer", go.RandomSearch(seed=0))
    return go.Study(SPACE, **kw)  # type: ignore[arg-type]


def _tell_at(study: go.Study, x: float, result: object) -> Trial:
    study.enqueue({"x": x})
    return study.tell(study.ask(), result)


# ------------------------------------------------------------------- ask / tell


def test_tell_accepts_sequences_arrays_and_mappings() -> None:
    s = _study()
    assert _tell_at(s, 0.1, [1.0, 2.0]).values == (1.0, 2.0)
    assert _tell_at(s, 0.2, (3, 4)).values == (3.0, 4.0)
    assert _tell_at(s, 0.3, np.array([5.0, 6.0])).values == (5.0, 6.0)
    assert _tell_at(s, 0.4, {"values": [7.0, 8.0]}).values == (7.0, 8.0)
    assert _tell_at(s, 0.5, go.Observation([9.0, 10.0])).values == (9.0, 10.0)
    t = s.trials[0]
    assert t.state is TrialState.COMPLETE and t.value is None
    assert s.directions == ["minimize", "maximize"] and s.is_multi_objective


def test_wrong_number_of_values_is_an_input_error_and_the_trial_fails() -> None:
    s = _study()
    with pytest.raises(InputDataError, match="2 objective values"):
        _tell_at(s, 0.1, [1.0])
    with pytest.raises(InputDataError, match="2 objective values"):
        _tell_at(s, 0.2, 1.0)
    assert [t.state for t in s.trials] == [TrialState.FAILED, TrialState.FAILED]
    # One NaN for the whole vector: the objective failed (as in a single-objective study), no error.
    t = _tell_at(s, 0.3, math.nan)
    assert t.state is TrialState.FAILED and "not a finite number" in (t.failure_reason or "")


def test_non_finite_values_fail_the_trial() -> None:
    s = _study()
    for bad in ([math.nan, 1.0], [1.0, math.inf], [1.0, None], [1.0, "2"]):
        t = _tell_at(s, 0.5, bad)
        assert t.state is TrialState.FAILED and "not all finite" in (t.failure_reason or "")
        assert t.values is None


def test_single_objective_study_fails_a_vector() -> None:
    s = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    t = s.tell(s.ask(), [1.0, 2.0])
    assert t.state is TrialState.FAILED and "directions=[...]" in (t.failure_reason or "")


def test_direction_and_directions_validation() -> None:
    with pytest.raises(InvalidParameterError, match="directions"):
        go.Study(SPACE, direction="minimize", directions=["minimize", "maximize"])
    with pytest.raises(InvalidParameterError, match="directions"):
        go.Study(SPACE, directions=["minimize", "up"])  # type: ignore[list-item]
    with pytest.raises(InvalidParameterError, match="directions"):
        go.Study(SPACE, directions="minimize")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="directions"):
        go.Study(SPACE, directions=[])
    one = go.Study(SPACE, directions=["maximize"])  # one entry: a single-objective study
    assert one.direction == "maximize" and not one.is_multi_objective
    assert go.Study(SPACE, direction="maximize").directions == ["maximize"]


def test_best_and_direction_raise_on_a_multi_objective_study() -> None:
    s = _study()
    _tell_at(s, 0.1, [1.0, 2.0])
    for attr in ("best_trial", "best_value", "best_params", "direction"):
        with pytest.raises(UnsupportedError, match=r"pareto_front|directions"):
            getattr(s, attr)
    with pytest.raises(UnsupportedError, match="pareto_front"):
        s.best()
    assert "directions=['minimize', 'maximize']" in repr(s)


def test_problem_spec_losses_and_loss() -> None:
    spec = ProblemSpec(SPACE, directions=("minimize", "maximize"))
    t = Trial(0, {"x": 0.5}, TrialState.COMPLETE, values=(1.0, 2.0))
    assert spec.losses(t).tolist() == [1.0, -2.0] and spec.n_objectives == 2
    assert np.isnan(spec.losses(Trial(1, {"x": 0.5}, TrialState.FAILED))).all()
    with pytest.raises(UnsupportedError, match="losses"):
        spec.loss(t)
    assert ProblemSpec.from_dict(spec.to_dict()) == spec
    assert "directions" not in ProblemSpec(SPACE).to_dict()  # old single-objective records unchanged


def test_optimize_with_both_objective_styles_and_dataframe() -> None:
    s = _study()
    s.optimize(lambda p: [p["x"], p["x"] ** 2], n_trials=5)

    def suggest_style(trial: go.RunningTrial) -> list[float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        return [x, 1.0 - x]

    s2 = go.Study(directions=["minimize", "minimize"], optimizer=go.RandomSearch(seed=1))
    s2.optimize(suggest_style, n_trials=5)
    assert all(t.state is TrialState.COMPLETE for t in s.trials + s2.trials)
    df = s.to_dataframe()
    assert list(df["values_0"]) == [t.values[0] for t in s.trials]  # type: ignore[index]
    assert len(s2.pareto_front()) == 5  # x and 1 - x trade off exactly: nothing dominates


# ------------------------------------------------------------------- the fail-closed front


def test_pareto_front_by_hand_with_constraints_and_nans() -> None:
    s = _study(directions=["minimize", "minimize"], constraints={"c": ("<=", 0.0)})
    a = _tell_at(s, 0.1, {"values": [1.0, 3.0], "c": -1.0})  # on the front
    _tell_at(s, 0.2, {"values": [2.0, 2.0], "c": -1.0})  # dominated by c
    c = _tell_at(s, 0.3, {"values": [2.0, 1.0], "c": 0.0})  # on the front (c = 0 is feasible)
    _tell_at(s, 0.4, {"values": [0.0, 0.0], "c": 1.0})  # would dominate all: infeasible
    _tell_at(s, 0.5, {"values": [0.0, 0.0]})  # missing constraint value: a violation
    _tell_at(s, 0.6, {"values": [0.0, math.nan], "c": -1.0})  # FAILED
    _tell_at(s, 0.7, {"values": [-1.0, -1.0], "c": math.nan})  # FAILED
    _tell_at(s, 0.8, RuntimeError("boom"))
    front = s.pareto_front()
    assert [t.number for t in front] == [a.number, c.number]
    assert s.best_trials == front


def test_pareto_front_mixed_directions_and_empty() -> None:
    s = _study()
    assert s.pareto_front() == []
    _tell_at(s, 0.1, [1.0, 5.0])
    _tell_at(s, 0.2, [2.0, 4.0])  # worse in both (minimize, maximize)
    _tell_at(s, 0.3, [3.0, 6.0])
    assert [t.values for t in s.pareto_front()] == [(1.0, 5.0), (3.0, 6.0)]


def test_guarded_front_without_a_model_equals_the_measured_one() -> None:
    s = _study(constraints={"c": ("<=", 0.0)})
    s.optimize(lambda p: {"values": [p["x"], p["x"] ** 2], "c": p["x"] - 0.5}, n_trials=12)
    assert s.pareto_front("pessimistic") == s.pareto_front() == s.pareto_front("optimistic")
    with pytest.raises(InvalidParameterError, match="guard"):
        s.pareto_front("careful")  # type: ignore[arg-type]


@contract_settings(scale=0.6)
@given(st.lists(st.tuples(st.lists(adversarial_floats(), min_size=2, max_size=2),
                          st.one_of(st.none(), adversarial_floats())), min_size=1, max_size=6))
def test_front_never_holds_a_trial_with_non_finite_data_or_a_violation(rows: list) -> None:
    s = _study(directions=["minimize", "minimize"], constraints={"c": ("<=", 0.0)})
    for values, c in rows:
        result = {"values": values} if c is None else {"values": values, "c": c}
        _tell_at(s, 0.5, result)
    for t in s.pareto_front():
        assert t.state is TrialState.COMPLETE and t.values is not None
        assert all(math.isfinite(v) for v in t.values)
        assert t.constraints.get("c") is not None and t.constraints["c"] <= 0.0


# ------------------------------------------------------------------- storages


def _round_trip(storage: object) -> None:
    s = go.Study(SPACE, name="mo", directions=["minimize", "maximize"], constraints={"c": ("<=", 1.0)},
                 optimizer=go.RandomSearch(seed=0), storage=storage)  # type: ignore[arg-type]
    s.optimize(lambda p: {"values": [p["x"], 2 * p["x"]], "c": 0.0}, n_trials=4)
    loaded = go.Study.load("mo", storage)  # type: ignore[arg-type]
    assert loaded.directions == ["minimize", "maximize"]
    assert [t.values for t in loaded.trials] == [t.values for t in s.trials]
    assert all(t.values is not None and len(t.values) == 2 for t in loaded.trials)
    assert [t.number for t in loaded.pareto_front()] == [t.number for t in s.pareto_front()]
    with pytest.raises(InvalidParameterError, match="directions"):
        go.Study(SPACE, name="mo", directions=["minimize", "minimize"], constraints={"c": ("<=", 1.0)},
                 storage=storage)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="direction"):
        go.Study(SPACE, name="mo", constraints={"c": ("<=", 1.0)}, storage=storage)  # type: ignore[arg-type]


def test_round_trip_in_memory() -> None:
    _round_trip(InMemoryStorage())


def test_round_trip_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'mo.db'}")


def test_round_trip_postgresql(pg_url: str) -> None:
    _round_trip(pg_url)


def test_sqlite_schema_2_file_is_upgraded_and_stays_readable(tmp_path: Path) -> None:
    # A file exactly as schema 2 wrote it: four tables, version 2, one single-objective trial.
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("CREATE TABLE studies (name TEXT PRIMARY KEY, spec TEXT NOT NULL)")
        conn.execute("CREATE TABLE trials (study TEXT NOT NULL, number INTEGER NOT NULL, state TEXT NOT NULL, "
                     "data TEXT NOT NULL, PRIMARY KEY (study, number))")
        conn.execute("CREATE TABLE intermediate (study TEXT NOT NULL, number INTEGER NOT NULL, "
                     "step INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (study, number, step))")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        conn.execute("INSERT INTO studies VALUES ('old', ?)", (
            '{"space": {"x": {"type": "real", "low": 0, "high": 1, "log": false}}, "direction": "minimize", '
            '"constraints": {}}',))
        conn.execute("INSERT INTO trials VALUES ('old', 0, 'COMPLETE', ?)", (
            '{"number": 0, "params": {"x": 0.5}, "state": "COMPLETE", "value": 0.25, "constraints": {}, '
            '"failure_reason": null, "datetime_start": null, "datetime_complete": null, "user_attrs": {}, '
            '"context": null, "intermediate_values": {}}',))
    old = go.Study.load("old", f"sqlite:///{path}")
    (t,) = old.trials
    assert t.value == 0.25 and t.values is None and old.best_value == 0.25 and old.direction == "minimize"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert SCHEMA_VERSION == 3
    # The upgraded file takes a multi-objective study next to the old one.
    mo = go.Study(SPACE, name="new", directions=["minimize", "minimize"], storage=SQLiteStorage(path))
    mo.optimize(lambda p: [p["x"], 1 - p["x"]], n_trials=2)
    assert len(go.Study.load("new", f"sqlite:///{path}").pareto_front()) == 2
    old.optimize(lambda p: p["x"] ** 2, n_trials=1)
    assert [t.values for t in go.Study.load("old", f"sqlite:///{path}").trials] == [None, None]


def test_trial_dict_round_trip_keeps_old_form() -> None:
    t = Trial(0, {"x": 0.1}, TrialState.COMPLETE, value=1.0)
    assert "values" not in t.to_dict() and Trial.from_dict(t.to_dict()) == t
    m = Trial(1, {"x": 0.1}, TrialState.COMPLETE, values=(1.0, -2.0))
    assert m.to_dict()["values"] == [1.0, -2.0] and Trial.from_dict(m.to_dict()) == m


# ------------------------------------------------------------------- plots and the CLI


def test_plots_and_cli_show_the_front(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guardopt.cli.main import main
    from guardopt.viz import write_study_plots

    url = f"sqlite:///{tmp_path / 'mo.db'}"
    s = go.Study(SPACE, name="mo", directions=["minimize", "maximize"], constraints={"c": ("<=", 0.5)},
                 optimizer=go.RandomSearch(seed=0), storage=url)
    for x, values, c in [(0.1, [1.0, 5.0], 0.0), (0.2, [2.0, 4.0], 0.0), (0.3, [3.0, 6.0], 0.0),
                         (0.4, [0.0, 9.0], 1.0)]:
        _tell_at(s, x, {"values": values, "c": c})
    written = write_study_plots(s, tmp_path / "plots")
    assert isinstance(written["pareto_front"], Path) and written["pareto_front"].exists()
    assert "one objective" in str(written["history"])  # single-objective plots say why they are skipped
    assert main(["study", "show", "mo", "--storage", url]) == 0
    text = capsys.readouterr().out
    assert "Pareto front (minimize, maximize): 2 trials" in text
    assert "#0: values (1, 5)" in text and "#2: values (3, 6)" in text and "#3:" not in text
