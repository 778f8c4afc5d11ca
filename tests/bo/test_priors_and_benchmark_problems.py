"""The dimension-scaled lengthscale prior, its config switch, and the benchmark's added test problems."""

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime

import guardopt as go
from guardopt.bo.gp import GPPrior
from guardopt.bo.optimizer import GPConfig, GPOptimizer
from guardopt.core.errors import InvalidParameterError
from guardopt.problems.synthetic import (
    CONSTRAINED_GRAMACY,
    MICHALEWICZ5,
    SHEKEL4,
    get_function,
    gramacy_disc_constraint,
    gramacy_sine_constraint,
    michalewicz,
    shekel,
)


def test_dim_scaled_prior_log_density_hand_value():
    # Hvarfner et al. (2024): log l ~ N(sqrt2 + log(d)/2, sqrt3^2); d = 6 gives mean 2.310093.
    prior = GPPrior.for_dim(6, scaled=True)
    assert prior.ls_mean == pytest.approx(2.3100933, abs=1e-6)
    assert prior.ls_std == pytest.approx(1.7320508, abs=1e-6)
    theta = np.array([0.5, 0.0, 1.0, -1.0, 2.0, 3.0, 0.3, math.log(1e-3)])
    # Hand value: -sum z^2 / 2 over the lengthscales, -(log s2 / 1.5)^2 / 2, Gamma(1.1, 30) in log noise.
    z = (np.array([0.5, 0.0, 1.0, -1.0, 2.0, 3.0]) - 2.3100933) / 1.7320508
    expected = -0.5 * float(np.sum(z**2)) - 0.5 * (0.3 / 1.5) ** 2 + 1.1 * math.log(1e-3) - 30 * 1e-3
    lp, grad = prior.log_density(theta)
    assert lp == pytest.approx(expected, abs=1e-5)
    num = approx_fprime(theta, lambda t: prior.log_density(t)[0], 1e-7)
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-4)
    # The default prior is centred at lengthscale 1 whatever d.
    assert GPPrior.for_dim(6).ls_mean == 0.0


def test_lengthscale_prior_switch_reaches_the_model():
    with pytest.raises(InvalidParameterError, match="The 'lengthscale_prior' parameter of GPOptimizer must be one of"):
        GPConfig(lengthscale_prior="gamma")
    space = go.Space({f"x{i}": go.Real(0, 1) for i in range(4)})
    opt = GPOptimizer("ei", seed=0, lengthscale_prior="dim-scaled", n_candidates=128, n_local=8, n_restarts=1)
    study = go.Study(space, optimizer=opt)
    study.optimize(lambda p: sum((p[k] - 0.3) ** 2 for k in p), n_trials=10)
    assert opt._prior.ls_mean == pytest.approx(math.sqrt(2) + 0.5 * math.log(4))
    assert len(study.trials) == 10


def test_michalewicz_and_shekel_hand_values_and_optima():
    # Michalewicz at x = (pi/2, pi/2): -(sin(pi/2) sin(pi/4)^20 + sin(pi/2) sin(pi/2)^20) = -(2^-10 + 1).
    assert float(michalewicz(np.array([math.pi / 2, math.pi / 2]))) == pytest.approx(-(2.0**-10 + 1.0), abs=1e-12)
    # Shekel at (4, 4, 4, 4): well 1 gives 1 / 0.1; each other well j gives 1 / (|a_j - 4|^2 + c_j).
    others = [1 / (36 + 0.2), 1 / (64 + 0.2), 1 / (16 + 0.4), 1 / (20 + 0.4), 1 / (58 + 0.6), 1 / (4 + 0.3),
              1 / (50 + 0.7), 1 / (16 + 0.5), 1 / (18.32 + 0.5)]
    assert float(shekel(np.full(4, 4.0))) == pytest.approx(-(10 + sum(others)), abs=1e-9)
    # The seventh well is (5, 3, 5, 3) (Surjanovic & Bingham; BoTorch): at it that well alone gives 1 / 0.3.
    # (4, 4, 4, 4) cannot tell it from (5, 5, 3, 3): both lie at squared distance 4.
    assert float(shekel(np.array([5.0, 3.0, 5.0, 3.0]))) < -1 / 0.3
    assert SHEKEL4.optimal_value == pytest.approx(-10.536443, abs=1e-6)  # BoTorch's Shekel().optimal_value
    for fn in (MICHALEWICZ5, SHEKEL4):
        assert float(fn(np.array(fn.optimizer))) == pytest.approx(fn.optimal_value, abs=1e-6)
        # No point of a random sample beats the stated optimum.
        lo, hi = np.array(fn.bounds).T
        xs = lo + np.random.default_rng(0).random((5000, fn.dim)) * (hi - lo)
        assert float(np.min(fn(xs))) > fn.optimal_value
    assert get_function("michalewicz5") is MICHALEWICZ5
    assert get_function("shekel4-noisy0.1").noise_std == 0.1


def test_gramacy_constraints_hand_values_and_optimum():
    # At (0.5, 0.5): 1.5 - 0.5 - 1 - 0.5 sin(2 pi (0.25 - 1)) = -0.5 sin(-1.5 pi) = -0.5; 0.25 + 0.25 - 1.5 = -1.
    x = np.array([0.5, 0.5])
    assert float(gramacy_sine_constraint(x)) == pytest.approx(-0.5, abs=1e-12)
    assert float(gramacy_disc_constraint(x)) == pytest.approx(-1.0, abs=1e-12)
    opt = dict(zip(("x0", "x1"), CONSTRAINED_GRAMACY.optimizer, strict=True))
    assert CONSTRAINED_GRAMACY.regret(opt) == pytest.approx(0.0, abs=1e-6)
    assert float(gramacy_sine_constraint(np.array(CONSTRAINED_GRAMACY.optimizer))) <= 1e-6
    # A grid: no feasible point is better than the stated constrained optimum (up to the grid's step).
    g = np.linspace(0, 1, 401)
    pts = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    ok = (gramacy_sine_constraint(pts) <= 0) & (gramacy_disc_constraint(pts) <= 0)
    assert float(np.min(pts[ok].sum(1))) >= CONSTRAINED_GRAMACY.optimal_value - 1e-9
    out = CONSTRAINED_GRAMACY.objective()(opt)
    assert set(out) == {"value", "sine", "disc"}
