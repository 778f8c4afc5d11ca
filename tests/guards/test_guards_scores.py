"""Guards: hand-computed reference values, and optimistic >= mean >= pessimistic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardopt.core import InputDataError, InvalidParameterError
from guardopt.guards import (
    cvar,
    feasible,
    mixed_var,
    optimistic,
    pessimistic,
    uncertainty_weighted,
    value_at_risk,
    worst_case,
)
from guardopt.uncertainty import Estimate, hoeffding, student_t

ONE_TO_TEN = np.arange(1.0, 11.0)
ENSEMBLE = np.array([[1.0, 5.0], [3.0, 2.0], [2.0, 4.0]])  # 3 members x 2 candidates


def test_optimistic_and_pessimistic_reference() -> None:
    est = Estimate(1.0, 0.5, 2.0, 0.9, 10, "x")
    assert optimistic(est) == 2.0 and pessimistic(est) == 0.5  # maximizing a reward
    assert optimistic(est, maximize=False) == 0.5 and pessimistic(est, maximize=False) == 2.0  # a cost


@given(st.lists(st.floats(0, 1), min_size=2, max_size=30), st.floats(0.01, 0.5))
@settings(max_examples=100, deadline=None)
def test_optimistic_ge_mean_ge_pessimistic(x: list[float], delta: float) -> None:
    for est in (hoeffding(x, delta, 0.0, 1.0), student_t(x, delta)):
        assert optimistic(est) >= est.mean >= pessimistic(est)
        assert pessimistic(est, maximize=False) >= est.mean >= optimistic(est, maximize=False)


def test_worst_case_and_uncertainty_weighted_reference() -> None:
    # column minima: [min(1, 3, 2), min(5, 2, 4)] = [1, 2]
    assert np.array_equal(worst_case(ENSEMBLE), [1.0, 2.0])
    assert np.asarray(worst_case(ENSEMBLE, axis=1)).tolist() == [1.0, 2.0, 2.0]
    # means [2, 11/3]; population variances [(1 + 1 + 0) / 3, (16/9 + 25/9 + 1/9) / 3] = [2/3, 14/9]
    # lam = 0.5: [2 - 1/3, 11/3 - 7/9] = [1.6666667, 2.8888889]
    assert np.allclose(uncertainty_weighted(ENSEMBLE, 0.5), [5 / 3, 26 / 9])
    assert np.allclose(uncertainty_weighted(ENSEMBLE, 0.0), ENSEMBLE.mean(axis=0))
    assert math.isnan(worst_case([1.0, math.nan]))  # NaN propagates: never chosen as safe
    with pytest.raises(InvalidParameterError, match=r"'lam' parameter of uncertainty_weighted must be"):
        uncertainty_weighted(ENSEMBLE, -1.0)


def test_value_at_risk_reference() -> None:
    # inverse empirical CDF of 1..10: inf{x : F(x) >= 0.2} = 2; upper tail: inf{x : F(x) >= 0.8} = 8
    assert value_at_risk(ONE_TO_TEN, 0.2) == 2.0
    assert value_at_risk(ONE_TO_TEN, 0.2, tail="upper") == 8.0
    assert value_at_risk(ONE_TO_TEN, 0.25) == 3.0  # F(2) = 0.2 < 0.25 <= F(3) = 0.3
    with pytest.raises(InvalidParameterError, match=r"'alpha' parameter of value_at_risk must be .* in \(0, 1\)"):
        value_at_risk(ONE_TO_TEN, 0.0)


def test_cvar_reference() -> None:
    # lower tail 0.2 of 1..10: mean of {1, 2} = 1.5
    assert cvar(ONE_TO_TEN, 0.2) == pytest.approx(1.5)
    # alpha = 0.25 splits the atom at 3: (0.1 * 1 + 0.1 * 2 + 0.05 * 3) / 0.25 = 0.45 / 0.25 = 1.8
    assert cvar(ONE_TO_TEN, 0.25) == pytest.approx(1.8)
    # upper tail 0.25 (costs): (0.05 * 8 + 0.1 * 9 + 0.1 * 10) / 0.25 = 2.3 / 0.25 = 9.2
    assert cvar(ONE_TO_TEN, 0.25, tail="upper") == pytest.approx(9.2)
    assert cvar(ONE_TO_TEN, 1.0) == pytest.approx(5.5)  # alpha = 1 is the mean
    assert cvar(ONE_TO_TEN, 0.2) <= value_at_risk(ONE_TO_TEN, 0.2)
    with pytest.raises(InputDataError, match="NaN"):
        cvar([1.0, math.nan], 0.5)


def test_mixed_var_reference() -> None:
    # regions [0, 0.2] with weight 2 and [0.2, 0.5] with weight 1 over 1..10:
    # numerator 2 * (0.1 * 1 + 0.1 * 2) + 1 * 0.1 * (3 + 4 + 5) = 0.6 + 1.2 = 1.8
    # denominator 2 * 0.2 + 1 * 0.3 = 0.7  ->  1.8 / 0.7 = 2.5714286
    assert mixed_var(ONE_TO_TEN, (0.2, 0.5), (2.0, 1.0)) == pytest.approx(1.8 / 0.7)
    # one region [0, a] with any weight is CVaR_a; weight 0 on the upper region ignores it
    assert mixed_var(ONE_TO_TEN, (0.3,), (5.0,)) == pytest.approx(cvar(ONE_TO_TEN, 0.3))
    assert mixed_var(ONE_TO_TEN, (0.3, 1.0), (1.0, 0.0)) == pytest.approx(cvar(ONE_TO_TEN, 0.3))
    # the whole range with weight 1 is the mean
    assert mixed_var(ONE_TO_TEN, (1.0,), (1.0,)) == pytest.approx(5.5)
    with pytest.raises(InputDataError, match="must increase"):
        mixed_var(ONE_TO_TEN, (0.5, 0.2), (1.0, 1.0))
    with pytest.raises(InputDataError, match="not all zero"):
        mixed_var(ONE_TO_TEN, (0.5,), (0.0,))


def test_feasible_reference_and_fail_closed() -> None:
    # residual <= 0 means satisfied; optimistic uses the lower bound, pessimistic the upper bound
    r = Estimate(np.array([-1.0, -0.1, 0.5, math.nan]), np.array([-2.0, -0.5, 0.1, math.nan]),
                 np.array([-0.5, 0.2, 0.9, math.nan]), 0.9, 10, "x")
    assert np.asarray(feasible(r, mode="optimistic")).tolist() == [True, True, False, False]
    assert np.asarray(feasible(r, mode="pessimistic")).tolist() == [True, False, False, False]
    # several constraints: all must hold
    other = Estimate(np.full(4, -0.2), np.full(4, -1.0), np.array([1.0, -0.1, -0.1, -0.1]), 0.9, 10, "x")
    assert np.asarray(feasible([r, other], mode="pessimistic")).tolist() == [False, False, False, False]
    assert np.asarray(feasible([r, other], mode="optimistic")).tolist() == [True, True, False, False]
    assert feasible(Estimate(0.0, -1.0, 0.0, 0.9, 1, "x")) is True  # the threshold itself is feasible
    assert feasible(Estimate(math.nan, math.nan, math.nan, 0.9, 1, "x")) is False
    with pytest.raises(InvalidParameterError, match="'mode' parameter of feasible"):
        feasible(r, mode="robust")  # type: ignore[arg-type]
    with pytest.raises(InputDataError):
        feasible([])


def test_cvar_stays_within_its_tail_at_large_magnitudes() -> None:
    # x_k + sum(x_i - x_k) / m rounded half an ulp above the largest outcome here (3002399751580344.5)
    samples = np.array([3002399751580344.0] * 3 + [-1.0] * 3)
    assert cvar(samples, 0.5, "upper") == 3002399751580344.0
    assert cvar(-samples, 0.5, "lower") == -3002399751580344.0
