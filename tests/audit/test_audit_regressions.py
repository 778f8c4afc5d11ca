"""Regression tests of defects found by auditing guardopt.audit as a new user would use it."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import guardopt.audit.feasibility as feasibility
from guardopt.audit import (
    LevelSet,
    MetricSuite,
    MultiplicityConfig,
    SamplingConfig,
    accuracy,
    ambiguity,
    calibration_error_rate_gap,
    discrepancy_bound,
    equalized_odds_difference,
    sampled_ranges,
    viable_prediction_ranges,
)
from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.audit_tasks import multiplicity_synthetic

# Group 1 has no negatives: its false-positive rate is undefined.
Y = np.array([1, 0, 1, 1, 1, 1])
PRED = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
GROUP = np.array([0, 0, 0, 1, 1, 1])


def test_equalized_odds_is_nan_when_one_rate_is_undefined() -> None:
    # Before: max(TPR gap, NaN) returned the TPR gap (Python's max drops a NaN in second place).
    assert math.isnan(equalized_odds_difference(Y, PRED, GROUP))
    report = MetricSuite({"equalized_odds": 0.9}).evaluate(Y, PRED, GROUP)
    assert not report and report.violations["equalized_odds"] == math.inf


def test_thresholds_with_an_unhashable_name_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="'thresholds'"):
        MetricSuite(((["demographic_parity"], 0.1),))


def test_weights_whose_sum_overflows_are_refused() -> None:
    with pytest.raises(InputDataError, match="'sample_weight'"):
        accuracy(Y, PRED, sample_weight=np.full(6, 1e308))
    with pytest.raises(InputDataError, match="'sample_weight'"):
        MetricSuite().evaluate(Y, PRED, GROUP, sample_weight=np.full(6, 1e308))


def test_calibration_gap_feasible_checks_tau() -> None:
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 20)
    g = np.repeat([0, 1], 20)
    res = calibration_error_rate_gap(rng.uniform(size=40), y, g)
    for bad in ("0.05", math.nan, -0.1, None):
        with pytest.raises(InvalidParameterError, match="'tau'"):
            res.feasible(bad)  # type: ignore[arg-type]


def test_pareto_sweep_fails_closed_on_an_inaccurate_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    real = feasibility.solve

    def inaccurate(problem, solvers):  # type: ignore[no-untyped-def]
        return replace(real(problem, solvers), status="optimal_inaccurate", accurate=False)

    monkeypatch.setattr(feasibility, "solve", inaccurate)
    rng = np.random.default_rng(1)
    y = np.tile([0, 1], 30)
    g = np.repeat([0, 1], 30)
    curves = MetricSuite({"demographic_parity": 0.05}).pareto_sweep(rng.uniform(size=60), y, g, taus=(0.1,))
    assert math.isnan(curves["demographic_parity"][0][1])


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, LevelSet]:
    d = multiplicity_synthetic(n=40, d=3, seed=0)
    return d.X, d.y, LevelSet(d.X, d.y)


def test_a_level_set_of_other_data_is_refused(data) -> None:
    X, y, ls = data
    # Before: only the shape was compared, so ranges of another data set came back silently.
    with pytest.raises(InvalidParameterError, match="'level_set'"):
        viable_prediction_ranges(X + 1.0, y, X[:2], level_set=ls)
    with pytest.raises(InvalidParameterError, match="'level_set'"):
        viable_prediction_ranges(X, 1 - y, X[:2], level_set=ls)
    # Before: sampled_ranges did not check its level set at all (here another C).
    with pytest.raises(InvalidParameterError, match="'level_set'"):
        sampled_ranges(X, y, X[:2], SamplingConfig(n_models=2, C=10.0), seed=0, level_set=ls)
    with pytest.raises(InvalidParameterError, match="'level_set'"):
        sampled_ranges(X, y, X[:2], SamplingConfig(n_models=2), seed=0, level_set="ls")


def test_wrong_objects_are_the_libraries_error(data) -> None:
    X, y, ls = data
    with pytest.raises(InvalidParameterError, match="'config'"):
        viable_prediction_ranges(X, y, X[:2], SamplingConfig(), level_set=ls)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'config'"):
        sampled_ranges(X, y, X[:2], MultiplicityConfig())  # type: ignore[arg-type]
    s = sampled_ranges(X, y, X[:2], SamplingConfig(n_models=2), seed=0, level_set=ls)
    with pytest.raises(InvalidParameterError, match="'ranges'"):
        ambiguity(s)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'ranges'"):
        discrepancy_bound(None, X[:2])  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'epsilon'"):
        ls.bound(math.nan)
    with pytest.raises(InputDataError, match="'direction'"):
        ls.extreme(np.zeros(X.shape[1] + 2), ls.bound(0.01))
