"""The high-confidence safety test: release a solution only if an upper bound on its cost holds.

With probability at least ``1 - delta`` over the safety data, a solution whose true mean cost exceeds
the threshold is *not* passed (under the bound's assumptions). This is the last step of the
Seldonian framework (Thomas et al., 2019) and of HC-RLHF (Chittepu et al., 2025): a failed test
means "no solution found", never "release anyway".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from guardopt.core.errors import InputDataError, InsufficientDataError, as_float_array, check_choice, check_in_range
from guardopt.uncertainty.bounds import empirical_bernstein, hoeffding, student_t

BoundKind = Literal["ttest", "hoeffding", "bernstein"]


@dataclass(frozen=True)
class Verdict:
    """Outcome of `safety_test`.

    Attributes:
        passed: True when the upper bound on the mean cost is at most the threshold.
        upper_bound: The ``1 - delta`` upper confidence bound on the mean cost (NaN when the data
            made a bound meaningless, e.g. NaN samples; the test then fails closed).
        threshold: The cost threshold.
        n: Number of safety samples.
        bound: Which bound was used.
        delta: The test's miscoverage.
        reason: Why it passed or failed, in words.
    """

    passed: bool
    upper_bound: float
    threshold: float
    n: int
    bound: str
    delta: float
    reason: str

    def __bool__(self) -> bool:
        return self.passed


def safety_test(samples: Any, threshold: float, delta: float, bound: BoundKind = "ttest",
                low: float | None = None, high: float | None = None) -> Verdict:
    """Test ``E[cost] <= threshold`` with a one-sided ``1 - delta`` upper confidence bound.

    Args:
        samples: 1-D per-sample costs of one candidate on held-out safety data.
        threshold: The largest acceptable mean cost.
        delta: Allowed probability of passing an unsafe candidate, in (0, 1).
        bound: ``"ttest"`` (Student-t; approximate, can be optimistic for heavy tails and small n),
            ``"hoeffding"`` or ``"bernstein"`` (exact for costs in the known range ``[low, high]``).
        low, high: The cost's known range (required for Hoeffding and Bernstein).

    Returns:
        A `Verdict`; ``passed=False`` means no safe solution was found. NaN costs fail the test
        (fail closed) rather than being dropped.

    Raises:
        InsufficientDataError: fewer than 2 samples.
        InvalidParameterError: ``delta`` outside (0, 1), unknown bound.
    """
    check_in_range(delta, "delta", "safety_test", 0.0, 1.0)
    check_choice(bound, "bound", "safety_test", ("ttest", "hoeffding", "bernstein"))
    thr = check_in_range(threshold, "threshold", "safety_test")
    x = as_float_array(samples, "samples", "safety_test").ravel()
    n = int(x.size)
    if n < 2:
        raise InsufficientDataError(f"safety_test needs at least 2 samples. Got {n} instead.")
    if not np.isfinite(x).all():
        # -inf costs would drag the bound down to -inf and pass: non-finite data never passes.
        return Verdict(False, float("nan"), thr, n, bound, delta,
                       f"{int((~np.isfinite(x)).sum())} of {n} cost samples are NaN or infinite; failing closed")
    if bound == "ttest":
        ub = float(student_t(x, delta, side="upper").upper)
    else:
        if low is None or high is None:
            raise InputDataError(
                f"The 'low' and 'high' arguments of safety_test must give the cost's known range for the "
                f"{bound!r} bound. Got low={low!r}, high={high!r} instead."
            )
        low = check_in_range(low, "low", "safety_test")
        high = check_in_range(high, "high", "safety_test")
        if (x < low).any() or (x > high).any():
            return Verdict(False, float("nan"), thr, n, bound, delta,
                           f"costs outside the declared range [{low}, {high}]; failing closed")
        make = hoeffding if bound == "hoeffding" else empirical_bernstein
        ub = float(make(x, delta, low, high, side="upper").upper)
    if not np.isfinite(ub):
        return Verdict(False, ub, thr, n, bound, delta,
                       f"the {1 - delta:.0%} upper bound is {ub}, not a finite number; failing closed")
    passed = ub <= thr
    rel = "<=" if passed else ">"
    return Verdict(passed, ub, thr, n, bound, delta,
                   f"{1 - delta:.0%} upper bound {ub:.6g} {rel} threshold {thr:.6g} (n={n}, {bound})")
