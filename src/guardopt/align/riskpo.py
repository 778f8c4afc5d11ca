"""RiskPO: a mixed value-at-risk objective over bundles of questions (arXiv 2510.00911, ICLR 2026).

"RiskPO: Risk-based Policy Optimization via Verifiable Reward for LLM Post-Training" replaces the
mean reward of GRPO by a risk measure of the reward distribution, so that the policy gradient
concentrates on the low tail (the hard items a mean-seeking policy neglects) and the policy entropy
does not collapse. Two pieces:

* **Question bundling.** ``B`` consecutive questions of a round form a bundle; each has ``G``
  rollouts. *Paper* ``j`` of a bundle is the ``j``-th rollout of each of its questions (drawn without
  replacement), and its score is ``S_j = Σ_i R(y_i^j) ∈ [0, B]`` (`bundle_scores`). A bundle has ``G``
  papers, and every rollout of a paper receives the paper's advantage.
* **The mixed value-at-risk objective** ``MVaR^ω_{α:β} = (ω·CVaR_α + RVaR_{α:β}) / (1 + ω)`` of the
  paper-score distribution, with ``CVaR_α`` the mean of the lowest α-fraction and ``RVaR_{α:β}`` the
  mean between the α- and β-quantiles (`mvar`). Its policy gradient is ``E[∇log π · A]`` with the
  per-paper advantage (`mvar_advantages`, ``q_α``, ``q_β`` the quantiles)::

      A_RVaR = [(S − q_α)⁺ − (S − q_β)⁺ + q_α − q_β] / (β − α)
      A_CVaR = −(q_α − S)⁺ / α
      A      = (ω·A_CVaR + A_RVaR) / (ω + 1) / std_bundle(S)

  Papers above ``q_β`` get no more credit than one at ``q_β`` (no push on what is already solved);
  papers below ``q_α`` get extra weight ``ω/α`` (the push on the failures).

The quantiles are tracked across rounds by stochastic approximation (`QuantileTracker`: the first
round's sample quantiles, then ``q ← q + lr_q·(level − mean 1[S < q])``), or taken from the round's
bundle (``quantile_mode="batch"``) or the average of both (``"mix"``). With ``credit="std"`` a
rollout's advantage is further divided by the standard deviation of its own question's rewards.

`riskpo_train` is `guardopt.align.trainers.grpo_train` (same sampling, clipped surrogate, KL term
and logging) with these advantages in place of GRPO's (its ``advantage_fn`` hook).

Sources and deviations. The advantage formulas, the bundle construction, the tracker and the
defaults of `RiskPOConfig` (α = 0.2, β = 0.9, ω = 1.5, B = 5, G = 5, lr_q = 0.1, tracked quantiles,
``credit="std"``, no KL) follow the authors' released code and training script
(github.com/RTkenny/RiskPO, ``compute_grpo_bundle_rvar_outcome_advantage_quantile_tracking`` and
``scripts/run_qwen2.5_1.5b_MVaR_math.sh``); the paper's text (as summarized secondhand) also
reports α = 0.2, β = 0.8, ω = 0.5 as its best ablation setting — both are exposed. The released code
divides by ``std_bundle(S) + 1e-6``, which turns a bundle whose papers all score the same but sit
off the tracked quantiles into an advantage of order 10⁶; here, as the released code already does
for a question's standard deviation, a standard deviation below 1e-3 is replaced by 1. The code tracks
19 fixed levels and uses the nearest to α and β; this tracker tracks α and β themselves (the same for
the default levels, which are on that grid).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from guardopt.align.trainers import GRPOConfig, TrainLog, completion_batch, grpo_train
from guardopt.core.errors import InputDataError, InvalidParameterError, check_bool, check_in_range, check_int

__all__ = [
    "QuantileTracker",
    "RiskPOConfig",
    "bundle_scores",
    "mvar",
    "mvar_advantages",
    "riskpo_advantages",
    "riskpo_train",
    "token_entropy",
]

P = TypeVar("P")
QUANTILE_MODES = ("track", "batch", "mix")
CREDIT_MODES = ("uniform", "std")
_EPS = 1e-6  # the released code's epsilon in the quantile-level denominators
_STD_FLOOR = 1e-3  # below this a standard deviation is replaced by 1 (no division by ~0)


def _grpo_default() -> GRPOConfig:
    # The released script: 5 rollouts per question, no KL; 20 questions = 4 bundles of 5 per round.
    return GRPOConfig(iterations=100, prompts_per_iter=20, group_size=5, kl_beta=0.0, max_new=8)


@dataclass(frozen=True)
class RiskPOConfig:
    """RiskPO (mixed value-at-risk over question bundles).

    Args:
        alpha: Lower risk level α ∈ [0, 1): the CVaR tail and the start of the RVaR band.
        beta: Upper risk level β ∈ (α, 1]: papers above the β-quantile get no extra credit.
        omega: Mixing weight ω ≥ 0 of CVaR_α (0: RVaR alone; α = 0 needs ω = 0).
        bundle_size: Questions per bundle ``B`` (divides ``grpo.prompts_per_iter``; 1: no bundling).
        lr_q: Step size of the quantile tracker (> 0).
        quantile_mode: ``"track"`` (tracked quantiles), ``"batch"`` (each bundle's sample
            quantiles) or ``"mix"`` (their average).
        credit: ``"uniform"`` (every rollout of a paper gets its advantage) or ``"std"`` (divided by
            the standard deviation of the rollout's own question's rewards).
        normalize: Divide by the bundle's standard deviation of paper scores.
        grpo: The sampling / surrogate / optimizer settings shared with GRPO (a `GRPOConfig`).
    """

    alpha: float = 0.2
    beta: float = 0.9
    omega: float = 1.5
    bundle_size: int = 5
    lr_q: float = 0.1
    quantile_mode: str = "track"
    credit: str = "std"
    normalize: bool = True
    grpo: GRPOConfig = field(default_factory=_grpo_default)

    def __post_init__(self) -> None:
        check_in_range(self.alpha, "alpha", "RiskPOConfig", 0.0, 1.0, low_open=False)
        check_in_range(self.beta, "beta", "RiskPOConfig", self.alpha, 1.0, high_open=False)
        check_in_range(self.omega, "omega", "RiskPOConfig", 0.0, low_open=False)
        if self.alpha == 0.0 and self.omega > 0.0:
            raise InvalidParameterError("omega", "RiskPOConfig", "0 when alpha = 0 (CVaR at level 0 is "
                                        "undefined)", self.omega)
        check_int(self.bundle_size, "bundle_size", "RiskPOConfig", 1)
        check_in_range(self.lr_q, "lr_q", "RiskPOConfig", 0.0)
        if self.quantile_mode not in QUANTILE_MODES:
            raise InvalidParameterError("quantile_mode", "RiskPOConfig", f"one of {QUANTILE_MODES}",
                                        self.quantile_mode)
        if self.credit not in CREDIT_MODES:
            raise InvalidParameterError("credit", "RiskPOConfig", f"one of {CREDIT_MODES}", self.credit)
        check_bool(self.normalize, "normalize", "RiskPOConfig")
        if not isinstance(self.grpo, GRPOConfig):
            raise InvalidParameterError("grpo", "RiskPOConfig", "a GRPOConfig", self.grpo)
        if self.grpo.prompts_per_iter % self.bundle_size:
            raise InvalidParameterError("bundle_size", "RiskPOConfig",
                                        f"a divisor of grpo.prompts_per_iter={self.grpo.prompts_per_iter}",
                                        self.bundle_size)


# ------------------------------------------------------------------------------------------ formulas


def _as_finite_1d(x: Any, name: str, owner: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputDataError(f"{owner}: '{name}' must be real numbers.") from exc
    if a.ndim != 1 or a.size == 0:
        raise InputDataError(f"{owner}: '{name}' must be a non-empty 1-D array. Got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise InputDataError(f"{owner}: '{name}' must be finite.")
    return a


def _band_mean(sorted_x: np.ndarray, lo: float, hi: float) -> float:
    """Mean of the empirical quantile function over levels [lo, hi] (each sample holds mass 1/n)."""
    n = sorted_x.size
    edges = np.arange(n + 1) / n
    overlap = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)
    return float((overlap * sorted_x).sum() / (hi - lo))


def mvar(scores: Sequence[float] | np.ndarray, alpha: float, beta: float, omega: float) -> float:
    """The mixed value-at-risk ``(ω·CVaR_α + RVaR_{α:β}) / (1 + ω)`` of an empirical distribution.

    ``CVaR_α`` is the mean of the quantile function over levels [0, α] and ``RVaR_{α:β}`` its mean over
    [α, β]; each sample holds probability mass 1/n. With α = 0 and β = 1 (and ω = 0) it is the mean.

    Args:
        scores: ``(n,)`` sample scores (finite).
        alpha, beta, omega: As in `RiskPOConfig`.
    """
    x = np.sort(_as_finite_1d(scores, "scores", "mvar"))
    alpha = check_in_range(alpha, "alpha", "mvar", 0.0, 1.0, low_open=False)
    beta = check_in_range(beta, "beta", "mvar", alpha, 1.0, high_open=False)
    omega = check_in_range(omega, "omega", "mvar", 0.0, low_open=False)
    if alpha == 0.0 and omega > 0.0:
        raise InvalidParameterError("omega", "mvar", "0 when alpha = 0", omega)
    with np.errstate(over="ignore", invalid="ignore"):
        rvar = _band_mean(x, alpha, beta)
        out = rvar if omega == 0.0 else (omega * _band_mean(x, 0.0, alpha) + rvar) / (1.0 + omega)
    if not math.isfinite(out):
        raise InputDataError("mvar: 'scores' are too large: the risk measure overflowed.")
    return float(out)


def mvar_advantages(scores: Any, q_alpha: float | torch.Tensor, q_beta: float | torch.Tensor, alpha: float,
                    beta: float, omega: float) -> Any:
    """Per-paper MVaR advantages, before any standard-deviation normalization.

    ``A = (ω·A_CVaR + A_RVaR) / (ω + 1)`` with ``A_RVaR = [(S−q_α)⁺ − (S−q_β)⁺ + q_α − q_β] / (β − α)``
    and ``A_CVaR = −(q_α − S)⁺ / α`` (ω = 0: ``A = A_RVaR``). The denominators carry the released
    code's ε = 1e-6.

    Args:
        scores: ``(...,)`` paper scores ``S`` (a torch tensor or anything numpy reads).
        q_alpha, q_beta: The α- and β-quantiles (scalars, or tensors broadcastable to ``scores``).
        alpha, beta, omega: The risk levels and mixing weight.

    Returns:
        Advantages of the shape of ``scores`` (a tensor for a tensor, else an ndarray).
    """
    alpha = check_in_range(alpha, "alpha", "mvar_advantages", 0.0, 1.0, low_open=False)
    beta = check_in_range(beta, "beta", "mvar_advantages", alpha, 1.0, high_open=False)
    omega = check_in_range(omega, "omega", "mvar_advantages", 0.0, low_open=False)
    if alpha == 0.0 and omega > 0.0:
        raise InvalidParameterError("omega", "mvar_advantages", "0 when alpha = 0", omega)
    is_tensor = isinstance(scores, torch.Tensor)
    try:
        s = scores if is_tensor else np.asarray(scores, dtype=float)
        for name, v in (("scores", s), ("q_alpha", q_alpha), ("q_beta", q_beta)):
            if not bool(np.all(np.isfinite(np.asarray(v.tolist() if hasattr(v, "tolist") else v, dtype=float)))):
                raise InputDataError(f"mvar_advantages: '{name}' must be finite.")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputDataError):
            raise
        raise InputDataError("mvar_advantages: 'scores', 'q_alpha' and 'q_beta' must be real numbers.") from exc

    def pos(x: Any) -> Any:
        return x.clamp_min(0.0) if is_tensor else np.maximum(x, 0.0)

    with np.errstate(over="ignore", invalid="ignore"):
        a_rvar = (pos(s - q_alpha) - pos(s - q_beta) + q_alpha - q_beta) / (beta - alpha + _EPS)
        out = a_rvar if omega == 0.0 else (omega * -pos(q_alpha - s) / (alpha + _EPS) + a_rvar) / (omega + 1.0)
    finite = bool(torch.isfinite(out).all()) if isinstance(out, torch.Tensor) else bool(np.all(np.isfinite(out)))
    if not finite:
        raise InputDataError("mvar_advantages: 'scores' are too large: the advantages overflowed.")
    return out


def bundle_scores(rewards: torch.Tensor, bundle_size: int) -> torch.Tensor:
    """Paper scores of bundles of consecutive questions.

    Args:
        rewards: ``(P, G)`` rewards of ``G`` rollouts for each of ``P`` questions (a torch tensor).
        bundle_size: ``B``, dividing ``P``.

    Returns:
        ``(P // B, G)``: entry ``[b, j]`` is ``Σ_{i<B} rewards[b·B + i, j]``, the score of paper ``j`` of bundle ``b``.
    """
    if not isinstance(rewards, torch.Tensor):
        raise InputDataError(f"bundle_scores: 'rewards' must be a torch tensor. Got {type(rewards).__name__}.")
    if rewards.ndim != 2:
        raise InputDataError(f"bundle_scores: 'rewards' must have shape (P, G). Got {tuple(rewards.shape)}.")
    B = check_int(bundle_size, "bundle_size", "bundle_scores", 1)
    Pn, G = rewards.shape
    if Pn == 0 or Pn % B:
        raise InvalidParameterError("bundle_size", "bundle_scores", f"a divisor of the {Pn} questions", B)
    return rewards.reshape(Pn // B, B, G).sum(dim=1)


class QuantileTracker:
    """Stochastic-approximation tracking of the α- and β-quantiles of paper scores across rounds.

    The first `update` sets each quantile to the round's sample quantile (linear interpolation);
    every later one moves it by ``lr_q·(level − share of scores below it)``, the subgradient step of
    the pinball loss. `value` is the current ``(q_α, q_β)``.
    """

    def __init__(self, alpha: float, beta: float, lr_q: float) -> None:
        self.levels = (check_in_range(alpha, "alpha", "QuantileTracker", 0.0, 1.0, low_open=False,
                                      high_open=False),
                       check_in_range(beta, "beta", "QuantileTracker", 0.0, 1.0, low_open=False,
                                      high_open=False))
        self.lr_q = check_in_range(lr_q, "lr_q", "QuantileTracker", 0.0)
        self.q: tuple[float, float] | None = None
        self.history: list[tuple[float, float]] = []

    def update(self, scores: Any) -> tuple[float, float]:
        """Update with a round's paper scores (any shape) and return the new ``(q_α, q_β)``."""
        try:
            x = np.asarray(scores.tolist() if hasattr(scores, "tolist") else scores, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise InputDataError("QuantileTracker.update: 'scores' must be real numbers.") from exc
        if x.size == 0 or not np.all(np.isfinite(x)):
            raise InputDataError("QuantileTracker.update: 'scores' must be non-empty and finite.")
        if self.q is None:
            q = tuple(float(np.quantile(x, lv)) for lv in self.levels)
        else:
            q = tuple(qi + self.lr_q * (lv - float(np.mean(x < qi))) for qi, lv in zip(self.q, self.levels))
        self.q = (q[0], q[1])
        self.history.append(self.q)
        return self.q

    def value(self) -> tuple[float, float]:
        """The current ``(q_α, q_β)``."""
        if self.q is None:
            raise InputDataError("QuantileTracker.value: no scores seen yet.")
        return self.q


def _std_or_one(x: torch.Tensor, dim: int) -> torch.Tensor:
    if x.shape[dim] < 2:
        return torch.ones_like(x.select(dim, 0)).unsqueeze(dim)
    sd = x.std(dim=dim, keepdim=True)  # unbiased, as torch.std in the released code
    return torch.where(sd > _STD_FLOOR, sd, torch.ones_like(sd))


def riskpo_advantages(rewards: torch.Tensor, config: RiskPOConfig, tracker: QuantileTracker | None = None
                      ) -> torch.Tensor:
    """RiskPO advantages of one round: bundle, score papers, MVaR advantage, normalize, assign.

    Args:
        rewards: ``(P, G)`` rewards (a torch tensor), questions in bundle order (``B`` consecutive rows
            form a bundle).
        config: The objective (``alpha``, ``beta``, ``omega``, ``bundle_size``, ``quantile_mode``,
            ``credit``, ``normalize``).
        tracker: The quantile tracker (updated in place); None with ``quantile_mode="batch"``.

    Returns:
        ``(P, G)`` advantages: rollout ``j`` of a question gets the advantage of paper ``j`` of its bundle.
    """
    if not isinstance(config, RiskPOConfig):
        raise InvalidParameterError("config", "riskpo_advantages", "a RiskPOConfig", config)
    if tracker is not None and not isinstance(tracker, QuantileTracker):
        raise InvalidParameterError("tracker", "riskpo_advantages", "a QuantileTracker or None", tracker)
    if not isinstance(rewards, torch.Tensor) or rewards.ndim != 2:
        raise InputDataError("riskpo_advantages: 'rewards' must be a (P, G) tensor.")
    if not bool(torch.isfinite(rewards).all()):
        raise InputDataError("riskpo_advantages: 'rewards' must be finite.")
    r = rewards.to(torch.float64)
    B = config.bundle_size
    S = bundle_scores(r, B)  # (nb, G)
    if not bool(torch.isfinite(S).all()):
        raise InputDataError("riskpo_advantages: 'rewards' are too large: the paper scores overflowed.")
    if S.shape[1] < 2:
        q_lo_b = q_hi_b = S
    else:
        qs = torch.quantile(S, torch.tensor([config.alpha, config.beta], dtype=S.dtype), dim=1, keepdim=True)
        q_lo_b, q_hi_b = qs[0], qs[1]
    if config.quantile_mode == "batch":
        q_lo, q_hi = q_lo_b, q_hi_b
    else:
        if tracker is None:
            raise InvalidParameterError("tracker", "riskpo_advantages",
                                        f"a QuantileTracker with quantile_mode={config.quantile_mode!r}", tracker)
        ta, tb = tracker.update(S)
        if config.quantile_mode == "track":
            q_lo, q_hi = torch.full_like(q_lo_b, ta), torch.full_like(q_hi_b, tb)
        else:
            q_lo, q_hi = (q_lo_b + ta) / 2, (q_hi_b + tb) / 2
    a = mvar_advantages(S, q_lo, q_hi, config.alpha, config.beta, config.omega)
    if config.normalize:
        a = a / _std_or_one(S, 1)
    adv = a.repeat_interleave(B, dim=0)  # (P, G): each question of a bundle, paper j -> rollout j
    if config.credit == "std":
        adv = adv / _std_or_one(r, 1)
    adv = adv.to(rewards.dtype)
    if not bool(torch.isfinite(adv).all()):
        raise InputDataError("riskpo_advantages: 'rewards' are too large: the advantages overflowed.")
    return adv


# ------------------------------------------------------------------------------------------ trainer


def riskpo_train(model: nn.Module, ref_model: nn.Module, prompts: Sequence[P], encode: Callable[[P], list[int]],
                 reward: Callable[[P, list[int]], float], config: RiskPOConfig, seed: int, eos_id: int,
                 callback: Callable[[int, nn.Module], dict[str, float]] | None = None, every: int = 0) -> TrainLog:
    """RiskPO: `guardopt.align.trainers.grpo_train` with `riskpo_advantages` in place of GRPO's.

    Each round draws ``grpo.prompts_per_iter`` questions (with replacement), samples ``grpo.group_size``
    rollouts of each, forms bundles of ``bundle_size`` consecutive questions and trains on the MVaR
    advantages with GRPO's clipped surrogate.

    Returns:
        The `TrainLog` of `grpo_train`, with ``extra["quantiles"]``: the tracked ``(q_α, q_β)`` per round
        (empty with ``quantile_mode="batch"``).
    """
    if not isinstance(config, RiskPOConfig):
        raise InvalidParameterError("config", "riskpo_train", "a RiskPOConfig", config)
    tracker = None if config.quantile_mode == "batch" else QuantileTracker(config.alpha, config.beta, config.lr_q)
    log = grpo_train(model, ref_model, prompts, encode, reward, config.grpo, seed, eos_id, callback, every,
                     advantage_fn=lambda r: riskpo_advantages(r, config, tracker))
    log.extra["quantiles"] = [] if tracker is None else list(tracker.history)
    return log


def token_entropy(model: nn.Module, prefixes: Sequence[Sequence[int]], completions: Sequence[Sequence[int]]) -> float:
    """Mean entropy (nats) of the policy's next-token distribution over the positions of sampled completions.

    Args:
        model: A causal LM mapping ids ``(B, T)`` to logits ``(B, T, V)``.
        prefixes: Prompt ids (with BOS), one per completion.
        completions: The completions (ids); the entropy is taken at every position that predicts one of them.

    Returns:
        The token-mean entropy; NaN when every completion is empty.
    """
    if len(prefixes) != len(completions):
        raise InputDataError("token_entropy: as many prefixes as completions are needed.")
    if not any(len(c) for c in completions):
        return math.nan
    ids, mask = completion_batch(prefixes, completions)
    with torch.no_grad():
        logp = torch.log_softmax(model(ids[:, :-1]).float(), dim=-1)
        ent = -(logp.exp() * logp).sum(-1)
    return float((ent * mask).sum() / mask.sum())
