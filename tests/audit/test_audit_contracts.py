"""Fail-closed contract of guardopt.audit: any input gives a valid result or a GuardoptError naming it.

Non-finite data never yields a range, a metric value, a feasible program or a passing suite.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from guardopt.audit import (
    METRICS,
    MetricSuite,
    MultiplicityConfig,
    PostProcessConfig,
    SamplingConfig,
    ambiguity,
    calibration_error_rate_gap,
    fair_postprocess,
    viable_prediction_ranges,
)
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    finite_floats,
    float_arrays,
    is_finite_data,
)

LABELS = np.array([0, 1, 1, 0, 1, 0])
GROUPS = np.array([0, 0, 0, 1, 1, 1])


@contract_settings()
@given(st.sampled_from(sorted(METRICS)), adversarial_arrays(), adversarial_arrays())
def test_metrics_take_any_input(name, pred, group):
    out = assert_contract(METRICS[name], LABELS, pred, group, names=("y", "pred", "score", "group"))
    if out.ok:
        assert is_finite_data(pred) and (math.isnan(out.result) or 0.0 <= out.result <= 1.0)


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars())
def test_configs_validate_every_field(a, b):
    assert_contract(MultiplicityConfig, epsilon=a, delta=b, names=("epsilon", "delta"))
    assert_contract(SamplingConfig, n_models=a, perturbation=b, names=("n_models", "perturbation"))
    assert_contract(MetricSuite, {"demographic_parity": a}, decision_threshold=b,
                    names=("thresholds", "decision_threshold"))
    assert_contract(PostProcessConfig, (("demographic_parity", a),), names=("thresholds",))


@contract_settings()
@given(adversarial_arrays(), adversarial_arrays())
def test_suite_evaluate_fails_closed(score, weights):
    suite = MetricSuite({"demographic_parity": 0.1, "calibration": 0.2})
    out = assert_contract(suite.evaluate, LABELS, score, GROUPS, sample_weight=weights,
                          names=("score", "sample_weight"))
    if out.ok:
        assert is_finite_data(score)
        for name, value in out.result.values.items():
            assert out.result.passed[name] == (value <= out.result.thresholds[name])


DESIGNS = st.one_of(adversarial_arrays(min_dims=2, max_dims=2), float_arrays((6, 2)),
                    float_arrays((6, 2), elements=finite_floats(-3, 3)))


@contract_settings(scale=0.4)
@given(DESIGNS, st.one_of(st.none(), adversarial_arrays(), float_arrays((2, 2), elements=finite_floats(-3, 3))))
def test_ranges_take_any_data(X, query):
    out = assert_contract(viable_prediction_ranges, X, LABELS, query, names=("X", "y", "query"))
    if out.ok:
        r = out.result
        assert is_finite_data(X)
        solved = r.solved
        assert np.all(r.lower[solved] <= r.baseline[solved] + 1e-12)
        assert np.all(r.baseline[solved] <= r.upper[solved] + 1e-12)
        assert np.all(np.isnan(r.lower[~solved]))
        assert 0.0 <= ambiguity(r, 0.1) <= 1.0


@contract_settings(scale=0.4)
@given(adversarial_arrays())
def test_programs_take_any_scores(score):
    y = np.tile(LABELS, 2)
    g = np.tile(GROUPS, 2)
    out = assert_contract(fair_postprocess, score, y, g, names=("score", "y"))
    if out.ok:
        assert is_finite_data(score) and np.all((out.result.acceptance >= 0) & (out.result.acceptance <= 1))
    out = assert_contract(calibration_error_rate_gap, score, y, g, names=("score", "y"))
    if out.ok:
        assert is_finite_data(score) and (math.isnan(out.result.gap) or out.result.gap >= 0)
