"""Acquisition functions, written for *minimization* on standardized outputs.

Every function here is pure numpy/scipy on posterior means and standard deviations (or posterior
covariances), so each one can be checked by hand. Conventions: ``mu`` and ``sigma`` are the posterior
mean and standard deviation of the latent loss ``f``; ``best`` is the incumbent loss; larger
acquisition values are better.

References:
    Frazier (2018), "A Tutorial on Bayesian Optimization", arXiv 1807.02811: EI (eq. 7/8), KG (§4.2),
    entropy search (§4.3), noisy EI as KG over the evaluated points (§5), constraints (§5).
    Ament et al. (2023), "Unexpected Improvements to Expected Improvement for Bayesian
    Optimization" (NeurIPS 2023): the numerically stable log EI.
    Srinivas et al. (2010), "Gaussian Process Optimization in the Bandit Setting" (GP-UCB).
    Wang & Jegelka (2017), "Max-value Entropy Search for Efficient Bayesian Optimization" (MES).
    Frazier, Powell & Dayanik (2009), "The Knowledge-Gradient Policy for Correlated Normal Beliefs":
    the exact expectation of a maximum of lines.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
SQRT_HALF_PI = math.sqrt(math.pi / 2)


def _log_h(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log h(z)`` with ``h(z) = phi(z) + z Phi(z)``, and ``d log h / dz = Phi(z) / h(z)``, stably.

    ``h(z) = phi(z) (1 + z m(z))`` with the Mills ratio ``m(z) = Phi(z) / phi(z) = sqrt(pi/2)
    erfcx(-z / sqrt2)``; for very negative ``z`` the bracket cancels and its asymptotic series
    ``1/z^2 - 3/z^4 + 15/z^6`` is used instead.
    """
    z = np.asarray(z, dtype=float)
    high = z > 25.0  # h(z) = z up to phi(z) ~ 1e-137: avoid the overflow of erfcx(-z / sqrt2)
    zc = np.where(high, 0.0, z)
    m = SQRT_HALF_PI * erfcx(-zc / math.sqrt(2.0))
    bracket = 1.0 + zc * m
    far = zc < -25.0
    zf = np.where(far, zc, -30.0)
    asym = 1.0 / zf**2 - 3.0 / zf**4 + 15.0 / zf**6
    bracket = np.where(far, asym, np.maximum(bracket, 1e-300))
    log_phi = -0.5 * zc**2 - LOG_SQRT_2PI
    zh = np.where(high, z, 1.0)
    return np.where(high, np.log(zh), log_phi + np.log(bracket)), np.where(high, 1.0 / zh, m / bracket)


def _log_h_scalar(z: float) -> tuple[float, float]:
    """`_log_h` at one point, to the bit: the same numpy operations in the same order, on a scalar.

    The polish of the acquisition calls it once per L-BFGS-B step; the array version's masks cost
    ~40 microseconds a call there, this one ~4. ``np.square`` and ``np.power`` (not ``**``) keep the
    results identical (scalar ``**`` rounds differently in the last bit).
    """
    zz = np.float64(z)
    if zz > 25.0:
        return float(np.log(zz)), float(1.0 / zz)
    m = SQRT_HALF_PI * erfcx(-zz / math.sqrt(2.0))
    if zz < -25.0:
        bracket = 1.0 / np.square(zz) - 3.0 / np.power(zz, 4.0) + 15.0 / np.power(zz, 6.0)
    else:
        bracket = np.maximum(1.0 + zz * m, 1e-300)
    log_phi = -0.5 * np.square(zz) - LOG_SQRT_2PI
    return float(log_phi + np.log(bracket)), float(m / bracket)


def log_expected_improvement(mu: np.ndarray, sigma: np.ndarray, best: float) -> np.ndarray:
    """``log EI(x) = log E[max(best - f(x), 0)] = log sigma + log h(z)``, ``z = (best - mu) / sigma``.

    Frazier (2018) eq. (8) in minimization form; computed in log space so that EI values far below
    machine precision still rank candidates (Ament et al., 2023).

    Args:
        mu: Posterior means, shape ``(m,)``.
        sigma: Posterior standard deviations (``> 0``), shape ``(m,)``.
        best: Incumbent (lowest) loss.
    """
    sigma = np.maximum(np.asarray(sigma, dtype=float), 1e-12)
    z = (best - np.asarray(mu, dtype=float)) / sigma
    return np.asarray(np.log(sigma) + _log_h(z)[0])


