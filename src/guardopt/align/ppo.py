"""PPO and PPO-Lagrangian for tiny causal LMs, with separate reward and cost critics (Safe RLHF-V).

Papers: "Safe RLHF-V: Safe Reinforcement Learning from Human Feedback in Multimodal Large Language
Models" (Ji et al., arXiv 2503.17682) and its text predecessor "Safe RLHF" (Dai et al., arXiv
2310.12773). The objective is
``max_θ min_{λ≥0} E[R] − λ·(E[C] − d)`` with a reward model R (helpfulness) and a cost model C
(harm, C > 0 on unsafe responses). TRL no longer ships PPO, so it is written here on the interfaces
of `guardopt.align.model` (``model(ids) -> logits``) and reuses the helpers of
`guardopt.align.trainers`.

One update (`ppo_train`):

1. Sample one completion per drawn prompt from the current policy (the rollout).
2. Score it: R and C of the whole completion (any ``(prompts, completions) -> (B,)`` scorer, clipped to
   ±``score_clip``); per-token log-probabilities of the sampling policy and of the frozen reference.
3. KL-shaped per-token rewards ``r_t = −β·(log π_old − log π_ref)_t`` plus R at the last completion
   token, and per-token costs ``c_t = +β·(log π_old − log π_ref)_t`` plus C at the last token (Safe
   RLHF puts the KL penalty on both streams, so the actor's combined advantage carries exactly one
   β·KL, whatever λ is) (`kl_shaped_rewards`).
4. GAE (γ = 1, λ_GAE = 0.95) on each stream against its own critic (`gae`).
5. Actor: the PPO clipped surrogate (`ppo_actor_loss`) with the advantage ``A_R`` (PPO) or
   ``(A_R − λ·A_C) / (1 + λ)`` (PPO-Lagrangian, `lagrangian_advantages`); critics: value-clipped
   squared error to the GAE returns (`critic_loss`).
6. PPO-Lagrangian only: ``log λ`` takes one gradient step on ``−λ·(J̄_C − d)``, with J̄_C the mean of
   the last ``cost_window`` episode costs (C, not KL-shaped), after ``lambda_delay`` updates, and is
   then capped at ``log λ_max`` (the budget bound) (`LagrangeMultiplier`).

**Critic: a separate value network, not a value head on the policy.** `ValueModel` is a copy of a
pre-trained backbone (the policy's by default; Safe RLHF initializes its critics from the reward and
cost models) with a linear head that gives a value at every position. A separate network keeps the
value regression from moving the policy's features (Safe RLHF and Safe RLHF-V keep separate reward
and cost critic models for this reason), and one value per position is what token-level GAE needs.

The models may take an image: a module with a ``conditioned(images)`` context manager (e.g.
`guardopt.align.multimodal.ImagePrefixLM`) reads the bound ``(B, d_image)`` features as prefix
embeddings; ``ppo_train(..., image=...)`` binds each prompt's features around every forward pass.

Defaults are Safe RLHF-V's (``safe_rlhf_v.yaml``): clip ε 0.2, β_KL 0.02, λ_init 10, λ lr 0.1,
λ_max 20, γ 1, λ_GAE 0.95, scores clipped to ±50, one λ step per update after a delay of 1, a
window of 128 episode costs. Learning rates are this scale's (the paper's 5e-7 is for 7B models).

Shapes: ``B`` sequences, ``T`` positions aligned with `token_logps` (entry t scores ``ids[:, t+1]``).
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from guardopt.align.model import sample, token_logps
from guardopt.align.trainers import Callback, TrainLog, _advance, _maybe_eval, _progress, _step, _stop, completion_batch
from guardopt.core.errors import InputDataError, InvalidParameterError, check_bool, check_in_range, check_int

__all__ = [
    "LagrangeMultiplier",
    "PPOConfig",
    "PPOLagConfig",
    "ValueModel",
    "critic_loss",
    "gae",
    "kl_shaped_rewards",
    "lagrange_step",
    "lagrangian_advantages",
    "ppo_actor_loss",
    "ppo_train",
]

P = TypeVar("P")
Scorer = Callable[[Sequence[Any], Sequence[Sequence[int]]], torch.Tensor]


def _finite(owner: str, **tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise InputDataError(f"{owner}: {name!r} must be a tensor. Got {type(t).__name__} instead.")
        if not bool(torch.isfinite(t).all()):
            raise InputDataError(f"{owner}: {name!r} holds NaN or infinite values.")


def _same_shape(owner: str, **tensors: torch.Tensor) -> None:
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if len(set(shapes.values())) != 1:
        raise InputDataError(f"{owner}: the tensors must share one shape. Got {shapes} instead.")
    first = next(iter(shapes.values()))
    if len(first) != 2 or 0 in first:
        raise InputDataError(f"{owner}: the tensors must have a non-empty shape (B, T). Got {first} instead.")


# --------------------------------------------------------------------------------------------------
# Pure functions (hand-checked in tests)
# --------------------------------------------------------------------------------------------------


def _last_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last 1 in each row of a 0/1 mask ``(B, T)`` (rows without a 1 give -1)."""
    T = mask.shape[1]
    pos = torch.arange(T, device=mask.device).expand_as(mask)
    return torch.where(mask > 0, pos, torch.full_like(pos, -1)).max(dim=1).values


