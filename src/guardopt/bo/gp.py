"""A lean Gaussian process for Bayesian optimization: Matérn-5/2 ARD, constant mean, MAP hyperparameters.

Inputs live in the unit cube (what `Space.encode` produces); outputs are standardized before the
fit. The hyperparameters ``theta = (log lengthscales (d), log signal variance, log noise variance)``
are fitted by maximizing the log marginal likelihood plus log priors with L-BFGS-B and analytic
gradients; the constant mean is profiled out in closed form (its generalized-least-squares value),
so the gradient with respect to ``theta`` needs no extra term (envelope theorem).

Priors (on the log-parameters):

* lengthscales: ``log l_i ~ N(0, 1)`` (median lengthscale = the width of the unit cube). The
  dimension-scaled prior ``N(sqrt(2) + log(d) / 2, 3)`` of Hvarfner, Hellsten & Nardi (2024),
  "Vanilla Bayesian Optimization Performs Great in High Dimensions" (BoTorch's default), is
  available (`GPPrior.for_dim` with ``scaled=True``; ``GPOptimizer(lengthscale_prior="dim-scaled")``)
  but is not the default: on Hartmann6 (50 evaluations, seeds 0-9) it reached the global basin in
  3 of 10 seeds against 4 of 10 for ``N(0, 1)`` (``benchmarks/results/bo-basins.md``);
* signal variance: ``log s^2 ~ N(0, 1.5^2)`` (the outputs are standardized, so ``s^2 ~ 1``);
* noise variance: ``sigma^2 ~ Gamma(1.1, rate 30)`` (mode ~0.003 of the output variance), floored
  at ``1e-8`` (Branin, 8 seeds: median log10 regret -4.6 with this floor, -3.7 with ``1e-6``), which
  lets exact functions be interpolated and noisy ones smoothed.

Posterior formulas are those of Frazier (2018), "A Tutorial on Bayesian Optimization", eq. (3),
with ``lambda^2 I`` added for noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from guardopt.bo.linalg import cho_solve_lower, cholesky_lower, solve_lower
from guardopt.core.errors import InputDataError, as_float_array

SQRT5 = math.sqrt(5.0)
MIN_NOISE = 1e-8
MAX_NOISE = 1.0
JITTER = 1e-8
LOG_LS_BOUNDS = (math.log(5e-3), math.log(1e3))
LOG_SF2_BOUNDS = (math.log(1e-2), math.log(1e2))


def matern52(x1: np.ndarray, x2: np.ndarray, lengthscales: np.ndarray, signal_var: float) -> np.ndarray:
    """Matérn-5/2 ARD kernel matrix.

    Args:
        x1: Points, shape ``(n, d)``.
        x2: Points, shape ``(m, d)``.
        lengthscales: Shape ``(d,)``.
        signal_var: The kernel's variance ``s^2``.

    Returns:
        ``K`` of shape ``(n, m)``: ``s^2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)`` with
        ``r^2 = sum_i (x1_i - x2_i)^2 / l_i^2``.
    """
    a = x1 / lengthscales
    b = x2 / lengthscales
    r2 = np.maximum(np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None, :] - 2 * a @ b.T, 0.0)
    r = np.sqrt(r2)
    return np.asarray(signal_var * (1 + SQRT5 * r + 5.0 / 3.0 * r2) * np.exp(-SQRT5 * r))


def matern52_parts(x: np.ndarray, ls: np.ndarray, sf2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matérn-5/2 matrix ``K`` (n, n) of ``x`` (n, d), ``g(r)`` with ``dK/dlog l_i = g(r) d2_i``, and ``d2`` (n, n, d).

    ``d2_i`` holds the squared scaled differences in column ``i``: what a likelihood's lengthscale
    gradient contracts against.
    """
    diff = (x[:, None, :] - x[None, :, :]) / ls
    d2 = diff**2
    r = np.sqrt(np.sum(d2, -1))
    e = np.exp(-SQRT5 * r)
    kmat = sf2 * (1 + SQRT5 * r + 5.0 / 3.0 * r**2) * e
    return kmat, sf2 * (5.0 / 3.0) * (1 + SQRT5 * r) * e, d2


