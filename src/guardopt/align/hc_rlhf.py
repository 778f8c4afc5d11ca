"""HC-RLHF: optimise the reward under a pessimistic cost bound, then release only what passes a safety test.

Chittepu, Metevier, Schwarzer, Hoag, Niekum and Thomas (2025), "Reinforcement Learning from Human
Feedback with High-Confidence Safety Constraints", arXiv 2506.08266 (RLC 2025); the authors' code is
UMass-SCALAR-Lab/HC-RLHF (``safe_rlhf/algorithms/reinforce_lag``), a fork of PKU safe-rlhf.

A reward model ``r`` (helpfulness) and a cost model ``c`` (harm) score completions; the constraint
is ``E_{x, y~π}[c(x, y)] <= τ``. Two steps:

1. **Candidate selection** (`hc_rlhf_train`). REINFORCE with a leave-one-out baseline (no critic)
   maximises ``r`` under the *pessimistic* constraint ``U(θ) = μ̂ + k·σ̂ <= τ``, where ``μ̂, σ̂``
   are the mean and (Bessel-corrected) standard deviation of the last ``cost_window`` episode costs
   and ``k = C1·t_{1−δ, n−1}/√n + C2·t_{1−δ, m−1}/√m`` (`pessimism_coefficient`): the first term
   covers the estimate on the training samples, the second predicts the safety test's own margin
   on its ``m`` prompts. Per sequence the return is
   ``clip(r − β_KL·Σ_t (log π − log π_ref), ±clip) − λ·c̃``, with the *pessimism surrogate*
   ``c̃ = c + k·(c² − 2c·μ̂)/(2σ̂)`` (`pessimistic_costs`): since ``∇σ = ∇(E[c²] − μ²)/(2σ)`` and the
   score-function estimator of ``∇E[f]`` is ``E[f ∇log π]``, a REINFORCE step on ``c̃`` follows
   ``∇(μ + k·σ)``, the gradient of the bound itself. The multiplier is ``λ = exp(log λ)``, and
   ``log λ`` takes an SGD step on ``−(U − τ)·λ`` before each policy step (`dual_update`), clamped at
   ``log λ_max``. With ``c1 = c2 = 0`` (``k = 0``) the same trainer is the mean-constrained
   Lagrangian that HC-RLHF is compared with.
2. **Safety test** (`safety_test_policy`). The candidate answers ``m`` held-out safety prompts, the
   cost model scores the answers, and `guardopt.guards.safety_test` compares the one-sided
   ``1 − δ`` Student-t upper bound ``mean + t_{1−δ, m−1}·std/√m`` with ``τ``. The policy is
   returned only if the bound is at most ``τ``; otherwise the result says "no solution found"
   (`HCRLHFResult`). For a candidate whose expected cost-model cost exceeds ``τ``, the test passes
   it with probability at most ``δ`` (approximately: the t bound relies on the central limit theorem).
   The guarantee is about the cost *model*: a cost model that under-rates harm certifies harm.

Defaults (`HCRLHFConfig`) follow the released scripts: the sweep that launches the paper's 30 seeds
(``scripts/reinforce-ci.py``) sets δ (``fail_prob``) = 0.1, C1 = 4, C2 = 2, safety-set size
m = 100, β_KL = 0.1 and 2 samples per prompt with the leave-one-out baseline; the launcher it calls
(``scripts/reinforce-ci-lag.sh``, whose own defaults are C1 = C2 = 1, m = 1000 and one sample
without the baseline) adds 64 prompts per rollout, λ_init = 1, λ learning rate 0.01, λ_max = 10⁶, a
256-cost window, score clip 50, gradient-norm clip 5, AdamW with weight decay 0.01 and a cosine
schedule with 3% warm-up. The primal's ``k`` uses ``n`` = the samples of one update, the dual's
``n`` = the current window length, as in the released trainer; there one update is a training
micro-batch of 16 prompts × 2 samples (n = 32), here it is the whole rollout (n = 128 at the defaults).
The actor learning rate (5e-6 for 1.5–3B models) has no meaning for a 100k-parameter model;
it is a parameter here (default 1e-3). The paper's cost is the raw cost-model score with τ = 0;
any scalar cost works here (the reproduction uses the cost model's unsafe decision, 1[C > 0]).

A progress bar (rich) is off by default.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from guardopt.align.model import sample, token_logps
from guardopt.align.ppo import lagrange_step
from guardopt.align.trainers import (
    Callback,
    TrainLog,
    _advance,
    _maybe_eval,
    _progress,
    _step,
    _stop,
    completion_batch,
)
from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_bool,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.guards.safety import Verdict, safety_test
from guardopt.uncertainty.bounds import student_t_radius

__all__ = [
    "HCRLHFConfig",
    "HCRLHFResult",
    "PolicyNotReleasedError",
    "Scorer",
    "cost_upper_bound",
    "dual_update",
    "hc_rlhf",
    "hc_rlhf_train",
    "pessimism_coefficient",
    "pessimistic_costs",
    "reinforce_loo_loss",
    "safety_test_policy",
]

P = TypeVar("P")
#: ``(prefixes, completions) -> (B,)`` scores: prefixes are prompt ids with BOS, completions the sampled ids.
Scorer = Callable[[Sequence[Sequence[int]], Sequence[Sequence[int]]], torch.Tensor]

_OWNER = "HCRLHFConfig"


@dataclass(frozen=True)
class HCRLHFConfig:
    """HC-RLHF's two steps (defaults: the released scripts; see the module docstring).

    Args:
        threshold: The cost limit τ (the paper: 0 on the raw cost-model score).
        delta: δ, the allowed probability of returning a policy whose expected cost exceeds τ.
        c1: C1, weight of the training-sample t term of ``k`` (0 with ``c2 = 0``: the mean constraint).
        c2: C2, weight of the predicted safety-test term of ``k``.
        safety_size: m, the number of safety prompts the test will use (enters ``k``).
        kl_coeff: β_KL, weight of the sequence KL to the reference in the reward.
        iterations: Policy updates (one rollout each).
        prompts_per_iter: Prompts per rollout.
        samples_per_prompt: Completions per prompt (G ≥ 2: the leave-one-out baseline needs two).
        lr: AdamW learning rate of the policy.
        weight_decay: AdamW weight decay.
        warmup_ratio: Share of the updates with a linear warm-up, then a cosine decay to 0.
        lambda_init: Initial multiplier λ > 0.
        lambda_lr: SGD learning rate of ``log λ``.
        lambda_max: Upper clamp of λ.
        cost_window: Episode costs kept for ``μ̂, σ̂`` (the newest ones).
        score_clip: Clip of the KL-regularised reward.
        grad_clip: Gradient-norm clip.
        max_new: Most sampled tokens per completion.
        temperature: Sampling temperature.
        bound: The safety test's bound (``"ttest"``: the paper's).
        progress: Show a progress bar.
    """

    threshold: float = 0.0
    delta: float = 0.1
    c1: float = 4.0
    c2: float = 2.0
    safety_size: int = 100
    kl_coeff: float = 0.1
    iterations: int = 30
    prompts_per_iter: int = 64
    samples_per_prompt: int = 2
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.03
    lambda_init: float = 1.0
    lambda_lr: float = 0.01
    lambda_max: float = 1e6
    cost_window: int = 256
    score_clip: float = 50.0
    grad_clip: float = 5.0
    max_new: int = 24
    temperature: float = 1.0
    bound: str = "ttest"
    progress: bool = False

    def __post_init__(self) -> None:
        check_in_range(self.threshold, "threshold", _OWNER)
        check_in_range(self.delta, "delta", _OWNER, 0.0, 1.0)
        check_in_range(self.c1, "c1", _OWNER, 0.0, low_open=False)
        check_in_range(self.c2, "c2", _OWNER, 0.0, low_open=False)
        check_int(self.safety_size, "safety_size", _OWNER, 2)
        check_in_range(self.kl_coeff, "kl_coeff", _OWNER, 0.0, low_open=False)
        check_int(self.iterations, "iterations", _OWNER, 0)
        check_int(self.prompts_per_iter, "prompts_per_iter", _OWNER, 1)
        check_int(self.samples_per_prompt, "samples_per_prompt", _OWNER, 2)
        check_in_range(self.lr, "lr", _OWNER, 0.0)
        check_in_range(self.weight_decay, "weight_decay", _OWNER, 0.0, low_open=False)
        check_in_range(self.warmup_ratio, "warmup_ratio", _OWNER, 0.0, 1.0, low_open=False)
        check_in_range(self.lambda_init, "lambda_init", _OWNER, 0.0)
        check_in_range(self.lambda_lr, "lambda_lr", _OWNER, 0.0, low_open=False)
        check_in_range(self.lambda_max, "lambda_max", _OWNER, 0.0)
        if self.lambda_init > self.lambda_max:
            raise InvalidParameterError("lambda_init", _OWNER, f"at most lambda_max={self.lambda_max}",
                                        self.lambda_init)
        check_int(self.cost_window, "cost_window", _OWNER, 2)
        check_in_range(self.score_clip, "score_clip", _OWNER, 0.0)
        check_in_range(self.grad_clip, "grad_clip", _OWNER, 0.0)
        check_int(self.max_new, "max_new", _OWNER, 1)
        check_in_range(self.temperature, "temperature", _OWNER, 0.0)
        check_choice(self.bound, "bound", _OWNER, ("ttest", "hoeffding", "bernstein"))
        check_bool(self.progress, "progress", _OWNER)

    @property
    def mean_constrained(self) -> bool:
        """True when ``k = 0`` (``c1 = c2 = 0``): the Lagrangian with the plain mean constraint."""
        return self.c1 == 0.0 and self.c2 == 0.0

    @property
    def generations(self) -> int:
        """Completions sampled by candidate selection."""
        return self.iterations * self.prompts_per_iter * self.samples_per_prompt

    def coefficient(self, n: int) -> float:
        """``k`` with ``n`` training costs and this config's ``δ``, C1, C2 and m (`pessimism_coefficient`)."""
        return pessimism_coefficient(n, self.safety_size, self.delta, self.c1, self.c2)