def log_ei_grad(mu: float, sigma: float, best: float) -> tuple[float, float, float]:
    """``log EI`` and its partial derivatives in ``mu`` and ``sigma`` at one point."""
    sigma = max(sigma, 1e-12)
    z = (best - mu) / sigma
    lh, dz = _log_h_scalar(z)  # dz = Phi(z) / h(z)
    # d/dmu = -dz / sigma;  d/dsigma = 1/sigma - z dz / sigma = phi(z) / (h(z) sigma)
    return math.log(sigma) + lh, -dz / sigma, (1.0 - z * dz) / sigma


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, best: float) -> np.ndarray:
    """``EI(x) = (best - mu) Phi(z) + sigma phi(z)``, ``z = (best - mu) / sigma`` (Frazier 2018, eq. 8)."""
    return np.exp(log_expected_improvement(mu, sigma, best))


def upper_confidence_bound(mu: np.ndarray, sigma: np.ndarray, beta: float) -> np.ndarray:
    """GP-UCB for minimization: ``-(mu - sqrt(beta) sigma)`` (Srinivas et al., 2010)."""
    return np.asarray(-(np.asarray(mu) - math.sqrt(beta) * np.asarray(sigma)))


def ucb_beta(n: int, d: int) -> float:
    """The default exploration weight ``beta_n = 0.2 d log(2 n)`` (Kandasamy et al., 2017's scaling of
    Srinivas et al.'s schedule; the theoretical constant explores far too much in practice)."""
    return max(0.2 * d * math.log(2.0 * max(n, 1)), 0.5)


