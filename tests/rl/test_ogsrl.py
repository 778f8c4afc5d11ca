"""OGSRL's pieces on hand-checkable inputs: GAE, the combined PPO-Lagrangian advantage, the guarded
freeze on a hand-built model, the direction of the multiplier and of the policy, and the contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.rl import OGSRL, OGSRLConfig, combined_advantage, gae, guarded_rollout
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
)


def test_gae_on_hand_computed_values():
    adv, ret = gae(np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.0, 1.5]), gamma=0.9, lam=0.8)
    # δ2 = 3 − 1.5 = 1.5; δ1 = 2 + 0.9·1.5 − 1 = 2.35; δ0 = 1 + 0.9·1 − 0.5 = 1.4; A_t = δ_t + 0.72·A_{t+1}
    np.testing.assert_allclose(adv[:, 0], [1.4 + 0.72 * 3.43, 3.43, 1.5], rtol=1e-12)
    np.testing.assert_allclose(ret[:, 0], adv[:, 0] + [0.5, 1.0, 1.5], rtol=1e-12)
    _, mc = gae(np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.0, 1.5]), gamma=0.9, lam=1.0)
    np.testing.assert_allclose(mc[:, 0], [1 + 0.9 * 4.7, 4.7, 3.0], rtol=1e-12)  # λ = 1: Monte Carlo returns
    _, boot = gae(np.array([[1.0]]), np.array([[0.0]]), gamma=0.5, lam=0.5, last_value=[4.0])
    assert boot[0, 0] == pytest.approx(3.0)  # 1 + 0.5·4


def test_combined_advantage_standardizes_and_weights_by_the_multiplier():
    out = combined_advantage(np.array([1.0, 3.0]), np.array([2.0, 0.0]), 1.0)
    np.testing.assert_allclose(out, [-1.0, 1.0], rtol=1e-6)  # ([-1, 1] − [1, −1]) / 2
    np.testing.assert_allclose(combined_advantage(np.array([1.0, 3.0]), np.array([2.0, 0.0]), 0.0), [-1, 1], rtol=1e-6)
    masked = combined_advantage(np.array([1.0, 3.0, 100.0]), np.zeros(3), 0.0, mask=np.array([True, True, False]))
    np.testing.assert_allclose(masked[:2], [-1.0, 1.0], rtol=1e-6)  # statistics over the mask only


class _Line:
    """x' = x + a, reward = x', cost 0; counts the rows it is asked to move."""

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, obs, act, rng):
        self.rows += len(obs)
        nxt = obs + act
        return nxt, nxt[:, 0], np.zeros(len(obs))


class _Below:
    """A guardian containing the states x ≤ 1.5."""

    def contains(self, obs, act):
        return obs[:, 0] <= 1.5


def test_guarded_rollout_penalizes_and_freezes():
    model = _Line()
    ro = guarded_rollout(lambda o, r: np.ones((len(o), 1)), model, np.array([[0.0], [5.0]]), 5,
                         np.random.default_rng(0), _Below(), ood_penalty=5.0, ood_cost=1.0)
    np.testing.assert_allclose(ro.rewards[:, 0], [1.0, 2.0, -5.0, -5.0, -5.0])
    np.testing.assert_allclose(ro.observations[:, 0, 0], [0.0, 1.0, 2.0, 2.0, 2.0])  # frozen at x = 2
    np.testing.assert_allclose(ro.costs[:, 0], [0, 0, 1, 0, 0])  # the OOD cost is charged once
    assert ro.outside[:, 0].tolist() == [False, False, True, False, False]
    assert ro.frozen[:, 0].tolist() == [False, False, False, True, True]
    np.testing.assert_allclose(ro.rewards[:, 1], [-5.0] * 5)  # outside from the start
    assert np.isnan(ro.model_rewards[2:, 0]).all() and ro.model_rewards[1, 0] == 2.0
    assert model.rows == 2  # the model moved only row 0, twice
    rep = guarded_rollout(lambda o, r: np.ones((len(o), 1)), _Line(), np.array([[0.0]]), 5,
                          np.random.default_rng(0), _Below(), 5.0, 1.0, repeat_ood_cost=True)
    np.testing.assert_allclose(rep.costs[:, 0], [0, 0, 1, 1, 1])
    free = guarded_rollout(lambda o, r: np.ones((len(o), 1)), _Line(), np.array([[0.0]]), 5, np.random.default_rng(0))
    np.testing.assert_allclose(free.rewards[:, 0], [1, 2, 3, 4, 5])  # no guardian: never frozen


def _costly(obs, act, rng):
    """Reward a, cost 1[a > 0]: the reward pushes the dose up, the constraint down."""
    a = act[:, 0]
    return obs, a, (a > 0).astype(float)


SMALL = dict(iterations=3, episodes=16, horizon=4, hidden=16, epochs=2, minibatch=64)


def test_multiplier_rises_by_lr_times_violation_and_stays_at_zero_when_satisfied():
    always = OGSRL(OGSRLConfig(**SMALL, cost_limit=1.0, lagrange_lr=0.05)).fit(
        lambda o, a, r: (o, np.zeros(len(o)), np.ones(len(o))), np.zeros((8, 2)), seed=0)
    # every episode costs 4 > 1, so λ_k = 0.05·3·k
    np.testing.assert_allclose([row["multiplier"] for row in always.log], [0.15, 0.30, 0.45], rtol=1e-9)
    never = OGSRL(OGSRLConfig(**SMALL, cost_limit=1.0)).fit(
        lambda o, a, r: (o, np.zeros(len(o)), np.zeros(len(o))), np.zeros((8, 2)), seed=0)
    assert [row["multiplier"] for row in never.log] == [0.0, 0.0, 0.0]


def test_the_multiplier_turns_the_policy_against_the_cost():
    cfg = dict(SMALL, iterations=25, horizon=2, policy_lr=3e-3, log_std_init=-1.0)
    free = OGSRL(OGSRLConfig(**cfg, cost_limit=100.0)).fit(_costly, np.zeros((8, 2)), seed=1)
    held = OGSRL(OGSRLConfig(**cfg, cost_limit=0.0, lagrange_init=10.0, lagrange_max=10.0)).fit(
        _costly, np.zeros((8, 2)), seed=1)
    assert free.act(np.zeros((1, 2)))[0, 0] > 0.2  # reward only: the dose goes up
    assert held.act(np.zeros((1, 2)))[0, 0] < -0.2  # λ = 10: the dose goes down


def test_config_and_call_errors_name_the_parameter():
    with pytest.raises(InvalidParameterError, match="The 'gamma' parameter of OGSRLConfig must be"):
        OGSRLConfig(gamma=1.5)
    with pytest.raises(InvalidParameterError, match="'self'"):
        OGSRL().act(np.zeros((1, 2)))
    with pytest.raises(InvalidParameterError, match="'model_step'"):
        OGSRL(OGSRLConfig(**SMALL)).fit(None, np.zeros((2, 2)))
    with pytest.raises(InvalidParameterError, match="'guardian'"):
        OGSRL(OGSRLConfig(**SMALL)).fit(_costly, np.zeros((2, 2)), guardian=object())
    with pytest.raises(InputDataError, match="'values'"):
        gae(np.zeros((3, 2)), np.zeros((2, 2)), 0.9, 0.9)


FITTED = OGSRL(OGSRLConfig(**dict(SMALL, iterations=1))).fit(_costly, np.zeros((4, 2)), seed=0)


@contract_settings()
@given(adversarial_arrays())
def test_act_fails_closed(obs):
    out = assert_contract(FITTED.act, obs, names=("obs",))
    if out.ok:
        assert np.isfinite(out.result).all() and (np.abs(out.result) <= 1).all()


@contract_settings()
@given(adversarial_arrays(), adversarial_arrays())
def test_gae_fails_closed(rewards, values):
    out = assert_contract(gae, rewards, values, 0.9, 0.95, names=("rewards", "values"))
    if out.ok:
        assert all(np.isfinite(x).all() for x in out.result)


@contract_settings()
@given(st.sampled_from(["iterations", "episodes", "horizon", "gamma", "gae_lambda", "clip_ratio", "cost_limit",
                        "lagrange_lr", "ood_penalty", "warm_start_steps", "log_std_init"]),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_config_fields(name, value):
    assert_contract(OGSRLConfig, **{name: value}, names=(name,))


def test_model_returns_use_the_mean_policy_unguarded():
    r = FITTED.model_returns(_costly, np.zeros((3, 2)), horizon=2)
    a = FITTED.act(np.zeros((1, 2)))[0, 0]
    np.testing.assert_allclose(r, [2 * a] * 3, rtol=1e-6)
    assert math.isfinite(float(r.sum()))
