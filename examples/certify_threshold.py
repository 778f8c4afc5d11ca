"""Certify a lending threshold learnt elsewhere (e.g. by OFS) with a held-out safety test.

A threshold ``t`` on a credit score approves every applicant scoring at least ``t``. It may have
been chosen by any method (here: the threshold with the highest lender utility — +1 for a repaid
loan, -3 for a default — whose *observed* parity gap on the tuning data is below 0.05, as an online
learner might pick it). `Seldonian.test` then checks
it on fresh data that played no part in choosing it: the threshold is released only if the 95%
upper bound of its demographic parity gap is below 0.05.

Run it::

    python examples/certify_threshold.py
"""

from __future__ import annotations

import numpy as np

from guardopt.certify import Seldonian, ThresholdDecision, demographic_parity


def population(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Two groups with shifted score distributions, shape ``(n,)`` each column."""
    group = (rng.random(n) < 0.35).astype(int)
    score = rng.beta(np.where(group == 1, 2.0, 2.4), 2.0)
    repaid = rng.random(n) < score  # calibrated score: P(repay | score) = score
    return {"score": score, "group": group, "utility": np.where(repaid, 1.0, -3.0)}


def main(n: int = 5000, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    tuning, safety = population(n, rng), population(n, rng)
    model = ThresholdDecision(score="score", utility="utility")

    # Step 1 (anywhere): pick a threshold on the tuning data.
    best = None
    for t in np.linspace(0.0, 1.0, 201):
        accept = model.predict(np.array([t]), tuning)
        gap = abs(accept[tuning["group"] == 0].mean() - accept[tuning["group"] == 1].mean())
        utility = -model.loss(np.array([t]), tuning)
        if gap <= 0.05 and (best is None or utility > best[1]):
            best = (t, utility)
    assert best is not None
    threshold = best[0]

    # Step 2: the high-confidence test on data the choice never saw.
    result = Seldonian(delta=0.05).test(model, [threshold], safety, demographic_parity(0.05))
    print(f"threshold {threshold:.3f}: {result.reports[0].describe()}")
    print("certified" if result else f"no solution found: {result.reason}")
    return {"threshold": float(threshold), "certified": float(bool(result)),
            "upper_bound": result.reports[0].upper_bound}


if __name__ == "__main__":
    main()
