"""Bilevel test problems with closed-form hyper-objectives, and ridge hyperparameter learning.

Each toy is ``min_{x ∈ X} ψ(x) = min_{y ∈ S(x)} f(x, y)``, ``S(x) = argmin_{y ∈ Y} g(x, y)``, with
first-order oracles ``grad_f``/``grad_g`` returning ``(∇_x, ∇_y)``, and closed forms of ψ, ∇ψ, the
penalty hyper-objective ``ψ_σ(x) = (min_y (σf + g) − min_y g)/σ``, its gradient, the solution ``x*``
and the penalty solution ``x_σ``. They are the three toys of the penalty-method reproduction
(Kwon et al., ICLR 2024):

* `StronglyConvexToy`: ``g = ½‖y − Mx‖²`` (unique lower-level solution ``y* = Mx``),
  ``f = ½‖y − b‖² + ½ρ‖x‖²``. ``ψ_σ(x) = ½ρ‖x‖² + ½‖Mx − b‖²/(1 + σ)``.
* `MultipleSolutionsToy`: ``g = ½(y₁ + y₂ − x)²`` (a whole line of lower-level solutions),
  ``f = ½‖y − (2, 0)‖² + ½(x − 1)²``; the optimistic ψ picks the point of the line nearest (2, 0):
  ``ψ(x) = (x − 2)²/4 + (x − 1)²/2``, ``x* = 4/3``, ``ψ_σ(x) = (x − 2)²/(2(2 + σ)) + (x − 1)²/2``,
  ``x_σ = (4 + σ)/(3 + σ)``.
* `BoxToy`: ``Y = [0, 1]²``, ``g = ½(y₁ − x)² + ½(y₂ − x − 1)²``, ``f = ½(y₁ − 2)² + ½(y₂ − 2)² + ½(x + 1)²``,
  ``X = [0, 1]``. On ``X`` the constraint ``y₂ ≤ 1`` is active (without it ``y₂ = x + 1`` and the
  solution would move to 2/3), and ψ is the convex ``½(x − 2)² + ½ + ½(x + 1)²``: ``x* = 1/2``,
  ``x_σ = (1 − σ)/(2 + σ)`` (σ ≤ 0.3).

`RidgeHyperparameterTask` learns one log-regularization weight per feature of a ridge regression
(lower level: training loss plus ``½ Σ e^{x_j} w_j²``; upper level: validation loss), with exact
lower-level solutions and the second-order pieces that implicit differentiation needs.

Layer rule: this module defines problems only; the solvers are in `guardopt.optim.bilevel`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = [
    "BoxToy",
    "MultipleSolutionsToy",
    "RidgeHyperparameterTask",
    "StronglyConvexToy",
    "box_toy",
    "multiple_solutions_toy",
    "ridge_task",
    "strongly_convex_toy",
]

Array = np.ndarray


def _a(v: object) -> Array:
    return np.asarray(v, dtype=float)


@dataclass(frozen=True)
class StronglyConvexToy:
    """``f = ½‖y − b‖² + ½ρ‖x‖²``, ``g = ½‖y − Mx‖²``; ``M`` shape ``(m, n)``, ``b`` shape ``(m,)``."""

    M: Array
    b: Array
    rho: float = 0.5

    #: ``y``-smoothness constants of f and g (both Hessians in y are the identity).
    smoothness_f = 1.0
    smoothness_g = 1.0
    #: Strong convexity of g in y (0: not strongly convex).
    strong_convexity_g = 1.0
    name = "strongly-convex"

    @property
    def x_dim(self) -> int:
        return int(self.M.shape[1])

    @property
    def smoothness_psi(self) -> float:
        """A bound on the smoothness of ψ_σ for every σ ≥ 0: ``λ_max(MᵀM) + ρ``."""
        return float(np.linalg.eigvalsh(self.M.T @ self.M).max() + self.rho)

    @property
    def y_dim(self) -> int:
        return int(self.M.shape[0])

    # oracles
    def f(self, x: Array, y: Array) -> float:
        return float(0.5 * np.sum((_a(y) - self.b) ** 2) + 0.5 * self.rho * np.sum(_a(x) ** 2))

    def g(self, x: Array, y: Array) -> float:
        return float(0.5 * np.sum((_a(y) - self.M @ _a(x)) ** 2))

    def grad_f(self, x: Array, y: Array) -> tuple[Array, Array]:
        return self.rho * _a(x), _a(y) - self.b

    def grad_g(self, x: Array, y: Array) -> tuple[Array, Array]:
        r = _a(y) - self.M @ _a(x)
        return -(self.M.T @ r), r

    # closed forms
    def psi(self, x: Array) -> float:
        r = self.M @ _a(x) - self.b
        return float(0.5 * r @ r + 0.5 * self.rho * _a(x) @ _a(x))

    def grad_psi(self, x: Array) -> Array:
        return np.asarray(self.M.T @ (self.M @ _a(x) - self.b) + self.rho * _a(x))

    def psi_sigma(self, x: Array, sigma: float) -> float:
        r = self.M @ _a(x) - self.b
        return float(0.5 * r @ r / (1.0 + sigma) + 0.5 * self.rho * _a(x) @ _a(x))

    def grad_psi_sigma(self, x: Array, sigma: float) -> Array:
        return np.asarray(self.M.T @ (self.M @ _a(x) - self.b) / (1.0 + sigma) + self.rho * _a(x))

    def x_sigma(self, sigma: float) -> Array:
        """Minimizer of ψ_σ: ``(MᵀM + ρ(1 + σ) I)⁻¹ Mᵀ b``."""
        n = self.x_dim
        return np.linalg.solve(self.M.T @ self.M + self.rho * (1.0 + sigma) * np.eye(n), self.M.T @ self.b)

    @property
    def x_star(self) -> Array:
        return self.x_sigma(0.0)

    @property
    def x_bounds(self) -> tuple[float, float] | None:
        return None

    @property
    def y_bounds(self) -> tuple[float, float] | None:
        return None

    def lower_solution(self, x: Array) -> Array:
        return np.asarray(self.M @ _a(x))


def strongly_convex_toy(seed: SeedLike = 0, x_dim: int = 3, y_dim: int = 4, rho: float = 0.5) -> StronglyConvexToy:
    """A `StronglyConvexToy` with ``M`` standard normal / √m and ``b`` standard normal."""
    n = check_int(x_dim, "x_dim", "strongly_convex_toy", low=1)
    m = check_int(y_dim, "y_dim", "strongly_convex_toy", low=1)
    rho = check_in_range(rho, "rho", "strongly_convex_toy", 0.0)
    rng = make_rng(seed)
    return StronglyConvexToy(rng.standard_normal((m, n)) / np.sqrt(m), rng.standard_normal(m), rho)


@dataclass(frozen=True)
class MultipleSolutionsToy:
    """``g = ½(y₁ + y₂ − x)²`` has the line ``y₁ + y₂ = x`` of solutions; ``f = ½‖y − (2, 0)‖² + ½(x − 1)²``."""

    smoothness_f = 1.0
    smoothness_g = 2.0
    strong_convexity_g = 0.0
    #: Bound on the smoothness of ψ_σ (ψ_σ'' = 1/(2 + σ) + 1).
    smoothness_psi = 1.5
    name = "multiple-solutions"
    x_dim = 1
    y_dim = 2

    def f(self, x: Array, y: Array) -> float:
        y = _a(y)
        return float(0.5 * ((y[0] - 2.0) ** 2 + y[1] ** 2) + 0.5 * (_a(x)[0] - 1.0) ** 2)

    def g(self, x: Array, y: Array) -> float:
        y = _a(y)
        return float(0.5 * (y[0] + y[1] - _a(x)[0]) ** 2)

    def grad_f(self, x: Array, y: Array) -> tuple[Array, Array]:
        y = _a(y)
        return np.array([_a(x)[0] - 1.0]), np.array([y[0] - 2.0, y[1]])

    def grad_g(self, x: Array, y: Array) -> tuple[Array, Array]:
        y = _a(y)
        r = y[0] + y[1] - _a(x)[0]
        return np.array([-r]), np.array([r, r])

    def psi(self, x: Array) -> float:
        t = _a(x)[0]
        return float((t - 2.0) ** 2 / 4.0 + (t - 1.0) ** 2 / 2.0)

    def grad_psi(self, x: Array) -> Array:
        t = _a(x)[0]
        return np.array([(t - 2.0) / 2.0 + (t - 1.0)])

    def psi_sigma(self, x: Array, sigma: float) -> float:
        t = _a(x)[0]
        return float((t - 2.0) ** 2 / (2.0 * (2.0 + sigma)) + (t - 1.0) ** 2 / 2.0)

    def grad_psi_sigma(self, x: Array, sigma: float) -> Array:
        t = _a(x)[0]
        return np.array([(t - 2.0) / (2.0 + sigma) + (t - 1.0)])

    def x_sigma(self, sigma: float) -> Array:
        return np.array([(4.0 + sigma) / (3.0 + sigma)])

    @property
    def x_star(self) -> Array:
        return np.array([4.0 / 3.0])

    @property
    def x_bounds(self) -> tuple[float, float] | None:
        return None

    @property
    def y_bounds(self) -> tuple[float, float] | None:
        return None

    def lower_solution(self, x: Array) -> Array:
        """The optimistic lower-level solution: the point of ``y₁ + y₂ = x`` nearest (2, 0)."""
        t = _a(x)[0]
        return np.array([2.0 + (t - 2.0) / 2.0, (t - 2.0) / 2.0])


def multiple_solutions_toy() -> MultipleSolutionsToy:
    """The degenerate toy (no parameters)."""
    return MultipleSolutionsToy()


@dataclass(frozen=True)
class BoxToy:
    """``Y = [0, 1]²``, ``X = [0, 1]``; ``g = ½(y₁ − x)² + ½(y₂ − x − 1)²``,
    ``f = ½(y₁ − 2)² + ½(y₂ − 2)² + ½(x + 1)²``. The closed forms of ψ_σ clip the unconstrained inner minimizers
    (exact for these separable quadratics)."""

    smoothness_f = 1.0
    smoothness_g = 1.0
    strong_convexity_g = 1.0
    #: Bound on the smoothness of ψ_σ on X (ψ_σ'' ≤ 1/(1 + σ) + 1, and 1/σ + 1 where y₁ is clipped; the loops
    #: stay where y₁ is interior, x ≤ 1 − σ, after their first steps).
    smoothness_psi = 2.0
    name = "box"
    x_dim = 1
    y_dim = 2

    @property
    def x_bounds(self) -> tuple[float, float] | None:
        return (0.0, 1.0)

    @property
    def y_bounds(self) -> tuple[float, float] | None:
        return (0.0, 1.0)

    def f(self, x: Array, y: Array) -> float:
        y = _a(y)
        return float(0.5 * (y[0] - 2.0) ** 2 + 0.5 * (y[1] - 2.0) ** 2 + 0.5 * (_a(x)[0] + 1.0) ** 2)

    def g(self, x: Array, y: Array) -> float:
        y, t = _a(y), _a(x)[0]
        return float(0.5 * (y[0] - t) ** 2 + 0.5 * (y[1] - t - 1.0) ** 2)

    def grad_f(self, x: Array, y: Array) -> tuple[Array, Array]:
        y = _a(y)
        return np.array([_a(x)[0] + 1.0]), np.array([y[0] - 2.0, y[1] - 2.0])

    def grad_g(self, x: Array, y: Array) -> tuple[Array, Array]:
        y, t = _a(y), _a(x)[0]
        r1, r2 = y[0] - t, y[1] - t - 1.0
        return np.array([-r1 - r2]), np.array([r1, r2])

    def _y(self, x: Array, sigma: float) -> Array:
        t = _a(x)[0]
        return np.clip(np.array([(2.0 * sigma + t) / (1.0 + sigma), (2.0 * sigma + t + 1.0) / (1.0 + sigma)]), 0.0, 1.0)

    def lower_solution(self, x: Array) -> Array:
        return self._y(x, 0.0)

    def psi(self, x: Array) -> float:
        return self.f(x, self._y(x, 0.0))

    def grad_psi(self, x: Array) -> Array:
        """∇ψ where ψ is differentiable (``x ∉ {−1, 0, 1}``; on the interior of ``X``: ``2x − 1``)."""
        t = _a(x)[0]
        y1, y2 = self._y(x, 0.0)
        d1 = 1.0 if 0.0 < t < 1.0 else 0.0
        d2 = 1.0 if -1.0 < t < 0.0 else 0.0
        return np.array([(y1 - 2.0) * d1 + (y2 - 2.0) * d2 + (t + 1.0)])

    def psi_sigma(self, x: Array, sigma: float) -> float:
        y, z = self._y(x, sigma), self._y(x, 0.0)
        return self.f(x, y) + (self.g(x, y) - self.g(x, z)) / sigma

    def grad_psi_sigma(self, x: Array, sigma: float) -> Array:
        y, z = self._y(x, sigma), self._y(x, 0.0)
        return np.asarray(self.grad_f(x, y)[0] + (self.grad_g(x, y)[0] - self.grad_g(x, z)[0]) / sigma)

    def x_sigma(self, sigma: float) -> Array:
        """Minimizer of ψ_σ on ``[σ, 1 − σ]``, where ``y₂`` sits on its bound: ``(1 − σ)/(2 + σ)``."""
        return np.array([(1.0 - sigma) / (2.0 + sigma)])

    @property
    def x_star(self) -> Array:
        return np.array([0.5])


def box_toy() -> BoxToy:
    """The box-constrained toy (no parameters)."""
    return BoxToy()


@dataclass(frozen=True)
class RidgeHyperparameterTask:
    """Learn ridge penalties ``λ_j = e^{x_j}`` (one per feature, or one shared) on a validation set.

    Lower level (strongly convex in ``w``): ``g(x, w) = ‖A w − b‖²/(2 n) + ½ Σ_j e^{x_j} w_j²`` (with
    ``x_j = x`` for every j when ``per_feature`` is False). Upper level: ``f(x, w) = ‖A_val w − b_val‖²/(2 n_val)``;
    ``X`` is the box ``x_bounds``; ``x`` has shape ``(d,)``, or ``(1,)`` for one shared penalty.

    Arrays: ``A`` ``(n, d)``, ``b`` ``(n,)``, ``A_val`` ``(n_val, d)``, ``b_val`` ``(n_val,)``, and a held-out
    test set ``A_test``, ``b_test``; ``w_true`` ``(d,)``.
    """

    A: Array
    b: Array
    A_val: Array
    b_val: Array
    A_test: Array
    b_test: Array
    w_true: Array
    x_bounds: tuple[float, float] = (-6.0, 2.0)
    per_feature: bool = True

    name = "ridge"
    y_bounds = None

    @property
    def d(self) -> int:
        return int(self.A.shape[1])

    @property
    def x_dim(self) -> int:
        return self.d if self.per_feature else 1

    def _lam(self, x: Array) -> Array:
        """``e^x`` broadcast to one penalty per feature, shape ``(d,)``."""
        return np.broadcast_to(np.exp(_a(x)), (self.d,))

    @property
    def smoothness_f(self) -> float:
        """Largest eigenvalue of ``A_valᵀA_val / n_val`` (the ``w``-smoothness of f)."""
        return float(np.linalg.eigvalsh(self.A_val.T @ self.A_val / len(self.b_val)).max())

    @property
    def smoothness_g(self) -> float:
        """A bound on the ``w``-smoothness of g over ``X``: ``λ_max(AᵀA/n) + e^{x_max}``."""
        return float(np.linalg.eigvalsh(self.A.T @ self.A / len(self.b)).max() + np.exp(self.x_bounds[1]))

    def f(self, x: Array, y: Array) -> float:
        r = self.A_val @ _a(y) - self.b_val
        return float(0.5 * r @ r / len(self.b_val))

    def g(self, x: Array, y: Array) -> float:
        w = _a(y)
        r = self.A @ w - self.b
        return float(0.5 * r @ r / len(self.b) + 0.5 * np.sum(np.exp(_a(x)) * w**2))

    @functools.cached_property
    def _gram(self) -> tuple[Array, Array, Array, Array]:
        """``(AᵀA/n, Aᵀb/n, A_valᵀA_val/n_val, A_valᵀb_val/n_val)``, computed once (gradients become d × d products)."""
        n, nv = len(self.b), len(self.b_val)
        return (self.A.T @ self.A / n, self.A.T @ self.b / n, self.A_val.T @ self.A_val / nv,
                self.A_val.T @ self.b_val / nv)

    def grad_f(self, x: Array, y: Array) -> tuple[Array, Array]:
        _, _, gv, cv = self._gram
        return np.zeros(self.x_dim), gv @ _a(y) - cv

    def grad_g(self, x: Array, y: Array) -> tuple[Array, Array]:
        w, lam = _a(y), self._lam(x)
        gt, ct, _, _ = self._gram
        gx = 0.5 * lam * w**2
        return (gx if self.per_feature else np.array([gx.sum()])), gt @ w - ct + lam * w

    # second-order pieces (implicit differentiation only)
    def hessian_yy_g(self, x: Array) -> Array:
        """``∇²_ww g = AᵀA/n + diag(λ)``, shape ``(d, d)``."""
        return np.asarray(self._gram[0] + np.diag(self._lam(x)))

    def cross_xy_g(self, x: Array, y: Array) -> Array:
        """``∇²_xw g``, shape ``(x_dim, d)`` (row j: ∂/∂x_j of ∇_w g): ``diag(λ ⊙ w)``, or the row ``λ w``."""
        lw = self._lam(x) * _a(y)
        return np.diag(lw) if self.per_feature else lw[None, :]

    def lower_solution(self, x: Array) -> Array:
        """The exact ridge solution ``(AᵀA/n + diag(e^x))⁻¹ Aᵀb/n`` (one linear solve)."""
        return np.linalg.solve(self.hessian_yy_g(x), self._gram[1])

    def psi(self, x: Array) -> float:
        """The validation loss at the exact lower-level solution."""
        return self.f(x, self.lower_solution(x))

    def test_loss(self, x: Array) -> float:
        r = self.A_test @ self.lower_solution(x) - self.b_test
        return float(0.5 * r @ r / len(self.b_test))


def ridge_task(seed: SeedLike = 0, n: int = 200, d: int = 20, noise: float = 1.0, n_test: int = 1000,
               per_feature: bool = True) -> RidgeHyperparameterTask:
    """Ridge regression data: ``n`` samples split evenly into training and validation, ``d`` Gaussian
    features, a true weight vector with half its entries zero and the rest standard normal, Gaussian
    noise of standard deviation ``noise``, and ``n_test`` test samples; one penalty per feature, or one
    shared (``per_feature=False``). The data do not depend on ``per_feature``."""
    owner = "ridge_task"
    n = check_int(n, "n", owner, low=4)
    d = check_int(d, "d", owner, low=1)
    n_test = check_int(n_test, "n_test", owner, low=1)
    noise = check_in_range(noise, "noise", owner, 0.0, low_open=False)
    rng = make_rng(seed)
    w = rng.standard_normal(d)
    w[rng.permutation(d)[: d // 2]] = 0.0

    def draw(m: int) -> tuple[Array, Array]:
        a = rng.standard_normal((m, d))
        return a, a @ w + noise * rng.standard_normal(m)

    a_tr, b_tr = draw(n // 2)
    a_val, b_val = draw(n - n // 2)
    a_te, b_te = draw(n_test)
    return RidgeHyperparameterTask(a_tr, b_tr, a_val, b_val, a_te, b_te, w, per_feature=bool(per_feature))
