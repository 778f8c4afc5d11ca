"""Guards: pure functions that turn an estimate (or an ensemble's samples) into a score.

Optimism (an upper bound on what is being maximized) is for exploring; pessimism (a lower bound on
it, an upper bound on a cost) is for constraints, recommendations and releases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_bool,
    check_choice,
    check_in_range,
)
from guardopt.uncertainty.estimate import Estimate, FloatOrArray, _out


def _estimate(est: Any, param: str, owner: str) -> Estimate:
    if not isinstance(est, Estimate):
        raise InvalidParameterError(param, owner, "an Estimate", est)
    return est


def _flag(value: Any, param: str, owner: str) -> bool:
    check_bool(value, param, owner)
    return bool(value)


def optimistic(est: Estimate, maximize: bool = True) -> FloatOrArray:
    """The most favourable plausible value: the upper bound when maximizing, the lower when minimizing."""
    _estimate(est, "est", "optimistic")
    return est.upper if _flag(maximize, "maximize", "optimistic") else est.lower


def pessimistic(est: Estimate, maximize: bool = True) -> FloatOrArray:
    """The least favourable plausible value: the lower bound when maximizing, the upper when minimizing."""
    _estimate(est, "est", "pessimistic")
    return est.lower if _flag(maximize, "maximize", "pessimistic") else est.upper


def feasible(residuals: Estimate | Sequence[Estimate], mode: Literal["optimistic", "pessimistic"] = "pessimistic",
             ) -> np.ndarray | bool:
    """Whether constraint residuals (``<= 0`` means satisfied) are plausibly / surely satisfied.

    Args:
        residuals: One `Estimate` of a residual, or a sequence (one per constraint, equal shapes):
            all must hold.
        mode: ``"optimistic"``: the lower bound is ``<= 0`` (could be feasible: for exploring).
            ``"pessimistic"``: the upper bound is ``<= 0`` (feasible with high confidence).

    Returns:
        Boolean (array). A NaN bound is never feasible (fail closed).
    """
    check_choice(mode, "mode", "feasible", ("optimistic", "pessimistic"))
    if isinstance(residuals, Estimate):
        ests = [residuals]
    elif isinstance(residuals, Sequence) and not isinstance(residuals, (str, bytes)):
        ests = list(residuals)
    else:
        raise InvalidParameterError("residuals", "feasible", "an Estimate or a sequence of Estimates", residuals)
    if not ests:
        raise InputDataError("The 'residuals' argument of feasible needs at least one residual estimate.")
    for i, e in enumerate(ests):
        _estimate(e, f"residuals[{i}]", "feasible")
    shapes = {e.shape for e in ests}
    if len(shapes) > 1:
        # Broadcasting (3,) against (2,) is numpy's error; (1,) against (3,) would be a silent one.
        raise InputDataError(f"The 'residuals' argument of feasible must hold estimates of one shape. "
                             f"Got shapes {[e.shape for e in ests]} instead.")
    ok: Any = True
    for e in ests:
        b = np.asarray(e.lower if mode == "optimistic" else e.upper, dtype=float)
        with np.errstate(invalid="ignore"):
            ok = np.logical_and(ok, b <= 0.0)  # NaN <= 0 is False: fail closed
    return bool(ok) if np.ndim(ok) == 0 else np.asarray(ok)


def worst_case(samples: Any, axis: int = 0) -> FloatOrArray:
    """Worst-case optimization (WCO): the minimum over an ensemble's predictions of a reward.

    Reference: Coste et al. (2024), "Reward Model Ensembles Help Mitigate Overoptimization", Eq. WCO.
    A NaN member makes the score NaN, which ranks below everything in a guarded choice.
    """
    x = _members(samples, axis, "worst_case")
    return _out(np.min(x, axis=axis))


def uncertainty_weighted(samples: Any, lam: float, axis: int = 0) -> FloatOrArray:
    """Uncertainty-weighted optimization (UWO): ensemble mean minus ``lam`` times its variance.

    The variance is the population variance across members (``ddof=0``), as in Coste et al.'s
    best-of-n code.
    """
    check_in_range(lam, "lam", "uncertainty_weighted", 0.0, np.inf, low_open=False)
    x = _members(samples, axis, "uncertainty_weighted")
    with np.errstate(over="ignore", invalid="ignore"):
        # An overflowing spread gives -inf (or NaN): the score ranks last, never first.
        return _out(x.mean(axis=axis) - lam * x.var(axis=axis))


def _members(samples: Any, axis: int, owner: str) -> np.ndarray:
    """An ensemble's predictions with at least one member along ``axis``."""
    x = as_float_array(samples, "samples", owner)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < max(x.ndim, 1):
        raise InvalidParameterError("axis", owner, f"an axis of the {x.ndim}-D samples", axis)
    if x.ndim == 0 or x.shape[axis] == 0:
        raise InputDataError(f"The 'samples' argument of {owner} needs at least one ensemble member along axis "
                             f"{axis}. Got shape {x.shape} instead.")
    return x


def _sorted(samples: Any, owner: str) -> np.ndarray:
    x = as_float_array(samples, "samples", owner)
    if x.ndim != 1 or x.size == 0:
        raise InputDataError(f"The 'samples' argument of {owner} must be a non-empty 1-D array. Got shape {x.shape}.")
    if np.isnan(x).any():
        raise InputDataError(f"The 'samples' argument of {owner} holds NaN samples.")
    return np.sort(x)


