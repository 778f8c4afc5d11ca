"""Flow-GRPO's per-timestep clipped objective and GRPO-Guard's regulated clipping, for flow-matching policies.

Paper: Wang, Liang, Liu et al., "GRPO-Guard: Mitigating Implicit Over-Optimization in Flow Matching
via Regulated Clipping" (arXiv 2510.22319, CVPR 2026). Baseline: Flow-GRPO (Liu et al., 2025,
arXiv 2505.05470).

Every denoising step of the SDE sampler (`guardopt.align.flow`) is a Gaussian policy
``N(μ_θ(x_t, t), s_t² I)`` with ``s_t = σ_t √(−dt)``. On a sample drawn by the old policy,
``x_{t+dt} = μ_old + s_t ε``, the per-step log importance ratio is exactly::

    log r_t = log p_θ − log p_old = −‖Δμ‖² / (2 s_t²) − Δμ·ε / s_t,        Δμ = μ_old − μ_θ,

so its mean over samples is ``−‖Δμ‖²/(2 s_t²) < 0`` (the *left shift* the paper observes) and its
spread ``‖Δμ‖ / s_t`` depends on the step's noise: on high-noise steps (large ``s_t``) the ratio of
a positive-advantage sample seldom reaches ``1 + ε`` and the clip never restrains it.

* **Flow-GRPO** (`flow_grpo_loss`): ``J = (1/N)Σ_i (1/T)Σ_t min(r_t A_i, clip(r_t, 1 ± ε) A_i)``.
* **GRPO-Guard ratio normalization** (`normalized_log_ratio`): add the bias back and rescale by the
  step's standard deviation, ``log r̂_t = s_t · (log r_t + ‖μ_θ − μ_old‖² / (2 s_t²)) = −Δμ·ε``,
  which has mean 0 and a spread ``‖Δμ‖`` that no longer depends on the noise schedule. As in the
  third-party implementations (and the paper's definition), the bias term is computed from the
  current mean, so it carries gradient: the gradient of ``log r̂_t`` with respect to ``μ_θ`` is ``ε``.
* **GRPO-Guard gradient reweighting** (`step_weights`): each step's term is multiplied by
  ``δ_t = 1 / |dt|``, which cancels the ``dt`` with which ``v_θ`` enters ``μ_θ``; with
  ``σ_t² = a² t / (1 − t)`` the per-step gradient becomes ``(1 + a²/2)·A·ε·∂v_θ/∂θ``, the same scale
  on every step. ``J = (1/N)Σ_i (1/T)Σ_t δ_t min(r̂_t A_i, clip(r̂_t, 1 ± ε) A_i)``; no KL term.

The log-probabilities are summed over the two coordinates of a point, and the squared mean shift
``‖Δμ‖²`` is summed likewise, so the bias correction is exact; image implementations average both
over latent dimensions, which is the same correction for their mean log-probability.

Sources: the definitions follow the paper as its abstract, project page and public summaries state
them, cross-read with two third-party implementations (X-GenGroup/Flow-Factory's
``GRPOGuardTrainer`` and verl-omni's ``grpo_guard`` loss, both for image latents; no code is copied).
They agree on the normalization ``s_t·(log r_t + ‖Δμ‖²/(2 s_t²))`` and on the ``1/|dt|`` weight. The
authors' code is not released.

Shapes: ``T`` steps, ``N`` samples; per-step tensors are ``(T, N)``, step constants ``(T,)``,
advantages ``(N,)``. This module needs torch (``pip install guardopt[torch]``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from guardopt.align.flow import SDETrajectory, gaussian_step_logp, sde_sample, sde_step_mean
from guardopt.align.losses import grpo_advantages
from guardopt.core.errors import InputDataError, InvalidParameterError, check_bool, check_in_range, check_int

__all__ = [
    "FlowGRPOConfig",
    "FlowPolicyLog",
    "GRPOGuardConfig",
    "clipped_objective",
    "flow_grpo_loss",
    "grpo_guard_loss",
    "normalized_log_ratio",
    "ratio_bias",
    "step_weights",
    "train_flow_policy",
]


# --------------------------------------------------------------------------------------------------
# Pure functions of tensors
# --------------------------------------------------------------------------------------------------


def _finite(owner: str, **tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise InputDataError(f"{owner}: {name!r} must be a torch tensor. Got {type(t).__name__}.")
        if not bool(torch.isfinite(t).all()):
            raise InputDataError(f"{owner}: {name!r} holds NaN or infinite values.")


def _check_steps(owner: str, logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor) -> None:
    _finite(owner, logp=logp, logp_old=logp_old, advantages=advantages)
    if logp.ndim != 2 or logp.shape != logp_old.shape:
        raise InputDataError(f"{owner}: 'logp' and 'logp_old' must share one shape (T, N). "
                             f"Got {tuple(logp.shape)} and {tuple(logp_old.shape)}.")
    if logp.shape[0] == 0 or logp.shape[1] == 0:
        raise InputDataError(f"{owner}: 'logp' holds no steps or no samples (shape {tuple(logp.shape)}).")
    if advantages.shape != (logp.shape[1],):
        raise InputDataError(f"{owner}: 'advantages' must have shape (N,) = ({logp.shape[1]},). "
                             f"Got {tuple(advantages.shape)}.")


def _check_std(owner: str, std: torch.Tensor, n_steps: int, name: str = "std") -> None:
    _finite(owner, **{name: std})
    if std.shape != (n_steps,) or not bool((std > 0).all()):
        raise InputDataError(f"{owner}: {name!r} must be a positive tensor of shape (T,) = ({n_steps},). "
                             f"Got shape {tuple(std.shape)}.")


def ratio_bias(mean: torch.Tensor, mean_old: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``‖μ_θ − μ_old‖² / (2 s_t²)``, the left shift of the mean log-ratio on each step; ``(T, N)``.

    Args:
        mean: ``(T, N, D)`` step means of the current policy.
        mean_old: ``(T, N, D)`` step means of the policy that sampled.
        std: ``(T,)`` transition standard deviations ``s_t``.
    """
    _finite("ratio_bias", mean=mean, mean_old=mean_old)
    if mean.ndim != 3 or mean.shape != mean_old.shape:
        raise InputDataError(f"ratio_bias: 'mean' and 'mean_old' must share one shape (T, N, D). "
                             f"Got {tuple(mean.shape)} and {tuple(mean_old.shape)}.")
    _check_std("ratio_bias", std, mean.shape[0])
    return ((mean - mean_old) ** 2).sum(-1) / (2.0 * std[:, None] ** 2)


