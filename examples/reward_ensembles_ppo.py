"""PPO against your own reward models: one model vs the ensemble mean vs WCO vs UWO, with and without KL.

The setting is yours, not the library's: responses are 4-d design vectors, the true quality (known here
so that we can watch it, unknown in practice) rewards the first coordinate but punishes any coordinate
beyond ±2.5, and the preference labels come from noisy raters (20% flipped) comparing designs near the
origin. PPO then pushes a Gaussian policy against reward models fitted to those labels; the true quality
is logged alongside, never shown to the optimizer.

Run: ``python examples/reward_ensembles_ppo.py`` (add ``--quick`` for a seconds-long smoke run).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from guardopt.offline import PPOConfig, RewardEnsemble, RewardModelConfig, ensemble_reward, ppo_optimize


def true_quality(z: np.ndarray) -> np.ndarray:
    """The quality raters judge by: more of feature 0, nothing outside the box [−2.5, 2.5]^4."""
    return np.asarray(z[..., 0] - 2.0 * np.square(np.maximum(0.0, np.abs(z) - 2.5)).sum(-1))


def rater_pairs(n: int, flip: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, 4)), rng.normal(size=(n, 4))
    a_wins = (true_quality(a) >= true_quality(b)) ^ (rng.random(n) < flip)
    return np.where(a_wins[:, None], a, b), np.where(a_wins[:, None], b, a)


def main(quick: bool = False) -> dict[str, float]:
    torch.set_num_threads(1)
    chosen, rejected = rater_pairs(400 if quick else 2000, flip=0.2, seed=0)
    ensemble = RewardEnsemble.fit(chosen, rejected, k=5, config=RewardModelConfig(epochs=5 if quick else 15),
                                  seed=0)
    final: dict[str, float] = {}
    for kl_coef in (0.0, 0.1):
        config = PPOConfig(updates=30 if quick else 100, batch_size=128, minibatches=2, lr=0.004, kl_coef=kl_coef,
                           eval_samples=256, eval_every=2)
        print(f"KL coefficient {kl_coef}:")
        for objective in ("single", "mean", "wco", "uwo"):
            # UWO as the authors' PPO code: mean − 0.1 · unbiased variance (= 0.125 · population variance, k = 5).
            proxy = ensemble_reward(ensemble, objective, lam=0.1 * 5 / 4)
            res = ppo_optimize(proxy, 4, config, ref_std=1.0, gold=true_quality, seed=1)
            h = res.history
            best = int(np.argmax(h.gold))
            print(f"  {objective:6s}  true quality {h.gold[0]:+.2f} -> peak {h.gold[best]:+.2f} (update "
                  f"{int(h.update[best])}) -> final {h.gold[-1]:+.2f}; proxy {h.proxy[-1]:+.2f}; KL {h.kl[-1]:.1f}")
            final[f"{objective}-kl{kl_coef}"] = float(h.gold[-1])
    return final


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
