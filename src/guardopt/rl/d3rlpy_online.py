"""Third-party cross-check of our online SAC: d3rlpy's SAC (``fit_online``) on a guardopt environment.

d3rlpy (Seno & Imai, JMLR 2022) trains online on a single (not vectorized) gymnasium environment;
`as_gymnasium` wraps one copy of a `guardopt.problems.safe_control.SafeControlEnv` as one. d3rlpy
and gymnasium are optional dependencies, imported here lazily; `fit_d3rlpy_sac` raises ImportError
when either is absent. d3rlpy seeds its own (global) generators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from guardopt.core.errors import check_int

__all__ = ["as_gymnasium", "fit_d3rlpy_sac"]


def as_gymnasium(env: Any) -> Any:
    """A ``gymnasium.Env`` over a one-copy vectorized environment (``num_envs == 1``)."""
    import gymnasium
    from gymnasium import spaces

    if getattr(env, "num_envs", None) != 1:
        from guardopt.core.errors import InvalidParameterError

        raise InvalidParameterError("env", "as_gymnasium", "a vectorized environment with num_envs == 1",
                                    getattr(env, "num_envs", env))

    class _Single(gymnasium.Env):
        observation_space = spaces.Box(-np.inf, np.inf, shape=(env.obs_dim,), dtype=np.float32)
        action_space = spaces.Box(-1.0, 1.0, shape=(env.action_dim,), dtype=np.float32)

        def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
            obs, _ = env.reset(seed=seed)
            return obs[0].astype(np.float32), {}

        def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
            obs, r, term, trunc, _ = env.step(np.asarray(action, dtype=float).reshape(1, -1))
            return obs[0].astype(np.float32), float(r[0]), bool(term[0]), bool(trunc[0]), {}

    return _Single()


def fit_d3rlpy_sac(env: Any, steps: int, seed: int = 0, hidden: int = 64, lr: float = 3e-4, batch_size: int = 256,
                   gamma: float = 0.99, tau: float = 0.005, start_steps: int = 1000,
                   initial_temperature: float = 0.2) -> Callable[[np.ndarray], np.ndarray]:
    """Train d3rlpy's SAC (twin critics) online for ``steps`` transitions on ``env`` (one copy).

    The same settings as ours: two ``hidden``-wide layers, one update per step after ``start_steps``
    random steps, the learning rate for actor, critics and temperature. Returns the greedy policy
    ``obs (B, obs_dim) -> actions (B, act_dim)``.
    """
    import d3rlpy
    from d3rlpy.models.encoders import VectorEncoderFactory

    steps = check_int(steps, "steps", "fit_d3rlpy_sac", low=1, high=100_000_000)
    d3rlpy.seed(int(seed))
    genv = as_gymnasium(env)
    genv.reset(seed=int(seed))
    enc = VectorEncoderFactory([hidden, hidden])
    algo = d3rlpy.algos.SACConfig(batch_size=batch_size, gamma=gamma, tau=tau, actor_learning_rate=lr,
                                  critic_learning_rate=lr, temp_learning_rate=lr, actor_encoder_factory=enc,
                                  critic_encoder_factory=enc, initial_temperature=initial_temperature
                                  ).create(device="cpu:0")
    buffer = d3rlpy.dataset.create_fifo_replay_buffer(limit=max(steps, 1), env=genv)
    algo.fit_online(genv, buffer, n_steps=steps, n_steps_per_epoch=steps, update_start_step=start_steps,
                    random_steps=start_steps, show_progress=False, save_interval=10**9,
                    logger_adapter=d3rlpy.logging.NoopAdapterFactory())

    def act(obs: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(algo.predict(np.asarray(obs, dtype=np.float32)), dtype=float), -1.0, 1.0)

    return act