# ------------------------------------------------------------------------------------------ the bound


def pessimism_coefficient(n: int, m: int, delta: float, c1: float = 4.0, c2: float = 2.0) -> float:
    """``k = C1·t_{1−δ, n−1}/√n + C2·t_{1−δ, m−1}/√m``, the multiplier of σ̂ in the pessimistic bound.

    Args:
        n: Training costs the estimate uses (≥ 2).
        m: Safety prompts the test will use (≥ 2).
        delta: δ in (0, 1).
        c1, c2: The two weights (≥ 0).

    Example:
        >>> round(pessimism_coefficient(256, 100, 0.1), 4)  # 4·1.2851/16 + 2·1.2902/10
        0.5793
    """
    owner = "pessimism_coefficient"
    n = check_int(n, "n", owner, 2)
    m = check_int(m, "m", owner, 2)
    check_in_range(delta, "delta", owner, 0.0, 1.0)
    c1 = check_in_range(c1, "c1", owner, 0.0, math.inf, low_open=False)
    c2 = check_in_range(c2, "c2", owner, 0.0, math.inf, low_open=False)
    # student_t_radius(n, 1, δ) = t_{1−δ, n−1}/√n: the library's own t quantile, not a second copy.
    return float(c1 * student_t_radius(n, 1.0, delta) + c2 * student_t_radius(m, 1.0, delta))


