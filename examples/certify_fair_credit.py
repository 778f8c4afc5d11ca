"""Certify a fair loan-approval classifier on German Credit, or get "no solution found".

The Seldonian two-step (Thomas et al., 2019): a logistic-regression candidate is chosen on 40% of
the data so that a *predicted* 95% upper bound on its demographic parity gap (female vs male
applicants) stays below 0.05; the other 60% then tests it. The classifier is released only if the
tested upper bound is below 0.05.

German Credit has 1,000 rows. As in the `seldonian-fairness` reproduction, the 1,000 applicants are
the population and a training set of size n is a bootstrap sample of it (stored as frequency
weights), so the true gap of what is released can be computed exactly on the population.

Run it::

    python examples/certify_fair_credit.py --n 20000
    python examples/certify_fair_credit.py --n 500      # too little data: no solution found
"""

from __future__ import annotations

import argparse

import numpy as np

from guardopt.certify import ClassifierModel, Seldonian, demographic_parity
from guardopt.problems.credit import load_german_credit


def main(n: int = 20000, seed: int = 0) -> dict[str, float]:
    pop = load_german_credit()
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(pop.n, 1.0 / pop.n))
    keep = counts > 0
    data = {"X": pop.X[keep], "y": pop.y[keep], "group": pop.sex[keep], "sample_weight": counts[keep]}

    model = ClassifierModel(penalty_group="group", intercept_shifts=(0.0, 0.5, 1.0, 2.0))
    result = Seldonian(delta=0.05).run(model, data, demographic_parity(0.05), seed=seed)

    for report in result.reports:
        print(report.describe())
    if not result:
        print(f"No solution found (n = {n}): {result.reason}")
        return {"solution": 0.0}
    approve = model.predict(result.unwrap(), {"X": pop.X})
    gap = abs(approve[pop.sex == 0].mean() - approve[pop.sex == 1].mean())
    accuracy = float(np.mean(approve == pop.y))
    print(f"Certified (n = {n}): population parity gap {gap:.4f}, accuracy {accuracy:.3f}, "
          f"approval rate {approve.mean():.3f}")
    return {"solution": 1.0, "gap": float(gap), "accuracy": accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="training-set size (bootstrap draws)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.n, args.seed)
