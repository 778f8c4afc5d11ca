"""Statistics the benchmark summaries share: how sure a difference between two tools' runs is."""

from __future__ import annotations

from typing import Any

import numpy as np


def median_difference_interval(ours: Any, theirs: Any, n_boot: int = 20000, seed: int = 0,
                               level: float = 0.95) -> tuple[float, float, float]:
    """Difference of medians ``median(ours) - median(theirs)`` and its percentile-bootstrap interval.

    The two samples are resampled independently: two tools' runs share a seed number, not their
    random numbers, so they are not paired.

    Returns:
        ``(difference, low, high)``.
    """
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or a.size == 0 or b.size == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("median_difference_interval needs two non-empty 1-d samples of finite numbers")
    rng = np.random.default_rng(seed)
    da = np.median(a[rng.integers(0, a.size, (n_boot, a.size))], axis=1)
    db = np.median(b[rng.integers(0, b.size, (n_boot, b.size))], axis=1)
    lo, hi = np.quantile(da - db, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(a) - np.median(b)), float(lo), float(hi)
