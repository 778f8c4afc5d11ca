"""Mirror maps: projections and Bregman steps against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.online.mirror import EntropicSimplex, EuclideanBall


def test_ball_projection_closed_form() -> None:
    ball = EuclideanBall(dim=2, radius=2.0)
    np.testing.assert_allclose(ball.project(np.array([3.0, 4.0])), [1.2, 1.6])  # 2 * (3,4)/5
    np.testing.assert_allclose(ball.project(np.array([0.3, -0.4])), [0.3, -0.4])  # inside: unchanged
    # step = project(x - eta v): (0,0) - 1*(6, 8) -> norm 10 -> 2*(-0.6, -0.8)
    np.testing.assert_allclose(ball.step(np.zeros(2), np.array([6.0, 8.0]), 1.0), [-1.2, -1.6])
    assert ball.diameter == 4.0
    x, val = ball.minimize_linear(np.array([3.0, 4.0]))
    np.testing.assert_allclose(x, [-1.2, -1.6])
    assert val == pytest.approx(-10.0)


def test_entropic_step_closed_form() -> None:
    simplex = EntropicSimplex(dim=3)
    x = np.array([0.5, 0.3, 0.2])
    v = np.array([1.0, 0.0, -1.0])
    eta = 0.5
    w = x * np.exp(-eta * v)
    np.testing.assert_allclose(simplex.step(x, v, eta), w / w.sum())
    # hand value: weights 0.5e^-0.5, 0.3, 0.2e^0.5
    a, b, c = 0.5 * math.exp(-0.5), 0.3, 0.2 * math.exp(0.5)
    np.testing.assert_allclose(simplex.step(x, v, eta), np.array([a, b, c]) / (a + b + c))
    assert simplex.diameter == pytest.approx(math.sqrt(2 * math.log(3)))
    assert simplex.dual_norm(np.array([0.1, -2.0, 1.0])) == 2.0


def test_entropic_step_is_stable_for_huge_steps() -> None:
    out = EntropicSimplex(dim=4).step(np.full(4, 0.25), np.array([1e6, 0.0, 2e6, 3.0]), 10.0)
    assert np.all(np.isfinite(out)) and out.sum() == pytest.approx(1.0)
    assert out[1] == pytest.approx(1.0)


def test_entropic_step_is_kl_argmin() -> None:
    # Brute-force check on random points of the simplex: the closed form minimizes
    # eta<v,y> + KL(y || x).
    rng = np.random.default_rng(0)
    simplex = EntropicSimplex(dim=3)
    x, v, eta = np.array([0.2, 0.5, 0.3]), rng.normal(size=3), 0.7
    y_star = simplex.step(x, v, eta)

    def obj(y: np.ndarray) -> float:
        return float(eta * v @ y + np.sum(y * np.log(y / x)))

    for y in rng.dirichlet(np.ones(3), size=500):
        assert obj(y_star) <= obj(y) + 1e-12


def test_shapes_and_parameters_validated() -> None:
    with pytest.raises(InputDataError):
        EuclideanBall(dim=3).project(np.zeros(2))
    with pytest.raises(InvalidParameterError):
        EuclideanBall(dim=2, radius=0.0)
    with pytest.raises(InvalidParameterError):
        EntropicSimplex(dim=1)
