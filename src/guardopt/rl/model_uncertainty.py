"""The uncertainty heuristics of offline model-based RL, as pure functions of an ensemble's predictions.

Paper: C. Lu, P. J. Ball, J. Parker-Holder, M. A. Osborne & S. J. Roberts, "Revisiting Design
Choices in Offline Model-Based Reinforcement Learning", ICLR 2022 (arXiv 2110.04135). MOPO (Yu et
al. 2020) penalizes a model reward by λ·u(s, a), where u is an uncertainty heuristic computed from
an ensemble of N Gaussian dynamics models; the paper compares five such heuristics. With member
means μ_i(s, a) and standard deviations σ_i(s, a) over the D next-state dimensions (i = 1..N,
``EnsemblePrediction.next_obs_mean`` / ``next_obs_std``, both ``(N, B, D)``):

* `max_aleatoric` (MOPO): ``max_i ‖σ_i‖₂``.
* `max_pairwise_diff` (MOReL): ``max_{i,j} ‖μ_i − μ_j‖₂``, computed exactly over all pairs
  (OfflineRL-Kit approximates it by the largest distance to the ensemble mean, which is between
  half and all of it).
* `ensemble_std`: ``sqrt(mean_d Var_i μ_{i,d})``, the epistemic spread of the means.
* `ensemble_var`: the per-dimension variance of the equally weighted Gaussian mixture,
  ``mean_i(σ_{i,d}² + μ_{i,d}²) − μ̄_d²``, averaged over the dimensions d (aleatoric plus
  epistemic). The averaging over d is our choice (the mixture variance is a vector; a mean keeps
  the units of `ensemble_std` squared).
* `ll_variance` (LOMPO-style): ``Var_i log N(ŝ'; μ_i, diag σ_i²)`` at a next state ŝ' (the state
  the rollout actually moves to, drawn from a random member).

All variances are population variances over the N members (divide by N, not N − 1). Each
function maps a prediction (and, for `ll_variance`, the sampled next states) to ``u`` of shape
``(B,)``; ``with_reward=True`` appends the reward column to the next-state dimensions (MOPO and
OfflineRL-Kit compute their penalty on the full ``[s', r]`` output; the paper's definitions are
written on the state, which is the default here).

`subset` takes the first ``k`` members of a prediction, so one trained ensemble of N_max members
yields the heuristics at every N ≤ N_max (the paper's ensemble-size study).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_bool, check_int
from guardopt.rl.dynamics import EnsemblePrediction

__all__ = [
    "HEURISTICS",
    "ensemble_std",
    "ensemble_var",
    "ll_variance",
    "max_aleatoric",
    "max_pairwise_diff",
    "subset",
    "uncertainty",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _mean_std(pred: Any, owner: str, with_reward: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(N, B, D)`` means and standard deviations (plus the reward column if asked)."""
    if not isinstance(pred, EnsemblePrediction):
        raise InvalidParameterError("pred", owner, "an EnsemblePrediction", type(pred).__name__)
    check_bool(with_reward, "with_reward", owner)
    mu = as_float_array(pred.next_obs_mean, "pred.next_obs_mean", owner, finite=True, min_size=1)
    sd = as_float_array(pred.next_obs_std, "pred.next_obs_std", owner, finite=True, min_size=1)
    if mu.ndim != 3 or sd.shape != mu.shape:
        raise InputDataError(f"The 'pred' argument of {owner} must hold next-state means and standard deviations of "
                             f"one shape (N, B, D). Got shapes {mu.shape} and {sd.shape} instead.")
    if np.any(sd < 0):
        raise InputDataError(f"The 'pred.next_obs_std' argument of {owner} must be non-negative. Got a negative "
                             "standard deviation instead.")
    if with_reward:
        rm = as_float_array(pred.reward_mean, "pred.reward_mean", owner, finite=True)
        rs = as_float_array(pred.reward_std, "pred.reward_std", owner, finite=True)
        if rm.shape != mu.shape[:2] or rs.shape != mu.shape[:2]:
            raise InputDataError(f"The 'pred' argument of {owner} must hold rewards of shape {mu.shape[:2]}. "
                                 f"Got shapes {rm.shape} and {rs.shape} instead.")
        if np.any(rs < 0):
            raise InputDataError(f"The 'pred.reward_std' argument of {owner} must be non-negative. Got a negative "
                                 "standard deviation instead.")
        mu = np.concatenate([mu, rm[..., None]], axis=-1)
        sd = np.concatenate([sd, rs[..., None]], axis=-1)
    return mu, sd


