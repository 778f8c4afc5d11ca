"""Penalty methods for bilevel optimization: first-order, no Hessian-vector products.

Paper: Kwon, Kwon, Wright, Nowak, "On Penalty Methods for Nonconvex Bilevel Optimization and
First-Order Stochastic Approximation", ICLR 2024 (arXiv 2309.01753).

The bilevel problem, on closed convex sets ``X`` and ``Y``::

    min_{x ∈ X} ψ(x),   ψ(x) = min_{y ∈ S(x)} f(x, y),   S(x) = argmin_{y ∈ Y} g(x, y).

The penalty hyper-objective blends the two levels with a weight σ > 0::

    h_σ(x, y) = σ f(x, y) + g(x, y),   l(x, σ) = min_{y ∈ Y} h_σ(x, y),
    ψ_σ(x)    = (l(x, σ) − l(x, 0)) / σ.                                         (penalty)

Under the paper's proximal error-bound condition, ``|ψ_σ − ψ| = O(σ)`` and ``‖∇ψ_σ − ∇ψ‖ = O(σ)``,
also when the lower level has many solutions. By Danskin's theorem the gradient needs only
first-order oracles at the two inner minimizers ``y_σ ∈ argmin_y h_σ(x, ·)`` and ``z ∈ argmin_y g(x, ·)``::

    ∇ψ_σ(x) = ∇_x f(x, y_σ) + (∇_x g(x, y_σ) − ∇_x g(x, z)) / σ.                  (gradient)

Two algorithms minimize ψ_σ over ``X``:

* `double_loop`: per outer step, ``inner_steps`` warm-started projected gradient steps on ``y`` (for
  ``h_σ``) and on ``z`` (for ``g``), then ``x ← Proj_X(x − lr_x ∇ψ_σ)``.
* `single_loop`: one ``y``, one ``z`` and one ``x`` step per iteration, each direction an exponential
  moving average of its stochastic gradients (``momentum = 1`` is the plain deterministic update).

Stochastic oracles are simulated by adding Gaussian noise of standard deviation ``noise_std`` to every
gradient the algorithm asks for; the noise comes from ``numpy.random.default_rng(seed)`` with the
config's explicit seed, so a run is reproducible.

Deviations from the paper. The paper's step-size and batch-size schedules (and a decreasing σ_k)
serve its complexity proofs; here the steps and σ are constants of the frozen configs. The paper's
single-loop method (its Algorithm 2) uses momentum-assisted variance-reduced estimators under a
mean-squared-smoothness assumption; `single_loop` uses a plain moving average of the gradients, which
keeps the O(1)-samples-per-iteration structure but not that variance reduction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_in_range,
    check_int,
)

__all__ = [
    "Ball",
    "BilevelFunctions",
    "BilevelProblem",
    "BilevelResult",
    "Box",
    "DoubleLoopConfig",
    "PenaltyEstimate",
    "Projection",
    "SingleLoopConfig",
    "double_loop",
    "penalty_estimate",
    "penalty_gradient",
    "single_loop",
    "solve_lower_level",
]

Array = np.ndarray
GradPair = tuple[Array, Array]

#: Exceptions of a user's callable (oracle, projection) reported as the library's `InputDataError`, cause chained.
_ORACLE_ERRORS = (TypeError, ValueError, IndexError, KeyError, ArithmeticError)


# ------------------------------------------------------------------------------------ convex sets


@dataclass(frozen=True)
class Box:
    """The box ``{v : lower ≤ v ≤ upper}`` (scalars or arrays broadcast to the variable's shape)."""

    lower: Any = -math.inf
    upper: Any = math.inf

    def __post_init__(self) -> None:
        lo = np.asarray(as_float_array(self.lower, "lower", "Box"))
        hi = np.asarray(as_float_array(self.upper, "upper", "Box"))
        # An empty bound broadcasts to no variable but an empty one (np.clip would raise its own error).
        if lo.size == 0:
            raise InvalidParameterError("lower", "Box", "a number or a non-empty array", self.lower)
        if hi.size == 0:
            raise InvalidParameterError("upper", "Box", "a number or a non-empty array", self.upper)
        if np.isnan(lo).any() or np.isnan(hi).any():
            raise InvalidParameterError("lower", "Box", "free of NaN (as is 'upper')", self.lower)
        try:
            bad = bool(np.any(lo > hi))
        except ValueError as exc:  # shapes that do not broadcast
            raise InvalidParameterError("upper", "Box", f"broadcastable with lower's shape {lo.shape}",
                                        self.upper) from exc
        if bad:
            raise InvalidParameterError("upper", "Box", "at least 'lower' everywhere", self.upper)
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    def project(self, v: Array) -> Array:
        """Euclidean projection: clip every coordinate."""
        try:
            out = np.clip(v, self.lower, self.upper)
        except ValueError:
            out = None
        if out is None or out.shape != np.shape(v):  # bounds must broadcast to the variable, not enlarge it
            raise InputDataError(f"Box bounds 'lower' of shape {np.shape(self.lower)} and 'upper' of shape "
                                 f"{np.shape(self.upper)} do not fit a variable of shape {np.shape(v)}.")
        return np.asarray(out)


@dataclass(frozen=True)
class Ball:
    """The Euclidean ball ``{v : ‖v − center‖₂ ≤ radius}``."""

    radius: float
    center: Any = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "radius", check_in_range(self.radius, "radius", "Ball", 0.0, low_open=False,
                                                          high_open=True))
        object.__setattr__(self, "center", as_float_array(self.center, "center", "Ball", finite=True))

    def project(self, v: Array) -> Array:
        """Euclidean projection: pull ``v`` radially onto the ball when it lies outside."""
        try:
            d = v - self.center
        except ValueError:
            d = None
        if d is None or d.shape != np.shape(v):
            raise InputDataError(f"Ball center of shape {np.shape(self.center)} does not fit a variable of "
                                 f"shape {np.shape(v)}.")
        norm = float(np.linalg.norm(d))
        return np.array(v, dtype=float) if norm <= self.radius else self.center + d * (self.radius / norm)


