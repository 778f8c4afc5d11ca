"""OGSRL: guarded model-based constrained policy optimization, here as PPO-Lagrangian (torch).

Paper: Yan, Shen, Wachi, Gros, Zhao & Hu, "Offline Guarded Safe Reinforcement Learning for Medical
Treatment Optimization Strategies" (NeurIPS 2025, arXiv 2505.16242). OGSRL optimizes a policy in an
*estimated* CMDP built from offline data: a learned dynamics model, a physiological safety cost, and
an out-of-distribution guardian G (`guardopt.rl.guardian`). The policy must keep both the safety cost
and the OOD cost c_ood(s, a) = 1[(s, a) ∉ G] under their limits.

What this module implements, and where it departs from the paper:

* The optimizer is PPO with a Lagrange multiplier (PPO-Lagrangian, the multiplier from
  `guardopt.rl.lagrangian`), not the paper's CPO; the advantage is (A_r − λ·A_c) / (1 + λ) with both
  advantages standardized, as OmniSafe's PPO-Lag. The networks follow the released code: a Gaussian
  policy on a 2×128 tanh MLP with a state-independent log-std starting at −0.5, value and cost-value
  nets 2×128 tanh at learning rate 1e-3, GAE with λ = 0.95 and γ = 0.99, and rollouts of
  ``episodes`` (32) simulated episodes per iteration started from real initial states.
* Guarded rollouts as in the released code: when a step's (s, a) falls outside the guardian, that step
  gets the reward −``ood_penalty`` and the cost ``ood_cost``, and the trajectory is *frozen*: the
  state stops moving and every remaining step repeats the penalty. The OOD cost is charged once per
  guarded episode by default (``repeat_ood_cost=True`` charges every frozen step too) and is added
  to the safety cost under one multiplier, as that code does (the paper writes two constraints).
  Steps after the freeze do not enter the policy loss (their actions change nothing); they do enter
  the value targets.
* The dynamics model is any callable ``model_step(obs, act, rng) -> (next_obs, reward, cost)``: a
  learned `guardopt.rl.GaussianEnsemble` in the reproduction (the code uses a nearest-neighbour
  lookup), a hand-built model in the tests.

Without a guardian (``fit(..., guardian=None)``) the same learner is MB-PPO-Lag, the paper's
unguarded model-based baseline.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_bool,
    check_in_range,
    check_int,
)
from guardopt.rl.lagrangian import Lagrangian

__all__ = ["OGSRL", "ModelStep", "OGSRLConfig", "Rollout", "combined_advantage", "gae", "guarded_rollout"]

ModelStep = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray, np.ndarray]]
"""``(obs (B, d), act (B, k), rng) -> (next_obs (B, d), reward (B,), cost (B,))``."""


@dataclass(frozen=True)
class OGSRLConfig:
    """Config of `OGSRL` (defaults: the released code's, except where noted).

    Args:
        iterations: Policy iterations (each one batch of model rollouts and a PPO update).
        episodes: Simulated episodes per iteration (code: 32).
        horizon: Steps per simulated episode.
        gamma, gae_lambda: Discount and GAE parameter (code: 0.99, 0.95).
        hidden: Width of the 2-layer tanh MLPs (code: 128).
        log_std_init: Initial log standard deviation of the Gaussian policy (code: −0.5).
        policy_lr, value_lr: Adam learning rates of the policy and of both value nets (code: —, 1e-3).
        clip_ratio, epochs, minibatch, target_kl: PPO's clip, passes per batch, minibatch size and
            the approximate-KL level at which a pass stops early (our PPO choices; the code uses CPO).
        cost_limit: d, the limit on the expected episode cost (safety plus OOD cost).
        lagrange_lr, lagrange_init, lagrange_max: Dual ascent of the multiplier (`Lagrangian`).
        ood_penalty: Reward given to a guarded step, negated (code: 25 = twice its worst clipped
            reward 12.5; the reproduction scales it the same way to its own reward).
        ood_cost: Cost of a guarded step.
        repeat_ood_cost: Whether the frozen steps repeat the cost too (they always repeat the
            penalty). False by default: the OOD cost is charged once per guarded episode, so the
            constraint counts guarded *episodes* and does not drown the safety cost.
        warm_start_steps: Behaviour-cloning steps (MSE of the policy mean to the data's actions,
            batch 256, Adam at ``value_lr``) before the first iteration, when ``fit`` gets the data's
            ``behaviour``; 0 = none (the released code starts from scratch over 20k iterations;
            a warm start stands in for that budget at CPU scale).
    """

    iterations: int = 150
    episodes: int = 32
    horizon: int = 48
    gamma: float = 0.99
    gae_lambda: float = 0.95
    hidden: int = 128
    log_std_init: float = -0.5
    policy_lr: float = 3e-4
    value_lr: float = 1e-3
    clip_ratio: float = 0.2
    epochs: int = 10
    minibatch: int = 256
    target_kl: float = 0.02
    cost_limit: float = 5.0
    lagrange_lr: float = 0.05
    lagrange_init: float = 0.0
    lagrange_max: float = 10.0
    ood_penalty: float = 5.0
    ood_cost: float = 1.0
    repeat_ood_cost: bool = False
    warm_start_steps: int = 0

    def __post_init__(self) -> None:
        owner = "OGSRLConfig"
        check_int(self.iterations, "iterations", owner, low=1, high=1_000_000)
        check_int(self.episodes, "episodes", owner, low=1, high=1_000_000)
        check_int(self.horizon, "horizon", owner, low=1, high=100_000)
        check_in_range(self.gamma, "gamma", owner, 0.0, 1.0, high_open=False)
        check_in_range(self.gae_lambda, "gae_lambda", owner, 0.0, 1.0, low_open=False, high_open=False)
        check_int(self.hidden, "hidden", owner, low=1, high=65_536)
        check_in_range(self.log_std_init, "log_std_init", owner, -20.0, 2.0)
        check_in_range(self.policy_lr, "policy_lr", owner, 0.0, 1.0)
        check_in_range(self.value_lr, "value_lr", owner, 0.0, 1.0)
        check_in_range(self.clip_ratio, "clip_ratio", owner, 0.0, 1.0)
        check_int(self.epochs, "epochs", owner, low=1, high=10_000)
        check_int(self.minibatch, "minibatch", owner, low=1, high=10_000_000)
        check_in_range(self.target_kl, "target_kl", owner, 0.0, 100.0)
        check_in_range(self.cost_limit, "cost_limit", owner, 0.0, 1e9, low_open=False)
        check_in_range(self.lagrange_lr, "lagrange_lr", owner, 0.0, 1e6)
        check_in_range(self.lagrange_init, "lagrange_init", owner, 0.0, 1e6, low_open=False)
        check_in_range(self.lagrange_max, "lagrange_max", owner, 0.0, 1e9)
        check_in_range(self.ood_penalty, "ood_penalty", owner, 0.0, 1e9, low_open=False)
        check_in_range(self.ood_cost, "ood_cost", owner, 0.0, 1e9, low_open=False)
        check_bool(self.repeat_ood_cost, "repeat_ood_cost", owner)
        check_int(self.warm_start_steps, "warm_start_steps", owner, low=0, high=10_000_000)


# --------------------------------------------------------------------------------------------------
# Pieces with hand-checkable outputs
# --------------------------------------------------------------------------------------------------


def gae(rewards: Any, values: Any, gamma: float, lam: float, last_value: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Generalized advantage estimation (Schulman et al. 2016) over a fixed horizon.

    Args:
        rewards, values: ``(T, B)``: the reward of step t and V(s_t).
        gamma, lam: Discount and GAE parameter.
        last_value: V(s_T) ``(B,)`` (0 by default: the horizon is the episode's end).

    Returns:
        ``(advantages, returns)``, both ``(T, B)``: A_t = Σ_k (γλ)^k δ_{t+k} with
        δ_t = r_t + γ V(s_{t+1}) − V(s_t), and returns = A + V (the value targets).
    """
    r = as_float_array(rewards, "rewards", "gae", finite=True)
    v = as_float_array(values, "values", "gae", finite=True)
    if r.ndim == 1:
        r, v = r[:, None], v.reshape(-1, 1)
    if r.shape != v.shape or r.ndim != 2:
        raise InputDataError(f"The 'values' argument of gae must have the shape of rewards {r.shape}. "
                             f"Got shape {v.shape} instead.")
    gamma = check_in_range(gamma, "gamma", "gae", 0.0, 1.0, low_open=False, high_open=False)
    lam = check_in_range(lam, "lam", "gae", 0.0, 1.0, low_open=False, high_open=False)
    if last_value is None:
        nxt = np.zeros(r.shape[1])
    else:
        nxt = as_float_array(last_value, "last_value", "gae", finite=True)
        if nxt.size != r.shape[1]:
            raise InputDataError(f"The 'last_value' argument of gae must have shape ({r.shape[1]},). "
                                 f"Got shape {nxt.shape} instead.")
        nxt = nxt.reshape(r.shape[1])
    adv = np.zeros_like(r)
    run = np.zeros(r.shape[1])
    for t in range(r.shape[0] - 1, -1, -1):
        delta = r[t] + gamma * nxt - v[t]
        run = delta + gamma * lam * run
        adv[t] = run
        nxt = v[t]
    return adv, adv + v


def combined_advantage(adv_r: np.ndarray, adv_c: np.ndarray, multiplier: float,
                       mask: np.ndarray | None = None) -> np.ndarray:
    """(Â_r − λ·Â_c) / (1 + λ), Â the advantages standardized over the ``mask``-ed entries (OmniSafe's PPO-Lag)."""
    owner = "combined_advantage"
    lam = check_in_range(multiplier, "multiplier", owner, 0.0, math.inf, low_open=False)
    adv_r = as_float_array(adv_r, "adv_r", owner, finite=True)
    adv_c = as_float_array(adv_c, "adv_c", owner, finite=True)
    if adv_c.shape != adv_r.shape:
        raise InputDataError(f"The 'adv_c' argument of {owner} must have the shape of adv_r {adv_r.shape}. "
                             f"Got shape {adv_c.shape} instead.")
    m = np.ones(adv_r.shape, dtype=bool) if mask is None else np.asarray(mask, bool)
    if m.shape != adv_r.shape:
        raise InputDataError(f"The 'mask' argument of {owner} must have the shape of adv_r {adv_r.shape}. "
                             f"Got shape {m.shape} instead.")

    def standardize(x: np.ndarray) -> np.ndarray:
        sel = x[m]
        if sel.size == 0:
            return np.zeros_like(x)
        return (x - sel.mean()) / (sel.std() + 1e-8)

    return (standardize(np.asarray(adv_r, float)) - lam * standardize(np.asarray(adv_c, float))) / (1.0 + lam)


@dataclass(frozen=True)
class Rollout:
    """A batch of simulated episodes, time-major.

    Attributes:
        observations: ``(T, B, obs_dim)``, s_t (a frozen row keeps its last state).
        actions: ``(T, B, act_dim)``, the executed actions (clipped to [−1, 1]).
        raw_actions: ``(T, B, act_dim)``, the Gaussian draws (their log-probabilities are trained).
        rewards, costs: ``(T, B)``, with the guard's penalty on guarded and frozen steps, and its
            cost on the guarded step (and on the frozen ones when the cost repeats).
        model_rewards: ``(T, B)``, the model's own reward, NaN on guarded and frozen steps.
        outside: ``(T, B)``, True on the step whose (s, a) left the guardian.
        frozen: ``(T, B)``, True on the steps after that (the trajectory no longer moves).
    """

    observations: np.ndarray
    actions: np.ndarray
    raw_actions: np.ndarray
    rewards: np.ndarray
    costs: np.ndarray
    model_rewards: np.ndarray
    outside: np.ndarray
    frozen: np.ndarray


def guarded_rollout(policy: Callable[[np.ndarray, np.random.Generator], np.ndarray], model_step: ModelStep,
                    initial_obs: Any, horizon: int, rng: np.random.Generator, guardian: Any = None,
                    ood_penalty: float = 5.0, ood_cost: float = 1.0, repeat_ood_cost: bool = False) -> Rollout:
    """Roll ``policy`` in ``model_step`` from ``initial_obs (B, obs_dim)`` for ``horizon`` steps.

    ``policy(obs, rng)`` returns raw actions ``(B, act_dim)`` (clipped to [−1, 1] before execution).
    With a ``guardian`` (anything with ``contains(obs, act) -> (B,) bool``), a step outside it gets
    reward −``ood_penalty`` and cost ``ood_cost`` and freezes its trajectory: every later step keeps
    the state and repeats the penalty (and the cost when ``repeat_ood_cost``; otherwise later steps
    cost 0). The model is only called on the moving rows.
    """
    owner = "guarded_rollout"
    s = as_float_array(initial_obs, "initial_obs", owner, finite=True, min_size=1)
    if s.ndim != 2:
        raise InputDataError(f"The 'initial_obs' argument of {owner} must be a 2-D array (B, obs_dim). "
                             f"Got shape {s.shape} instead.")
    horizon = check_int(horizon, "horizon", owner, low=1)
    if not callable(policy):
        raise InvalidParameterError("policy", owner, "a callable (obs, rng) -> actions", policy)
    if not callable(model_step):
        raise InvalidParameterError("model_step", owner, "a callable (obs, act, rng) -> (obs, reward, cost)",
                                    model_step)
    if not isinstance(rng, np.random.Generator):
        raise InvalidParameterError("rng", owner, "a numpy Generator", rng)
    if guardian is not None and not callable(getattr(guardian, "contains", None)):
        raise InvalidParameterError("guardian", owner, "None or an object with contains(obs, act)", guardian)
    # A negative (or NaN) penalty would turn the guard into a bonus for leaving the data's support.
    ood_penalty = check_in_range(ood_penalty, "ood_penalty", owner, 0.0, 1e9, low_open=False, high_open=False)
    ood_cost = check_in_range(ood_cost, "ood_cost", owner, 0.0, 1e9, low_open=False, high_open=False)
    check_bool(repeat_ood_cost, "repeat_ood_cost", owner)
    b = s.shape[0]
    keys = ("obs", "act", "raw", "rew", "cost", "mrew", "out", "frz")
    rows: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    frozen = np.zeros(b, dtype=bool)
    for _ in range(horizon):
        raw = as_float_array(policy(s, rng), "policy", owner, finite=True, min_size=1)
        if raw.shape[0] != b or raw.size % b:
            raise InputDataError(f"The 'policy' argument of {owner} must return actions of shape (B, act_dim) with "
                                 f"B = {b}. Got shape {raw.shape} instead.")
        raw = raw.reshape(b, -1)
        act = np.clip(raw, -1.0, 1.0)
        moving = ~frozen
        outside = np.zeros(b, dtype=bool)
        if guardian is not None and moving.any():
            outside[moving] = ~_inside(guardian.contains(s[moving], act[moving]), int(moving.sum()), owner)
        step = moving & ~outside
        rew = np.full(b, -float(ood_penalty))
        cost = np.where(outside | (frozen & repeat_ood_cost), float(ood_cost), 0.0)
        mrew = np.full(b, np.nan)
        nxt = s.copy()
        if step.any():
            s2, r2, c2 = _model_outputs(model_step(s[step], act[step], rng), int(step.sum()), s.shape[1], owner)
            nxt[step] = s2
            rew[step] = r2
            mrew[step] = rew[step]
            cost[step] = c2
        for k, v in zip(keys, (s, act, raw, rew, cost, mrew, outside, frozen.copy())):
            rows[k].append(v)
        frozen = frozen | outside
        s = nxt
    return Rollout(*(np.stack(rows[k]) for k in keys))


def _inside(result: Any, n: int, owner: str) -> np.ndarray:
    """The guardian's answer as ``(n,)`` booleans; anything else (scores, NaN, a wrong length) is refused,
    since reading it as booleans would let unchecked steps count as inside."""
    arr = np.asarray(result)
    if arr.shape != (n,) or not (arr.dtype == bool or (arr.dtype.kind in "iuf" and np.isin(arr, (0, 1)).all())):
        raise InputDataError(f"The 'guardian' argument of {owner} must return contains(obs, act) as {n} booleans. "
                             f"Got {_describe(arr)} instead.")
    return arr.astype(bool)


def _model_outputs(out: Any, n: int, obs_dim: int, owner: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``model_step``'s ``(next_obs (n, obs_dim), reward (n,), cost (n,))``, finite, or `InputDataError`."""
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise InputDataError(f"The 'model_step' argument of {owner} must return (next_obs, reward, cost). "
                             f"Got {type(out).__name__} instead.")
    shapes = ((n, obs_dim), (n,), (n,))
    arrays = []
    for value, shape, name in zip(out, shapes, ("next_obs", "reward", "cost")):
        arr = as_float_array(value, f"model_step {name}", owner, finite=True)
        if arr.size != math.prod(shape):
            raise InputDataError(f"The 'model_step' argument of {owner} must return {name} of shape {shape}. "
                                 f"Got shape {arr.shape} instead.")
        arrays.append(arr.reshape(shape))
    return arrays[0], arrays[1], arrays[2]


def _describe(arr: np.ndarray) -> str:
    return f"shape {arr.shape} of dtype {arr.dtype}"


# --------------------------------------------------------------------------------------------------
# The learner
# --------------------------------------------------------------------------------------------------


class OGSRL:
    """Guarded (or, without a guardian, unguarded) model-based PPO-Lagrangian.

    ``OGSRL(config).fit(model_step, initial_obs, guardian=guardian, seed=0)`` trains in the model;
    ``act(obs)`` returns the policy's mean action in [−1, 1]; ``log`` holds one row per iteration
    (model return with penalties, episode cost, fraction of guarded episodes, multiplier).
    """

    def __init__(self, config: OGSRLConfig | None = None) -> None:
        config = OGSRLConfig() if config is None else config
        if not isinstance(config, OGSRLConfig):
            raise InvalidParameterError("config", "OGSRL", "an OGSRLConfig", config)
        self.config = config
        self.log: list[dict[str, float]] = []
        self.multiplier = Lagrangian(limit=config.cost_limit, lr=config.lagrange_lr, init=config.lagrange_init,
                                     max_value=config.lagrange_max)
        self.obs_dim = self.act_dim = 0
        self._policy: Any = None
        self._norm: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.ones(0))
        self.guarded = False

    @property
    def fitted(self) -> bool:
        return self._policy is not None

    def fit(self, model_step: ModelStep, initial_obs: Any, act_dim: int = 1, guardian: Any = None, seed: int = 0,
            reference_obs: Any = None, behaviour: tuple[Any, Any] | None = None) -> OGSRL:
        """Train from ``initial_obs (N, obs_dim)`` (real initial states, drawn with replacement).

        Args:
            model_step: The learned model (`ModelStep`).
            initial_obs: Real initial states.
            act_dim: Action dimension.
            guardian: An OOD guardian (``contains``), or None for the unguarded baseline.
            seed: Seeds the networks, the initial-state draws and the policy noise.
            reference_obs: Observations whose mean and std normalize the networks' inputs (for
                example the dataset's); ``initial_obs`` when None.
            behaviour: ``(observations (N, obs_dim), actions (N, act_dim))`` of the data, for the
                warm start (``config.warm_start_steps``); ignored when that is 0.
        """
        import torch
        from torch import nn

        owner = "OGSRL.fit"
        if not callable(model_step):
            raise InvalidParameterError("model_step", owner, "a callable (obs, act, rng) -> (obs, reward, cost)",
                                        model_step)
        init = as_float_array(initial_obs, "initial_obs", owner, finite=True, min_size=1)
        if init.ndim != 2:
            raise InputDataError(f"The 'initial_obs' argument of {owner} must be a 2-D array (N, obs_dim). "
                                 f"Got shape {init.shape} instead.")
        act_dim = check_int(act_dim, "act_dim", owner, low=1, high=10_000)
        seed = check_int(seed, "seed", owner, low=0)
        if guardian is not None and not callable(getattr(guardian, "contains", None)):
            raise InvalidParameterError("guardian", owner, "None or an object with contains(obs, act)", guardian)
        ref = init if reference_obs is None else _rows(reference_obs, "reference_obs", init.shape[1], owner)
        cfg = self.config
        self.obs_dim, self.act_dim, self.guarded = init.shape[1], act_dim, guardian is not None
        self._norm = (ref.mean(0), ref.std(0) + 1e-6)
        self.multiplier = Lagrangian(limit=cfg.cost_limit, lr=cfg.lagrange_lr, init=cfg.lagrange_init,
                                     max_value=cfg.lagrange_max)
        self.log = []
        rng = np.random.default_rng(seed)

        def net(out: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(self.obs_dim, cfg.hidden), nn.Tanh(), nn.Linear(cfg.hidden, cfg.hidden),
                                 nn.Tanh(), nn.Linear(cfg.hidden, out))

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            policy, value, cost_value = net(act_dim), net(1), net(1)
        log_std = nn.Parameter(torch.full((act_dim,), float(cfg.log_std_init)))
        self._policy, self._log_std = policy, log_std
        pi_opt = torch.optim.Adam([*policy.parameters(), log_std], lr=cfg.policy_lr)
        v_opt = torch.optim.Adam([*value.parameters(), *cost_value.parameters()], lr=cfg.value_lr)
        gen = torch.Generator().manual_seed(seed)
        if cfg.warm_start_steps and behaviour is not None:
            if not isinstance(behaviour, (tuple, list)) or len(behaviour) != 2:
                raise InvalidParameterError("behaviour", owner, "None or a pair (observations, actions)",
                                            type(behaviour).__name__)
            bs = _rows(behaviour[0], "behaviour", self.obs_dim, owner)
            ba = _rows(behaviour[1], "behaviour", act_dim, owner)
            if bs.shape[0] != ba.shape[0]:
                raise InputDataError(f"The 'behaviour' argument of {owner} must hold as many actions as "
                                     f"observations. Got {ba.shape[0]} and {bs.shape[0]} instead.")
            bs_t, ba_t = self._tensor(bs), torch.as_tensor(ba, dtype=torch.float32)
            bc_opt = torch.optim.Adam(policy.parameters(), lr=cfg.value_lr)
            for _ in range(cfg.warm_start_steps):
                mb = torch.randint(0, bs.shape[0], (256,), generator=gen)
                loss = ((policy(bs_t[mb]) - ba_t[mb]) ** 2).mean()
                bc_opt.zero_grad()
                loss.backward()
                bc_opt.step()

        def sample(obs: np.ndarray, r: np.random.Generator) -> np.ndarray:
            with torch.no_grad():
                mean = policy(self._tensor(obs)).numpy().astype(float)
            return mean + np.exp(log_std.detach().numpy().astype(float)) * r.standard_normal(mean.shape)

        for it in range(cfg.iterations):
            starts = init[rng.integers(0, init.shape[0], cfg.episodes)]
            ro = guarded_rollout(sample, model_step, starts, cfg.horizon, rng, guardian, cfg.ood_penalty, cfg.ood_cost,
                                 cfg.repeat_ood_cost)
            t_, b_ = ro.rewards.shape
            obs_t = self._tensor(ro.observations.reshape(t_ * b_, -1))
            with torch.no_grad():
                v = value(obs_t).numpy().reshape(t_, b_).astype(float)
                vc = cost_value(obs_t).numpy().reshape(t_, b_).astype(float)
            adv_r, ret_r = gae(ro.rewards, v, cfg.gamma, cfg.gae_lambda)
            adv_c, ret_c = gae(ro.costs, vc, cfg.gamma, cfg.gae_lambda)
            ep_cost = float(ro.costs.sum(0).mean())
            lam = self.multiplier.update(ep_cost)  # dual step before the policy step, as OmniSafe
            active = ~ro.frozen
            adv = combined_advantage(adv_r, adv_c, lam, active)
            flat = active.reshape(-1)
            idx_all = np.flatnonzero(flat)
            raw_t = torch.as_tensor(ro.raw_actions.reshape(t_ * b_, -1), dtype=torch.float32)
            adv_t = torch.as_tensor(adv.reshape(-1), dtype=torch.float32)
            ret_r_t = torch.as_tensor(ret_r.reshape(-1), dtype=torch.float32)
            ret_c_t = torch.as_tensor(ret_c.reshape(-1), dtype=torch.float32)
            with torch.no_grad():
                old_logp = self._log_prob(policy(obs_t), log_std, raw_t)
            kl = 0.0
            for _ in range(cfg.epochs):
                perm = torch.randperm(t_ * b_, generator=gen)
                for i in range(0, t_ * b_, cfg.minibatch):
                    mb = perm[i:i + cfg.minibatch]
                    vloss = ((value(obs_t[mb]).squeeze(-1) - ret_r_t[mb]) ** 2).mean() + (
                        (cost_value(obs_t[mb]).squeeze(-1) - ret_c_t[mb]) ** 2).mean()
                    v_opt.zero_grad()
                    vloss.backward()
                    v_opt.step()
                if idx_all.size == 0:
                    continue
                act_perm = torch.as_tensor(idx_all)[torch.randperm(idx_all.size, generator=gen)]
                stop = False
                for i in range(0, idx_all.size, cfg.minibatch):
                    mb = act_perm[i:i + cfg.minibatch]
                    logp = self._log_prob(policy(obs_t[mb]), log_std, raw_t[mb])
                    ratio = torch.exp(logp - old_logp[mb])
                    clipped = torch.clamp(ratio, 1 - cfg.clip_ratio, 1 + cfg.clip_ratio)
                    loss = -torch.min(ratio * adv_t[mb], clipped * adv_t[mb]).mean()
                    pi_opt.zero_grad()
                    loss.backward()
                    pi_opt.step()
                    kl = float((old_logp[mb] - logp.detach()).mean())
                    if kl > 1.5 * cfg.target_kl:
                        stop = True
                        break
                if stop:
                    break
            self.log.append({"iteration": float(it), "model_return": float(ro.rewards.sum(0).mean()),
                             "episode_cost": ep_cost, "guarded_episodes": float(ro.outside.any(0).mean()),
                             "multiplier": float(lam), "approx_kl": kl,
                             "log_std": float(log_std.detach().mean())})
        return self

    # --- acting ---------------------------------------------------------------------------------
    def act(self, obs: Any, seed: int | None = None, deterministic: bool = True) -> np.ndarray:
        """Actions ``(B, act_dim)`` in [−1, 1] for ``obs (B, obs_dim)``: the mean, or a Gaussian draw."""
        import torch

        owner = "OGSRL.act"
        if not self.fitted:
            raise InvalidParameterError("self", owner, "a fitted learner (call fit first)", "an unfitted learner")
        check_bool(deterministic, "deterministic", owner)
        seed = None if seed is None else check_int(seed, "seed", owner, low=0)
        s = as_float_array(obs, "obs", owner, finite=True, min_size=1)
        s = s[None] if s.ndim == 1 else s
        if s.ndim != 2 or s.shape[1] != self.obs_dim:
            raise InputDataError(f"The 'obs' argument of {owner} must have shape (B, {self.obs_dim}). "
                                 f"Got shape {s.shape} instead.")
        with torch.no_grad():
            mean = self._policy(self._tensor(s)).numpy().astype(float)
        if not deterministic:
            rng = np.random.default_rng(seed)
            mean = mean + np.exp(self._log_std.detach().numpy().astype(float)) * rng.standard_normal(mean.shape)
        return np.clip(mean, -1.0, 1.0)

    def model_returns(self, model_step: ModelStep, initial_obs: Any, horizon: int | None = None,
                      seed: int = 0) -> np.ndarray:
        """The model's estimate of each episode's return ``(B,)`` under the mean policy, unguarded."""
        h = self.config.horizon if horizon is None else horizon
        seed = check_int(seed, "seed", "OGSRL.model_returns", low=0)
        ro = guarded_rollout(lambda o, r: self.act(o), model_step, initial_obs, h, np.random.default_rng(seed))
        return ro.rewards.sum(0)

    # --- helpers --------------------------------------------------------------------------------
    def _tensor(self, obs: np.ndarray) -> Any:
        import torch

        return torch.as_tensor((obs - self._norm[0]) / self._norm[1], dtype=torch.float32)

    @staticmethod
    def _log_prob(mean: Any, log_std: Any, x: Any) -> Any:
        return (-0.5 * ((x - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)



def _rows(value: Any, name: str, width: int, owner: str) -> np.ndarray:
    """``value`` as finite rows of ``width`` columns (1-D only when ``width`` is 1), or `InputDataError`."""
    arr = as_float_array(value, name, owner, finite=True, min_size=1)
    if arr.ndim == 1 and width == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != width:
        raise InputDataError(f"The {name!r} argument of {owner} must have shape (N, {width}). "
                             f"Got shape {arr.shape} instead.")
    return arr