def _finite(u: np.ndarray, owner: str) -> np.ndarray:
    """Huge (finite) inputs can overflow a norm or a variance: refuse rather than return inf."""
    if not np.all(np.isfinite(u)):
        raise InputDataError(f"The 'pred' argument of {owner} overflowed (values too large for float64). "
                             "Got a non-finite uncertainty instead.")
    return u


def max_aleatoric(pred: EnsemblePrediction, with_reward: bool = False) -> np.ndarray:
    """MOPO's penalty: the largest member's ``‖σ_i(s, a)‖₂``. Returns ``(B,)``."""
    _, sd = _mean_std(pred, "max_aleatoric", with_reward)
    return _finite(np.max(np.linalg.norm(sd, axis=-1), axis=0), "max_aleatoric")


def max_pairwise_diff(pred: EnsemblePrediction, with_reward: bool = False) -> np.ndarray:
    """MOReL's disagreement: ``max_{i,j} ‖μ_i − μ_j‖₂`` over all member pairs. Returns ``(B,)`` (0 for N = 1)."""
    mu, _ = _mean_std(pred, "max_pairwise_diff", with_reward)
    diff = mu[:, None, :, :] - mu[None, :, :, :]  # (N, N, B, D); N ≤ 100 so N² is small
    with np.errstate(over="ignore", invalid="ignore"):
        u = np.max(np.linalg.norm(diff, axis=-1), axis=(0, 1))
    return _finite(u, "max_pairwise_diff")


def ensemble_std(pred: EnsemblePrediction, with_reward: bool = False) -> np.ndarray:
    """``sqrt(mean_d Var_i μ_{i,d})``: the spread of the member means. Returns ``(B,)``."""
    mu, _ = _mean_std(pred, "ensemble_std", with_reward)
    with np.errstate(over="ignore", invalid="ignore"):
        u = np.sqrt(np.mean(np.var(mu, axis=0), axis=-1))
    return _finite(u, "ensemble_std")


def ensemble_var(pred: EnsemblePrediction, with_reward: bool = False) -> np.ndarray:
    """The mixture's variance ``mean_i(σ_i² + μ_i²) − μ̄²`` averaged over dimensions. Returns ``(B,)``.

    Computed as ``mean_i σ_i² + Var_i μ_i`` (the same quantity, without the cancellation of the
    textbook form).
    """
    mu, sd = _mean_std(pred, "ensemble_var", with_reward)
    with np.errstate(over="ignore", invalid="ignore"):
        u = np.mean(np.mean(sd**2, axis=0) + np.var(mu, axis=0), axis=-1)
    return _finite(u, "ensemble_var")


def ll_variance(pred: EnsemblePrediction, next_obs: Any, reward: Any = None, with_reward: bool = False) -> np.ndarray:
    """``Var_i log p_i(ŝ' | s, a)`` with ``p_i = N(μ_i, diag σ_i²)`` at ``next_obs`` ŝ' ``(B, D)``. Returns ``(B,)``.

    ``with_reward=True`` scores ``[ŝ', r̂]`` and needs ``reward`` ``(B,)``. A member with a zero
    standard deviation in some dimension has an undefined density: that raises `InputDataError`.
    """
    owner = "ll_variance"
    mu, sd = _mean_std(pred, owner, with_reward)
    x = as_float_array(next_obs, "next_obs", owner, finite=True)
    if with_reward:
        r = as_float_array(reward, "reward", owner, finite=True)
        want = (mu.shape[1], mu.shape[2] - 1)
        if x.shape != want:
            raise InputDataError(f"The 'next_obs' argument of {owner} must have shape {want}. "
                                 f"Got shape {x.shape} instead.")
        if r.shape != (x.shape[0],):
            raise InputDataError(f"The 'reward' argument of {owner} must have shape ({mu.shape[1]},). "
                                 f"Got shape {r.shape} instead.")
        x = np.concatenate([x, r[:, None]], axis=1)
    if x.shape != mu.shape[1:]:
        raise InputDataError(f"The 'next_obs' argument of {owner} must have shape {mu.shape[1:]}. "
                             f"Got shape {x.shape} instead.")
    if np.any(sd <= 0):
        raise InputDataError(f"The 'pred.next_obs_std' argument of {owner} must be positive (a Gaussian with zero "
                             "variance has no density). Got a zero standard deviation instead.")
    with np.errstate(over="ignore", invalid="ignore"):
        z = (x[None] - mu) / sd
        logp = -0.5 * np.sum(z**2 + 2.0 * np.log(sd) + _LOG_2PI, axis=-1)  # (N, B)
        u = np.var(logp, axis=0)
    return _finite(u, owner)


