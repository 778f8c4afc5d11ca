"""MOPO: offline RL on uncertainty-penalized rollouts of a learned dynamics ensemble (torch).

Papers: T. Yu et al., "MOPO: Model-based Offline Policy Optimization", NeurIPS 2020; and the
design-choice study built on it, C. Lu, P. J. Ball, J. Parker-Holder, M. A. Osborne & S. J. Roberts,
"Revisiting Design Choices in Offline Model-Based Reinforcement Learning", ICLR 2022 (arXiv
2110.04135). The method:

1. Fit a `GaussianEnsemble` of N Gaussian models of ``(s' − s, r)`` on the offline data (or pass
   one already fitted: an ensemble of N_max ≥ N members is used through its first N members, so
   one fit serves every ensemble size, as in the paper's ensemble-size study).
2. Every ``rollout_every`` SAC steps, start ``rollout_batch`` rollouts of length h from dataset
   states; each step draws the action from the current policy, the next state and reward from a
   random elite member, and stores the penalized reward r̃ = r̂ − λ·u(s, a), with u one of the
   heuristics of `guardopt.rl.model_uncertainty` computed over all N members (as MOPO's and
   OfflineRL-Kit's code do). Model transitions are kept for ``model_retain`` rounds.
3. Train SAC (twin critics, automatic temperature; Haarnoja et al. 2018) on minibatches that mix a
   ``real_ratio`` share of dataset transitions with model transitions (MOPO: 5% real).

Defaults are MOPO's where the CPU scale allows (max-aleatoric penalty, N = 7 with 5 elites, h = 5,
λ = 1, real ratio 0.05, γ = 0.99, τ = 0.005, Adam 3e-4, target entropy −dim(A)); the number of
updates, the rollout batch and the network width are scaled down (MOPO: 1M-step SAC, 50,000
rollouts every 1,000 steps, 256-wide networks). A rollout row stops early (it is not a terminal)
when the model moves it outside the dataset's observation box widened by its range on each side:
MOPO relies on the task's termination function instead, which our tasks do not have.

`SACAgent` is the actor-critic update on its own (it takes minibatches of tensors and knows
nothing of models), so MOPO's policy optimizer can be swapped or shared.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_bool,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.rl.base import soft_update
from guardopt.rl.data import validate_dataset
from guardopt.rl.dynamics import DynamicsConfig, GaussianEnsemble
from guardopt.rl.model_uncertainty import HEURISTICS, subset
from guardopt.rl.nets import Ensemble, mlp

__all__ = ["MOPO", "MOPOConfig", "MOPOSACConfig", "SACAgent", "model_rollout", "penalized_reward"]

_LOG_STD_MIN, _LOG_STD_MAX = -5.0, 2.0


# --------------------------------------------------------------------------------------------------
# SAC: the policy optimizer
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MOPOSACConfig:
    """Config of `SACAgent` (SAC with twin critics and a learned temperature).

    Args:
        hidden: Width of the 2-layer MLPs (actor and each critic).
        lr: Adam rate of actor, critics and temperature.
        gamma: Discount.
        tau: Polyak rate of the target critics.
        init_alpha: Initial temperature α.
        target_entropy: Entropy target; None means −dim(A) (SAC's default).
    """

    hidden: int = 64
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    init_alpha: float = 0.1
    target_entropy: float | None = None

    def __post_init__(self) -> None:
        owner = "MOPOSACConfig"
        check_int(self.hidden, "hidden", owner, low=1, high=65_536)
        check_in_range(self.lr, "lr", owner, 0.0, 1.0)
        check_in_range(self.gamma, "gamma", owner, 0.0, 1.0, low_open=False)
        check_in_range(self.tau, "tau", owner, 0.0, 1.0, high_open=False)
        check_in_range(self.init_alpha, "init_alpha", owner, 0.0, 1e6)
        if self.target_entropy is not None:
            check_in_range(self.target_entropy, "target_entropy", owner, -1e6, 1e6)


class SACAgent:
    """SAC's update on minibatches of tensors (observations already normalized).

    ``update(batch)`` takes ``observations (B, obs_dim)``, ``actions (B, act_dim)`` in [-1, 1],
    ``rewards (B,)``, ``next_observations (B, obs_dim)`` and ``terminals (B,)`` and performs one
    critic, actor and temperature step. ``act(obs, deterministic=True)`` returns tanh(mean).
    """

    def __init__(self, obs_dim: int, act_dim: int, config: MOPOSACConfig | None = None) -> None:
        config = MOPOSACConfig() if config is None else config
        if not isinstance(config, MOPOSACConfig):
            raise InvalidParameterError("config", "SACAgent", "a MOPOSACConfig", config)
        self.config = config
        self.obs_dim = check_int(obs_dim, "obs_dim", "SACAgent", low=1)
        self.act_dim = check_int(act_dim, "act_dim", "SACAgent", low=1)
        h = config.hidden
        self.actor = mlp(obs_dim, 2 * act_dim, h)
        self.critic = Ensemble(obs_dim + act_dim, h, k=2)
        self.target = copy.deepcopy(self.critic)
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(config.init_alpha)))
        self.target_entropy = float(-act_dim if config.target_entropy is None else config.target_entropy)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.lr, foreach=True)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=config.lr, foreach=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=config.lr)

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None,
               deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """A tanh-squashed Gaussian action ``(B, act_dim)`` and its log-density ``(B,)``."""
        mu, log_std = self.actor(obs).chunk(2, dim=-1)
        log_std = log_std.clamp(_LOG_STD_MIN, _LOG_STD_MAX)
        if deterministic:
            return torch.tanh(mu), torch.zeros(obs.shape[0])
        eps = torch.randn(mu.shape, generator=generator)
        pre = mu + log_std.exp() * eps
        a = torch.tanh(pre)
        # log N(pre; mu, std) minus the tanh Jacobian, in the numerically stable softplus form.
        logp = (-0.5 * eps**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2.0 * (math.log(2.0) - pre - nn.functional.softplus(-2.0 * pre))).sum(-1)
        return a, logp

    def update(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> dict[str, float]:
        """One SAC step; returns the losses, the mean Q and α."""
        cfg = self.config
        s, a, r = batch["observations"], batch["actions"], batch["rewards"]
        s2, done = batch["next_observations"], batch["terminals"]
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            a2, logp2 = self.sample(s2, generator)
            q2 = self.target(torch.cat([s2, a2], -1)).min(0).values - alpha * logp2
            y = r + cfg.gamma * (1.0 - done) * q2
        q = self.critic(torch.cat([s, a], -1))
        critic_loss = (q - y).pow(2).mean(1).sum()
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        a_new, logp = self.sample(s, generator)
        q_new = self.critic(torch.cat([s, a_new], -1)).min(0).values
        actor_loss = (alpha * logp - q_new).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad()
        alpha_loss.backward()
        self.alpha_opt.step()
        soft_update(self.target, self.critic, cfg.tau)
        return {"critic_loss": float(critic_loss.detach()), "actor_loss": float(actor_loss.detach()),
                "q": float(q.detach().mean()), "alpha": float(alpha)}

    @property
    def modules(self) -> dict[str, nn.Module]:
        return {"actor": self.actor, "critic": self.critic, "target": self.target}


# --------------------------------------------------------------------------------------------------
# Penalized model rollouts
# --------------------------------------------------------------------------------------------------


def penalized_reward(reward: Any, u: Any, penalty: float) -> np.ndarray:
    """MOPO's reward r̃ = r̂ − λ·u: ``reward`` and ``u`` of one shape, ``penalty`` λ ≥ 0."""
    owner = "penalized_reward"
    lam = check_in_range(penalty, "penalty", owner, 0.0, 1e6, low_open=False)
    r = as_float_array(reward, "reward", owner, finite=True)
    v = as_float_array(u, "u", owner, finite=True)
    if r.shape != v.shape:
        raise InputDataError(f"The 'u' argument of {owner} must have the shape of 'reward' {r.shape}. "
                             f"Got shape {v.shape} instead.")
    if np.any(v < 0):
        raise InputDataError(f"The 'u' argument of {owner} must be non-negative (an uncertainty). "
                             "Got a negative value instead.")
    with np.errstate(over="ignore", invalid="ignore"):
        out = r - lam * v
    if not np.all(np.isfinite(out)):
        raise InputDataError(f"The 'u' argument of {owner} overflowed the penalized reward (values too large). "
                             "Got a non-finite result instead.")
    return out


def _elites_within(model: GaussianEnsemble, members: int, elites: int) -> np.ndarray:
    """The ``elites`` members with the lowest held-out error among the first ``members``."""
    mse = np.asarray(model.holdout_mse, dtype=float)[:members]
    return np.argsort(mse, kind="stable")[: min(elites, members)]


def model_rollout(model: GaussianEnsemble, policy: Any, start_obs: Any, horizon: int, heuristic: str,
                  penalty: float, rng: np.random.Generator, members: int | None = None, elites: int = 5,
                  bounds: tuple[np.ndarray, np.ndarray] | None = None,
                  with_reward: bool = False) -> dict[str, np.ndarray]:
    """Penalized rollouts of length ``horizon`` from ``start_obs (B, obs_dim)`` in the model.

    Args:
        model: A fitted `GaussianEnsemble`.
        policy: ``obs (B, obs_dim) -> actions (B, act_dim)`` in [-1, 1].
        start_obs: Start states (dataset observations).
        horizon: Rollout length h ≥ 1.
        heuristic: A key of `guardopt.rl.model_uncertainty.HEURISTICS`.
        penalty: λ ≥ 0.
        rng: Draws the elite member and the Gaussian sample of each step.
        members: Use the first ``members`` members of the ensemble (None: all).
        elites: Elites among them (the best on held-out error); steps sample from these.
        bounds: ``(low, high)`` observation box; a row whose next state leaves it stops there.
        with_reward: Compute the heuristic on ``[s', r]`` instead of ``s'``.

    Returns:
        A transition dict with ``observations (M, obs_dim)``, ``actions (M, act_dim)``,
        ``rewards (M,)`` (penalized), ``raw_rewards (M,)``, ``uncertainty (M,)``,
        ``next_observations (M, obs_dim)``, ``terminals (M,)`` (all False) and ``step (M,)``
        (position in the rollout), with ``M ≤ B·horizon`` (fewer when rows stop early).
    """
    owner = "model_rollout"
    if not isinstance(model, GaussianEnsemble) or not model.fitted:
        raise InvalidParameterError("model", owner, "a fitted GaussianEnsemble", model)
    horizon = check_int(horizon, "horizon", owner, low=1, high=10_000)
    check_choice(heuristic, "heuristic", owner, tuple(HEURISTICS))
    lam = check_in_range(penalty, "penalty", owner, 0.0, 1e6, low_open=False)
    if not isinstance(rng, np.random.Generator):
        raise InvalidParameterError("rng", owner, "a numpy Generator", rng)
    n_members = model.config.members if members is None else check_int(members, "members", owner, low=1,
                                                                          high=model.config.members)
    check_int(elites, "elites", owner, low=1)
    if not callable(policy):
        raise InvalidParameterError("policy", owner, "a callable obs (B, obs_dim) -> actions (B, act_dim)", policy)
    check_bool(with_reward, "with_reward", owner)
    s = as_float_array(start_obs, "start_obs", owner, finite=True, min_size=1)
    if s.ndim != 2 or s.shape[1] != model.obs_dim:
        raise InputDataError(f"The 'start_obs' argument of {owner} must have shape (B, {model.obs_dim}). "
                             f"Got shape {s.shape} instead.")
    if bounds is not None:
        try:
            low, high = (as_float_array(b, "bounds", owner) for b in bounds)
        except (TypeError, ValueError) as exc:  # not a pair
            raise InvalidParameterError("bounds", owner, f"None or a pair (low, high) of {model.obs_dim} values",
                                        bounds) from exc
        if low.shape not in ((), (model.obs_dim,)) or high.shape not in ((), (model.obs_dim,)) or np.isnan(
                low).any() or np.isnan(high).any():
            raise InvalidParameterError("bounds", owner, f"None or a pair (low, high) of {model.obs_dim} values",
                                        bounds)
        bounds = (low, high)
    elite_idx = _elites_within(model, n_members, elites)
    keys = ("observations", "actions", "rewards", "raw_rewards", "uncertainty", "next_observations", "step")
    out: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for t in range(horizon):
        a = as_float_array(policy(s), "policy", owner)
        if a.size != s.shape[0] * model.act_dim:
            raise InputDataError(f"The 'policy' argument of {owner} must return actions of shape "
                                 f"({s.shape[0]}, {model.act_dim}). Got shape {a.shape} instead.")
        a = a.reshape(s.shape[0], model.act_dim)
        pred = subset(model.predict(s, a), n_members)
        member = elite_idx[rng.integers(0, elite_idx.size, s.shape[0])]
        rows = np.arange(s.shape[0])
        s2 = pred.next_obs_mean[member, rows] + pred.next_obs_std[member, rows] * rng.standard_normal(s.shape)
        r = pred.reward_mean[member, rows] + pred.reward_std[member, rows] * rng.standard_normal(s.shape[0])
        u = HEURISTICS[heuristic](pred, s2, r, with_reward)
        for k, v in (("observations", s), ("actions", a), ("rewards", r - lam * u), ("raw_rewards", r),
                     ("uncertainty", u), ("next_observations", s2), ("step", np.full(s.shape[0], t))):
            out[k].append(v)
        keep = np.all(np.isfinite(s2), axis=1)
        if bounds is not None:
            keep &= np.all((s2 >= bounds[0]) & (s2 <= bounds[1]), axis=1)
        s = s2[keep]
        if s.shape[0] == 0:
            break
    res = {k: np.concatenate(v) for k, v in out.items()}
    res["terminals"] = np.zeros(res["rewards"].shape[0], dtype=bool)
    return res


# --------------------------------------------------------------------------------------------------
# MOPO
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MOPOConfig:
    """Config of `MOPO`: the four design choices the paper tunes, then the training schedule.

    Args:
        heuristic: Uncertainty heuristic u (a key of `HEURISTICS`; MOPO: ``"max_aleatoric"``).
        members: Ensemble size N (MOPO: 7).
        elites: Elite members the rollouts sample from (MOPO: 5; capped at N).
        horizon: Rollout length h (MOPO: 1 or 5).
        penalty: Penalty weight λ ≥ 0 (MOPO: about 1; 0 is the unpenalized MBPO).
        real_ratio: Share of dataset transitions in every SAC minibatch (MOPO: 0.05).
        steps: SAC updates.
        batch_size: SAC minibatch.
        rollout_every: SAC updates between rollout rounds (the first round is before update 0).
        rollout_batch: Start states per round.
        model_retain: Rounds of model transitions kept in the model buffer.
        with_reward: Heuristic on ``[s', r]`` (MOPO's code) instead of ``s'`` (the paper's formulas).
        sac: The policy optimizer's config.
        dynamics: Config of the ensemble `fit` trains when none is passed (None: MOPO's, with
            ``members`` and ``elites`` from this config).
    """

    heuristic: str = "max_aleatoric"
    members: int = 7
    elites: int = 5
    horizon: int = 5
    penalty: float = 1.0
    real_ratio: float = 0.05
    steps: int = 2000
    batch_size: int = 256
    rollout_every: int = 250
    rollout_batch: int = 500
    model_retain: int = 4
    with_reward: bool = False
    sac: MOPOSACConfig = field(default_factory=MOPOSACConfig)
    dynamics: DynamicsConfig | None = None

    def __post_init__(self) -> None:
        owner = "MOPOConfig"
        check_choice(self.heuristic, "heuristic", owner, tuple(HEURISTICS))
        check_int(self.members, "members", owner, low=1, high=100)
        check_int(self.elites, "elites", owner, low=1, high=100)
        check_int(self.horizon, "horizon", owner, low=1, high=1000)
        check_in_range(self.penalty, "penalty", owner, 0.0, 1e6, low_open=False)
        check_in_range(self.real_ratio, "real_ratio", owner, 0.0, 1.0, low_open=False, high_open=False)
        check_int(self.steps, "steps", owner, low=1, high=10_000_000)
        check_int(self.batch_size, "batch_size", owner, low=2, high=1_000_000)
        check_int(self.rollout_every, "rollout_every", owner, low=1, high=10_000_000)
        check_int(self.rollout_batch, "rollout_batch", owner, low=1, high=10_000_000)
        check_int(self.model_retain, "model_retain", owner, low=1, high=10_000)
        check_bool(self.with_reward, "with_reward", owner)
        if not isinstance(self.sac, MOPOSACConfig):
            raise InvalidParameterError("sac", owner, "a MOPOSACConfig", self.sac)
        if self.dynamics is not None and not isinstance(self.dynamics, DynamicsConfig):
            raise InvalidParameterError("dynamics", owner, "a DynamicsConfig or None", self.dynamics)
        if self.dynamics is not None and self.dynamics.members < self.members:
            raise InvalidParameterError("dynamics", owner, f"a DynamicsConfig with at least {self.members} members",
                                        self.dynamics.members)


class MOPO:
    """MOPO on an offline dataset (D4RL/DSRL layout). ``MOPO(MOPOConfig(...)).fit(data).act(obs)``.

    ``fit(dataset, seed, model=None)``: pass an already fitted `GaussianEnsemble` with at least
    ``members`` members to skip the model fit (its first ``members`` members are used).
    ``log`` holds one dict per rollout round (SAC losses, the mean uncertainty and rewards of the
    new model data). ``model_data`` is the final model buffer.
    """

    def __init__(self, config: MOPOConfig | None = None) -> None:
        config = MOPOConfig() if config is None else config
        if not isinstance(config, MOPOConfig):
            raise InvalidParameterError("config", "MOPO", "a MOPOConfig", config)
        self.config = config
        self.log: list[dict[str, float]] = []
        self.model: GaussianEnsemble | None = None
        self.agent: SACAgent | None = None
        self.model_data: dict[str, np.ndarray] = {}
        self._mean = np.zeros(0)
        self._std = np.ones(0)

    @property
    def fitted(self) -> bool:
        return self.agent is not None

    def fit(self, dataset: dict[str, np.ndarray], seed: int = 0, model: GaussianEnsemble | None = None) -> MOPO:
        """Fit (or reuse) the ensemble, then train SAC on penalized rollouts mixed with real data."""
        owner = "MOPO.fit"
        seed = check_int(seed, "seed", owner, low=0)
        cfg = self.config
        data = validate_dataset(dataset, owner)
        if np.abs(data["actions"]).max() > 1.0 + 1e-6:
            raise InputDataError(f"The 'dataset[\"actions\"]' argument of {owner} must lie in [-1, 1] "
                                 "(normalize actions first).")
        obs_dim, act_dim = data["observations"].shape[1], data["actions"].shape[1]
        if model is None:
            dyn = cfg.dynamics or DynamicsConfig(members=cfg.members, elites=min(cfg.elites, cfg.members))
            model = GaussianEnsemble(dyn).fit(data, seed=seed)
        elif not isinstance(model, GaussianEnsemble) or not model.fitted:
            raise InvalidParameterError("model", owner, "a fitted GaussianEnsemble or None", model)
        if model.config.members < cfg.members or (model.obs_dim, model.act_dim) != (obs_dim, act_dim):
            raise InvalidParameterError("model", owner, f"an ensemble of at least {cfg.members} members on "
                                        f"({obs_dim}, {act_dim})-dimensional data",
                                        f"{model.config.members} members on ({model.obs_dim}, {model.act_dim})")
        self.model = model
        obs = data["observations"]
        self._mean, self._std = obs.mean(0), obs.std(0) + 1e-3
        span = obs.max(0) - obs.min(0)
        bounds = (obs.min(0) - span, obs.max(0) + span)
        rng = np.random.default_rng(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            agent = SACAgent(obs_dim, act_dim, cfg.sac)
            self.agent = agent
            real = self._tensors(data)
            n_real = int(real["rewards"].shape[0])
            k_real = round(cfg.real_ratio * cfg.batch_size)
            k_model = cfg.batch_size - k_real
            rounds: list[dict[str, np.ndarray]] = []
            buf: dict[str, torch.Tensor] = {}
            info: dict[str, float] = {}
            for step in range(cfg.steps):
                if step % cfg.rollout_every == 0:
                    starts = obs[rng.integers(0, obs.shape[0], cfg.rollout_batch)]
                    roll = model_rollout(model, self._policy(gen), starts, cfg.horizon, cfg.heuristic, cfg.penalty,
                                         rng, members=cfg.members, elites=cfg.elites, bounds=bounds,
                                         with_reward=cfg.with_reward)
                    rounds = [*rounds, roll][-cfg.model_retain:]
                    self.model_data = {k: np.concatenate([r[k] for r in rounds]) for k in roll}
                    buf = self._tensors(self.model_data)
                    self.log.append({"step": float(step), **info,
                                     "model_uncertainty": float(roll["uncertainty"].mean()),
                                     "model_reward": float(roll["raw_rewards"].mean()),
                                     "model_penalized_reward": float(roll["rewards"].mean()),
                                     "model_transitions": float(roll["rewards"].shape[0])})
                n_model = int(buf["rewards"].shape[0])
                parts = []
                if k_real > 0 or n_model == 0:
                    parts.append((real, torch.randint(0, n_real, (k_real if n_model else cfg.batch_size,),
                                                      generator=gen)))
                if k_model > 0 and n_model:
                    parts.append((buf, torch.randint(0, n_model, (k_model,), generator=gen)))
                batch = {k: torch.cat([src[k][idx] for src, idx in parts]) for k in _BATCH_KEYS}
                info = agent.update(batch, gen)
            self.log.append({"step": float(cfg.steps), **info})
        return self

    def _tensors(self, d: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        out = {k: torch.as_tensor(np.asarray(d[k], dtype=float), dtype=torch.float32) for k in _BATCH_KEYS}
        out["observations"] = self._norm(out["observations"])
        out["next_observations"] = self._norm(out["next_observations"])
        return out

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        return (x - torch.as_tensor(self._mean, dtype=torch.float32)) / torch.as_tensor(self._std, dtype=torch.float32)

    def _policy(self, gen: torch.Generator) -> Any:
        """The current stochastic policy on raw observations (for rollouts)."""
        agent = self.agent
        assert agent is not None

        def act(o: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                a, _ = agent.sample(self._norm(torch.as_tensor(o, dtype=torch.float32)), gen)
            return a.numpy().astype(float)

        return act

    def act(self, obs: Any, seed: int | None = None, deterministic: bool = True) -> np.ndarray:
        """Actions ``(B, act_dim)`` in [-1, 1] for ``obs (B, obs_dim)`` (or one ``(obs_dim,)``).

        ``deterministic=False`` samples the squashed Gaussian with ``seed``.
        """
        owner = "MOPO.act"
        if self.agent is None:
            raise InvalidParameterError("self", owner, "a fitted MOPO (call fit first)", "an unfitted MOPO")
        check_bool(deterministic, "deterministic", owner)
        x = as_float_array(obs, "obs", owner, finite=True, min_size=1)
        single = x.ndim == 1
        if single:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.agent.obs_dim:
            raise InputDataError(f"The 'obs' argument of {owner} must have shape (B, {self.agent.obs_dim}). "
                                 f"Got shape {x.shape} instead.")
        gen = torch.Generator().manual_seed(0 if seed is None else check_int(seed, "seed", owner, low=0))
        with torch.no_grad():
            a, _ = self.agent.sample(self._norm(torch.as_tensor(x, dtype=torch.float32)), gen, deterministic)
        out = a.numpy().astype(float)
        return out[0] if single else out


_BATCH_KEYS = ("observations", "actions", "rewards", "next_observations", "terminals")
