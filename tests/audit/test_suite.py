"""MetricSuite: evaluation against thresholds (fail closed), gradient conflicts, feasibility, Pareto."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.special import expit

from guardopt.audit import MetricSuite, SuiteReport
from guardopt.core.errors import InvalidParameterError
from guardopt.problems.audit_tasks import two_group_base_rates


def test_evaluate_and_fail_closed():
    suite = MetricSuite({"demographic_parity": 0.1, "equalized_odds": 0.1, "calibration": 0.5})
    y = [1, 0, 1, 0]
    rep = suite.evaluate(y, [0.9, 0.2, 0.8, 0.7], [0, 0, 1, 1])
    # decisions (1, 0, 1, 1): DP gap 0.5, EO gap max(0, 1) = 1
    assert rep.values["demographic_parity"] == 0.5 and rep.values["equalized_odds"] == 1.0
    assert rep.passed == {"demographic_parity": False, "equalized_odds": False, "calibration": True}
    assert not rep and rep.worst_violation == pytest.approx(0.9)
    nan = SuiteReport({"equal_opportunity": math.nan}, {"equal_opportunity": 0.1}, 1.0)
    assert not nan and nan.passed == {"equal_opportunity": False} and nan.worst_violation == math.inf
    assert "| demographic_parity | 0.5000 | 0.1 | **no** |" in rep.markdown()


def test_config_errors():
    with pytest.raises(InvalidParameterError, match="The 'thresholds' parameter of MetricSuite"):
        MetricSuite({"nope": 0.1})
    with pytest.raises(InvalidParameterError, match="'thresholds'"):
        MetricSuite({"demographic_parity": 1.5})
    with pytest.raises(InvalidParameterError, match="'decision_threshold'"):
        MetricSuite(decision_threshold=1.0)


def test_conflict_cosines_match_finite_differences():
    d = two_group_base_rates(400, seed=3)
    suite = MetricSuite({"demographic_parity": 0.05, "equalized_odds": 0.05})
    theta = np.array([0.8, 0.4, -0.2, 0.1])
    cos = suite.conflicts(d.X, d.y, d.group, theta)
    assert set(cos) == {("log_loss", "demographic_parity"), ("log_loss", "equalized_odds"),
                        ("demographic_parity", "equalized_odds")}
    Xt = np.hstack([d.X, np.ones((400, 1))])
    g, y = d.group, d.y

    def f_dp(th):
        p = expit(Xt @ th)
        return (p[g == 1].mean() - p[g == 0].mean()) ** 2

    def f_ll(th):
        z = Xt @ th
        return np.mean(np.logaddexp(0, -(2 * y - 1) * z))

    def num(f):
        return np.array([(f(theta + h) - f(theta - h)) / 2e-6 for h in 1e-6 * np.eye(4)])

    a, b = num(f_ll), num(f_dp)
    assert cos[("log_loss", "demographic_parity")] == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b),
                                                                    abs=1e-5)
    assert all(-1 - 1e-12 <= v <= 1 + 1e-12 for v in cos.values())


def test_pareto_sweep_accuracy_rises_with_tau_and_joint_is_lowest():
    d = two_group_base_rates(2000, seed=4)
    s = expit(d.X.sum(axis=1) / np.sqrt(3) + np.where(d.group == 1, 0.0, -0.85))
    suite = MetricSuite({"demographic_parity": 0.05, "equalized_odds": 0.05})
    sweep = suite.pareto_sweep(s, d.y, d.group, taus=(0.0, 0.05, 0.2))
    assert set(sweep) == {"demographic_parity", "equalized_odds", "joint"}
    for curve in sweep.values():
        accs = [a for _, a in curve]
        assert all(b >= a - 1e-7 for a, b in itertools.pairwise(accs))
    for i in range(3):
        assert sweep["joint"][i][1] <= min(sweep["demographic_parity"][i][1], sweep["equalized_odds"][i][1]) + 1e-7
    res = suite.feasible(s, d.y, d.group)
    assert res.feasible and res.accuracy == pytest.approx(sweep["joint"][1][1], abs=1e-6)


def test_suite_is_frozen_and_hashable():
    suite = MetricSuite({"demographic_parity": 0.05})
    assert hash(suite) == hash(MetricSuite({"demographic_parity": 0.05}))
    with pytest.raises(TypeError):
        suite.thresholds["demographic_parity"] = 0.5  # type: ignore[index]