def kl_shaped_rewards(scores: torch.Tensor, old_logps: torch.Tensor, ref_logps: torch.Tensor, mask: torch.Tensor,
                      kl_coef: float, sign: float = -1.0) -> torch.Tensor:
    """Per-token rewards ``sign·β·(log π_old − log π_ref)`` on the masked tokens, plus the score at the last one.

    Args:
        scores: ``(B,)`` sequence scores (reward R, or cost C with ``sign=+1``).
        old_logps, ref_logps: ``(B, T)`` per-token log-probabilities of the sampling and reference policies.
        mask: ``(B, T)`` 1 on completion tokens.
        kl_coef: β_KL ≥ 0.
        sign: −1 for rewards (the KL is a penalty), +1 for costs (the KL is a cost).

    Returns:
        ``(B, T)`` per-token rewards, 0 off the mask.
    """
    _same_shape("kl_shaped_rewards", old_logps=old_logps, ref_logps=ref_logps, mask=mask)
    _finite("kl_shaped_rewards", scores=scores, old_logps=old_logps, ref_logps=ref_logps, mask=mask)
    if scores.shape != old_logps.shape[:1]:
        raise InputDataError(f"kl_shaped_rewards: 'scores' must have shape (B,) = ({old_logps.shape[0]},). "
                             f"Got {tuple(scores.shape)} instead.")
    kl_coef = check_in_range(kl_coef, "kl_coef", "kl_shaped_rewards", 0.0, low_open=False)
    m = mask.to(old_logps.dtype)
    out = sign * kl_coef * (old_logps - ref_logps) * m
    last = _last_index(m)
    rows = torch.nonzero(last >= 0).squeeze(-1)
    out[rows, last[rows]] += scores[rows].to(out.dtype)
    return out


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimation over the masked tokens of each sequence.

    ``δ_t = r_t + γ·V_{t+1} − V_t`` with ``V`` = 0 after the last masked token, and
    ``A_t = δ_t + γ·λ·A_{t+1}``; returns ``A`` and the critic targets ``A + V``. Positions off the mask
    are skipped (a gap never carries values across it) and get 0.

    Args:
        rewards: ``(B, T)`` per-token rewards (`kl_shaped_rewards`).
        values: ``(B, T)`` the critic's values of the state before each token.
        mask: ``(B, T)`` 1 on completion tokens.
        gamma: Discount γ ∈ [0, 1].
        lam: GAE λ ∈ [0, 1].

    Returns:
        ``(advantages, returns)``, both ``(B, T)``.
    """
    _same_shape("gae", rewards=rewards, values=values, mask=mask)
    _finite("gae", rewards=rewards, values=values, mask=mask)
    gamma = check_in_range(gamma, "gamma", "gae", 0.0, 1.0, low_open=False, high_open=False)
    lam = check_in_range(lam, "lam", "gae", 0.0, 1.0, low_open=False, high_open=False)
    m = mask.to(values.dtype)
    B, T = values.shape
    adv = torch.zeros_like(values)
    next_value = torch.zeros(B, dtype=values.dtype)
    next_adv = torch.zeros(B, dtype=values.dtype)
    for t in range(T - 1, -1, -1):
        on = m[:, t] > 0
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        a = delta + gamma * lam * next_adv
        adv[:, t] = torch.where(on, a, torch.zeros_like(a))
        next_value = torch.where(on, values[:, t], next_value)
        next_adv = torch.where(on, a, next_adv)
    return adv, (adv + values) * m


def lagrangian_advantages(reward_adv: torch.Tensor, cost_adv: torch.Tensor, lam: float) -> torch.Tensor:
    """Safe RLHF's actor advantage ``(A_R − λ·A_C) / (1 + λ)`` (λ ≥ 0; the division keeps its scale bounded)."""
    if reward_adv.shape != cost_adv.shape:
        raise InputDataError("lagrangian_advantages: 'reward_adv' and 'cost_adv' must share one shape.")
    _finite("lagrangian_advantages", reward_adv=reward_adv, cost_adv=cost_adv)
    lam = check_in_range(lam, "lam", "lagrangian_advantages", 0.0, low_open=False)
    # The two weights are formed in double precision: λ itself may not fit the tensors' float32
    # (λ = 1e308 would become inf, and inf · 0 is NaN), while 1/(1+λ) and λ/(1+λ) always lie in [0, 1].
    return reward_adv * (1.0 / (1.0 + lam)) - cost_adv * (lam / (1.0 + lam))


