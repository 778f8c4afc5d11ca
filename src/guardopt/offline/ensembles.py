"""Combine an ensemble's scores: mean, worst case (WCO) or uncertainty-weighted (UWO).

Coste et al. (2024), "Reward Model Ensembles Help Mitigate Overoptimization" (ICLR 2024,
arXiv 2310.02743) score each candidate with ``k`` reward models that differ only in their seed and
optimize one of

- ``mean``: the ensemble mean;
- ``wco``: ``min_i r_i`` (worst-case optimization);
- ``uwo``: ``mean_i r_i - lam * Var_i r_i`` with the population variance (uncertainty-weighted
  optimization; the paper uses ``lam = 0.5`` for best-of-n).

The numpy combiners delegate to `guardopt.guards` (one definition of each guard in the library).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_choice, check_int
from guardopt.guards import uncertainty_weighted, worst_case

Combiner = Literal["mean", "wco", "uwo", "single"]
COMBINERS: tuple[str, ...] = ("mean", "wco", "uwo", "single")


def combine(scores: np.ndarray, combiner: str = "wco", lam: float = 0.5, axis: int = 0,
            member: int = 0) -> np.ndarray:
    """Combine member scores into one score per candidate.

    Args:
        scores: Member scores; ``axis`` indexes members, e.g. shape ``(k, candidates)``.
        combiner: ``"mean"``, ``"wco"``, ``"uwo"`` or ``"single"`` (member ``member`` alone).
        lam: UWO's variance weight (ignored by the others).
        axis: The members' axis.
        member: Which member ``"single"`` uses.

    Returns:
        The combined scores, the input's shape without ``axis``. NaN members give NaN (which a
        maximizing selection must treat as the worst score).
    """
    check_choice(combiner, "combiner", "combine", COMBINERS)
    s = as_float_array(scores, "scores", "combine")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -s.ndim <= axis < max(s.ndim, 1):
        raise InvalidParameterError("axis", "combine", f"an axis of the {s.ndim}-D scores", axis)
    if s.ndim == 0 or s.shape[axis] == 0:
        raise InputDataError(f"combine needs at least one member along axis {axis}; got shape {s.shape}.")
    if combiner == "mean":
        return np.asarray(s.mean(axis=axis))
    if combiner == "wco":
        return np.asarray(worst_case(s, axis=axis))
    if combiner == "uwo":
        return np.asarray(uncertainty_weighted(s, lam, axis=axis))
    # An out-of-range, negative, fractional or boolean member would silently pick another member.
    k = check_int(member, "member", "combine", low=0, high=s.shape[axis] - 1)
    return np.asarray(np.take(s, k, axis=axis))
