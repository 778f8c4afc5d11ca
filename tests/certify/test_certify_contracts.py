"""Fail-closed contract of certify (issue 13): no certificate from non-finite parameters or outputs.

`Seldonian.test` and `Seldonian.run` either return a result or raise a `GuardoptError` naming the
parameter; a `Certified` result only ever comes from finite parameters, finite model outputs and
finite bounds that meet their thresholds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.certify import (
    CallableModel,
    Certified,
    ClassifierModel,
    Mean,
    NoSolutionFound,
    Seldonian,
    ThresholdDecision,
    demographic_parity,
    mean_cost,
)
from guardopt.core.errors import InvalidParameterError
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    float_arrays,
    is_finite_data,
)

RNG = np.random.default_rng(0)
N = 300
GROUP = np.arange(N) % 2
DATA = {"X": RNG.normal(size=(N, 2)), "y": (RNG.random(N) < 0.5).astype(float), "group": GROUP,
        "score": RNG.random(N)}
PARITY = demographic_parity(0.5, group="group")
NAMES = ("params", "output of CallableModel.predict", "statistic", "thresholds", "delta", "low", "high",
         "threshold", "Data column")


def _certified_soundly(result: object) -> bool:
    if isinstance(result, Certified):
        assert np.isfinite(result.params).all()
        assert all(math.isfinite(r.upper_bound) and r.upper_bound <= r.threshold for r in result.reports)
    return True


# ------------------------------------------------------------------------------------ properties


@contract_settings()
@given(adversarial_arrays(max_dims=1, max_side=4), st.sampled_from(["ttest", "hoeffding"]))
def test_test_never_certifies_non_finite_parameters(params, bound) -> None:
    s = Seldonian(bound=bound)
    for model in (ThresholdDecision(), ClassifierModel()):
        out = assert_contract(s.test, model, params, DATA, PARITY, names=NAMES, check=_certified_soundly)
        if not is_finite_data(params):
            assert not out.ok or isinstance(out.result, NoSolutionFound)


@contract_settings()
@given(float_arrays(shape=st.sampled_from([(N,), (N - 1,), (N, 2), (), (0,)]), elements=adversarial_floats()),
       st.one_of(st.just(0.5), adversarial_scalars()))
def test_model_outputs_are_checked_before_the_test(outputs, threshold) -> None:
    model = CallableModel(lambda p, d: outputs, x0=[0.0])
    out = assert_contract(lambda: Seldonian().test(model, [0.0], DATA, mean_cost(threshold)), names=NAMES,
                          check=_certified_soundly)
    if out.ok and not np.isfinite(outputs).all():
        assert isinstance(out.result, NoSolutionFound)


@contract_settings(scale=0.4)
@given(float_arrays(shape=(4,), elements=adversarial_floats()))
def test_run_never_certifies_a_non_finite_candidate(family) -> None:
    # a finite family with non-finite members: candidate selection must pass over them
    model = CallableModel(lambda p, d: np.full(len(d["score"]), p[0]), x0=[0.0],
                          candidates=[[v] for v in family])
    cost = mean_cost(0.5, low=-1e6, high=1e6)
    assert_contract(Seldonian(bound="hoeffding").run, model, DATA, cost, 0, names=NAMES, check=_certified_soundly)


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars())
def test_constraint_ranges_are_validated(low, high) -> None:
    assert_contract(Mean, "m", None, None, low, high, names=("low", "high"))


# ------------------------------------------------------------------------------------ regressions


def test_issue13_nan_theta_is_never_certified() -> None:
    # before: 1[x·w + b >= 0] mapped NaN to 0, the parity gap read 0 and the NaN model was Certified
    res = Seldonian().test(ClassifierModel(), [math.nan, math.nan, math.nan], DATA, PARITY)
    assert isinstance(res, NoSolutionFound) and not res
    assert "not all finite" in res.reason and all(math.isnan(r.upper_bound) for r in res.failed)
    res = Seldonian().test(ClassifierModel(), [0.0, math.inf, 0.0], DATA, PARITY)
    assert isinstance(res, NoSolutionFound)


def test_issue13_nan_threshold_decision_is_never_certified() -> None:
    res = Seldonian().test(ThresholdDecision(), [math.nan], DATA, PARITY)
    assert isinstance(res, NoSolutionFound) and "not all finite" in res.reason
    with pytest.raises(InvalidParameterError, match="'params' parameter of ThresholdDecision must be a finite"):
        ThresholdDecision().predict(np.array([math.nan]), DATA)
    with pytest.raises(InvalidParameterError, match="'thresholds' parameter of ThresholdDecision"):
        ThresholdDecision(thresholds=(0.5, math.nan))


def test_issue13_non_finite_model_outputs_are_never_certified() -> None:
    outputs = np.zeros(N)
    outputs[3] = -math.inf  # a cost of -inf would drag the mean down and pass
    model = CallableModel(lambda p, d: outputs, x0=[0.0])
    res = Seldonian().test(model, [0.0], DATA, mean_cost(0.5))
    assert isinstance(res, NoSolutionFound) and "NaN or infinite" in res.reason


def test_issue13_threshold_decision_with_empty_params_names_params() -> None:
    with pytest.raises(InvalidParameterError, match=r"'params' parameter of ThresholdDecision must be one "
                                                    r"threshold, shape \(1,\)"):
        Seldonian().test(ThresholdDecision(), [], DATA, PARITY)


def test_issue13_a_finite_threshold_still_certifies() -> None:
    res = Seldonian().test(ThresholdDecision(), [0.5], DATA, PARITY)
    assert isinstance(res, Certified)  # both groups are accepted at about the same rate