def log_probability_of_feasibility(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``log P(g(x) <= 0) = log Phi(-mu / sigma)`` for one constraint's residual GP, shape ``(m,)``."""
    return np.asarray(log_ndtr(-np.asarray(mu) / np.maximum(np.asarray(sigma), 1e-12)))


def log_pof_grad(mu: float, sigma: float) -> tuple[float, float, float]:
    """``log Phi(-mu/sigma)`` and its derivatives in ``mu`` and ``sigma``."""
    sigma = max(sigma, 1e-12)
    u = -mu / sigma
    lp = float(log_ndtr(u))
    ratio = math.exp(-0.5 * u * u - LOG_SQRT_2PI - lp)  # phi(u) / Phi(u)
    return lp, -ratio / sigma, ratio * mu / sigma**2


def mes_acquisition(mu: np.ndarray, sigma: np.ndarray, min_samples: np.ndarray) -> np.ndarray:
    """Max-value entropy search (Wang & Jegelka 2017, eq. 6), minimization form.

    ``alpha(x) = mean_k [gamma_k phi(gamma_k) / (2 Phi(gamma_k)) - log Phi(gamma_k)]`` with
    ``gamma_k = (mu(x) - y*_k) / sigma(x)``, where ``y*_k`` are samples of the minimum value.

    Args:
        mu, sigma: Shape ``(m,)``.
        min_samples: Samples of the minimum ``y*``, shape ``(K,)``.
    """
    gamma = (np.asarray(mu)[:, None] - np.asarray(min_samples)[None, :]) / np.maximum(np.asarray(sigma), 1e-12)[:, None]
    log_cdf = log_ndtr(gamma)
    ratio = np.exp(-0.5 * gamma**2 - LOG_SQRT_2PI - log_cdf)
    return np.asarray(np.mean(gamma * ratio / 2.0 - log_cdf, axis=1))


def sample_min_values(mu: np.ndarray, sigma: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Samples of ``min_x f(x)`` by the Gumbel approximation of Wang & Jegelka (2017, §3.1).

    ``P(y* > y) ~= prod_x Phi((mu(x) - y) / sigma(x))`` over a candidate set; its quartiles are found
    by bisection and a Gumbel distribution is matched to them.

    Args:
        mu, sigma: Posterior over a dense candidate set, shape ``(m,)``.
        n_samples: How many samples.
        rng: Random generator.

    Returns:
        Shape ``(n_samples,)``, each below ``min(mu)``.
    """
    mu = np.asarray(mu, dtype=float)
    sigma = np.maximum(np.asarray(sigma, dtype=float), 1e-9)

    def survival(y: float) -> float:  # P(min > y)
        return float(np.exp(np.sum(log_ndtr((mu - y) / sigma))))

    hi = float(np.min(mu))
    lo = float(np.min(mu - 6 * sigma))

    def quantile(p: float) -> float:  # y with P(min <= y) = p
        a, b = lo, hi
        for _ in range(60):
            mid = 0.5 * (a + b)
            if 1.0 - survival(mid) < p:
                a = mid
            else:
                b = mid
        return 0.5 * (a + b)

    q1, q2, q3 = quantile(0.25), quantile(0.5), quantile(0.75)
    # For the maximum of -f: Gumbel(a, b) with quantiles a - b log(-log p); here mirrored.
    b = max((q3 - q1) / (math.log(math.log(4.0)) - math.log(math.log(4.0 / 3.0))), 1e-9)
    a = -q2 + b * math.log(math.log(2.0))
    u = rng.random(n_samples)
    max_neg = a - b * np.log(-np.log(u))
    return np.minimum(-max_neg, hi - 1e-9)


def expected_max_of_lines(a: np.ndarray, b: np.ndarray) -> float:
    """``E[max_i (a_i + b_i Z)]`` for ``Z ~ N(0, 1)``, exactly (Frazier, Powell & Dayanik 2009, Alg. 1).

    Args:
        a: Intercepts, shape ``(k,)``.
        b: Slopes, shape ``(k,)``.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    order = np.lexsort((a, b))  # by slope, ties by intercept
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[:-1] = b[:-1] != b[1:]  # among equal slopes only the largest intercept matters
    a, b = a[keep], b[keep]
    # Upper envelope: lines and the breakpoints c where each takes over.
    idx: list[int] = [0]
    cuts: list[float] = [-math.inf]
    for i in range(1, len(a)):
        while True:
            j = idx[-1]
            c = (a[j] - a[i]) / (b[i] - b[j])
            if len(idx) > 1 and c <= cuts[-1]:
                idx.pop()
                cuts.pop()
            else:
                break
        idx.append(i)
        cuts.append(c)
    a_env, b_env = a[idx], b[idx]
    lo = np.array(cuts)
    hi = np.append(lo[1:], math.inf)
    # E[(a + b Z) 1{lo < Z < hi}] = a (Phi(hi) - Phi(lo)) + b (phi(lo) - phi(hi))
    def pdf(t: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(t), np.exp(-0.5 * np.where(np.isfinite(t), t, 0.0) ** 2 - LOG_SQRT_2PI), 0.0)

    return float(np.sum(a_env * (ndtr(hi) - ndtr(lo)) + b_env * (pdf(lo) - pdf(hi))))


_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(48)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def knowledge_gradient_values(mean_a: np.ndarray, cov_ax: np.ndarray, var_x: np.ndarray, noise_var: float,
                              mean_x: np.ndarray | None = None, cov_x: np.ndarray | None = None) -> np.ndarray:
    """Knowledge gradient of sampling each candidate ``x``, for minimization over a discrete set ``A``.

    ``KG(x) = E_n[max_{a in A+x} -mu_{n+1}(a)] - max_{a in A+x} -mu_n(a)``, where after observing
    ``y(x)`` the means move along lines ``mu_{n+1}(a) = mu_n(a) + sigma~_a(x) Z`` with
    ``sigma~_a(x) = Cov_n(a, x) / sqrt(Var_n(x) + noise)`` (Frazier 2018, §4.2). With ``A`` = the
    evaluated points this is the tutorial's noisy EI (§5): the improvement of the best posterior
    mean *among evaluated points*, not of a noisy observation. The expectation is taken by a 48-node
    Gauss-Hermite rule, vectorized over candidates (`expected_max_of_lines` gives it exactly).

    Args:
        mean_a: Posterior means on ``A``, shape ``(p,)``.
        cov_ax: Posterior covariances ``Cov_n(a, x)``, shape ``(p, m)``.
        var_x: Posterior variances at the candidates, shape ``(m,)``.
        noise_var: Observation noise variance.
        mean_x: Posterior means at the candidates (added to ``A`` with ``x`` itself), shape ``(m,)``.
        cov_x: With ``mean_x``: the covariance of each added point with its candidate, shape ``(m,)``
            (None: ``var_x``, the added point is the candidate itself; multi-fidelity KG adds the
            candidate's design at the target fidelity instead, with ``Cov_n((x, s_target), (x, s))``).

    Returns:
        Shape ``(m,)``, non-negative.
    """
    denom = np.sqrt(np.maximum(var_x + noise_var, 1e-12))
    a = -np.asarray(mean_a)[:, None]  # (p, 1): maximize -mu
    b = -(cov_ax / denom)  # (p, m)
    lines_a = np.broadcast_to(a, b.shape)
    if mean_x is not None:
        lines_a = np.vstack([lines_a, -np.asarray(mean_x)[None, :]])
        b = np.vstack([b, -((var_x if cov_x is None else cov_x) / denom)[None, :]])
    now = np.max(lines_a, axis=0)  # (m,)
    expected = np.empty(b.shape[1])
    chunk = max(1, 2_000_000 // (b.shape[0] * len(_GH_NODES)))  # bound the (p, chunk, q) temporary
    for s in range(0, b.shape[1], chunk):
        vals = lines_a[:, s:s + chunk, None] + b[:, s:s + chunk, None] * _GH_NODES[None, None, :]
        expected[s:s + chunk] = np.max(vals, axis=0) @ _GH_WEIGHTS
    return np.asarray(np.maximum(expected - now, 0.0))
