"""STAC: the Gaussian critic's loss and the pessimistic target on hand-computed values, the
architecture (dropout, LayerNorm, σ floor), configs and the learn/act contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.problems.safe_control import RiskyPointMass, VelocityPendulum
from guardopt.rl import STAC, STACConfig, gaussian_nll, pessimistic_target
from guardopt.rl.stac import GaussianCritic
from guardopt.testing.contracts import adversarial_floats, adversarial_scalars, assert_contract, contract_settings

TINY = {"hidden": 8, "batch_size": 8, "start_steps": 10, "log_every": 10}


def test_gaussian_nll_on_hand_values():
    # y = 1, μ = 0, σ = 2: log 2 + ½ log 2π + ½ (1/2)² = 0.693147 + 0.918939 + 0.125
    y, mu, sd = torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([2.0])
    assert float(gaussian_nll(y, mu, sd)) == pytest.approx(1.737086, abs=1e-5)
    # batch mean; equals torch's Normal log-density with the sign flipped
    y, mu, sd = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.0]), torch.tensor([1.0, 0.5])
    ref = -torch.distributions.Normal(mu, sd).log_prob(y).mean()
    assert float(gaussian_nll(y, mu, sd)) == pytest.approx(float(ref), abs=1e-5)


def test_gaussian_nll_rewards_a_wider_sigma_for_a_far_target():
    y, mu = torch.tensor([3.0]), torch.tensor([0.0])
    assert float(gaussian_nll(y, mu, torch.tensor([3.0]))) < float(gaussian_nll(y, mu, torch.tensor([0.5])))


def test_pessimistic_target_on_hand_values():
    # r + γ(1 − d)(μ' − βσ' − α log π) = 1 + 0.9·(2 − 0.25 + 0.1) = 2.665; terminal: r
    out = pessimistic_target(torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0]), 0.9, torch.tensor([2.0, 2.0]),
                             torch.tensor([0.5, 0.5]), 0.5, 0.1, torch.tensor([-1.0, -1.0]))
    assert out.tolist() == pytest.approx([2.665, 1.0], abs=1e-6)
    # β = 0: no pessimism; a negative β is optimistic
    base = pessimistic_target(torch.tensor([0.0]), torch.tensor([0.0]), 1.0, torch.tensor([1.0]),
                              torch.tensor([2.0]), 0.0, 0.0, torch.tensor([0.0]))
    assert float(base) == pytest.approx(1.0)


def _batch(n: int = 5, obs_dim: int = 2, act_dim: int = 2) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {"obs": torch.randn(n, obs_dim, generator=g), "act": torch.rand(n, act_dim, generator=g) * 2 - 1,
            "rew": torch.randn(n, generator=g), "next_obs": torch.randn(n, obs_dim, generator=g),
            "done": torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0])}


def test_agent_target_is_the_pessimistic_target_of_the_target_critic():
    agent = STAC(STACConfig(beta=0.7, dropout=0.0, **TINY)).build(2, 2, seed=0)
    b = _batch()
    next_a, logp = torch.zeros(5, 2), torch.full((5,), -0.3)
    with torch.no_grad():
        mu, sd = agent.critic_target(torch.cat([b["next_obs"], next_a], -1))
        want = b["rew"] + 0.99 * (1 - b["done"]) * (mu - 0.7 * sd + 0.2 * 0.3)
        got = agent._target(b, next_a, logp, 0.2)
    assert torch.allclose(got, want, atol=1e-5)
    # the actor maximizes μ − β·σ
    with torch.no_grad():
        mu, sd = agent.critic(torch.cat([b["obs"], b["act"]], -1))
        assert torch.allclose(agent._actor_value(b["obs"], b["act"]), mu - 0.7 * sd, atol=1e-6)


def test_sigma_is_positive_with_a_floor():
    critic = GaussianCritic(3, 4, 1, 0.0, False)
    with torch.no_grad():
        critic.net[-1].weight.zero_()
        critic.net[-1].bias.copy_(torch.tensor([0.0, -100.0]))
    _, sd = critic(torch.randn(6, 3))
    assert torch.allclose(sd, torch.full((6,), math.log1p(math.exp(-5.0))), atol=1e-6)


def test_dropout_and_layer_norm_in_both_networks():
    agent = STAC(STACConfig(**TINY)).build(2, 2)
    for net in (agent.actor, agent.critic):
        drops = [m for m in net.modules() if isinstance(m, torch.nn.Dropout)]
        assert len(drops) == 2 and all(m.p == 0.01 for m in drops)
        assert sum(isinstance(m, torch.nn.LayerNorm) for m in net.modules()) == 2
    bare = STAC(STACConfig(dropout=0.0, **TINY)).build(2, 2)
    assert not any(isinstance(m, torch.nn.Dropout) for m in bare.critic.modules())


def test_learn_then_act_and_values():
    agent = STAC(STACConfig(**TINY)).learn(RiskyPointMass(num_envs=2), 40, seed=3)
    assert agent.updates > 0 and agent.log and np.isfinite(agent.cpu_seconds_per_update)
    obs = np.array([[0.9, 0.9], [0.2, 0.1]])
    a = agent.act(obs)
    assert a.shape == (2, 2) and np.all(np.abs(a) <= 1.0)
    np.testing.assert_array_equal(a, agent.act(obs))  # evaluation actions repeat
    assert agent.act(obs[0]).shape == (2,)
    assert agent.q_value(obs, a).shape == (2,) and np.all(agent.q_std(obs, a) > 0)
    again = STAC(STACConfig(**TINY)).learn(RiskyPointMass(num_envs=2), 40, seed=3)
    np.testing.assert_allclose(again.act(obs), a, atol=1e-6)  # seeded


def test_contract_errors_name_the_parameter():
    agent = STAC(STACConfig(**TINY))
    with pytest.raises(InvalidParameterError, match="'self'"):
        agent.act(np.zeros(2))
    with pytest.raises(InvalidParameterError, match="'steps'"):
        agent.learn(RiskyPointMass(), 0)
    with pytest.raises(InvalidParameterError, match="'env'"):
        agent.learn(object(), 10)
    with pytest.raises(InvalidParameterError, match="'config'"):
        STAC(config="fast")
    agent.learn(RiskyPointMass(), 12, seed=0)
    with pytest.raises(InputDataError, match="'obs'"):
        agent.act(np.zeros((3, 5)))
    with pytest.raises(InputDataError, match="'obs'"):
        agent.act([np.nan, 0.0])
    with pytest.raises(InvalidParameterError, match="'env'"):
        agent.learn(VelocityPendulum(), 5)  # other widths than in the first call


@contract_settings()
@given(st.sampled_from(["beta", "dropout", "eval_samples", "hidden", "layers", "lr", "batch_size", "gamma", "tau",
                        "buffer_size", "start_steps", "updates_per_step", "init_alpha", "target_entropy",
                        "log_every"]),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_config_fields(name, value):
    assert_contract(STACConfig, **{name: value}, names=(name,))


def test_config_refuses_a_dropout_of_one():
    with pytest.raises(GuardoptError, match="'dropout'"):
        STACConfig(dropout=1.0)
