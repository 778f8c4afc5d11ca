"""Instances for single-pass streaming bandits: the arms' Bernoulli means, in stream order.

Only the means are generated here; the stream that enforces the memory limit and the no-re-read rule
is method-side (`guardopt.bandits.streaming.ArmStream`), because it is the contract the algorithms
are written against.

The two instances follow the experiments of Wang (ICML 2023, "Tight Regret Bounds for Single-pass
Streaming Multi-armed Bandits", arXiv 2306.02208):

* **clear-cut**: ``K - 1`` arms with means from a normal(0.5, 0.1) truncated to [0, 0.8], plus one
  arm with mean 0.82 at a uniformly random position;
* **uniform-means** (the paper's "mix-in"): every mean uniform on [0, 1].
"""

from __future__ import annotations

import numpy as np
from scipy.stats import truncnorm

from guardopt.core.errors import check_choice, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = [
    "INSTANCES",
    "clear_cut_means",
    "make_instance",
    "uniform_means",
]

INSTANCES = ("clear-cut", "uniform-means")


def clear_cut_means(n_arms: int, seed: SeedLike = None, best: float = 0.82) -> np.ndarray:
    """Means of the clear-cut instance: one arm at ``best``, the rest truncated-normal in [0, 0.8].

    Args:
        n_arms: Number of arms ``K`` (at least 2).
        seed: Seed or Generator.
        best: Mean of the single best arm, in ``[0, 1]`` (a Bernoulli mean).

    Returns:
        Array of shape ``(K,)`` in stream order.
    """
    k = check_int(n_arms, "n_arms", "clear_cut_means", low=2)
    best = check_in_range(best, "best", "clear_cut_means", 0.0, 1.0, low_open=False, high_open=False)
    rng = make_rng(seed)
    low, high, mu, sd = 0.0, 0.8, 0.5, 0.1
    rest = truncnorm.rvs((low - mu) / sd, (high - mu) / sd, loc=mu, scale=sd, size=k - 1, random_state=rng)
    pos = int(rng.integers(k))
    return np.insert(np.asarray(rest, dtype=float), pos, best)


def uniform_means(n_arms: int, seed: SeedLike = None) -> np.ndarray:
    """Means uniform on [0, 1] (the paper's "mix-in" instance); shape ``(K,)``."""
    k = check_int(n_arms, "n_arms", "uniform_means", low=2)
    return make_rng(seed).uniform(0.0, 1.0, size=k)


def make_instance(name: str, n_arms: int, seed: SeedLike = None) -> np.ndarray:
    """Means of a named instance (``"clear-cut"`` or ``"uniform-means"``); shape ``(K,)``."""
    check_choice(name, "name", "make_instance", INSTANCES)
    if name == "clear-cut":
        return clear_cut_means(n_arms, seed)
    return uniform_means(n_arms, seed)
