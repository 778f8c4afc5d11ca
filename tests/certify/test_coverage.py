"""Coverage: over many draws, a solution whose true parity gap exceeds epsilon is returned at most delta
of the time (synthetic populations with a known gap)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from guardopt.certify import CallableModel, Seldonian, ThresholdDecision, demographic_parity, mean_cost

DELTA = 0.05
EPS = 0.05


def _not_above_delta(false_safe: int, trials: int) -> bool:
    # One-sided binomial test of H0: rate <= delta at level 0.01.
    return stats.binom.sf(false_safe - 1, trials, DELTA) >= 0.01


@pytest.mark.slow
def test_mean_cost_false_safe_rate_is_tight_at_the_boundary():
    # One mean, no union bound: a candidate whose true mean cost is just above tau passes about delta
    # of the time (the one-sided t bound's level), not more.
    rng = np.random.default_rng(11)
    model = CallableModel(lambda p, d: d["cost"], x0=[0.0])
    cons = mean_cost(0.299)
    trials, passed = 2000, 0
    for _ in range(trials):
        cost = (rng.random(500) < 0.3).astype(float)  # true mean 0.3 > tau
        passed += bool(Seldonian(delta=DELTA).test(model, [0.0], {"cost": cost}, cons))
    print(f"mean cost: {passed}/{trials} unsafe candidates passed")
    assert _not_above_delta(passed, trials)
    assert passed / trials > 0.01  # the test is not vacuous: the bound is close to its level


@pytest.mark.slow
@pytest.mark.parametrize("bound", ["ttest", "hoeffding"])
def test_parity_false_safe_rate_at_the_boundary(bound):
    # A fixed classifier whose true gap is just above epsilon (the hardest case for the test), and,
    # for power, a fair one (true gap 0) that the test should pass at this sample size.
    rng = np.random.default_rng(123)
    model = CallableModel(lambda p, d: d["pred"], x0=[0.0])
    cons = demographic_parity(EPS)
    trials = 1000
    passed = {}
    for gap in (EPS + 0.002, 0.0):
        rates = np.array([0.70, 0.70 - gap])
        passed[gap] = 0
        for _ in range(trials):
            g = (rng.random(40_000) < 0.3).astype(int)
            pred = (rng.random(40_000) < rates[g]).astype(float)
            res = Seldonian(delta=DELTA, bound=bound).test(model, [0.0], {"pred": pred, "group": g}, cons)
            passed[gap] += bool(res)
    print(f"{bound}: unsafe passed {passed[EPS + 0.002]}/{trials}, fair passed {passed[0.0]}/{trials}")
    assert _not_above_delta(passed[EPS + 0.002], trials)
    assert passed[0.0] > 0.9 * trials


@pytest.mark.slow
def test_seldonian_returns_unsafe_thresholds_rarely():
    # Population: group 0 scores ~ U(0, 1), group 1 scores ~ U(0, 1) ** 1.5, so the acceptance rates
    # of a threshold t are 1 - t and 1 - t ** (1 / 1.5): the true gap is known exactly. The utility
    # favours low thresholds, pushing candidate selection to the edge of the feasible set.
    rng = np.random.default_rng(7)
    model = ThresholdDecision(score="score", utility="utility", thresholds=tuple(np.linspace(0, 1, 101)))
    cons = demographic_parity(EPS)
    trials, returned, unsafe = 1000, 0, 0
    for seed in range(trials):
        n = 1500
        g = rng.integers(0, 2, n)
        score = np.where(g == 1, rng.random(n) ** 1.5, rng.random(n))
        data = {"score": score, "group": g, "utility": np.ones(n)}
        res = Seldonian(delta=DELTA).run(model, data, cons, seed=seed)
        if res:
            returned += 1
            t = float(res.unwrap()[0])
            unsafe += abs((1 - t) - (1 - t ** (1 / 1.5))) > EPS
    print(f"returned {returned}/{trials}, unsafe {unsafe}")
    assert returned > trials // 2
    assert _not_above_delta(unsafe, trials), f"{unsafe}/{trials} returned thresholds were unsafe"
