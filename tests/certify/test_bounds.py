"""Hand-computed bound arithmetic of the safety test on small fixed samples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.certify import CallableModel, Seldonian, demographic_parity, mean_cost
from guardopt.certify.constraints import Mean, maximum, positive_rate
from guardopt.guards import safety_test

IDENTITY = CallableModel(lambda p, d: d["v"], x0=[0.0])
COSTS = np.array([0.1, 0.2, 0.3, 0.4])


def test_mean_cost_ttest_by_hand():
    # mean 0.25, sd 0.129099, t_{0.95, 3} = 2.353363 -> 0.25 + 0.129099 / 2 * 2.353363
    res = Seldonian(delta=0.05).test(IDENTITY, [0.0], {"v": COSTS}, mean_cost(0.5))
    assert res.reports[0].upper_bound == pytest.approx(0.4019089565, abs=1e-9)
    assert res.reports[0].n_events == 1
    assert res.solution_found


def test_mean_cost_matches_guards_safety_test():
    res = Seldonian(delta=0.05).test(IDENTITY, [0.0], {"v": COSTS}, mean_cost(0.3))
    v = safety_test(COSTS, 0.3, 0.05, bound="ttest")
    assert res.reports[0].upper_bound == pytest.approx(v.upper_bound, rel=1e-12)
    assert res.solution_found == v.passed is False


def test_mean_cost_hoeffding_by_hand():
    # 0.25 + (1 - 0) * sqrt(ln(1 / 0.05) / (2 * 4)) = 0.861937
    cons = mean_cost(0.9, low=0.0, high=1.0)
    res = Seldonian(delta=0.05, bound="hoeffding").test(IDENTITY, [0.0], {"v": COSTS}, cons)
    assert res.reports[0].upper_bound == pytest.approx(0.8619367077, abs=1e-9)
    assert res.solution_found


def test_demographic_parity_ttest_by_hand():
    # Group 0: 8 samples, mean 0.75; group 1: 6 samples, mean 0.5. delta = 0.1 over 2 events:
    # each one-sided base bound at 0.05. r0 = sd0 / sqrt(8) * t_{0.95,7} = 0.310073,
    # r1 = sd1 / sqrt(6) * t_{0.95,5} = 0.450579. U0 = min(0.75 + r0, 1) = 1 (rates live in [0, 1]).
    # Upper bound of |p0 - p1| = max(U0 - L1, U1 - L0) = max(1 - 0.049421, 0.950579 - 0.439927).
    a = [1, 1, 1, 0, 1, 1, 0, 1]
    b = [1, 0, 0, 1, 0, 1]
    data = {"v": np.array(a + b, dtype=float), "group": np.array([0] * 8 + [1] * 6)}
    cons = demographic_parity(0.05)
    assert cons.n_events == 2
    res = Seldonian(delta=0.1).test(IDENTITY, [0.0], data, cons)
    rep = res.reports[0]
    assert rep.upper_bound == pytest.approx(0.9505785141, abs=1e-9)
    assert rep.estimate == pytest.approx(0.25)
    assert rep.delta == 0.1
    assert not res.solution_found


def test_event_counts():
    a, b, c = Mean("a"), Mean("b"), Mean("c")
    assert (a - b).n_events("upper") == 2
    assert abs(a - b).n_events("upper") == 2  # only the sides matching the true sign
    assert abs(a - b).n_events("lower") == 4
    assert maximum(a, b + c).n_events("upper") == 2
    assert (2.0 * a + 0.5).n_events("upper") == 1
    assert (a - a * 0.0).n_events("upper") == 1


def test_interval_arithmetic_on_fixed_bounds():
    a, b = Mean("a"), Mean("b")
    bounds = {("a", "upper"): 0.7, ("a", "lower"): 0.5, ("b", "upper"): 0.4, ("b", "lower"): 0.1}

    def oracle(m, side, delta):
        return bounds[(m.name, side)]

    assert (a - b).bound("upper", oracle, 0.1) == pytest.approx(0.6)
    assert (a - b).bound("lower", oracle, 0.1) == pytest.approx(0.1)
    assert abs(b - a).bound("upper", oracle, 0.1) == pytest.approx(0.6)
    assert abs(b - a).bound("lower", oracle, 0.1) == pytest.approx(0.1)
    assert (-2.0 * a).bound("upper", oracle, 0.1) == pytest.approx(-1.0)
    assert maximum(a, b).bound("upper", oracle, 0.1) == pytest.approx(0.7)
    assert (1.0 - a).bound("upper", oracle, 0.1) == pytest.approx(0.5)


def test_frequency_weights_equal_expanded_samples():
    rng = np.random.default_rng(0)
    v = rng.random(30)
    w = rng.integers(0, 4, 30)
    w[0] = 2
    weighted = Seldonian().test(IDENTITY, [0.0], {"v": v, "sample_weight": w}, mean_cost(0.7))
    expanded = Seldonian().test(IDENTITY, [0.0], {"v": np.repeat(v, w)}, mean_cost(0.7))
    assert weighted.reports[0].upper_bound == pytest.approx(expanded.reports[0].upper_bound, rel=1e-12)
    assert weighted.n_safety == expanded.n_safety == int(w.sum())


def test_positive_rate_selects_group_and_label():
    m = positive_rate("g", 1, label="y", label_value=0)
    data = {"g": np.array([1, 1, 0, 1]), "y": np.array([0, 1, 0, 0])}
    vals, weights = m.values(np.array([1.0, 1.0, 1.0, 0.0]), data)
    assert vals.tolist() == [1.0, 0.0]
    assert weights.tolist() == [1.0, 1.0]


def test_nan_bound_is_never_a_pass():
    v = np.array([0.1, math.nan, 0.2, 0.3])
    res = Seldonian().test(CallableModel(lambda p, d: v, x0=[0.0]), [0.0], {"x": np.zeros(4)}, mean_cost(10.0))
    assert not res.solution_found
    assert math.isnan(res.reports[0].upper_bound)
    assert "NaN" in res.reason


def test_hoeffding_values_outside_declared_range_fail_closed():
    cons = mean_cost(5.0, low=0.0, high=1.0)
    res = Seldonian(bound="hoeffding").test(IDENTITY, [0.0], {"v": np.array([0.2, 1.5, 0.1])}, cons)
    assert not res.solution_found and math.isnan(res.reports[0].upper_bound)


def test_certified_reason_lists_bounds():
    res = Seldonian(delta=0.05).test(IDENTITY, [0.0], {"v": COSTS}, mean_cost(0.5))
    assert "upper bound 0.4019 <= 0.5" in res.reason


def test_nan_base_bound_propagates_through_max_and_abs():
    a, b = Mean("a"), Mean("b")

    def oracle(m, side, delta):
        return math.nan if m.name == "b" else 0.1

    assert math.isnan(maximum(a, b).bound("upper", oracle, 0.1))
    assert math.isnan(maximum(b, a).bound("upper", oracle, 0.1))
    assert math.isnan(abs(a - b).bound("upper", oracle, 0.1))
