"""PPO of a Gaussian response policy against a (combined) proxy reward, with a KL penalty to the reference.

Reference: Coste, Anwar, Kirk & Krueger (2024), "Reward Model Ensembles Help Mitigate
Overoptimization" (ICLR 2024, arXiv 2310.02743), the PPO half: a policy is optimized with PPO against a
proxy reward that is one reward model, or the mean, the worst case (WCO) or the uncertainty-weighted
score (UWO, ``mean − λ·Var``) of an ensemble, with no KL penalty or a small one, and its true ("gold")
reward is logged along the way so that over-optimization (gold falling while the proxy keeps rising)
can be seen.

Here a response is a vector ``z ∈ R^d`` (as in `guardopt.problems.gold_reward`) and the policy is a
diagonal Gaussian ``N(μ, diag σ²)`` whose mean and log-scale are learned, starting at the reference
policy ``N(μ₀, σ₀² I)``. Each episode is one response scored once, so the episode is a single step
(as a whole generated answer is, for a sequence-level reward model). The pieces follow the PPO
configuration of the paper's code (trlx):

- the clipped surrogate ``−E[min(ρA, clip(ρ, 1 − ε, 1 + ε)A)]`` with ``ρ = π(z)/π_old(z)``, ``ε = 0.2``;
- ``epochs`` passes of minibatch steps (the paper's 4) over each batch of responses;
- the KL penalty is folded into the reward as trlx does, ``r(z) − β·(log π_old(z) − log π_ref(z))``
  (a one-sample estimate of ``β·KL``); ``β = 0`` is the paper's "no KL", ``β = 0.01`` its small penalty;
- the advantage is the shaped reward minus the batch mean (the value of the single, state-less step;
  trlx learns a value head, which here could only learn that constant), whitened per batch as trlx does.

The exact KL to the reference is logged in closed form (`gaussian_kl`), with the proxy and the gold
reward of the current policy, on a fixed set of standard-normal draws (common random numbers, so the
curves move only when the policy does).

No prompt/context is modelled: the gold reward of `GoldRewardSetup` does not depend on one, so a
context would add an input the policy must learn to ignore and nothing the claim is about.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.core.seeding import SeedLike, make_rng
from guardopt.offline.ensembles import COMBINERS, combine

__all__ = [
    "PPOConfig",
    "PPOHistory",
    "PPOResult",
    "ensemble_reward",
    "gaussian_kl",
    "gaussian_log_prob",
    "ppo_clip_grad",
    "ppo_clip_loss",
    "ppo_optimize",
]

Reward = Callable[[np.ndarray], np.ndarray]
MAX_DIM = 100_000  # response dimension: beyond it the per-update arrays would not fit in memory
MAX_SAMPLES = 1_000_000  # per batch, per evaluation, and updates


@dataclass(frozen=True)
class PPOConfig:
    """PPO settings (defaults: the paper's clip range and epochs; our batch sizes and learning rate).

    Attributes:
        updates: Policy updates (each: one batch of responses, then ``epochs`` passes over it).
        batch_size: Responses sampled per update.
        minibatches: Minibatches per pass (``batch_size`` must be divisible by it).
        epochs: Passes over each batch (the paper's ``ppo_epochs = 4``).
        clip: PPO clip range ε (the paper's ``cliprange = 0.2``).
        kl_coef: KL penalty β to the reference policy (the paper: 0, and 0.01 for its small penalty).
        lr: Adam learning rate of the policy's mean and log-scale.
        whiten: Whether advantages are scaled to unit standard deviation per batch (trlx does).
        learn_scale: Whether the log-scale is learned (otherwise it stays at the reference's).
        eval_samples: Standard-normal draws on which proxy, gold and KL are logged.
        eval_every: Log every this many updates (the reference, update 0, and the last are always logged).
    """

    updates: int = 150
    batch_size: int = 256
    minibatches: int = 4
    epochs: int = 4
    clip: float = 0.2
    kl_coef: float = 0.0
    lr: float = 0.01
    whiten: bool = True
    learn_scale: bool = True
    eval_samples: int = 1024
    eval_every: int = 1

    def __post_init__(self) -> None:
        owner = "PPOConfig"
        check_int(self.updates, "updates", owner, low=1, high=MAX_SAMPLES)
        check_int(self.batch_size, "batch_size", owner, low=2, high=MAX_SAMPLES)
        check_int(self.minibatches, "minibatches", owner, low=1, high=self.batch_size)
        if self.batch_size % self.minibatches:
            raise InvalidParameterError("minibatches", owner, f"a divisor of batch_size ({self.batch_size})",
                                        self.minibatches)
        check_int(self.epochs, "epochs", owner, low=1, high=10_000)
        check_in_range(self.clip, "clip", owner, 0.0, 1.0)
        check_in_range(self.kl_coef, "kl_coef", owner, 0.0, math.inf, low_open=False)
        check_in_range(self.lr, "lr", owner, 0.0, 1e3)
        for name in ("whiten", "learn_scale"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterError(name, owner, "True or False", getattr(self, name))
        check_int(self.eval_samples, "eval_samples", owner, low=1, high=MAX_SAMPLES)
        check_int(self.eval_every, "eval_every", owner, low=1, high=MAX_SAMPLES)


@dataclass(frozen=True)
class PPOHistory:
    """What was logged, one entry per logged update (update 0 is the reference policy).

    Attributes:
        update: Update index, shape ``(L,)``.
        proxy: Mean proxy reward of the policy on the evaluation draws, ``(L,)``.
        gold: Mean gold reward on the same responses, ``(L,)`` (NaN when no gold was given).
        kl: Exact ``KL(π ‖ π_ref)`` in nats, ``(L,)``.
        scale: Mean policy standard deviation, ``(L,)``.
        clip_fraction: Share of minibatch samples whose ratio was clipped in the update, ``(L,)``
            (0 at update 0).
    """

    update: np.ndarray
    proxy: np.ndarray
    gold: np.ndarray
    kl: np.ndarray
    scale: np.ndarray
    clip_fraction: np.ndarray


@dataclass(frozen=True)
class PPOResult:
    """The final policy ``N(mean, diag std²)`` and the logged history."""

    mean: np.ndarray
    std: np.ndarray
    history: PPOHistory = field(repr=False)


def _vectors(owner: str, **arrays: object) -> dict[str, np.ndarray]:
    """Finite float arrays of one shape ``(d,)`` (d ≥ 1), or an `InputDataError` naming the argument."""
    out = {name: as_float_array(v, name, owner, finite=True, min_size=1) for name, v in arrays.items()}
    first, shape = next(iter(out)), next(iter(out.values())).shape
    for name, v in out.items():
        if v.ndim != 1 or v.shape != shape:
            raise InputDataError(f"The {name!r} argument of {owner} must be a vector of the shape of {first!r} "
                                 f"{shape}. Got shape {v.shape} instead.")
    return out


def _check_points(z: object, d: int, owner: str, name: str = "z") -> np.ndarray:
    arr = as_float_array(z, name, owner, finite=True, min_size=1)
    if arr.ndim != 2 or arr.shape[1] != d:
        raise InputDataError(f"The {name!r} argument of {owner} must have shape (m, {d}). Got {arr.shape} instead.")
    return arr


def _log_prob(z: np.ndarray, mean: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    u = (z - mean) * np.exp(-log_std)
    return np.asarray(-0.5 * (u**2).sum(-1) - log_std.sum() - 0.5 * z.shape[-1] * math.log(2 * math.pi))


def _kl(mean: np.ndarray, log_std: np.ndarray, ref_mean: np.ndarray, ref_log_std: np.ndarray) -> float:
    var, ref_var = np.exp(2 * log_std), np.exp(2 * ref_log_std)
    return float(np.sum(ref_log_std - log_std + (var + (mean - ref_mean) ** 2) / (2 * ref_var) - 0.5))


def _clip_loss(log_prob: np.ndarray, old_log_prob: np.ndarray, advantage: np.ndarray,
               clip: float) -> tuple[float, np.ndarray, np.ndarray]:
    ratio = np.exp(log_prob - old_log_prob)
    unclipped = ratio * advantage
    clipped = np.clip(ratio, 1 - clip, 1 + clip) * advantage
    return float(-np.mean(np.minimum(unclipped, clipped))), np.asarray(unclipped <= clipped), ratio


def _clip_grad(z: np.ndarray, mean: np.ndarray, log_std: np.ndarray, old_log_prob: np.ndarray,
               advantage: np.ndarray, clip: float) -> tuple[float, np.ndarray, np.ndarray, float]:
    loss, active, ratio = _clip_loss(_log_prob(z, mean, log_std), old_log_prob, advantage, clip)
    weight = np.where(active, ratio * advantage, 0.0) / -z.shape[0]  # (m,): d loss / d log π(z_i)
    inv_std = np.exp(-log_std)
    u = (z - mean) * inv_std  # standardized residuals
    grad_mean = weight @ (u * inv_std)
    grad_log_std = weight @ (u**2 - 1.0)
    return loss, grad_mean, grad_log_std, float(np.mean(np.abs(ratio - 1) > clip))


def gaussian_log_prob(z: np.ndarray, mean: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """Log-density of ``N(mean, diag exp(log_std)²)`` at responses ``z`` of shape ``(m, d)``; returns ``(m,)``.

    ``mean`` and ``log_std`` have shape ``(d,)``; every input must be finite.
    """
    v = _vectors("gaussian_log_prob", mean=mean, log_std=log_std)
    return _log_prob(_check_points(z, v["mean"].size, "gaussian_log_prob"), v["mean"], v["log_std"])


def gaussian_kl(mean: np.ndarray, log_std: np.ndarray, ref_mean: np.ndarray, ref_log_std: np.ndarray) -> float:
    """Closed-form ``KL(N(mean, σ²) ‖ N(ref_mean, σ₀²))`` of diagonal Gaussians, in nats::

        Σ_j  log(σ₀ⱼ/σⱼ) + (σⱼ² + (μⱼ − μ₀ⱼ)²) / (2σ₀ⱼ²) − 1/2

    All arguments are finite vectors of one shape ``(d,)`` (``σ = exp(log_std)``).
    """
    v = _vectors("gaussian_kl", mean=mean, log_std=log_std, ref_mean=ref_mean, ref_log_std=ref_log_std)
    return _kl(v["mean"], v["log_std"], v["ref_mean"], v["ref_log_std"])


def ppo_clip_loss(log_prob: np.ndarray, old_log_prob: np.ndarray, advantage: np.ndarray,
                  clip: float) -> tuple[float, np.ndarray]:
    """PPO's clipped surrogate loss ``−mean(min(ρA, clip(ρ, 1 − ε, 1 + ε)A))``, ``ρ = exp(log π − log π_old)``.

    Args:
        log_prob: ``log π(z)`` under the policy being updated, ``(m,)``.
        old_log_prob: ``log π_old(z)`` under the policy that sampled ``z``, ``(m,)``.
        advantage: ``A``, ``(m,)``.
        clip: ε in (0, 1).

    Returns:
        ``(loss, active)``: the scalar loss and a boolean ``(m,)`` marking the samples whose
        unclipped term is the minimum (the only ones with a gradient).
    """
    v = _vectors("ppo_clip_loss", log_prob=log_prob, old_log_prob=old_log_prob, advantage=advantage)
    eps = check_in_range(clip, "clip", "ppo_clip_loss", 0.0, 1.0)
    loss, active, _ = _clip_loss(v["log_prob"], v["old_log_prob"], v["advantage"], eps)
    return loss, active


def ppo_clip_grad(z: np.ndarray, mean: np.ndarray, log_std: np.ndarray, old_log_prob: np.ndarray,
                  advantage: np.ndarray, clip: float) -> tuple[float, np.ndarray, np.ndarray, float]:
    """`ppo_clip_loss` of the Gaussian policy and its exact gradient in ``(mean, log_std)``.

    Where the unclipped term is the minimum, ``∂(ρA)/∂θ = ρA ∂ log π/∂θ`` with
    ``∂ log π/∂μ = (z − μ)/σ²`` and ``∂ log π/∂ log σ = (z − μ)²/σ² − 1``; elsewhere the clipped term
    is constant in θ. (Written out rather than by autograd: with 2·d parameters, autograd's per-step
    overhead, not the arithmetic, would be the cost of a run.)

    Args:
        z: Responses ``(m, d)``; ``mean``, ``log_std``: ``(d,)``; ``old_log_prob``, ``advantage``: ``(m,)``.
        clip: ε in (0, 1).

    Returns:
        ``(loss, grad_mean (d,), grad_log_std (d,), clip_fraction)``; ``clip_fraction`` is the share
        of samples whose ratio lies outside ``[1 − ε, 1 + ε]``.
    """
    owner = "ppo_clip_grad"
    v = _vectors(owner, mean=mean, log_std=log_std)
    w = _vectors(owner, old_log_prob=old_log_prob, advantage=advantage)
    pts = _check_points(z, v["mean"].size, owner)
    if pts.shape[0] != w["advantage"].size:
        raise InputDataError(f"The 'advantage' argument of {owner} must have one entry per response "
                             f"({pts.shape[0]}). Got {w['advantage'].size} instead.")
    eps = check_in_range(clip, "clip", owner, 0.0, 1.0)
    return _clip_grad(pts, v["mean"], v["log_std"], w["old_log_prob"], w["advantage"], eps)


class _Adam:
    """Adam (Kingma & Ba; torch's defaults β = (0.9, 0.999), eps = 1e-8) on one flat parameter vector."""

    def __init__(self, size: int, lr: float) -> None:
        self.lr, self.t = lr, 0
        self.m, self.v = np.zeros(size), np.zeros(size)

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * grad
        self.v = 0.999 * self.v + 0.001 * grad**2
        m_hat = self.m / (1 - 0.9**self.t)
        v_hat = self.v / (1 - 0.999**self.t)
        return np.asarray(theta - self.lr * m_hat / (np.sqrt(v_hat) + 1e-8))


def ensemble_reward(ensemble: object, combiner: str = "wco", lam: float = 0.1, member: int = 0) -> Reward:
    """A proxy reward ``z (m, d) -> (m,)`` from a `RewardEnsemble`'s members, combined by `combine`.

    Args:
        ensemble: A `guardopt.offline.reward_models.RewardEnsemble` (anything with ``predict(z) -> (k, m)``).
        combiner: ``"single"`` (member ``member`` alone), ``"mean"``, ``"wco"`` or ``"uwo"``.
        lam: UWO's variance weight (the paper's PPO value is 0.1).
        member: The member ``"single"`` uses.
    """
    check_choice(combiner, "combiner", "ensemble_reward", COMBINERS)
    check_in_range(lam, "lam", "ensemble_reward", 0.0, math.inf, low_open=False)
    predict = getattr(ensemble, "predict", None)
    if not callable(predict):
        raise InputDataError("ensemble_reward needs an ensemble with a predict(z) -> (k, m) method.")
    member = check_int(member, "member", "ensemble_reward", low=0)  # before `member + 1`: None was a TypeError
    size = int(getattr(ensemble, "size", member + 1))
    check_int(member, "member", "ensemble_reward", low=0, high=size - 1)

    def reward(z: np.ndarray) -> np.ndarray:
        return combine(predict(z), combiner, lam, axis=0, member=member)

    return reward


def _check_reward(values: np.ndarray, m: int, name: str) -> np.ndarray:
    v = as_float_array(values, name, "ppo_optimize")
    if v.shape != (m,):
        raise InputDataError(f"ppo_optimize: {name} must return one value per response, shape ({m},); "
                             f"got {v.shape}.")
    if not np.all(np.isfinite(v)):
        # Fail closed: a non-finite reward would silently steer (or freeze) the policy.
        raise InputDataError(f"ppo_optimize: {name} returned {int((~np.isfinite(v)).sum())} non-finite "
                             "value(s); PPO needs finite rewards.")
    return v


def ppo_optimize(proxy: Reward, dim: int, config: PPOConfig | None = None, *, ref_mean: np.ndarray | None = None,
                 ref_std: float = 1.0, gold: Reward | None = None, seed: SeedLike = 0) -> PPOResult:
    """Optimize ``N(μ, diag σ²)``, started at the reference ``N(ref_mean, ref_std² I)``, against ``proxy``.

    Args:
        proxy: The reward PPO maximizes, ``z (m, dim) -> (m,)`` (e.g. `ensemble_reward`); must be finite.
        dim: Response dimension ``d``.
        config: `PPOConfig`.
        ref_mean: Reference mean, shape ``(dim,)`` (zeros by default).
        ref_std: Reference standard deviation (e.g. ``GoldRewardSetup.policy_scale``).
        gold: Optional true reward, logged only (never seen by the optimizer).
        seed: Seed of the sampling.

    Returns:
        `PPOResult`: the final mean and standard deviation ``(dim,)`` and the per-update `PPOHistory`.

    Raises:
        InvalidParameterError: on a bad ``dim``, ``ref_std`` or config.
        InputDataError: on a ``ref_mean`` of the wrong shape or non-finite, or a reward that is not
            finite or not one value per response.
    """
    cfg = config or PPOConfig()
    if not isinstance(cfg, PPOConfig):
        raise InputDataError(f"ppo_optimize expects a PPOConfig; got {type(cfg).__name__}.")
    if not callable(proxy) or (gold is not None and not callable(gold)):
        raise InputDataError("ppo_optimize: proxy (and gold, when given) must be callables z (m, dim) -> (m,).")
    d = check_int(dim, "dim", "ppo_optimize", low=1, high=MAX_DIM)
    s0 = check_in_range(ref_std, "ref_std", "ppo_optimize", 0.0, 1e6)
    m0 = np.zeros(d) if ref_mean is None else as_float_array(ref_mean, "ref_mean", "ppo_optimize", finite=True)
    if m0.shape != (d,) or np.abs(m0).max() > 1e6:
        raise InputDataError(f"The 'ref_mean' argument of ppo_optimize must be a vector of shape ({d},) with "
                             f"entries within ±1e6. Got shape {m0.shape} instead.")
    rng = make_rng(seed)
    ref_log_std = np.full(d, math.log(s0))
    mean, log_std = m0.copy(), ref_log_std.copy()
    opt = _Adam(2 * d if cfg.learn_scale else d, cfg.lr)
    eval_eps = rng.standard_normal((cfg.eval_samples, d))
    mb = cfg.batch_size // cfg.minibatches
    log: dict[str, list[float]] = {k: [] for k in ("update", "proxy", "gold", "kl", "scale", "clip_fraction")}

    def record(update: int, clip_fraction: float) -> None:
        z = mean + np.exp(log_std) * eval_eps
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # finite rewards can still overflow their mean (1e308 each), the KL its terms (a tiny ref_std)
            proxy_mean = float(_check_reward(proxy(z), z.shape[0], "proxy").mean())
            gold_mean = float(_check_reward(gold(z), z.shape[0], "gold").mean()) if gold else math.nan
            kl = _kl(mean, log_std, m0, ref_log_std)
            scale = float(np.exp(log_std).mean())
        for what, value in (("the mean proxy reward", proxy_mean), ("the KL to the reference (ref_mean, ref_std)", kl),
                            ("the policy's mean scale", scale)):
            if not math.isfinite(value):
                raise InputDataError(f"ppo_optimize: {what} overflows float64 at update {update}; rescale the "
                                     "proxy rewards or the reference.")
        if gold and not math.isfinite(gold_mean):
            raise InputDataError(f"ppo_optimize: the mean gold reward overflows float64 at update {update}; "
                                 "rescale the gold rewards.")
        log["update"].append(float(update))
        log["proxy"].append(proxy_mean)
        log["gold"].append(gold_mean)
        log["kl"].append(kl)
        log["scale"].append(scale)
        log["clip_fraction"].append(clip_fraction)

    record(0, 0.0)
    for update in range(1, cfg.updates + 1):
        z = mean + np.exp(log_std) * rng.standard_normal((cfg.batch_size, d))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            old_lp = _log_prob(z, mean, log_std)
        if not np.all(np.isfinite(old_lp)):  # (z − μ)/σ overflowed: the ratios would be NaN, the policy frozen
            raise InputDataError(f"ppo_optimize: the policy's log-density overflows float64 at update {update} "
                                 "(its scale is too small: raise ref_std).")
        r = _check_reward(proxy(z), cfg.batch_size, "proxy")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if cfg.kl_coef > 0:
                r = r - cfg.kl_coef * (old_lp - _log_prob(z, m0, ref_log_std))
            adv = r - r.mean()
            spread = adv.std() if cfg.whiten else 0.0
        # Finite rewards can overflow their mean, the advantages or their spread (1e308 each); an
        # infinite spread would whiten every advantage to 0 and freeze the policy without a word.
        if not (np.all(np.isfinite(adv)) and math.isfinite(spread)):
            raise InputDataError(f"ppo_optimize: the proxy rewards (with the KL penalty) overflow float64 in the "
                                 f"advantages at update {update} (largest magnitude {float(np.max(np.abs(r))):g}); "
                                 "rescale the proxy.")
        if cfg.whiten:
            adv = adv / (spread + 1e-8)
        clipped = []
        for _ in range(cfg.epochs):
            order = rng.permutation(cfg.batch_size)
            for start in range(0, cfg.batch_size, mb):
                idx = order[start : start + mb]
                _, g_mean, g_log_std, frac = _clip_grad(z[idx], mean, log_std, old_lp[idx], adv[idx], cfg.clip)
                if cfg.learn_scale:
                    theta = opt.step(np.concatenate([mean, log_std]), np.concatenate([g_mean, g_log_std]))
                    mean, log_std = theta[:d], theta[d:]
                else:
                    mean = opt.step(mean, g_mean)
                clipped.append(frac)
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(log_std))):
            raise InputDataError("ppo_optimize: the policy became non-finite; lower the learning rate.")
        if update % cfg.eval_every == 0 or update == cfg.updates:
            record(update, float(np.mean(clipped)))
    hist = PPOHistory(**{k: np.asarray(v, dtype=float) for k, v in log.items()})
    return PPOResult(mean=mean.copy(), std=np.exp(log_std), history=hist)
