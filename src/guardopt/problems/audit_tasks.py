"""Synthetic data sets of the audit reproductions (predictive multiplicity, plural fairness metrics).

* `multiplicity_synthetic`: a two-group logistic data set with a minority group whose decision rule
  differs and a few outliers far from the bulk with random labels, the structure that the
  predictive-multiplicity paper (Watson-Daniels et al., 2023) names as a driver of multiplicity.
* `two_group_base_rates`: two groups whose base rates differ (0.3 vs 0.5 by default) and whose
  features carry the same class-conditional signal, the setting of the impossibility results for
  calibration with equal error rates (Kleinberg et al., 2017; Pleiss et al., 2017).

Both return a `guardopt.problems.fairness.TabularData` (``X``, ``y``, ``group``, names) and take an
explicit seed.
"""

from __future__ import annotations

import numpy as np

from guardopt.core.errors import InvalidParameterError, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng
from guardopt.problems.fairness import TabularData

__all__ = ["multiplicity_synthetic", "two_group_base_rates"]


def multiplicity_synthetic(n: int = 400, d: int = 6, minority: float = 0.2, outliers: float = 0.05,
                           seed: SeedLike = None) -> TabularData:
    """A logistic data set with a minority group and outliers.

    Majority rows: ``x ~ N(0, I_d)``, ``P(y=1|x) = σ(x·β)`` with ``β = (1.5, -1, 0.5, 0, ..., 0)``.
    Minority rows (share ``minority``): features shifted by +1 in the first two coordinates and labels
    from a different rule ``σ(x·β')`` with ``β' = (-0.5, 1, 0.5, 0, ...)``. Outlier rows (share
    ``outliers``): features scaled by 4, labels fair coin flips. ``group`` is 1 for the minority.

    Returns:
        `TabularData` with ``X (n, d)``, ``y (n,)``, ``group (n,)``.
    """
    owner = "multiplicity_synthetic"
    n = check_int(n, "n", owner, 10, 10**7)
    d = check_int(d, "d", owner, 3, 1000)
    check_in_range(minority, "minority", owner, 0.0, 1.0)
    check_in_range(outliers, "outliers", owner, 0.0, 1.0, low_open=False)
    rng = make_rng(seed, owner)
    group = (rng.random(n) < minority).astype(int)
    X = rng.standard_normal((n, d))
    X[group == 1, :2] += 1.0
    beta = np.zeros(d)
    beta[:3] = (1.5, -1.0, 0.5)
    beta_min = np.zeros(d)
    beta_min[:3] = (-0.5, 1.0, 0.5)
    logits = np.where(group == 1, X @ beta_min, X @ beta)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logits))).astype(float)
    out = rng.random(n) < outliers
    X[out] *= 4.0
    y[out] = (rng.random(int(out.sum())) < 0.5).astype(float)
    return TabularData(X, y, group, tuple(f"x{j}" for j in range(d)))


def two_group_base_rates(n: int = 4000, base_rates: tuple[float, float] = (0.3, 0.5), share: float = 0.5,
                         separation: float = 1.0, d: int = 3, seed: SeedLike = None) -> TabularData:
    """Two groups with base rates ``base_rates`` and the same class-conditional features.

    ``group ~ Bernoulli(share)``; ``y | group=g ~ Bernoulli(base_rates[g])``; ``x | y ~ N(separation ·
    (2y - 1) / 2 · 1_d / √d, I_d)``, so the Bayes score differs between groups only through the base
    rate, and no classifier is perfect.

    Returns:
        `TabularData` with ``X (n, d)``, ``y (n,)``, ``group (n,)``.
    """
    owner = "two_group_base_rates"
    n = check_int(n, "n", owner, 10, 10**7)
    d = check_int(d, "d", owner, 1, 1000)
    if not isinstance(base_rates, tuple) or len(base_rates) != 2:
        raise InvalidParameterError("base_rates", owner, "a pair of probabilities", base_rates)
    for r in base_rates:
        check_in_range(r, "base_rates", owner, 0.0, 1.0)
    check_in_range(share, "share", owner, 0.0, 1.0)
    check_in_range(separation, "separation", owner, 0.0, 100.0, low_open=False)
    rng = make_rng(seed, owner)
    group = (rng.random(n) < share).astype(int)
    y = (rng.random(n) < np.where(group == 1, base_rates[1], base_rates[0])).astype(float)
    X = rng.standard_normal((n, d)) + (separation * (2 * y - 1) / 2 / np.sqrt(d))[:, None]
    return TabularData(X, y, group, tuple(f"x{j}" for j in range(d)))
