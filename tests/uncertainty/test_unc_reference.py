"""Hand-computed reference values for every bound (the numbers are derived in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core import InputDataError, InsufficientDataError, InvalidParameterError
from guardopt.uncertainty import (
    Estimate,
    bootstrap,
    clopper_pearson,
    empirical_bernstein,
    empirical_bernstein_radius,
    ensemble,
    hoeffding,
    hoeffding_radius,
    normal,
    normal_radius,
    side_deltas,
    student_t,
    student_t_radius,
)

BITS = [0, 1, 1, 0, 1, 0, 1, 1, 0, 1]  # n = 10, mean 0.6


def test_hoeffding_reference() -> None:
    # sqrt(log(1/0.05) / (2 * 10)) = sqrt(2.9957323 / 20) = sqrt(0.14978661) = 0.38702276
    assert hoeffding_radius(10, 0.05, 1.0) == pytest.approx(0.38702276, abs=1e-8)
    # a range of width 4 scales it: 4 * 0.38702276 = 1.54809102
    assert hoeffding_radius(10, 0.05, 4.0) == pytest.approx(1.54809102, abs=1e-8)
    # two-sided at delta = 0.1 spends 0.05 per side: 0.6 -/+ 0.38702276
    est = hoeffding(BITS, 0.1, 0.0, 1.0)
    assert (est.lower, est.mean, est.upper) == pytest.approx((0.21297724, 0.6, 0.98702276), abs=1e-8)
    assert est.confidence == pytest.approx(0.9) and est.n == 10 and est.method == "hoeffding"
    # one-sided upper at delta = 0.05: the same upper bound, the lower side is the range's end
    up = hoeffding(BITS, 0.05, 0.0, 1.0, side="upper")
    assert (up.lower, up.upper) == pytest.approx((0.0, 0.98702276), abs=1e-8)
    lo = hoeffding(BITS, 0.05, 0.0, 1.0, side="lower")
    assert (lo.lower, lo.upper) == pytest.approx((0.21297724, 1.0), abs=1e-8)
    # bounds are clipped to the known range: n = 1 gives radius sqrt(log(20) / 2) = 1.2239 > 1
    one = hoeffding([1.0], 0.1, 0.0, 1.0)
    assert (one.lower, one.upper) == (0.0, 1.0)
    # vectorized over arms; n = 0 has an infinite radius
    r = np.asarray(hoeffding_radius(np.array([0, 10, 40]), 0.05, 1.0))
    assert r[0] == math.inf and r[1] == pytest.approx(0.38702276) and r[2] == pytest.approx(0.38702276 / 2)


def test_empirical_bernstein_reference() -> None:
    # Maurer–Pontil Thm 4: sqrt(2 V log(2/δ) / n) + 7 w log(2/δ) / (3 (n - 1)); log(2/0.05) = log 40 = 3.68887945
    # n = 50, V = 0.04, w = 1: sqrt(2 * 0.04 * 3.68887945 / 50) = sqrt(0.00590221) = 0.07682586
    #                          7 * 3.68887945 / (3 * 49) = 25.8221562 / 147 = 0.17566093     -> 0.25248679
    assert empirical_bernstein_radius(50, 0.04, 0.05, 1.0) == pytest.approx(0.25248679, abs=1e-7)
    # 25 samples at 0.3 and 25 at 0.7: mean 0.5, V = 0.04 * 50 / 49 = 0.04081633;
    # sqrt(2 * 0.04081633 * 3.68887945 / 50) = sqrt(0.00602266) = 0.07760580, + 0.17566093 = 0.25326673
    x = np.r_[np.full(25, 0.3), np.full(25, 0.7)]
    est = empirical_bernstein(x, 0.05, 0.0, 1.0, side="upper")
    assert est.upper == pytest.approx(0.75326673, abs=1e-7) and est.lower == 0.0
    # the second term scales with the range; the first with the (unscaled) variance
    assert empirical_bernstein_radius(50, 0.04, 0.05, 10.0) == pytest.approx(0.07682586 + 1.7566093, abs=1e-6)
    # needs n >= 2
    assert empirical_bernstein_radius(1, 0.0, 0.05, 1.0) == math.inf
    with pytest.raises(InsufficientDataError, match=r"at least 2 samples\. Got 1"):
        empirical_bernstein([0.5], 0.05, 0.0, 1.0)


def test_bernstein_beats_hoeffding_for_small_variance() -> None:
    x = np.random.default_rng(0).uniform(0.49, 0.51, size=2000)
    assert empirical_bernstein(x, 0.05, 0, 1).radius < hoeffding(x, 0.05, 0, 1).radius


def test_student_t_reference() -> None:
    # x = 1..5: mean 3, s = sqrt(2.5) = 1.58113883, s / sqrt(5) = 0.70710678
    # two-sided 95%: t_{0.975, 4} = 2.77644511 -> radius 1.96324316
    est = student_t([1, 2, 3, 4, 5], 0.05)
    assert (est.lower, est.upper) == pytest.approx((1.03675684, 4.96324316), abs=1e-7)
    # one-sided: t_{0.95, 4} = 2.13184679 -> radius 1.50744332
    assert student_t([1, 2, 3, 4, 5], 0.05, side="upper").upper == pytest.approx(4.50744332, abs=1e-7)
    assert student_t([1, 2, 3, 4, 5], 0.05, side="upper").lower == -math.inf
    assert student_t_radius(5, math.sqrt(2.5), 0.05) == pytest.approx(1.50744332, abs=1e-7)
    assert student_t_radius(1, 1.0, 0.05) == math.inf
    # along an axis: two rows at once
    both = student_t(np.array([[1, 2, 3, 4, 5], [2, 4, 6, 8, 10]]), 0.05)
    assert np.allclose(both.radius, [1.96324316, 3.92648632])


def test_normal_reference() -> None:
    # z_{0.975} = 1.95996398; z_{0.95} = 1.64485363
    est = normal(0.0, 1.0, 0.05)
    assert (est.lower, est.upper) == pytest.approx((-1.95996398, 1.95996398), abs=1e-8)
    assert normal_radius(2.0, 0.05) == pytest.approx(2 * 1.64485363, abs=1e-7)
    vec = normal(np.array([1.0, 2.0]), np.array([0.5, 0.0]), 0.05, side="upper")
    assert np.allclose(vec.upper, [1 + 0.5 * 1.64485363, 2.0]) and np.all(vec.lower == -np.inf)


def test_clopper_pearson_reference() -> None:
    # k = 0: upper = 1 - (δ/2)^(1/n) = 1 - 0.025^0.1 = 1 - exp(log(0.025) / 10) = 1 - 0.69150289 = 0.30849711
    e0 = clopper_pearson(0, 10, 0.05)
    assert (e0.lower, e0.mean, e0.upper) == pytest.approx((0.0, 0.0, 0.30849711), abs=1e-8)
    # k = n: lower = 0.025^0.1 = 0.69150289 (mirror image)
    e10 = clopper_pearson(10, 10, 0.05)
    assert (e10.lower, e10.upper) == pytest.approx((0.69150289, 1.0), abs=1e-8)
    # one-sided upper with k = 0: 1 - 0.05^0.1 = 1 - 0.74113445 = 0.25886555 (the "rule of three" regime)
    assert clopper_pearson(0, 10, 0.05, side="upper").upper == pytest.approx(0.25886555, abs=1e-8)
    # k = 5, n = 10: Beta(0.025; 5, 6) = 0.18708603 and Beta(0.975; 6, 5) = 0.81291397 (symmetric)
    e5 = clopper_pearson(5, 10, 0.05)
    assert (e5.lower, e5.upper) == pytest.approx((0.18708603, 0.81291397), abs=1e-7)
    vec = clopper_pearson(np.array([0, 5, 10]), 10, 0.05)
    assert np.allclose(vec.upper, [0.30849711, 0.81291397, 1.0])
    with pytest.raises(InputDataError, match="whole successes in \\[0, n\\]"):
        clopper_pearson(11, 10, 0.05)


def test_ensemble_reference() -> None:
    # members x candidates [[1, 2], [3, 6]]: mean [2, 4], population std [1, 2]
    est = ensemble([[1.0, 2.0], [3.0, 6.0]])
    assert np.allclose(est.lower, [1, 2]) and np.allclose(est.upper, [3, 6]) and math.isnan(est.confidence)


def test_bootstrap_is_reproducible_and_brackets_the_statistic() -> None:
    x = np.random.default_rng(1).exponential(size=40)
    a, b = bootstrap(x, 0.1, seed=3, n_resamples=500), bootstrap(x, 0.1, seed=3, n_resamples=500)
    assert a == b and a.lower < a.mean < a.upper and a.mean == pytest.approx(x.mean())
    up = bootstrap(x, 0.1, side="upper", seed=3, n_resamples=500)
    assert up.lower == -math.inf and up.upper > x.mean()
    med = bootstrap(x, 0.1, statistic=np.median, method="percentile", seed=0, n_resamples=500)
    assert med.lower <= np.median(x) <= med.upper
    flat = bootstrap(np.ones(5), 0.1, seed=0, n_resamples=200)  # degenerate: BCa is NaN, falls back
    assert flat.lower == flat.mean == flat.upper == 1.0


def test_side_deltas_and_input_errors() -> None:
    assert side_deltas(0.1, "two-sided", "f") == (0.05, 0.05)
    assert side_deltas(0.1, "upper", "f") == (0.0, 0.1)
    with pytest.raises(InvalidParameterError, match=r"'delta' parameter of hoeffding .* \(0, 1\)\. Got 1\.5"):
        hoeffding(BITS, 1.5, 0, 1)
    with pytest.raises(InvalidParameterError, match=r"'side' parameter of student_t must be one of"):
        student_t(BITS, 0.1, side="both")  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="outside the declared range"):
        hoeffding([2.0], 0.1, 0, 1)
    with pytest.raises(InputDataError, match="NaN"):
        student_t([1.0, math.nan], 0.1)
    with pytest.raises(InputDataError, match="scalar"):
        hoeffding(0.5, 0.1, 0, 1)


def test_estimate_checks_order_and_shapes() -> None:
    Estimate(1.0, math.nan, 2.0, 0.9, 3, "x")  # NaN propagates (guards fail closed on it)
    with pytest.raises(InputDataError, match="'lower' field of Estimate must be <= mean"):
        Estimate(1.0, 1.5, 2.0, 0.9, 3, "x")
    with pytest.raises(InputDataError, match="one shape"):
        Estimate(np.zeros(2), np.zeros(3), np.zeros(2), 0.9, 3, "x")
    assert Estimate(np.zeros(2), -np.ones(2), np.ones(2), 0.9, 3, "x").shape == (2,)


def test_range_must_be_finite_and_ordered() -> None:
    for make in (hoeffding, empirical_bernstein):
        with pytest.raises(InputDataError, match=r"'low' and 'high' arguments of .* low < high\. Got low=1"):
            make(BITS, 0.1, 1.0, 0.0)
        with pytest.raises(InputDataError, match="finite range"):
            make(BITS, 0.1, 0.0, math.inf)
