"""A GP for multi-fidelity BO whose low fidelities are the target function plus a vanishing discrepancy.

The model is ``f(x, s) = g(x) + w(s) h(x, s)`` with independent GP priors on the target function
``g`` and the discrepancy ``h``, and a weight that is zero at the target fidelity. Its kernel, on the
encoded unit cube with the fidelity column ``u`` and the target ``t`` (``t = 1`` for the usual
"highest fidelity is the target"),

    k((x, u), (x', u')) = k_0(x, x') + (t - u)(t - u')(1 + u u')^p k_1(x, x'),

with Matérn-5/2 ARD kernels ``k_0`` and ``k_1`` over the design columns only, is BoTorch's
``LinearTruncatedFidelityKernel`` (Wu, Toscano-Palmerin, Frazier & Wilson (2019), "Practical
Multi-fidelity Bayesian Optimization for Hyperparameter Tuning", §3 and their code), whose power
``p > 0`` is a hyperparameter. With ``p = 1`` the weight spans the features ``(t - u)`` and
``(t - u) u``, so a discrepancy that is linear or quadratic in ``1 - s`` is modelled exactly; a
larger ``p`` adds higher powers of ``u u'`` (for an integer ``p``, the features ``(t - u) u^j``,
``j <= p``), a smaller one flattens the weight's growth in ``u``. At the target fidelity the kernel
is ``k_0``, so observations there inform ``g`` without any fidelity bias. A plain stationary Matérn
over ``(x, s)`` has no such structure: it cannot tell that the bias of a cheap fidelity vanishes at
the target and varies with ``x``.

``theta = (log l_0 (d'), log s_0^2, log noise, log l_1 (d'), log s_1^2, log p)`` with ``d' = d - 1``;
the hyperparameters are MAP estimates (L-BFGS-B, analytic gradients) with the same priors as
`guardopt.bo.gp` for the target part and the noise, the same lengthscale prior for the discrepancy,
a log-normal prior with median 0.1 of the output variance on the discrepancy's variance (cheap
fidelities are assumed to be informative until the data say otherwise), and BoTorch's prior on the
power, ``p ~ Gamma(3, rate 3)`` (``SingleTaskMultiFidelityGP``'s choice; its mode on ``log p`` is
``p = 1``). A ``theta`` without the last entry is the kernel with ``p = 1``; ``fit_hyperparameters``
can also hold ``p`` fixed (``fixed_power``). On augmented Branin, whose discrepancy is quadratic in
``1 - s`` (spanned at ``p = 1``), the fitted power stayed near 1 (median 1.02 over 16 seeds at the
end of a run) and learning it did not lower the regret (the numbers are in `guardopt.bo.optimizer`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
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
    matern52_parts,
)
from guardopt.bo.linalg import cho_solve_lower, cholesky_lower
from guardopt.core.errors import InvalidParameterError, as_float_array

_DISCREPANCY_LOG_SF2_MEAN = math.log(0.1)
# BoTorch's prior on the power (SingleTaskMultiFidelityGP with linear_truncated=True): Gamma(3, rate 3),
# mean 1. On log p (with the Jacobian, as for the noise variance) its density is 3 log p - 3 p, whose
# mode is p = 1: the fixed-power model is the prior's favourite, and only the data move p away from it.
POWER_PRIOR_SHAPE = 3.0
POWER_PRIOR_RATE = 3.0
LOG_POWER_BOUNDS = (math.log(1e-2), math.log(10.0))


def full_theta(theta: np.ndarray, dim: int) -> np.ndarray:
    """``theta`` with the log power: a ``theta`` without it (length ``2 d + 1``) has power 1 (log power 0)."""
    theta = np.asarray(theta, dtype=float)
    return np.append(theta, 0.0) if theta.size == 2 * dim + 1 else theta


class FidelityKernel:
    """``k_0(x, x') + (t - u)(t - u')(1 + u u')^p k_1(x, x')`` (see the module docstring).

    Args:
        fid_col: The fidelity column of the encoded inputs.
        target: The target fidelity in encoded units (in ``[0, 1]``).
        theta: ``(log l_0 (d'), log s_0^2, log noise, log l_1 (d'), log s_1^2, log p)``, shape
            ``(2 d + 2,)``; without the last entry (shape ``(2 d + 1,)``) the power is 1.
        dim: The encoded dimension ``d`` (design columns plus the fidelity column).
    """

    def __init__(self, fid_col: int, target: float, theta: np.ndarray, dim: int) -> None:
        self.fid_col = fid_col
        self.target = float(target)
        self.cols = np.array([c for c in range(dim) if c != fid_col], dtype=int)
        k = self.cols.size
        theta = full_theta(theta, dim)
        self.ls0 = np.exp(theta[:k])
        self.sf0 = math.exp(theta[k])
        self.noise = math.exp(theta[k + 1])
        self.ls1 = np.exp(theta[k + 2: 2 * k + 2])
        self.sf1 = math.exp(theta[2 * k + 2])
        self.power = math.exp(theta[2 * k + 3])

    def _fid(self, a: np.ndarray) -> np.ndarray:
        # Encoded fidelities lie in [0, 1]; clipping (as BoTorch does) keeps 1 + u u' > 0 for any power.
        return np.clip(a[:, self.fid_col], 0.0, 1.0)

    def weight(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The discrepancy weight ``(t - u)(t - u')(1 + u u')^p``, shape ``(len(a), len(b))``."""
        ua, ub = self._fid(a), self._fid(b)
        return np.asarray(np.outer(self.target - ua, self.target - ub) * (1.0 + np.outer(ua, ub)) ** self.power)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.atleast_2d(a), np.atleast_2d(b)
        xa, xb = a[:, self.cols], b[:, self.cols]
        return np.asarray(matern52(xa, xb, self.ls0, self.sf0)
                          + self.weight(a, b) * matern52(xa, xb, self.ls1, self.sf1))

    def diag(self, a: np.ndarray) -> np.ndarray:
        u = self._fid(np.atleast_2d(a))
        return np.asarray(self.sf0 + (self.target - u) ** 2 * (1.0 + u * u) ** self.power * self.sf1)


