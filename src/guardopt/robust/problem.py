"""What Neur2RO needs from a two-stage robust problem, and the uncertainty set it handles.

Neur2RO (Dumouchelle et al., ICLR 2024) solves ``min_{x ∈ {0,1}^n} max_{ξ ∈ Ξ} c·x + Q(x, ξ)`` with a
learned ``Q``. This package handles a binary first stage with a linear cost, one uncertain number per
item and the budgeted box ``Ξ = {ξ ∈ [0,1]^n : Σξ ≤ Γ}`` (the knapsack and capital-budgeting
benchmarks' shape). A problem is any object with the attributes of `TwoStageProblem`; the knapsack
instances of `guardopt.problems.knapsack` are one. Baselines that enumerate the first stage also
need `EnumerableProblem`.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_in_range,
    check_int,
    to_float,
)

__all__ = [
    "EnumerableProblem",
    "TwoStageProblem",
    "check_problem",
    "project_budgeted_box",
    "sample_budgeted_box",
]


@runtime_checkable
class TwoStageProblem(Protocol):
    """A two-stage robust problem with a binary first stage and a budgeted-box uncertainty set.

    Attributes:
        n: Number of items (first-stage binaries, uncertain entries).
        first_stage_cost: Linear first-stage cost, shape ``(n,)``.
        features: Per-item features the value network reads, shape ``(n, F)``.
        budget: Γ of the uncertainty set.
        value_scale: Positive scale of the second-stage value (labels are divided by it).
    """

    @property
    def n(self) -> int: ...

    @property
    def first_stage_cost(self) -> np.ndarray: ...

    @property
    def features(self) -> np.ndarray: ...

    @property
    def budget(self) -> float: ...

    @property
    def value_scale(self) -> float: ...

    def second_stage_value(self, x: Any, xi: Any) -> np.ndarray:
        """Exact (or trusted) second-stage values for ``x, ξ`` of shape ``(m, n)``: shape ``(m,)``."""
        ...


@runtime_checkable
class EnumerableProblem(TwoStageProblem, Protocol):
    """A problem small enough to evaluate every first-stage decision at a scenario."""

    def first_stage_decisions(self) -> np.ndarray:
        """All decisions, shape ``(2^n, n)``."""
        ...

    def first_stage_values(self, xi: Any) -> np.ndarray:
        """Total cost of every decision at each scenario: shape ``(s, 2^n)``, finite (the baselines refuse
        NaN and infinite costs)."""
        ...


def check_problem(problem: Any, owner: str) -> tuple[int, np.ndarray, np.ndarray, float, float]:
    """Validate a `TwoStageProblem` and return ``(n, first_stage_cost, features, budget, value_scale)``."""
    for attr in ("n", "first_stage_cost", "features", "budget", "value_scale", "second_stage_value"):
        if not hasattr(problem, attr):
            raise InvalidParameterError("problem", owner, f"a TwoStageProblem (it has no {attr!r})",
                                        type(problem).__name__)
    n = check_int(problem.n, "problem.n", owner, 1)
    cost = as_float_array(problem.first_stage_cost, "problem.first_stage_cost", owner, finite=True)
    feats = as_float_array(problem.features, "problem.features", owner, finite=True)
    if cost.shape != (n,):
        raise InputDataError(f"The 'problem.first_stage_cost' argument of {owner} must have shape ({n},). "
                             f"Got {cost.shape} instead.")
    if feats.ndim != 2 or feats.shape[0] != n:
        raise InputDataError(f"The 'problem.features' argument of {owner} must have shape ({n}, F). "
                             f"Got {feats.shape} instead.")
    # check_in_range refuses strings, None, booleans and NaN with the library's error (float() would
    # raise its own TypeError or ValueError, and take True for 1.0).
    budget = check_in_range(problem.budget, "problem.budget", owner, 0.0, low_open=False)
    scale = check_in_range(problem.value_scale, "problem.value_scale", owner, 0.0)
    return n, cost, feats, budget, scale


#: The most entries (``size * n``) `sample_budgeted_box` draws at once (1 GiB of float64 per array).
MAX_SAMPLE_ENTRIES = 2**27


def _check_budget(budget: Any, owner: str) -> float:
    """Γ as a finite non-negative float, or `InvalidParameterError` naming ``budget``."""
    # to_float: an int beyond float64 (10**400) becomes NaN instead of raising OverflowError.
    gamma = math.nan if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)) \
        else to_float(budget)
    if not math.isfinite(gamma) or gamma < 0:
        raise InvalidParameterError("budget", owner, "a finite non-negative number", budget)
    return gamma


def project_budgeted_box(xi: Any, budget: float) -> np.ndarray:
    """Euclidean projection onto ``{ξ ∈ [0,1]^n : Σξ ≤ Γ}``, row by row.

    The projection is ``clip(v − τ, 0, 1)`` with ``τ = 0`` when the clipped point already meets the
    budget, else the ``τ > 0`` at which the clipped sum equals Γ (found by bisection to 1e-10).

    Args:
        xi: Points, shape ``(n,)`` or ``(m, n)``.
        budget: Γ ≥ 0.

    Returns:
        The projections, same shape as ``xi``.
    """
    owner = "project_budgeted_box"
    v = as_float_array(xi, "xi", owner, finite=True)
    gamma = _check_budget(budget, owner)
    if v.ndim not in (1, 2) or v.shape[-1] == 0:
        raise InputDataError(f"The 'xi' argument of {owner} must have shape (n,) or (m, n) with n >= 1. "
                             f"Got shape {v.shape} instead.")
    flat = np.atleast_2d(v)
    out = np.clip(flat, 0.0, 1.0)
    over = out.sum(axis=1) > gamma
    if np.any(over):
        w = flat[over]
        lo = np.zeros(w.shape[0])
        hi = np.maximum(w.max(axis=1), 0.0)
        for _ in range(200):
            mid = 0.5 * lo + 0.5 * hi  # not 0.5 * (lo + hi): that overflows to inf near the float64 limit
            s = np.clip(w - mid[:, None], 0.0, 1.0).sum(axis=1)
            lo = np.where(s > gamma, mid, lo)
            hi = np.where(s > gamma, hi, mid)
            if np.all(hi - lo <= 1e-10):
                break
        out[over] = np.clip(w - hi[:, None], 0.0, 1.0)
    return out.reshape(v.shape)


def sample_budgeted_box(n: int, budget: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Random scenarios in Ξ: uniform directions rescaled to a uniform total in ``[0, min(Γ, n)]``.

    Neur2RO's data generation draws ``ξ ~ U[0,1]^n`` and rescales it to a random budget; here
    ``u ~ U[0,1]^n`` is rescaled to sum to ``s ~ U(0, min(Γ, n))`` and clipped to ``[0, 1]``
    (clipping only lowers the sum). Shape ``(size, n)``; ``size * n`` is at most `MAX_SAMPLE_ENTRIES`.
    """
    owner = "sample_budgeted_box"
    # Bounded so that numpy can allocate the (size, n) draws (a huge int would raise numpy's own
    # OverflowError, ValueError or MemoryError).
    n = check_int(n, "n", owner, 1, MAX_SAMPLE_ENTRIES)
    size = check_int(size, "size", owner, 0, MAX_SAMPLE_ENTRIES // n)
    gamma = _check_budget(budget, owner)
    if not isinstance(rng, np.random.Generator):
        raise InvalidParameterError("rng", owner, "a numpy.random.Generator", type(rng).__name__)
    u = rng.uniform(0.0, 1.0, size=(size, n)) + 1e-12
    total = rng.uniform(0.0, min(gamma, float(n)), size=(size, 1))
    return np.clip(u / u.sum(axis=1, keepdims=True) * total, 0.0, 1.0)