@dataclass(frozen=True)
class Projection:
    """A user-supplied Euclidean projection onto a closed convex set: ``fn(v)`` returns a point of
    the set of ``v``'s shape (checked on every call)."""

    fn: Callable[[Array], Any]

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise InvalidParameterError("fn", "Projection", "a callable", self.fn)

    def project(self, v: Array) -> Array:
        try:
            out = np.asarray(self.fn(v), dtype=float)
        except _ORACLE_ERRORS as exc:
            raise InputDataError(f"The projection failed: {type(exc).__name__}: {exc}") from exc
        if out.shape != v.shape or not np.isfinite(out).all():
            raise InputDataError(f"The projection returned {out.shape} / non-finite values for a point of "
                                 f"shape {v.shape}; it must return a finite point of the same shape.")
        return out


SetLike = Box | Ball | Projection | Callable[[Array], Any] | None


def _as_set(value: SetLike, param: str, owner: str) -> Box | Ball | Projection | None:
    if value is None or isinstance(value, (Box, Ball, Projection)):
        return value
    if callable(value):
        return Projection(value)
    raise InvalidParameterError(param, owner, "None (the whole space), a Box, a Ball, a Projection or a callable",
                                value)


def _project(s: Box | Ball | Projection | None, v: Array) -> Array:
    return v if s is None else s.project(v)


# ------------------------------------------------------------------------------------ the problem


@runtime_checkable
class BilevelProblem(Protocol):
    """First-order oracles of the two levels; ``x`` and ``y`` are float arrays of fixed shapes.

    ``grad_f`` and ``grad_g`` return ``(∇_x, ∇_y)``, of the shapes of ``x`` and ``y``. Values are used
    only by `penalty_estimate` (the algorithms need gradients alone).
    """

    def f(self, x: Array, y: Array) -> float: ...

    def g(self, x: Array, y: Array) -> float: ...

    def grad_f(self, x: Array, y: Array) -> GradPair: ...

    def grad_g(self, x: Array, y: Array) -> GradPair: ...


@dataclass(frozen=True)
class BilevelFunctions:
    """A `BilevelProblem` from four plain callables (upper level ``f``, lower level ``g``)."""

    f: Callable[[Array, Array], float]
    g: Callable[[Array, Array], float]
    grad_f: Callable[[Array, Array], GradPair]
    grad_g: Callable[[Array, Array], GradPair]

    def __post_init__(self) -> None:
        for name in ("f", "g", "grad_f", "grad_g"):
            if not callable(getattr(self, name)):
                raise InvalidParameterError(name, "BilevelFunctions", "a callable", getattr(self, name))


