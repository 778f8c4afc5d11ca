"""Coverage of every interval: over many repetitions the miscoverage stays below delta (+ 3 s.e.).

Distributions: Bernoulli with a small p, uniform, and a skewed bounded one (Beta(0.5, 5)). The
short version runs in the default suite; the long one (more repetitions, more sample sizes) is
marked slow. Student-t and the bootstrap are asymptotic: they are checked only where their
assumptions are reasonable, and one test documents that Student-t legitimately under-covers a
very skewed small-n case (Bernoulli(0.05), n = 20) — the reason the exact bounds exist.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from guardopt.uncertainty import (
    RunningStats,
    bootstrap,
    clopper_pearson,
    empirical_bernstein,
    hoeffding,
    normal,
    student_t,
)

DELTA = 0.1

# name -> (sampler(rng, shape), true mean); all in [0, 1]
DISTS: dict[str, tuple[Callable[[np.random.Generator, tuple[int, ...]], np.ndarray], float]] = {
    "bernoulli-0.05": (lambda rng, s: (rng.random(s) < 0.05).astype(float), 0.05),
    "uniform": (lambda rng, s: rng.random(s), 0.5),
    "beta-0.5-5": (lambda rng, s: rng.beta(0.5, 5.0, s), 0.5 / 5.5),
}


def miscoverage_limit(delta: float, reps: int) -> float:
    return delta + 3.0 * math.sqrt(delta * (1.0 - delta) / reps)


def _rates(make: Callable[[np.ndarray, str], object], dist: str, n: int, reps: int, seed: int) -> dict[str, float]:
    """Two-sided, upper-only and lower-only miscoverage rates of a vectorized interval."""
    sample, mu = DISTS[dist]
    x = sample(np.random.default_rng(seed), (reps, n))
    out = {}
    for side in ("two-sided", "upper", "lower"):
        est = make(x, side)
        lower, upper = np.asarray(est.lower), np.asarray(est.upper)  # type: ignore[attr-defined]
        out[side] = float(np.mean((mu < lower) | (mu > upper)))
    return out


BOUNDS: dict[str, Callable[[np.ndarray, str], object]] = {
    "hoeffding": lambda x, side: hoeffding(x, DELTA, 0.0, 1.0, side=side),  # type: ignore[arg-type]
    "bernstein": lambda x, side: empirical_bernstein(x, DELTA, 0.0, 1.0, side=side),  # type: ignore[arg-type]
    "running-bernstein": lambda x, side: _running(x, "bernstein", side),
    "running-hoeffding": lambda x, side: _running(x, "hoeffding", side),
}


def _running(x: np.ndarray, bound: str, side: str) -> object:
    # One arm per repetition: RunningStats' per-arm bounds must cover each arm's mean.
    reps, n = x.shape
    rs = RunningStats(reps)
    half = n // 2  # two batches, to exercise the merge
    arms = np.repeat(np.arange(reps), half)
    rs.update(arms, x[:, :half].ravel())
    rs.update(np.repeat(np.arange(reps), n - half), x[:, half:].ravel())
    return rs.estimate(DELTA, bound=bound, low=0.0, high=1.0, side=side)  # type: ignore[arg-type]


@pytest.mark.parametrize("dist", sorted(DISTS))
@pytest.mark.parametrize("bound", sorted(BOUNDS))
def test_exact_bounds_cover(bound: str, dist: str) -> None:
    reps = 2000
    rates = _rates(BOUNDS[bound], dist, n=20, reps=reps, seed=0)
    for side, rate in rates.items():
        assert rate <= miscoverage_limit(DELTA, reps), (bound, dist, side, rate)


@pytest.mark.slow
@pytest.mark.parametrize("n", [5, 50, 200])
@pytest.mark.parametrize("dist", sorted(DISTS))
@pytest.mark.parametrize("bound", sorted(BOUNDS))
def test_exact_bounds_cover_long(bound: str, dist: str, n: int) -> None:
    reps = 20000
    for side, rate in _rates(BOUNDS[bound], dist, n=n, reps=reps, seed=1).items():
        assert rate <= miscoverage_limit(DELTA, reps), (bound, dist, n, side, rate)


def _t(x: np.ndarray, side: str) -> object:
    return student_t(x, DELTA, side=side)  # type: ignore[arg-type]


@pytest.mark.parametrize(("dist", "n"), [("uniform", 5), ("uniform", 20), ("beta-0.5-5", 1000)])
def test_student_t_covers_where_its_assumptions_hold(dist: str, n: int) -> None:
    # Symmetric data with small n, or skewed data with n large enough for the CLT.
    reps = 2000
    for side, rate in _rates(_t, dist, n=n, reps=reps, seed=2).items():
        assert rate <= miscoverage_limit(DELTA, reps), (dist, side, rate)


def test_student_t_upper_bound_is_optimistic_for_skewed_data_at_moderate_n() -> None:
    # Beta(0.5, 5) is right-skewed: the one-sided upper t-bound misses more often than delta at
    # n = 60 (measured 0.13-0.14 for delta = 0.1); a one-sided t-test is not a safety guarantee here.
    rates = _rates(_t, "beta-0.5-5", n=60, reps=4000, seed=2)
    assert rates["upper"] > DELTA + 0.015


def test_student_t_under_covers_a_very_skewed_small_sample() -> None:
    # Bernoulli(0.05), n = 20: with probability 0.95^20 = 0.358 every sample is 0, the sample
    # standard deviation is 0 and the "interval" is the single point 0, which misses p = 0.05.
    # Documented limitation: use Clopper–Pearson, Hoeffding or Bernstein for such data.
    rates = _rates(_t, "bernoulli-0.05", n=20, reps=2000, seed=3)
    assert rates["upper"] > 0.3


def _cp_rates(p: float, n: int, reps: int, seed: int) -> dict[str, float]:
    k = np.random.default_rng(seed).binomial(n, p, size=reps)
    out = {}
    for side in ("two-sided", "upper", "lower"):
        est = clopper_pearson(k, n, DELTA, side=side)
        out[side] = float(np.mean((p < np.asarray(est.lower)) | (p > np.asarray(est.upper))))
    return out


@pytest.mark.parametrize(("p", "n"), [(0.05, 20), (0.5, 20), (0.01, 200)])
def test_clopper_pearson_covers(p: float, n: int) -> None:
    for side, rate in _cp_rates(p, n, 4000, seed=4).items():
        assert rate <= miscoverage_limit(DELTA, 4000), (p, n, side, rate)


@pytest.mark.slow
@pytest.mark.parametrize("p", [0.001, 0.05, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("n", [1, 10, 100, 1000])
def test_clopper_pearson_covers_long(p: float, n: int) -> None:
    for side, rate in _cp_rates(p, n, 40000, seed=5).items():
        assert rate <= miscoverage_limit(DELTA, 40000), (p, n, side, rate)


def test_normal_covers_gaussian_data() -> None:
    reps, sigma = 4000, 2.0
    x = np.random.default_rng(6).normal(1.0, sigma, size=reps)
    for side in ("two-sided", "upper", "lower"):
        est = normal(x, sigma, DELTA, side=side)
        rate = float(np.mean((1.0 < np.asarray(est.lower)) | (1.0 > np.asarray(est.upper))))
        assert rate <= miscoverage_limit(DELTA, reps)


def _bootstrap_rate(reps: int, n: int, seed: int) -> float:
    sample, mu = DISTS["uniform"]
    rng = np.random.default_rng(seed)
    misses = 0
    for r in range(reps):
        est = bootstrap(sample(rng, (n,)), DELTA, n_resamples=400, seed=r)
        misses += not (est.lower <= mu <= est.upper)
    return misses / reps


def test_bootstrap_covers_a_well_behaved_mean() -> None:
    # Asymptotic: checked on uniform data with n = 40, where BCa is accurate.
    assert _bootstrap_rate(150, 40, seed=7) <= miscoverage_limit(DELTA, 150)


@pytest.mark.slow
def test_bootstrap_covers_a_well_behaved_mean_long() -> None:
    assert _bootstrap_rate(1500, 40, seed=8) <= miscoverage_limit(DELTA, 1500)
