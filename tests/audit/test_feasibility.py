"""The two linear programs: thresholds met, brute force on two bins, the calibration line, controls."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.audit import (
    PostProcessConfig,
    accuracy,
    calibration_error_rate_gap,
    demographic_parity_difference,
    equalized_odds_difference,
    fair_postprocess,
)
from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.audit_tasks import two_group_base_rates


@pytest.fixture(scope="module")
def scored():
    d = two_group_base_rates(3000, seed=0)
    s = 1 / (1 + np.exp(-(d.X.sum(axis=1) / np.sqrt(3) + np.log(np.where(d.group == 1, 0.5 / 0.5, 0.3 / 0.7)))))
    return s, d.y.astype(int), d.group


def test_thresholds_are_met_on_the_data_and_cost_accuracy(scored):
    s, y, g = scored
    free = fair_postprocess(s, y, g)
    joint = fair_postprocess(s, y, g, PostProcessConfig.of(demographic_parity=0.05, equalized_odds=0.05))
    assert free.feasible and joint.feasible
    p = joint.predict(s, g)
    assert demographic_parity_difference(y, p, g) <= 0.05 + 1e-6
    assert equalized_odds_difference(y, p, g) <= 0.05 + 1e-6
    assert accuracy(y, p) == pytest.approx(joint.accuracy, abs=1e-9)
    assert joint.accuracy <= free.accuracy + 1e-9
    dp = fair_postprocess(s, y, g, PostProcessConfig.of(demographic_parity=0.05))
    assert joint.accuracy <= dp.accuracy + 1e-7  # more constraints never help


def test_linear_program_matches_brute_force_on_two_bins():
    rng = np.random.default_rng(1)
    n = 200
    g = rng.integers(0, 2, n)
    y = (rng.random(n) < np.where(g == 1, 0.35, 0.6)).astype(int)
    s = np.clip(0.3 * y + 0.5 * rng.random(n), 0, 1)
    cfg = PostProcessConfig.of(bins=2, demographic_parity=0.1)
    res = fair_postprocess(s, y, g, cfg)
    # Brute force, vectorised: every acceptance table on a 0.05 grid, rates from the cell counts.
    b = np.minimum((s * 2).astype(int), 1)
    n_gk = np.array([[np.sum((g == k) & (b == j)) for j in (0, 1)] for k in (0, 1)], dtype=float)
    p_gk = np.array([[np.sum((g == k) & (b == j) & (y == 1)) for j in (0, 1)] for k in (0, 1)], dtype=float)
    grid = np.linspace(0, 1, 21)
    a = np.stack(np.meshgrid(grid, grid, grid, grid, indexing="ij"), axis=-1).reshape(-1, 2, 2)
    sel = (a * n_gk).sum(axis=2) / n_gk.sum(axis=1)
    acc = ((a * p_gk).sum(axis=(1, 2)) + ((1 - a) * (n_gk - p_gk)).sum(axis=(1, 2))) / n
    best = float(acc[np.abs(sel[:, 1] - sel[:, 0]) <= 0.1].max())
    assert res.accuracy >= best - 1e-6  # the LP is at least as good as every grid point ...
    assert res.accuracy <= best + 0.03  # ... and the grid (step 0.05) gets close to it


def test_calibrated_scorers_lie_on_the_line_and_cannot_equalise_rates(scored):
    s, y, g = scored
    r = calibration_error_rate_gap(s, y, g, 0.0)
    mu = r.base_rates
    # Exact calibration: gFPR_g (1 - mu_g) = mu_g gFNR_g (Pleiss et al., 2017).
    np.testing.assert_allclose(r.gfpr * (1 - mu), mu * r.gfnr, atol=1e-6)
    assert r.gap > 0.05 and not r.feasible(0.05)
    assert np.all(r.calibration_error <= 1e-6)
    relaxed = calibration_error_rate_gap(s, y, g, 0.05)
    assert relaxed.gap < r.gap
    assert calibration_error_rate_gap(s, y, g, 1.0).gap == pytest.approx(0.0, abs=1e-6)  # no calibration: trivial


def test_equal_base_rates_make_it_feasible():
    d = two_group_base_rates(3000, base_rates=(0.4, 0.4), seed=2)
    s = 1 / (1 + np.exp(-(d.X.sum(axis=1) / np.sqrt(3) + np.log(0.4 / 0.6))))
    assert calibration_error_rate_gap(s, d.y, d.group, 0.0).feasible(0.05)


def test_bad_inputs():
    with pytest.raises(InvalidParameterError, match="'thresholds'"):
        PostProcessConfig.of(calibration=0.1)
    with pytest.raises(InvalidParameterError, match="'bins'"):
        PostProcessConfig(bins=0)
    with pytest.raises(InputDataError, match="'y'"):
        fair_postprocess([0.1, 0.9, 0.5, 0.4], [1, 1, 0, 0], [0, 0, 1, 1])  # group 0 lacks negatives
    with pytest.raises(InputDataError, match="'score'"):
        fair_postprocess([0.1, np.nan], [0, 1], [0, 1])
