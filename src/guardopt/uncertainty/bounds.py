"""Confidence bounds on a mean: Hoeffding, empirical Bernstein, Student-t, Clopper–Pearson, bootstrap.

Each ``*_radius`` function is the one-sided deviation at level ``delta``: with probability at least
``1 - delta``, ``true mean <= sample mean + radius`` (and symmetrically for the lower side). The
sample-based constructors return an `Estimate`; ``side="two-sided"`` spends ``delta / 2`` on each
side. All radius functions are vectorized over arrays of counts (one per arm).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from guardopt.core.errors import (
    InputDataError,
    InsufficientDataError,
    InvalidParameterError,
    as_float_array,
    check_in_range,
    check_int,
)
from guardopt.core.seeding import make_rng
from guardopt.uncertainty.estimate import Estimate, FloatOrArray, Side, _out, side_deltas


def _radius_args(owner: str, n: Any, delta: float, width: Any = False) -> np.ndarray:
    """Validate the arguments every radius shares; return the counts as a float array.

    A radius is a guarantee's size: a delta outside (0, 1) or a width that is not a positive
    finite number would give a radius of 0, a negative one or NaN, which reads as certainty.
    """
    check_in_range(delta, "delta", owner, 0.0, 1.0)
    if width is not False:  # the radii that take a width (None is not one)
        check_in_range(width, "width", owner, 0.0, np.inf)
    n_arr = as_float_array(n, "n", owner)
    if n_arr.size and not ((n_arr >= 0) & (n_arr < np.inf)).all():  # NaN fails this too
        raise InvalidParameterError("n", owner, "finite, non-negative sample counts", n)
    return n_arr


def _spread_arg(value: Any, param: str, owner: str) -> np.ndarray:
    arr = as_float_array(value, param, owner)
    if arr.size and not (arr >= 0).all():
        raise InvalidParameterError(param, owner, "non-negative (NaN and negative values are not a spread)", value)
    return arr


def hoeffding_radius(n: Any, delta: float, width: float) -> FloatOrArray:
    """Hoeffding's one-sided radius ``width * sqrt(log(1/delta) / (2 n))`` (inf where ``n == 0``).

    Reference: Hoeffding (1963), Theorem 2, for i.i.d. samples in an interval of length ``width``.

    Raises:
        InvalidParameterError: ``delta`` outside (0, 1), ``width`` not positive and finite, or a
            negative or NaN count.
    """
    n_arr = _radius_args("hoeffding_radius", n, delta, width)
    with np.errstate(divide="ignore"):
        r = width * np.sqrt(np.log(1.0 / delta) / (2.0 * n_arr))
    return _out(np.where(n_arr > 0, r, np.inf))


def empirical_bernstein_radius(n: Any, variance: Any, delta: float, width: float) -> FloatOrArray:
    """Maurer–Pontil empirical Bernstein radius (inf where ``n < 2``).

    ``sqrt(2 V log(2/delta) / n) + 7 width log(2/delta) / (3 (n - 1))`` with ``V`` the unbiased
    sample variance. Reference: Maurer & Pontil (2009), "Empirical Bernstein bounds and sample
    variance penalization", Theorem 4 (scaled from [0, 1] to a range of length ``width``).

    Raises:
        InvalidParameterError: as `hoeffding_radius`, or a negative or NaN ``variance``.
    """
    n_arr = _radius_args("empirical_bernstein_radius", n, delta, width)
    v = _spread_arg(variance, "variance", "empirical_bernstein_radius")
    log_term = np.log(2.0 / delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(2.0 * v * log_term / n_arr) + 7.0 * width * log_term / (3.0 * (n_arr - 1.0))
    return _out(np.where(n_arr >= 2, r, np.inf))


def student_t_radius(n: Any, std: Any, delta: float) -> FloatOrArray:
    """Student-t one-sided radius ``std / sqrt(n) * t_{1-delta, n-1}`` (inf where ``n < 2``).

    Exact for normal samples, approximate (by the central limit theorem) otherwise; it can
    under-cover for small ``n`` with skewed or heavy-tailed samples.

    Raises:
        InvalidParameterError: ``delta`` outside (0, 1), a negative or NaN count or ``std``.
    """
    n_arr = _radius_args("student_t_radius", n, delta)
    s = _spread_arg(std, "std", "student_t_radius")
    with np.errstate(divide="ignore", invalid="ignore"):
        q = stats.t.ppf(1.0 - delta, np.maximum(n_arr - 1.0, 1.0))
        r = _scaled(s / np.sqrt(n_arr), q)
    return _out(np.where(n_arr >= 2, r, np.inf))


def _scaled(spread: np.ndarray, q: Any) -> np.ndarray:
    """``spread * q`` as a radius: never negative (delta >= 1/2 gives q <= 0; a one-sided bound is
    never on the far side of the mean), infinite for an infinite spread, 0 for none."""
    with np.errstate(invalid="ignore", over="ignore"):
        r = np.maximum(spread * q, 0.0)
    # 0 * inf: a tiny delta rounds 1 - delta to 1 and the quantile to inf; no spread, no radius.
    return np.where(np.isinf(spread), np.inf, np.where(spread == 0, 0.0, r))


def normal_radius(std: Any, delta: float) -> FloatOrArray:
    """Gaussian one-sided radius ``z_{1-delta} * std`` (e.g. for a GP posterior).

    Raises:
        InvalidParameterError: ``delta`` outside (0, 1), a negative or NaN ``std``.
    """
    check_in_range(delta, "delta", "normal_radius", 0.0, 1.0)
    s = _spread_arg(std, "std", "normal_radius")
    return _out(_scaled(s, stats.norm.ppf(1.0 - delta)))


def _samples(samples: Any, axis: int, owner: str, min_n: int = 1, param: str = "samples") -> np.ndarray:
    x = as_float_array(samples, param, owner)
    if x.ndim == 0:
        raise InputDataError(f"The {param!r} argument of {owner} must be an array of samples. "
                             f"Got a scalar {samples!r} instead.")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise InvalidParameterError("axis", owner, f"an axis of the {x.ndim}-D samples", axis)
    if np.isnan(x).any():
        raise InputDataError(f"The {param!r} argument of {owner} holds NaN samples; remove or impute them first.")
    if np.isinf(x).any():
        raise InputDataError(f"The {param!r} argument of {owner} holds infinite samples; no bound holds for them.")
    if x.shape[axis] < min_n:
        raise InsufficientDataError(f"{owner} needs at least {min_n} samples. Got {x.shape[axis]} instead.")
    return x


def _finite_mean(x: np.ndarray, axis: int, owner: str, param: str = "samples") -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.asarray(x.mean(axis=axis))
    if not np.isfinite(mean).all():
        # e.g. [-1e308, -1e308]: the sum overflows to -inf, and a bound of -inf would pass any test.
        raise InputDataError(f"The {param!r} argument of {owner} overflows float64 when averaged; rescale them.")
    return mean


def _check_range(low: float, high: float, owner: str) -> float:
    """Validate a known range; return its width."""
    lo, hi = _number(low, "low", owner), _number(high, "high", owner)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo and np.isfinite(hi - lo)):
        raise InputDataError(
            f"The 'low' and 'high' arguments of {owner} must be a finite range with low < high. "
            f"Got low={low!r}, high={high!r} instead (width {hi - lo!r})."
        )
    return hi - lo


def _number(value: Any, param: str, owner: str) -> float:
    """A real number (NaN and infinities included: the caller's message explains the range)."""
    if isinstance(value, float) and math.isnan(value):
        return value
    return check_in_range(value, param, owner, low_open=False, high_open=False)


def _assemble(mean: np.ndarray, r_lo: Any, r_hi: Any, d_lo: float, d_hi: float, n: Any, method: str,
              low: float = -np.inf, high: float = np.inf) -> Estimate:
    mean = np.asarray(mean, dtype=float)
    lower = mean - np.asarray(r_lo) if d_lo > 0 else np.full_like(mean, low)
    upper = mean + np.asarray(r_hi) if d_hi > 0 else np.full_like(mean, high)
    lower = np.maximum(lower, low)
    upper = np.minimum(upper, high)
    return Estimate(_out(mean), _out(lower), _out(upper), 1.0 - d_lo - d_hi, _out_int(n), method)


def _out_int(n: Any) -> int | np.ndarray:
    arr = np.asarray(n).astype(int)
    return int(arr) if arr.ndim == 0 else arr


def hoeffding(samples: Any, delta: float, low: float, high: float, side: Side = "two-sided",
              axis: int = -1) -> Estimate:
    """Hoeffding interval for the mean of samples known to lie in ``[low, high]``.

    Exact for every ``n``: with probability at least ``1 - delta`` the true mean lies in the
    interval. Reference: Hoeffding (1963), Theorem 2.

    Args:
        samples: Array of shape ``(..., n)`` (or with ``n`` along ``axis``).
        delta: Total miscoverage in (0, 1); ``"two-sided"`` spends ``delta / 2`` per side.
        low, high: The known range of a sample (finite, ``low < high``).
        side: ``"two-sided"``, ``"upper"`` or ``"lower"``.
        axis: The sample axis.

    Returns:
        An `Estimate` with the shape of ``samples`` without ``axis``, clipped to ``[low, high]``.

    Example:
        >>> est = hoeffding([0, 1, 1, 0, 1, 0, 1, 1, 0, 1], delta=0.1, low=0, high=1)
        >>> round(est.lower, 4), est.mean, round(est.upper, 4)
        (0.213, 0.6, 0.987)
    """
    d_lo, d_hi = side_deltas(delta, side, "hoeffding")
    x = _samples(samples, axis, "hoeffding")
    w = _check_range(low, high, "hoeffding")
    if (x < low).any() or (x > high).any():
        raise InputDataError(f"The 'samples' argument of hoeffding lies outside the declared range [{low}, {high}].")
    n = x.shape[axis]
    mean = _finite_mean(x, axis, "hoeffding")
    r_lo = hoeffding_radius(n, d_lo, w) if d_lo > 0 else 0.0
    r_hi = hoeffding_radius(n, d_hi, w) if d_hi > 0 else 0.0
    return _assemble(np.asarray(mean), r_lo, r_hi, d_lo, d_hi, n, "hoeffding", low, high)


def empirical_bernstein(samples: Any, delta: float, low: float, high: float, side: Side = "two-sided",
                        axis: int = -1) -> Estimate:
    """Maurer–Pontil empirical Bernstein interval for samples in ``[low, high]`` (needs n >= 2).

    Exact, and tighter than Hoeffding when the variance is small relative to the squared range
    and ``n`` is not tiny (its ``7 w log(2/delta) / (3 (n - 1))`` term dominates for small ``n``).
    Reference: Maurer & Pontil (2009), Theorem 4.

    Args:
        samples: Array of shape ``(..., n)`` (or with ``n`` along ``axis``).
        delta: Total miscoverage in (0, 1).
        low, high: The known range of a sample.
        side: ``"two-sided"``, ``"upper"`` or ``"lower"``.
        axis: The sample axis.

    Returns:
        An `Estimate` with the shape of ``samples`` without ``axis``, clipped to ``[low, high]``.
    """
    d_lo, d_hi = side_deltas(delta, side, "empirical_bernstein")
    x = _samples(samples, axis, "empirical_bernstein", min_n=2)
    w = _check_range(low, high, "empirical_bernstein")
    if (x < low).any() or (x > high).any():
        raise InputDataError(
            f"The 'samples' argument of empirical_bernstein lies outside the declared range [{low}, {high}].")
    n = x.shape[axis]
    mean = _finite_mean(x, axis, "empirical_bernstein")
    with np.errstate(over="ignore", invalid="ignore"):
        var = x.var(axis=axis, ddof=1)
    var = np.where(np.isfinite(var), var, np.inf)  # an overflowing variance: an infinite, conservative radius
    r_lo = empirical_bernstein_radius(n, var, d_lo, w) if d_lo > 0 else 0.0
    r_hi = empirical_bernstein_radius(n, var, d_hi, w) if d_hi > 0 else 0.0
    return _assemble(np.asarray(mean), r_lo, r_hi, d_lo, d_hi, n, "empirical-bernstein", low, high)


def student_t(samples: Any, delta: float, side: Side = "two-sided", axis: int = -1) -> Estimate:
    """Student-t interval for the mean (needs n >= 2).

    Exact for normal samples; otherwise an approximation by the central limit theorem that can
    under-cover for small ``n`` with skewed samples (all-zero Bernoulli samples give a zero-width
    interval). Use `hoeffding`, `empirical_bernstein` or `clopper_pearson` when a guarantee is needed.

    Args:
        samples: Array of shape ``(..., n)`` (or with ``n`` along ``axis``).
        delta: Total miscoverage in (0, 1).
        side: ``"two-sided"``, ``"upper"`` or ``"lower"`` (the other side is ``∓inf``).
        axis: The sample axis.

    Example:
        >>> est = student_t([1, 2, 3, 4, 5], delta=0.05)
        >>> round(est.lower, 4), round(est.upper, 4)
        (1.0368, 4.9632)
    """
    d_lo, d_hi = side_deltas(delta, side, "student_t")
    x = _samples(samples, axis, "student_t", min_n=2)
    n = x.shape[axis]
    mean = _finite_mean(x, axis, "student_t")
    with np.errstate(over="ignore", invalid="ignore"):
        std = x.std(axis=axis, ddof=1)
    std = np.where(np.isnan(std), np.inf, std)  # an overflowing spread: an infinite, conservative radius
    r_lo = student_t_radius(n, std, d_lo) if d_lo > 0 else 0.0
    r_hi = student_t_radius(n, std, d_hi) if d_hi > 0 else 0.0
    return _assemble(np.asarray(mean), r_lo, r_hi, d_lo, d_hi, n, "student-t")


def normal(mean: Any, std: Any, delta: float, side: Side = "two-sided") -> Estimate:
    """Gaussian interval ``mean ± z_{1-delta/2} std`` for a Gaussian belief (e.g. a GP posterior).

    Args:
        mean, std: Floats or arrays of one shape.
        delta: Total miscoverage in (0, 1).
        side: ``"two-sided"``, ``"upper"`` or ``"lower"``.
    """
    d_lo, d_hi = side_deltas(delta, side, "normal")
    m = as_float_array(mean, "mean", "normal", finite=True)
    s = _spread_arg(std, "std", "normal")
    if not np.isfinite(s).all():
        raise InvalidParameterError("std", "normal", "finite", std)
    try:
        m, s = np.broadcast_arrays(m, s)
    except ValueError as exc:
        raise InputDataError(f"The 'mean' and 'std' arguments of normal must have broadcastable shapes. "
                             f"Got {np.shape(mean)} and {np.shape(std)} instead.") from exc
    r_lo = normal_radius(s, d_lo) if d_lo > 0 else 0.0
    r_hi = normal_radius(s, d_hi) if d_hi > 0 else 0.0
    return _assemble(np.array(m), r_lo, r_hi, d_lo, d_hi, np.zeros_like(m, dtype=int), "normal")


def clopper_pearson(successes: Any, n: Any, delta: float, side: Side = "two-sided") -> Estimate:
    """Exact (Clopper–Pearson) interval for a binomial proportion ``successes / n``.

    Lower bound ``Beta^{-1}(delta_lo; k, n - k + 1)`` (0 when ``k = 0``), upper bound
    ``Beta^{-1}(1 - delta_hi; k + 1, n - k)`` (1 when ``k = n``). Conservative: the coverage is at
    least ``1 - delta`` for every ``p``. Reference: Clopper & Pearson (1934).

    Args:
        successes: Whole counts in ``[0, n]``, a float or an array (one per arm).
        n: Trials, broadcastable with ``successes``, at least 1.
        delta: Total miscoverage in (0, 1).
        side: ``"two-sided"``, ``"upper"`` or ``"lower"``.

    Example:
        >>> round(clopper_pearson(0, 10, delta=0.05).upper, 4)
        0.3085
    """
    d_lo, d_hi = side_deltas(delta, side, "clopper_pearson")
    k = as_float_array(successes, "successes", "clopper_pearson", finite=True)
    n_arr = as_float_array(n, "n", "clopper_pearson", finite=True)
    try:
        k, n_arr = np.broadcast_arrays(k, n_arr)
    except ValueError as exc:
        raise InputDataError(f"The 'successes' and 'n' arguments of clopper_pearson must have broadcastable "
                             f"shapes. Got {np.shape(successes)} and {np.shape(n)} instead.") from exc
    if (np.any(n_arr < 1) or np.any(k < 0) or np.any(k > n_arr) or np.any(k != np.round(k))
            or np.any(n_arr != np.round(n_arr))):
        raise InputDataError(
            f"clopper_pearson needs whole successes in [0, n] and n >= 1. Got successes={successes!r}, n={n!r}."
        )
    p = k / n_arr
    with np.errstate(invalid="ignore"):
        lower = np.where(k > 0, stats.beta.ppf(d_lo, k, n_arr - k + 1), 0.0) if d_lo > 0 else np.zeros_like(p)
        upper = np.where(k < n_arr, stats.beta.ppf(1 - d_hi, k + 1, n_arr - k), 1.0) if d_hi > 0 else np.ones_like(p)
    return Estimate(_out(p), _out(np.minimum(lower, p)), _out(np.maximum(upper, p)), 1.0 - d_lo - d_hi,
                    _out_int(n_arr), "clopper-pearson")


def bootstrap(samples: Any, delta: float, statistic: Callable[..., Any] = np.mean, side: Side = "two-sided",
              n_resamples: int = 2000, method: str = "BCa", seed: int | np.random.Generator | None = None) -> Estimate:
    """Bootstrap interval of a statistic of 1-D samples (``scipy.stats.bootstrap``).

    Asymptotic: no finite-sample guarantee, and BCa can under-cover for tiny samples. Degenerate
    samples (all equal) give the zero-width interval at the statistic. Reference: Efron (1987).

    Args:
        samples: 1-D array, at least 2 samples.
        delta: Total miscoverage in (0, 1).
        statistic: ``f(x) -> float`` (numpy-style, accepting ``axis``).
        side: ``"two-sided"``, ``"upper"`` or ``"lower"``.
        n_resamples: Bootstrap resamples.
        method: ``"BCa"``, ``"percentile"`` or ``"basic"``.
        seed: Seed or Generator of the resampling.
    """
    d_lo, d_hi = side_deltas(delta, side, "bootstrap")
    x = _samples(samples, -1, "bootstrap", min_n=2)
    if x.ndim != 1:
        raise InputDataError(f"The 'samples' argument of bootstrap must be 1-D. Got shape {x.shape} instead.")
    check_int(n_resamples, "n_resamples", "bootstrap", low=1)
    if not isinstance(method, str) or method.lower() not in ("bca", "percentile", "basic"):
        raise InvalidParameterError("method", "bootstrap", "one of 'BCa', 'percentile', 'basic'", method)
    alternative = {"two-sided": "two-sided", "upper": "less", "lower": "greater"}[side]
    with warnings.catch_warnings():
        # Degenerate samples (all equal) make BCa undefined: scipy warns and returns NaN, which is
        # replaced below by the point estimate; the library stays quiet.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*BCa confidence interval cannot be calculated.*")
        res = stats.bootstrap((x,), statistic, confidence_level=1.0 - delta, n_resamples=n_resamples,
                              method=method, alternative=alternative, rng=make_rng(seed))
    point = float(statistic(x))
    if not np.isfinite(point):
        raise InputDataError(f"The 'statistic' argument of bootstrap gave {point} on the samples; a bound needs "
                             "a finite statistic.")
    lo = float(res.confidence_interval.low)
    hi = float(res.confidence_interval.high)
    lo = min(lo if np.isfinite(lo) or d_lo == 0 else point, point)
    hi = max(hi if np.isfinite(hi) or d_hi == 0 else point, point)
    return Estimate(point, lo, hi, 1.0 - d_lo - d_hi, len(x), f"bootstrap-{method}")


def ensemble(predictions: Any, axis: int = 0) -> Estimate:
    """Mean ± one standard deviation (population) across an ensemble's predictions.

    An ensemble's spread is a heuristic, not a confidence interval: ``confidence`` is NaN.

    Args:
        predictions: Array whose ``axis`` indexes ensemble members, e.g. ``(members, candidates)``.
    """
    x = _samples(predictions, axis, "ensemble", param="predictions")
    mean = _finite_mean(x, axis, "ensemble", "predictions")
    with np.errstate(over="ignore", invalid="ignore"):
        std = x.std(axis=axis)
    std = np.where(np.isnan(std), np.inf, std)
    return Estimate(_out(mean), _out(mean - std), _out(mean + std), float("nan"), x.shape[axis], "ensemble")


def check_delta(delta: float, owner: str) -> float:
    """Validate a miscoverage level in (0, 1)."""
    return check_in_range(delta, "delta", owner, 0.0, 1.0)
