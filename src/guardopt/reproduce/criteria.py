"""Checks that point the strict way, shared by every reproduction's verdict.

The rules in ``docs/reproduce.md`` ask each verdict to compare in the direction that makes a pass
hard to get by luck:

- a rate that must stay *below* a limit passes on its one-sided Clopper–Pearson **upper** bound
  (`rate_at_most`), and a rate that must stay *above* one on its **lower** bound (`rate_above`);
- a rate over zero trials, or a bound that never certified anything, is VACUOUS, not a pass;
- a comparison with a baseline is made on **paired** differences over shared seeds, with a
  confidence interval, and passes only when the whole interval is on the claimed side of a declared
  margin (`paired_gain`), so the report says how much better or worse, not only which way;
- a claim that cannot be tested at this scale stays in the table as INCONCLUSIVE (`inconclusive`).

Each helper returns an `Evidence` whose ``detail`` shows the numbers behind it (counts, intervals).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from guardopt.core.errors import InvalidParameterError
from guardopt.reproduce.spec import Evidence, Outcome
from guardopt.uncertainty import clopper_pearson

__all__ = [
    "CONFIDENCE",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "equal_budget",
    "inconclusive",
    "paired_gain",
    "rate_above",
    "rate_at_most",
    "vacuous",
]

CONFIDENCE = 0.95


def _is_whole(x: object) -> bool:
    # A real, finite, whole number (not a bool): NaN, inf, None and strings are refused, not crashed on.
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        return False
    return math.isfinite(x) and int(x) == x


def _check_counts(k: int, n: int, owner: str) -> None:
    if not _is_whole(n) or n < 0:
        raise InvalidParameterError("n", owner, "a non-negative whole number", n)
    if not _is_whole(k) or not 0 <= k <= n:
        raise InvalidParameterError("k", owner, f"a whole number in [0, n={n}]", k)


def _check_finite(value: float, name: str, owner: str) -> None:
    # An infinite limit or margin would make any rate or gain pass; a NaN one would decide nothing.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise InvalidParameterError(name, owner, "a finite number", value)


def _check_confidence(confidence: float, owner: str) -> None:
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise InvalidParameterError("confidence", owner, "in (0, 1)", confidence)


def clopper_pearson_upper(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper–Pearson upper bound on a rate from ``k`` events in ``n`` trials (1.0 when n = 0).

    Example:
        >>> round(clopper_pearson_upper(0, 10), 4)  # 1 - 0.05 ** (1 / 10)
        0.2589
    """
    _check_counts(k, n, "clopper_pearson_upper")
    _check_confidence(confidence, "clopper_pearson_upper")
    if n == 0:  # no trials: nothing is known (the library's bound needs n >= 1)
        return 1.0
    return float(clopper_pearson(k, n, 1.0 - confidence, side="upper").upper)