@dataclass(frozen=True)
class GPPrior:
    """Priors on the log-hyperparameters (see the module docstring).

    ``ls_kind="inv_sq"`` replaces the log-normal lengthscale prior by ``-(w / lam + w lam)`` on
    ``lam = 1 / l^2`` (weight ``ls_weight``), which penalizes short and long lengthscales alike.
    """

    ls_mean: float = 0.0
    ls_std: float = 1.0
    sf2_std: float = 1.5
    noise_shape: float = 1.1
    noise_rate: float = 30.0
    ls_kind: str = "lognormal"
    ls_weight: float = 0.1

    @staticmethod
    def for_dim(d: int, scaled: bool = False) -> GPPrior:
        """The default prior; ``scaled=True`` gives Hvarfner et al.'s dimension-scaled lengthscale prior."""
        if scaled:
            return GPPrior(ls_mean=math.sqrt(2.0) + 0.5 * math.log(max(d, 1)), ls_std=math.sqrt(3.0))
        return GPPrior()

    def initial_theta(self, d: int) -> np.ndarray:
        """A starting point: lengthscales a bit shorter than the prior median, unit variance, small noise."""
        return np.concatenate([np.full(d, min(self.ls_mean - 1.0, math.log(2.0))), [0.0, math.log(1e-3)]])

    def log_density(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Log prior density of ``theta`` (up to a constant) and its gradient."""
        d = theta.size - 2
        grad = np.zeros_like(theta)
        if self.ls_kind == "inv_sq":
            # -(a / lam + a lam) on lam = 1 / l^2 = exp(-2 log l): penalizes short and long lengthscales
            up, down = np.exp(2 * theta[:d]), np.exp(-2 * theta[:d])
            lp = -self.ls_weight * float(np.sum(up + down))
            grad[:d] = -self.ls_weight * 2 * (up - down)
        else:
            z = (theta[:d] - self.ls_mean) / self.ls_std
            lp = -0.5 * float(np.sum(z**2))
            grad[:d] = -z / self.ls_std
        lp += -0.5 * (theta[d] / self.sf2_std) ** 2
        grad[d] = -theta[d] / self.sf2_std**2
        # Gamma(k, rate) on v = exp(theta_n), density in theta: k * theta_n - rate * exp(theta_n).
        v = math.exp(theta[d + 1])
        lp += self.noise_shape * theta[d + 1] - self.noise_rate * v
        grad[d + 1] = self.noise_shape - self.noise_rate * v
        return lp, grad


def neg_log_posterior(theta: np.ndarray, x: np.ndarray, y: np.ndarray, prior: GPPrior) -> tuple[float, np.ndarray]:
    """Negative (log marginal likelihood + log prior) and its gradient in ``theta``.

    Args:
        theta: ``(log l (d), log s^2, log sigma^2)``, shape ``(d + 2,)``.
        x: Inputs, shape ``(n, d)``.
        y: Standardized outputs, shape ``(n,)``.
        prior: The hyperparameter priors.
    """
    nll, grad = neg_log_likelihood(theta, x, y)
    lp, lp_grad = prior.log_density(theta)
    return nll - lp, grad - lp_grad


def neg_log_likelihood(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood (GLS constant mean profiled out) and its gradient in ``theta``.

    Shapes as in `neg_log_posterior`; a covariance that does not factorize gives ``(1e10, 0)``.
    """
    n, d = x.shape
    ls = np.exp(theta[:d])
    sf2 = math.exp(theta[d])
    noise = math.exp(theta[d + 1])
    kc, g, d2 = matern52_parts(x, ls, sf2)
    k = kc + (noise + JITTER) * np.eye(n)
    try:
        chol = cholesky_lower(k)
    except np.linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    ones = np.ones(n)
    k_inv_y = cho_solve_lower(chol, y)
    k_inv_1 = cho_solve_lower(chol, ones)
    mean = float(ones @ k_inv_y / (ones @ k_inv_1))
    alpha = k_inv_y - mean * k_inv_1
    resid = y - mean
    nll = 0.5 * float(resid @ alpha) + float(np.sum(np.log(np.diag(chol)))) + 0.5 * n * math.log(2 * math.pi)
    k_inv = cho_solve_lower(chol, np.eye(n))
    w = k_inv - np.outer(alpha, alpha)  # d nll / d theta = 0.5 tr(W dK/dtheta)
    grad = np.empty_like(theta)
    grad[:d] = 0.5 * np.einsum("jk,jki->i", w * g, d2)
    grad[d] = 0.5 * float(np.sum(w * kc))
    grad[d + 1] = 0.5 * noise * float(np.trace(w))
    return nll, grad


def fit_hyperparameters(
    x: np.ndarray,
    y: np.ndarray,
    prior: GPPrior,
    starts: list[np.ndarray],
    maxiter: int = 200,
    fixed_noise: float | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """MAP hyperparameters by L-BFGS-B from each start; returns the best ``theta`` (shape ``(d + 2,)``).

    Args:
        x: Inputs, shape ``(n, d)``.
        y: Standardized outputs, shape ``(n,)``.
        prior: Hyperparameter priors.
        starts: Starting points (e.g. the previous fit, for a warm start, and the prior's), shape ``(d + 2,)``.
        maxiter: L-BFGS-B iterations per start.
        fixed_noise: Fix the noise variance (standardized units) instead of fitting it.
        groups: Tie lengthscales: column ``i`` uses lengthscale ``groups[i]`` (integers ``0..g-1``,
            shape ``(d,)``). The prior then counts each tied lengthscale once. The returned ``theta``
            is still one lengthscale per column (equal within a group).
    """
    if groups is not None:
        return _fit_tied(x, y, prior, starts, maxiter, fixed_noise, np.asarray(groups, dtype=int))
    d = x.shape[1]
    lo_noise = math.log(MIN_NOISE) if fixed_noise is None else math.log(fixed_noise)
    hi_noise = math.log(MAX_NOISE) if fixed_noise is None else math.log(fixed_noise)
    bounds = [LOG_LS_BOUNDS] * d + [LOG_SF2_BOUNDS, (lo_noise, hi_noise)]
    best_theta, best_val = None, math.inf
    for start in starts:
        t0 = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
        res = minimize(neg_log_posterior, t0, args=(x, y, prior), jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": maxiter})
        if np.isfinite(res.fun) and res.fun < best_val:
            best_theta, best_val = np.asarray(res.x), float(res.fun)
    if best_theta is None:
        return np.clip(starts[0], [b[0] for b in bounds], [b[1] for b in bounds])
    return best_theta


def _fit_tied(x: np.ndarray, y: np.ndarray, prior: GPPrior, starts: list[np.ndarray], maxiter: int,
              fixed_noise: float | None, groups: np.ndarray) -> np.ndarray:
    g = int(groups.max()) + 1
    first = np.array([int(np.flatnonzero(groups == k)[0]) for k in range(g)])
    d = x.shape[1]

    def expand(t: np.ndarray) -> np.ndarray:
        return np.concatenate([t[:g][groups], t[g:]])

    def objective(t: np.ndarray) -> tuple[float, np.ndarray]:
        nll, grad = neg_log_likelihood(expand(t), x, y)
        lp, lp_grad = prior.log_density(t)
        # Chain rule: a tied lengthscale's gradient is the sum over the columns that share it.
        g_red = np.concatenate([np.bincount(groups, weights=grad[:d], minlength=g), grad[d:]])
        return nll - lp, g_red - lp_grad

    lo_noise = math.log(MIN_NOISE) if fixed_noise is None else math.log(fixed_noise)
    hi_noise = math.log(MAX_NOISE) if fixed_noise is None else math.log(fixed_noise)
    bounds = [LOG_LS_BOUNDS] * g + [LOG_SF2_BOUNDS, (lo_noise, hi_noise)]
    lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    best_theta, best_val = None, math.inf
    for start in starts:
        t0 = np.clip(np.concatenate([np.asarray(start)[:d][first], np.asarray(start)[d:]]), lo, hi)
        res = minimize(objective, t0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
        if np.isfinite(res.fun) and res.fun < best_val:
            best_theta, best_val = np.asarray(res.x), float(res.fun)
    if best_theta is None:
        s0 = np.asarray(starts[0])
        best_theta = np.clip(np.concatenate([s0[:d][first], s0[d:]]), lo, hi)
    return expand(best_theta)


def check_gp_data(x: Any, y: Any, theta: Any, owner: str, extra: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate GP training data: ``x`` ``(n, d)``, ``y`` ``(n,)``, ``theta`` ``(d + extra,)``, all finite.

    ``theta`` holds log hyperparameters: beyond ``±700`` their exponential overflows.
    """
    xa = as_float_array(x, "x", owner, finite=True)
    ya = as_float_array(y, "y", owner, finite=True)
    ta = as_float_array(theta, "theta", owner, finite=True)
    if xa.ndim != 2 or xa.shape[0] == 0 or xa.shape[1] == 0:
        raise InputDataError(f"The 'x' argument of {owner} must have shape (n, d) with n, d >= 1. Got {xa.shape}.")
    if ya.shape != (xa.shape[0],):
        raise InputDataError(f"The 'y' argument of {owner} must have shape ({xa.shape[0]},), one value per row of "
                             f"x. Got {ya.shape}.")
    if ta.shape != (xa.shape[1] + extra,):
        raise InputDataError(f"The 'theta' argument of {owner} must have shape ({xa.shape[1] + extra},). "
                             f"Got {ta.shape}.")
    if (np.abs(ta) > 700.0).any():
        raise InputDataError(f"The 'theta' argument of {owner} holds log hyperparameters, which must lie in "
                             f"[-700, 700]. Got {ta.tolist()}.")
    return xa, ya, ta


def factorize(k: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Cholesky factor of the train covariance ``k`` (n, n), the GLS constant mean, and ``alpha``.

    Jitter grows from 1e-6 until the factorization succeeds. ``alpha = K^{-1}(y - m)`` with ``m`` the
    generalized-least-squares estimate of a constant mean, so the posterior mean is ``m + k_* alpha``.
    """
    n = k.shape[0]
    if not np.isfinite(k).all():
        # NaN never factorizes, so the jitter loop below would grow forever.
        raise InputDataError("The covariance of a GaussianProcess is not finite; check its 'x' and 'theta'.")
    jitter = 0.0
    limit = 1e6 * max(float(np.max(np.abs(np.diag(k)), initial=0.0)), 1.0)
    while True:
        try:
            chol = cholesky_lower(k + jitter * np.eye(n))
            break
        except np.linalg.LinAlgError:
            jitter = max(10 * jitter, 1e-6)
            if jitter > limit:
                raise InputDataError("The covariance of a GaussianProcess cannot be factorized even with jitter "
                                     f"{jitter:g}; check its 'x' and 'theta'.") from None
    ones = np.ones(n)
    k_inv_y = cho_solve_lower(chol, y)
    k_inv_1 = cho_solve_lower(chol, ones)
    mean_const = float(ones @ k_inv_y / (ones @ k_inv_1))
    return chol, mean_const, k_inv_y - mean_const * k_inv_1


class GaussianProcess:
    """GP posterior for fixed hyperparameters, on standardized outputs.

    Args:
        x: Training inputs in the unit cube, shape ``(n, d)``.
        y: Training outputs (already standardized by the caller), shape ``(n,)``.
        theta: ``(log l (d), log s^2, log sigma^2)``.

    The constant mean is the generalized-least-squares estimate. All predictions are of the latent
    function ``f`` (without observation noise), in the standardized units of ``y``.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, theta: np.ndarray) -> None:
        self.x, self.y, self.theta = check_gp_data(x, y, theta, "GaussianProcess", extra=2)
        d = self.x.shape[1]
        self.lengthscales = np.exp(self.theta[:d])
        self.signal_var = math.exp(self.theta[d])
        self.noise_var = math.exp(self.theta[d + 1])
        n = self.x.shape[0]
        k = matern52(self.x, self.x, self.lengthscales, self.signal_var) + (self.noise_var + JITTER) * np.eye(n)
        self.chol, self.mean_const, self.alpha = factorize(k, self.y)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Prior covariance ``k(a, b)``, shape ``(len(a), len(b))``."""
        return matern52(np.atleast_2d(a), np.atleast_2d(b), self.lengthscales, self.signal_var)

    def _v(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ks = self.kernel(xs, self.x)  # (m, n)
        v = solve_lower(self.chol, ks.T)  # (n, m)
        return ks, v

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of ``f`` at ``xs`` (shape ``(m, d)``); both of shape ``(m,)``."""
        xs = np.atleast_2d(xs)
        ks, v = self._v(xs)
        mu = self.mean_const + ks @ self.alpha
        var = np.maximum(self.signal_var - np.sum(v**2, 0), 1e-12)
        return mu, var

    def predict_with_grad(self, x: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients in ``x`` at one point ``x`` (shape ``(d,)``)."""
        x = np.asarray(x, dtype=float)
        diff = (x[None, :] - self.x) / self.lengthscales  # (n, d)
        r = np.sqrt(np.sum(diff**2, 1))
        e = np.exp(-SQRT5 * r)
        ks = self.signal_var * (1 + SQRT5 * r + 5.0 / 3.0 * r**2) * e
        # dk/dx = -g(r) (x - x_j) / l^2, g(r) = s^2 (5/3)(1 + sqrt5 r) exp(-sqrt5 r)
        # (dk/dr = -r g(r), which avoids 0/0 at r = 0); one exp serves k and g
        g = self.signal_var * (5.0 / 3.0) * (1 + SQRT5 * r) * e
        dks = -g[:, None] * diff / self.lengthscales  # (n, d)
        mu = self.mean_const + float(ks @ self.alpha)
        k_inv_ks = cho_solve_lower(self.chol, ks)
        var = self.signal_var - float(ks @ k_inv_ks)
        dmu = dks.T @ self.alpha
        dvar = -2.0 * dks.T @ k_inv_ks
        if var < 1e-12:
            return mu, 1e-12, dmu, np.zeros_like(dvar)
        return mu, var, dmu, dvar

    def covariance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Posterior covariance of ``f`` between the rows of ``a`` (``(p, d)``) and ``b`` (``(q, d)``)."""
        _, va = self._v(np.atleast_2d(a))
        _, vb = self._v(np.atleast_2d(b))
        return np.asarray(self.kernel(a, b) - va.T @ vb)

    def condition_on(self, x_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
        """The posterior after also observing ``y_new`` at ``x_new`` (same hyperparameters; for fantasies)."""
        return GaussianProcess(np.vstack([self.x, np.atleast_2d(x_new)]),
                               np.concatenate([self.y, np.atleast_1d(y_new)]), self.theta)


@dataclass
class Standardizer:
    """Affine map of outputs to zero mean, unit standard deviation (identity scale for constant data)."""

    mean: float
    std: float

    @staticmethod
    def fit(y: np.ndarray) -> Standardizer:
        y = np.asarray(y, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = float(np.mean(y)), float(np.std(y))
            if not (math.isfinite(mean) and math.isfinite(std)) and np.isfinite(y).all():
                # Values near the float64 limit (1e308 and -1e308): the plain sums overflow, the
                # same moments of y / max|y| do not.
                scale = float(np.max(np.abs(y)))
                mean, std = float(np.mean(y / scale)) * scale, float(np.std(y / scale)) * scale
        return Standardizer(mean, std if std > 1e-12 else 1.0)

    def transform(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            z = (y - self.mean) / self.std
            if not np.isfinite(z).all():  # y - mean overflowed; the same map, in another order
                z = y / self.std - self.mean / self.std
        return np.asarray(z)


def central_difference_prediction_grad(
    predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], x: np.ndarray, h: float = 1e-6
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Posterior mean, variance and their gradients at one point ``x`` (shape (d,)) by central differences.

    For GPs whose kernel has no analytic gradient here (the fidelity and the conditional GP): they
    polish only a handful of candidates, so 2d + 1 predictions in one batch are cheap and exactness
    is not needed.
    """
    x = np.asarray(x, dtype=float)
    pts = np.vstack([x, x + h * np.eye(x.size), x - h * np.eye(x.size)])
    mu, var = predict(pts)
    m = x.size
    return float(mu[0]), float(var[0]), (mu[1:m + 1] - mu[m + 1:]) / (2 * h), (var[1:m + 1] - var[m + 1:]) / (2 * h)