def _ll(pred: EnsemblePrediction, next_obs: Any = None, reward: Any = None, with_reward: bool = False) -> np.ndarray:
    if next_obs is None:
        raise InvalidParameterError("next_obs", "uncertainty", "the sampled next states (B, D) for 'll_variance'",
                                    None)
    return ll_variance(pred, next_obs, reward, with_reward)


HEURISTICS: dict[str, Callable[..., np.ndarray]] = {
    "max_aleatoric": lambda pred, next_obs=None, reward=None, with_reward=False: max_aleatoric(pred, with_reward),
    "max_pairwise_diff": lambda pred, next_obs=None, reward=None, with_reward=False: max_pairwise_diff(
        pred, with_reward),
    "ensemble_std": lambda pred, next_obs=None, reward=None, with_reward=False: ensemble_std(pred, with_reward),
    "ensemble_var": lambda pred, next_obs=None, reward=None, with_reward=False: ensemble_var(pred, with_reward),
    "ll_variance": _ll,
}
"""Name → heuristic with the common signature ``(pred, next_obs=None, reward=None, with_reward=False) -> (B,)``."""


def uncertainty(name: str, pred: EnsemblePrediction, next_obs: Any = None, reward: Any = None,
                with_reward: bool = False) -> np.ndarray:
    """The heuristic ``name`` (a key of `HEURISTICS`) at every row of ``pred``: ``(B,)``."""
    if name not in HEURISTICS:
        raise InvalidParameterError("name", "uncertainty", f"one of {sorted(HEURISTICS)}", name)
    return HEURISTICS[name](pred, next_obs, reward, with_reward)


def subset(pred: EnsemblePrediction, members: int | Sequence[int]) -> EnsemblePrediction:
    """The prediction restricted to some members: the first ``members`` ones, or the listed indices."""
    if not isinstance(pred, EnsemblePrediction):
        raise InvalidParameterError("pred", "subset", "an EnsemblePrediction", type(pred).__name__)
    n = int(np.shape(pred.next_obs_mean)[0])
    if isinstance(members, (bool, np.bool_)):
        raise InvalidParameterError("members", "subset", f"a count or indices in [0, {n})", members)
    if isinstance(members, (int, np.integer)):
        idx = np.arange(check_int(int(members), "members", "subset", low=1, high=n))
    else:
        try:
            raw = np.asarray(members)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError("members", "subset", f"a count or indices in [0, {n})", members) from exc
        # Integers only: a float count (2.0) or index (0.7) would otherwise be truncated to an index.
        if raw.dtype.kind not in "iu":
            raise InvalidParameterError("members", "subset", f"a count or indices in [0, {n})", members)
        idx = raw.astype(int).ravel()
        if idx.size == 0 or idx.min() < 0 or idx.max() >= n:
            raise InvalidParameterError("members", "subset", f"a count or indices in [0, {n})", members)

    def take(v: np.ndarray | None) -> np.ndarray | None:
        return None if v is None else np.asarray(v)[idx]

    return EnsemblePrediction(
        next_obs_mean=np.asarray(pred.next_obs_mean)[idx], next_obs_std=np.asarray(pred.next_obs_std)[idx],
        reward_mean=np.asarray(pred.reward_mean)[idx], reward_std=np.asarray(pred.reward_std)[idx],
        cost_mean=take(pred.cost_mean), cost_std=take(pred.cost_std))
