"""Acquisition values against hand-computed references on mock posteriors."""

import math

import numpy as np
from scipy.stats import norm

from guardopt.bo import acquisition as acq


def test_ei_hand_values():
    # mu = 0, sigma = 1, best = 0: EI = phi(0) = 0.398942...
    assert abs(acq.expected_improvement(np.array([0.0]), np.array([1.0]), 0.0)[0] - 0.3989422804014327) < 1e-12
    # mu = 1, sigma = 2, best = 0: z = -0.5, EI = -1 * Phi(-0.5) + 2 phi(-0.5)
    ref = -1.0 * 0.3085375387259869 + 2.0 * 0.3520653267642995
    assert abs(acq.expected_improvement(np.array([1.0]), np.array([2.0]), 0.0)[0] - ref) < 1e-12


def test_log_ei_is_stable_far_in_the_tail():
    # z = -40: EI ~ sigma phi(z) / z^2, so log EI ~ -z^2/2 - log sqrt(2 pi) - 2 log |z|
    val = acq.log_expected_improvement(np.array([40.0]), np.array([1.0]), 0.0)[0]
    ref = -800 - 0.5 * math.log(2 * math.pi) - 2 * math.log(40)
    assert abs(val - ref) < 1e-2
    assert np.all(np.isfinite(acq.log_expected_improvement(np.array([1e4]), np.array([1e-3]), 0.0)))


def test_log_ei_gradient():
    val, dmu, dsd = acq.log_ei_grad(0.3, 0.7, 0.1)
    h = 1e-7
    f = lambda m, s: acq.log_expected_improvement(np.array([m]), np.array([s]), 0.1)[0]  # noqa: E731
    assert abs(val - f(0.3, 0.7)) < 1e-12
    assert abs(dmu - (f(0.3 + h, 0.7) - f(0.3 - h, 0.7)) / (2 * h)) < 1e-5
    assert abs(dsd - (f(0.3, 0.7 + h) - f(0.3, 0.7 - h)) / (2 * h)) < 1e-5


def test_ucb_hand_value():
    # -(mu - sqrt(beta) sigma) = -(1 - 2 * 0.5) = 0
    assert acq.upper_confidence_bound(np.array([1.0]), np.array([0.5]), 4.0)[0] == 0.0
    assert acq.upper_confidence_bound(np.array([-1.0]), np.array([0.0]), 4.0)[0] == 1.0


def test_probability_of_feasibility():
    lp = acq.log_probability_of_feasibility(np.array([0.0, 1.0]), np.array([1.0, 0.5]))
    np.testing.assert_allclose(np.exp(lp), [0.5, norm.cdf(-2.0)])


def test_expected_max_of_lines_hand_value():
    # E max(Z, -Z) = E|Z| = sqrt(2 / pi)
    assert abs(acq.expected_max_of_lines(np.zeros(2), np.array([1.0, -1.0])) - math.sqrt(2 / math.pi)) < 1e-12
    # A dominated line changes nothing; E max(1, Z) = 1 * Phi(1) + phi(1)
    ref = norm.cdf(1.0) + norm.pdf(1.0)
    assert abs(acq.expected_max_of_lines(np.array([1.0, 0.0, -5.0]), np.array([0.0, 1.0, 0.0])) - ref) < 1e-12


def test_knowledge_gradient_sanity():
    rng = np.random.default_rng(0)
    a = rng.normal(size=6)
    b = rng.normal(size=6)
    # KG of one candidate whose observation moves the six means along lines a + b Z (minimization form)
    kg = acq.knowledge_gradient_values(-a[:5], -b[:5, None], np.array([1.0]), 0.0, mean_x=-a[5:])
    exact = acq.expected_max_of_lines(a, np.append(b[:5], -1.0)) - a.max()
    assert abs(kg[0] - exact) < 0.02 * exact
    # No correlation and no own variance: nothing to learn.
    assert acq.knowledge_gradient_values(np.zeros(3), np.zeros((3, 1)), np.array([0.0]), 1.0)[0] == 0.0
    # Noise reduces the value of information.
    lo = acq.knowledge_gradient_values(-a[:5], -b[:5, None], np.array([1.0]), 4.0, mean_x=-a[5:])
    assert 0 <= lo[0] < kg[0]


def test_knowledge_gradient_with_a_paired_point():
    # Multi-fidelity: the added point (the candidate's design at the target) moves with slope
    # -cov_x / sqrt(var_x + noise), here cov 0.5, var 1, noise 0: the line a6 + 0.5 Z.
    rng = np.random.default_rng(0)
    a = rng.normal(size=6)
    b = rng.normal(size=6)
    kg = acq.knowledge_gradient_values(-a[:5], -b[:5, None], np.array([1.0]), 0.0, mean_x=-a[5:],
                                       cov_x=np.array([0.5]))
    exact = acq.expected_max_of_lines(a, np.append(b[:5], -0.5)) - a.max()
    assert abs(kg[0] - exact) < 0.02 * exact
    same = acq.knowledge_gradient_values(-a[:5], -b[:5, None], np.array([1.0]), 0.0, mean_x=-a[5:],
                                         cov_x=np.array([1.0]))
    default = acq.knowledge_gradient_values(-a[:5], -b[:5, None], np.array([1.0]), 0.0, mean_x=-a[5:])
    assert same[0] == default[0]


def test_noisy_ei_is_kg_over_evaluated_points():
    # Two evaluated points with means 0 and 1 (loss); a candidate perfectly correlated with the
    # first: NEI = E[max(-(0 + s Z), -1)] - 0, with s the candidate's effect on it.
    s = 0.5
    val = acq.knowledge_gradient_values(np.array([0.0, 1.0]), np.array([[s], [0.0]]), np.array([1.0]), 0.0)[0]
    ref = acq.expected_max_of_lines(np.array([0.0, -1.0]), np.array([-s, 0.0]))
    assert abs(val - ref) < 1e-3


def test_mes_and_min_value_samples():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=300)
    sd = np.full(300, 0.3)
    samples = acq.sample_min_values(mu, sd, 2000, rng)
    assert np.all(samples < mu.min())
    direct = (mu[:, None] + sd[:, None] * rng.normal(size=(300, 4000))).min(0)
    assert abs(np.median(samples) - np.median(direct)) < 0.1
    vals = acq.mes_acquisition(np.array([0.0, 0.0, 3.0]), np.array([1.0, 0.1, 1.0]), samples[:16])
    assert vals[0] > vals[1] and vals[0] > vals[2] and np.all(vals >= 0)


def test_log_ei_far_above_the_incumbent_is_finite():
    # z = 1e4: EI = best - mu (up to phi(z)), so log EI = log(1e4 * sigma)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        val = acq.log_expected_improvement(np.array([-1e4, 0.0]), np.array([1.0, 1.0]), 0.0)
        _, dmu, _ = acq.log_ei_grad(-1e4, 1.0, 0.0)
    assert abs(val[0] - math.log(1e4)) < 1e-9
    assert abs(dmu + 1e-4) < 1e-9