def normalized_log_ratio(logp: torch.Tensor, logp_old: torch.Tensor, mean: torch.Tensor, mean_old: torch.Tensor,
                         std: torch.Tensor) -> torch.Tensor:
    """GRPO-Guard's normalized log-ratio ``s_t · (log r_t + ‖μ_θ − μ_old‖² / (2 s_t²))``; ``(T, N)``.

    On samples of the old policy it equals ``(μ_θ − μ_old)·ε``: mean 0, spread independent of ``s_t``.

    Args:
        logp, logp_old: ``(T, N)`` step log-probabilities under the current and the sampling policy.
        mean, mean_old: ``(T, N, D)`` step means of the two policies.
        std: ``(T,)`` transition standard deviations.
    """
    _finite("normalized_log_ratio", logp=logp, logp_old=logp_old, mean=mean, mean_old=mean_old, std=std)
    if logp.shape != logp_old.shape or logp.shape != mean.shape[:2]:
        raise InputDataError(f"normalized_log_ratio: 'logp' and 'logp_old' must have shape (T, N) = "
                             f"{tuple(mean.shape[:2])}. Got {tuple(logp.shape)} and {tuple(logp_old.shape)}.")
    _check_std("normalized_log_ratio", std, logp.shape[0])
    return std[:, None] * (logp - logp_old + ratio_bias(mean, mean_old, std))


