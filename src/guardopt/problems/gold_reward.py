"""A synthetic gold-reward setup for reward-model over-optimization (numpy only).

After Gao et al. (2023) and Coste et al. (2024), "Reward Model Ensembles Help Mitigate
Overoptimization" (arXiv 2310.02743), with a known function in place of their 7B "gold" reward
model. Responses are vectors ``z`` in ``R^dim``. The gold reward rewards a direction and penalizes
leaving a ball::

    gold(z) = w · z − max(0, ‖z‖ − radius)²      (‖w‖ = 1)

Preference pairs are drawn from ``N(0, I)`` and labelled by the gold reward, with a fraction
``label_noise`` of labels flipped (the paper's 25%). The policy samples ``N(0, policy_scale² I)``:
wider than the training data, so the responses best-of-n picks from the tails are where learned
reward models extrapolate, and where the gold penalty bites.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from guardopt.core.errors import InputDataError, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = [
    "GoldRewardSetup",
]

@dataclass(frozen=True)
class GoldRewardSetup:
    """The gold reward, the preference data and the policy.

    Attributes:
        dim: Response dimension.
        radius: Radius of the ball outside which the gold reward is penalized.
        label_noise: Probability that a preference label is flipped.
        policy_scale: Standard deviation of the policy's responses.
        seed: Seed of the gold direction ``w``.
        w: The gold direction (set from ``seed``).
    """

    dim: int = 10
    radius: float = 4.5
    label_noise: float = 0.25
    policy_scale: float = 1.3
    seed: int = 0
    w: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_int(self.dim, "dim", "GoldRewardSetup", low=1)
        check_in_range(self.radius, "radius", "GoldRewardSetup", 0.0)
        check_in_range(self.label_noise, "label_noise", "GoldRewardSetup", 0.0, 0.5, low_open=False)
        check_in_range(self.policy_scale, "policy_scale", "GoldRewardSetup", 0.0)
        w = np.random.default_rng(self.seed).normal(size=self.dim)
        object.__setattr__(self, "w", w / np.linalg.norm(w))

    def gold(self, z: np.ndarray) -> np.ndarray:
        """Gold reward of responses ``z`` of shape ``(..., dim)``; returns shape ``(...)``."""
        z = np.asarray(z, dtype=float)
        if z.shape[-1] != self.dim:
            raise InputDataError(f"GoldRewardSetup expects responses of width {self.dim}; got {z.shape}.")
        excess = np.maximum(0.0, np.linalg.norm(z, axis=-1) - self.radius)
        return np.asarray(z @ self.w - excess**2)

    def preference_pairs(self, n: int, seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` labelled pairs.

        Returns:
            ``(chosen, rejected, flipped)``: responses of shape ``(n, dim)`` each, and a boolean
            ``(n,)`` marking the pairs whose label was flipped by noise (so ``chosen`` has the lower
            gold reward).
        """
        check_int(n, "n", "GoldRewardSetup.preference_pairs", low=1)
        rng = make_rng(seed)
        a = rng.normal(size=(n, self.dim))
        b = rng.normal(size=(n, self.dim))
        a_wins = self.gold(a) >= self.gold(b)
        flipped = rng.random(n) < self.label_noise
        take_a = a_wins ^ flipped
        chosen = np.where(take_a[:, None], a, b)
        rejected = np.where(take_a[:, None], b, a)
        return chosen, rejected, flipped

    def policy_samples(self, n_prompts: int, n: int, seed: SeedLike = None) -> np.ndarray:
        """Responses of the base policy, shape ``(n_prompts, n, dim)``."""
        check_int(n_prompts, "n_prompts", "GoldRewardSetup.policy_samples", low=1)
        check_int(n, "n", "GoldRewardSetup.policy_samples", low=1)
        return make_rng(seed).normal(scale=self.policy_scale, size=(n_prompts, n, self.dim))
