"""`GPConfig.output_transform`: the Yeo-Johnson and the half-rank + log warps, their fallbacks, runs with them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import yeojohnson

import guardopt as go
from guardopt.bo.optimizer import GPConfig, GPOptimizer
from guardopt.bo.warping import half_rank_log_warp, half_rank_warp, log_warp
from guardopt.bo.warping import yeo_johnson as _yeo_johnson
from guardopt.core.errors import InvalidParameterError
from guardopt.testing.contracts import contract_settings, finite_floats


def test_transform_is_scipys_standardized_and_monotone() -> None:
    acc = np.array([0.99, 0.98, 0.985, 0.16, 0.97, 0.30, 0.975])
    loss = -acc
    z = (loss - loss.mean()) / loss.std()
    out = _yeo_johnson(z)
    ref, _ = yeojohnson(z)
    np.testing.assert_allclose(out, (ref - ref.mean()) / ref.std(), rtol=1e-10)
    assert np.array_equal(np.argsort(out), np.argsort(z))  # monotone: the best point stays the best
    # the long tail of collapsed models is compressed: the good points spread out relative to it
    good = np.abs(acc - 0.98) < 0.02
    assert np.ptp(out[good]) > 2 * np.ptp(z[good])


@pytest.mark.parametrize("y", [np.array([1.0, 2.0]), np.array([0.0, 0.0, 0.0]), np.array([0.0, np.inf, 1.0])])
def test_transform_falls_back_to_the_input(y: np.ndarray) -> None:
    assert _yeo_johnson(y) is y


def test_config_and_a_run() -> None:
    with pytest.raises(InvalidParameterError, match="'output_transform' parameter of GPOptimizer"):
        GPConfig(output_transform="log")
    space = go.Space({"x": go.Real(-2, 2)})
    study = go.Study(space, optimizer=GPOptimizer(seed=0, output_transform="yeo-johnson", n_candidates=256))
    study.optimize(lambda p: (p["x"] - 0.5) ** 2 if abs(p["x"]) < 1.5 else 50.0, n_trials=14)
    best = study.best()
    assert best is not None and abs(best.params["x"] - 0.5) < 0.05


# ---------------------------------------------------------------- half-rank + log warp (Vizier's)

PPF_01, PPF_03 = -1.2815515655446004, -0.5244005127080407  # Phi^-1(0.1), Phi^-1(0.3)


def test_half_rank_against_hand_computed_values() -> None:
    # labels 0..4 (losses 0..-4): median 2, good half {2, 3, 4}, spread sqrt((0 + 1 + 4) / 3);
    # two distinct values below the median and the median observed: denominator 2.5, so the worst
    # (rank 1) goes to quantile 0.5 * 0.5 / 2.5 = 0.1, the next (rank 2) to 0.5 * 1.5 / 2.5 = 0.3
    spread = math.sqrt(5.0 / 3.0)
    out = half_rank_warp(-np.arange(5.0))
    np.testing.assert_allclose(out, -np.array([2 + spread * PPF_01, 2 + spread * PPF_03, 2.0, 3.0, 4.0]),
                               rtol=1e-12)


def test_half_rank_pulls_a_collapse_in_to_the_good_half_scale() -> None:
    acc = np.array([0.99, 0.98, 0.985, 0.16, 0.97, 0.975, 0.1])
    out = -half_rank_warp(-acc)
    good = acc >= np.median(acc)
    np.testing.assert_array_equal(out[good], acc[good])  # the good half keeps its values
    spread = math.sqrt(float(np.mean((acc[good] - np.median(acc)) ** 2)))
    assert np.median(acc) - out.min() < 3 * spread  # 0.1 was 87 spreads below the median


def test_log_warp_against_hand_computed_values() -> None:
    # labels 0, 0.5, 1: t = 1, 0.5, 0 -> 1/2 - log(1 + t / 2) / log(1.5)
    out = -log_warp(-np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(out, [-0.5, 0.5 - math.log(1.25) / math.log(1.5), 0.5], rtol=1e-12)


@contract_settings()
@given(st.lists(finite_floats(-1e6, 1e6), min_size=3, max_size=30))
def test_half_rank_log_warp_is_finite_and_keeps_the_order(values: list[float]) -> None:
    y = np.array(values)
    out = half_rank_log_warp(y)
    assert out.shape == y.shape and np.isfinite(out).all()
    i, j = np.meshgrid(np.arange(y.size), np.arange(y.size))
    lower = y[i] < y[j]
    assert (out[i][lower] <= out[j][lower]).all()  # never reverses an order (the argmin is kept)
    assert (out[i][y[i] == y[j]] == out[j][y[i] == y[j]]).all()


@pytest.mark.parametrize("y", [np.array([1.0, 2.0]), np.array([0.0, 0.0, 0.0]), np.array([0.0, np.inf, 1.0])])
def test_half_rank_log_warp_falls_back_to_the_input(y: np.ndarray) -> None:
    assert half_rank_log_warp(y) is y


def test_half_rank_run() -> None:
    space = go.Space({"x": go.Real(-2, 2)})
    study = go.Study(space, optimizer=GPOptimizer(seed=0, output_transform="half-rank", n_candidates=256))
    study.optimize(lambda p: (p["x"] - 0.5) ** 2 if abs(p["x"]) < 1.5 else 50.0, n_trials=14)
    best = study.best()
    assert best is not None and abs(best.params["x"] - 0.5) < 0.05
