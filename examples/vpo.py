"""Pessimistic VPO on your own preference data: keep a policy from over-optimizing a few hundred comparisons.

The setting: a fixed menu of candidate replies (here 200 templates), each described by a few features
you can compute (length, number of caveats, formality, ...). Annotators compared pairs of replies that
your current system produced. You want a policy over the menu that annotators would like more, without
drifting to replies that the data barely covers: their features extrapolate the learned preference,
and the true preference may turn the other way there (very long replies, say).

DPO on the comparisons learns a linear preference in the features and, trained long enough at a small β,
moves all its mass to the extreme replies. Pessimistic VPO adds the calibrated optimal value of that
implicit reward with a minus sign: in practice an anchor on the replies annotators chose.

Run: ``python examples/vpo.py`` (a few seconds, CPU).
"""

from __future__ import annotations

import numpy as np
import torch

from guardopt.align import LinearSoftmaxPolicy, OfflineVPOTrainer, VPOConfig

torch.set_num_threads(1)
rng = np.random.default_rng(0)

# --- your problem: replies, their features, and the system that produced the compared pairs ----------
n_replies = 200
length = rng.uniform(0.0, 3.0, n_replies)             # normalized length
caveats = rng.uniform(0.0, 3.0, n_replies)            # how many hedges and warnings
formality = rng.normal(0.0, 1.0, n_replies)
features = np.column_stack([length, caveats, formality])
# The system in production prefers short, plain replies: it is the reference policy.
ref_logits = -1.2 * length - 1.0 * caveats
ref_probs = np.exp(ref_logits - ref_logits.max())
ref_probs /= ref_probs.sum()


# What annotators really value (unknown to the method): some length and some caveats, not too many.
def true_utility(x: np.ndarray) -> np.ndarray:
    return x[:, 0] + 0.6 * x[:, 1] + 0.2 * x[:, 2] - 0.45 * x[:, 0] ** 2 - 0.3 * x[:, 1] ** 2


utility = true_utility(features)

# 300 comparisons of pairs the production system sampled, labelled by noisy annotators.
a = rng.choice(n_replies, 300, p=ref_probs)
b = rng.choice(n_replies, 300, p=ref_probs)
a_wins = rng.random(300) < 1.0 / (1.0 + np.exp(-(utility[a] - utility[b])))
chosen, rejected = np.where(a_wins, a, b), np.where(a_wins, b, a)


# --- train DPO and pessimistic VPO on the same comparisons -------------------------------------------
def train(config: VPOConfig) -> tuple[float, float]:
    policy = LinearSoftmaxPolicy(features, np.log(ref_probs))
    history = OfflineVPOTrainer(config).fit(
        policy, chosen, rejected, eval_every=20,
        callback=lambda step, pol: {"utility": float(pol.probs().numpy() @ utility)})
    curve = history.column("utility")
    return float(curve.max()), float(curve[-1])


print(f"production system: true utility {ref_probs @ utility:.3f}; best reply {utility.max():.3f}")
for name, cfg in [("DPO (beta 0.1)", VPOConfig(alpha=0.0, beta=0.1, steps=400)),
                  ("pessimistic VPO (beta 0.1, alpha 0.1)", VPOConfig(alpha=0.1, beta=0.1, steps=400))]:
    peak, final = train(cfg)
    print(f"{name:40s} peak utility {peak:+.3f}  final {final:+.3f}  drop {peak - final:.3f}")