def cost_upper_bound(costs: Any, k: float) -> tuple[float, float, float]:
    """``(U, μ̂, σ̂)`` with ``U = μ̂ + k·σ̂`` of a 1-D array of costs (σ̂ Bessel-corrected, ``ddof=1``).

    Non-finite costs give ``U = nan`` (a bound on them means nothing; callers treat it as a violation).

    Raises:
        InputDataError: fewer than 2 costs or a non-numeric array.
        InvalidParameterError: ``k`` negative or not finite.
    """
    k = check_in_range(k, "k", "cost_upper_bound", 0.0, math.inf, low_open=False)
    x = as_float_array(costs, "costs", "cost_upper_bound").ravel()
    if x.size < 2:
        raise InputDataError(f"The 'costs' argument of cost_upper_bound must hold at least 2 costs. Got {x.size}.")
    if not np.isfinite(x).all():
        return math.nan, math.nan, math.nan
    with np.errstate(over="ignore", invalid="ignore"):
        mu, sd = float(x.mean()), float(x.std(ddof=1))
        upper = mu + k * sd if k > 0 else mu
    if not (math.isfinite(mu) and math.isfinite(sd) and math.isfinite(upper)):  # huge costs overflow
        return math.nan, math.nan, math.nan
    return upper, mu, sd


