"""Which evaluated points the GP's hyperparameters are fitted on once a study grows long.

Fitting MAP hyperparameters costs one Cholesky factorization, ``O(n^3)``, per likelihood evaluation,
and L-BFGS-B needs tens of them; conditioning the posterior on the data needs one. So past a few
hundred trials the fit, not the acquisition, is what a suggestion costs (5 dimensions, one core:
0.09 s per suggestion at n = 100, 2.1 s at n = 500; see ``benchmarks/results/bo-scaling.md``).
Hyperparameters are few (``d + 2``) and are estimated well from a few hundred points, so
`GPOptimizer` fits them on a subset and then conditions the exact posterior on *all* points with
those hyperparameters: the model still interpolates every observation, the prediction at an evaluated
point is unchanged in kind, and only the hyperparameter estimate uses less data ("subset of data" for
the hyperparameters only; Rasmussen & Williams (2006), *Gaussian Processes for Machine Learning*, §8.3.2).

The subset is drawn uniformly at random, so the hyperparameters see the same mix of regions as the
full data. We first kept the best half by loss and drew only the rest at random (to weight the region
an optimizer exploits); on Levy-4 with 150 trials and a 64-point subset (3 seeds) that biased sample
lost to the uniform one on every seed (median log10 regret −0.88 vs −1.44; fitting on every point:
−1.55), so it was dropped. The draw is seeded by the optimizer's seed and the number of
observations, so the same study replays the same suggestions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_subset_indices"]


def fit_subset_indices(n: int, size: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of the points the hyperparameters are fitted on: all of them, or a uniform sample.

    Args:
        n: How many points were evaluated.
        size: The subset's size; None or ``size >= n`` keeps every point.
        rng: Source of the random part of the subset.

    Returns:
        Sorted indices into the ``n`` points, shape ``(min(n, size),)``.
    """
    if size is None or n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))
