"""The feature bandit: exact expectations, Bradley–Terry labels, validation."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import GuardoptError
from guardopt.problems.feature_bandit import FeatureBandit


def test_features_norms_and_gold_by_hand():
    fb = FeatureBandit(n_responses=5, dim=3, max_norm=2.0, curvature=0.5, seed=1)
    norms = np.linalg.norm(fb.features, axis=1)
    assert norms == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert np.linalg.norm(fb.w) == pytest.approx(1.0)
    expected = fb.features @ fb.w - 0.5 * norms**2
    assert fb.gold_rewards == pytest.approx(expected)
    assert fb.gold_rewards[0] == 0.0 and fb.best_gold == pytest.approx(expected.max())


def test_reference_policy_and_expected_gold_are_exact():
    fb = FeatureBandit(n_responses=4, dim=2, max_norm=3.0, ref_sharpness=1.0, seed=0)
    sq = np.array([0.0, 1.0, 4.0, 9.0])
    ref = np.exp(-sq) / np.exp(-sq).sum()
    assert np.exp(fb.ref_log_probs) == pytest.approx(ref)
    assert fb.ref_gold == pytest.approx(float(ref @ fb.gold_rewards))
    one_hot = np.eye(4)[2]
    assert fb.expected_gold(one_hot) == pytest.approx(fb.gold_rewards[2])


def test_labels_follow_bradley_terry():
    fb = FeatureBandit(n_responses=10, dim=2, seed=2, label_scale=0.5)
    a = np.full(20000, 9)
    b = np.full(20000, 3)
    chosen, rejected = fb.label(a, b, seed=0)
    r = fb.gold_rewards
    p = 1.0 / (1.0 + np.exp(-(r[9] - r[3]) / 0.5))
    rate = float(np.mean(chosen == 9))
    assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / 20000)
    assert set(np.unique(np.concatenate([chosen, rejected]))) <= {3, 9}
    assert np.all(chosen != rejected)


def test_sampling_is_seeded_and_follows_the_given_policy():
    fb = FeatureBandit(seed=0)
    c1, r1 = fb.preference_pairs(50, seed=7)
    c2, r2 = fb.preference_pairs(50, seed=7)
    assert np.array_equal(c1, c2) and np.array_equal(r1, r2)
    point = np.zeros(fb.n_responses)
    point[17] = 1.0
    assert np.all(fb.sample(10, point, seed=1) == 17)


def test_bad_parameters_and_inputs_name_themselves():
    with pytest.raises(GuardoptError, match="'n_responses' parameter of FeatureBandit"):
        FeatureBandit(n_responses=1)
    with pytest.raises(GuardoptError, match="'curvature'"):
        FeatureBandit(curvature=float("nan"))
    fb = FeatureBandit(n_responses=4, dim=2)
    with pytest.raises(GuardoptError, match="probs"):
        fb.expected_gold(np.array([0.5, 0.5, 0.5, np.nan]))
    with pytest.raises(GuardoptError, match="probs"):
        fb.expected_gold(np.ones(3) / 3)
    with pytest.raises(GuardoptError, match="indices"):
        fb.label(np.array([0, 9]), np.array([1, 2]))
    with pytest.raises(GuardoptError, match="integer"):
        fb.label(np.array([0.5]), np.array([1.0]))
