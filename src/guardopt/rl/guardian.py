"""The out-of-distribution guardian of OGSRL: a region of ``(s, a)`` supported by the offline data.

Paper: Yan, Shen, Wachi, Gros, Zhao & Hu, "Offline Guarded Safe Reinforcement Learning for Medical
Treatment Optimization Strategies" (NeurIPS 2025, arXiv 2505.16242). The guardian G marks the
state–action pairs the data supports; OGSRL's policy optimization is constrained to stay inside it.

Two guardians, both fitted on the joint vector z = (s, a) scaled feature-wise to [−1, 1] with the
training data's minimum and maximum:

* ``kind="kde"`` (default): a Gaussian kernel density estimate with bandwidth σ (0.535 in the
  authors' released code), and ``contains`` is ``log p̂(z) ≥ τ`` where τ is the α-percentile of the
  training points' own log-densities (α = 0.05 in the code). This is the released code's guardian;
  the paper's text describes the next one instead.
* ``kind="psos"``: the paper's polynomial sublevel set {z : q(z) ≤ γ}. We build q as the
  empirical Christoffel function's inverse, q(z) = m(z)ᵀ (M + εI)⁻¹ m(z), with m(z) the monomials of
  z up to ``degree`` and M = mean m mᵀ over the data (the usual sum-of-squares polynomial whose
  sublevel sets hug the support), and γ its (1 − α)-quantile on the data.

Both store a *score* that is higher inside (log-density, or −q) and a threshold on it, so the rule is
the same: inside when score ≥ threshold. α is the fraction of training points left outside; α = 0
disables the guardian (threshold −∞: it admits everything) — the broken variant used as a negative
control. The KDE is evaluated exactly (a log-sum-exp over at most ``max_points`` support points drawn
without replacement, in chunks): scikit-learn's tree-based `KernelDensity` gives the same values but
was 10–20× slower here, because a bandwidth this wide in 7 dimensions lets the tree prune nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
)

__all__ = ["Guardian", "GuardianConfig"]


@dataclass(frozen=True)
class GuardianConfig:
    """Config of `Guardian`.

    Args:
        kind: ``"kde"`` (the released code's Gaussian KDE) or ``"psos"`` (the paper's polynomial
            sublevel set).
        alpha: Fraction of training points left outside, in [0, 1); 0 admits everything.
        bandwidth: KDE bandwidth σ in the scaled [−1, 1] units (code: 0.535).
        degree: Degree of the PSoS monomials (1–4).
        ridge: ε added to the PSoS moment matrix's diagonal (numerical safety).
        max_points: KDE support points (a uniform subsample when the data has more).
    """

    kind: str = "kde"
    alpha: float = 0.05
    bandwidth: float = 0.535
    degree: int = 2
    ridge: float = 1e-6
    max_points: int = 5000

    def __post_init__(self) -> None:
        owner = "GuardianConfig"
        check_choice(self.kind, "kind", owner, ("kde", "psos"))
        check_in_range(self.alpha, "alpha", owner, 0.0, 1.0, low_open=False)
        check_in_range(self.bandwidth, "bandwidth", owner, 0.0, 100.0)
        check_int(self.degree, "degree", owner, low=1, high=4)
        check_in_range(self.ridge, "ridge", owner, 0.0, 1.0)
        check_int(self.max_points, "max_points", owner, low=2, high=10_000_000)


class Guardian:
    """The region of ``(s, a)`` the data supports; ``contains(obs, act)`` is True inside.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> s, a = rng.normal(size=(500, 2)), rng.uniform(-1, 1, (500, 1))
        >>> g = Guardian(GuardianConfig(alpha=0.1)).fit(s, a)
        >>> round(float(g.contains(s, a).mean()), 1)
        0.9
        >>> bool(g.contains(np.array([[9.0, 9.0]]), np.array([[0.0]]))[0])
        False
    """

    def __init__(self, config: GuardianConfig | None = None) -> None:
        config = GuardianConfig() if config is None else config
        if not isinstance(config, GuardianConfig):
            raise InvalidParameterError("config", "Guardian", "a GuardianConfig", config)
        self.config = config
        self.threshold = math.nan
        self.training_scores = np.zeros(0)
        self.obs_dim = self.act_dim = 0
        self._low = self._span = np.zeros(0)
        self._kde: np.ndarray | None = None
        self._poly: Any = None
        self._inv_moment = np.zeros((0, 0))

    @property
    def fitted(self) -> bool:
        return self._kde is not None or self._poly is not None

    def fit(self, observations: Any, actions: Any, seed: int = 0) -> Guardian:
        """Fit on ``observations (N, obs_dim)`` and ``actions (N, act_dim)``; sets the threshold."""
        owner = "Guardian.fit"
        seed = check_int(seed, "seed", owner, low=0)
        s = self._matrix(observations, "observations", owner)
        a = self._matrix(actions, "actions", owner)
        if a.shape[0] != s.shape[0]:
            raise InputDataError(f"The 'actions' argument of {owner} must have {s.shape[0]} rows (as many as "
                                 f"observations). Got {a.shape[0]} instead.")
        if s.shape[0] < 2:
            raise InputDataError(f"The 'observations' argument of {owner} must have at least 2 rows. "
                                 f"Got {s.shape[0]} instead.")
        self.obs_dim, self.act_dim = s.shape[1], a.shape[1]
        z = np.concatenate([s, a], axis=1)
        self._low = z.min(axis=0)
        span = z.max(axis=0) - self._low
        # A constant feature gets unit span: it then maps to −1 for the data and moves off it linearly.
        self._span = np.where(span > 0, span, 1.0)
        x = self._scale(z)
        cfg = self.config
        if cfg.kind == "kde":
            if x.shape[0] > cfg.max_points:
                x = x[np.random.default_rng(seed).choice(x.shape[0], cfg.max_points, replace=False)]
            self._kde = x
            self._poly = None
            # The released code scores the training points themselves (each includes its own kernel).
            scores = self._kde_score(x)
        else:
            from sklearn.preprocessing import PolynomialFeatures

            self._poly = PolynomialFeatures(cfg.degree, include_bias=True).fit(x)
            self._kde = None
            m = self._poly.transform(x)
            moment = m.T @ m / m.shape[0]
            scale = max(1.0, float(np.trace(moment)) / moment.shape[0])
            self._inv_moment = np.linalg.pinv(moment + cfg.ridge * scale * np.eye(moment.shape[0]), hermitian=True)
            scores = self._psos_score(x)
        self.training_scores = np.asarray(scores, dtype=float)
        # np.percentile's default (linear) interpolation, as the released code; alpha = 0 admits all.
        self.threshold = -math.inf if cfg.alpha == 0 else float(np.percentile(self.training_scores, 100 * cfg.alpha))
        return self

    def score(self, obs: Any, act: Any) -> np.ndarray:
        """Higher inside: KDE log-density or −q(z) for PSoS; ``(B,)`` for ``obs (B, obs_dim)``, ``act (B, act_dim)``."""
        x = self._scale(self._joint(obs, act, "Guardian.score"))
        if self._kde is not None:
            return self._kde_score(x)
        return self._psos_score(x)

    def contains(self, obs: Any, act: Any) -> np.ndarray:
        """Boolean ``(B,)``: True where ``score ≥ threshold`` (inside the supported region)."""
        if self.threshold == -math.inf:
            return np.ones(self._joint(obs, act, "Guardian.contains").shape[0], dtype=bool)
        return self.score(obs, act) >= self.threshold

    def outside_fraction(self, obs: Any, act: Any) -> float:
        """Fraction of the rows outside the guardian."""
        return float(1.0 - self.contains(obs, act).mean())

    # --- helpers --------------------------------------------------------------------------------
    def _kde_score(self, x: np.ndarray) -> np.ndarray:
        """log p̂(x) = logsumexp_i(−‖x − x_i‖² / 2σ²) − log n − (d/2)·log(2πσ²), as scikit-learn's."""
        assert self._kde is not None
        sup = self._kde
        h2 = self.config.bandwidth ** 2
        sq = (sup**2).sum(axis=1)
        out = np.empty(x.shape[0])
        chunk = max(1, 2_000_000 // max(1, sup.shape[0]))  # about 16 MB of distances at a time
        for i in range(0, x.shape[0], chunk):
            xb = x[i:i + chunk]
            d2 = np.maximum((xb**2).sum(axis=1)[:, None] + sq[None, :] - 2.0 * xb @ sup.T, 0.0)
            e = -0.5 * d2 / h2
            top = e.max(axis=1)
            # numpy's own log-sum-exp: scipy's was 7× slower on these small blocks
            out[i:i + chunk] = top + np.log(np.exp(e - top[:, None]).sum(axis=1))
        return out - math.log(sup.shape[0]) - 0.5 * sup.shape[1] * math.log(2 * math.pi * h2)

    def _psos_score(self, x: np.ndarray) -> np.ndarray:
        m = self._poly.transform(x)
        return -np.einsum("bi,ij,bj->b", m, self._inv_moment, m)

    def _scale(self, z: np.ndarray) -> np.ndarray:
        return 2.0 * (z - self._low) / self._span - 1.0

    @staticmethod
    def _matrix(value: Any, name: str, owner: str) -> np.ndarray:
        arr = as_float_array(value, name, owner, finite=True, min_size=1)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InputDataError(f"The {name!r} argument of {owner} must be a 2-D array (N, dim). "
                                 f"Got shape {arr.shape} instead.")
        return arr

    def _joint(self, obs: Any, act: Any, owner: str) -> np.ndarray:
        if not self.fitted:
            raise InvalidParameterError("self", owner, "a fitted guardian (call fit first)", "an unfitted guardian")
        s = as_float_array(obs, "obs", owner, finite=True, min_size=1)
        a = as_float_array(act, "act", owner, finite=True, min_size=1)
        s = s[None] if s.ndim == 1 else s
        a = a[None] if a.ndim == 1 else a
        if s.ndim != 2 or s.shape[1] != self.obs_dim:
            raise InputDataError(f"The 'obs' argument of {owner} must have shape (B, {self.obs_dim}). "
                                 f"Got shape {s.shape} instead.")
        if a.ndim != 2 or a.shape != (s.shape[0], self.act_dim):
            raise InputDataError(f"The 'act' argument of {owner} must have shape ({s.shape[0]}, {self.act_dim}). "
                                 f"Got shape {a.shape} instead.")
        return np.concatenate([s, a], axis=1)
