"""The sub-graph change detector: a Gaussian log-likelihood ratio on one node's recent residuals.

Peng, Zhang & Mitra (arXiv 2408.11240) watch each node ``n`` in each regime ``r`` separately. With
the current weight estimate ``B̂_r``, node ``n``'s exogenous input is recovered on its most recent
rounds in that regime as ``ε̂ = X_n - Σ_p B̂_r[p, n] X_p - ν_n``; under the model it is ``N(0, σ²)``.
The statistic is the average log-likelihood ratio of the Gaussian fitted to ``ε̂`` (mean ``μ̂``,
standard deviation ``σ̂``, maximum likelihood) against the model's ``N(0, σ²)``:

    Λ = log(σ / σ̂) + ½·mean((ε̂ / σ)²) - ½·mean(((ε̂ - μ̂) / σ̂)²)  =  log(σ / σ̂) + mean(ε̂²) / (2σ²) - ½.

``Λ ≥ 0``, and it grows when the column of ``B_r`` that feeds node ``n`` changed (a shifted mean, a
different variance). The paper flags a change when ``Λ > 2`` over a window of 20 samples; only that
node's window is then reset and its sub-graph relearned, which is why detection costs few samples.
"""

from __future__ import annotations

import math

import numpy as np

from guardopt.core.errors import InputDataError, as_float_array, check_in_range

__all__ = ["change_statistic", "change_statistics"]


def change_statistic(residuals: object, noise_std: float = 1.0) -> float:
    """The average Gaussian log-likelihood ratio ``Λ`` of residuals against ``N(0, σ²)``.

    Args:
        residuals: Recovered exogenous inputs (minus their known mean), shape ``(M,)``, ``M ≥ 2``, finite.
        noise_std: The model's ``σ > 0``.

    Returns:
        ``Λ ≥ 0`` (``+inf`` when the residuals are all equal: no Gaussian of positive variance fits).

    Example:
        >>> round(change_statistic([0.0, 2.0]), 6)   # μ̂ = 1, σ̂ = 1: log 1 + (0 + 4) / 4 - 1/2
        0.5
    """
    e = as_float_array(residuals, "residuals", "change_statistic", finite=True).reshape(-1)
    if e.size < 2:
        raise InputDataError(f"The 'residuals' argument of change_statistic needs at least 2 values. "
                             f"Got {e.size} instead.")
    sigma = check_in_range(noise_std, "noise_std", "change_statistic", 0.0, math.inf)
    return float(change_statistics(e[None, :], sigma)[0])


def change_statistics(residuals: np.ndarray, noise_std: float) -> np.ndarray:
    """`change_statistic` of every row of a finite ``(K, M)`` array at once, shape ``(K,)`` (no checks)."""
    # Work in units of σ, each row rescaled by its largest |value|, so huge residuals cannot overflow.
    z = np.asarray(residuals, dtype=float) / noise_std
    scale = np.max(np.abs(z), axis=1)
    safe = np.where(scale > 0, scale, 1.0)
    zs = z / safe[:, None]
    sd = zs.std(axis=1)
    mean_sq = np.mean(zs * zs, axis=1)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        # log(σ/σ̂) + mean(z²)/2 - 1/2 with z = scale·zs and σ̂/σ = scale·sd
        value = -np.log(sd) - np.log(safe) + 0.5 * mean_sq * safe * safe - 0.5
    return np.where((sd > 0) & np.isfinite(value), value, np.inf)
