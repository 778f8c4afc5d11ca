"""RunningStats: per-arm Welford/Chan statistics against numpy on random batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardopt.core import InputDataError, InvalidParameterError
from guardopt.uncertainty import RunningStats, empirical_bernstein, hoeffding, student_t


@given(st.integers(min_value=1, max_value=6), st.integers(min_value=0, max_value=2**31), st.integers(1, 6))
@settings(max_examples=60, deadline=None)
def test_matches_numpy_on_random_batches(n_arms: int, seed: int, n_batches: int) -> None:
    rng = np.random.default_rng(seed)
    rs = RunningStats(n_arms)
    seen: list[list[float]] = [[] for _ in range(n_arms)]
    for _ in range(n_batches):
        size = int(rng.integers(0, 12))
        arms = rng.integers(0, n_arms, size)
        values = rng.normal(1e3, rng.uniform(0.01, 10), size)  # offset: a naive sum of squares loses digits
        rs.update(arms, values)
        for a, v in zip(arms, values):
            seen[a].append(float(v))
    for a in range(n_arms):
        assert rs.n[a] == len(seen[a])
        if seen[a]:
            assert rs.mean[a] == pytest.approx(np.mean(seen[a]), rel=1e-12)
        else:
            assert math.isnan(rs.mean[a])
        if len(seen[a]) > 1:
            assert rs.var[a] == pytest.approx(np.var(seen[a], ddof=1), rel=1e-8, abs=1e-9)
            assert rs.std[a] == pytest.approx(np.std(seen[a], ddof=1), rel=1e-8, abs=1e-9)
        else:
            assert math.isnan(rs.var[a])


def test_vector_values_per_arm() -> None:
    rs = RunningStats(2, shape=(3,))
    v = np.arange(12.0).reshape(4, 3)
    rs.update([0, 1, 0, 0], v)
    assert np.allclose(rs.mean[0], v[[0, 2, 3]].mean(axis=0))
    assert np.allclose(rs.var[0], v[[0, 2, 3]].var(axis=0, ddof=1))
    assert np.allclose(rs.mean[1], v[1]) and np.isnan(rs.var[1]).all()


def test_estimate_equals_the_sample_bounds() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((3, 25))
    rs = RunningStats(4)
    rs.update(np.repeat([0, 1, 2], 25), x.ravel())
    for bound, ref in (("hoeffding", hoeffding(x, 0.1, 0.0, 1.0)),
                       ("bernstein", empirical_bernstein(x, 0.1, 0.0, 1.0)),
                       ("t", student_t(x, 0.1))):
        est = rs.estimate(0.1, bound=bound, low=0.0, high=1.0)  # type: ignore[arg-type]
        lower, mean, upper = np.asarray(est.lower), np.asarray(est.mean), np.asarray(est.upper)
        assert np.allclose(lower[:3], ref.lower) and np.allclose(upper[:3], ref.upper)
        # an arm never pulled: NaN mean and the whole range (optimism prefers it, pessimism rejects it)
        assert math.isnan(mean[3]) and lower[3] == 0.0 and upper[3] == 1.0
    assert np.asarray(rs.estimate(0.1, bound="t").lower)[3] == -math.inf


def test_input_errors() -> None:
    rs = RunningStats(2)
    with pytest.raises(InputDataError, match=r"Arm indices must lie in \[0, 2\). Got 0..2"):
        rs.update([0, 2], [1.0, 1.0])
    with pytest.raises(InputDataError, match="NaN"):
        rs.update([0], [math.nan])
    with pytest.raises(InputDataError, match="1-D array of arm indices"):
        rs.update([0.5], [1.0])
    with pytest.raises(InvalidParameterError, match="'n_arms' parameter of RunningStats"):
        RunningStats(0)
    with pytest.raises(InputDataError, match="needs a finite range"):
        rs.estimate(0.1, bound="hoeffding")


def test_shape_errors_and_empty_updates() -> None:
    rs = RunningStats(3, shape=(2,))
    rs.update([], np.zeros((0, 2)))
    assert rs.n.tolist() == [0, 0, 0]
    with pytest.raises(InputDataError, match=r"'values' argument of .* must have shape \(2, 2\).*Got shape \(2,\)"):
        rs.update([0, 1], [1.0, 2.0])
    with pytest.raises(InputDataError, match="1-D array of arm indices"):
        rs.update([[0, 1]], [[1.0, 2.0]])