def clopper_pearson_lower(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper–Pearson lower bound on a rate from ``k`` events in ``n`` trials (0.0 when k = 0).

    Example:
        >>> round(clopper_pearson_lower(10, 10), 4)  # 0.05 ** (1 / 10)
        0.7411
    """
    _check_counts(k, n, "clopper_pearson_lower")
    _check_confidence(confidence, "clopper_pearson_lower")
    if n == 0:
        return 0.0
    return float(clopper_pearson(k, n, 1.0 - confidence, side="lower").lower)


def rate_at_most(check: str, k: int, n: int, limit: float, tolerance: float = 0.0,
                 confidence: float = CONFIDENCE) -> Evidence:
    """Passes when the upper confidence bound of the rate ``k / n`` is at most ``limit + tolerance``.

    ``n == 0`` (nothing was returned, so nothing could be unsafe) is VACUOUS. The value shown is the
    upper bound; ``detail`` gives the counts and the point rate.
    """
    _check_counts(k, n, "rate_at_most")
    _check_finite(limit, "limit", "rate_at_most")
    _check_finite(tolerance, "tolerance", "rate_at_most")
    upper = clopper_pearson_upper(k, n, confidence)
    threshold = limit + tolerance
    detail = f"{k}/{n} = {k / n:.4g}; {confidence:.0%} upper bound" if n else "0 trials"
    if n == 0:
        return Evidence(check, upper, threshold, False, Outcome.VACUOUS, detail)
    return Evidence(check, upper, threshold, upper <= threshold, detail=detail)


def rate_above(check: str, k: int, n: int, limit: float, confidence: float = CONFIDENCE) -> Evidence:
    """Passes when the lower confidence bound of the rate ``k / n`` is above ``limit`` (INCONCLUSIVE at n = 0)."""
    _check_counts(k, n, "rate_above")
    _check_finite(limit, "limit", "rate_above")
    lower = clopper_pearson_lower(k, n, confidence)
    detail = f"{k}/{n} = {k / n:.4g}; {confidence:.0%} lower bound" if n else "0 trials"
    if n == 0:
        return Evidence(check, lower, limit, False, Outcome.INCONCLUSIVE, detail)
    return Evidence(check, lower, limit, lower > limit, detail=detail)


def paired_gain(check: str, ours: Sequence[float] | np.ndarray, baseline: Sequence[float] | np.ndarray,
                margin: float = 0.0, higher_is_better: bool = True,
                confidence: float = CONFIDENCE) -> Evidence:
    """Passes when the one-sided lower confidence bound of the paired gain is above ``margin``.

    The gain per pair is ``ours - baseline`` (``baseline - ours`` when lower is better), so a
    positive gain always favours ours. Pairs are matched by position (the same seed or task); pairs
    with a NaN on either side are dropped, an infinite gain against ours FAILS, another non-finite
    gain (+inf, inf - inf) is INCONCLUSIVE. The value is the lower bound of a Student-t interval on the
    mean gain; ``detail`` gives the mean, the two-sided interval and the pair count. Fewer than two
    pairs is INCONCLUSIVE. A negative ``margin`` declares a non-inferiority tolerance.
    """
    _check_confidence(confidence, "paired_gain")
    _check_finite(margin, "margin", "paired_gain")
    a = np.asarray(ours, dtype=float).ravel()
    b = np.asarray(baseline, dtype=float).ravel()
    if a.shape != b.shape:
        raise InvalidParameterError("baseline", "paired_gain", f"as many values as ours ({a.size})", b.size)
    keep = ~(np.isnan(a) | np.isnan(b))  # only a NaN (a value not recorded) drops its pair
    with np.errstate(invalid="ignore"):
        gain = (a[keep] - b[keep]) if higher_is_better else (b[keep] - a[keep])
    n = int(gain.size)
    if not np.isfinite(gain).all():
        # An infinite value (a diverged run) is not dropped: an infinitely worse pair fails the check,
        # and an infinite (or inf - inf) gain leaves no interval to compute.
        if np.any(gain == -np.inf):
            return Evidence(check, -math.inf, margin, False,
                            detail=f"a pair with an infinite loss for ours, {n} pairs")
        return Evidence(check, math.nan, margin, False, Outcome.INCONCLUSIVE,
                        f"a non-finite gain, {n} pairs: no interval")
    if n < 2:
        return Evidence(check, math.nan if n == 0 else float(gain[0]), margin, False, Outcome.INCONCLUSIVE,
                        f"{n} pair(s): too few for an interval")
    mean = float(gain.mean())
    se = float(gain.std(ddof=1) / math.sqrt(n))
    t1 = float(stats.t.ppf(confidence, n - 1))
    t2 = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    lower = mean - t1 * se
    detail = f"mean gain {mean:.4g}, {confidence:.0%} CI [{mean - t2 * se:.4g}, {mean + t2 * se:.4g}], {n} pairs"
    return Evidence(check, lower, margin, lower > margin, detail=detail)


def vacuous(check: str, why: str, value: float = math.nan, threshold: float | None = None) -> Evidence:
    """A check that would pass only because there was nothing to check; never a pass."""
    return Evidence(check, value, threshold, False, Outcome.VACUOUS, why)


def inconclusive(check: str, why: str, value: float = math.nan, threshold: float | None = None) -> Evidence:
    """A claim of the paper that cannot be tested at this scale: kept in the table, never a pass."""
    return Evidence(check, value, threshold, False, Outcome.INCONCLUSIVE, why)


def equal_budget(check: str, counts: Sequence[float] | np.ndarray) -> Evidence:
    """Every arm and seed spent the same budget (``counts``: completions, episodes, evaluations).

    Passes only when max / min of the counts is exactly 1; INCONCLUSIVE when nothing was recorded,
    when a count is missing (NaN: a cell that ran but logged no budget is never left out of the
    comparison) or when a count is ≤ 0. Pass only the cells that ran the budgeted work. An infinite
    count (an unbounded budget) is kept: the ratio is infinite and the line FAILS.
    """
    g = np.asarray(counts, dtype=float).ravel()
    if g.size and np.isnan(g).any():
        return inconclusive(check, f"{int(np.isnan(g).sum())} of {g.size} cells recorded no budget")
    if g.size == 0 or g.min() <= 0:
        return inconclusive(check, "no generations recorded")
    if not np.isfinite(g).all():
        return Evidence(check, math.inf, 1.0, False, detail=f"min {g.min():.0f}, max inf")
    ratio = float(g.max() / g.min())
    return Evidence(check, ratio, 1.0, ratio <= 1.0, detail=f"min {g.min():.0f}, max {g.max():.0f}")