def step_weights(dt: torch.Tensor) -> torch.Tensor:
    """GRPO-Guard's per-step gradient weights ``δ_t = 1 / |dt|``; ``(T,) -> (T,)``."""
    _finite("step_weights", dt=dt)
    if dt.ndim != 1 or dt.numel() == 0 or not bool((dt != 0).all()):
        raise InputDataError(f"step_weights: 'dt' must be a non-zero tensor of shape (T,). Got {tuple(dt.shape)}.")
    return 1.0 / dt.abs()


def clipped_objective(log_ratio: torch.Tensor, advantages: torch.Tensor, clip_eps: float) -> torch.Tensor:
    """PPO's per-step objective ``min(r A, clip(r, 1 − ε, 1 + ε) A)`` with ``r = exp(log_ratio)``; ``(T, N)``.

    ``advantages`` is ``(N,)`` (one per trajectory, shared by its steps) or ``(T, N)``.
    """
    eps = check_in_range(clip_eps, "clip_eps", "clipped_objective", 0.0, 1.0)
    _finite("clipped_objective", log_ratio=log_ratio, advantages=advantages)
    if advantages.shape not in (log_ratio.shape, log_ratio.shape[-1:]):
        raise InputDataError(f"clipped_objective: 'advantages' must have shape (N,) = {tuple(log_ratio.shape[-1:])} "
                             f"or the log-ratio's {tuple(log_ratio.shape)}. Got {tuple(advantages.shape)}.")
    adv = advantages if advantages.ndim == log_ratio.ndim else advantages.unsqueeze(0)
    ratio = torch.exp(log_ratio)
    return torch.minimum(ratio * adv, torch.clamp(ratio, 1.0 - eps, 1.0 + eps) * adv)


def flow_grpo_loss(logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor,
                   clip_eps: float = 0.2) -> torch.Tensor:
    """Flow-GRPO's loss ``−(1/N)Σ_i (1/T)Σ_t min(r_t A_i, clip(r_t) A_i)``; a scalar.

    Args:
        logp, logp_old: ``(T, N)`` step log-probabilities under the current and the sampling policy.
        advantages: ``(N,)`` group-relative advantages.
        clip_eps: The clip range ``ε``.
    """
    _check_steps("flow_grpo_loss", logp, logp_old, advantages)
    return -clipped_objective(logp - logp_old, advantages, clip_eps).mean()


def grpo_guard_loss(logp: torch.Tensor, logp_old: torch.Tensor, mean: torch.Tensor, mean_old: torch.Tensor,
                    std: torch.Tensor, dt: torch.Tensor, advantages: torch.Tensor, clip_eps: float = 0.2,
                    ratio_norm: bool = True, reweight: bool = True) -> torch.Tensor:
    """GRPO-Guard's loss ``−(1/N)Σ_i (1/T)Σ_t δ_t min(r̂_t A_i, clip(r̂_t) A_i)``; a scalar.

    Args:
        logp, logp_old: ``(T, N)`` step log-probabilities under the current and the sampling policy.
        mean, mean_old: ``(T, N, D)`` step means of the two policies.
        std: ``(T,)`` transition standard deviations ``s_t``.
        dt: ``(T,)`` step lengths.
        advantages: ``(N,)`` group-relative advantages.
        clip_eps: The clip range ``ε``.
        ratio_norm: Use the normalized ratio ``r̂_t`` (False: the raw ``r_t``, an ablation).
        reweight: Multiply each step by ``δ_t = 1/|dt|`` (False: weight 1, an ablation).
    """
    _check_steps("grpo_guard_loss", logp, logp_old, advantages)
    _check_std("grpo_guard_loss", std, logp.shape[0])
    for name, flag in (("ratio_norm", ratio_norm), ("reweight", reweight)):
        check_bool(flag, name, "grpo_guard_loss")
    lr = normalized_log_ratio(logp, logp_old, mean, mean_old, std) if ratio_norm else logp - logp_old
    obj = clipped_objective(lr, advantages, clip_eps)
    if reweight:
        w = step_weights(dt)
        if w.shape != (logp.shape[0],):
            raise InputDataError(f"grpo_guard_loss: 'dt' must have shape (T,) = ({logp.shape[0]},). "
                                 f"Got {tuple(dt.shape)}.")
        obj = obj * w[:, None]
    return -obj.mean()