def pessimistic_costs(costs: torch.Tensor, mean: float, std: float, k: float) -> torch.Tensor:
    """HC-RLHF's surrogate ``c̃ = c + k·(c² − 2c·μ̂)/(2σ̂)`` of each cost, shape of ``costs``.

    With ``μ̂, σ̂`` held fixed, ``E_π[c̃ ∇log π] = ∇μ + k·∇σ``: a policy-gradient step on ``c̃``
    follows the gradient of ``μ + k·σ``. With ``k = 0`` or ``σ̂ = 0`` it returns ``costs``
    unchanged (at ``σ̂ = 0`` the extra term is the same constant −k·μ̂²/(2σ̂) for every sample,
    which the leave-one-out baseline would remove anyway, and ∇σ is undefined).

    Raises:
        InputDataError: non-finite costs, mean or std, or a negative std.
        InvalidParameterError: ``k`` negative or not finite.
    """
    k = check_in_range(k, "k", "pessimistic_costs", 0.0, math.inf, low_open=False)
    if not isinstance(costs, torch.Tensor):
        raise InputDataError(f"The 'costs' argument of pessimistic_costs must be a tensor. Got {type(costs)!r}.")
    mean_f, std_f = float(mean), float(std)
    if not (math.isfinite(mean_f) and math.isfinite(std_f)) or std_f < 0:
        raise InputDataError(f"pessimistic_costs: 'mean' and 'std' must be finite with std >= 0. "
                             f"Got mean={mean!r}, std={std!r}.")
    if not bool(torch.isfinite(costs).all()):
        raise InputDataError("pessimistic_costs: 'costs' holds NaN or infinite values.")
    if k == 0.0 or std_f == 0.0:
        return costs
    out = costs + k * (costs * costs - 2.0 * costs * mean_f) / (2.0 * std_f)
    if not bool(torch.isfinite(out).all()):  # huge costs overflow the square
        raise InputDataError("pessimistic_costs: the surrogate overflowed; 'costs', 'mean' and 'std' are too large.")
    return out


def dual_update(log_lambda: float, upper: float, threshold: float, lr: float, lambda_max: float) -> float:
    """One SGD step of ``log λ`` on the dual loss ``−(U − τ)·exp(log λ)``, clamped at ``log λ_max``.

    The step is ``log λ + lr·(U − τ)·λ``: λ grows while the bound exceeds τ and shrinks when it is
    inside. A NaN bound (non-finite costs) counts as a violation: λ jumps to ``λ_max`` (fail closed).

    Example:
        >>> round(dual_update(0.0, 0.5, 0.1, 0.1, 1e6), 6)  # 0 + 0.1·0.4·1
        0.04
    """
    owner = "dual_update"
    log_lambda = check_in_range(log_lambda, "log_lambda", owner)
    threshold = check_in_range(threshold, "threshold", owner)
    lr = check_in_range(lr, "lr", owner, 0.0, math.inf, low_open=False)
    lambda_max = check_in_range(lambda_max, "lambda_max", owner, 0.0)
    try:
        # Any real scalar (a numpy float32, a 0-d tensor) is a bound; strings, bools and arrays are not.
        not_real = isinstance(upper, (bool, np.bool_, str, bytes)) or str(getattr(upper, "dtype", "")) in ("bool",
                                                                                                          "torch.bool")
        u = math.nan if not_real or getattr(upper, "ndim", 0) != 0 else float(upper)
    except (TypeError, ValueError, OverflowError):  # not a number, or an int beyond any float: no bound
        u = math.nan
    if not math.isfinite(u):
        return math.log(lambda_max)
    # The same multiplier step as Safe RLHF's (`guardopt.align.ppo.lagrange_step`), on the bound U.
    return lagrange_step(log_lambda, u, threshold, lr, lambda_max)