def _masked_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (x * m).sum() / m.sum().clamp_min(1.0)


def ppo_actor_loss(logps: torch.Tensor, old_logps: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                   clip_eps: float = 0.2) -> torch.Tensor:
    """The PPO clipped surrogate ``−mean_t min(ρ_t·A_t, clip(ρ_t, 1−ε, 1+ε)·A_t)`` over the masked tokens.

    ``ρ_t = exp(log π_θ − log π_old)``; the mean runs over every masked token of the batch (as Safe
    RLHF's ``masked_mean``).

    Args:
        logps: ``(B, T)`` per-token log-probabilities under the current policy (with gradient).
        old_logps: ``(B, T)`` the same under the sampling policy.
        advantages: ``(B, T)`` per-token advantages.
        mask: ``(B, T)`` 1 on completion tokens.
        clip_eps: ε ∈ (0, 1).

    Returns:
        The scalar loss.
    """
    _same_shape("ppo_actor_loss", logps=logps, old_logps=old_logps, advantages=advantages, mask=mask)
    _finite("ppo_actor_loss", old_logps=old_logps, advantages=advantages, mask=mask)
    clip_eps = check_in_range(clip_eps, "clip_eps", "ppo_actor_loss", 0.0, 1.0)
    m = mask.to(logps.dtype)
    # The current log-probabilities count on the mask only (padding may be anything); a NaN or -inf
    # there would give a NaN loss, or a finite one from a clipped ratio of 0.
    _finite("ppo_actor_loss", logps=torch.where(m > 0, logps, torch.zeros_like(logps)))
    ratio = torch.exp(torch.where(m > 0, logps - old_logps, torch.zeros_like(logps)))
    surrogate = torch.minimum(ratio * advantages, ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps) * advantages)
    loss = -_masked_mean(surrogate, m)
    if not bool(torch.isfinite(loss)):  # the ratio or its product with the advantages overflowed
        raise InputDataError(f"ppo_actor_loss: the loss is NaN or infinite: 'logps' - 'old_logps' or the "
                             f"'advantages' overflow {logps.dtype}; rescale them.")
    return loss


def critic_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
                clip_value: float = 0.2) -> torch.Tensor:
    """Value-clipped regression ``½·mean_t max((V − G)², (clip(V, V_old ± ε_v) − G)²)`` over the masked tokens."""
    _same_shape("critic_loss", values=values, old_values=old_values, returns=returns, mask=mask)
    _finite("critic_loss", old_values=old_values, returns=returns, mask=mask)
    clip_value = check_in_range(clip_value, "clip_value", "critic_loss", 0.0)
    m = mask.to(values.dtype)
    # A bound past the dtype's largest value clips nothing more, but torch cannot convert it (1e308 for
    # float32 was a RuntimeError): cap it there.
    bound = min(clip_value, float(torch.finfo(values.dtype).max)) if values.is_floating_point() else clip_value
    clipped = old_values + (values - old_values).clamp(-bound, bound)
    err = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    loss = 0.5 * _masked_mean(err, m)
    if not bool(torch.isfinite(loss)):  # NaN values, or squared errors that overflow the dtype
        raise InputDataError(f"critic_loss: the loss is NaN or infinite: 'values' hold NaN or infinite entries "
                             f"or (values - returns)² overflows {values.dtype}; rescale them.")
    return loss


