"""`Estimate`: a point estimate with a lower and an upper confidence bound.

Every guard in guardopt consumes an `Estimate`; the methods differ only in how they produce one
(a concentration bound, a t-interval, a GP posterior, an ensemble). Fields may be floats or
equal-shape arrays (one entry per arm, per candidate, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_choice, check_in_range

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
        m, lo, hi = (as_float_array(getattr(self, f), f, "Estimate") for f in ("mean", "lower", "upper"))
        if not (m.shape == lo.shape == hi.shape):
            raise InputDataError(
                f"The 'mean', 'lower' and 'upper' fields of Estimate must have one shape. Got mean {m.shape}, "
                f"lower {lo.shape}, upper {hi.shape} instead."
            )
        # NaN is allowed (no estimate yet: guards fail closed on it); infinities only where they
        # are a vacuous bound. A mean that overflowed, or an upper bound of -inf, is never a result.
        if np.isinf(m).any():
            raise InputDataError(f"The 'mean' field of Estimate must be finite or NaN. Got {_first(m, np.isinf(m))}.")
        if (lo == np.inf).any():
            raise InputDataError("The 'lower' field of Estimate must be below +inf.")
        if (hi == -np.inf).any():
            raise InputDataError("The 'upper' field of Estimate must be above -inf.")
        tol = 1e-12 * (1 + np.abs(m))
        with np.errstate(invalid="ignore", over="ignore"):  # m + tol may round to inf near 1.8e308: fine
            low_bad, high_bad = lo > m + tol, m > hi + tol
        if low_bad.any():  # NaN compares False, so NaN propagates and guards fail closed on it
            raise InputDataError(f"The 'lower' field of Estimate must be <= mean. Got lower {_first(lo, low_bad)} "
                                 f"above mean {_first(m, low_bad)}.")
        if high_bad.any():
            raise InputDataError(f"The 'upper' field of Estimate must be >= mean. Got upper {_first(hi, high_bad)} "
                                 f"below mean {_first(m, high_bad)}.")
        if not (isinstance(self.confidence, (int, float, np.floating)) and not isinstance(self.confidence, bool)
                and (math.isnan(self.confidence) or 0.0 <= self.confidence <= 1.0)):
            raise InvalidParameterError("confidence", "Estimate", "a probability in [0, 1], or NaN for no "
                                        "coverage claim", self.confidence)
        n = as_float_array(self.n, "n", "Estimate")
        if not (n >= 0).all():
            raise InvalidParameterError("n", "Estimate", "non-negative sample counts", self.n)

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


def _first(values: np.ndarray, where: np.ndarray) -> float:
    return float(values[where].flat[0]) if values.ndim else float(values)


def _out(x: np.ndarray) -> FloatOrArray:
    return float(x) if np.ndim(x) == 0 else x
