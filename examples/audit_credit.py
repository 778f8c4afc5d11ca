"""Audit a credit-scoring model: how much do near-optimal models disagree, and which fairness
targets can it meet together?

Run: ``python examples/audit_credit.py`` (about 10 s). Uses German Credit as shipped with guardopt;
replace ``load_german_credit_groups`` by your own ``X, y, group`` arrays.
"""

from __future__ import annotations

import numpy as np

from guardopt.audit import (
    LevelSet,
    MetricSuite,
    MultiplicityConfig,
    ambiguity,
    calibration_error_rate_gap,
    discrepancy_bound,
    logistic,
    viable_prediction_ranges,
)
from guardopt.problems.fairness import load_german_credit_groups


def main() -> None:
    data = load_german_credit_groups("age")  # group 1 = applicants aged 25 or younger
    rng = np.random.default_rng(0)
    rows = rng.choice(data.y.size, size=400, replace=False)
    X, y, group = data.X[rows], data.y[rows], data.group[rows]

    # 1. Predictive multiplicity: risk ranges over models within 1% of the best loss.
    level_set = LevelSet(X, y, C=1.0)
    people = rng.choice(400, size=6, replace=False)
    ranges = viable_prediction_ranges(X, y, X[people], MultiplicityConfig(epsilon=0.01), level_set=level_set)
    for i, p in enumerate(people):
        print(f"applicant {p:3d}: P(good) = {ranges.baseline[i]:.2f}, near-optimal models say "
              f"[{ranges.lower[i]:.2f}, {ranges.upper[i]:.2f}]")
    print(f"ambiguity (δ = 0.1): {ambiguity(ranges, 0.1):.2f}; "
          f"discrepancy ≥ {discrepancy_bound(ranges, X[people], 0.1):.2f}")

    # 2. Plural metrics: the same scores against several fairness targets.
    score = logistic.predict_proba(level_set.theta0, X)
    suite = MetricSuite({"demographic_parity": 0.05, "equalized_odds": 0.05, "calibration": 0.1})
    print(suite.evaluate(y, score, group).markdown())
    best = suite.feasible(score, y, group)
    free = MetricSuite({"demographic_parity": 1.0}).feasible(score, y, group)
    print(f"DP and EO <= 0.05 together: accuracy {best.accuracy:.3f} (unconstrained {free.accuracy:.3f})")
    gap = calibration_error_rate_gap(score, y, group)
    print(f"calibrated within groups with equal error rates: smallest gap {gap.gap:.3f} "
          f"({'feasible' if gap.feasible(0.05) else 'infeasible'} at 0.05)")


if __name__ == "__main__":
    main()
