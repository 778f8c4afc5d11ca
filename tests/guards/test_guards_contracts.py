"""Fail-closed contract of the guards layer (issue 13): scores, feasibility, risk measures, safety test.

A guard returns a score satisfying its invariants or raises a `GuardoptError` naming the parameter;
a safety test never passes, and a feasibility filter never says feasible, on non-finite data.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.guards import (
    cvar,
    feasible,
    mixed_var,
    optimistic,
    pessimistic,
    safety_test,
    uncertainty_weighted,
    value_at_risk,
    worst_case,
)
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    assert_fails_closed,
    bad_probabilities,
    contract_settings,
    finite_floats,
    float_arrays,
    is_finite_data,
    wrong_types,
)
from guardopt.uncertainty import Estimate

ALPHAS = st.one_of(st.sampled_from([1e-17, 1e-300, 0.1, 0.5, 1.0]), bad_probabilities())


def _estimates(shape: tuple[int, ...] = ()) -> st.SearchStrategy[Estimate]:
    """Valid estimates whose bounds are adversarial (NaN, ±inf) around finite or NaN means."""

    def build(m: float, a: float, b: float) -> Estimate:
        return Estimate(np.full(shape, m) if shape else m, np.full(shape, m - abs(a)) if shape else m - abs(a),
                        np.full(shape, m + abs(b)) if shape else m + abs(b), 0.9, 3, "x")

    big = st.one_of(adversarial_floats(allow_nan=True), finite_floats(0, 10))
    return st.builds(build, st.one_of(finite_floats(-1e300, 1e300), st.just(math.nan)), big, big)


# ------------------------------------------------------------------------------------ properties


@contract_settings()
@given(st.one_of(_estimates(), adversarial_scalars()), st.one_of(st.booleans(), wrong_types()))
def test_optimistic_and_pessimistic(est, maximize) -> None:
    for fn in (optimistic, pessimistic):
        assert_contract(fn, est, maximize, names=("est", "maximize"))


@contract_settings()
@given(st.one_of(_estimates(), st.lists(st.one_of(_estimates(), _estimates((2,)), adversarial_scalars()),
                                        max_size=3), adversarial_scalars()),
       st.sampled_from(["optimistic", "pessimistic", "maybe"]))
def test_feasible_never_passes_a_nan_bound(residuals, mode) -> None:
    out = assert_contract(feasible, residuals, mode, names=("residuals", "mode"))
    if out.ok:
        ests = [residuals] if isinstance(residuals, Estimate) else residuals
        bounds = [np.asarray(e.lower if mode == "optimistic" else e.upper, dtype=float) for e in ests]
        if any(np.isnan(b).all() for b in bounds):
            assert not np.any(out.result)


@contract_settings()
@given(adversarial_arrays(max_dims=2), st.one_of(st.integers(-3, 2), adversarial_scalars()),
       st.one_of(adversarial_floats(), st.just(0.5)))
def test_ensemble_scores(samples, axis, lam) -> None:
    out = assert_contract(worst_case, samples, axis, names=("samples", "axis"))
    if out.ok and is_finite_data(samples):
        assert np.all(np.asarray(out.result) <= np.max(np.asarray(samples, dtype=float)))
    assert_contract(uncertainty_weighted, samples, lam, axis, names=("samples", "lam", "axis"))


@contract_settings()
@given(adversarial_arrays(max_dims=2), ALPHAS, st.sampled_from(["lower", "upper", "middle"]))
def test_risk_measures_lie_within_the_samples(samples, alpha, tail) -> None:
    for fn in (value_at_risk, cvar):
        out = assert_contract(fn, samples, alpha, tail, names=("samples", "alpha", "tail"))
        if out.ok and is_finite_data(samples):
            x = np.asarray(samples, dtype=float)
            assert x.min() <= out.result <= x.max() or math.isinf(out.result)


@contract_settings()
@given(float_arrays(shape=st.integers(1, 12), elements=finite_floats(-1e300, 1e300)),
       st.floats(min_value=1e-300, max_value=1.0))
def test_upper_cvar_mirrors_lower_cvar(samples, alpha) -> None:
    up = cvar(samples, alpha, "upper")
    assert up == pytest.approx(-cvar(-samples, alpha, "lower"), rel=1e-12, abs=1e-300)
    if alpha < 1.0:
        assert samples.max() >= up >= value_at_risk(samples, alpha, "upper") - 1e-12 * abs(up)


@contract_settings()
@given(adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1))
def test_mixed_var(samples, breakpoints, weights) -> None:
    assert_contract(mixed_var, samples, breakpoints, weights, names=("samples", "breakpoints", "weights"))


@contract_settings()
@given(adversarial_arrays(max_dims=2), st.one_of(st.just(0.5), adversarial_scalars()),
       st.one_of(st.just(0.05), bad_probabilities()), st.sampled_from(["ttest", "hoeffding", "bernstein", "z"]),
       st.one_of(st.just(-1e308), adversarial_scalars()), st.one_of(st.just(1e308), adversarial_scalars()))
def test_safety_test_never_passes_non_finite_data(samples, threshold, delta, bound, low, high) -> None:
    names = ("samples", "threshold", "delta", "bound", "low", "high")
    if is_finite_data(samples):
        out = assert_contract(safety_test, samples, threshold, delta, bound, low, high, names=names)
        if out.ok and out.result.passed:
            assert math.isfinite(out.result.upper_bound) and out.result.upper_bound <= out.result.threshold
    else:
        assert_fails_closed(safety_test, samples, threshold, delta, bound, low, high, names=names)


# ------------------------------------------------------------------------------------ regressions


def test_issue13_upper_cvar_keeps_small_alpha_exact() -> None:
    # hand-computed: every sample is 10, so every tail mean is exactly 10
    assert cvar(np.full(10, 10.0), 1e-17, tail="upper") == 10.0
    assert cvar(np.full(10, 10.0), 1e-300, tail="upper") == 10.0
    xs = np.arange(1.0, 11.0)  # 1..10, ten atoms of 1/10
    assert cvar(xs, 1e-17, tail="upper") == 10.0  # inside the largest atom
    assert cvar(xs, 0.1, tail="upper") == 10.0
    assert cvar(xs, 0.2, tail="upper") == pytest.approx(9.5, rel=1e-15)  # (10 + 9) / 2
    assert cvar(xs, 0.25, tail="upper") == pytest.approx(9.2, rel=1e-15)  # (10 + 9 + 0.5 * 8) / 2.5
    assert cvar(xs, 1.0, tail="upper") == pytest.approx(5.5, rel=1e-15)
    assert cvar(xs, 1e-17, tail="lower") == 1.0
    assert cvar(xs, 0.25, tail="lower") == pytest.approx(1.8, rel=1e-15)  # (1 + 2 + 0.5 * 3) / 2.5


def test_issue13_feasible_of_a_number_names_residuals() -> None:
    with pytest.raises(InvalidParameterError, match="'residuals' parameter of feasible must be an Estimate"):
        feasible(-1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"'residuals\[1\]' parameter of feasible"):
        feasible([Estimate(0.0, -1.0, 1.0, 0.9, 2, "x"), -1.0])  # type: ignore[list-item]


def test_issue13_feasible_on_mismatched_shapes_names_residuals() -> None:
    a = Estimate(np.zeros(3), -np.ones(3), -np.ones(3) * 0.5 + 0.5, 0.9, 2, "x")
    b = Estimate(np.zeros(2), -np.ones(2), np.zeros(2), 0.9, 2, "x")
    with pytest.raises(InputDataError, match="'residuals' argument of feasible must hold estimates of one shape"):
        feasible([a, b])
    c = Estimate(np.zeros(1), -np.ones(1), np.zeros(1), 0.9, 2, "x")
    with pytest.raises(InputDataError, match="one shape"):
        feasible([a, c])  # (1,) would broadcast silently


def test_issue13_optimistic_of_a_number_names_est() -> None:
    with pytest.raises(InvalidParameterError, match="'est' parameter of optimistic must be an Estimate"):
        optimistic(3.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'est' parameter of pessimistic"):
        pessimistic(3.0)  # type: ignore[arg-type]


def test_issue13_worst_case_of_an_empty_array_names_samples() -> None:
    with pytest.raises(InputDataError, match="'samples' argument of worst_case needs at least one ensemble member"):
        worst_case(np.array([]))
    with pytest.raises(InputDataError, match="'samples'"):
        uncertainty_weighted(np.zeros((0, 3)), 1.0)


def test_issue13_safety_test_string_samples_are_an_input_error() -> None:
    with pytest.raises(InputDataError, match="'samples' argument of safety_test must be an array of real numbers"):
        safety_test(["a", "b"], 0.5, 0.05)


def test_issue13_safety_test_never_passes_an_overflowing_mean() -> None:
    # before: the mean overflowed to -inf and the test passed with an upper bound of -inf
    with pytest.raises(InputDataError, match="overflows"):
        safety_test([-1e308, -1e308], 0.0, 0.05, bound="hoeffding", low=-1.5e308, high=0.0)
    v = safety_test([-math.inf, 0.0, 0.0], 0.5, 0.05)
    assert not v.passed and "infinite" in v.reason
    v = safety_test([math.nan, 0.0, 0.0], 0.5, 0.05)
    assert not v.passed
