"""Optimistic OMD: hand-computed rounds, step-size rules, regret behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.online import EntropicSimplex, EuclideanBall, OnlineGradientDescent, OOMDConfig, OptimisticOMD
from guardopt.problems.sea import SEAConfig, SEAProblem
from guardopt.reproduce.papers.optimistic_omd import play


def test_two_rounds_by_hand() -> None:
    learner = OptimisticOMD(EuclideanBall(dim=2, radius=10.0), OOMDConfig(delta=1.0))
    # Round 1: hint 0, eta = D/sqrt(1) = 20, x1 = xhat1 = 0.
    np.testing.assert_allclose(learner.ask(), [0.0, 0.0])
    assert learner.eta == pytest.approx(20.0)
    learner.tell(np.array([0.1, 0.0]))
    # xhat2 = 0 - 20*(0.1, 0) = (-2, 0); sum_sq = 0.01; eta2 = 20/sqrt(1.01); hint = g1.
    eta2 = 20.0 / math.sqrt(1.01)
    assert learner.eta == pytest.approx(eta2)
    np.testing.assert_allclose(learner.ask(), [-2.0 - eta2 * 0.1, 0.0])
    learner.tell(np.array([0.1, 0.0]))
    # xhat3 = xhat2 - eta2 * g2; the hint was exact, so sum_sq is unchanged.
    assert learner.eta == pytest.approx(eta2)


def test_zero_hint_is_projected_ogd() -> None:
    ogd = OnlineGradientDescent(EuclideanBall(dim=2, radius=1.0), grad_bound=2.0)
    assert ogd.eta == pytest.approx(2.0 / 2.0)  # D/(G sqrt 1)
    ogd.ask()
    ogd.tell(np.array([3.0, 4.0]))
    np.testing.assert_allclose(ogd.ask(), [-0.6, -0.8])  # project(-(3,4)) onto the unit ball
    assert ogd.eta == pytest.approx(1.0 / math.sqrt(2))


def test_strongly_convex_and_fixed_steps() -> None:
    sc = OptimisticOMD(EuclideanBall(2), OOMDConfig(step="strongly-convex", strong_convexity=2.0))
    assert sc.eta == pytest.approx(0.5)
    sc.ask()
    sc.tell(np.zeros(2))
    assert sc.eta == pytest.approx(0.25)
    fixed = OptimisticOMD(EuclideanBall(2), OOMDConfig(step="fixed", lr=0.1, smoothness=10.0))
    assert fixed.eta == pytest.approx(0.025)  # capped at 1/(4L)


def test_entropic_oomd_tracks_best_expert() -> None:
    learner = OptimisticOMD(EntropicSimplex(4))
    losses = np.array([0.5, 0.2, 0.9, 0.6])
    for _ in range(300):
        learner.ask()
        learner.tell(losses)
    assert np.argmax(learner.ask()) == 1
    assert learner.ask()[1] > 0.9


def test_config_validation() -> None:
    with pytest.raises(InvalidParameterError):
        OOMDConfig(step="strongly-convex")
    with pytest.raises(InvalidParameterError):
        OOMDConfig(hint="future")
    with pytest.raises(InputDataError):
        OptimisticOMD(EuclideanBall(2)).tell(np.zeros(3))
    with pytest.raises(InputDataError):
        OptimisticOMD(EuclideanBall(2)).tell(np.array([np.nan, 0.0]))


def test_regret_grows_sublinearly_in_stochastic_setting() -> None:
    regrets = []
    for horizon in (500, 2000):
        cfg = SEAConfig(horizon=horizon, sigma2=1.0)
        r = [SEAProblem(cfg, seed=s).regret(play(SEAProblem(cfg, seed=s), OptimisticOMD(EuclideanBall(10))))
             for s in range(3)]
        regrets.append(np.mean(r))
    slope = math.log(regrets[1] / regrets[0]) / math.log(4)
    assert 0.25 < slope < 0.75


def test_oomd_is_fast_on_a_fixed_predictable_sequence() -> None:
    # sigma = 0, fixed mean: the hint is exact after round 1, the step stays large.
    cfg = SEAConfig(horizon=400, sigma2=0.0, pattern="fixed")
    prob = SEAProblem(cfg, seed=0)
    assert prob.regret(play(prob, OptimisticOMD(EuclideanBall(10)))) < 3.0
