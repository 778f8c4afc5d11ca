"""A preference bandit over response features with a concave gold reward (numpy only).

A stand-in for a prompt's response space in preference optimization, small enough that every
expectation is exact: ``K`` candidate responses, each a feature vector ``φ(y) ∈ R^d`` whose norm
grows from 0 to ``max_norm`` across the set. The gold reward rewards one direction and penalizes
large features::

    r*(y) = w · φ(y) − curvature · ‖φ(y)‖²          (‖w‖ = 1)

so it peaks at ``‖φ‖ = 1 / (2·curvature)`` along ``w`` and falls off beyond. The reference policy
prefers small features, ``π_ref(y) ∝ exp(−ref_sharpness · ‖φ(y)‖²)``, so preference data sampled
from it covers the small-norm responses well and the large-norm ones barely. A reward that is
linear in ``φ`` (the implicit reward of a linear-softmax policy) fits that data well and
extrapolates wrongly to the large-norm responses: the over-optimization that pessimism is meant to
stop, and that an exact gold reward lets us measure without sampling noise.

Labels follow the Bradley–Terry model on the gold reward, ``P(a ≻ b) = σ((r*(a) − r*(b)) / label_scale)``.
Used by the `vpo` reproduction (Cen et al., "Value-Incentivized Preference Optimization", arXiv
2405.19320).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from guardopt.core.errors import InputDataError, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["FeatureBandit"]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = float(np.max(z))
    return np.asarray(z - m - np.log(np.sum(np.exp(z - m))))


@dataclass(frozen=True)
class FeatureBandit:
    """``K`` responses with features, a concave gold reward, a reference policy and BT labels.

    Attributes:
        n_responses: ``K``, the number of candidate responses.
        dim: ``d``, the feature dimension.
        max_norm: The largest feature norm; norms are spread evenly over ``[0, max_norm]``.
        curvature: The gold reward's penalty on ``‖φ‖²``.
        ref_sharpness: ``π_ref ∝ exp(−ref_sharpness · ‖φ‖²)``.
        label_scale: Temperature of the Bradley–Terry labels (larger = noisier).
        seed: Seed of the features and of ``w``.
        features: ``(K, d)`` features (set from ``seed``).
        w: ``(d,)`` unit gold direction (set from ``seed``).
    """

    n_responses: int = 400
    dim: int = 8
    max_norm: float = 3.0
    curvature: float = 0.35
    ref_sharpness: float = 1.0
    label_scale: float = 1.0
    seed: int = 0
    features: np.ndarray = field(init=False, repr=False)
    w: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        owner = "FeatureBandit"
        check_int(self.n_responses, "n_responses", owner, low=2, high=1_000_000)
        check_int(self.dim, "dim", owner, low=1, high=10_000)
        check_in_range(self.max_norm, "max_norm", owner, 0.0, 1e6)
        check_in_range(self.curvature, "curvature", owner, 0.0, 1e6)
        check_in_range(self.ref_sharpness, "ref_sharpness", owner, 0.0, 1e6, low_open=False)
        check_in_range(self.label_scale, "label_scale", owner, 0.0, 1e6)
        check_int(self.seed, "seed", owner, low=0, high=2**63 - 1)
        rng = np.random.default_rng(self.seed)
        w = rng.normal(size=self.dim)
        directions = rng.normal(size=(self.n_responses, self.dim))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        norms = np.linspace(0.0, self.max_norm, self.n_responses)
        object.__setattr__(self, "w", w / np.linalg.norm(w))
        object.__setattr__(self, "features", directions * norms[:, None])

    # --- exact quantities ---------------------------------------------------------------------
    @property
    def gold_rewards(self) -> np.ndarray:
        """``(K,)`` gold reward ``r*(y)`` of every response."""
        sq = np.sum(self.features**2, axis=1)
        return np.asarray(self.features @ self.w - self.curvature * sq)

    @property
    def ref_log_probs(self) -> np.ndarray:
        """``(K,)`` log π_ref of every response."""
        return _log_softmax(-self.ref_sharpness * np.sum(self.features**2, axis=1))

    @property
    def best_gold(self) -> float:
        """The largest gold reward of any response (the target of regret)."""
        return float(np.max(self.gold_rewards))

    def expected_gold(self, probs: np.ndarray) -> float:
        """Exact expected gold reward ``Σ_y π(y) r*(y)`` of a policy given as ``(K,)`` probabilities."""
        p = np.asarray(probs, dtype=float)
        if p.shape != (self.n_responses,):
            raise InputDataError(f"FeatureBandit.expected_gold: 'probs' must have shape ({self.n_responses},). "
                                 f"Got {p.shape} instead.")
        if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(float(p.sum()) - 1.0) > 1e-6:
            raise InputDataError("FeatureBandit.expected_gold: 'probs' must be finite, non-negative and sum to 1.")
        return float(p @ self.gold_rewards)

    @property
    def ref_gold(self) -> float:
        """Exact expected gold reward of the reference policy."""
        return self.expected_gold(np.exp(self.ref_log_probs))

    # --- sampling -----------------------------------------------------------------------------
    def sample(self, n: int, probs: np.ndarray | None = None, seed: SeedLike = None) -> np.ndarray:
        """``(n,)`` response indices drawn from ``probs`` (default: π_ref)."""
        check_int(n, "n", "FeatureBandit.sample", low=1)
        p = np.exp(self.ref_log_probs) if probs is None else np.asarray(probs, dtype=float)
        if p.shape != (self.n_responses,) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise InputDataError(f"FeatureBandit.sample: 'probs' must be {self.n_responses} finite non-negative "
                                 "weights with a positive sum.")
        return np.asarray(make_rng(seed).choice(self.n_responses, size=n, p=p / p.sum()))

    def label(self, a: np.ndarray, b: np.ndarray, seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
        """Bradley–Terry labels on the gold reward: ``(chosen, rejected)`` index arrays of ``a``'s shape."""
        a = np.asarray(a)
        b = np.asarray(b)
        if a.shape != b.shape or a.ndim != 1 or a.size == 0:
            raise InputDataError(f"FeatureBandit.label: 'a' and 'b' must be non-empty 1-d index arrays of one "
                                 f"shape. Got {a.shape} and {b.shape} instead.")
        if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
            raise InputDataError("FeatureBandit.label: 'a' and 'b' must hold integer indices.")
        if min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= self.n_responses:
            raise InputDataError(f"FeatureBandit.label: indices must lie in [0, {self.n_responses}).")
        r = self.gold_rewards
        p_a = 1.0 / (1.0 + np.exp(-(r[a] - r[b]) / self.label_scale))
        a_wins = make_rng(seed).random(a.size) < p_a
        return np.where(a_wins, a, b), np.where(a_wins, b, a)

    def preference_pairs(self, n: int, probs: np.ndarray | None = None,
                         seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` labelled pairs, both responses drawn independently from ``probs`` (default: π_ref).

        Returns:
            ``(chosen, rejected)``: ``(n,)`` index arrays.
        """
        rng = make_rng(seed)
        a = self.sample(n, probs, rng)
        b = self.sample(n, probs, rng)
        return self.label(a, b, rng)
