"""The fidelity kernel and GP against hand formulas (Wu et al. 2019's linear truncated kernel, power p)."""

import math

import numpy as np
import pytest

from guardopt.bo.fidelity_gp import (
    FidelityGP,
    FidelityKernel,
    fit_hyperparameters,
    full_theta,
    initial_theta,
    neg_log_posterior,
)
from guardopt.bo.gp import GPPrior, matern52
from guardopt.core.errors import GuardoptError

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
    x, y = _data(20)
    prior = GPPrior()
    start = initial_theta(3, prior)
    theta = fit_hyperparameters(x, y, 1, 1.0, prior, [start], maxiter=50)
    assert theta.shape == (8,)  # the power is learned: one more entry than the power-1 theta
    assert neg_log_posterior(theta, x, y, 1, 1.0, prior)[0] <= neg_log_posterior(start, x, y, 1, 1.0, prior)[0]


# ---------------------------------------------------------------------------------------- the power

THETA_P = np.append(THETA, math.log(2.5))  # power p = 2.5


def test_kernel_with_power_hand_value():
    a = np.array([[0.1, 0.25, 0.4], [0.9, 0.0, 0.2]])
    b = np.array([[0.3, 0.5, 0.0]])
    kern = FidelityKernel(1, 1.0, THETA_P, 3)
    assert kern.power == pytest.approx(2.5)
    k0 = matern52(a[:, [0, 2]], b[:, [0, 2]], np.array([0.5, 2.0]), 2.0)[:, 0]
    k1 = matern52(a[:, [0, 2]], b[:, [0, 2]], np.array([0.3, 0.7]), 0.2)[:, 0]
    # (1 - 0.25)(1 - 0.5)(1 + 0.125)^2.5 = 0.375 * 1.265625 * sqrt(1.125) = 0.5033993;
    # at u = 0 the power does not matter
    weight = np.array([0.75 * 0.5 * 1.125**2.5, 1.0 * 0.5 * 1.0])
    assert abs(weight[0] - 0.5033993) < 1e-6
    assert np.allclose(kern(a, b)[:, 0], k0 + weight * k1, atol=1e-12)
    assert np.allclose(kern.diag(a), np.diag(kern(a, a)), atol=1e-12)
    # A target below the top fidelity: the weight (t - u)(t - u')(1 + u u')^p vanishes at u = t.
    kt = FidelityKernel(1, 0.5, THETA_P, 3)
    assert abs(kt(b, a[:1])[0, 0] - matern52(b[:, [0, 2]], a[:1, [0, 2]], np.array([0.5, 2.0]), 2.0)[0, 0]) < 1e-12


def test_power_one_is_the_theta_without_a_power():
    kern1 = FidelityKernel(1, 1.0, THETA, 3)
    kern2 = FidelityKernel(1, 1.0, np.append(THETA, 0.0), 3)
    a = np.random.default_rng(2).random((5, 3))
    assert kern1.power == 1.0 and np.array_equal(kern1(a, a), kern2(a, a))
    assert np.array_equal(full_theta(THETA, 3), np.append(THETA, 0.0))
    x, y = _data()
    gp1, gp2 = FidelityGP(x, y, THETA, 1, 1.0), FidelityGP(x, y, np.append(THETA, 0.0), 1, 1.0)
    assert gp1.theta.shape == (8,) and np.array_equal(gp1.predict(a)[0], gp2.predict(a)[0])
    # The power can be held at 1 in the fit (the previous model), and is then exactly 1.
    theta = fit_hyperparameters(x, y, 1, 1.0, GPPrior(), [initial_theta(3, GPPrior())], maxiter=30, fixed_power=1.0)
    assert theta[-1] == 0.0


@pytest.mark.parametrize("target", [1.0, 0.7])
def test_gradient_matches_central_differences(target):
    x, y = _data(14, seed=3)
    prior = GPPrior()
    for theta in (THETA_P, THETA):  # learned power, and power 1 (no power entry, no power prior)
        val, grad = neg_log_posterior(theta, x, y, 1, target, prior)
        assert grad.shape == theta.shape and math.isfinite(val)
        h = 1e-5
        num = np.array([(neg_log_posterior(theta + h * e, x, y, 1, target, prior)[0]
                         - neg_log_posterior(theta - h * e, x, y, 1, target, prior)[0]) / (2 * h)
                        for e in np.eye(theta.size)])
        assert np.allclose(grad, num, rtol=1e-4, atol=1e-4), (grad, num)
    # The power's own entry, by itself: its gradient is not zero here, so the check can fail.
    assert abs(neg_log_posterior(THETA_P, x, y, 1, target, prior)[1][-1]) > 1e-3


def test_power_prior_is_botorch_gamma_3_3():
    # With the likelihood unchanged (all data at the target fidelity, where the weight is 0), the
    # posterior in log p is the prior 3 log p - 3 p (+ const), whose derivative vanishes at p = 1.
    x, y = _data()
    x[:, 1] = 1.0
    prior = GPPrior()
    vals = [neg_log_posterior(np.append(THETA, math.log(p)), x, y, 1, 1.0, prior)[0] for p in (0.5, 1.0, 2.0)]
    assert vals[0] - vals[1] == pytest.approx(-(3 * math.log(0.5) - 1.5) + (-3.0), abs=1e-8)
    assert vals[2] - vals[1] == pytest.approx(-(3 * math.log(2.0) - 6.0) + (-3.0), abs=1e-8)
    assert neg_log_posterior(np.append(THETA, 0.0), x, y, 1, 1.0, prior)[1][-1] == pytest.approx(0.0, abs=1e-12)


def test_non_finite_fidelity_data_raise_a_guardopt_error():
    x, y = _data()
    start = initial_theta(3, GPPrior())
    for bad in (math.nan, math.inf, -math.inf):
        xb, yb = x.copy(), y.copy()
        xb[3, 1] = bad  # a fidelity value
        yb[4] = bad
        with pytest.raises(GuardoptError, match="'x' argument of FidelityGP"):
            FidelityGP(xb, y, THETA_P, 1, 1.0)
        with pytest.raises(GuardoptError, match="'y' argument of FidelityGP"):
            FidelityGP(x, yb, THETA_P, 1, 1.0)
        with pytest.raises(GuardoptError, match=r"'x' argument of fidelity_gp\.fit_hyperparameters"):
            fit_hyperparameters(xb, y, 1, 1.0, GPPrior(), [start])
        with pytest.raises(GuardoptError, match=r"'y' argument of fidelity_gp\.fit_hyperparameters"):
            fit_hyperparameters(x, yb, 1, 1.0, GPPrior(), [start])
    with pytest.raises(GuardoptError, match="'theta' argument of FidelityGP must have shape"):
        FidelityGP(x, y, THETA_P[:5], 1, 1.0)
    with pytest.raises(GuardoptError, match="'starts'"):
        fit_hyperparameters(x, y, 1, 1.0, GPPrior(), [])
