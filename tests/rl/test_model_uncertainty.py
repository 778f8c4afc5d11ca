"""The five uncertainty heuristics on a hand-built ensemble, with values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.rl import EnsemblePrediction
from guardopt.rl.model_uncertainty import (
    HEURISTICS,
    ensemble_std,
    ensemble_var,
    ll_variance,
    max_aleatoric,
    max_pairwise_diff,
    subset,
    uncertainty,
)
from guardopt.testing.contracts import adversarial_arrays, assert_contract, contract_settings


def _pred(mu, sd, rm=None, rs=None) -> EnsemblePrediction:
    mu, sd = np.asarray(mu, float), np.asarray(sd, float)
    n, b = mu.shape[:2]
    rm = np.zeros((n, b)) if rm is None else np.asarray(rm, float)
    rs = np.ones((n, b)) if rs is None else np.asarray(rs, float)
    return EnsemblePrediction(next_obs_mean=mu, next_obs_std=sd, reward_mean=rm, reward_std=rs,
                              cost_mean=None, cost_std=None)


# Two members, two rows, two next-state dimensions.
# Row 0: μ1 = (0, 0), μ2 = (3, 4); σ1 = (1, 2), σ2 = (2, 2).  Row 1: both members μ = (1, 1), σ = (0.5, 0.5).
MU = [[[0.0, 0.0], [1.0, 1.0]], [[3.0, 4.0], [1.0, 1.0]]]
SD = [[[1.0, 2.0], [0.5, 0.5]], [[2.0, 2.0], [0.5, 0.5]]]
PRED = _pred(MU, SD, rm=[[0.0, 0.0], [1.0, 0.0]])
X = np.array([[1.0, 1.0], [1.0, 1.0]])  # the sampled next states for LL variance


def test_max_aleatoric_by_hand():
    # Row 0: max(‖(1, 2)‖, ‖(2, 2)‖) = max(√5, √8) = √8; row 1: ‖(0.5, 0.5)‖ = √0.5.
    np.testing.assert_allclose(max_aleatoric(PRED), [math.sqrt(8.0), math.sqrt(0.5)], rtol=1e-12)


def test_max_pairwise_diff_by_hand():
    # Row 0: ‖(3, 4)‖ = 5; row 1: identical members, 0.
    np.testing.assert_allclose(max_pairwise_diff(PRED), [5.0, 0.0], atol=1e-12)
    # With the reward column: ‖(3, 4, 1)‖ = √26.
    assert max_pairwise_diff(PRED, with_reward=True)[0] == pytest.approx(math.sqrt(26.0), rel=1e-12)


def test_ensemble_std_by_hand():
    # Population variances of the means: dim 0 {0, 3} → 2.25, dim 1 {0, 4} → 4; sqrt(mean) = sqrt(3.125).
    np.testing.assert_allclose(ensemble_std(PRED), [math.sqrt(3.125), 0.0], atol=1e-12)


def test_ensemble_var_by_hand_and_textbook_form():
    # Dim 0: mean σ² = 2.5, Var μ = 2.25 → 4.75; dim 1: 4 + 4 = 8; mean over dims 6.375. Row 1: σ² = 0.25.
    np.testing.assert_allclose(ensemble_var(PRED), [6.375, 0.25], rtol=1e-12)
    mu, sd = np.asarray(MU), np.asarray(SD)
    textbook = (np.mean(sd**2 + mu**2, axis=0) - np.mean(mu, axis=0) ** 2).mean(-1)
    np.testing.assert_allclose(ensemble_var(PRED), textbook, rtol=1e-12)


def test_ll_variance_by_hand():
    # Row 0 at x = (1, 1): log p1 − log p2 = 0.5·(3.25 − 1.25) + (2 log 2 − log 2) = 1 + ln 2, so the
    # population variance of the two values is ((1 + ln 2) / 2)². Row 1: identical members, 0.
    np.testing.assert_allclose(ll_variance(PRED, X), [((1.0 + math.log(2.0)) / 2.0) ** 2, 0.0], atol=1e-12)
    # The log-densities themselves: log p1 = −0.5·(1 + 0.25 + 2 ln 2 + 2 ln 2π).
    logp1 = -0.5 * (1.25 + 2 * math.log(2.0) + 2 * math.log(2 * math.pi))
    logp2 = -0.5 * (3.25 + 4 * math.log(2.0) + 2 * math.log(2 * math.pi))
    assert logp1 - logp2 == pytest.approx(1.0 + math.log(2.0), rel=1e-12)


def test_dispatch_matches_the_functions():
    assert set(HEURISTICS) == {"max_aleatoric", "max_pairwise_diff", "ensemble_std", "ensemble_var", "ll_variance"}
    np.testing.assert_array_equal(uncertainty("ensemble_std", PRED), ensemble_std(PRED))
    np.testing.assert_array_equal(uncertainty("ll_variance", PRED, X), ll_variance(PRED, X))
    with pytest.raises(InvalidParameterError, match="'name'"):
        uncertainty("max_epistemic", PRED)
    with pytest.raises(InvalidParameterError, match="'next_obs'"):
        uncertainty("ll_variance", PRED)


def test_subset_takes_the_first_members():
    one = subset(PRED, 1)
    assert one.next_obs_mean.shape == (1, 2, 2)
    np.testing.assert_allclose(max_pairwise_diff(one), [0.0, 0.0])
    np.testing.assert_array_equal(subset(PRED, [1]).next_obs_mean, np.asarray(MU)[[1]])
    for bad in (0, 3, [2], [], True):
        with pytest.raises(InvalidParameterError, match="'members'"):
            subset(PRED, bad)


def test_bad_predictions_fail_closed():
    with pytest.raises(InvalidParameterError, match="'pred'"):
        max_aleatoric({"next_obs_mean": MU})
    with pytest.raises(InputDataError, match="next_obs_mean"):
        ensemble_std(_pred(np.full((2, 1, 2), np.nan), np.ones((2, 1, 2))))
    with pytest.raises(InputDataError, match="non-negative"):
        max_aleatoric(_pred(np.zeros((2, 1, 2)), -np.ones((2, 1, 2))))
    with pytest.raises(InputDataError, match="positive"):
        ll_variance(_pred(np.zeros((2, 1, 2)), np.zeros((2, 1, 2))), np.zeros((1, 2)))
    with pytest.raises(InputDataError, match="'next_obs'"):
        ll_variance(PRED, np.zeros((3, 2)))
    with pytest.raises(InputDataError, match="shape"):
        max_aleatoric(_pred(np.zeros((2, 2)), np.ones((2, 2))))


@contract_settings()
@given(adversarial_arrays(min_dims=0, max_dims=3))
def test_heuristics_on_adversarial_means(arr):
    """Any array as the means: a finite, non-negative (B,) result, or a GuardoptError naming 'pred'."""
    shape = np.shape(arr) if isinstance(arr, np.ndarray) else (1,)
    pred = EnsemblePrediction(next_obs_mean=arr, next_obs_std=np.ones(shape), reward_mean=np.zeros(shape[:2]),
                              reward_std=np.ones(shape[:2]), cost_mean=None, cost_std=None)
    for name in ("max_aleatoric", "max_pairwise_diff", "ensemble_std", "ensemble_var"):
        out = assert_contract(HEURISTICS[name], pred, names=("pred",),
                              check=lambda u: bool(np.all(np.isfinite(u)) and np.all(u >= 0)))
        if out.ok:
            assert out.result.shape == (shape[1],)


@contract_settings()
@given(st.integers(2, 6), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_max_type_heuristics_never_shrink_when_members_are_added(n, b, seed):
    """The interaction finding's mechanism: a max over more members is at least the max over fewer."""
    rng = np.random.default_rng(seed)
    pred = _pred(rng.normal(size=(n, b, 3)), rng.uniform(0.1, 2.0, (n, b, 3)))
    for k in range(1, n):
        assert np.all(max_pairwise_diff(subset(pred, k + 1)) >= max_pairwise_diff(subset(pred, k)) - 1e-12)
        assert np.all(max_aleatoric(subset(pred, k + 1)) >= max_aleatoric(subset(pred, k)) - 1e-12)


def test_errors_are_guardopt_errors():
    with pytest.raises(GuardoptError):
        ll_variance(PRED, [[np.inf, 0.0], [0.0, 0.0]])