def initial_theta(dim: int, prior: GPPrior) -> np.ndarray:
    """A starting point: the plain GP's start for ``g``, a small discrepancy and power 1 (shape ``(2 d + 2,)``)."""
    k = dim - 1
    ls = min(prior.ls_mean - 1.0, math.log(2.0))
    return np.concatenate([np.full(k, ls), [0.0, math.log(1e-3)], np.full(k, ls), [_DISCREPANCY_LOG_SF2_MEAN, 0.0]])


def neg_log_posterior(theta: np.ndarray, x: np.ndarray, y: np.ndarray, fid_col: int, target: float,
                      prior: GPPrior) -> tuple[float, np.ndarray]:
    """Negative (log marginal likelihood + log prior), GLS constant mean profiled out, and its gradient.

    Args:
        theta: See `FidelityKernel`: shape ``(2 d + 2,)`` (learned power) or ``(2 d + 1,)`` (power 1, no
            power prior, and the gradient has the same shape).
        x: Encoded inputs, shape ``(n, d)``; column ``fid_col`` is the fidelity.
        y: Standardized outputs, shape ``(n,)``.
        fid_col, target: As in `FidelityKernel`.
        prior: Priors of the target part and the noise (`guardopt.bo.gp.GPPrior`).

    The gradient is analytic: ``d nll / d theta_j = tr(W dK/dtheta_j) / 2`` with
    ``W = K^-1 - alpha alpha^T`` (the profiled mean needs no extra term, by the envelope theorem), and
    ``dK/dlog p = p log(1 + u u') (t - u)(t - u')(1 + u u')^p k_1``. A covariance that does not
    factorize gives ``(1e10, 0)``.
    """
    theta = np.asarray(theta, dtype=float)
    n, d = x.shape
    k = d - 1
    learned_power = theta.size == 2 * d + 2
    th = full_theta(theta, d)
    kern = FidelityKernel(fid_col, target, th, d)
    xs = x[:, kern.cols]
    k0, g0, d2_0 = matern52_parts(xs, kern.ls0, kern.sf0)
    k1, g1, d2_1 = matern52_parts(xs, kern.ls1, kern.sf1)
    u = np.clip(x[:, fid_col], 0.0, 1.0)
    base = 1.0 + np.outer(u, u)
    weight = np.outer(kern.target - u, kern.target - u) * base**kern.power
    wk1 = weight * k1
    kmat = k0 + wk1 + (kern.noise + JITTER) * np.eye(n)
    try:
        chol = cholesky_lower(kmat)
    except (np.linalg.LinAlgError, ValueError):
        return 1e10, np.zeros_like(theta)
    ones = np.ones(n)
    k_inv_y = cho_solve_lower(chol, y)
    k_inv_1 = cho_solve_lower(chol, ones)
    mean = float(ones @ k_inv_y / (ones @ k_inv_1))
    resid = y - mean
    alpha = k_inv_y - mean * k_inv_1
    nll = 0.5 * float(resid @ alpha) + float(np.sum(np.log(np.diag(chol)))) + 0.5 * n * math.log(2 * math.pi)
    if not math.isfinite(nll):
        return 1e10, np.zeros_like(theta)
    w = cho_solve_lower(chol, np.eye(n)) - np.outer(alpha, alpha)
    grad = np.empty(2 * d + 2)
    grad[:k] = 0.5 * np.einsum("jk,jki->i", w * g0, d2_0)
    grad[k] = 0.5 * float(np.sum(w * k0))
    grad[k + 1] = 0.5 * kern.noise * float(np.trace(w))
    # The discrepancy's Matérn is multiplied elementwise by the weight; so are its derivatives.
    grad[k + 2: 2 * k + 2] = 0.5 * np.einsum("jk,jki->i", w * weight * g1, d2_1)
    grad[2 * k + 2] = 0.5 * float(np.sum(w * wk1))
    grad[2 * k + 3] = 0.5 * kern.power * float(np.sum(w * wk1 * np.log(base)))
    # The target part and the noise take the plain GP's priors; the discrepancy's lengthscales the
    # same lengthscale prior, its variance a log-normal prior centred at 0.1, the power Gamma(3, 3).
    lp, lp_grad = prior.log_density(th[: k + 2])
    grad[: k + 2] -= lp_grad
    z = (th[k + 2: 2 * k + 2] - prior.ls_mean) / prior.ls_std
    lp += -0.5 * float(np.sum(z**2))
    grad[k + 2: 2 * k + 2] += z / prior.ls_std
    zs = (th[2 * k + 2] - _DISCREPANCY_LOG_SF2_MEAN) / prior.sf2_std
    lp += -0.5 * zs**2
    grad[2 * k + 2] += zs / prior.sf2_std
    if learned_power:
        lp += POWER_PRIOR_SHAPE * th[2 * k + 3] - POWER_PRIOR_RATE * kern.power
        grad[2 * k + 3] -= POWER_PRIOR_SHAPE - POWER_PRIOR_RATE * kern.power
        return nll - lp, grad
    return nll - lp, grad[: 2 * d + 1]