class _Oracle:
    """Checks, counts and (for the stochastic variants) perturbs every oracle answer."""

    def __init__(self, problem: Any, x: Array, y: Array, noise_std: float = 0.0, seed: int | None = None) -> None:
        for name in ("grad_f", "grad_g"):
            if not callable(getattr(problem, name, None)):
                raise InvalidParameterError("problem", "the bilevel solver", "an object with grad_f and grad_g "
                                            "methods (a BilevelProblem)", type(problem).__name__)
        self.problem = problem
        self.x_shape, self.y_shape = x.shape, y.shape
        self.noise_std = noise_std
        self.rng = np.random.default_rng(seed) if noise_std > 0 else None
        self.calls = {"grad_f": 0, "grad_g": 0}

    def _call(self, name: str, x: Array, y: Array) -> GradPair:
        self.calls[name] += 1
        try:
            gx, gy = getattr(self.problem, name)(x, y)
            gx = np.asarray(gx, dtype=float)
            gy = np.asarray(gy, dtype=float)
            if gx.shape != self.x_shape or gy.shape != self.y_shape:
                raise ValueError("shape")
        except _ORACLE_ERRORS as exc:  # the user's oracle failed on these points: say which, keep the cause
            raise InputDataError(f"{name} failed or did not return a pair (grad_x of shape {self.x_shape}, grad_y of "
                                 f"shape {self.y_shape}) of real arrays: {type(exc).__name__}: {exc}") from exc
        if not math.isfinite(float(np.sum(gx)) + float(np.sum(gy))):  # one reduction instead of two isfinite scans
            raise InputDataError(f"{name} returned a non-finite or overflowing gradient (the iterates diverged, or the "
                                 "problem is undefined there); lower the step sizes or check the problem.")
        if self.rng is not None:
            gx = gx + self.noise_std * self.rng.standard_normal(gx.shape)
            gy = gy + self.noise_std * self.rng.standard_normal(gy.shape)
        return gx, gy

    def grad_f(self, x: Array, y: Array) -> GradPair:
        return self._call("grad_f", x, y)

    def grad_g(self, x: Array, y: Array) -> GradPair:
        return self._call("grad_g", x, y)


def _point(value: Any, param: str, owner: str) -> Array:
    """A finite, non-empty float array (a scalar becomes shape ``(1,)``)."""
    return np.atleast_1d(np.array(as_float_array(value, param, owner, finite=True, min_size=1), dtype=float))


# ------------------------------------------------------------------------------------ ψ_σ and ∇ψ_σ


def _lower_steps(oracle: _Oracle, x: Array, y: Array, sigma: float, lr: float, steps: int,
                 y_set: Box | Ball | Projection | None) -> Array:
    """Projected gradient steps on ``y ↦ σ f(x, y) + g(x, y)`` (σ = 0: on ``g`` alone)."""
    for _ in range(steps):
        gy = oracle.grad_g(x, y)[1]
        if sigma > 0.0:
            gy = gy + sigma * oracle.grad_f(x, y)[1]
        y = _project(y_set, _step(y, lr, gy, "y"))
    return y


def _norm(v: Array) -> float:
    """Euclidean norm; an overflow to inf (a step of a diverging run) is not worth a warning."""
    with np.errstate(over="ignore"):
        return float(np.linalg.norm(v))


