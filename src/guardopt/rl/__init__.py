"""Safe offline reinforcement learning: datasets, shared pieces and learners (torch).

* Data (`guardopt.rl.data`): the D4RL/DSRL dictionary layout, ``.npz`` I/O, DSRL normalization.
* Shared pieces: `Lagrangian` and `PIDLagrangian` multipliers, expectile and reachability losses
  (`guardopt.rl.losses`), trajectory filters (`safe_episodes`), the evaluation loop (`evaluate`).
* Models: `GaussianEnsemble`, a probabilistic ensemble of Gaussian dynamics models (MOPO-style) for
  offline model-based RL.
* Learners, each with one frozen config, ``fit(dataset)``, ``act(obs)``, ``save``/``load`` and a
  training ``log``: `BC` (BC-All / BC-Safe), `CPQ`, `IQL`, `IQLLag`, `FISOR` (Zheng et al.,
  ICLR 2024; ``feasibility=False`` for its ablation).
* Model-based: `OGSRL` (Yan et al., NeurIPS 2025), PPO-Lagrangian in a learned model with the
  out-of-distribution `Guardian` (penalize and freeze guarded rollouts); without a guardian it is the
  unguarded MB-PPO-Lag baseline. `MOPO` (Yu et al. 2020): SAC on model rollouts penalized by one of the
  five uncertainty heuristics of `guardopt.rl.model_uncertainty` (Lu et al., ICLR 2022).
* Online agents, each with one frozen config, ``learn(env, steps)``, ``act(obs)``, ``q_value`` and
  a training ``log``: `SAC` (twin or single critic) and `STAC` (Özalp 2026: one Gaussian critic with
  pessimism μ − β·σ and dropout), sharing `guardopt.rl.online`.

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
from guardopt.rl.guardian import Guardian, GuardianConfig
from guardopt.rl.iql import IQL, IQLConfig, IQLLag, IQLLagConfig
from guardopt.rl.lagrangian import Lagrangian, PIDLagrangian
from guardopt.rl.model_uncertainty import (
    HEURISTICS,
    ensemble_std,
    ensemble_var,
    ll_variance,
    max_aleatoric,
    max_pairwise_diff,
    uncertainty,
)
from guardopt.rl.mopo import MOPO, MOPOConfig, MOPOSACConfig, SACAgent, model_rollout, penalized_reward
from guardopt.rl.ogsrl import OGSRL, OGSRLConfig, Rollout, combined_advantage, gae, guarded_rollout
from guardopt.rl.online import OnlineAgent, OnlineConfig, ReplayBuffer, monte_carlo_value_bias, time_updates
from guardopt.rl.sac import SAC, SACConfig, twin_min_target
from guardopt.rl.stac import STAC, STACConfig, gaussian_nll, pessimistic_target

__all__ = [
    "BC",
    "CPQ",
    "FISOR",
    "HEURISTICS",
    "IQL",
    "MOPO",
    "OGSRL",
    "SAC",
    "STAC",
    "BCConfig",
    "CPQConfig",
    "DynamicsConfig",
    "EnsemblePrediction",
    "EvaluationResult",
    "FISORConfig",
    "GaussianEnsemble",
    "Guardian",
    "GuardianConfig",
    "IQLConfig",
    "IQLLag",
    "IQLLagConfig",
    "Lagrangian",
    "MOPOConfig",
    "MOPOSACConfig",
    "OGSRLConfig",
    "OnlineAgent",
    "OnlineConfig",
    "PIDLagrangian",
    "ReplayBuffer",
    "Rollout",
    "SACAgent",
    "SACConfig",
    "STACConfig",
    "combined_advantage",
    "ensemble_std",
    "ensemble_var",
    "episode_slices",
    "episode_sums",
    "evaluate",
    "filter_episodes",
    "gae",
    "gaussian_nll",
    "guarded_rollout",
    "ll_variance",
    "load_dataset",
    "max_aleatoric",
    "max_pairwise_diff",
    "model_rollout",
    "monte_carlo_value_bias",
    "normalized_cost",
    "normalized_reward",
    "penalized_reward",
    "pessimistic_target",
    "reward_range",
    "safe_episodes",
    "save_dataset",
    "time_updates",
    "twin_min_target",
    "uncertainty",
    "validate_dataset",
]
