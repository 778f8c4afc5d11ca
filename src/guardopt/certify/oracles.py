"""Base-variable bounds for the safety test and for candidate selection's prediction of it.

Both use the radii of `guardopt.uncertainty` (Student-t, Hoeffding); nothing here re-derives a bound.

* `safety_oracle`: the bound that is actually tested, on the safety set —
  ``mean ± t_{1-δ, n-1} · sd / sqrt(n)`` (Student-t) or ``mean ± (b - a) sqrt(ln(1/δ) / (2n))``
  (Hoeffding), one-sided at the miscoverage ``δ`` it is asked for.
* `predicted_oracle`: candidate selection's guess of that bound, computed on the *candidate* data
  but with the safety set's sample size and the radius multiplied by ``inflation`` (2 in Thomas et
  al. 2019 and in the Seldonian toolkit's ``predict_HC_upperbound``), so that the search prefers
  candidates with a margin and is less often refuted by the test.

Frequency weights (``data["sample_weight"]``) count as repeated samples: ``n = sum(w)``, weighted
mean, and the unbiased weighted standard deviation ``sqrt(sum w (v - mean)^2 / (n - 1))`` — the same
numbers the unweighted formulas give on the expanded sample.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from guardopt.certify.constraints import Data, Mean, Oracle, Side
from guardopt.core.errors import InputDataError, InsufficientDataError
from guardopt.uncertainty.bounds import hoeffding_radius, student_t_radius

BOUNDS = ("ttest", "hoeffding")
MIN_SAMPLES = {"ttest": 2, "hoeffding": 1}


def weighted_mean_std(values: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    """``(n, mean, sd)`` of samples with frequency weights (sd with Bessel's correction; NaN if n < 2)."""
    n = float(weights.sum())
    if n <= 0:
        return 0.0, math.nan, math.nan
    with np.errstate(over="ignore", invalid="ignore"):
        # Values near the float64 limit overflow to a non-finite mean (NaN: the bound fails closed)
        # or an infinite sd (an infinite radius): never a finite bound that is too small.
        mean = float(np.dot(weights, values) / n)
        if not math.isfinite(mean):
            return n, math.nan, math.nan
        if n < 2:
            return n, mean, math.nan
        var = float(np.dot(weights, (values - mean) ** 2) / (n - 1.0))
    return n, mean, math.sqrt(max(var, 0.0)) if not math.isnan(var) else math.inf


def radius(bound: str, n: float, sd: float, delta: float, base: Mean) -> float:
    """One-sided radius of ``base``'s mean from ``n`` samples at miscoverage ``delta``."""
    if bound == "ttest":
        # The Student-t radius is linear in sd; caching its value at sd = 1 saves a t quantile per
        # call when candidate search evaluates many candidates at the same n and delta.
        return sd * _unit_t_radius(n, delta)
    if base.low is None or base.high is None:
        raise InputDataError(f"The Hoeffding bound needs the range of {base.name!r}: give Mean(low=, high=).")
    return float(hoeffding_radius(n, delta, base.high - base.low))


@functools.lru_cache(maxsize=4096)
def _unit_t_radius(n: float, delta: float) -> float:
    return float(student_t_radius(n, 1.0, delta))


def _side_bound(base: Mean, side: Side, mean: float, r: float) -> float:
    value = mean + r if side == "upper" else mean - r
    # The true mean lies in the known range, so clipping to it never loses coverage.
    if base.low is not None and base.high is not None:
        value = min(max(value, base.low), base.high)
    return value


def check_counts(bases: list[Mean], data: Data, n: int, bound: str, where: str) -> None:
    """Raise `InsufficientDataError` when a base variable has too few rows for ``bound``."""
    need = MIN_SAMPLES[bound]
    for b in bases:
        c = b.count(data, n)
        if c < need:
            raise InsufficientDataError(
                f"{where} has {c:g} samples for {b.name!r}; the {bound} bound needs at least {need}."
            )


def safety_oracle(predictions: np.ndarray, data: Data, bound: str) -> Oracle:
    """Oracle of the tested bound on the safety set (NaN values give NaN: the test fails closed)."""
    cache: dict[tuple[int, Side, float], float] = {}

    def oracle(base: Mean, side: Side, delta: float) -> float:
        key = (id(base), side, delta)
        if key not in cache:
            v, w = base.values(predictions, data)
            if not np.isfinite(v[w > 0]).all():
                cache[key] = math.nan  # NaN or infinite values: no bound, the test fails closed
            elif base.low is not None and base.high is not None and (
                (v[w > 0] < base.low).any() or (v[w > 0] > base.high).any()
            ):
                # Outside the declared range: Hoeffding's radius would be invalid, and clipping any
                # bound to the range would hide the violation (costs of 5 in [0, 1] read as 1).
                cache[key] = math.nan
            else:
                n, mean, sd = weighted_mean_std(v, w)
                if n < MIN_SAMPLES[bound]:
                    raise InsufficientDataError(
                        f"The safety set has {n:g} samples for {base.name!r}; the {bound} bound needs "
                        f"at least {MIN_SAMPLES[bound]}."
                    )
                cache[key] = _side_bound(base, side, mean, radius(bound, n, sd, delta, base))
        return cache[key]

    return oracle


def predicted_oracle(predictions: np.ndarray, data: Data, bound: str, safety_ratio: float,
                     inflation: float) -> Oracle:
    """Oracle of the *predicted* safety bound, from candidate data.

    Args:
        predictions: Candidate-set predictions ``(n_c,)``.
        data: Candidate data.
        bound: ``"ttest"`` or ``"hoeffding"``.
        safety_ratio: ``n_safety / n_candidate``; a base variable with ``m`` candidate samples is
            predicted to have ``m * safety_ratio`` safety samples (so the search never looks at the
            safety set).
        inflation: Multiplier of the radius (2 in the Seldonian papers).

    NaN values or too few predicted samples give ``+inf`` for an upper bound and ``-inf`` for a
    lower bound, i.e. "predicted to fail".
    """
    cache: dict[tuple[int, Side, float], float] = {}

    def oracle(base: Mean, side: Side, delta: float) -> float:
        key = (id(base), side, delta)
        if key not in cache:
            fail = math.inf if side == "upper" else -math.inf
            v, w = base.values(predictions, data)
            n_c, mean, sd = weighted_mean_std(v, w)
            n_s = n_c * safety_ratio
            if math.isnan(mean) or n_s < MIN_SAMPLES[bound] or (bound == "ttest" and math.isnan(sd)):
                cache[key] = fail
            else:
                cache[key] = _side_bound(base, side, mean, inflation * radius(bound, n_s, sd, delta, base))
        return cache[key]

    return oracle


def plug_in_means(predictions: np.ndarray, data: Data) -> Callable[[Mean], float]:
    """Point estimates of base variables (for reports)."""

    def means(base: Mean) -> float:
        v, w = base.values(predictions, data)
        return weighted_mean_std(v, w)[1]

    return means
