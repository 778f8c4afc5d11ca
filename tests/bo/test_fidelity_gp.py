"""The fidelity kernel and GP against hand formulas (Wu et al. 2019's linear truncated kernel, power 1)."""

import math

import numpy as np

from guardopt.bo.fidelity_gp import FidelityGP, FidelityKernel, fit_hyperparameters, initial_theta
from guardopt.bo.gp import GPPrior, matern52

# d = 3: design columns 0 and 2, fidelity column 1; theta = (log l0 (2), log s0^2, log noise, log l1 (2), log s1^2)
THETA = np.array([math.log(0.5), math.log(2.0), math.log(2.0), math.log(1e-6), math.log(0.3), math.log(0.7),
                  math.log(0.2)])


def test_kernel_hand_value():
    a = np.array([[0.1, 0.25, 0.4]])
    b = np.array([[0.3, 0.5, 0.0]])
    kern = FidelityKernel(1, 1.0, THETA, 3)
    k0 = matern52(a[:, [0, 2]], b[:, [0, 2]], np.array([0.5, 2.0]), 2.0)[0, 0]
    k1 = matern52(a[:, [0, 2]], b[:, [0, 2]], np.array([0.3, 0.7]), 0.2)[0, 0]
    weight = (1 - 0.25) * (1 - 0.5) * (1 + 0.25 * 0.5)
    assert abs(kern(a, b)[0, 0] - (k0 + weight * k1)) < 1e-12
    assert abs(kern.diag(a)[0] - kern(a, a)[0, 0]) < 1e-12


def test_target_fidelity_sees_no_discrepancy():
    # At u = target the kernel is k0 alone, whatever the other point's fidelity.
    kern = FidelityKernel(1, 1.0, THETA, 3)
    a = np.array([[0.2, 1.0, 0.6]])
    b = np.array([[0.7, 0.1, 0.3]])
    k0 = matern52(a[:, [0, 2]], b[:, [0, 2]], np.array([0.5, 2.0]), 2.0)[0, 0]
    assert abs(kern(a, b)[0, 0] - k0) < 1e-12


def _data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    y = np.sin(5 * x[:, 0]) + x[:, 2] ** 2 + 0.5 * (1 - x[:, 1]) * x[:, 0]
    return x, (y - y.mean()) / y.std()


def test_posterior_matches_direct_formula_and_conditioning():
    x, y = _data()
    gp = FidelityGP(x, y, THETA, 1, 1.0)
    xs = np.random.default_rng(1).random((4, 3))
    kern = FidelityKernel(1, 1.0, THETA, 3)
    k = kern(x, x) + (1e-6 + 1e-8) * np.eye(len(x))
    ks = kern(xs, x)
    ones = np.ones(len(x))
    kinv = np.linalg.inv(k)
    m = ones @ kinv @ y / (ones @ kinv @ ones)
    mu_direct = m + ks @ kinv @ (y - m)
    var_direct = kern.diag(xs) - np.sum((ks @ kinv) * ks, 1)
    mu, var = gp.predict(xs)
    assert np.allclose(mu, mu_direct, atol=1e-6)
    assert np.allclose(var, var_direct, atol=1e-6)
    gp2 = gp.condition_on(xs[:1], mu[:1])
    assert isinstance(gp2, FidelityGP) and gp2.n == gp.n + 1
    mu_g, var_g, dmu, dvar = gp.predict_with_grad(xs[0])
    assert abs(var_g - var[0]) < 1e-9
    assert abs(mu_g - mu[0]) < 1e-9 and dmu.shape == (3,) and dvar.shape == (3,)


def test_fit_improves_on_the_start():
    from guardopt.bo.fidelity_gp import neg_log_posterior

    x, y = _data(20)
    prior = GPPrior()
    start = initial_theta(3, prior)
    theta = fit_hyperparameters(x, y, 1, 1.0, prior, [start], maxiter=50)
    assert theta.shape == (7,)
    assert neg_log_posterior(theta, x, y, 1, 1.0, prior) <= neg_log_posterior(start, x, y, 1, 1.0, prior)
