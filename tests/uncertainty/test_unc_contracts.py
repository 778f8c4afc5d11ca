"""Fail-closed contract of the uncertainty layer (issue 13): every bound, radius and `Estimate`.

Each bound returns an `Estimate` satisfying its invariants (finite mean, ``lower <= mean <=
upper``, no bound on the wrong infinity) or raises a `GuardoptError` naming the parameter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    bad_probabilities,
    check_estimate,
    contract_settings,
    float_arrays,
    samples_in,
)
from guardopt.uncertainty import (
    Estimate,
    RunningStats,
    bootstrap,
    clopper_pearson,
    empirical_bernstein,
    empirical_bernstein_radius,
    ensemble,
    hoeffding,
    hoeffding_radius,
    normal,
    normal_radius,
    student_t,
    student_t_radius,
)

DELTAS = st.one_of(st.sampled_from([0.05, 0.5, 1e-17, 1.0 - 1e-16]), bad_probabilities())
SIDES = st.sampled_from(["two-sided", "upper", "lower", "both"])
SAMPLE_NAMES = ("samples", "delta", "side", "low", "high", "axis", "predictions")


def _radius_ok(r: object) -> bool:
    arr = np.asarray(r, dtype=float)
    return bool((arr >= 0).all())  # NaN fails too: a radius is never NaN or negative


# ------------------------------------------------------------------------------------ properties


@contract_settings()
@given(adversarial_arrays(max_dims=2), DELTAS, adversarial_scalars(), adversarial_scalars(), SIDES)
def test_range_bounds_on_adversarial_input(samples, delta, low, high, side) -> None:
    for make in (hoeffding, empirical_bernstein):
        assert_contract(make, samples, delta, low, high, side, names=SAMPLE_NAMES, check=check_estimate)


@contract_settings()
@given(samples_in(-1e308, 1e308, max_size=8), st.sampled_from([0.05, 1e-17, 0.999]), SIDES)
def test_range_bounds_on_valid_extreme_samples(samples, delta, side) -> None:
    # finite samples near the float64 limit: an estimate, or an error naming the samples; never -inf
    for make in (hoeffding, empirical_bernstein):
        out = assert_contract(make, samples, delta, -1e308, 1e308, side, names=SAMPLE_NAMES, check=check_estimate)
        if out.ok:
            assert out.result.lower >= -1e308 and out.result.upper <= 1e308


@contract_settings()
@given(adversarial_arrays(max_dims=2), DELTAS, SIDES, st.one_of(st.integers(-3, 2), adversarial_scalars()))
def test_student_t_and_ensemble(samples, delta, side, axis) -> None:
    assert_contract(student_t, samples, delta, side, axis, names=SAMPLE_NAMES, check=check_estimate)
    assert_contract(ensemble, samples, axis, names=SAMPLE_NAMES, check=check_estimate)


@contract_settings()
@given(adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1), DELTAS, SIDES)
def test_normal(mean, std, delta, side) -> None:
    assert_contract(normal, mean, std, delta, side, names=("mean", "std", "delta", "side"), check=check_estimate)


@contract_settings()
@given(adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1), DELTAS, SIDES)
def test_clopper_pearson(successes, n, delta, side) -> None:
    out = assert_contract(clopper_pearson, successes, n, delta, side, names=("successes", "n", "delta", "side"),
                          check=check_estimate)
    if out.ok:
        assert (np.asarray(out.result.lower) >= 0).all() and (np.asarray(out.result.upper) <= 1).all()


@contract_settings(scale=0.4)
@given(adversarial_arrays(max_dims=1, max_side=6), DELTAS)
def test_bootstrap(samples, delta) -> None:
    assert_contract(bootstrap, samples, delta, n_resamples=50, seed=0, names=SAMPLE_NAMES, check=check_estimate)


@contract_settings()
@given(adversarial_arrays(max_dims=1), st.one_of(DELTAS, adversarial_floats()), adversarial_scalars(),
       adversarial_arrays(max_dims=1))
def test_radius_helpers_never_give_a_nan_or_negative_radius(n, delta, width, spread) -> None:
    assert_contract(hoeffding_radius, n, delta, width, names=("n", "delta", "width"), check=_radius_ok)
    assert_contract(empirical_bernstein_radius, n, spread, delta, width, names=("n", "variance", "delta", "width"),
                    check=_radius_ok)
    assert_contract(student_t_radius, n, spread, delta, names=("n", "std", "delta"), check=_radius_ok)
    assert_contract(normal_radius, spread, delta, names=("std", "delta"), check=_radius_ok)


@contract_settings()
@given(float_arrays(shape=(3,)), float_arrays(shape=(3,)), float_arrays(shape=(3,)),
       st.one_of(adversarial_floats(), st.just(0.9)), st.one_of(st.integers(-2, 5), adversarial_scalars()))
def test_estimate_constructor(mean, lower, upper, confidence, n) -> None:
    assert_contract(Estimate, mean, lower, upper, confidence, n, "x",
                    names=("mean", "lower", "upper", "confidence", "n"), check=check_estimate)


@contract_settings()
@given(st.lists(st.integers(-1, 3), max_size=5), adversarial_arrays(max_dims=1, max_side=5),
       st.sampled_from(["bernstein", "hoeffding", "t"]), adversarial_scalars(), adversarial_scalars())
def test_running_stats(arms, values, bound, low, high) -> None:
    rs = RunningStats(3)
    assert_contract(rs.update, arms, values, names=("arms", "values"))
    assert_contract(rs.update, [0, 1, 2], [0.5, 1e308, -1e308])  # extreme but finite: never raw errors
    assert_contract(rs.estimate, 0.1, bound, low, high, names=("low", "high", "bound"), check=check_estimate)


# ------------------------------------------------------------------------------------ regressions


def test_issue13_overflowing_mean_is_an_error_not_a_minus_inf_bound() -> None:
    with pytest.raises(InputDataError, match="'samples' argument of hoeffding overflows"):
        hoeffding([-1e308, -1e308], 0.1, -1.5e308, 0.0)
    with pytest.raises(InputDataError, match="overflows"):
        student_t([-1e308, -1e308], 0.1)


def test_issue13_estimate_rejects_non_finite_means_and_wrong_infinities() -> None:
    with pytest.raises(InputDataError, match="'mean' field of Estimate must be finite"):
        Estimate(-math.inf, -math.inf, -math.inf, 0.9, 2, "x")
    with pytest.raises(InputDataError, match="'upper' field of Estimate must be above -inf"):
        Estimate(math.nan, -math.inf, -math.inf, 0.9, 2, "x")
    Estimate(math.nan, -math.inf, math.inf, 0.9, 0, "x")  # no estimate yet: still allowed


def test_issue13_estimate_rejects_bad_confidence_and_counts() -> None:
    with pytest.raises(InvalidParameterError, match="'confidence' parameter of Estimate"):
        Estimate(0.0, -1.0, 1.0, 1.5, 3, "x")
    with pytest.raises(InvalidParameterError, match="'n' parameter of Estimate"):
        Estimate(0.0, -1.0, 1.0, 0.9, -1, "x")
    assert math.isnan(Estimate(0.0, -1.0, 1.0, math.nan, 3, "x").confidence)


@pytest.mark.parametrize("fn, args", [
    (hoeffding_radius, (10, 0.0, 1.0)), (hoeffding_radius, (10, 1.0, 1.0)), (hoeffding_radius, (10, 1.5, 1.0)),
    (empirical_bernstein_radius, (10, 0.1, -0.1, 1.0)), (student_t_radius, (10, 1.0, 2.0)),
    (normal_radius, (1.0, 0.0)), (normal_radius, (1.0, math.nan)),
])
def test_issue13_radius_helpers_validate_delta(fn, args) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'delta' parameter of {fn.__name__} must be .*\(0, 1\)"):
        fn(*args)


def test_issue13_hoeffding_radius_delta_zero_is_not_a_zero_division() -> None:
    with pytest.raises(InvalidParameterError, match=r"The 'delta' parameter of hoeffding_radius must be a real "
                                                    r"number in \(0, 1\)\. Got 0 instead\."):
        hoeffding_radius(10, 0, 1.0)


@pytest.mark.parametrize("fn, args, param", [
    (hoeffding_radius, (10, 0.1, -1.0), "width"), (hoeffding_radius, (10, 0.1, 0.0), "width"),
    (hoeffding_radius, (10, 0.1, math.inf), "width"), (empirical_bernstein_radius, (10, 0.1, 0.1, -2.0), "width"),
    (hoeffding_radius, (-1, 0.1, 1.0), "n"), (student_t_radius, (10, -1.0, 0.1), "std"),
    (normal_radius, (-1.0, 0.1), "std"), (empirical_bernstein_radius, (10, math.nan, 0.1, 1.0), "variance"),
])
def test_issue13_radius_helpers_reject_negative_widths_and_spreads(fn, args, param) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{param}' parameter of {fn.__name__}"):
        fn(*args)


@pytest.mark.parametrize("make, args", [
    (hoeffding, (0.1, 0.0, 1.0)), (empirical_bernstein, (0.1, 0.0, 1.0)), (student_t, (0.1,)),
    (bootstrap, (0.1,)), (ensemble, ()),
])
def test_issue13_string_samples_are_an_input_error(make, args) -> None:
    with pytest.raises(InputDataError, match="must be an array of real numbers"):
        make(["a", "b", "c"], *args)


def test_issue13_negative_std_names_std_not_the_order_check() -> None:
    with pytest.raises(InvalidParameterError, match="'std' parameter of normal"):
        normal(0.0, -1.0, 0.1)


def test_issue13_shape_mismatch_names_mean_and_std() -> None:
    with pytest.raises(InputDataError, match="'mean' and 'std' arguments of normal"):
        normal([0.0, 1.0], [1.0, 1.0, 1.0], 0.1)
    with pytest.raises(InputDataError, match="'mean', 'lower' and 'upper' fields of Estimate must have one shape"):
        Estimate(np.zeros(2), np.zeros(3), np.zeros(2), 0.9, 3, "x")


def test_issue13_running_stats_out_of_range_names_the_range() -> None:
    rs = RunningStats(2)
    rs.update([0, 0, 1], [5.0, 7.0, 0.5])
    with pytest.raises(InputDataError, match=r"'low' and 'high' arguments of RunningStats.estimate must bound the "
                                             "values seen: arm 0 has mean 6"):
        rs.estimate(0.1, bound="hoeffding", low=0.0, high=1.0)
    with pytest.raises(InputDataError, match=r"'values' argument of RunningStats.update must be finite"):
        rs.update([0], [math.inf])


def test_issue13_uncertainty_errors_are_guardopt_errors() -> None:
    with pytest.raises(GuardoptError):
        hoeffding([[0.1], [0.2]], 0.1, 0.0, 1.0, axis=5)
