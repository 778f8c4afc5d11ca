"""Solve a cvxpy problem with a fallback chain of conic solvers.

A conic interior-point solver can stop with ``optimal_inaccurate`` or raise ``SolverError`` on a
badly conditioned instance (Clarabel does so on some ε-level-set programs of one-hot encoded data
with a thousand rows); the next solver in the chain usually succeeds. `solve` tries the solvers in
order and returns the first *accurate* solution; when none is accurate it returns the best
inaccurate one, flagged, so the caller can fail closed instead of trusting it silently.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from typing import Any

from guardopt.core.errors import InvalidParameterError, UnsupportedError

#: The default chain: Clarabel (interior point, accurate), then SCS (first order, robust), then
#: ECOS when it is installed.
DEFAULT_SOLVERS: tuple[str, ...] = ("CLARABEL", "SCS", "ECOS")

_ACCURATE = ("optimal",)
_INACCURATE = ("optimal_inaccurate",)
# Options that make each solver accurate enough for a 1e-4 containment tolerance in probability.
_OPTIONS: dict[str, dict[str, Any]] = {
    "SCS": {"eps_abs": 1e-6, "eps_rel": 1e-6, "max_iters": 20_000},
    "CLARABEL": {},
    "ECOS": {"abstol": 1e-9, "reltol": 1e-9, "feastol": 1e-9},
}


def import_cvxpy() -> Any:
    """cvxpy, imported on first use (it is the optional ``audit`` extra)."""
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UnsupportedError("guardopt.audit's convex programs need cvxpy: `pip install guardopt[audit]`.") from exc
    return cp


@dataclass(frozen=True)
class SolveOutcome:
    """Which solver answered, its status, and whether the answer is accurate."""

    solver: str
    status: str
    accurate: bool
    value: float


def available(solvers: tuple[str, ...]) -> tuple[str, ...]:
    """The solvers of ``solvers`` that are installed, in order.

    Raises:
        InvalidParameterError: a name cvxpy does not know (a typo would otherwise be skipped like a
            solver that is merely not installed).
    """
    cp = import_cvxpy()
    known = set(getattr(cp.settings, "SOLVERS", ())) | set(cp.installed_solvers())
    if isinstance(solvers, str) or not all(isinstance(s, str) for s in solvers):
        raise InvalidParameterError("solvers", "solve", "a sequence of cvxpy solver names", solvers)
    unknown = [s for s in solvers if s not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidParameterError("solvers", "solve", f"cvxpy solver names{hint}", unknown)
    installed = set(cp.installed_solvers())
    return tuple(s for s in solvers if s in installed)


def solve(problem: Any, solvers: tuple[str, ...] = DEFAULT_SOLVERS) -> SolveOutcome:
    """Solve ``problem`` with the first solver of ``solvers`` that reports an accurate optimum.

    Returns the outcome; ``accurate`` is False (and ``status`` says why) when every solver failed
    or was inaccurate, in which case the problem's variables hold the last inaccurate solution, if
    any. Never raises for a solver failure.
    """
    cp = import_cvxpy()
    chain = available(solvers)
    if not chain:
        raise UnsupportedError(f"None of the solvers {list(solvers)} is installed (installed: "
                               f"{cp.installed_solvers()}).")
    best: SolveOutcome | None = None
    for name in chain:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Solution may be inaccurate": handled by the status
                problem.solve(solver=name, **_OPTIONS.get(name, {}))
        except (cp.error.SolverError, ArithmeticError, ValueError):
            best = best or SolveOutcome(name, "solver_error", False, float("nan"))
            continue
        status = str(problem.status)
        value = float(problem.value) if problem.value is not None else float("nan")
        if status in _ACCURATE:
            return SolveOutcome(name, status, True, value)
        if status in _INACCURATE:
            best = SolveOutcome(name, status, False, value)
        else:
            best = best or SolveOutcome(name, status, False, value)
    assert best is not None
    return best