# --------------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------------


def _validate(cfg: Any, owner: str) -> None:
    check_int(cfg.iterations, "iterations", owner, 0)
    check_int(cfg.groups, "groups", owner, 1)
    check_int(cfg.group_size, "group_size", owner, 2)
    check_int(cfg.minibatches, "minibatches", owner, 1, cfg.groups * cfg.group_size)
    check_in_range(cfg.lr, "lr", owner, 0.0, 10.0)
    check_in_range(cfg.clip_eps, "clip_eps", owner, 0.0, 1.0)
    check_int(cfg.n_steps, "n_steps", owner, 1, 1000)
    check_in_range(cfg.noise_level, "noise_level", owner, 0.0, 100.0)
    check_in_range(cfg.grad_clip, "grad_clip", owner, 0.0, math.inf, high_open=False)
    check_in_range(cfg.adv_clip, "adv_clip", owner, 0.0, math.inf, high_open=False)
    check_int(cfg.eval_every, "eval_every", owner, 1)
    check_int(cfg.diag_every, "diag_every", owner, 1)


@dataclass(frozen=True)
class FlowGRPOConfig:
    """Flow-GRPO on a flow-matching policy: per-step clipped objective, no KL.

    Args:
        iterations: Rollouts (each followed by ``minibatches`` Adam steps).
        groups: Groups per rollout (a group's advantages are standardized within it).
        group_size: Samples per group (``G``).
        minibatches: Adam steps per rollout, each on a disjoint share of the samples; the ratio
            departs from 1 from the second on.
        lr: Adam learning rate.
        clip_eps: Clip range ``ε``.
        n_steps: SDE steps ``T``.
        noise_level: ``a`` in ``σ_t = a·√(t / (1 − t))``.
        grad_clip: Global gradient-norm clip (``inf``: none).
        adv_clip: Advantages are clipped to ``[−adv_clip, adv_clip]``.
        eval_every: Iterations between calls of the evaluation callback.
        diag_every: Iterations between per-step gradient-norm measurements.
    """

    iterations: int = 200
    groups: int = 4
    group_size: int = 16
    minibatches: int = 4
    lr: float = 1e-3
    clip_eps: float = 0.2
    n_steps: int = 10
    noise_level: float = 0.7
    grad_clip: float = 1.0
    adv_clip: float = 5.0
    eval_every: int = 10
    diag_every: int = 10

    def __post_init__(self) -> None:
        _validate(self, type(self).__name__)

    @property
    def ratio_norm(self) -> bool:
        """Flow-GRPO clips the raw ratio."""
        return False

    @property
    def reweight(self) -> bool:
        """Flow-GRPO weights every step by 1."""
        return False


