"""guardopt.viz: every table hand-checked on a tiny study, every figure produced from a stored study."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

import guardopt as go
from guardopt.core.errors import UnsupportedError
from guardopt.core.trial import Trial
from guardopt.viz import (
    PLOTS,
    StudyData,
    constraints_table,
    contour_table,
    history_table,
    importance_table,
    parallel_coordinates_table,
    pareto_mask,
    pareto_table,
    plot_pareto_front,
    slice_table,
    write_study_plots,
)

SPACE = go.Space({"x": go.Real(0.0, 1.0), "kernel": go.Choice(["linear", "rbf"]),
                  "gamma": go.Real(1e-3, 1.0, log=True, when={"kernel": "rbf"})})


def _tiny() -> go.Study:
    """Five trials told by hand: values 3 (ok), 1 (violated), 2 (ok), failed, 1.5 (constraint missing)."""
    study = go.Study(SPACE, name="tiny", constraints={"c": ("<=", 2.0)})
    results = [{"value": 3.0, "c": 1.0}, {"value": 1.0, "c": 5.0}, {"value": 2.0, "c": 2.0},
               RuntimeError("diverged"), {"value": 1.5}]
    params = [{"x": 0.1, "kernel": "linear"}, {"x": 0.5, "kernel": "rbf", "gamma": 0.01},
              {"x": 0.9, "kernel": "rbf", "gamma": 0.1}, {"x": 0.3, "kernel": "linear"},
              {"x": 0.7, "kernel": "linear"}]
    for p, r in zip(params, results):
        study.enqueue(p)
        t = study.ask()
        study.tell(t, r)
    return study


def test_history_table_marks_feasibility_and_the_best_feasible_value_so_far():
    table = history_table(_tiny())
    assert table.column("state") == ["COMPLETE", "COMPLETE", "COMPLETE", "FAILED", "COMPLETE"]
    assert table.column("feasible") == [True, False, True, False, False]  # a missing value is a violation
    assert table.column("best_feasible") == [3.0, 3.0, 2.0, 2.0, 2.0]


def test_constraints_table_is_fail_closed():
    table = constraints_table(_tiny())
    assert table.column("value") == [1.0, 5.0, 2.0, None]
    assert table.column("satisfied") == [True, False, True, False]
    no_constraints = go.Study(SPACE)
    with pytest.raises(UnsupportedError, match="declares no outcome constraints"):
        constraints_table(no_constraints)


def test_slice_and_parallel_tables_leave_inactive_parameters_out():
    study = _tiny()
    rows = slice_table(study).as_dicts()
    assert len(rows) == 4 * 2 + 2  # x and kernel for 4 completed trials, gamma in 2 of them
    assert {r["number"] for r in rows if r["parameter"] == "gamma"} == {1, 2}
    par = parallel_coordinates_table(study)
    assert par.columns == ("number", "x", "kernel", "gamma", "value", "feasible")
    assert par.column("gamma") == [None, 0.01, 0.1, None]


def test_contour_table_needs_two_numeric_parameters():
    rows = contour_table(_tiny()).as_dicts()
    assert [(r["x"], r["gamma"]) for r in rows] == [(0.5, 0.01), (0.9, 0.1)]  # both active only
    with pytest.raises(go.InvalidParameterError, match="'x' parameter of contour_table"):
        contour_table(_tiny(), x="kernel")
    one = go.Study(go.Space({"x": go.Real(0, 1), "k": go.Choice(["a", "b"])}))
    with pytest.raises(UnsupportedError, match="two numeric parameters"):
        contour_table(one)


def test_table_renderings():
    table = history_table(_tiny())
    md = table.to_markdown()
    assert "| number | state | value | feasible | best_feasible |" in md and "| 3 | FAILED | — | no | 2 |" in md
    csv = table.to_csv().splitlines()
    assert csv[0] == "number,state,value,feasible,best_feasible" and csv[4] == "3,FAILED,,False,2.0"
    assert list(table.to_dataframe()["value"].isna()) == [False, False, False, True, False]


@dataclass(frozen=True)
class _MultiTrial(Trial):
    values: tuple[float, ...] = ()


def test_pareto_front_from_stored_multi_valued_results():
    # Both objectives minimized: (1,3), (2,2), (3,1) are non-dominated; (2,3) and (3,3) are dominated.
    points = [(1, 3), (2, 2), (3, 1), (2, 3), (3, 3)]
    assert pareto_mask(np.array(points, dtype=float), ["minimize", "minimize"]).tolist() == [
        True, True, True, False, False]
    # Minimizing the first and maximizing the second, (1, 3) dominates every other point.
    assert pareto_mask(np.array(points, dtype=float), ["minimize", "maximize"]).tolist() == [
        True, False, False, False, False]
    trials = [_MultiTrial(i, {"x": 0.1 * i, "kernel": "linear"}, state=go.TrialState.COMPLETE, value=float(a),
                          values=(float(a), float(b))) for i, (a, b) in enumerate(points)]
    data = StudyData("mo", "minimize", SPACE, {}, trials, [True] * 5, ("minimize", "minimize"))
    table = pareto_table(data)
    assert table.column("on_front") == [True, True, True, False, False]
    # An infeasible trial is never on the front; without (1, 3), (2, 3) is dominated by (2, 2).
    data = StudyData("mo", "minimize", SPACE, {}, trials, [False, True, True, True, True], ("minimize",) * 2)
    assert pareto_table(data).column("on_front") == [False, True, True, False, False]
    fig = plot_pareto_front(data)
    assert fig.axes[0].get_xlabel() == "objective_0"
    with pytest.raises(UnsupportedError, match="single objective"):
        pareto_table(_tiny())


def _log_rate_study() -> go.Study:
    # f = (x - 0.5)^2 + (log10 lr + 2)^2: over the space's own measure (lr log-uniform) the two terms
    # have variances 2.97 and 1.21 on these 100 random trials, shares 0.71 and 0.29; n does ~nothing.
    space = go.Space({"x": go.Real(-2, 2), "lr": go.Real(1e-4, 1e-1, log=True), "n": go.Integer(1, 8)})
    study = go.Study(space, optimizer=go.RandomSearch(seed=1))
    study.optimize(lambda p: (p["x"] - 0.5) ** 2 + (math.log10(p["lr"]) + 2) ** 2 + 0.05 * p["n"], n_trials=100)
    return study


@pytest.mark.parametrize("method", [pytest.param("fanova", marks=pytest.mark.slow), "permutation"])
def test_importance_matches_the_variance_shares_also_for_a_log_parameter(method):
    if method == "fanova":
        pytest.importorskip("optuna")
    table = importance_table(_log_rate_study(), method=method, seed=0)
    shares = dict(table.rows)
    assert table.column("parameter")[0] == "x"
    # Before log parameters were handed to fANOVA in log10 units it gave lr 0.015 here.
    assert 0.2 <= shares["lr"] <= 0.4 and 0.6 <= shares["x"] <= 0.8 and shares["n"] < 0.05
    assert sum(shares.values()) == pytest.approx(1.0)
    assert method.replace("permutation", "permutation importance") in table.note or "fANOVA" in table.note


def test_importance_refuses_too_few_trials_and_bad_options():
    study = go.Study(SPACE, optimizer=go.RandomSearch(seed=0))
    study.optimize(lambda p: p["x"], n_trials=3)
    with pytest.raises(UnsupportedError, match="at least 4 completed trials"):
        importance_table(study)
    with pytest.raises(go.InvalidParameterError, match="'method' parameter of importance_table"):
        importance_table(study, method="shap")  # type: ignore[arg-type]


def test_importance_leaves_out_non_finite_values_and_samples_long_studies():
    from dataclasses import replace

    data = StudyData.of(_log_rate_study())
    # Study.tell never stores a NaN or infinite value; another writer of the storage might.
    bad = [replace(t, value=v) if t.number in (0, 1) else t
           for t, v in zip(data.trials, [math.nan, math.inf] + [0.0] * (len(data.trials) - 2))]
    table = importance_table(replace(data, trials=bad), method="permutation", seed=0)
    assert "2 trial(s) with a non-finite value left out" in table.note
    assert table.column("parameter")[0] == "x"
    sampled = importance_table(data, method="permutation", seed=0, max_trials=40)
    assert "on a random sample of 40 of the 100 completed trials" in sampled.note
    assert sampled == importance_table(data, method="permutation", seed=0, max_trials=40)  # seeded
    with pytest.raises(go.InvalidParameterError, match="'max_trials' parameter of importance_table"):
        importance_table(data, max_trials=2)


def _stored(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = go.Study(SPACE, name="svc-like", constraints={"latency": ("<=", 0.8)},
                     optimizer=go.RandomSearch(seed=0), storage=url)

    def objective(p):
        if p["x"] > 0.95:
            raise RuntimeError("diverged")
        value = (p["x"] - 0.4) ** 2 + (0.2 if p["kernel"] == "linear" else 0.1 * math.log10(p["gamma"]) ** 2)
        return {"value": value, "latency": p["x"] + 0.1} if p["x"] < 0.85 else {"value": value}

    study.optimize(objective, n_trials=30, catch=(RuntimeError,))
    return url


def test_every_plot_is_written_from_a_stored_study(tmp_path):
    url = _stored(tmp_path)
    data = StudyData.load("svc-like", url)
    written = write_study_plots(data, tmp_path / "plots", dpi=40, importance="permutation")
    assert list(written) == list(PLOTS)
    assert "single objective" in str(written["pareto_front"])
    for name, path in written.items():
        if name == "pareto_front":
            continue
        head = path.read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n", name
        assert path.stat().st_size > 3_000, name  # a drawn figure, not an empty canvas
        csv = path.with_suffix(".csv").read_text()
        table = PLOTS[name][1](data, method="permutation") if name == "importance" else PLOTS[name][1](data)
        assert csv == table.to_csv(), name


def test_study_data_load_is_read_only_and_names_a_missing_study(tmp_path):
    url = _stored(tmp_path)
    before = [t.to_dict() for t in go.core.make_storage(url).trials("svc-like")]
    data = StudyData.load("svc-like", url)
    assert len(data.trials) == 30 and sum(data.feasible) > 0
    assert [t.to_dict() for t in go.core.make_storage(url).trials("svc-like")] == before
    with pytest.raises(go.InvalidParameterError, match=r"'name' parameter of StudyData\.load"):
        StudyData.load("nope", url)
    with pytest.raises(go.InvalidParameterError, match=r"'study' parameter of guardopt\.viz"):
        history_table(object())  # type: ignore[arg-type]