_FIT_OWNER = "fidelity_gp.fit_hyperparameters"


def _check_fidelity_data(x: Any, y: Any, theta: Any, fid_col: Any,
                         owner: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """`check_gp_data` for the fidelity kernel: ``theta`` of shape ``(2 d + 2,)`` or ``(2 d + 1,)``
    (power 1), and ``fid_col`` a column of ``x``. Returns ``x``, ``y``, ``theta`` and ``d``."""
    xa = as_float_array(x, "x", owner, finite=True)
    ta = as_float_array(theta, "theta", owner, finite=True)
    d = xa.shape[1] if xa.ndim == 2 else 0
    xa, ya, ta = check_gp_data(xa, y, ta, owner, extra=d + 1 if ta.size == 2 * d + 1 else d + 2)
    if isinstance(fid_col, bool) or not isinstance(fid_col, (int, np.integer)) or not 0 <= int(fid_col) < d:
        raise InvalidParameterError("fid_col", owner, f"a column index in [0, {d})", fid_col)
    return xa, ya, ta, d


def fit_hyperparameters(x: np.ndarray, y: np.ndarray, fid_col: int, target: float, prior: GPPrior,
                        starts: list[np.ndarray], maxiter: int = 200,
                        fixed_noise: float | None = None, fixed_power: float | None = None) -> np.ndarray:
    """MAP ``theta`` (shape ``(2 d + 2,)``) of the fidelity kernel (L-BFGS-B, analytic gradients).

    Args:
        x, y, fid_col, target, prior: As in `neg_log_posterior`.
        starts: Starting points, each of shape ``(2 d + 2,)`` (or ``(2 d + 1,)``: power 1).
        maxiter: L-BFGS-B iterations per start.
        fixed_noise: Fix the noise variance instead of fitting it.
        fixed_power: Fix the power ``p`` (1: the kernel with power 1) instead of fitting it.
    """
    # The same refusal of non-finite or mis-shaped data as `FidelityGP` (NaN would otherwise pass
    # silently: every likelihood evaluation fails and the start comes back as if it were a fit).
    if not starts:
        raise InvalidParameterError("starts", _FIT_OWNER, "a non-empty list of starting points", starts)
    x, y, _, _ = _check_fidelity_data(x, y, starts[0], fid_col, _FIT_OWNER)
    d = x.shape[1]
    k = d - 1
    lo_noise = math.log(MIN_NOISE) if fixed_noise is None else math.log(fixed_noise)
    hi_noise = math.log(MAX_NOISE) if fixed_noise is None else math.log(fixed_noise)
    power_bounds = LOG_POWER_BOUNDS if fixed_power is None else (math.log(fixed_power),) * 2
    bounds = [LOG_LS_BOUNDS] * k + [LOG_SF2_BOUNDS, (lo_noise, hi_noise)] + [LOG_LS_BOUNDS] * k + [
        (math.log(1e-4), LOG_SF2_BOUNDS[1]), power_bounds]
    lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    best_theta, best_val = None, math.inf
    for start in starts:
        t0 = np.clip(full_theta(start, d), lo, hi)
        res = minimize(neg_log_posterior, t0, args=(x, y, fid_col, target, prior), jac=True,
                       method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
        if np.isfinite(res.fun) and res.fun < best_val:
            best_theta, best_val = np.asarray(res.x), float(res.fun)
    return np.clip(full_theta(starts[0], d), lo, hi) if best_theta is None else best_theta


class FidelityGP(GaussianProcess):
    """`GaussianProcess` with the `FidelityKernel`; the same interface (predictions of the latent ``f``).

    Args:
        x: Training inputs in the unit cube, shape ``(n, d)``; column ``fid_col`` is the fidelity.
        y: Standardized outputs, shape ``(n,)``.
        theta: See `FidelityKernel`: shape ``(2 d + 2,)``, or ``(2 d + 1,)`` for power 1 (stored as
            ``(2 d + 2,)`` with log power 0).
        fid_col: The fidelity column.
        target: The target fidelity in encoded units.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, theta: np.ndarray, fid_col: int, target: float) -> None:
        x, y, theta, d = _check_fidelity_data(x, y, theta, fid_col, "FidelityGP")
        self.x, self.y, self.theta = x, y, full_theta(theta, d)
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
