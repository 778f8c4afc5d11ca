"""Fail-closed contract of guardopt.online: bad gradients, steps and configs raise our errors; an
overflowing update is refused instead of playing a NaN point or silently freezing the learner."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.online import EntropicSimplex, EuclideanBall, OnlineGradientDescent, OOMDConfig, OptimisticOMD
from guardopt.testing.contracts import adversarial_arrays, adversarial_scalars, assert_contract, contract_settings


def _finite_point(x: np.ndarray) -> bool:
    return bool(np.isfinite(x).all())


@contract_settings()
@given(adversarial_arrays(max_dims=1, max_side=3))
def test_tell_contract(grad: object) -> None:
    for domain in (EuclideanBall(2), EntropicSimplex(2)):
        learner = OptimisticOMD(domain)
        out = assert_contract(learner.tell, grad, names=("grad",))
        # accepted or refused, the next point is finite, and a refusal left the round unchanged
        assert _finite_point(learner.ask())
        assert learner.t == (2 if out.ok else 1)


@contract_settings()
@given(adversarial_scalars())
def test_step_contract_on_eta(eta: object) -> None:
    for domain, x in ((EuclideanBall(2), np.zeros(2)), (EntropicSimplex(2), np.full(2, 0.5))):
        out = assert_contract(domain.step, x, np.array([1.0, -1.0]), eta, names=("eta",))
        if out.ok:
            assert _finite_point(out.result)


def test_string_gradient_is_an_input_error() -> None:
    # before: numpy's ValueError "could not convert string to float"
    with pytest.raises(InputDataError, match=r"'grad' argument of OptimisticOMD\.tell"):
        OptimisticOMD(EuclideanBall(2)).tell(["a", "b"])  # type: ignore[arg-type]


@pytest.mark.parametrize("domain", [EuclideanBall(2), EntropicSimplex(3)])
@pytest.mark.parametrize("scale", [1e160, 1e308])
def test_overflowing_gradients_are_refused_and_leave_the_learner_unchanged(domain: object, scale: float) -> None:
    # before: the ball played NaN (1e308) or froze with eta = 0 at [-0, -0] (1e160); the simplex
    # raised Python's OverflowError from `dual_norm ** 2`
    learner = OptimisticOMD(domain)  # type: ignore[arg-type]
    x1, eta1 = learner.ask(), learner.eta
    with pytest.raises(InputDataError, match="overflows float64"):
        learner.tell(np.full(learner.domain.dim, scale))
    assert learner.t == 1 and learner.eta == eta1
    np.testing.assert_array_equal(learner.ask(), x1)
    learner.tell(np.full(learner.domain.dim, 0.5))  # still usable
    assert learner.t == 2 and _finite_point(learner.ask())


def test_projection_of_a_huge_point_keeps_its_direction() -> None:
    # before: ‖y‖ overflowed to inf and y * (R / inf) projected [1e200, 1e200] to the centre [0, 0]
    np.testing.assert_allclose(EuclideanBall(2, radius=2.0).project(np.array([1e200, 1e200])),
                               [math.sqrt(2.0), math.sqrt(2.0)])
    np.testing.assert_allclose(EuclideanBall(2).project(np.array([-1e300, 0.0])), [-1.0, 0.0])


def test_mirror_maps_refuse_non_finite_points_and_steps() -> None:
    # before: a NaN entry or a NaN step returned a NaN point; a negative step went uphill
    with pytest.raises(InputDataError, match=r"'y' argument of EuclideanBall\.project"):
        EuclideanBall(2).project(np.array([math.nan, 1.0]))
    with pytest.raises(InputDataError, match=r"'g' argument of EuclideanBall\.minimize_linear"):
        EuclideanBall(2).minimize_linear(np.array([math.inf, 1.0]))
    with pytest.raises(InvalidParameterError, match=r"'eta' parameter of EuclideanBall\.step"):
        EuclideanBall(2).step(np.zeros(2), np.ones(2), math.nan)
    with pytest.raises(InvalidParameterError, match=r"'eta' parameter of EntropicSimplex\.step"):
        EntropicSimplex(2).step(np.full(2, 0.5), np.array([1.0, 0.0]), -1.0)
    with pytest.raises(InputDataError, match="non-negative weights"):
        EntropicSimplex(2).step(np.array([-0.5, 1.5]), np.zeros(2), 0.1)
    with pytest.raises(InputDataError, match="overflows float64"):
        EntropicSimplex(2).step(np.array([1.0, 0.0]), np.array([-1e308, 0.0]), 10.0)


@pytest.mark.parametrize("adaptive", ["no", 1, None, np.array([True])])
def test_online_gradient_descent_adaptive_is_a_boolean(adaptive: object) -> None:
    # before: any truthy value ("no") silently selected the adaptive step
    with pytest.raises(InvalidParameterError, match="'adaptive' parameter of OnlineGradientDescent"):
        OnlineGradientDescent(EuclideanBall(2), adaptive=adaptive)  # type: ignore[arg-type]
    assert OnlineGradientDescent(EuclideanBall(2), adaptive=np.True_).config.step == "adaptive"


@pytest.mark.parametrize("config", [{"step": "fixed"}, "adaptive", 0.1])
def test_optimistic_omd_config_must_be_an_oomd_config(config: object) -> None:
    # before: AttributeError "'dict' object has no attribute 'diameter'" at the first ask()
    with pytest.raises(InvalidParameterError, match="'config' parameter of OptimisticOMD"):
        OptimisticOMD(EuclideanBall(2), config)  # type: ignore[arg-type]
    assert OptimisticOMD(EuclideanBall(2), None).config == OOMDConfig()


@contract_settings(scale=0.5)
@given(st.floats(min_value=-50, max_value=50), st.floats(min_value=-50, max_value=50))
def test_ball_iterates_stay_in_the_ball(a: float, b: float) -> None:
    learner = OptimisticOMD(EuclideanBall(2, radius=1.5), OOMDConfig(step="fixed", lr=3.0))
    for _ in range(3):
        learner.ask()
        learner.tell(np.array([a, b]))
    assert float(np.linalg.norm(learner.ask())) <= 1.5 + 1e-12


def test_a_second_step_schedule_is_refused_not_ignored() -> None:
    # before: grad_bound beside adaptive=True, strong_convexity beside adaptive, or lr beside the
    # adaptive step were dropped without a word
    ball = EuclideanBall(2)
    with pytest.raises(InvalidParameterError, match="'grad_bound'"):
        OnlineGradientDescent(ball, grad_bound=1.0, adaptive=True)
    with pytest.raises(InvalidParameterError, match="'grad_bound'"):
        OnlineGradientDescent(ball, grad_bound=1.0, strong_convexity=2.0)
    with pytest.raises(InvalidParameterError, match="'adaptive'"):
        OnlineGradientDescent(ball, adaptive=True, strong_convexity=2.0)
    with pytest.raises(InvalidParameterError, match="'lr'"):
        OOMDConfig(step="adaptive", lr=0.1)
    with pytest.raises(InvalidParameterError, match="'strong_convexity'"):
        OOMDConfig(step="fixed", lr=0.1, strong_convexity=1.0)
    assert OOMDConfig(step="sqrt-t", grad_bound=1.0, smoothness=2.0, diameter=3.0).grad_bound == 1.0
