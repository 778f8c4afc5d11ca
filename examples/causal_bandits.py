"""Choosing interventions on a small production line with CSL-UCB (guardopt.bandits.causal).

Five process variables in causal order: supplier quality -> furnace temperature -> alloy hardness,
furnace temperature -> cooling rate, and hardness and cooling rate -> yield (the reward). Each
variable has a "standard" and a "new" operating procedure (a soft intervention that changes how it
responds to its causes). We do not know the causal graph or any weight; every batch we pick which
procedures to switch on, measure all five variables, and want the best yield.

Halfway through, the new cooling procedure is re-tuned upstream without telling us (its weights
change); CSL-UCB's change detector notices it from the cooling rate's residuals and relearns only that
part of the model. The example compares it with vanilla UCB over the 32 procedure combinations.

Run: python examples/causal_bandits.py   (about 10 s)
"""

from __future__ import annotations

import numpy as np

from guardopt.bandits.causal import CSLUCB, CSLUCBConfig, VanillaUCB
from guardopt.problems.linear_sem import LinearSEMBandit

NAMES = ["supplier", "furnace", "hardness", "cooling", "yield"]
# B[p, n]: weight of p -> n under the standard procedure of n; BI under the new one.
B = np.zeros((5, 5))
B[0, 1], B[1, 2], B[1, 3], B[2, 4], B[3, 4] = 0.8, 1.2, -0.7, 1.0, 0.6
BI = B.copy()
BI[1, 2] = 1.9  # new hardening procedure: more hardness per degree
BI[1, 3] = 0.9  # new cooling procedure: cooling rises with temperature
BI[0, 1] = 0.3
AFTER = BI.copy()
AFTER[1, 3] = -1.5  # the re-tuned cooling procedure, from round HORIZON // 2 on

HORIZON = 800


def run(policy: str, seed: int = 0) -> tuple[float, list[int], list[tuple[int, int, int]]]:
    before = LinearSEMBandit(B, BI, np.ones(5))
    after = LinearSEMBandit(B, AFTER, np.ones(5))
    rng = np.random.default_rng(seed)
    if policy == "csl-ucb":
        learner: CSLUCB | VanillaUCB = CSLUCB(5, CSLUCBConfig(horizon=HORIZON, detect_changes=True, seed=seed))
    else:
        learner = VanillaUCB(32, window=50)
    regret, played = 0.0, []
    for t in range(HORIZON):
        env = before if t < HORIZON // 2 else after
        a = learner.ask()
        x = env.sample(a, rng)
        learner.tell(a, x if isinstance(learner, CSLUCB) else float(x[-1]))
        regret += env.optimal_value - env.expected_rewards()[a]
        played.append(a)
    changes = learner.changes if isinstance(learner, CSLUCB) else []
    return regret, played, changes


def describe(action: int) -> str:
    on = [NAMES[n] for n in range(5) if (action >> n) & 1]
    return "new procedure on: " + (", ".join(on) if on else "none")


if __name__ == "__main__":
    after = LinearSEMBandit(B, AFTER, np.ones(5))
    before = LinearSEMBandit(B, BI, np.ones(5))
    print(f"best before the change: {describe(before.optimal_action)} (yield {before.optimal_value:.2f})")
    print(f"best after the change:  {describe(after.optimal_action)} (yield {after.optimal_value:.2f})")
    for policy in ("csl-ucb", "vanilla-ucb"):
        regret, played, changes = run(policy)
        print(f"\n{policy}: cumulative regret {regret:.1f}; last choice: {describe(played[-1])}")
        if changes:
            print("  detected changes (round, regime, node):",
                  [(t, "new" if r else "standard", NAMES[n]) for t, r, n in changes])
