"""A short SolverTuner run on a synthetic cost model, shared by the pinned-decision tests.

The pinned tests in test_tsallis.py and test_chebcb.py replay this run and compare the decisions to
stored values, so optimizations of the learners cannot change what they choose for a given seed.
"""

from __future__ import annotations

import numpy as np

from guardopt.bandits.solver_tuner import SolverTuner, SolverTunerConfig


def synthetic_tuner_run(learner: str, rounds: int = 600) -> tuple[str, list[float], np.ndarray]:
    """SolverTuner on a synthetic cost model: arms (one letter each), played-arm probabilities, last p."""
    rng = np.random.default_rng(11)
    contextual = learner == "chebcb"
    tuner = SolverTuner(SolverTunerConfig(learner=learner, context_low=-0.15, context_high=0.45, seed=7))  # type: ignore[arg-type]
    grid = tuner.grid
    arms, played = [], []
    for _ in range(rounds):
        c = float(-0.15 + 0.6 * rng.beta(0.5, 1.5))
        p = tuner.probabilities(c) if contextual else None
        omega = tuner.ask(c if contextual else None)
        arm = int(np.argmin(np.abs(grid - omega)))
        played.append(float(p[arm]) if p is not None else tuner._policy.tsallis.last_probability)  # type: ignore[union-attr]
        best = 1.9 - 0.8 * (c + 0.15)  # the best ω falls with the context
        cost = 20 + 150 * abs(omega - best) + 900 * max(omega - best, 0.0) + 10 * rng.random()
        tuner.tell(omega, float(np.floor(cost)))
        arms.append("0123456789abcdefghij"[arm])
    final = tuner.probabilities(0.1 if contextual else None)
    assert final is not None
    return "".join(arms), played, final