_LOG_LAMBDA_CEILING = 700.0  # e^700 ≈ 1e304: the largest multiplier a float can still multiply safely


def lagrange_step(log_lambda: float, mean_cost: float, limit: float, lr: float,
                  lambda_max: float | None = None) -> float:
    """One gradient-descent step of ``log λ`` on the loss ``−λ·(J̄_C − d)``, then the cap ``λ ≤ λ_max``.

    The gradient of ``−e^{log λ}·(J̄_C − d)`` in ``log λ`` is ``−λ·(J̄_C − d)``, so
    ``log λ ← log λ + lr·λ·(J̄_C − d)``: λ grows while the measured cost exceeds the limit and shrinks
    (never below 0) while it is under it.

    Example:
        >>> round(lagrange_step(0.0, mean_cost=0.5, limit=0.0, lr=0.1), 6)  # λ = 1: log λ += 0.1·1·0.5
        0.05
    """
    for name, v in (("log_lambda", log_lambda), ("mean_cost", mean_cost), ("limit", limit)):
        check_in_range(v, name, "lagrange_step")
    lr = check_in_range(lr, "lr", "lagrange_step", 0.0, low_open=False)
    # λ is read at most at the ceiling, so a multiplier beyond it still steps the right way (down when
    # the cost is under the limit) instead of overflowing.
    lam = math.exp(min(float(log_lambda), _LOG_LAMBDA_CEILING))
    new = float(log_lambda) + lr * (float(mean_cost) - float(limit)) * lam
    if lambda_max is not None:
        cap = check_in_range(lambda_max, "lambda_max", "lagrange_step", 0.0)
        new = min(new, math.log(cap))
    if not math.isfinite(new) or new > _LOG_LAMBDA_CEILING:  # e^new would overflow a float
        raise InputDataError("lagrange_step: the multiplier overflowed; bound it with 'lambda_max'.")
    return new


class LagrangeMultiplier:
    """The multiplier λ = e^{log λ} of PPO-Lagrangian, with Safe RLHF's delay, cost window and budget bound.

    Args:
        init: λ at the start (> 0).
        lr: Step size of ``log λ`` (≥ 0; 0 freezes λ).
        limit: The cost limit d.
        lambda_max: The budget bound λ_max (None: unbounded).
        delay: Updates to wait before the first step.
        window: How many recent episode costs J̄_C averages.

    Example:
        >>> lm = LagrangeMultiplier(init=1.0, lr=0.1, limit=0.0, delay=0)
        >>> round(lm.update([0.5, 0.5]), 4)  # log λ = 0.05
        1.0513
    """

    def __init__(self, init: float, lr: float, limit: float, lambda_max: float | None = None, delay: int = 1,
                 window: int = 128) -> None:
        init = check_in_range(init, "init", "LagrangeMultiplier", 0.0)
        self.lr = check_in_range(lr, "lr", "LagrangeMultiplier", 0.0, low_open=False)
        self.limit = check_in_range(limit, "limit", "LagrangeMultiplier")
        self.lambda_max = None if lambda_max is None else check_in_range(lambda_max, "lambda_max",
                                                                         "LagrangeMultiplier", 0.0, 1e300)
        if self.lambda_max is not None and init > self.lambda_max:
            raise InvalidParameterError("init", "LagrangeMultiplier", f"at most lambda_max={self.lambda_max}", init)
        self.delay = check_int(delay, "delay", "LagrangeMultiplier", 0)
        self.costs: deque[float] = deque(maxlen=check_int(window, "window", "LagrangeMultiplier", 1))
        self.log_lambda = math.log(init)
        self.updates = 0

    @property
    def value(self) -> float:
        """The current λ."""
        return math.exp(self.log_lambda)

    @property
    def mean_cost(self) -> float:
        """J̄_C: the mean of the episode costs in the window (NaN before any)."""
        return float(sum(self.costs) / len(self.costs)) if self.costs else math.nan

    def update(self, episode_costs: Sequence[float]) -> float:
        """Add one update's episode costs to the window, step ``log λ`` (after the delay), return λ."""
        try:
            vals = [float(c) for c in episode_costs]
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputDataError("LagrangeMultiplier.update: 'episode_costs' must be a non-empty list of finite "
                                 "numbers.") from exc
        if not vals or not all(math.isfinite(c) for c in vals):
            raise InputDataError("LagrangeMultiplier.update: 'episode_costs' must be a non-empty list of finite "
                                 "numbers.")
        self.costs.extend(vals)
        self.updates += 1
        if self.updates > self.delay:
            self.log_lambda = lagrange_step(self.log_lambda, self.mean_cost, self.limit, self.lr, self.lambda_max)
        return self.value


