"""Output warping for the GP (`GPConfig.output_transform`): Yeo-Johnson, and the half-rank and log warps of Vizier.

Every transform takes the standardized losses and returns standardized warped losses in the same
order (the minimizer is unchanged), or its input when it cannot be fitted (fewer than three
values, a non-finite value, constant values, a failed fit). ``"yeo-johnson"`` is scipy's
Yeo-Johnson power transform with its exponent fitted by maximum likelihood, as HEBO does
(Cowen-Rivers et al., 2022). ``"half-rank"`` is described below.

A hyperparameter search mixes a few models that work with many that collapse (an SVC at a bad
``gamma`` scores 0.16 on the digits data where good ones score 0.98-0.99). Standardized, the
collapsed runs set the scale: the differences that matter, between 0.985 and 0.991, shrink to a
few hundredths of a standard deviation, below the GP's fitted noise, and the model can no longer
tell the good configurations apart. Vizier's default GP bandit (Song et al., 2022, "Open Source
Vizier: Distributed Infrastructure and API for Reliable and Flexible Black-box Optimization")
warps its labels in two monotone steps before the fit, which this module follows:

1. **Half rank.** Values on the good side of the median keep their values. Each value on the bad
   side is replaced by its rank's normal quantile, scaled by the spread of the good half: the
   ``j``-th worst of ``D`` distinct bad values goes to ``median - s Phi^-1(1 - (j - 1/2) / (2 D'))``
   with ``s`` the root mean square distance of the good half from the median and ``D'`` the number
   of distinct values below the median (plus a half if the median is itself observed). A collapse
   then sits a few good-half spreads below the median, however far below it was.
2. **Log.** With ``t = (best - v) / range`` in ``[0, 1]``, ``v -> 1/2 - log(1 + t (c - 1)) / log(c)``
   (``c = 1.5``): concave near the best, so differences among the best values are stretched.

Both steps preserve the order of the values, so the minimizer of the warped loss is the minimizer
of the loss; the result is standardized again. The functions work on *losses* (lower is better),
the convention of `GPOptimizer`; Vizier's labels are maximized, so the sign is flipped inside.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm, rankdata

LOG_WARP_OFFSET = 1.5


def half_rank_warp(loss: np.ndarray) -> np.ndarray:
    """Step 1 on losses ``(n,)``: the worse half mapped to normal quantiles of its ranks (order kept)."""
    labels = -np.asarray(loss, dtype=float)
    if labels.size < 2:
        return -labels
    median = float(np.median(labels))
    unique = np.unique(labels)
    below = int(np.searchsorted(unique, median, side="left"))
    if below == 0:
        return -labels
    denominator = below + (0.5 if unique[below] == median else 0.0)
    good = unique[unique >= median]
    spread = math.sqrt(float(np.mean((good - median) ** 2)))
    if spread <= 0.0:  # one distinct value at or above the median: the spread of every value instead
        spread = math.sqrt(float(np.mean((unique - median) ** 2)))
    ranks = rankdata(labels, method="dense")
    out = labels.copy()
    bad = labels < median
    out[bad] = median + spread * norm.ppf(0.5 * (ranks[bad] - 0.5) / denominator)
    return -out


def log_warp(loss: np.ndarray, offset: float = LOG_WARP_OFFSET) -> np.ndarray:
    """Step 2 on losses ``(n,)``: ``1/2 - log1p(t (offset - 1)) / log(offset)`` of the labels, as a loss."""
    labels = -np.asarray(loss, dtype=float)
    span = float(np.ptp(labels)) if labels.size else 0.0
    if span <= 0.0:
        return -labels
    t = (float(np.max(labels)) - labels) / span
    return -(0.5 - np.log1p(t * (offset - 1.0)) / math.log(offset))


OUTPUT_TRANSFORMS = ("standardize", "yeo-johnson", "half-rank")


def _warpable(y: np.ndarray) -> bool:
    return bool(y.size >= 3 and np.isfinite(y).all() and float(np.ptp(y)) > 0.0)


def _restandardized(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``z`` standardized, or ``y`` when ``z`` is not finite or constant."""
    z = np.asarray(z, dtype=float)
    std = float(np.std(z))
    if not np.isfinite(z).all() or std <= 1e-12:
        return y
    return np.asarray((z - z.mean()) / std)


def yeo_johnson(loss: np.ndarray) -> np.ndarray:
    """Standardized Yeo-Johnson transform of standardized losses ``(n,)``; ``loss`` itself when it cannot be fitted."""
    from scipy.stats import yeojohnson

    y = np.asarray(loss, dtype=float)
    if not _warpable(y):
        return loss
    try:
        with np.errstate(all="ignore"):
            z, _ = yeojohnson(y)
    except (ValueError, FloatingPointError, OverflowError):
        return loss
    return _restandardized(z, loss)


def half_rank_log_warp(loss: np.ndarray) -> np.ndarray:
    """Half-rank then log warp of losses ``(n,)``, standardized; ``loss`` itself when it cannot be warped."""
    y = np.asarray(loss, dtype=float)
    if not _warpable(y):
        return loss
    return _restandardized(log_warp(half_rank_warp(y)), loss)


def warp_outputs(loss: np.ndarray, transform: str) -> np.ndarray:
    """The output transform named ``transform`` (one of `OUTPUT_TRANSFORMS`) of standardized losses."""
    if transform == "yeo-johnson":
        return yeo_johnson(loss)
    if transform == "half-rank":
        return half_rank_log_warp(loss)
    return loss