@dataclass(frozen=True)
class GRPOGuardConfig(FlowGRPOConfig):
    """GRPO-Guard: Flow-GRPO with per-step ratio normalization and ``1/|dt|`` gradient reweighting.

    Args:
        iterations, groups, group_size, minibatches, lr, clip_eps, n_steps, noise_level, grad_clip,
            adv_clip, eval_every, diag_every: As in `FlowGRPOConfig` (inherited).
        ratio_norm: Clip the normalized ratio ``r̂_t`` (the paper's method; False is an ablation).
        reweight: Weight each step by ``δ_t = 1/|dt|`` (the paper's method; False is an ablation).
    """

    ratio_norm: bool = True  # a field here, a constant False in Flow-GRPO
    reweight: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("ratio_norm", "reweight"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterError(name, "GRPOGuardConfig", "a bool", getattr(self, name))


# --------------------------------------------------------------------------------------------------
# Trainer
# --------------------------------------------------------------------------------------------------


@dataclass
class FlowPolicyLog:
    """What `train_flow_policy` measured.

    Attributes:
        evals: One dict per evaluation (``"iteration"`` plus what the callback returned).
        t: ``(T,)`` time at the start of each step.
        steps_stats: Per-step sums over the off-policy minibatches (the 2nd and later of each rollout,
            whose samples were not yet trained on, so ``ε`` is independent of ``θ − θ_old``): keys
            ``n``, ``raw`` / ``raw2`` (sum and sum of squares of ``log r_t``), ``norm`` / ``norm2``
            (of the normalized log-ratio), ``used`` / ``used2`` (of the log-ratio the method clips),
            ``bias`` (of ``‖Δμ‖²/(2 s_t²)``), ``pos`` (positive-advantage samples) and ``pos_clipped``
            (those whose ratio, as the method clips it, exceeds ``1 + ε``), each a ``(T,)`` array.
        grad_norms: ``(n_measurements, T)`` norms of each step's loss gradient at the start of a rollout's
            updates (``θ = θ_old``), as the method weights it.
        rewards: Mean proxy reward of each rollout.
    """

    evals: list[dict[str, float]] = field(default_factory=list)
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    steps_stats: dict[str, np.ndarray] = field(default_factory=dict)
    grad_norms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    rewards: list[float] = field(default_factory=list)

    def log_ratio_moments(self, which: str = "raw") -> tuple[np.ndarray, np.ndarray]:
        """Per-step mean and standard deviation of the raw (``"raw"``), normalized (``"norm"``) or clipped
        (``"used"``) log-ratio; two ``(T,)`` arrays."""
        n = np.maximum(self.steps_stats["n"], 1.0)
        m = self.steps_stats[which] / n
        var = np.maximum(self.steps_stats[which + "2"] / n - m**2, 0.0)
        return m, np.sqrt(var)


def _as_config(config: FlowGRPOConfig | GRPOGuardConfig) -> FlowGRPOConfig | GRPOGuardConfig:
    if not isinstance(config, FlowGRPOConfig):
        raise InputDataError(f"train_flow_policy: 'config' must be a FlowGRPOConfig or GRPOGuardConfig. "
                             f"Got {type(config).__name__}.")
    return config


def _step_means(model: nn.Module, traj: SDETrajectory, idx: torch.Tensor) -> torch.Tensor:
    """Means of every step of the trajectories ``idx`` under ``model``; ``(T, n, 2)`` (with grad)."""
    t_steps, n = traj.t.shape[0], idx.shape[0]
    x = traj.states[:-1, idx].reshape(t_steps * n, 2)
    rep = lambda v: v[:, None].expand(t_steps, n).reshape(-1)  # noqa: E731
    return sde_step_mean(model, x, rep(traj.t), rep(traj.dt), rep(traj.sigma)).reshape(t_steps, n, 2)


def _method_terms(cfg: FlowGRPOConfig | GRPOGuardConfig, logp: torch.Tensor, logp_old: torch.Tensor,
                  mean: torch.Tensor, mean_old: torch.Tensor, traj: SDETrajectory,
                  adv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-step objective ``(T, n)`` as the method weights it, and the log-ratio it clips."""
    lr = normalized_log_ratio(logp, logp_old, mean, mean_old, traj.std) if cfg.ratio_norm else logp - logp_old
    obj = clipped_objective(lr, adv, cfg.clip_eps)
    if cfg.reweight:
        obj = obj * step_weights(traj.dt)[:, None]
    return obj, lr


def train_flow_policy(model: nn.Module, reward: Callable[[np.ndarray], np.ndarray],
                      config: FlowGRPOConfig | GRPOGuardConfig, seed: int = 0,
                      evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
                      stop: Callable[[dict[str, float]], bool] | None = None) -> FlowPolicyLog:
    """Fine-tune a velocity model with Flow-GRPO or GRPO-Guard (in place) on a reward of its samples.

    Each iteration samples ``groups × group_size`` SDE trajectories from the current policy, scores
    the final points with ``reward`` (``(N, 2) -> (N,)``), standardizes the rewards within each
    group (`guardopt.align.losses.grpo_advantages`), and takes ``minibatches`` Adam steps, each on a
    disjoint share of the trajectories and all their steps, with the config's objective.

    Args:
        model: A velocity model ``(N, 2), (N,) -> (N, 2)`` (e.g. `guardopt.align.flow.VelocityMLP`).
        reward: The reward of final samples, numpy in and out.
        config: `FlowGRPOConfig` (baseline) or `GRPOGuardConfig`.
        seed: Seeds the sampler noise and the minibatch split.
        evaluate: Optional ``model -> {name: value}``, called before training and every ``eval_every``
            iterations (under ``torch.no_grad``).
        stop: Optional ``evaluation row -> bool``; training ends after the first evaluation for which
            it is True (e.g. once a target proxy gain is reached).
    """
    cfg = _as_config(config)
    gen = torch.Generator().manual_seed(int(seed))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    t_steps, n = cfg.n_steps, cfg.groups * cfg.group_size
    keys = ("n", "raw", "raw2", "norm", "norm2", "used", "used2", "bias", "pos", "pos_clipped")
    stats = {k: np.zeros(t_steps) for k in keys}
    log = FlowPolicyLog(steps_stats=stats)
    grad_rows: list[np.ndarray] = []

    def _eval(it: int) -> bool:
        if evaluate is None:
            return False
        with torch.no_grad():
            row = {"iteration": float(it), **{k: float(v) for k, v in evaluate(model).items()}}
        log.evals.append(row)
        return stop is not None and bool(stop(row))

    _eval(0)
    for it in range(cfg.iterations):
        traj = sde_sample(model, torch.randn((n, 2), generator=gen), cfg.n_steps, cfg.noise_level, generator=gen)
        log.t = traj.t.numpy().copy()
        r = np.asarray(reward(traj.samples.numpy()), dtype=float)
        if r.shape != (n,) or not np.all(np.isfinite(r)):
            raise InputDataError(f"train_flow_policy: 'reward' must return {n} finite values. Got shape {r.shape}.")
        log.rewards.append(float(r.mean()))
        adv_all = grpo_advantages(torch.as_tensor(r, dtype=torch.float32).reshape(cfg.groups, cfg.group_size))
        adv_all = adv_all.reshape(-1).clamp(-cfg.adv_clip, cfg.adv_clip)
        order = torch.randperm(n, generator=gen)
        for b, idx in enumerate(torch.chunk(order, cfg.minibatches)):
            adv = adv_all[idx]
            mean = _step_means(model, traj, idx)
            mean_old = traj.means[:, idx]
            logp = gaussian_step_logp(traj.states[1:, idx], mean, traj.std[:, None])
            logp_old = traj.logps[:, idx]
            obj, used = _method_terms(cfg, logp, logp_old, mean, mean_old, traj, adv)
            if b == 0 and it % cfg.diag_every == 0:
                # Per-step gradient norms at θ = θ_old, as the method weights each step.
                norms = []
                for k in range(t_steps):
                    g = torch.autograd.grad(obj[k].mean(), params, retain_graph=True, allow_unused=True)
                    norms.append(math.sqrt(sum(float((gi**2).sum()) for gi in g if gi is not None)))
                grad_rows.append(np.array(norms))
            if b > 0:
                with torch.no_grad():
                    raw = (logp - logp_old).double()
                    nrm = normalized_log_ratio(logp, logp_old, mean, mean_old, traj.std).double()
                    bias = ratio_bias(mean, mean_old, traj.std).double()
                    pos = adv > 0
                    stats["n"] += idx.shape[0]
                    stats["raw"] += raw.sum(1).numpy()
                    stats["raw2"] += (raw**2).sum(1).numpy()
                    stats["norm"] += nrm.sum(1).numpy()
                    stats["norm2"] += (nrm**2).sum(1).numpy()
                    stats["used"] += used.double().sum(1).numpy()
                    stats["used2"] += (used.double() ** 2).sum(1).numpy()
                    stats["bias"] += bias.sum(1).numpy()
                    stats["pos"] += float(pos.sum())
                    stats["pos_clipped"] += ((used > math.log1p(cfg.clip_eps)) & pos[None, :]).sum(1).double().numpy()
            loss = -obj.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if math.isfinite(cfg.grad_clip):
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
        if ((it + 1) % cfg.eval_every == 0 or it + 1 == cfg.iterations) and _eval(it + 1):
            break
    log.grad_norms = np.array(grad_rows) if grad_rows else np.zeros((0, t_steps))
    return log