def _step(v: Array, lr: float, direction: Array, name: str) -> Array:
    """``v − lr · direction``, refusing an overflow (a diverged run) instead of carrying infinities on."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = v - lr * direction
    if not np.isfinite(out).all():
        raise InputDataError(f"The {name} iterate became non-finite (the run diverged); lower the step sizes.")
    return np.asarray(out)


def solve_lower_level(problem: BilevelProblem, x: Any, y0: Any, sigma: float = 0.0, lr: float = 0.1,
                      steps: int = 1000, y_set: SetLike = None) -> Array:
    """Approximate ``argmin_{y ∈ Y} σ f(x, y) + g(x, y)`` by projected gradient descent from ``y0``.

    Args:
        problem: The oracles.
        x: Upper-level point, shape ``(n,)`` (any fixed shape).
        y0: Start, shape ``(m,)``.
        sigma: Penalty weight σ ≥ 0 (0: the lower-level problem itself).
        lr: Step size, at most ``1 / (σ L_f + L_g)`` for ``y``-smoothness constants ``L_f``, ``L_g``.
        steps: Number of steps.
        y_set: ``Y`` (None: the whole space).

    Returns:
        The last iterate, shape of ``y0``.
    """
    owner = "solve_lower_level"
    sigma = check_in_range(sigma, "sigma", owner, 0.0, low_open=False)
    lr = check_in_range(lr, "lr", owner, 0.0)
    steps = check_int(steps, "steps", owner, low=0)
    xa, ya = _point(x, "x", owner), _point(y0, "y0", owner)
    ys = _as_set(y_set, "y_set", owner)
    oracle = _Oracle(problem, xa, ya)
    return _lower_steps(oracle, xa, _project(ys, ya), sigma, lr, steps, ys)


def penalty_gradient(problem: BilevelProblem, x: Any, y: Any, z: Any, sigma: float) -> Array:
    """``∇ψ_σ(x) = ∇_x f(x, y) + (∇_x g(x, y) − ∇_x g(x, z)) / σ`` at given inner points.

    Exact (Danskin) when ``y`` minimizes ``σ f(x, ·) + g(x, ·)`` and ``z`` minimizes ``g(x, ·)`` over ``Y``;
    three first-order oracle calls and no second derivatives.

    Args:
        problem: The oracles.
        x: Shape ``(n,)``. y, z: Shape ``(m,)``.
        sigma: Penalty weight σ > 0.

    Returns:
        Shape of ``x``.
    """
    owner = "penalty_gradient"
    sigma = check_in_range(sigma, "sigma", owner, 0.0)
    xa, ya, za = _point(x, "x", owner), _point(y, "y", owner), _point(z, "z", owner)
    oracle = _Oracle(problem, xa, ya)
    if za.shape != ya.shape:
        raise InputDataError(f"z must have y's shape {ya.shape}; got {za.shape}.")
    return _gradient(oracle, xa, ya, za, sigma)


def _gradient(oracle: _Oracle, x: Array, y: Array, z: Array, sigma: float) -> Array:
    # (gradient): Danskin's theorem applied to l(x, σ) and to l(x, 0), divided by σ.
    fx = oracle.grad_f(x, y)[0]
    gx_y = oracle.grad_g(x, y)[0]
    gx_z = oracle.grad_g(x, z)[0]
    return np.asarray(fx + (gx_y - gx_z) / sigma)


@dataclass(frozen=True)
class PenaltyEstimate:
    """``ψ_σ(x)`` and ``∇ψ_σ(x)`` from approximate inner minimizers ``y`` (of ``h_σ``) and ``z`` (of ``g``)."""

    value: float
    gradient: Array
    y: Array
    z: Array


def penalty_estimate(problem: BilevelProblem, x: Any, y0: Any, sigma: float, lr: float = 0.1,
                     steps: int = 1000, y_set: SetLike = None, z0: Any = None) -> PenaltyEstimate:
    """Evaluate the penalty hyper-objective ``ψ_σ(x) = f(x, y) + (g(x, y) − g(x, z)) / σ`` and its gradient.

    ``y`` and ``z`` come from `solve_lower_level` (``steps`` projected gradient steps from ``y0`` and
    ``z0``; ``z0`` defaults to ``y0``). The value's error is the inner solvers' error divided by σ, so
    small σ needs accurate inner solves.

    Args:
        problem: The oracles (``f`` and ``g`` values are needed here).
        x: Shape ``(n,)``. y0, z0: Shape ``(m,)``.
        sigma: Penalty weight σ > 0.
        lr, steps, y_set: As in `solve_lower_level`.
    """
    owner = "penalty_estimate"
    sigma = check_in_range(sigma, "sigma", owner, 0.0)
    lr = check_in_range(lr, "lr", owner, 0.0)
    steps = check_int(steps, "steps", owner, low=0)
    xa, ya = _point(x, "x", owner), _point(y0, "y0", owner)
    za = ya.copy() if z0 is None else _point(z0, "z0", owner)
    if za.shape != ya.shape:
        raise InputDataError(f"z0 must have y0's shape {ya.shape}; got {za.shape}.")
    ys = _as_set(y_set, "y_set", owner)
    for name in ("f", "g"):
        if not callable(getattr(problem, name, None)):
            raise InvalidParameterError("problem", owner, "an object with f and g methods (a BilevelProblem)",
                                        type(problem).__name__)
    oracle = _Oracle(problem, xa, ya)
    y = _lower_steps(oracle, xa, _project(ys, ya), sigma, lr, steps, ys)
    z = _lower_steps(oracle, xa, _project(ys, za), 0.0, lr, steps, ys)
    try:
        value = float(problem.f(xa, y)) + (float(problem.g(xa, y)) - float(problem.g(xa, z))) / sigma
    except _ORACLE_ERRORS as exc:
        raise InputDataError(f"f and g must return real numbers: {type(exc).__name__}: {exc}") from exc
    if not math.isfinite(value):
        raise InputDataError("f or g returned a non-finite value at the inner solutions.")
    return PenaltyEstimate(value, _gradient(oracle, xa, y, z, sigma), y, z)


# ------------------------------------------------------------------------------------ algorithms


def _check_noise(owner: str, noise_std: Any, seed: Any) -> None:
    check_in_range(noise_std, "noise_std", owner, 0.0, low_open=False)
    if seed is not None:
        check_int(seed, "seed", owner, low=0)
    elif float(noise_std) > 0.0:
        raise InvalidParameterError("seed", owner, "an explicit non-negative integer when noise_std > 0", seed)


@dataclass(frozen=True)
class DoubleLoopConfig:
    """Hyperparameters of `double_loop`.

    Args:
        sigma: Penalty weight σ > 0; ψ_σ is O(σ)-close to ψ, so σ = O(ε) for an ε-stationary point.
        lr_x: Upper-level step size (at most 1/L of ψ_σ).
        lr_y: Inner step size for both ``y`` and ``z`` (at most ``1 / (σ L_f + L_g)`` in ``y``).
        inner_steps: Warm-started inner projected gradient steps per outer step (the ``T_k`` of the paper).
        outer_steps: Maximum number of upper-level steps.
        tol: Stop when the gradient mapping ``‖x − Proj_X(x − lr_x ∇ψ_σ)‖ / lr_x`` is at most ``tol``
            (0: run all ``outer_steps``).
        noise_std: Standard deviation of Gaussian noise added to every gradient (the stochastic variant).
        seed: Seed of that noise; required when ``noise_std > 0``.
    """

    sigma: float = 0.01
    lr_x: float = 0.1
    lr_y: float = 0.1
    inner_steps: int = 20
    outer_steps: int = 1000
    tol: float = 0.0
    noise_std: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        owner = "DoubleLoopConfig"
        check_in_range(self.sigma, "sigma", owner, 0.0)
        check_in_range(self.lr_x, "lr_x", owner, 0.0)
        check_in_range(self.lr_y, "lr_y", owner, 0.0)
        check_int(self.inner_steps, "inner_steps", owner, low=1)
        check_int(self.outer_steps, "outer_steps", owner, low=1)
        check_in_range(self.tol, "tol", owner, 0.0, low_open=False)
        _check_noise(owner, self.noise_std, self.seed)


@dataclass(frozen=True)
class SingleLoopConfig:
    """Hyperparameters of `single_loop`.

    Args:
        sigma: Penalty weight σ > 0.
        lr_x: Upper-level step size; keep it well below ``lr_y`` (the inner points must track ``x``).
        lr_y: Step size of the ``y`` and ``z`` updates.
        iterations: Maximum number of iterations (each one ``y``, one ``z`` and one ``x`` step).
        momentum: Weight β ∈ (0, 1] of the newest gradient in each moving-average direction
            ``d ← (1 − β) d + β ĝ``; 1 is the plain update.
        tol: Stop when the gradient mapping of ``x`` and the inner steps (divided by ``lr_y``) are all at
            most ``tol`` (0: run all ``iterations``).
        noise_std: Standard deviation of Gaussian noise added to every gradient (the stochastic variant).
        seed: Seed of that noise; required when ``noise_std > 0``.
    """

    sigma: float = 0.01
    lr_x: float = 0.05
    lr_y: float = 0.1
    iterations: int = 10_000
    momentum: float = 1.0
    tol: float = 0.0
    noise_std: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        owner = "SingleLoopConfig"
        check_in_range(self.sigma, "sigma", owner, 0.0)
        check_in_range(self.lr_x, "lr_x", owner, 0.0)
        check_in_range(self.lr_y, "lr_y", owner, 0.0)
        check_int(self.iterations, "iterations", owner, low=1)
        check_in_range(self.momentum, "momentum", owner, 0.0, 1.0, high_open=False)
        check_in_range(self.tol, "tol", owner, 0.0, low_open=False)
        _check_noise(owner, self.noise_std, self.seed)


@dataclass(frozen=True)
class BilevelResult:
    """What a penalty method returned.

    Attributes:
        x: The last upper-level iterate (in ``X``). y, z: The last inner iterates (in ``Y``).
        gradient_mapping: ``‖x − Proj_X(x − lr_x d)‖ / lr_x`` at the last step, ``d`` the last ∇ψ_σ estimate.
        iterations: Upper-level steps taken.
        converged: Whether ``tol > 0`` and the gradient mapping reached it.
        grad_f_calls, grad_g_calls: First-order oracle calls (the only oracles used).
        history: The gradient mapping after every upper-level step.
    """

    x: Array
    y: Array
    z: Array
    gradient_mapping: float
    iterations: int
    converged: bool
    grad_f_calls: int
    grad_g_calls: int
    history: tuple[float, ...]


def _start(owner: str, x0: Any, y0: Any, z0: Any, x_set: SetLike, y_set: SetLike,
           ) -> tuple[Array, Array, Array, Box | Ball | Projection | None, Box | Ball | Projection | None]:
    xs, ys = _as_set(x_set, "x_set", owner), _as_set(y_set, "y_set", owner)
    x = _project(xs, _point(x0, "x0", owner))
    y = _project(ys, _point(y0, "y0", owner))
    z = y.copy() if z0 is None else _project(ys, _point(z0, "z0", owner))
    if z.shape != y.shape:
        raise InputDataError(f"z0 must have y0's shape {y.shape}; got {z.shape}.")
    return x, y, z, xs, ys


def double_loop(problem: BilevelProblem, x0: Any, y0: Any, config: DoubleLoopConfig | None = None,
                x_set: SetLike = None, y_set: SetLike = None, z0: Any = None) -> BilevelResult:
    """Minimize ψ_σ over ``X`` with warm-started inner loops (the paper's double-loop method).

    Each outer step: ``inner_steps`` projected gradient steps on ``y`` for ``h_σ = σf + g`` and on ``z``
    for ``g``, then ``x ← Proj_X(x − lr_x ∇ψ_σ(x))`` with the (gradient) formula.

    Args:
        problem: First-order oracles (a `BilevelProblem`).
        x0: Upper-level start, shape ``(n,)`` (projected onto ``X``).
        y0: Inner start, shape ``(m,)`` (projected onto ``Y``).
        config: Hyperparameters (default `DoubleLoopConfig()`).
        x_set, y_set: ``X`` and ``Y``: None (the whole space), a `Box`, a `Ball`, a `Projection` or a
            projection callable.
        z0: Start of the lower-level point ``z`` (default ``y0``); pass a previous result's ``z`` to resume.

    Returns:
        A `BilevelResult`.

    Example:
        >>> import numpy as np
        >>> prob = BilevelFunctions(                        # min_x (y − 1)² s.t. y = argmin (y − x)²
        ...     f=lambda x, y: float((y[0] - 1) ** 2), g=lambda x, y: float((y[0] - x[0]) ** 2),
        ...     grad_f=lambda x, y: (np.zeros(1), 2 * (y - 1)), grad_g=lambda x, y: (2 * (x - y), 2 * (y - x)))
        >>> res = double_loop(prob, [0.0], [0.0], DoubleLoopConfig(sigma=0.01, lr_x=0.2, lr_y=0.3, outer_steps=300))
        >>> round(float(res.x[0]), 2)   # the penalty solution x_σ = 1 (exact here)
        1.0
    """
    owner = "double_loop"
    cfg = config if config is not None else DoubleLoopConfig()
    if not isinstance(cfg, DoubleLoopConfig):
        raise InvalidParameterError("config", owner, "a DoubleLoopConfig", cfg)
    x, y, z, xs, ys = _start(owner, x0, y0, z0, x_set, y_set)
    oracle = _Oracle(problem, x, y, cfg.noise_std, cfg.seed)
    history: list[float] = []
    mapping, converged, k = math.inf, False, 0
    for k in range(1, cfg.outer_steps + 1):  # noqa: B007 - k is the step count after the loop
        y = _lower_steps(oracle, x, y, cfg.sigma, cfg.lr_y, cfg.inner_steps, ys)
        z = _lower_steps(oracle, x, z, 0.0, cfg.lr_y, cfg.inner_steps, ys)
        grad = _gradient(oracle, x, y, z, cfg.sigma)
        x_new = _project(xs, _step(x, cfg.lr_x, grad, "x"))
        mapping = _norm(x - x_new) / cfg.lr_x
        history.append(mapping)
        x = x_new
        if cfg.tol > 0.0 and mapping <= cfg.tol:
            converged = True
            break
    return BilevelResult(x, y, z, mapping, k, converged, oracle.calls["grad_f"], oracle.calls["grad_g"],
                         tuple(history))


def single_loop(problem: BilevelProblem, x0: Any, y0: Any, config: SingleLoopConfig | None = None,
                x_set: SetLike = None, y_set: SetLike = None, z0: Any = None) -> BilevelResult:
    """Minimize ψ_σ over ``X`` with one ``y``, one ``z`` and one ``x`` step per iteration.

    Per iteration (with moving-average directions ``d ← (1 − β) d + β ĝ``, β = ``momentum``)::

        y ← Proj_Y(y − lr_y d_y),  d_y from σ ∇_y f(x, y) + ∇_y g(x, y)
        z ← Proj_Y(z − lr_y d_z),  d_z from ∇_y g(x, z)
        x ← Proj_X(x − lr_x d_x),  d_x from ∇_x f(x, y) + (∇_x g(x, y) − ∇_x g(x, z)) / σ

    Arguments as in `double_loop`, with a `SingleLoopConfig`.
    """
    owner = "single_loop"
    cfg = config if config is not None else SingleLoopConfig()
    if not isinstance(cfg, SingleLoopConfig):
        raise InvalidParameterError("config", owner, "a SingleLoopConfig", cfg)
    x, y, z, xs, ys = _start(owner, x0, y0, z0, x_set, y_set)
    oracle = _Oracle(problem, x, y, cfg.noise_std, cfg.seed)
    beta = cfg.momentum
    d_y = d_z = d_x = None
    history: list[float] = []
    mapping, converged, k = math.inf, False, 0
    for k in range(1, cfg.iterations + 1):  # noqa: B007 - k is the step count after the loop
        fx_y, fy_y = oracle.grad_f(x, y)
        gx_y, gy_y = oracle.grad_g(x, y)
        gx_z, gy_z = oracle.grad_g(x, z)
        # The same three oracle answers give all three directions: O(1) samples per iteration.
        new_y = cfg.sigma * fy_y + gy_y
        new_x = fx_y + (gx_y - gx_z) / cfg.sigma
        d_y = new_y if d_y is None else (1.0 - beta) * d_y + beta * new_y
        d_z = gy_z if d_z is None else (1.0 - beta) * d_z + beta * gy_z
        d_x = new_x if d_x is None else (1.0 - beta) * d_x + beta * new_x
        y_new = _project(ys, _step(y, cfg.lr_y, d_y, "y"))
        z_new = _project(ys, _step(z, cfg.lr_y, d_z, "z"))
        x_new = _project(xs, _step(x, cfg.lr_x, d_x, "x"))
        mapping = _norm(x - x_new) / cfg.lr_x
        # The x direction uses the current inner points, so x may look stationary while y and z still move
        # (e.g. y = z at the start): stop only when the inner steps are small too.
        inner = max(_norm(y - y_new), _norm(z - z_new)) / cfg.lr_y
        history.append(mapping)
        x, y, z = x_new, y_new, z_new
        if cfg.tol > 0.0 and max(mapping, inner) <= cfg.tol:
            converged = True
            break
    return BilevelResult(x, y, z, mapping, k, converged, oracle.calls["grad_f"], oracle.calls["grad_g"],
                         tuple(history))
