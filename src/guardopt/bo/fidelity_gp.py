"""A GP for multi-fidelity BO whose low fidelities are the target function plus a vanishing discrepancy.

The model is ``f(x, s) = g(x) + w(s) h(x, s)`` with independent GP priors on the target function
``g`` and the discrepancy ``h``, and a weight that is zero at the target fidelity. Its kernel, on the
encoded unit cube with the fidelity column ``u`` and the target ``t`` (``t = 1`` for the usual
"highest fidelity is the target"),

    k((x, u), (x', u')) = k_0(x, x') + (t - u)(t - u')(1 + u u') k_1(x, x'),

with Matérn-5/2 ARD kernels ``k_0`` and ``k_1`` over the design columns only, is BoTorch's
``LinearTruncatedFidelityKernel`` with power 1 (Wu, Toscano-Palmerin, Frazier & Wilson (2019),
"Practical Multi-fidelity Bayesian Optimization for Hyperparameter Tuning", §3 and their code). The
discrepancy weight ``(t - u)(t - u')(1 + u u')`` spans the features ``(t - u)`` and ``(t - u) u``,
so a discrepancy that is linear or quadratic in ``1 - s`` is modelled exactly; at the target
fidelity the kernel is ``k_0``, so observations there inform ``g`` without any fidelity bias. A plain
stationary Matérn over ``(x, s)`` has no such structure: it cannot tell that the bias of a cheap
fidelity vanishes at the target and varies with ``x``.

``theta = (log l_0 (d'), log s_0^2, log noise, log l_1 (d'), log s_1^2)`` with ``d' = d - 1``; the
hyperparameters are MAP estimates with the same priors as `guardopt.bo.gp` (the discrepancy's
variance with a prior median of 0.1 of the output variance: cheap fidelities are assumed to be
informative until the data say otherwise).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_solve, cholesky
from scipy.optimize import minimize

from guardopt.bo.gp import (
    JITTER,
    LOG_LS_BOUNDS,
    LOG_SF2_BOUNDS,
    MAX_NOISE,
    MIN_NOISE,
    GaussianProcess,
    GPPrior,
    central_difference_prediction_grad,
    check_gp_data,
    factorize,
    matern52,
)

_DISCREPANCY_LOG_SF2_MEAN = math.log(0.1)


class FidelityKernel:
    """``k_0(x, x') + (t - u)(t - u')(1 + u u') k_1(x, x')`` (see the module docstring).

    Args:
        fid_col: The fidelity column of the encoded inputs.
        target: The target fidelity in encoded units (in ``[0, 1]``).
        theta: ``(log l_0 (d'), log s_0^2, log noise, log l_1 (d'), log s_1^2)``.
        dim: The encoded dimension ``d`` (design columns plus the fidelity column).
    """

    def __init__(self, fid_col: int, target: float, theta: np.ndarray, dim: int) -> None:
        self.fid_col = fid_col
        self.target = float(target)
        self.cols = np.array([c for c in range(dim) if c != fid_col], dtype=int)
        k = self.cols.size
        theta = np.asarray(theta, dtype=float)
        self.ls0 = np.exp(theta[:k])
        self.sf0 = math.exp(theta[k])
        self.noise = math.exp(theta[k + 1])
        self.ls1 = np.exp(theta[k + 2: 2 * k + 2])
        self.sf1 = math.exp(theta[2 * k + 2])

    def weight(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ua, ub = a[:, self.fid_col], b[:, self.fid_col]
        return np.asarray(np.outer(self.target - ua, self.target - ub) * (1.0 + np.outer(ua, ub)))

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.atleast_2d(a), np.atleast_2d(b)
        xa, xb = a[:, self.cols], b[:, self.cols]
        return np.asarray(matern52(xa, xb, self.ls0, self.sf0)
                          + self.weight(a, b) * matern52(xa, xb, self.ls1, self.sf1))

    def diag(self, a: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(a)[:, self.fid_col]
        return np.asarray(self.sf0 + (self.target - u) ** 2 * (1.0 + u * u) * self.sf1)


def initial_theta(dim: int, prior: GPPrior) -> np.ndarray:
    """A starting point: the plain GP's start for ``g`` and a small discrepancy."""
    k = dim - 1
    ls = min(prior.ls_mean - 1.0, math.log(2.0))
    return np.concatenate([np.full(k, ls), [0.0, math.log(1e-3)], np.full(k, ls), [_DISCREPANCY_LOG_SF2_MEAN]])


