"""Third-party cross-check: d3rlpy's BC and IQL (reward only) on a guardopt dataset.

d3rlpy (Seno & Imai, JMLR 2022) has no cost support, so it cross-checks only our reward-side
learners (BC-All and reward-only `IQL`). d3rlpy is an optional dependency, imported here lazily;
`fit_d3rlpy` raises ImportError when it is absent. d3rlpy seeds its own (global) generators.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from guardopt.core.errors import check_choice
from guardopt.rl.data import episode_slices, validate_dataset

__all__ = ["fit_d3rlpy"]


def fit_d3rlpy(kind: str, dataset: dict[str, np.ndarray], steps: int, seed: int = 0, hidden: int = 128,
               lr: float = 3e-4, batch_size: int = 256) -> Callable[[np.ndarray], np.ndarray]:
    """Train d3rlpy's ``"bc"`` or ``"iql"`` and return ``obs (B, obs_dim) -> actions (B, act_dim)``.

    The same preprocessing as ours: standardized observations, and for IQL rewards scaled by
    max_episode_steps / (R_max − R_min); encoders of two ``hidden``-wide layers; d3rlpy's IQL
    defaults otherwise (expectile 0.7, weight temperature 3).
    """
    check_choice(kind, "kind", "fit_d3rlpy", ("bc", "iql"))
    import d3rlpy
    from d3rlpy.models.encoders import VectorEncoderFactory

    data = validate_dataset(dataset, "fit_d3rlpy")
    d3rlpy.seed(int(seed))
    mdp = d3rlpy.dataset.MDPDataset(observations=data["observations"].astype(np.float32),
                                    actions=data["actions"].astype(np.float32),
                                    rewards=data["rewards"].astype(np.float32),
                                    terminals=data["terminals"].astype(np.float32),
                                    timeouts=data["timeouts"].astype(np.float32))
    enc = VectorEncoderFactory([hidden, hidden])
    obs_scaler = d3rlpy.preprocessing.StandardObservationScaler()
    if kind == "bc":
        algo = d3rlpy.algos.BCConfig(batch_size=batch_size, learning_rate=lr, encoder_factory=enc,
                                     observation_scaler=obs_scaler).create(device="cpu:0")
    else:
        slices = episode_slices(data)
        returns = np.array([data["rewards"][s].sum() for s in slices])
        spread = float(returns.max() - returns.min())
        scale = max(s.stop - s.start for s in slices) / spread if spread > 1e-9 else 1.0
        algo = d3rlpy.algos.IQLConfig(batch_size=batch_size, actor_learning_rate=lr, critic_learning_rate=lr,
                                      actor_encoder_factory=enc, critic_encoder_factory=enc,
                                      value_encoder_factory=enc, observation_scaler=obs_scaler,
                                      reward_scaler=d3rlpy.preprocessing.MultiplyRewardScaler(scale)
                                      ).create(device="cpu:0")
    algo.fit(mdp, n_steps=int(steps), n_steps_per_epoch=int(steps), show_progress=False,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory())

    def act(obs: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(algo.predict(np.asarray(obs, dtype=np.float32)), dtype=float), -1.0, 1.0)

    return act
