"""`Estimate`: a point estimate with a lower and an upper confidence bound.

Every guard in guardopt consumes an `Estimate`; the methods differ only in how they produce one
(a concentration bound, a t-interval, a GP posterior, an ensemble). Fields may be floats or
equal-shape arrays (one entry per arm, per candidate, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from guardopt.core.errors import InputDataError, check_choice, check_in_range

Side = Literal["two-sided", "upper", "lower"]
FloatOrArray = float | np.ndarray


@dataclass(frozen=True)
class Estimate:
    """A mean with confidence bounds.

    Attributes:
        mean: Point estimate, float or array of shape ``S``.
        lower: Lower confidence bound (``-inf`` or the range's minimum when only an upper bound was
            asked for), same shape.
        upper: Upper confidence bound, same shape.
        confidence: Probability with which ``lower <= true mean <= upper`` holds (for one-sided
            estimates, with which the bound that was asked for holds). NaN when there is no coverage
            claim (an ensemble's spread).
        n: Sample count(s) behind the estimate.
        method: The bound's name ("hoeffding", "student-t", ...).
    """

    mean: FloatOrArray
    lower: FloatOrArray
    upper: FloatOrArray
    confidence: float
    n: int | np.ndarray
    method: str

    def __post_init__(self) -> None:
        m, lo, hi = (np.asarray(v, dtype=float) for v in (self.mean, self.lower, self.upper))
        if not (m.shape == lo.shape == hi.shape):
            raise InputDataError(
                f"Estimate fields must have one shape; got mean {m.shape}, lower {lo.shape}, upper {hi.shape}."
            )
        with np.errstate(invalid="ignore"):
            bad = (lo > m + 1e-12 * (1 + np.abs(m))) | (m > hi + 1e-12 * (1 + np.abs(m)))
        if np.any(bad):  # NaN compares False, so NaN propagates and guards fail closed on it
            raise InputDataError("Estimate needs lower <= mean <= upper.")

    @property
    def radius(self) -> FloatOrArray:
        """Half the interval's width."""
        return _out((np.asarray(self.upper, float) - np.asarray(self.lower, float)) / 2.0)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.mean))


def side_deltas(delta: float, side: str, owner: str) -> tuple[float, float]:
    """Split the miscoverage ``delta`` between the lower and the upper bound.

    Returns:
        ``(delta_lower, delta_upper)``; 0 means that side is not bounded.
    """
    check_in_range(delta, "delta", owner, 0.0, 1.0)
    check_choice(side, "side", owner, ("two-sided", "upper", "lower"))
    if side == "two-sided":
        return delta / 2.0, delta / 2.0
    if side == "upper":
        return 0.0, delta
    return delta, 0.0


def _out(x: np.ndarray) -> FloatOrArray:
    return float(x) if np.ndim(x) == 0 else x
