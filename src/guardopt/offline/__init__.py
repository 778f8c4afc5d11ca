"""Offline optimization against learned surrogates and reward models, guarded against their errors.

Two guards against an optimizer exploiting where a learned model is wrong:

- IGNITE (Dao et al., 2025): regularize the surrogate's sharpness while it is trained
  (`SharpnessPenalty`, `Ignite`, `IgniteConfig`);
- ensemble pessimism (Coste et al., ICLR 2024): score candidates by the worst case or the
  mean-minus-variance of an ensemble (`combine`, `RewardEnsemble`, `ensemble_score`), with
  best-of-n selection estimated without bias (`best_of_n`), and PPO of a Gaussian response policy
  against a single or combined proxy reward with a KL penalty to the reference (`ppo_optimize`,
  `PPOConfig`, `ensemble_reward`).

Plus the offline MBO loop on `guardopt.problems.offline_tasks` tasks (`run_offline`, `OfflineConfig`)
with the Grad, Grad-Mean, Grad-Min and COMs baselines.

torch is needed for the surrogate parts (``pip install guardopt[torch]``). Importing this package does
not import torch: names are loaded on first access. torch's thread count is never changed by the
library; set it yourself with ``torch.set_num_threads(n)`` (small MLPs run fastest with 1 thread).
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES: dict[str, str] = {
    # numpy-only
    "best_of_n": "bon",
    "bon_weights": "bon",
    "monte_carlo_best_of_n": "bon",
    "kl_best_of_n": "bon",
    "log_binom": "bon",
    "combine": "ensembles",
    "COMBINERS": "ensembles",
    # torch
    "IgniteConfig": "ignite",
    "SharpnessPenalty": "ignite",
    "Ignite": "ignite",
    "finite_difference_sharpness_grad": "ignite",
    "prediction_gradient": "ignite",
    "ConservativeConfig": "coms",
    "ConservativePenalty": "coms",
    "MLP": "nets",
    "MLPConfig": "nets",
    "make_mlp": "nets",
    "TrainConfig": "training",
    "TrainHistory": "training",
    "train_regressor": "training",
    "gradient_ascent": "search",
    "ensemble_score": "search",
    "torch_worst_case": "search",
    "torch_uncertainty_weighted": "search",
    "OfflineConfig": "mbo",
    "OfflineResult": "mbo",
    "DesignCodec": "mbo",
    "run_offline": "mbo",
    "top_k": "mbo",
    "METHODS": "mbo",
    "RewardModelConfig": "reward_models",
    "RewardEnsemble": "reward_models",
    "train_reward_model": "reward_models",
    # PPO against a (combined) proxy reward (numpy-only)
    "PPOConfig": "ppo",
    "PPOHistory": "ppo",
    "PPOResult": "ppo",
    "ensemble_reward": "ppo",
    "gaussian_kl": "ppo",
    "gaussian_log_prob": "ppo",
    "ppo_clip_grad": "ppo",
    "ppo_clip_loss": "ppo",
    "ppo_optimize": "ppo",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'guardopt.offline' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"guardopt.offline.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