def _quantile_integral(xs: np.ndarray, a: float, b: float) -> float:
    """∫_a^b F^{-1}(u) du for the empirical distribution of sorted ``xs`` (a step function)."""
    n = xs.size
    edges = np.arange(n + 1) / n
    lo = np.clip(edges[:-1], a, b)
    hi = np.clip(edges[1:], a, b)
    return float(np.sum((hi - lo) * xs))


def value_at_risk(samples: Any, alpha: float, tail: Literal["lower", "upper"] = "lower") -> float:
    """Empirical VaR: the ``alpha``-quantile (lower tail, for rewards) or ``1 - alpha`` (upper tail, costs).

    Uses the inverse of the empirical CDF: ``inf{x : F(x) >= level}``.
    """
    check_in_range(alpha, "alpha", "value_at_risk", 0.0, 1.0)
    check_choice(tail, "tail", "value_at_risk", ("lower", "upper"))
    xs = _sorted(samples, "value_at_risk")
    level = alpha if tail == "lower" else 1.0 - alpha
    return float(np.quantile(xs, level, method="inverted_cdf"))


def cvar(samples: Any, alpha: float, tail: Literal["lower", "upper"] = "lower") -> float:
    """Conditional value at risk: the mean of the worst ``alpha`` fraction of outcomes.

    ``tail="lower"`` (rewards): ``(1/alpha) ∫_0^alpha F^{-1}(u) du``; ``tail="upper"`` (costs): the
    mean of the largest ``alpha`` fraction. Fractional atoms are split exactly.
    """
    check_in_range(alpha, "alpha", "cvar", 0.0, 1.0, high_open=False)
    check_choice(tail, "tail", "cvar", ("lower", "upper"))
    xs = _sorted(samples, "cvar")
    # Worst outcomes first. The upper tail is not integrated over [1 - alpha, 1]: for a small
    # alpha, 1 - alpha rounds to 1 and the tail would vanish (a cost's CVaR reading 0).
    return _tail_mean(xs if tail == "lower" else xs[::-1], alpha)


def _tail_mean(worst_first: np.ndarray, alpha: float) -> float:
    """Mean of the first ``alpha`` fraction of equally likely outcomes, the boundary atom split.

    With ``m = alpha * n`` atoms in the tail, ``k = floor(m)`` of them whole (at most ``n - 1``):
    ``(sum_{i<k} x_i + (m - k) x_k) / m``, written as ``x_k + sum_{i<k} (x_i - x_k) / m`` so that
    equal outcomes give exactly their value, and a tiny ``alpha`` gives ``x_0``.
    """
    n = worst_first.size
    m = alpha * n
    k = min(math.floor(m), n - 1)
    xk = worst_first[k]
    if k == 0:
        return float(xk)
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(xk + np.sum(worst_first[:k] - xk) / m)
    if math.isnan(value):  # infinite outcomes: inf - inf inside the sum; the plain mean is exact here
        value = float((np.sum(worst_first[:k]) + (m - k) * xk) / m)
    # A mean of the tail's atoms lies among them; rounding at large magnitudes (half an ulp of
    # 3e15) could otherwise put it just outside, e.g. above the largest outcome.
    tail = worst_first[: k + 1]
    return float(min(max(value, float(np.min(tail))), float(np.max(tail))))


def mixed_var(samples: Any, breakpoints: Sequence[float], weights: Sequence[float]) -> float:
    """Mixed value at risk: a weighted average of the quantile function over quantile regions.

    ``sum_i w_i ∫_{b_{i-1}}^{b_i} F^{-1}(u) du / sum_i w_i (b_i - b_{i-1})`` with ``b_0 = 0``.
    RiskPO's MVaR^ω_{α:β} (arXiv 2510.00911) is an instance: density weight ``1 + ω`` on
    ``[0, α]`` and 1 on ``[α, β]`` is ``breakpoints=(α, β), weights=(1 + ω, 1)``; its released
    code's mix ``(ω CVaR_α + RVaR_{α:β}) / (ω + 1)`` is ``weights=(ω / α, 1 / (β - α))``.

    Args:
        samples: 1-D outcomes (higher is better).
        breakpoints: Increasing quantile levels in (0, 1], one per region's right end.
        weights: Non-negative weight of each region.
    """
    b = as_float_array(breakpoints, "breakpoints", "mixed_var", finite=True)
    w = as_float_array(weights, "weights", "mixed_var", finite=True)
    if b.ndim != 1 or b.shape != w.shape or b.size == 0:
        raise InputDataError("The 'breakpoints' and 'weights' arguments of mixed_var must be equal-length and "
                             f"non-empty. Got shapes {b.shape} and {w.shape}.")
    edges = np.concatenate([[0.0], b])
    if np.any(np.diff(edges) <= 0) or edges[-1] > 1.0:
        raise InputDataError(f"The 'breakpoints' argument of mixed_var must increase within (0, 1]. Got {list(b)}.")
    if np.any(w < 0) or not np.any(w > 0):
        raise InputDataError(
            f"The 'weights' argument of mixed_var must be non-negative and not all zero. Got {list(w)}.")
    xs = _sorted(samples, "mixed_var")
    num = sum(wi * _quantile_integral(xs, a, c) for wi, a, c in zip(w, edges[:-1], edges[1:]))
    den = float(np.sum(w * np.diff(edges)))
    return float(num / den)
