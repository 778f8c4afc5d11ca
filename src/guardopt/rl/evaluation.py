"""Evaluation loop: run a policy in a vectorized safe-control environment, report DSRL-normalized
reward and cost per episode (Liu et al. 2023, DSRL: R_n = (R − R_min)/(R_max − R_min),
C_n = C/κ)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from guardopt.core.errors import InvalidParameterError, check_int
from guardopt.rl.data import normalized_cost, normalized_reward

__all__ = ["EvaluationResult", "evaluate"]


@dataclass(frozen=True)
class EvaluationResult:
    """Per-episode returns, costs and their DSRL normalizations (arrays of length ``episodes``)."""

    returns: np.ndarray
    costs: np.ndarray
    normalized_rewards: np.ndarray
    normalized_costs: np.ndarray

    @property
    def reward(self) -> float:
        """Mean normalized reward."""
        return float(self.normalized_rewards.mean())

    @property
    def cost(self) -> float:
        """Mean normalized cost."""
        return float(self.normalized_costs.mean())


def evaluate(policy: Callable[[np.ndarray], np.ndarray] | Any, env_factory: Callable[[int], Any], episodes: int,
             seed: int, reward_range: tuple[float, float], cost_limit: float) -> EvaluationResult:
    """Run ``episodes`` episodes at once in ``env_factory(episodes)`` (a `SafeControlEnv`).

    Args:
        policy: A learner (its ``act``) or a callable ``obs (B, obs_dim) -> actions (B, act_dim)``.
        env_factory: ``num_envs -> env``.
        episodes: Episodes (run as parallel copies).
        seed: Seed of the environment's resets.
        reward_range: (R_min, R_max) of the normalization (usually the dataset's).
        cost_limit: κ of the normalization.
    """
    episodes = check_int(episodes, "episodes", "evaluate", low=1, high=100_000)
    seed = check_int(seed, "seed", "evaluate", low=0)
    if not callable(getattr(policy, "act", None)) and not callable(policy):
        raise InvalidParameterError("policy", "evaluate", "a learner with act(obs) or a callable obs -> actions",
                                    policy)
    if not callable(env_factory):
        raise InvalidParameterError("env_factory", "evaluate", "a callable num_envs -> env", env_factory)
    # Check the normalizers before running any episode (they would otherwise fail only at the end).
    try:
        r_min, r_max = reward_range
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError("reward_range", "evaluate", "a pair (R_min, R_max)", reward_range) from exc
    normalized_reward(np.zeros(1), r_min, r_max)
    normalized_cost(np.zeros(1), cost_limit)
    learner = hasattr(policy, "act")
    env = env_factory(episodes)
    obs, _ = env.reset(seed=seed)
    ret = np.zeros(episodes)
    cost = np.zeros(episodes)
    done = np.zeros(episodes, dtype=bool)
    step = 0
    while not done.all():
        # A learner gets a per-step seed for its own sampling (the diffusion policy), so runs repeat.
        a = policy.act(obs, seed=seed + step) if learner else policy(obs)  # type: ignore[union-attr]
        obs, r, term, trunc, info = env.step(np.asarray(a, dtype=float))
        ret += np.where(done, 0.0, r)
        cost += np.where(done, 0.0, info["cost"])
        done |= term | trunc
        step += 1
    return EvaluationResult(ret, cost, normalized_reward(ret, r_min, r_max), normalized_cost(cost, cost_limit))