# --------------------------------------------------------------------------------------------------
# The critic
# --------------------------------------------------------------------------------------------------


def hidden_states(backbone: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """The final (normed) hidden states ``(B, T, D)`` of a backbone with a ``hidden_states(ids)`` method.

    `TinyCausalLM` and `guardopt.align.multimodal.ImagePrefixLM` (which drops its prefix positions) both have one.
    """
    fn = getattr(backbone, "hidden_states", None)
    if not callable(fn):
        raise InvalidParameterError("backbone", "ValueModel", "a module with a hidden_states(ids) method",
                                    type(backbone).__name__)
    out: torch.Tensor = fn(ids)
    return out


class ValueModel(nn.Module):
    """A critic: a transformer backbone and a linear head giving one value per position.

    Args:
        backbone: A `TinyCausalLM` (or `ImagePrefixLM`) whose hidden states feed the head; it is used as
            given (copy it first, e.g. `ValueModel.from_policy`, to keep it apart from the policy).

    ``model(ids)`` → ``(B, T)``: entry t is the value of the state after ``ids[:, :t+1]``.
    """

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        config = getattr(backbone, "config", None)
        if not callable(getattr(backbone, "hidden_states", None)) or not hasattr(config, "d_model"):
            raise InvalidParameterError("backbone", "ValueModel", "a TinyCausalLM-style module with hidden_states(ids)",
                                        type(backbone).__name__)
        self.backbone = backbone
        d = int(config.d_model)  # type: ignore[union-attr]
        self.head = nn.Linear(d, 1)
        with torch.no_grad():  # start at V = 0: the first returns are learned, not guessed
            self.head.weight.zero_()
            self.head.bias.zero_()

    @classmethod
    def from_policy(cls, policy: nn.Module) -> ValueModel:
        """A critic on a deep copy of ``policy``'s backbone (trainable), with a zero head."""
        import copy

        bb = copy.deepcopy(policy)
        for p in bb.parameters():
            p.requires_grad_(True)
        return cls(bb.train())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(hidden_states(self.backbone, ids)).squeeze(-1)
        return out

    def conditioned(self, images: torch.Tensor) -> contextlib.AbstractContextManager[Any]:
        """Bind images to the backbone (only for an image-conditioned backbone)."""
        bind = getattr(self.backbone, "conditioned", None)
        if bind is None:
            raise InputDataError("ValueModel.conditioned: the backbone takes no images.")
        cm: contextlib.AbstractContextManager[Any] = bind(images)
        return cm


# --------------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PPOConfig:
    """PPO with a reward model and a KL-shaped per-token reward.

    Args:
        updates: Rollout-and-optimize rounds.
        rollout_size: Prompts drawn (one completion each) per update.
        ppo_epochs: Passes over each rollout.
        minibatches: Minibatches per pass.
        actor_lr: Adam learning rate of the policy.
        critic_lr: Adam learning rate of the critics.
        clip_eps: PPO clip ε ∈ (0, 1).
        clip_value: Value clip ε_v > 0 of the critic loss.
        kl_coef: β_KL ≥ 0 of the per-token KL shaping.
        gamma: Discount γ ∈ [0, 1].
        gae_lambda: GAE λ ∈ [0, 1].
        score_clip: Scores are clipped to ±this (> 0).
        max_new: Most sampled tokens per completion.
        temperature: Sampling temperature (> 0).
        grad_clip: Gradient-norm clip (> 0).
        progress: Show a progress bar.
    """

    updates: int = 100
    rollout_size: int = 64
    ppo_epochs: int = 1
    minibatches: int = 1
    actor_lr: float = 3e-4
    critic_lr: float = 1e-3
    clip_eps: float = 0.2
    clip_value: float = 0.2
    kl_coef: float = 0.02
    gamma: float = 1.0
    gae_lambda: float = 0.95
    score_clip: float = 50.0
    max_new: int = 24
    temperature: float = 1.0
    grad_clip: float = 1.0
    progress: bool = False

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_int(self.updates, "updates", owner, 0)
        check_int(self.rollout_size, "rollout_size", owner, 1)
        check_int(self.ppo_epochs, "ppo_epochs", owner, 1)
        check_int(self.minibatches, "minibatches", owner, 1, self.rollout_size)
        check_in_range(self.actor_lr, "actor_lr", owner, 0.0)
        check_in_range(self.critic_lr, "critic_lr", owner, 0.0)
        check_in_range(self.clip_eps, "clip_eps", owner, 0.0, 1.0)
        check_in_range(self.clip_value, "clip_value", owner, 0.0)
        check_in_range(self.kl_coef, "kl_coef", owner, 0.0, low_open=False)
        check_in_range(self.gamma, "gamma", owner, 0.0, 1.0, low_open=False, high_open=False)
        check_in_range(self.gae_lambda, "gae_lambda", owner, 0.0, 1.0, low_open=False, high_open=False)
        check_in_range(self.score_clip, "score_clip", owner, 0.0)
        check_int(self.max_new, "max_new", owner, 1)
        check_in_range(self.temperature, "temperature", owner, 0.0)
        check_in_range(self.grad_clip, "grad_clip", owner, 0.0)
        check_bool(self.progress, "progress", owner)

    @property
    def generations(self) -> int:
        """Completions sampled over the whole run."""
        return self.updates * self.rollout_size


@dataclass(frozen=True)
class PPOLagConfig(PPOConfig):
    """PPO-Lagrangian (Safe RLHF / Safe RLHF-V): PPO plus a cost model, a cost critic and a multiplier λ.

    Args:
        cost_limit: The limit d on the mean episode cost (cost-model scale).
        lambda_init: λ at the start (> 0).
        lambda_lr: Step size of ``log λ`` (≥ 0).
        lambda_max: The budget bound λ_max (None: unbounded, as text Safe RLHF's 1e6 in effect).
        lambda_delay: Updates before the first λ step.
        cost_window: Episode costs averaged into J̄_C.
        (and every field of `PPOConfig`)
    """

    cost_limit: float = 0.0
    lambda_init: float = 10.0
    lambda_lr: float = 0.1
    lambda_max: float | None = 20.0
    lambda_delay: int = 1
    cost_window: int = 128

    def __post_init__(self) -> None:
        super().__post_init__()
        check_in_range(self.cost_limit, "cost_limit", "PPOLagConfig")
        check_in_range(self.lambda_init, "lambda_init", "PPOLagConfig", 0.0)
        check_in_range(self.lambda_lr, "lambda_lr", "PPOLagConfig", 0.0, low_open=False)
        if self.lambda_max is not None:
            check_in_range(self.lambda_max, "lambda_max", "PPOLagConfig", 0.0, 1e300)
            if self.lambda_init > self.lambda_max:
                raise InvalidParameterError("lambda_init", "PPOLagConfig", f"at most lambda_max={self.lambda_max}",
                                            self.lambda_init)
        check_int(self.lambda_delay, "lambda_delay", "PPOLagConfig", 0)
        check_int(self.cost_window, "cost_window", "PPOLagConfig", 1)


# --------------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _bind(models: Sequence[nn.Module], images: torch.Tensor | None) -> Iterator[None]:
    if images is None:
        yield
        return
    with contextlib.ExitStack() as stack:
        for m in models:
            stack.enter_context(m.conditioned(images))  # type: ignore[operator]
        yield


def _rollout(policy: nn.Module, prefixes: list[list[int]], images: torch.Tensor | None, max_new: int, eos_id: int,
             gen: torch.Generator, temperature: float) -> list[list[int]]:
    """Sample one completion per prefix; with images, one `sample` call per prefix length so rows keep their order."""
    if images is None:
        return sample(policy, prefixes, max_new, eos_id, gen, temperature)
    out: list[list[int]] = [[] for _ in prefixes]
    by_len: dict[int, list[int]] = {}
    for i, p in enumerate(prefixes):
        by_len.setdefault(len(p), []).append(i)
    for _, idx in sorted(by_len.items()):
        with _bind([policy], images[idx]):
            comps = sample(policy, [prefixes[i] for i in idx], max_new, eos_id, gen, temperature,
                           batch_size=len(idx))
        for i, c in zip(idx, comps):
            out[i] = c
    return out


def _scores(scorer: Scorer, prompts: Sequence[Any], comps: Sequence[Sequence[int]], clip: float, what: str
            ) -> torch.Tensor:
    s = scorer(prompts, comps)
    if not isinstance(s, torch.Tensor) or s.shape != (len(comps),):
        raise InputDataError(f"ppo_train: the {what} scorer must return a tensor of shape ({len(comps)},).")
    if not bool(torch.isfinite(s).all()):
        raise InputDataError(f"ppo_train: the {what} scorer returned NaN or infinite scores.")
    return s.detach().float().clamp(-clip, clip)


def ppo_train(policy: nn.Module, ref_model: nn.Module, reward_critic: nn.Module, prompts: Sequence[P],
              encode: Callable[[P], list[int]], reward: Scorer, config: PPOConfig, seed: int, eos_id: int,
              cost: Scorer | None = None, cost_critic: nn.Module | None = None,
              image: Callable[[P], Sequence[float]] | None = None,
              rollout_metrics: Callable[[Sequence[P], Sequence[Sequence[int]]], dict[str, float]] | None = None,
              callback: Callback | None = None, every: int = 0) -> TrainLog:
    """PPO (a `PPOConfig`) or PPO-Lagrangian (a `PPOLagConfig`, with ``cost`` and ``cost_critic``).

    Args:
        policy: The actor (trained in place; it samples its own rollouts, on-policy).
        ref_model: The frozen reference π_ref of the KL shaping (usually a `frozen_copy` of the start).
        reward_critic: The reward critic (a `ValueModel`, trained in place).
        prompts: Prompt objects (any type), drawn with replacement; ``encode`` maps one to ids (with BOS).
        encode: Prompt → ids.
        reward: ``(prompts, completions) -> (B,)`` reward-model scores of the completions (ids, EOS included).
        config: The run; a `PPOLagConfig` makes it PPO-Lagrangian.
        seed: Seed of the prompt draws and the sampling.
        eos_id: End token of completions.
        cost: ``(prompts, completions) -> (B,)`` cost-model scores (PPO-Lagrangian only).
        cost_critic: The cost critic (PPO-Lagrangian only).
        image: Prompt → its feature vector; the policy, reference and critics must then accept images
            through ``conditioned(images)`` (`guardopt.align.multimodal.ImagePrefixLM`).
        rollout_metrics: Optional ``(prompts, completions) -> metrics`` of each rollout, added to its row
            (e.g. gold-judged cost and helpfulness of the very samples the update trains on).
        callback: Optional ``(update, policy) -> metrics`` run every ``every`` updates (and at the end).
        every: Callback period in updates (0: never).

    Returns:
        A `TrainLog` with one row per update: ``reward`` and ``cost`` (mean scores of the rollout),
        ``episode_cost`` (J̄_C), ``lambda`` (after its step; 0 for PPO), ``kl`` (mean per-sequence
        ``Σ_t log π_old − log π_ref``), ``actor_loss``, ``reward_value_loss``, ``cost_value_loss``,
        ``length``; ``extra["lambda"]`` lists λ after every update.
    """
    lag = isinstance(config, PPOLagConfig)
    if not isinstance(config, PPOConfig):
        raise InvalidParameterError("config", "ppo_train", "a PPOConfig or PPOLagConfig", config)
    if lag and (cost is None or cost_critic is None):
        raise InvalidParameterError("cost", "ppo_train", "a cost scorer and a cost critic for a PPOLagConfig", cost)
    if not lag and (cost is not None or cost_critic is not None):
        raise InvalidParameterError("config", "ppo_train", "a PPOLagConfig when a cost is given", config)
    if not prompts:
        raise InputDataError("ppo_train: no prompts.")
    gen = torch.Generator().manual_seed(int(seed))
    critics = [reward_critic] + ([cost_critic] if cost_critic is not None else [])
    actor_opt = torch.optim.Adam(policy.parameters(), lr=config.actor_lr)
    critic_opts = [torch.optim.Adam(c.parameters(), lr=config.critic_lr) for c in critics]
    multiplier = None
    if isinstance(config, PPOLagConfig):
        multiplier = LagrangeMultiplier(config.lambda_init, config.lambda_lr, config.cost_limit, config.lambda_max,
                                        config.lambda_delay, config.cost_window)
    ref_model.eval()
    log = TrainLog(extra={"lambda": []})
    bar = _progress(config.progress, config.updates, "PPO-Lag" if lag else "PPO")
    _maybe_eval(callback, every, 0, policy, log)
    n_mb = config.minibatches
    for it in range(1, config.updates + 1):
        pick = torch.randint(len(prompts), (config.rollout_size,), generator=gen).tolist()
        ps = [prompts[i] for i in pick]
        prefixes = [encode(p) for p in ps]
        imgs = None if image is None else torch.tensor([list(image(p)) for p in ps], dtype=torch.float32)
        comps = _rollout(policy, prefixes, imgs, config.max_new, eos_id, gen, config.temperature)
        log.generations += len(comps)
        keep = [k for k, c in enumerate(comps) if c]
        if not keep:
            raise InputDataError("ppo_train: every sampled completion was empty.")
        ps = [ps[k] for k in keep]
        comps = [comps[k] for k in keep]
        prefixes = [prefixes[k] for k in keep]
        imgs = None if imgs is None else imgs[keep]
        ids, mask = completion_batch(prefixes, comps)
        r_score = _scores(reward, ps, comps, config.score_clip, "reward")
        c_score = None if cost is None else _scores(cost, ps, comps, config.score_clip, "cost")
        with torch.no_grad(), _bind([policy, ref_model, *critics], imgs):
            policy.eval()
            old = token_logps(policy, ids)
            ref = token_logps(ref_model, ids)
            old_values = [c(ids)[:, :-1] for c in critics]
        kl_seq = ((old - ref) * mask).sum(-1)
        r_tok = kl_shaped_rewards(r_score, old, ref, mask, config.kl_coef, sign=-1.0)
        r_adv, r_ret = gae(r_tok, old_values[0], mask, config.gamma, config.gae_lambda)
        advs, rets = [r_adv], [r_ret]
        lam = 0.0
        if c_score is not None and multiplier is not None:
            c_tok = kl_shaped_rewards(c_score, old, ref, mask, config.kl_coef, sign=+1.0)
            c_adv, c_ret = gae(c_tok, old_values[1], mask, config.gamma, config.gae_lambda)
            advs.append(c_adv)
            rets.append(c_ret)
            lam = multiplier.value  # the actor uses the λ of the rollout; λ steps after it
            actor_adv = lagrangian_advantages(r_adv, c_adv, lam)
        else:
            actor_adv = r_adv
        policy.train()
        for c in critics:
            c.train()
        B = ids.shape[0]
        a_loss = v_losses = None
        for _ in range(config.ppo_epochs):
            order = torch.randperm(B, generator=gen)
            for chunk in order.chunk(min(n_mb, B)):
                b = chunk.tolist()
                x, m = ids[b], mask[b]
                with _bind([policy, *critics], None if imgs is None else imgs[b]):
                    lp = token_logps(policy, x)
                    a_loss = _step(policy, actor_opt, ppo_actor_loss(lp, old[b], actor_adv[b], m, config.clip_eps),
                                   config.grad_clip)
                    v_losses = []
                    for c, opt, ov, ret in zip(critics, critic_opts, old_values, rets):
                        v = c(x)[:, :-1]
                        v_losses.append(_step(c, opt, critic_loss(v, ov[b], ret[b], m, config.clip_value),
                                              config.grad_clip))
        row = {"step": float(it), "reward": float(r_score.mean()), "kl": float(kl_seq.mean()),
               "actor_loss": float(a_loss or 0.0), "reward_value_loss": float(v_losses[0] if v_losses else 0.0),
               "length": float(mask.sum(-1).mean())}
        if c_score is not None and multiplier is not None:
            new_lam = multiplier.update(c_score.tolist())
            row.update(cost=float(c_score.mean()), episode_cost=multiplier.mean_cost, lambda_used=lam,
                       cost_value_loss=float(v_losses[1] if v_losses and len(v_losses) > 1 else 0.0))
            row["lambda"] = new_lam
        else:
            row["lambda"] = 0.0
        if rollout_metrics is not None:
            row.update({k: float(v) for k, v in rollout_metrics(ps, comps).items()})
        log.extra["lambda"].append(row["lambda"])
        log.rows.append(row)
        _advance(bar)
        _maybe_eval(callback, every, it, policy, log, last=it == config.updates)
    _stop(bar)
    return log
