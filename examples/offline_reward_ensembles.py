"""Best-of-n with a reward-model ensemble: single model vs mean vs worst case (WCO) vs UWO.

Run: ``python examples/offline_reward_ensembles.py`` (add ``--quick`` for a seconds-long smoke run).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from guardopt.offline import RewardEnsemble, RewardModelConfig, best_of_n, combine, kl_best_of_n
from guardopt.problems.gold_reward import GoldRewardSetup


def main(quick: bool = False) -> dict[str, float]:
    torch.set_num_threads(1)
    setup = GoldRewardSetup()  # 10-d responses, 25% label noise
    chosen, rejected, _ = setup.preference_pairs(500 if quick else 3000, seed=0)
    ensemble = RewardEnsemble.fit(chosen, rejected, k=5, config=RewardModelConfig(epochs=5 if quick else 30),
                                  seed=0)
    responses = setup.policy_samples(10 if quick else 40, 1024 if quick else 4096, seed=1)
    gold = setup.gold(responses)
    scores = ensemble.predict(responses)  # (members, prompts, samples), each member standardized
    ns = [1, 4, 16, 64, 256, 1024] + ([] if quick else [4096])
    print("KL(n):", np.round(kl_best_of_n(np.array(ns)), 2))
    final = {}
    for combiner in ("single", "mean", "wco", "uwo"):
        gold_at_n, _ = best_of_n(combine(scores, combiner, lam=0.5), gold, ns)
        final[combiner] = float(gold_at_n[-1])
        print(f"{combiner:6s} gold:", np.round(gold_at_n, 2))
    return final


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
