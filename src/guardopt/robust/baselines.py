"""Baselines for two-stage robust problems small enough to enumerate the first stage.

- `nominal_solution`: ignore the uncertainty, ``argmin_x c·x + Q(x, ξ = 0)`` (the decision a
  deterministic model would take; Neur2RO's comparison point for what robustness buys).
- `scenario_solution`: robustify against ``N`` sampled scenarios,
  ``argmin_x max_{k ≤ N} c·x + Q(x, ξ_k)``, exact over the samples (a sample-based robust
  counterpart; ``N`` is its one knob).

Both need an `EnumerableProblem` (every decision's value at a scenario), so they are exact over
their own scenario sets; numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, check_int
from guardopt.robust.problem import EnumerableProblem, check_problem, sample_budgeted_box

__all__ = ["BaselineSolution", "nominal_solution", "scenario_solution"]


@dataclass(frozen=True)
class BaselineSolution:
    """A baseline's decision ``x`` (shape ``(n,)``) and its objective over its own scenarios."""

    x: np.ndarray
    objective: float


def _check(problem: EnumerableProblem, owner: str) -> int:
    n = check_problem(problem, owner)[0]
    for attr in ("first_stage_values", "first_stage_decisions"):
        if not hasattr(problem, attr):
            raise InvalidParameterError("problem", owner, f"an EnumerableProblem (it has no {attr!r})",
                                        type(problem).__name__)
    return n


def _values(problem: EnumerableProblem, xis: np.ndarray, rows: int, owner: str) -> np.ndarray:
    """``first_stage_values(xis)`` as a finite ``(s, 2^n)`` array, or `InputDataError` (``argmin`` would
    pick a NaN entry and return its decision as the optimum)."""
    try:
        values = np.asarray(problem.first_stage_values(xis), dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputDataError(f"The 'problem' argument of {owner} returned first-stage values that are not "
                             f"real numbers: {exc}") from exc
    if values.ndim != 2 or values.shape[0] != rows or values.shape[1] == 0 \
            or not np.isfinite(values).all():
        raise InputDataError(f"The 'problem' argument of {owner} must return finite first-stage values of shape "
                             f"({rows}, 2^n). Got shape {values.shape}, or non-finite values, instead.")
    return values


def nominal_solution(problem: EnumerableProblem) -> BaselineSolution:
    """The best decision when ``ξ = 0`` is certain."""
    n = _check(problem, "nominal_solution")
    values = _values(problem, np.zeros(n), 1, "nominal_solution")[0]
    j = int(np.argmin(values))
    return BaselineSolution(np.asarray(problem.first_stage_decisions())[j].copy(), float(values[j]))


def scenario_solution(problem: EnumerableProblem, n_scenarios: int, rng: np.random.Generator) -> BaselineSolution:
    """The best decision against ``ξ = 0`` and ``n_scenarios`` scenarios from `sample_budgeted_box`."""
    n = _check(problem, "scenario_solution")
    n_scenarios = check_int(n_scenarios, "n_scenarios", "scenario_solution", 0, 1_000_000)
    if not isinstance(rng, np.random.Generator):
        raise InvalidParameterError("rng", "scenario_solution", "a numpy.random.Generator", type(rng).__name__)
    xis = np.vstack([np.zeros((1, n)), sample_budgeted_box(n, float(problem.budget), n_scenarios, rng)])
    worst = _values(problem, xis, xis.shape[0], "scenario_solution").max(axis=0)
    j = int(np.argmin(worst))
    return BaselineSolution(np.asarray(problem.first_stage_decisions())[j].copy(), float(worst[j]))
