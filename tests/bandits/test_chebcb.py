"""ChebCB: Chebyshev features, the inverse-gap-weighted distribution, the constrained fit, learning."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial import chebyshev

from guardopt.bandits.chebcb import ChebCB, ChebCBConfig, chebyshev_features
from guardopt.core.errors import InputDataError, InvalidParameterError


@pytest.mark.parametrize("u", [-1.0, -0.3, 0.0, 0.77, 1.0])
def test_features_match_numpy_chebvander(u: float) -> None:
    np.testing.assert_allclose(chebyshev_features(u, 6), chebyshev.chebvander(np.array([u]), 5)[0], atol=1e-14)
    assert chebyshev_features(0.5, 1).tolist() == [1.0]


def test_config_validation() -> None:
    with pytest.raises(InvalidParameterError, match="The 'context_high' parameter of ChebCBConfig"):
        ChebCBConfig(n_arms=3, context_low=1.0, context_high=0.0)
    with pytest.raises(InvalidParameterError, match="n_features"):
        ChebCBConfig(n_arms=3, context_low=0.0, context_high=1.0, n_features=0)


def test_first_round_is_uniform_and_gap_weighting_reference() -> None:
    cb = ChebCB(ChebCBConfig(n_arms=4, context_low=0.0, context_high=1.0, seed=0))
    np.testing.assert_allclose(cb.probabilities(0.4), 0.25)
    # With γ = 10 and predictions (0, 0.1, 0.3, 1): p_i = 1 / (4 + 10 gap) for non-leaders.
    cb._gamma = 10.0
    p = cb._distribution(np.array([0.0, 0.1, 0.3, 1.0]))
    expected = np.array([0.0, 1 / 5, 1 / 7, 1 / 14])
    expected[0] = 1 - expected.sum()
    np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_contexts_outside_the_range_are_clipped() -> None:
    cb = ChebCB(ChebCBConfig(n_arms=2, context_low=0.0, context_high=2.0))
    np.testing.assert_allclose(cb.features(5.0), chebyshev_features(1.0, 6))
    with pytest.raises(InputDataError):
        cb.features(float("nan"))


def test_update_needs_the_round_context() -> None:
    cb = ChebCB(ChebCBConfig(n_arms=2, context_low=0.0, context_high=1.0, seed=0))
    with pytest.raises(InputDataError):
        cb.update(0, 1.0)
    cb.update(0, 1.0, context=0.5)  # replaying a log with explicit contexts is fine
    arm = cb.sample(0.2)
    cb.update(arm, 2.0)
    assert cb.t == 3
    with pytest.raises(InputDataError):
        cb.update(arm, float("nan"), context=0.2)


def test_fitted_coefficients_stay_in_the_box() -> None:
    rng = np.random.default_rng(0)
    cfg = ChebCBConfig(n_arms=3, context_low=-1.0, context_high=1.0, loss_offset=1.0, seed=0)
    cb = ChebCB(cfg)
    for _ in range(300):
        x = rng.uniform(-1, 1)
        arm = cb.sample(x)
        # a cost with a jump: the unconstrained fit overshoots, the box keeps it bounded
        cb.update(arm, 1.0 + 50.0 * (x > 0.3) + rng.normal(0, 5.0) ** 2)
    upper = np.empty(6)
    upper[0] = 1 / cb._n_factor
    upper[1:] = 2 * cb._width * cb._lipschitz / cb._scale / np.arange(1, 6)
    assert np.all(np.abs(cb.theta) <= upper[None, :] * (1 + 1e-9))
    p = cb.probabilities(0.0)
    assert np.all(p >= 0) and p.sum() == pytest.approx(1.0)


def test_learns_a_context_dependent_best_arm() -> None:
    rng = np.random.default_rng(1)
    cb = ChebCB(ChebCBConfig(n_arms=3, context_low=0.0, context_high=1.0, loss_offset=1.0, seed=3))
    right = []
    for t in range(2000):
        x = rng.random()
        costs = np.array([1 + 20 * x, 1 + 20 * (1 - x), 12.0]) + rng.normal(0, 0.5, 3)
        arm = cb.sample(x)
        cb.update(arm, float(costs[arm]))
        if t >= 1500:
            right.append(arm == (0 if x < 0.5 else 1))
    assert np.mean(right) > 0.8
    assert cb.gamma > 0


@pytest.mark.parametrize("seed", range(8))
def test_box_least_squares_matches_scipy_bvls(seed: int) -> None:
    from scipy.optimize import lsq_linear

    from guardopt.bandits.chebcb import box_least_squares

    rng = np.random.default_rng(seed)
    n_rows = [3, 6, 40][seed % 3]  # fewer rows than coefficients makes G singular
    F = chebyshev.chebvander(rng.uniform(-1, 1, n_rows), 5)
    y = rng.normal(0, 1, n_rows) + 3 * (rng.random(n_rows) > 0.5)
    upper = np.array([0.5, 0.3, 0.2, 0.1, 0.05, 0.05]) * (1 + seed % 2)
    if seed == 7:
        upper[3:] = 0.0  # degenerate coordinates pinned at 0
    G, h = F.T @ F, F.T @ y
    ours = box_least_squares(G, h, -upper, upper, np.zeros(6))
    assert np.all(np.abs(ours) <= upper + 1e-12)
    free = upper > 0
    ref = np.zeros(6)
    ref[free] = lsq_linear(F[:, free], y, bounds=(-upper[free], upper[free]), method="bvls", tol=1e-12).x

    def objective(t: np.ndarray) -> float:
        return float(np.sum((F @ t - y) ** 2))

    assert objective(ours) <= objective(ref) + 1e-9
