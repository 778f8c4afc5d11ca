"""The SEA simulator: σ² and Σ² are what the user sets; hindsight optima are exact."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InvalidParameterError
from guardopt.problems.sea import SEAConfig, SEAProblem


@pytest.mark.parametrize("pattern,n_switches", [("switching", 4), ("switching", 3), ("alternating", 1)])
def test_cumulative_variation_is_as_set(pattern: str, n_switches: int) -> None:
    for loss in ("linear", "quadratic"):
        cfg = SEAConfig(horizon=1000, variation=6.0, pattern=pattern, n_switches=n_switches, loss=loss,
                        strong_convexity=2.0)
        assert SEAProblem(cfg, seed=0).cumulative_variation() == pytest.approx(6.0)


def test_fixed_pattern_has_no_variation_and_noise_variance_matches() -> None:
    prob = SEAProblem(SEAConfig(horizon=20000, dim=5, sigma2=2.0), seed=1)
    assert prob.cumulative_variation() == 0.0
    assert np.mean(np.sum(prob.noise**2, axis=1)) == pytest.approx(2.0, rel=0.03)
    assert prob.cumulative_variance() == 40000.0


def test_linear_hindsight_optimum_beats_random_points() -> None:
    prob = SEAProblem(SEAConfig(horizon=200, sigma2=0.5, pattern="alternating", variation=50.0), seed=2)
    best = prob.best_fixed()
    total = prob.losses(np.broadcast_to(best, prob.means.shape)).sum()
    rng = np.random.default_rng(0)
    for _ in range(200):
        y = rng.normal(size=prob.config.dim)
        y /= max(1.0, np.linalg.norm(y))
        assert total <= prob.losses(np.broadcast_to(y, prob.means.shape)).sum() + 1e-9


def test_quadratic_hindsight_optimum_and_gradient() -> None:
    cfg = SEAConfig(horizon=50, sigma2=0.1, loss="quadratic", strong_convexity=3.0, mean_norm=0.4)
    prob = SEAProblem(cfg, seed=3)
    best = prob.best_fixed()
    x = np.full(cfg.dim, 0.1)
    np.testing.assert_allclose(prob.gradient(0, x), 3.0 * (x - prob.means[0]) + prob.noise[0])
    # First-order optimality of the interior minimizer: sum of gradients is zero.
    grad_sum = sum(prob.gradient(t, best) for t in range(cfg.horizon))
    np.testing.assert_allclose(grad_sum, 0.0, atol=1e-9)
    assert prob.regret(np.broadcast_to(best, prob.means.shape)) == pytest.approx(0.0, abs=1e-9)


def test_config_validation() -> None:
    with pytest.raises(InvalidParameterError):
        SEAConfig(horizon=10, pattern="zigzag")
    with pytest.raises(InvalidParameterError):
        SEAConfig(horizon=10, sigma2=-1.0)
