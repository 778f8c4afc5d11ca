"""SAC (twin and single critic), the shared online machinery (replay buffer, Monte-Carlo value
bias, interleaved timing) on hand-computed values, and the config contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InvalidParameterError
from guardopt.problems.safe_control import VelocityPendulum
from guardopt.rl import SAC, ReplayBuffer, SACConfig, monte_carlo_value_bias, time_updates, twin_min_target
from guardopt.testing.contracts import adversarial_floats, adversarial_scalars, assert_contract, contract_settings

TINY = {"hidden": 8, "batch_size": 8, "start_steps": 10, "log_every": 10}


def test_twin_min_target_on_hand_values():
    # min over critics [2, 1]; r + γ(1 − d)(min − α log π): 1 + 0.5·(2 + 0.2) = 2.1; terminal → r = 0
    out = twin_min_target(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 0.5,
                          torch.tensor([[3.0, 1.0], [2.0, 5.0]]), 0.2, torch.tensor([-1.0, 0.5]))
    assert out.tolist() == pytest.approx([2.1, 0.0], abs=1e-6)


@pytest.mark.parametrize("twin", [True, False])
def test_agent_target_uses_the_minimum_of_its_target_critics(twin):
    agent = SAC(SACConfig(twin=twin, **TINY)).build(3, 1, seed=0)
    g = torch.Generator().manual_seed(0)
    b = {"obs": torch.randn(4, 3, generator=g), "act": torch.zeros(4, 1), "rew": torch.ones(4),
         "next_obs": torch.randn(4, 3, generator=g), "done": torch.zeros(4)}
    a2, logp = torch.zeros(4, 1), torch.zeros(4)
    with torch.no_grad():
        qs = agent.critic_target(torch.cat([b["next_obs"], a2], -1))
        assert qs.shape == (2 if twin else 1, 4)
        assert torch.allclose(agent._target(b, a2, logp, 0.0), 1.0 + 0.99 * qs.min(0).values, atol=1e-6)


def test_separate_critics_have_the_same_shapes():
    agent = SAC(SACConfig(separate_critics=True, **TINY)).build(3, 1)
    out = agent.critic(torch.zeros(5, 4))
    assert out.shape == (2, 5)


def test_replay_buffer_wraps_around():
    buf = ReplayBuffer(1, 1, capacity=3)
    for i in range(5):
        buf.add(np.array([[i]]), np.array([[0.0]]), np.array([float(i)]), np.array([[i]]), np.array([0.0]))
    assert len(buf) == 3 and sorted(buf.rew.tolist()) == [2.0, 3.0, 4.0]
    batch = buf.sample(16, torch.Generator().manual_seed(0))
    assert batch["obs"].shape == (16, 1) and set(batch["rew"].tolist()) <= {2.0, 3.0, 4.0}


class _ConstantAgent:
    """Q̂ ≡ c, zero actions, log π ≡ −1, α = 0.5, γ = 0.9."""

    class config:  # mimics a config object
        gamma = 0.9

    alpha = 0.5

    def sample_with_log_prob(self, obs, seed=0):
        return np.zeros((len(obs), 1)), np.full(len(obs), -1.0)

    def q_value(self, obs, actions):
        return np.full(len(obs), 3.0)


class _OnesEnv:
    """Reward 1 every step, never ends by itself."""

    num_envs = 2

    def reset(self, seed=None):
        return np.zeros((2, 1)), {}

    def step(self, a):
        return np.zeros((2, 1)), np.ones(2), np.zeros(2, bool), np.zeros(2, bool), {}


def test_monte_carlo_bias_on_hand_values():
    # soft return from t: r_t + Σ_{k≥1} γ^k (1 + 0.5) over the remaining H − t steps (H = 3 + 2)
    out = monte_carlo_value_bias(_ConstantAgent(), _OnesEnv(), steps=3, tail=2)
    g = [1 + sum(0.9**k * 1.5 for k in range(1, 5 - t)) for t in range(3)]
    assert out["mc"] == pytest.approx(np.mean(g))
    assert out["bias"] == pytest.approx(3.0 - np.mean(g))
    assert out["q"] == pytest.approx(3.0)


def test_learn_act_and_timing():
    agent = SAC(SACConfig(**TINY)).learn(VelocityPendulum(num_envs=1, reward_noise=0.1), 30, seed=1)
    assert agent.updates == 21 and agent.log[-1]["step"] == 30.0
    a = agent.act(np.zeros((4, 3)))
    assert a.shape == (4, 1) and np.all(np.abs(a) <= 1)
    other = SAC(SACConfig(twin=False, **TINY)).build(3, 1)
    assert agent.buffer is not None
    times = time_updates([agent, other], agent.buffer, updates=4, blocks=2)
    assert len(times) == 2 and all(t > 0 for t in times)


def test_reward_noise_is_off_by_default_and_mean_zero():
    quiet, noisy = VelocityPendulum(num_envs=200), VelocityPendulum(num_envs=200, reward_noise=0.5)
    quiet.reset(seed=4)
    noisy.reset(seed=4)
    a = np.zeros((200, 1))
    r0, r1 = quiet.step(a)[1], noisy.step(a)[1]
    assert abs(float((r1 - r0).mean())) < 0.15 and 0.4 < float((r1 - r0).std()) < 0.6
    with pytest.raises(InvalidParameterError, match="'reward_noise'"):
        VelocityPendulum(reward_noise=-1.0)


@contract_settings()
@given(st.sampled_from(["twin", "hidden", "layers", "lr", "batch_size", "gamma", "tau", "buffer_size", "start_steps",
                        "updates_per_step", "init_alpha", "target_entropy", "log_every", "separate_critics"]),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_config_fields(name, value):
    assert_contract(SACConfig, **{name: value}, names=(name,))
