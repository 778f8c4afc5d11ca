"""MOPO: the penalized reward, penalized model rollouts, the SAC update and the config/input contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.safe_control import collect_dataset
from guardopt.rl import (
    MOPO,
    DynamicsConfig,
    GaussianEnsemble,
    MOPOConfig,
    MOPOSACConfig,
    SACAgent,
    max_aleatoric,
    model_rollout,
    penalized_reward,
)
from guardopt.rl.model_uncertainty import HEURISTICS, subset
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
)

DATA = collect_dataset("VelocityPendulum", episodes=4, seed=0)
MODEL = GaussianEnsemble(DynamicsConfig(members=4, elites=2, hidden=8, max_epochs=2)).fit(DATA, seed=0)
TINY = MOPOConfig(members=3, elites=2, horizon=2, steps=6, batch_size=16, rollout_every=3, rollout_batch=8,
                  sac=MOPOSACConfig(hidden=8))


def _zero_policy(obs: np.ndarray) -> np.ndarray:
    return np.zeros((obs.shape[0], 1))


def test_penalized_reward_by_hand():
    np.testing.assert_allclose(penalized_reward([1.0, 2.0, -1.0], [0.5, 1.0, 0.0], 2.0), [0.0, 0.0, -1.0])
    np.testing.assert_allclose(penalized_reward([1.0], [3.0], 0.0), [1.0])  # λ = 0: MBPO's reward


def test_penalized_reward_refuses_bad_input():
    with pytest.raises(InvalidParameterError, match="'penalty'"):
        penalized_reward([1.0], [1.0], -0.1)
    with pytest.raises(InputDataError, match="'u'"):
        penalized_reward([1.0, 2.0], [1.0], 1.0)
    with pytest.raises(InputDataError, match="'u'"):
        penalized_reward([1.0], [-1.0], 1.0)
    with pytest.raises(InputDataError, match="'reward'"):
        penalized_reward([np.nan], [1.0], 1.0)


def test_rollout_shapes_and_penalty():
    starts = DATA["observations"][:5]
    roll = model_rollout(MODEL, _zero_policy, starts, 3, "max_aleatoric", 2.0, np.random.default_rng(0), members=3,
                         elites=2)
    assert roll["observations"].shape == (15, 3) and roll["next_observations"].shape == (15, 3)
    assert roll["actions"].shape == (15, 1) and roll["rewards"].shape == (15,)
    np.testing.assert_array_equal(roll["step"], np.repeat([0, 1, 2], 5))
    assert not roll["terminals"].any()
    np.testing.assert_allclose(roll["rewards"], roll["raw_rewards"] - 2.0 * roll["uncertainty"], rtol=1e-12)
    # The penalty is the heuristic of the first 3 members at the visited pairs.
    first = roll["step"] == 0
    u = max_aleatoric(subset(MODEL.predict(roll["observations"][first], roll["actions"][first]), 3))
    np.testing.assert_allclose(roll["uncertainty"][first], u, rtol=1e-10)
    # Step t + 1 starts where step t ended.
    np.testing.assert_array_equal(roll["observations"][5:10], roll["next_observations"][:5])


def test_rollout_rows_stop_outside_the_box():
    starts = DATA["observations"][:5]
    box = (np.full(3, -1e-9), np.full(3, 1e-9))  # every next state leaves it
    roll = model_rollout(MODEL, _zero_policy, starts, 4, "ensemble_std", 1.0, np.random.default_rng(0), bounds=box)
    assert roll["rewards"].shape == (5,)


@pytest.mark.parametrize("name", sorted(HEURISTICS))
def test_every_heuristic_runs_in_a_rollout(name):
    roll = model_rollout(MODEL, _zero_policy, DATA["observations"][:4], 2, name, 1.0, np.random.default_rng(1))
    assert np.all(np.isfinite(roll["uncertainty"])) and np.all(roll["uncertainty"] >= 0)


def test_rollout_contract():
    rng = np.random.default_rng(0)
    starts = DATA["observations"][:3]
    with pytest.raises(InvalidParameterError, match="'heuristic'"):
        model_rollout(MODEL, _zero_policy, starts, 2, "max_epistemic", 1.0, rng)
    with pytest.raises(InvalidParameterError, match="'members'"):
        model_rollout(MODEL, _zero_policy, starts, 2, "max_aleatoric", 1.0, rng, members=5)
    with pytest.raises(InvalidParameterError, match="'horizon'"):
        model_rollout(MODEL, _zero_policy, starts, 0, "max_aleatoric", 1.0, rng)
    with pytest.raises(InputDataError, match="'start_obs'"):
        model_rollout(MODEL, _zero_policy, starts[:, :2], 2, "max_aleatoric", 1.0, rng)
    with pytest.raises(InputDataError, match="'start_obs'"):
        model_rollout(MODEL, _zero_policy, np.full((2, 3), np.inf), 2, "max_aleatoric", 1.0, rng)
    with pytest.raises(InvalidParameterError, match="'model'"):
        model_rollout(GaussianEnsemble(), _zero_policy, starts, 2, "max_aleatoric", 1.0, rng)


def test_sac_update_is_finite_and_moves_the_critic():
    torch.manual_seed(0)
    agent = SACAgent(3, 1, MOPOSACConfig(hidden=8))
    batch = {"observations": torch.randn(32, 3), "actions": torch.rand(32, 1) * 2 - 1, "rewards": torch.randn(32),
             "next_observations": torch.randn(32, 3), "terminals": torch.zeros(32)}
    before = [p.detach().clone() for p in agent.critic.parameters()]
    info = agent.update(batch, torch.Generator().manual_seed(0))
    assert all(np.isfinite(v) for v in info.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.critic.parameters()))
    a, logp = agent.sample(torch.randn(5, 3), torch.Generator().manual_seed(1))
    assert a.shape == (5, 1) and logp.shape == (5,) and bool((a.abs() <= 1).all())


def test_mopo_fits_with_a_given_model_and_acts():
    learner = MOPO(TINY).fit(DATA, seed=0, model=MODEL)
    a = learner.act(DATA["observations"][:7])
    assert a.shape == (7, 1) and np.all(np.abs(a) <= 1)
    assert learner.act(DATA["observations"][0]).shape == (1,)
    assert learner.model is MODEL
    assert learner.log and "model_uncertainty" in learner.log[0]
    # Rounds every 3 of 6 steps, 8 rollouts of horizon 2, all kept: at most 32 model transitions.
    assert 0 < learner.model_data["rewards"].shape[0] <= 32
    again = MOPO(TINY).fit(DATA, seed=0, model=MODEL)
    np.testing.assert_array_equal(again.act(DATA["observations"][:7]), a)  # seeded


def test_mopo_fit_and_act_contract():
    with pytest.raises(InvalidParameterError, match="'model'"):
        MOPO(MOPOConfig(members=5, sac=MOPOSACConfig(hidden=8), steps=2)).fit(DATA, model=MODEL)
    with pytest.raises(InvalidParameterError, match="'self'"):
        MOPO(TINY).act(DATA["observations"][:2])
    learner = MOPO(TINY).fit(DATA, seed=0, model=MODEL)
    with pytest.raises(InputDataError, match="'obs'"):
        learner.act(np.zeros((2, 4)))
    with pytest.raises(InputDataError, match="'obs'"):
        learner.act(np.full((2, 3), np.nan))
    bad = dict(DATA)
    bad["actions"] = DATA["actions"] * 3.0
    with pytest.raises(InputDataError, match="actions"):
        MOPO(TINY).fit(bad, model=MODEL)
    with pytest.raises(InvalidParameterError, match="'config'"):
        MOPO({"heuristic": "max_aleatoric"})  # type: ignore[arg-type]


@contract_settings()
@given(st.sampled_from(["heuristic", "members", "elites", "horizon", "penalty", "real_ratio", "steps", "batch_size",
                        "rollout_every", "rollout_batch", "model_retain", "with_reward", "sac", "dynamics"]),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_mopo_config_fields(name, value):
    assert_contract(MOPOConfig, **{name: value}, names=(name,))


@contract_settings()
@given(st.sampled_from(["hidden", "lr", "gamma", "tau", "init_alpha", "target_entropy"]),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_sac_config_fields(name, value):
    assert_contract(MOPOSACConfig, **{name: value}, names=(name,))


@contract_settings()
@given(adversarial_arrays(), adversarial_arrays(), st.one_of(adversarial_floats(), adversarial_scalars()))
def test_penalized_reward_on_adversarial_input(reward, u, penalty):
    out = assert_contract(penalized_reward, reward, u, penalty, names=("reward", "u", "penalty"),
                          check=lambda r: bool(np.all(np.isfinite(r))))
    if out.ok:
        assert out.result.shape == np.asarray(reward, dtype=float).shape


def test_penalized_reward_refuses_overflow():
    with pytest.raises(InputDataError, match="overflowed"):
        penalized_reward([-1e308], [1e308], 1e5)