def reinforce_loo_loss(seq_logps: torch.Tensor, returns: torch.Tensor, group_size: int) -> torch.Tensor:
    """REINFORCE with the leave-one-out baseline: ``−mean_prompt[Σ_i (R_i − R̄)·log π(y_i)] / (G − 1)``.

    ``Σ_i (R_i − R̄)/(G−1) = Σ_i (R_i − mean_{j≠i} R_j)/G``, so this is each sample's return minus the
    mean of the *other* samples of its prompt (RLOO; Kool et al., 2019; Ahmadian et al., 2024).

    Args:
        seq_logps: ``(B,)`` sequence log-probabilities under the policy (with gradient), grouped by
            prompt: rows ``g·G … g·G + G − 1`` share a prompt.
        returns: ``(B,)`` returns (no gradient needed).
        group_size: ``G ≥ 2``.

    Returns:
        A scalar loss.
    """
    G = check_int(group_size, "group_size", "reinforce_loo_loss", 2)
    if not isinstance(seq_logps, torch.Tensor) or not isinstance(returns, torch.Tensor):
        raise InputDataError("reinforce_loo_loss: 'seq_logps' and 'returns' must be tensors. "
                             f"Got {type(seq_logps).__name__} and {type(returns).__name__}.")
    if seq_logps.ndim != 1 or returns.shape != seq_logps.shape or seq_logps.numel() % G:
        raise InputDataError(f"reinforce_loo_loss: 'seq_logps' and 'returns' must share one shape (B,) with B a "
                             f"multiple of group_size={G}. Got {tuple(seq_logps.shape)} and {tuple(returns.shape)}.")
    if seq_logps.numel() == 0:
        raise InputDataError("reinforce_loo_loss: 'seq_logps' and 'returns' are empty.")
    if not bool(torch.isfinite(returns).all()):
        raise InputDataError("reinforce_loo_loss: 'returns' holds NaN or infinite values.")
    r = returns.detach().to(seq_logps.dtype).view(-1, G)
    adv = r - r.mean(dim=1, keepdim=True)
    return -((adv * seq_logps.view(-1, G)).sum(dim=1) / (G - 1)).mean()


# ------------------------------------------------------------------------------------------ step 1


def _scores(scorer: Scorer, prefixes: Sequence[Sequence[int]], comps: Sequence[Sequence[int]], what: str
            ) -> torch.Tensor:
    out = scorer(prefixes, comps)
    if not isinstance(out, torch.Tensor) or out.shape != (len(comps),):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
        raise InputDataError(f"hc_rlhf_train: the {what} scorer must return a tensor of shape ({len(comps)},). "
                             f"Got {shape}.")
    return out.detach().float()


