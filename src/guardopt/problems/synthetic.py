"""Classic synthetic test functions for black-box optimization, with their known optima.

Every function is written in minimization form and evaluates a batch of points at once:
``f(X)`` takes an array of shape ``(..., d)`` in the function's own domain and returns shape
``(...,)``. `SyntheticFunction.space` gives the matching guardopt `Space` (parameters ``x0 .. x{d-1}``)
and `SyntheticFunction.objective` evaluates a parameter dict, so a function plugs straight into a
`Study`. Only problems live here; no method code.

References: Branin and Hartmann6 as in Dixon & Szegő (1978); Ackley, Levy and Rosenbrock as in the
Virtual Library of Simulation Experiments (Surjanovic & Bingham); the multi-fidelity Branin as in
BoTorch's ``AugmentedBranin``; the constrained Branin (a disc that excludes the three global minima)
is ours, its optimum computed once by dense search plus SLSQP and stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_in_range, check_int
from guardopt.core.space import Real, Space


def _branin_core(x1: np.ndarray, x2: np.ndarray, s: np.ndarray | float = 1.0) -> np.ndarray:
    # Fidelity s in [0, 1] perturbs the quadratic coefficient; s = 1 is the standard Branin.
    b = 5.1 / (4 * math.pi**2) - 0.1 * (1.0 - np.asarray(s))
    c, r, t = 5 / math.pi, 6.0, 1 / (8 * math.pi)
    return np.asarray((x2 - b * x1**2 + c * x1 - r) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)


def branin(x: np.ndarray) -> np.ndarray:
    """Branin-Hoo on ``[-5, 10] x [0, 15]``; ``f* = 0.397887`` at three points."""
    x = np.asarray(x, dtype=float)
    return _branin_core(x[..., 0], x[..., 1])


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(x: np.ndarray) -> np.ndarray:
    """Hartmann 6-d on ``[0, 1]^6``; ``f* = -3.32237``."""
    x = np.asarray(x, dtype=float)
    inner = np.sum(_H6_A * (x[..., None, :] - _H6_P) ** 2, axis=-1)
    return np.asarray(-np.sum(_H6_ALPHA * np.exp(-inner), axis=-1))


def ackley(x: np.ndarray) -> np.ndarray:
    """Ackley (a = 20, b = 0.2, c = 2π) on ``[-32.768, 32.768]^d``; ``f* = 0`` at the origin."""
    x = np.asarray(x, dtype=float)
    d = x.shape[-1]
    s1 = np.sqrt(np.sum(x**2, axis=-1) / d)
    s2 = np.sum(np.cos(2 * math.pi * x), axis=-1) / d
    return np.asarray(-20 * np.exp(-0.2 * s1) - np.exp(s2) + 20 + math.e)


def levy(x: np.ndarray) -> np.ndarray:
    """Levy on ``[-10, 10]^d``; ``f* = 0`` at ``(1, ..., 1)``."""
    x = np.asarray(x, dtype=float)
    w = 1 + (x - 1) / 4
    head = np.sin(math.pi * w[..., 0]) ** 2
    mid = np.sum((w[..., :-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[..., :-1] + 1) ** 2), axis=-1)
    tail = (w[..., -1] - 1) ** 2 * (1 + np.sin(2 * math.pi * w[..., -1]) ** 2)
    return np.asarray(head + mid + tail)


def rosenbrock(x: np.ndarray) -> np.ndarray:
    """Rosenbrock on ``[-5, 10]^d``; ``f* = 0`` at ``(1, ..., 1)``."""
    x = np.asarray(x, dtype=float)
    return np.asarray(np.sum(100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (x[..., :-1] - 1) ** 2, axis=-1))


@dataclass(frozen=True)
class SyntheticFunction:
    """A test function with its domain and known optimum (minimization).

    Attributes:
        name: Short name, e.g. ``"hartmann6"``.
        fn: ``X (..., d) -> f (...)`` in the function's own domain.
        bounds: Array-like of shape ``(d, 2)``: lower and upper bound of each coordinate.
        optimal_value: The known global minimum ``f*``.
        optimizer: One global minimizer, shape ``(d,)``.
        noise_std: Standard deviation of the additive Gaussian observation noise (0: exact).
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    bounds: tuple[tuple[float, float], ...]
    optimal_value: float
    optimizer: tuple[float, ...]
    noise_std: float = 0.0

    @property
    def dim(self) -> int:
        return len(self.bounds)

    def space(self) -> Space:
        """The search space: one `Real` per coordinate, named ``x0 .. x{d-1}``."""
        return Space({f"x{i}": Real(lo, hi) for i, (lo, hi) in enumerate(self.bounds)})

    def to_array(self, params: Mapping[str, Any]) -> np.ndarray:
        """A parameter dict of `space` as an array of shape ``(d,)``."""
        return np.array([float(params[f"x{i}"]) for i in range(self.dim)])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The exact (noise-free) value at ``x`` of shape ``(..., d)``.

        Raises:
            InputDataError: ``x`` is not finite or its last axis is not of length ``d``.
        """
        a = as_float_array(x, "x", self.name, finite=True)
        if a.ndim == 0 or a.shape[-1] != self.dim:
            raise InputDataError(f"The 'x' argument of {self.name} must have shape (..., {self.dim}). "
                                 f"Got shape {a.shape} instead.")
        return self.fn(a)

    def regret(self, params: Mapping[str, Any]) -> float:
        """Simple regret ``f(x) - f*`` of a parameter dict (exact value, never the noisy one)."""
        return float(self(self.to_array(params))) - self.optimal_value

    def objective(self, rng: np.random.Generator | None = None) -> Callable[[Mapping[str, Any]], float]:
        """An objective ``params -> float`` for a `Study` (noisy when ``noise_std > 0``; needs ``rng``)."""
        if self.noise_std > 0 and rng is None:
            raise ValueError(f"{self.name} is noisy: pass a numpy Generator for its noise.")

        def evaluate(params: Mapping[str, Any]) -> float:
            value = float(self(self.to_array(params)))
            if self.noise_std > 0:
                assert rng is not None
                value += float(rng.normal(0.0, self.noise_std))
            return value

        return evaluate

    def with_noise(self, noise_std: float) -> SyntheticFunction:
        """The same function observed with additive Gaussian noise of standard deviation ``noise_std``."""
        noise_std = check_in_range(noise_std, "noise_std", f"{self.name}.with_noise", 0.0, low_open=False)
        return SyntheticFunction(f"{self.name}-noisy{noise_std:g}", self.fn, self.bounds, self.optimal_value,
                                 self.optimizer, noise_std)


BRANIN = SyntheticFunction("branin", branin, ((-5.0, 10.0), (0.0, 15.0)), 0.397887, (math.pi, 2.275))
HARTMANN6 = SyntheticFunction(
    "hartmann6", hartmann6, ((0.0, 1.0),) * 6, -3.32237,
    (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573),
)


def make_ackley(d: int = 5) -> SyntheticFunction:
    """Ackley in ``d`` dimensions."""
    d = check_int(d, "d", "make_ackley", low=1)
    return SyntheticFunction(f"ackley{d}", ackley, ((-32.768, 32.768),) * d, 0.0, (0.0,) * d)


def make_levy(d: int = 4) -> SyntheticFunction:
    """Levy in ``d`` dimensions."""
    d = check_int(d, "d", "make_levy", low=1)
    return SyntheticFunction(f"levy{d}", levy, ((-10.0, 10.0),) * d, 0.0, (1.0,) * d)


def make_rosenbrock(d: int = 4) -> SyntheticFunction:
    """Rosenbrock in ``d`` dimensions."""
    d = check_int(d, "d", "make_rosenbrock", low=2)
    return SyntheticFunction(f"rosenbrock{d}", rosenbrock, ((-5.0, 10.0),) * d, 0.0, (1.0,) * d)


# -- constrained ------------------------------------------------------------------------------------


def disc_constraint(x: np.ndarray) -> np.ndarray:
    """The constraint value ``(x1 - 2.5)^2 + (x2 - 7.5)^2``; feasible when ``<= 20``."""
    x = np.asarray(x, dtype=float)
    return np.asarray((x[..., 0] - 2.5) ** 2 + (x[..., 1] - 7.5) ** 2)


@dataclass(frozen=True)
class ConstrainedFunction:
    """A test function with outcome constraints ``g_j(x) <= threshold_j`` and its constrained optimum.

    Attributes:
        base: The objective (its ``optimal_value`` is the *unconstrained* one).
        constraints: ``name -> (g, threshold)`` with ``g: X (..., d) -> (...)``; feasible when ``g <= threshold``.
        optimal_value: The best objective value over the feasible set.
        optimizer: One constrained minimizer.
    """

    base: SyntheticFunction
    constraints: Mapping[str, tuple[Callable[[np.ndarray], np.ndarray], float]]
    optimal_value: float
    optimizer: tuple[float, ...]
    name: str = "constrained"

    def space(self) -> Space:
        return self.base.space()

    def study_constraints(self) -> dict[str, tuple[Literal["<=", ">="], float]]:
        """The constraints in the form `Study(constraints=...)` takes."""
        return {name: ("<=", thr) for name, (_, thr) in self.constraints.items()}

    def is_feasible(self, params: Mapping[str, Any]) -> bool:
        x = self.base.to_array(params)
        return all(float(g(x)) <= thr for g, thr in self.constraints.values())

    def regret(self, params: Mapping[str, Any]) -> float:
        """``f(x) - f*_constrained`` (can be negative for an infeasible point)."""
        return float(self.base(self.base.to_array(params))) - self.optimal_value

    def objective(self, rng: np.random.Generator | None = None) -> Callable[[Mapping[str, Any]], dict[str, float]]:
        """An objective returning ``{"value": f, name: g_j}`` for a `Study` with these constraints."""
        f = self.base.objective(rng)

        def evaluate(params: Mapping[str, Any]) -> dict[str, float]:
            x = self.base.to_array(params)
            out = {"value": f(params)}
            out.update({name: float(g(x)) for name, (g, _) in self.constraints.items()})
            return out

        return evaluate


CONSTRAINED_BRANIN = ConstrainedFunction(
    BRANIN,
    {"disc": (disc_constraint, 20.0)},
    # Dense 3001^2 grid then SLSQP on the active disc; every unconstrained minimizer is infeasible.
    optimal_value=0.9394760,
    optimizer=(3.0101968, 3.0570619),
    name="constrained-branin",
)


# -- multi-fidelity ---------------------------------------------------------------------------------


def augmented_branin(x: np.ndarray) -> np.ndarray:
    """Branin with a fidelity column: ``x[..., 2] = s`` in ``[0, 1]``; ``s = 1`` is Branin."""
    x = np.asarray(x, dtype=float)
    return _branin_core(x[..., 0], x[..., 1], x[..., 2])


@dataclass(frozen=True)
class MultiFidelityFunction:
    """A function with a fidelity parameter ``s`` and a known evaluation cost ``cost(s)``.

    The space is the base function's plus a `Real` named ``fidelity`` in ``[0, 1]``; ``s = 1`` is the
    target fidelity, the one whose regret counts. Cheaper fidelities are biased versions of it.
    """

    base: SyntheticFunction
    fn: Callable[[np.ndarray], np.ndarray]
    fixed_cost: float = 0.1
    name: str = "mf-branin"
    fidelity_name: str = "fidelity"
    target_fidelity: float = 1.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def space(self) -> Space:
        params = dict(self.base.space().params)
        params[self.fidelity_name] = Real(0.0, 1.0)
        return Space(params)

    def cost(self, s: float) -> float:
        """Cost of one evaluation at fidelity ``s``: ``fixed_cost + (1 - fixed_cost) * s`` (1 at the target)."""
        s = check_in_range(s, "s", f"{self.name}.cost", 0.0, 1.0, low_open=False, high_open=False)
        return self.fixed_cost + (1.0 - self.fixed_cost) * s

    def objective(self) -> Callable[[Mapping[str, Any]], float]:
        def evaluate(params: Mapping[str, Any]) -> float:
            x = np.append(self.base.to_array(params), float(params[self.fidelity_name]))
            return float(self.fn(x))

        return evaluate

    def regret(self, params: Mapping[str, Any]) -> float:
        """Regret at the target fidelity of the design part of ``params``."""
        return self.base.regret(params)


MF_BRANIN = MultiFidelityFunction(BRANIN, augmented_branin)


def get_function(name: str) -> SyntheticFunction:
    """A function by name: ``branin``, ``hartmann6``, ``ackley5``, ``levy4``, ``rosenbrock4``, ... and
    their noisy variants ``<name>-noisy<sigma>`` (e.g. ``hartmann6-noisy0.1``)."""
    base, _, noise = name.partition("-noisy")
    table: dict[str, SyntheticFunction] = {"branin": BRANIN, "hartmann6": HARTMANN6}
    for prefix, maker in (("ackley", make_ackley), ("levy", make_levy), ("rosenbrock", make_rosenbrock)):
        if base.startswith(prefix) and base[len(prefix):].isdigit():
            table[base] = maker(int(base[len(prefix):]))
    table.update(_EXTRA_FUNCTIONS)
    if base not in table:
        raise InvalidParameterError("name", "get_function", f"one of {sorted(table)} (or ackley<d>, levy<d>, "
                                    "rosenbrock<d>), optionally with a suffix -noisy<sigma>", name)
    fn = table[base]
    if not noise:
        return fn
    try:
        sigma = float(noise)
    except ValueError as exc:
        raise InvalidParameterError("name", "get_function", "a function name with a suffix -noisy<sigma>, "
                                    "sigma a non-negative number", name) from exc
    return fn.with_noise(sigma)


# -- Michalewicz, Shekel and a second constrained problem (the BoTorch side-by-side benchmark) ------


def michalewicz(x: np.ndarray, m: int = 10) -> np.ndarray:
    """Michalewicz (steepness ``m = 10``) on ``[0, pi]^d``: ``-sum_i sin(x_i) sin(i x_i^2 / pi)^(2m)``."""
    x = np.asarray(x, dtype=float)
    i = np.arange(1, x.shape[-1] + 1)
    return np.asarray(-np.sum(np.sin(x) * np.sin(i * x**2 / math.pi) ** (2 * m), axis=-1))


# The wells a_j (rows), as in Surjanovic & Bingham's table and BoTorch's `Shekel`: the seventh is (5, 3, 5, 3).
_SHEKEL_A = np.array([[4, 4, 4, 4], [1, 1, 1, 1], [8, 8, 8, 8], [6, 6, 6, 6], [3, 7, 3, 7], [2, 9, 2, 9],
                      [5, 3, 5, 3], [8, 1, 8, 1], [6, 2, 6, 2], [7, 3.6, 7, 3.6]], dtype=float)
_SHEKEL_C = np.array([1, 2, 2, 4, 4, 6, 3, 7, 5, 5], dtype=float) / 10.0


def shekel(x: np.ndarray) -> np.ndarray:
    """Shekel-10 (ten wells) in 4-d on ``[0, 10]^4``: ``-sum_j 1 / (|x - a_j|^2 + c_j)``."""
    x = np.asarray(x, dtype=float)
    return np.asarray(-np.sum(1.0 / (np.sum((x[..., None, :] - _SHEKEL_A) ** 2, axis=-1) + _SHEKEL_C), axis=-1))


# Separable: each coordinate's minimizer on a 2e5-point grid, then L-BFGS-B; f* = -4.687658 (d = 5).
MICHALEWICZ5 = SyntheticFunction("michalewicz5", michalewicz, ((0.0, math.pi),) * 5, -4.6876582,
                                 (2.2029055, 1.5707963, 1.2849916, 1.9230585, 1.7204698))
# L-BFGS-B from (4, 4, 4, 4): f* = -10.536443 (BoTorch's `Shekel().optimal_value`).
SHEKEL4 = SyntheticFunction("shekel4", shekel, ((0.0, 10.0),) * 4, -10.5364432,
                            (4.0007469, 3.9995095, 4.0007469, 3.9995095))


def _linear_sum(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.asarray(x[..., 0] + x[..., 1])


def gramacy_sine_constraint(x: np.ndarray) -> np.ndarray:
    """``1.5 - x1 - 2 x2 - 0.5 sin(2 pi (x1^2 - 2 x2))``; feasible when ``<= 0``."""
    x = np.asarray(x, dtype=float)
    return np.asarray(1.5 - x[..., 0] - 2 * x[..., 1] - 0.5 * np.sin(2 * math.pi * (x[..., 0] ** 2 - 2 * x[..., 1])))


def gramacy_disc_constraint(x: np.ndarray) -> np.ndarray:
    """``x1^2 + x2^2 - 1.5``; feasible when ``<= 0``."""
    x = np.asarray(x, dtype=float)
    return np.asarray(x[..., 0] ** 2 + x[..., 1] ** 2 - 1.5)


# Gramacy et al. (2016), "Modeling an Augmented Lagrangian for Blackbox Constrained Optimization":
# minimize x1 + x2 on [0, 1]^2 under two constraints; the feasible set has disconnected parts.
# Optimum: a 2001^2 grid, then SLSQP on the active sine constraint.
CONSTRAINED_GRAMACY = ConstrainedFunction(
    SyntheticFunction("linear-sum", _linear_sum, ((0.0, 1.0), (0.0, 1.0)), 0.0, (0.0, 0.0)),
    {"sine": (gramacy_sine_constraint, 0.0), "disc": (gramacy_disc_constraint, 0.0)},
    optimal_value=0.5997881,
    optimizer=(0.1951227, 0.4046654),
    name="constrained-gramacy",
)

_EXTRA_FUNCTIONS: dict[str, SyntheticFunction] = {"michalewicz5": MICHALEWICZ5, "shekel4": SHEKEL4}


__all__ = [
    "BRANIN",
    "CONSTRAINED_BRANIN",
    "CONSTRAINED_GRAMACY",
    "HARTMANN6",
    "MF_BRANIN",
    "MICHALEWICZ5",
    "SHEKEL4",
    "ConstrainedFunction",
    "MultiFidelityFunction",
    "SyntheticFunction",
    "ackley",
    "augmented_branin",
    "branin",
    "disc_constraint",
    "get_function",
    "gramacy_disc_constraint",
    "gramacy_sine_constraint",
    "hartmann6",
    "levy",
    "make_ackley",
    "make_levy",
    "make_rosenbrock",
    "michalewicz",
    "rosenbrock",
    "shekel",
]
