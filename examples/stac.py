"""STAC on your own environment: a noisy thermostat, against twin-critic SAC.

Any vectorized environment with the gymnasium API works: ``reset(seed=)`` returns
``(obs (n, obs_dim), info)`` and ``step(actions (n, act_dim) in [-1, 1])`` returns
``(obs, reward (n,), terminated (n,), truncated (n,), info)``. Here a room's temperature drifts and
is heated or cooled by the action; the reward is minus the distance to 21 °C, plus noise (an
occupant opening windows), so the outcome of an action is uncertain — the aleatoric spread STAC's
critic learns. Run: ``python examples/stac.py`` (about 20 s on one CPU core).
"""

from __future__ import annotations

import numpy as np
import torch

from guardopt.rl import SAC, STAC, SACConfig, STACConfig, monte_carlo_value_bias


class NoisyThermostat:
    """Temperature T (°C) with dynamics T' = T + 0.1·(12 − T)·0.1 + 1.5·a + noise; 50-step episodes."""

    obs_dim, action_dim, max_episode_steps = 1, 1, 50

    def __init__(self, num_envs: int = 1) -> None:
        self.num_envs = num_envs
        self.rng = np.random.default_rng(0)
        self.temp = np.zeros(num_envs)
        self.t = 0

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.temp = self.rng.uniform(10.0, 30.0, self.num_envs)
        self.t = 0
        return self._obs(), {}

    def _obs(self) -> np.ndarray:
        return ((self.temp - 21.0) / 10.0)[:, None]

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        a = np.clip(np.asarray(action, dtype=float).reshape(self.num_envs), -1.0, 1.0)
        self.temp = self.temp + 0.01 * (12.0 - self.temp) + 1.5 * a + 0.3 * self.rng.standard_normal(self.num_envs)
        self.t += 1
        reward = -np.abs(self.temp - 21.0) / 10.0 + 0.2 * self.rng.standard_normal(self.num_envs)
        done = np.full(self.num_envs, self.t >= self.max_episode_steps)
        return self._obs(), reward, np.zeros(self.num_envs, bool), done, {}


def evaluate(agent: SAC | STAC, episodes: int = 8) -> float:
    env = NoisyThermostat(episodes)
    obs, _ = env.reset(seed=123)
    total = np.zeros(episodes)
    for _ in range(env.max_episode_steps):
        obs, r, *_ = env.step(agent.act(obs))
        total += r
    return float(total.mean())


def main() -> None:
    torch.set_num_threads(1)
    common = {"hidden": 32, "batch_size": 64, "start_steps": 100, "gamma": 0.95, "tau": 0.01, "log_every": 100}
    agents = {"STAC (beta = 0.5)": STAC(STACConfig(beta=0.5, **common)),
              "SAC (twin critics)": SAC(SACConfig(twin=True, **common))}
    for name, agent in agents.items():
        agent.learn(NoisyThermostat(), steps=400, seed=0)
        bias = monte_carlo_value_bias(agent, NoisyThermostat(8), steps=50, tail=50, seed=7)
        print(f"{name:20s} return {evaluate(agent):7.2f}   value bias {bias['bias']:+.2f}   "
              f"CPU ms/update {1e3 * agent.cpu_seconds_per_update:.2f}")


if __name__ == "__main__":
    main()