def hc_rlhf_train(model: nn.Module, ref_model: nn.Module, prompts: Sequence[P], encode: Callable[[P], list[int]],
                  reward: Scorer, cost: Scorer, config: HCRLHFConfig, seed: int, eos_id: int,
                  callback: Callback | None = None, every: int = 0) -> TrainLog:
    """Step 1 of HC-RLHF: REINFORCE-LOO under the pessimistic Lagrangian (the mean one when ``k = 0``).

    Each update samples ``samples_per_prompt`` completions of ``prompts_per_iter`` prompts drawn with
    replacement, scores them with ``reward`` and ``cost``, appends the costs to the window, takes
    the dual step on ``U = μ̂ + k_window·σ̂`` and then the policy step on the returns
    ``clip(r − β·KL) − λ·c̃`` (``c̃`` from `pessimistic_costs` with ``k_batch``).

    Args:
        model: The policy (trained in place; it samples its own completions, on-policy).
        ref_model: The frozen reference of the KL term (usually `frozen_copy` of the SFT model).
        prompts: Prompt objects (any type); ``encode`` maps one to its ids (with BOS).
        encode: Prompt → ids.
        reward: Reward scorer ``(prefixes, completions) -> (B,)``.
        cost: Cost scorer ``(prefixes, completions) -> (B,)``.
        config: The run.
        seed: Seed of the prompt draws and the sampling.
        eos_id: The end token.
        callback: Optional ``(step, model) -> metrics`` run every ``every`` updates (and at the end).
        every: Callback period in updates (0: never).

    Returns:
        A `TrainLog`: one row per update (``reward``, ``cost``, ``upper``, ``lambda``, ``k``, ``kl``,
        ``loss``), ``generations``, and ``extra["log_lambda"]`` (the final multiplier's log).

    Raises:
        InputDataError: no prompts, or a scorer that returns the wrong shape or non-finite values.
    """
    if not isinstance(config, HCRLHFConfig):
        raise InvalidParameterError("config", "hc_rlhf_train", "an HCRLHFConfig", config)
    if len(prompts) == 0:
        raise InputDataError("hc_rlhf_train: 'prompts' is empty.")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", "hc_rlhf_train", 0))
    G, B = config.samples_per_prompt, config.prompts_per_iter
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total = max(1, config.iterations)
    warm = math.ceil(config.warmup_ratio * total)

    def schedule(s: int) -> float:  # linear warm-up, then cosine to 0 (the scripts' scheduler)
        if s < warm:
            return (s + 1) / (warm + 1)
        return 0.5 * (1.0 + math.cos(math.pi * (s - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    window: deque[float] = deque(maxlen=config.cost_window)
    log_lambda = math.log(config.lambda_init)
    k_batch = config.coefficient(B * G)
    log = TrainLog()
    bar = _progress(config.progress, config.iterations, "HC-RLHF" if not config.mean_constrained else "Lagrangian")
    ref_model.eval()
    _maybe_eval(callback, every, 0, model, log)
    for it in range(1, config.iterations + 1):
        pick = torch.randint(len(prompts), (B,), generator=gen).tolist()
        prefixes = [encode(prompts[i]) for i in pick for _ in range(G)]
        comps = sample(model, prefixes, config.max_new, eos_id, gen, config.temperature)
        log.generations += len(comps)
        r = _scores(reward, prefixes, comps, "reward")
        c = _scores(cost, prefixes, comps, "cost")
        if not (bool(torch.isfinite(r).all()) and bool(torch.isfinite(c).all())):
            raise InputDataError("hc_rlhf_train: a scorer returned NaN or infinite scores.")
        window.extend(c.tolist())
        # Dual step first, on the whole window (the released trainer's order), with n = window length.
        k_dual = config.coefficient(len(window)) if len(window) >= 2 else 0.0
        upper, mu, sd = cost_upper_bound(np.fromiter(window, float), k_dual)
        log_lambda = dual_update(log_lambda, upper, config.threshold, config.lambda_lr, config.lambda_max)
        lam = math.exp(log_lambda)
        ids, mask = completion_batch(prefixes, comps)
        with torch.no_grad():
            old, ref = token_logps(model, ids), token_logps(ref_model, ids)
        kl = ((old - ref) * mask).sum(dim=-1)
        shaped = torch.clamp(r - config.kl_coeff * kl, -config.score_clip, config.score_clip)
        c_tilde = pessimistic_costs(c, mu, sd, k_batch)
        returns = shaped - lam * c_tilde
        model.train()
        seq = (token_logps(model, ids) * mask).sum(dim=-1)
        loss = _step(model, opt, reinforce_loo_loss(seq, returns, G), config.grad_clip)
        sched.step()
        log.rows.append({"step": float(it), "loss": loss, "reward": float(r.mean()), "cost": float(c.mean()),
                         "upper": upper, "window_mean": mu, "window_std": sd, "lambda": lam, "k": k_dual,
                         "kl": float(kl.mean())})
        _advance(bar)
        _maybe_eval(callback, every, it, model, log, last=it == config.iterations)
    _stop(bar)
    log.extra["log_lambda"] = log_lambda
    log.extra["k_batch"] = k_batch
    return log


# ------------------------------------------------------------------------------------------ step 2


class PolicyNotReleasedError(GuardoptError):
    """Raised by `HCRLHFResult.unwrap` when the safety test failed; ``.result`` holds the result."""

    def __init__(self, result: HCRLHFResult) -> None:
        self.result = result
        super().__init__(f"No solution found: {result.verdict.reason}")


@dataclass(frozen=True)
class HCRLHFResult:
    """What HC-RLHF returns: the certified policy, or "no solution found".

    Attributes:
        policy: The released policy, or None when the safety test failed.
        candidate: The trained candidate, released or not (for diagnosis; never deploy it when
            ``policy`` is None).
        verdict: The safety test's `guardopt.guards.Verdict` (upper bound, threshold, reason).
        safety_costs: ``(m,)`` cost-model costs of the candidate's answers to the safety prompts.
        log: Candidate selection's `TrainLog` (empty when only the test ran).
    """

    policy: nn.Module | None
    candidate: nn.Module
    verdict: Verdict
    safety_costs: np.ndarray
    log: TrainLog = field(default_factory=TrainLog)

    @property
    def solution_found(self) -> bool:
        """True when the candidate passed the safety test and is returned."""
        return self.policy is not None

    def __bool__(self) -> bool:
        return self.solution_found

    def unwrap(self) -> nn.Module:
        """The released policy; raises `PolicyNotReleasedError` when no solution was found."""
        if self.policy is None:
            raise PolicyNotReleasedError(self)
        return self.policy


def safety_test_policy(model: nn.Module, safety_prompts: Sequence[P], encode: Callable[[P], list[int]],
                       cost: Scorer, config: HCRLHFConfig, seed: int, eos_id: int) -> HCRLHFResult:
    """Step 2 of HC-RLHF: one answer per held-out safety prompt, scored by ``cost``, then the release test.

    Runs `guardopt.guards.safety_test` (``config.bound``, ``config.delta``, ``config.threshold``) on the
    ``m = len(safety_prompts)`` costs; the Hoeffding and Bernstein bounds take the costs to lie in
    [0, 1]. The safety prompts must not have been used for training: the guarantee holds because the
    candidate does not depend on them.

    Returns:
        `HCRLHFResult` whose ``policy`` is ``model`` when the upper bound is at most τ, else None.
        Non-finite costs fail the test (fail closed).

    Raises:
        InsufficientDataError: fewer than 2 safety prompts.
    """
    if not isinstance(config, HCRLHFConfig):
        raise InvalidParameterError("config", "safety_test_policy", "an HCRLHFConfig", config)
    if len(safety_prompts) < 2:
        from guardopt.core.errors import InsufficientDataError

        raise InsufficientDataError(f"safety_test_policy needs at least 2 safety prompts. Got {len(safety_prompts)}.")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", "safety_test_policy", 0))
    prefixes = [encode(p) for p in safety_prompts]
    comps = sample(model, prefixes, config.max_new, eos_id, gen, config.temperature)
    out = cost(prefixes, comps)
    if not isinstance(out, torch.Tensor) or out.shape != (len(comps),):
        raise InputDataError(f"safety_test_policy: the cost scorer must return a tensor of shape ({len(comps)},).")
    costs = out.detach().double().numpy()
    # Hoeffding and Bernstein need a known range: costs in [0, 1] (anything outside fails closed).
    low, high = (None, None) if config.bound == "ttest" else (0.0, 1.0)
    verdict = safety_test(costs, config.threshold, config.delta, bound=config.bound,  # type: ignore[arg-type]
                          low=low, high=high)
    return HCRLHFResult(model if verdict.passed else None, model, verdict, costs)


def hc_rlhf(model: nn.Module, ref_model: nn.Module, train_prompts: Sequence[P], safety_prompts: Sequence[P],
            encode: Callable[[P], list[int]], reward: Scorer, cost: Scorer, config: HCRLHFConfig, seed: int,
            eos_id: int, callback: Callback | None = None, every: int = 0) -> HCRLHFResult:
    """HC-RLHF end to end: `hc_rlhf_train` on ``train_prompts``, then `safety_test_policy` on ``safety_prompts``.

    The safety test uses ``config.safety_size`` prompts when ``safety_prompts`` has more (the size
    the pessimistic bound was planned for), all of them otherwise.

    Returns:
        `HCRLHFResult`: the policy (trained in place) if it passed, else "no solution found".
    """
    log = hc_rlhf_train(model, ref_model, train_prompts, encode, reward, cost, config, seed, eos_id, callback, every)
    test = list(safety_prompts)[: config.safety_size]
    res = safety_test_policy(model, test, encode, cost, config, seed + 1, eos_id)
    return HCRLHFResult(res.policy, res.candidate, res.verdict, res.safety_costs, log)
