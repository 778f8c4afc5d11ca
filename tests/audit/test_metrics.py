"""Every metric against fairlearn's (hard decisions, with and without weights) and hand values."""

from __future__ import annotations

import math

import fairlearn.metrics as flm
import numpy as np
import pytest

from guardopt.audit import (
    accuracy,
    calibration_gap,
    demographic_parity_difference,
    equal_opportunity_difference,
    equalized_odds_difference,
    false_negative_rate_difference,
    false_positive_rate_difference,
    group_rates,
    predictive_parity_difference,
)
from guardopt.core.errors import InputDataError

PAIRS = [
    (demographic_parity_difference, flm.demographic_parity_difference),
    (equalized_odds_difference, flm.equalized_odds_difference),
    (equal_opportunity_difference, flm.equal_opportunity_difference),
    (false_positive_rate_difference, flm.false_positive_rate_difference),
    (false_negative_rate_difference, flm.false_negative_rate_difference),
]


def _data(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    y = (rng.random(n) < np.where(g == 1, 0.3, 0.5)).astype(int)
    pred = (rng.random(n) < 0.3 + 0.4 * y).astype(int)
    w = rng.uniform(0.2, 3.0, n)
    return y, pred, g, w


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_fairlearn(ours, theirs, seed):
    y, pred, g, w = _data(seed)
    assert ours(y, pred, g) == pytest.approx(theirs(y, pred, sensitive_features=g), abs=1e-12)
    assert ours(y, pred, g, w) == pytest.approx(theirs(y, pred, sensitive_features=g, sample_weight=w), abs=1e-12)


def test_predictive_parity_and_accuracy_against_fairlearn_metric_frame():
    from sklearn.metrics import accuracy_score, precision_score

    y, pred, g, w = _data(2)
    mf = flm.MetricFrame(metrics=precision_score, y_true=y, y_pred=pred, sensitive_features=g)
    assert predictive_parity_difference(y, pred, g) == pytest.approx(mf.difference(), abs=1e-12)
    assert accuracy(y, pred) == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    assert accuracy(y, pred, sample_weight=w) == pytest.approx(accuracy_score(y, pred, sample_weight=w), abs=1e-12)


def test_hand_values_and_randomised_decisions():
    y = [1, 0, 1, 0]
    g = [0, 0, 1, 1]
    # group 0 accepts the positive only, group 1 accepts both: DP gap 0.5, TPR gap 0, FPR gap 1.
    pred = [1, 0, 1, 1]
    assert demographic_parity_difference(y, pred, g) == 0.5
    assert equalized_odds_difference(y, pred, g) == 1.0
    # An acceptance probability counts as an expectation: accept everyone with 0.3 -> all gaps 0.
    assert demographic_parity_difference(y, [0.3] * 4, g) == pytest.approx(0.0)
    assert accuracy(y, [0.3] * 4) == pytest.approx(0.5)
    r = group_rates(y, pred, g)
    assert r[1]["fpr"] == 1.0 and r[0]["fpr"] == 0.0 and r[0]["share"] == 0.5


def test_calibration_gap_reference():
    # group 0: scores 0.2, 0.2 with labels 0, 1 -> bin of 0.2: |0.5 - 0.2| = 0.3 (all in one bin)
    # group 1: scores 0.9, 0.9 with labels 1, 1 -> |1 - 0.9| = 0.1
    assert calibration_gap([0, 1, 1, 1], [0.2, 0.2, 0.9, 0.9], [0, 0, 1, 1]) == pytest.approx(0.3)
    # Cross-check with scikit-learn's calibration curve on one group (equal-width bins, weights by count).
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(0)
    s = rng.random(500)
    y = (rng.random(500) < s ** 1.5).astype(int)
    g = np.zeros(500, dtype=int)
    g[:2] = 1
    y[:2] = (0, 1)
    pt, pp = calibration_curve(y[2:], s[2:], n_bins=10, strategy="uniform")
    counts = np.histogram(np.minimum((s[2:] * 10).astype(int), 9), bins=np.arange(11))[0]
    ece = float(np.sum(counts[counts > 0] / 498 * np.abs(pt - pp)))
    ours = calibration_gap(y, s, g)
    assert ours >= ece - 1e-12  # the max over both groups
    assert calibration_gap(y[2:], s[2:], np.r_[np.ones(1, int), np.zeros(497, int)]) >= 0


def test_undefined_rates_are_nan_and_bad_inputs_raise():
    assert math.isnan(equal_opportunity_difference([0, 0, 1, 0], [1, 0, 1, 0], [0, 0, 1, 1]))
    with pytest.raises(InputDataError, match="'pred'"):
        demographic_parity_difference([0, 1], [0.5, 2.0], [0, 1])
    with pytest.raises(InputDataError, match="'group'"):
        demographic_parity_difference([0, 1], [0, 1], [0, 2])
    with pytest.raises(InputDataError, match="'y'"):
        demographic_parity_difference([0, np.nan], [0, 1], [0, 1])
