"""Safe offline reinforcement learning: datasets, shared pieces and learners (torch).

* Data (`guardopt.rl.data`): the D4RL/DSRL dictionary layout, ``.npz`` I/O, DSRL normalization.
* Shared pieces: `Lagrangian` and `PIDLagrangian` multipliers, expectile and reachability losses
  (`guardopt.rl.losses`), trajectory filters (`safe_episodes`), the evaluation loop (`evaluate`).
* Models: `GaussianEnsemble`, a probabilistic ensemble of Gaussian dynamics models (MOPO-style) for
  offline model-based RL.
* Learners, each with one frozen config, ``fit(dataset)``, ``act(obs)``, ``save``/``load`` and a
  training ``log``: `BC` (BC-All / BC-Safe), `CPQ`, `IQL`, `IQLLag`, `FISOR` (Zheng et al.,
  ICLR 2024; ``feasibility=False`` for its ablation).

The environments and scripted data collection live in `guardopt.problems.safe_control`.
"""

from guardopt.rl.bc import BC, BCConfig
from guardopt.rl.cpq import CPQ, CPQConfig
from guardopt.rl.data import (
    episode_slices,
    episode_sums,
    load_dataset,
    normalized_cost,
    normalized_reward,
    reward_range,
    save_dataset,
    validate_dataset,
)
from guardopt.rl.dynamics import DynamicsConfig, EnsemblePrediction, GaussianEnsemble
from guardopt.rl.evaluation import EvaluationResult, evaluate
from guardopt.rl.filters import filter_episodes, safe_episodes
from guardopt.rl.fisor import FISOR, FISORConfig
from guardopt.rl.iql import IQL, IQLConfig, IQLLag, IQLLagConfig
from guardopt.rl.lagrangian import Lagrangian, PIDLagrangian

__all__ = [
    "BC",
    "CPQ",
    "FISOR",
    "IQL",
    "BCConfig",
    "CPQConfig",
    "DynamicsConfig",
    "EnsemblePrediction",
    "EvaluationResult",
    "FISORConfig",
    "GaussianEnsemble",
    "IQLConfig",
    "IQLLag",
    "IQLLagConfig",
    "Lagrangian",
    "PIDLagrangian",
    "episode_slices",
    "episode_sums",
    "evaluate",
    "filter_episodes",
    "load_dataset",
    "normalized_cost",
    "normalized_reward",
    "reward_range",
    "safe_episodes",
    "save_dataset",
    "validate_dataset",
]

# Offline model-based RL: the uncertainty heuristics and MOPO (Lu et al., ICLR 2022; Yu et al., 2020).
from guardopt.rl.model_uncertainty import (
    HEURISTICS,
    ensemble_std,
    ensemble_var,
    ll_variance,
    max_aleatoric,
    max_pairwise_diff,
    uncertainty,
)
from guardopt.rl.mopo import MOPO, MOPOConfig, SACAgent, SACConfig, model_rollout, penalized_reward

__all__ += [
    "HEURISTICS",
    "MOPO",
    "MOPOConfig",
    "SACAgent",
    "SACConfig",
    "ensemble_std",
    "ensemble_var",
    "ll_variance",
    "max_aleatoric",
    "max_pairwise_diff",
    "model_rollout",
    "penalized_reward",
    "uncertainty",
]
