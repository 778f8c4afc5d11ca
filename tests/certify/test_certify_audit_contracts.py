"""Regressions from the certify audit: fail-open range clipping, misleading levels, crashes inside
numpy, configs that accepted nonsense. Each test names the behaviour before the fix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.certify import (
    CallableModel,
    ClassifierModel,
    EstimatorModel,
    LogisticRegression,
    NoSolutionFound,
    Seldonian,
    ThresholdDecision,
    demographic_parity,
    mean_cost,
)
from guardopt.certify.columns import equal_mask
from guardopt.core.errors import InputDataError, InsufficientDataError, InvalidParameterError
from guardopt.testing.contracts import adversarial_scalars, assert_contract, assert_fails_closed, contract_settings

N = 200
GROUP = np.arange(N) % 2
IDENTITY = CallableModel(lambda p, d: d["v"], x0=[0.0])
SMALL = np.r_[np.zeros(N // 2), np.ones(N // 2)] * 0.1  # mean 0.05


# ------------------------------------------------------------------ values outside the declared range


@pytest.mark.parametrize("bound", ["ttest", "hoeffding"])
def test_costs_outside_their_declared_range_fail_closed(bound: str) -> None:
    # before: under Student-t the upper bound of costs of 5 declared in [0, 1] was clipped to 1, and
    # "E[cost] <= 1" was Certified with an estimate of 5
    res = Seldonian(bound=bound).test(IDENTITY, [0.0], {"v": np.full(N, 5.0)}, mean_cost(1.0, low=0.0, high=1.0))
    assert isinstance(res, NoSolutionFound) and math.isnan(res.reports[0].upper_bound)
    assert res.reports[0].estimate == 5.0


def test_positive_rates_outside_zero_one_fail_closed() -> None:
    # before: outputs 2 in group 0 and 1 in group 1 (an observed gap of 1) clipped to rates of 1 and
    # 1, a parity bound of 0 and a Certified gap of at most 0.05
    v = np.where(GROUP == 0, 2.0, 1.0)
    res = Seldonian().test(IDENTITY, [0.0], {"v": v, "group": GROUP}, demographic_parity(0.05))
    assert_fails_closed(lambda: res)
    assert math.isnan(res.reports[0].upper_bound)


def test_values_inside_the_range_still_certify() -> None:
    res = Seldonian().test(IDENTITY, [0.0], {"v": SMALL}, mean_cost(0.5, low=0.0, high=1.0))
    assert res and res.reports[0].upper_bound < 0.5


# ------------------------------------------------------------------ the level in reports


@pytest.mark.parametrize(("delta", "level"), [(0.05, "95%"), (0.025, "97.5%"), (0.001, "99.9%"),
                                              (1e-5, "99.999%"), (1e-9, "99.9999999%")])
def test_reported_level_never_rounds_to_100_percent(delta: float, level: str) -> None:
    # before: f"{1 - delta:.0%}" printed delta = 0.001 as a "100% upper bound" (and 0.025 as 98%)
    res = Seldonian(delta=delta).test(IDENTITY, [0.0], {"v": SMALL}, mean_cost(0.5))
    assert res.reason.startswith(f"mean cost: {level} upper bound ")


# ------------------------------------------------------------------ errors instead of crashes


def test_bad_frequency_weights_are_input_errors() -> None:
    # before: strings raised numpy's ValueError, a 2-D column a ValueError from the hypergeometric split
    with pytest.raises(InputDataError, match="sample_weight"):
        Seldonian().test(IDENTITY, [0.0], {"v": SMALL, "sample_weight": ["a"] * N}, mean_cost(0.5))
    with pytest.raises(InputDataError, match="sample_weight"):
        Seldonian().run(IDENTITY, {"v": SMALL, "sample_weight": np.ones((N, 2))}, mean_cost(0.5), seed=0)


@pytest.mark.parametrize("n_safety", [math.nan, -5, 0, math.inf, "100", True])
def test_select_candidate_checks_n_safety(n_safety: object) -> None:
    # before: NaN surfaced as student_t_radius's 'n', a negative size silently predicted every bound to fail
    with pytest.raises(InvalidParameterError, match=r"'n_safety' parameter of Seldonian\.select_candidate"):
        Seldonian().select_candidate(IDENTITY, {"v": SMALL}, mean_cost(0.5), n_safety=n_safety)


def test_select_candidate_on_zero_weight_data_is_insufficient_data() -> None:
    # before: ZeroDivisionError
    with pytest.raises(InsufficientDataError, match="at least one candidate sample"):
        Seldonian().select_candidate(IDENTITY, {"v": SMALL, "sample_weight": np.zeros(N)}, mean_cost(0.5),
                                     n_safety=100)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"penalties": (math.nan,)}, "penalties"),      # before: accepted, failed later inside a fit
    ({"penalties": ("a",)}, "penalties"),           # before: TypeError from '<'
    ({"penalties": (0.0, -1.0)}, "penalties"),
    ({"intercept_shifts": (0.0, math.nan)}, "intercept_shifts"),  # before: accepted (NaN candidates)
    ({"intercept_shifts": (math.inf,)}, "intercept_shifts"),
])
def test_classifier_model_family_is_validated(kwargs: dict, name: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of ClassifierModel"):
        ClassifierModel(**kwargs)
    with pytest.raises(InputDataError, match="penalties"):
        ClassifierModel(penalties=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("x0", [["a"], [], [math.nan], [[0.0, 1.0], [2.0, 3.0]]])
def test_callable_model_checks_x0(x0: object) -> None:
    # before: strings were numpy's ValueError in the search, [] an IndexError in predict_fn
    with pytest.raises((InputDataError, InvalidParameterError), match="x0"):
        CallableModel(lambda p, d: d["v"], x0=x0)  # type: ignore[arg-type]
    assert CallableModel(lambda p, d: d["v"], x0=0.0).initial_params({}).tolist() == [0.0]  # type: ignore[arg-type]


def test_callable_model_and_mean_check_their_functions() -> None:
    with pytest.raises(InvalidParameterError, match="'predict_fn' parameter of CallableModel"):
        CallableModel(3, x0=[0.0])  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'loss_fn' parameter of CallableModel"):
        CallableModel(lambda p, d: d["v"], x0=[0.0], loss_fn="error")  # type: ignore[arg-type]
    # before: TypeError "'int' object is not callable" inside the safety test
    with pytest.raises(InvalidParameterError, match="'statistic' parameter of Mean 'mean cost'"):
        mean_cost(0.5, statistic=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'where' parameter of Mean"):
        mean_cost(0.5, where=np.ones(N, dtype=bool))  # type: ignore[arg-type]


def test_threshold_decision_and_estimator_model_refuse_scalars_for_lists() -> None:
    # before: TypeError "object of type 'int' has no len()" / "'int' object is not iterable"
    with pytest.raises(InvalidParameterError, match="'thresholds' parameter of ThresholdDecision"):
        ThresholdDecision(thresholds=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'refits' parameter of EstimatorModel"):
        EstimatorModel(LogisticRegression(), refits=5)  # type: ignore[arg-type]


def test_logistic_regression_refuses_bad_arrays() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 2)), np.arange(20) % 2
    with pytest.raises(InputDataError, match="'theta0'"):  # before: a NaN "fit", silently
        LogisticRegression().fit(X, y, theta0=[math.nan] * 3)
    with pytest.raises(InputDataError, match="'theta'"):  # before: IndexError
        LogisticRegression().set_theta([])
    with pytest.raises(InputDataError, match="'theta'"):  # before: labels 1[NaN >= 0], all 0
        ClassifierModel().estimator(np.array([math.nan, 0.0, 0.0]))
    with pytest.raises(InputDataError, match="'X'"):  # before: numpy's ValueError
        LogisticRegression().fit([["a", "b"]] * 4, [0, 1, 0, 1])


@contract_settings()
@given(st.one_of(adversarial_scalars(), st.just(1.0)))
def test_select_candidate_contract_on_n_safety(n_safety: object) -> None:
    assert_contract(Seldonian().select_candidate, IDENTITY, {"v": SMALL}, mean_cost(0.5), n_safety=n_safety,
                    names=("n_safety",))


# ------------------------------------------------------------------ numpy booleans as group labels


def test_numpy_booleans_are_not_the_label_one() -> None:
    # before: np.True_ matched the 1s of an integer column (True did not), and np.True_ / np.False_
    # matched nothing in a boolean column, so an np.bool_ group was empty
    ints, bools = np.array([0, 1, 1]), np.array([False, True, True])
    assert not equal_mask(ints, np.True_).any() and not equal_mask(ints, True).any()
    assert equal_mask(bools, np.True_).tolist() == equal_mask(bools, True).tolist() == [False, True, True]
    res = Seldonian().test(IDENTITY, [0.0], {"v": SMALL, "group": GROUP.astype(bool)},
                           demographic_parity(0.9, groups=(np.False_, np.True_)))
    assert res
    with pytest.raises(InsufficientDataError):
        Seldonian().test(IDENTITY, [0.0], {"v": SMALL, "group": GROUP},
                         demographic_parity(0.9, groups=(np.False_, np.True_)))
