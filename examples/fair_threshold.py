"""Tune a lending threshold online with a parity constraint (OFS), then certify it.

You have a credit score for every applicant (from your own model) and a group attribute. Each
round a batch of applicants arrives; you approve those whose score is at least a threshold and
observe, for that batch only, the lender's utility (+1 per repaid loan, -1 per default, per
applicant) and the demographic-parity gap between the groups' approval rates.

1. `OFS` (Optimistic Feasible Search, arXiv 2512.22313) learns the threshold inside a `Study`:
   the objective is the utility, the declared constraint the parity gap (tuned at 0.03).
2. The study's pessimistic recommendation is the best threshold whose parity gap is below 0.03
   under the upper confidence bound.
3. `guardopt.certify.Seldonian.test` checks it on held-out applicants that played no part in
   choosing it: it is released only if the 95% upper bound of its parity gap is below 0.05 (the
   tuning tolerance is tighter than the certified one, so a good threshold passes).

Run it::

    python examples/fair_threshold.py
"""

from __future__ import annotations

import numpy as np

import guardopt as go
from guardopt.bandits.ofs import OFS
from guardopt.certify import Seldonian, ThresholdDecision, demographic_parity

TUNE_GAP = 0.03  # parity tolerance while tuning
CERTIFY_GAP = 0.05  # parity tolerance that must hold with 95% confidence before release
BATCH = 500  # applicants per round


def your_scores(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Stand-in for your data: a calibrated score, a group (1 = protected) and repayment."""
    group = (rng.random(n) < 0.35).astype(int)
    score = rng.beta(np.where(group == 1, 2.2, 3.0), 2.0)
    repaid = rng.random(n) < score
    return {"score": score, "group": group, "utility": np.where(repaid, 1.0, -1.0)}


def main(n_trials: int = 400, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    applicants = your_scores(200_000, rng)  # the pool that arrives round by round
    held_out = your_scores(20_000, rng)  # never used for tuning: only for the certificate

    def one_round(params: dict[str, float]) -> dict[str, float]:
        rows = rng.integers(0, applicants["score"].size, BATCH)
        s, g, u = applicants["score"][rows], applicants["group"][rows], applicants["utility"][rows]
        accept = s >= params["threshold"]
        gap = abs(accept[g == 0].mean() - accept[g == 1].mean())
        return {"value": float(np.mean(accept * u)), "parity_gap": float(gap)}

    study = go.Study(go.Space({"threshold": go.Real(0.0, 1.0)}), direction="maximize",
                     constraints={"parity_gap": ("<=", TUNE_GAP)}, optimizer=OFS(n_grid=21))
    study.optimize(one_round, n_trials=n_trials)

    best = study.best(guard="pessimistic")
    if best is None:
        print("no threshold is feasible with confidence yet: run more rounds")
        return {"threshold": float("nan"), "certified": 0.0, "upper_bound": float("nan")}
    threshold = float(best.params["threshold"])

    model = ThresholdDecision(score="score", utility="utility")
    result = Seldonian(delta=0.05).test(model, [threshold], held_out, demographic_parity(CERTIFY_GAP))
    print(f"OFS recommends threshold {threshold:.2f} after {n_trials} rounds")
    print(f"held-out check: {result.reports[0].describe()}")
    print("certified: release it" if result else f"no solution found: {result.reason}")
    return {"threshold": threshold, "certified": float(bool(result)), "upper_bound": result.reports[0].upper_bound}


if __name__ == "__main__":
    main()
