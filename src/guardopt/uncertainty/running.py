"""Vectorized running statistics per arm (Welford / Chan), for bandits with many arms."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.uncertainty.bounds import empirical_bernstein_radius, hoeffding_radius, student_t_radius
from guardopt.uncertainty.estimate import Estimate, Side, side_deltas

BoundName = Literal["bernstein", "hoeffding", "t"]


class RunningStats:
    """Count, mean and variance of the values seen by each of ``n_arms`` arms.

    Updates accept a batch of ``(arm, value)`` pairs at once and merge them with Chan et al.'s
    pairwise formula, which is as stable as Welford's one-at-a-time update.

    Args:
        n_arms: Number of arms.
        shape: Optional trailing shape of each value (e.g. ``(n_constraints,)`` to track a reward
            and several constraint residuals per arm together).

    Example:
        >>> rs = RunningStats(3)
        >>> rs.update([0, 0, 2], [1.0, 3.0, 5.0])
        >>> rs.n.tolist(), rs.mean.tolist()
        ([2, 0, 1], [2.0, nan, 5.0])
    """

    def __init__(self, n_arms: int, shape: tuple[int, ...] = ()) -> None:
        self.n_arms = check_int(n_arms, "n_arms", "RunningStats", low=1)
        if not isinstance(shape, tuple) or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool)
                                                   and k >= 0 for k in shape):
            raise InvalidParameterError("shape", "RunningStats", "a tuple of non-negative integers", shape)
        self.shape = tuple(int(k) for k in shape)
        self.n = np.zeros(self.n_arms, dtype=np.int64)
        self._mean = np.zeros((self.n_arms, *self.shape))
        self._m2 = np.zeros((self.n_arms, *self.shape))

    def update(self, arms: Any, values: Any) -> None:
        """Add observations: ``arms`` shape ``(B,)`` ints, ``values`` shape ``(B, *shape)``."""
        a = np.atleast_1d(np.asarray(arms))
        if a.ndim != 1 or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
            raise InputDataError(f"The 'arms' argument of RunningStats.update must be a 1-D array of arm indices. "
                                 f"Got {arms!r}.")
        a = a.astype(np.int64)
        v = as_float_array(values, "values", "RunningStats.update")
        want = (a.shape[0], *self.shape)
        # Only a scalar per arm may come flat; any other reshape would silently mix up entries.
        if v.shape != want and not (self.shape == () and v.ndim <= 1 and v.size == a.shape[0]):
            raise InputDataError(
                f"The 'values' argument of RunningStats.update must have shape {want} (one row per arm index). "
                f"Got shape {v.shape} instead."
            )
        v = v.reshape(want)
        if a.size and (a.min() < 0 or a.max() >= self.n_arms):
            raise InputDataError(f"Arm indices must lie in [0, {self.n_arms}). Got {a.min()}..{a.max()} (the 'arms' "
                                 "argument of RunningStats.update).")
        if not np.isfinite(v).all():
            raise InputDataError("The 'values' argument of RunningStats.update must be finite (no NaN or infinity).")
        cnt = np.bincount(a, minlength=self.n_arms)
        hit = cnt > 0
        extra = (1,) * len(self.shape)
        sums = np.zeros((self.n_arms, *self.shape))
        np.add.at(sums, a, v)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_b = sums / cnt.reshape(-1, *extra)
        dev = v - mean_b[a]
        m2_b = np.zeros((self.n_arms, *self.shape))
        np.add.at(m2_b, a, dev * dev)
        n_a = self.n.reshape(-1, *extra).astype(float)
        n_b = cnt.reshape(-1, *extra).astype(float)
        tot = n_a + n_b
        h = hit.reshape(-1, *extra) & np.ones((1, *self.shape), dtype=bool)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if not np.isfinite(mean_b[hit]).all():
                raise InputDataError("The 'values' argument of RunningStats.update overflows float64 when "
                                     "averaged; rescale them.")
            d = mean_b - self._mean
            new_mean = self._mean + d * n_b / tot
            # Means of opposite signs near the float64 limit: d overflows, the weighted average does not.
            new_mean = np.where(np.isfinite(d), new_mean, self._mean * (n_a / tot) + mean_b * (n_b / tot))
            new_m2 = self._m2 + m2_b + d * d * n_a * n_b / tot
        self._mean = np.where(h, new_mean, self._mean)
        self._m2 = np.where(h, new_m2, self._m2)
        self.n = self.n + cnt

    def _per_arm(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(-1, *(1,) * len(self.shape))

    @property
    def mean(self) -> np.ndarray:
        """Per-arm mean, NaN for arms never pulled; shape ``(n_arms, *shape)``."""
        return np.where(self._per_arm(self.n) > 0, self._mean, np.nan)

    @property
    def var(self) -> np.ndarray:
        """Per-arm unbiased variance, NaN for arms pulled fewer than twice."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self._per_arm(self.n) > 1, self._m2 / self._per_arm(self.n - 1), np.nan)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var)

    def estimate(self, delta: float, bound: BoundName = "bernstein", low: float = -np.inf,
                 high: float = np.inf, side: Side = "two-sided") -> Estimate:
        """Per-arm confidence bounds.

        Arms with too few pulls for the bound get the trivial interval ``[low, high]`` (and a NaN
        mean): an optimistic guard then prefers them and a pessimistic one rejects them.

        Args:
            delta: Miscoverage per arm (apply a union bound over arms and time yourself).
            bound: ``"bernstein"`` (variance-adaptive; needs a range), ``"hoeffding"`` (needs a range)
                or ``"t"``.
            low, high: Known range of a value (required for ``"bernstein"`` and ``"hoeffding"``).
        """
        check_choice(bound, "bound", "RunningStats.estimate", ("bernstein", "hoeffding", "t"))
        d_lo, d_hi = side_deltas(delta, side, "RunningStats.estimate")
        low = check_in_range(low, "low", "RunningStats.estimate", low_open=False)
        high = check_in_range(high, "high", "RunningStats.estimate", high_open=False)
        if bound != "t" and not (np.isfinite(low) and np.isfinite(high) and high > low and np.isfinite(high - low)):
            raise InputDataError(f"The {bound!r} bound needs a finite range low < high (the 'low' and 'high' "
                                 f"arguments of RunningStats.estimate). Got [{low}, {high}].")
        n = self._per_arm(self.n)
        mean = self.mean
        with np.errstate(invalid="ignore"):
            outside = (mean < low) | (mean > high)
        if outside.any():
            # Clipping a bound to a range the data leaves would put it on the wrong side of the mean.
            arm = int(np.argwhere(outside)[0][0])
            raise InputDataError(
                f"The 'low' and 'high' arguments of RunningStats.estimate must bound the values seen: arm {arm} "
                f"has mean {float(mean[outside].flat[0]):g}, outside [{low:g}, {high:g}]."
            )

        def radius(d: float) -> np.ndarray:
            if d == 0:
                return np.zeros_like(mean)
            if bound == "hoeffding":
                return np.asarray(hoeffding_radius(n, d, high - low)) * np.ones_like(mean)
            if bound == "bernstein":
                return np.asarray(empirical_bernstein_radius(n, np.nan_to_num(self.var), d, high - low))
            return np.asarray(student_t_radius(n, np.nan_to_num(self.std), d)) * np.ones_like(mean)

        r_lo, r_hi = radius(d_lo), radius(d_hi)
        with np.errstate(invalid="ignore"):
            lower = np.where(np.isfinite(r_lo), mean - r_lo, low) if d_lo > 0 else np.full_like(mean, low)
            upper = np.where(np.isfinite(r_hi), mean + r_hi, high) if d_hi > 0 else np.full_like(mean, high)
            lower = np.where(np.isnan(mean), low, np.maximum(lower, low))
            upper = np.where(np.isnan(mean), high, np.minimum(upper, high))
            # keep lower <= mean <= upper for arms with a mean (clipping to a range can't break it)
        return Estimate(mean, lower, upper, 1.0 - d_lo - d_hi, self.n.copy(), f"running-{bound}")
