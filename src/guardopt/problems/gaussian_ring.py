"""The 8-Gaussian ring: 2-D data, a proxy reward that over-optimizes, a gold reward and mode coverage (numpy only).

A stand-in for a text-to-image task where a reward model (the proxy) can be pushed past the point
where samples stay realistic. The data are an equal mixture of ``n_modes`` isotropic Gaussians of
standard deviation ``mode_std`` whose centres sit evenly on a circle of radius ``radius``::

    p_data(x) = (1/K) Σ_k N(x; c_k, s² I),     c_k = radius · (cos 2πk/K, sin 2πk/K)

* **proxy reward** ``x₁`` (the first coordinate): it rises along the ring towards the mode at
  angle 0 and keeps rising off the ring, without bound, so a policy that optimizes it hard leaves
  the data.
* **gold reward** ``log p_data(x)`` (exact, by log-sum-exp): the sample-quality metric. Moving mass
  between modes along the ring barely changes it; leaving the ring costs quadratically. Proxy and
  gold agree on the data (the proxy can rise at no gold cost) and disagree away from it.
* **diversity**: each sample is assigned to its nearest mode; `mode_shares` gives the histogram,
  `effective_modes` its exponentiated entropy (8 for the data, 1 for a collapse onto one mode) and
  `mode_coverage` the number of modes holding at least ``min_share`` of the samples.

Used by the `grpo-guard` reproduction (Wang et al., "GRPO-Guard: Mitigating Implicit
Over-Optimization in Flow Matching via Regulated Clipping", arXiv 2510.22319).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["GaussianRing"]


_MAX_ABS = 1e100  # squared distances of larger coordinates overflow float64


def _points(x: Any, owner: str) -> np.ndarray:
    try:
        if np.iscomplexobj(x):
            raise InputDataError(f"{owner}: 'x' must hold real numbers. Got complex values.")
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputDataError(f"{owner}: 'x' must be an array of 2-D points, shape (N, 2).") from exc
    if a.ndim != 2 or a.shape[1] != 2:
        raise InputDataError(f"{owner}: 'x' must have shape (N, 2). Got {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise InputDataError(f"{owner}: 'x' holds NaN or infinite values.")
    if a.size and float(np.abs(a).max()) > _MAX_ABS:
        raise InputDataError(f"{owner}: 'x' holds values beyond ±{_MAX_ABS:g}.")
    return a


@dataclass(frozen=True)
class GaussianRing:
    """An equal mixture of ``n_modes`` Gaussians on a circle, with proxy / gold rewards and diversity metrics.

    Attributes:
        n_modes: ``K``, the number of modes.
        radius: Radius of the circle the mode centres sit on.
        mode_std: Standard deviation ``s`` of each (isotropic) mode.
        centers: ``(K, 2)`` mode centres (derived).
    """

    n_modes: int = 8
    radius: float = 2.0
    mode_std: float = 0.15
    centers: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_int(self.n_modes, "n_modes", "GaussianRing", 1)
        check_in_range(self.radius, "radius", "GaussianRing", 0.0, 1e6, high_open=False)
        check_in_range(self.mode_std, "mode_std", "GaussianRing", 0.0, 1e6, high_open=False)
        ang = 2.0 * np.pi * np.arange(self.n_modes) / self.n_modes
        object.__setattr__(self, "centers", self.radius * np.stack([np.cos(ang), np.sin(ang)], axis=1))

    def sample(self, n: int, seed: SeedLike = None) -> np.ndarray:
        """``n`` points from ``p_data``, shape ``(n, 2)`` (modes drawn uniformly)."""
        n = check_int(n, "n", "GaussianRing.sample", 0)
        rng = make_rng(seed)
        k = rng.integers(0, self.n_modes, size=n)
        return np.asarray(self.centers[k] + self.mode_std * rng.standard_normal((n, 2)))

    def log_density(self, x: object) -> np.ndarray:
        """Exact ``log p_data(x)`` for points ``x`` of shape ``(N, 2)``; returns ``(N,)``."""
        a = _points(x, "GaussianRing.log_density")
        d2 = ((a[:, None, :] - self.centers[None, :, :]) ** 2).sum(-1)  # (N, K)
        z = -d2 / (2.0 * self.mode_std**2)
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        return np.asarray(lse - math.log(self.n_modes) - math.log(2.0 * math.pi * self.mode_std**2))

    def proxy_reward(self, x: object) -> np.ndarray:
        """The proxy reward ``x₁`` (unbounded off the ring); ``(N, 2) -> (N,)``."""
        return np.asarray(_points(x, "GaussianRing.proxy_reward")[:, 0].copy())

    def gold_reward(self, x: object) -> np.ndarray:
        """The gold reward ``log p_data(x)``; ``(N, 2) -> (N,)``."""
        return self.log_density(x)

    def nearest_mode(self, x: object) -> np.ndarray:
        """Index of the nearest mode centre of each point; ``(N, 2) -> (N,)`` integers."""
        a = _points(x, "GaussianRing.nearest_mode")
        d2 = ((a[:, None, :] - self.centers[None, :, :]) ** 2).sum(-1)
        return np.asarray(d2.argmin(axis=1))

    def mode_shares(self, x: object) -> np.ndarray:
        """Share of the points nearest to each mode, shape ``(K,)`` (sums to 1; zeros for no points)."""
        k = self.nearest_mode(x)
        if k.size == 0:
            return np.zeros(self.n_modes)
        return np.asarray(np.bincount(k, minlength=self.n_modes) / k.size)

    def effective_modes(self, x: object) -> float:
        """``exp(H)`` of the nearest-mode histogram: ``K`` for the data, 1 for a single mode (NaN for no points)."""
        p = self.mode_shares(x)
        if p.sum() == 0:
            return math.nan
        p = p[p > 0]
        return float(np.exp(-(p * np.log(p)).sum()))

    def mode_coverage(self, x: object, min_share: float = 0.02) -> int:
        """Number of modes holding at least ``min_share`` of the points (nearest-mode assignment)."""
        min_share = check_in_range(min_share, "min_share", "GaussianRing.mode_coverage", 0.0, 1.0,
                                   low_open=False, high_open=False)
        p = self.mode_shares(x)
        if p.sum() == 0:
            return 0
        return int((p >= min_share).sum())

    def off_ring_rate(self, x: object, n_std: float = 3.0) -> float:
        """Share of points farther than ``n_std`` mode standard deviations from every mode centre."""
        a = _points(x, "GaussianRing.off_ring_rate")
        if a.shape[0] == 0:
            return math.nan
        d = np.sqrt(((a[:, None, :] - self.centers[None, :, :]) ** 2).sum(-1)).min(axis=1)
        return float((d > n_std * self.mode_std).mean())
