"""safety_test: pass, fail, NaN, too few samples, Hoeffding needs a range, and its error rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core import InputDataError, InsufficientDataError, InvalidParameterError
from guardopt.guards import Verdict, safety_test

COSTS = [1.0, 2.0, 3.0, 4.0, 5.0]


def test_ttest_pass_and_fail_reference() -> None:
    # mean 3, s / sqrt(5) = 0.70710678, t_{0.95, 4} = 2.13184679 -> upper bound 4.50744332
    v = safety_test(COSTS, threshold=5.0, delta=0.05)
    assert isinstance(v, Verdict) and v.passed and bool(v)
    assert v.upper_bound == pytest.approx(4.50744332, abs=1e-7) and v.n == 5 and v.bound == "ttest"
    assert "4.50744 <= threshold 5" in v.reason
    no = safety_test(COSTS, threshold=4.5, delta=0.05)
    assert not no.passed and not bool(no) and "> threshold 4.5" in no.reason


def test_hoeffding_and_bernstein_reference() -> None:
    # costs in [0, 10]: 3 + 10 * sqrt(log(1/0.05) / (2 * 5)) = 3 + 10 * 0.54733283 = 8.47332831
    v = safety_test(COSTS, threshold=9.0, delta=0.05, bound="hoeffding", low=0.0, high=10.0)
    assert v.passed and v.upper_bound == pytest.approx(8.47332831, abs=1e-7)
    assert not safety_test(COSTS, threshold=8.0, delta=0.05, bound="hoeffding", low=0.0, high=10.0).passed
    # Bernstein: 3 + sqrt(2 * 2.5 * log(40) / 5) + 7 * 10 * log(40) / (3 * 4) = 3 + 1.92065 + 21.51846 -> clipped to 10
    b = safety_test(COSTS, threshold=9.0, delta=0.05, bound="bernstein", low=0.0, high=10.0)
    assert not b.passed and b.upper_bound == pytest.approx(10.0)


def test_nan_fails_closed() -> None:
    v = safety_test([1.0, math.nan, 2.0], threshold=100.0, delta=0.05)
    assert not v.passed and math.isnan(v.upper_bound) and "NaN" in v.reason and "failing closed" in v.reason
    out = safety_test([1.0, 12.0], threshold=100.0, delta=0.05, bound="hoeffding", low=0.0, high=10.0)
    assert not out.passed and "outside the declared range" in out.reason


def test_too_few_samples_and_bad_arguments() -> None:
    with pytest.raises(InsufficientDataError, match=r"at least 2 samples\. Got 1"):
        safety_test([1.0], threshold=5.0, delta=0.05)
    with pytest.raises(InputDataError, match=r"'low' and 'high' arguments .*'hoeffding' bound\. Got low=None"):
        safety_test(COSTS, threshold=5.0, delta=0.05, bound="hoeffding")
    with pytest.raises(InvalidParameterError, match=r"'delta' parameter of safety_test .* \(0, 1\)\. Got 1\.5"):
        safety_test(COSTS, threshold=5.0, delta=1.5)
    with pytest.raises(InvalidParameterError, match="'bound' parameter of safety_test must be one of"):
        safety_test(COSTS, threshold=5.0, delta=0.05, bound="chernoff")  # type: ignore[arg-type]


def test_an_unsafe_candidate_passes_at_most_delta_of_the_time() -> None:
    # True mean cost 0.5 > threshold 0.45: passing is the error the test bounds by delta.
    rng = np.random.default_rng(0)
    reps, delta = 400, 0.1
    for bound in ("hoeffding", "bernstein"):
        passes = sum(safety_test(rng.random(200), 0.45, delta, bound=bound, low=0.0, high=1.0).passed
                     for _ in range(reps))
        assert passes / reps <= delta + 3 * math.sqrt(delta * (1 - delta) / reps)