def neg_log_posterior(theta: np.ndarray, x: np.ndarray, y: np.ndarray, fid_col: int, target: float,
                      prior: GPPrior) -> float:
    """Negative (log marginal likelihood + log prior), GLS constant mean profiled out."""
    n, d = x.shape
    kern = FidelityKernel(fid_col, target, theta, d)
    kmat = kern(x, x) + (kern.noise + JITTER) * np.eye(n)
    try:
        chol = cholesky(kmat, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e10
    ones = np.ones(n)
    k_inv_y = cho_solve((chol, True), y, check_finite=False)
    k_inv_1 = cho_solve((chol, True), ones, check_finite=False)
    mean = float(ones @ k_inv_y / (ones @ k_inv_1))
    resid = y - mean
    alpha = k_inv_y - mean * k_inv_1
    nll = 0.5 * float(resid @ alpha) + float(np.sum(np.log(np.diag(chol)))) + 0.5 * n * math.log(2 * math.pi)
    k = d - 1
    # The target part and the noise take the plain GP's priors; the discrepancy's lengthscales the
    # same lengthscale prior, its variance a log-normal prior centred at 0.1.
    lp, _ = prior.log_density(theta[: k + 2])
    z = (theta[k + 2: 2 * k + 2] - prior.ls_mean) / prior.ls_std
    lp += -0.5 * float(np.sum(z**2)) - 0.5 * ((theta[2 * k + 2] - _DISCREPANCY_LOG_SF2_MEAN) / prior.sf2_std) ** 2
    return nll - lp


def fit_hyperparameters(x: np.ndarray, y: np.ndarray, fid_col: int, target: float, prior: GPPrior,
                        starts: list[np.ndarray], maxiter: int = 200,
                        fixed_noise: float | None = None) -> np.ndarray:
    """MAP ``theta`` of the fidelity kernel by L-BFGS-B (finite-difference gradients) from each start."""
    k = x.shape[1] - 1
    lo_noise = math.log(MIN_NOISE) if fixed_noise is None else math.log(fixed_noise)
    hi_noise = math.log(MAX_NOISE) if fixed_noise is None else math.log(fixed_noise)
    bounds = [LOG_LS_BOUNDS] * k + [LOG_SF2_BOUNDS, (lo_noise, hi_noise)] + [LOG_LS_BOUNDS] * k + [
        (math.log(1e-4), LOG_SF2_BOUNDS[1])]
    lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    best_theta, best_val = None, math.inf
    for start in starts:
        res = minimize(neg_log_posterior, np.clip(start, lo, hi), args=(x, y, fid_col, target, prior),
                       method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
        if np.isfinite(res.fun) and res.fun < best_val:
            best_theta, best_val = np.asarray(res.x), float(res.fun)
    return np.clip(starts[0], lo, hi) if best_theta is None else best_theta


class FidelityGP(GaussianProcess):
    """`GaussianProcess` with the `FidelityKernel`; the same interface (predictions of the latent ``f``).

    Args:
        x: Training inputs in the unit cube, shape ``(n, d)``; column ``fid_col`` is the fidelity.
        y: Standardized outputs, shape ``(n,)``.
        theta: See `FidelityKernel`.
        fid_col: The fidelity column.
        target: The target fidelity in encoded units.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, theta: np.ndarray, fid_col: int, target: float) -> None:
        d = np.shape(x)[1] if np.ndim(x) == 2 else 0
        self.x, self.y, self.theta = check_gp_data(x, y, theta, "FidelityGP", extra=d + 1)
        self.fid_col, self.target = fid_col, float(target)
        self._kern = FidelityKernel(fid_col, target, self.theta, self.x.shape[1])
        self.noise_var = self._kern.noise
        self.signal_var = self._kern.sf0
        n = self.x.shape[0]
        k = self._kern(self.x, self.x) + (self.noise_var + JITTER) * np.eye(n)
        self.chol, self.mean_const, self.alpha = factorize(k, self.y)

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._kern(a, b)

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xs = np.atleast_2d(xs)
        ks, v = self._v(xs)
        mu = self.mean_const + ks @ self.alpha
        var = np.maximum(self._kern.diag(xs) - np.sum(v**2, 0), 1e-12)
        return mu, var

    def predict_with_grad(self, x: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        return central_difference_prediction_grad(self.predict, x)

    def condition_on(self, x_new: np.ndarray, y_new: np.ndarray) -> FidelityGP:
        return FidelityGP(np.vstack([self.x, np.atleast_2d(x_new)]), np.concatenate([self.y, np.atleast_1d(y_new)]),
                          self.theta, self.fid_col, self.target)
