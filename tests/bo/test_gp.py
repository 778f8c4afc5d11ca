"""The GP against direct numpy formulas, and its analytic gradients against finite differences."""

import math

import numpy as np
from scipy.optimize import approx_fprime

from guardopt.bo.gp import GaussianProcess, GPPrior, fit_hyperparameters, matern52, matern52_parts, neg_log_posterior


def _data(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = np.sin(5 * x).sum(1)
    return x, (y - y.mean()) / y.std()


def test_matern52_hand_value():
    # r = sqrt((0.3/0.5)^2 + (0.4/2)^2) = sqrt(0.4); k = 2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)
    r = math.sqrt(0.4)
    expected = 2.0 * (1 + math.sqrt(5) * r + 5 / 3 * r**2) * math.exp(-math.sqrt(5) * r)
    k = matern52(np.array([[0.0, 0.0]]), np.array([[0.3, 0.4]]), np.array([0.5, 2.0]), 2.0)
    assert abs(k[0, 0] - expected) < 1e-12


def test_posterior_matches_direct_formula():
    x, y = _data()
    theta = np.array([-0.5, 0.1, -1.0, 0.2, math.log(1e-3)])
    gp = GaussianProcess(x, y, theta)
    xs = np.random.default_rng(1).random((5, 3))
    ls, sf2, noise = np.exp(theta[:3]), math.exp(theta[3]), math.exp(theta[4])
    k = matern52(x, x, ls, sf2) + (noise + 1e-8) * np.eye(len(x))
    ks = matern52(xs, x, ls, sf2)
    kinv = np.linalg.inv(k)
    one = np.ones(len(x))
    m = one @ kinv @ y / (one @ kinv @ one)  # generalized least squares constant mean
    mu = m + ks @ kinv @ (y - m)
    cov = matern52(xs, xs, ls, sf2) - ks @ kinv @ ks.T
    mu_gp, var_gp = gp.predict(xs)
    np.testing.assert_allclose(mu_gp, mu, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(var_gp, np.diag(cov), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(gp.covariance(xs, xs), cov, atol=1e-8)


def test_log_posterior_gradient():
    x, y = _data()
    prior = GPPrior()
    theta = np.array([-0.7, 0.3, -0.2, 0.1, -3.0])
    _val, grad = neg_log_posterior(theta, x, y, prior)
    num = approx_fprime(theta, lambda t: neg_log_posterior(t, x, y, prior)[0], 1e-6)
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-4)


def test_predict_gradient_and_fit():
    x, y = _data(20)
    prior = GPPrior()
    theta = fit_hyperparameters(x, y, prior, [prior.initial_theta(3)])
    gp = GaussianProcess(x, y, theta)
    u = np.array([0.3, 0.6, 0.2])
    mu, _var, dmu, dvar = gp.predict_with_grad(u)
    np.testing.assert_allclose(mu, gp.predict(u[None])[0][0])
    np.testing.assert_allclose(dmu, approx_fprime(u, lambda z: gp.predict(z[None])[0][0], 1e-7), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dvar, approx_fprime(u, lambda z: gp.predict(z[None])[1][0], 1e-7), rtol=1e-3,
                               atol=1e-5)
    # A smooth noise-free function is interpolated: small fitted noise, small training residuals.
    assert math.exp(theta[-1]) < 0.05
    assert np.max(np.abs(gp.predict(x)[0] - y)) < 0.2


def test_matern52_parts_by_hand():
    # Two points 0.3 apart in x0 and 0.4 in x1, lengthscales (0.5, 2), s^2 = 2: scaled distance
    # r = sqrt(0.6^2 + 0.2^2) = sqrt(0.4).
    x = np.array([[0.1, 0.2], [0.4, 0.6]])
    k, g, d2 = matern52_parts(x, np.array([0.5, 2.0]), 2.0)
    r = math.sqrt(0.4)
    e = math.exp(-math.sqrt(5) * r)
    assert np.allclose(np.diag(k), 2.0) and np.allclose(np.diag(g), 2.0 * 5 / 3)
    assert math.isclose(k[0, 1], 2.0 * (1 + math.sqrt(5) * r + 5 / 3 * 0.4) * e, rel_tol=1e-12)
    assert math.isclose(g[0, 1], 2.0 * 5 / 3 * (1 + math.sqrt(5) * r) * e, rel_tol=1e-12)
    assert np.allclose(d2[0, 1], [0.36, 0.04]) and np.allclose(d2[1, 0], [0.36, 0.04])
    assert np.allclose(k, matern52(x, x, np.array([0.5, 2.0]), 2.0))
    # g is the lengthscale derivative's factor: dK/dlog l_0 = g d2_0 (central difference in log l_0)
    h = 1e-6
    kp = matern52_parts(x, np.array([0.5 * math.exp(h), 2.0]), 2.0)[0]
    km = matern52_parts(x, np.array([0.5 * math.exp(-h), 2.0]), 2.0)[0]
    assert math.isclose((kp[0, 1] - km[0, 1]) / (2 * h), g[0, 1] * d2[0, 1, 0], rel_tol=1e-6)
