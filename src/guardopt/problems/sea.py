"""A Stochastically Extended Adversarial (SEA) online convex problem with user-set σ² and Σ².

The SEA model (Sachs et al. 2022; Chen et al. ICML 2023, arXiv 2302.04552): at round ``t`` an
adversary picks a distribution ``D_t``, nature draws ``f_t ~ D_t``, and ``F_t = E[f_t]``. Two
quantities govern the regret:

* stochastic variance ``σ_t² = max_x E‖∇f_t(x) − ∇F_t(x)‖²``, summed ``σ²_{1:T}``;
* adversarial variation ``Σ_t² = sup_x ‖∇F_t(x) − ∇F_{t−1}(x)‖²``, summed ``Σ²_{1:T}``.

Here ``∇f_t(x) = ∇F_t(x) + ξ_t`` with ``ξ_t ~ N(0, (σ²/d) I)`` (so ``σ_t² = σ²`` exactly), on the
ball ``‖x‖ ≤ R``, with two loss families:

* ``"linear"``: ``f_t(x) = ⟨m_t + ξ_t, x⟩``; ``Σ_t² = ‖m_t − m_{t−1}‖²``;
* ``"quadratic"``: ``f_t(x) = (λ/2)‖x − c_t‖² + ⟨ξ_t, x⟩`` (λ-strongly convex, λ-smooth);
  ``Σ_t² = λ²‖c_t − c_{t−1}‖²``.

The mean sequence follows a pattern whose total adversarial variation is exactly ``variation``:
``"fixed"`` (Σ² = 0), ``"switching"`` (``n_switches`` evenly spaced jumps of equal size) or
``"alternating"`` (a flip every round, the worst case for last-gradient hints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, check_choice, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["SEAConfig", "SEAProblem"]


@dataclass(frozen=True)
class SEAConfig:
    """Settings of a `SEAProblem`.

    Args:
        horizon: ``T``.
        dim: ``d``.
        sigma2: Per-round stochastic variance ``σ²`` (``σ²_{1:T} = T σ²``).
        variation: Total adversarial variation ``Σ²_{1:T}``.
        pattern: ``"fixed"``, ``"switching"`` or ``"alternating"``.
        n_switches: Jumps of the ``"switching"`` pattern (even: the sequence ends in the base state).
        duty: Fraction of rounds spent in the switched state (``"switching"``); with a small duty the
            base state's optimum stays the best fixed point, so static regret measures how fast a
            learner returns to it after each excursion.
        loss: ``"linear"`` or ``"quadratic"``.
        strong_convexity: ``λ`` of the quadratic loss.
        mean_norm: ``‖m_t‖`` of the linear loss's base gradient, or ``‖c_t‖`` of the quadratic's base
            center.
        radius: ``R`` of the domain ``‖x‖ ≤ R``.
    """

    horizon: int
    dim: int = 10
    sigma2: float = 0.0
    variation: float = 0.0
    pattern: str = "fixed"
    n_switches: int = 4
    duty: float = 0.5
    loss: str = "linear"
    strong_convexity: float = 1.0
    mean_norm: float = 1.0
    radius: float = 1.0

    def __post_init__(self) -> None:
        owner = "SEAConfig"
        check_int(self.horizon, "horizon", owner, low=2)
        check_int(self.dim, "dim", owner, low=2)
        check_in_range(self.sigma2, "sigma2", owner, 0.0, low_open=False)
        check_in_range(self.variation, "variation", owner, 0.0, low_open=False)
        check_choice(self.pattern, "pattern", owner, ("fixed", "switching", "alternating"))
        check_int(self.n_switches, "n_switches", owner, low=1, high=self.horizon - 1)
        check_in_range(self.duty, "duty", owner, 0.0, 1.0)
        check_choice(self.loss, "loss", owner, ("linear", "quadratic"))
        check_in_range(self.strong_convexity, "strong_convexity", owner, 0.0)
        check_in_range(self.mean_norm, "mean_norm", owner, 0.0, low_open=False)
        check_in_range(self.radius, "radius", owner, 0.0)


class SEAProblem:
    """One realization of a SEA problem: the mean sequence and the noise, drawn up front.

    Args:
        config: The settings.
        seed: Seed or Generator.
    """

    def __init__(self, config: SEAConfig, seed: SeedLike = None) -> None:
        self.config = c = config
        rng = make_rng(seed)
        basis, _ = np.linalg.qr(rng.standard_normal((c.dim, 2)))
        u, w = basis[:, 0], basis[:, 1]
        t = np.arange(c.horizon)
        if c.pattern == "fixed" or c.variation == 0.0:
            sign = np.zeros(c.horizon)
            jump = 0.0
        elif c.pattern == "switching":
            # n_switches jumps between two states, each of squared size variation / n_switches; the
            # switched state occupies a `duty` share of each of the ceil(n_switches/2) windows.
            n_exc = (c.n_switches + 1) // 2
            window = c.horizon / n_exc
            start = np.floor(window * (np.arange(n_exc) + 0.5 - c.duty / 2)).astype(int)
            stop = np.floor(window * (np.arange(n_exc) + 0.5 + c.duty / 2)).astype(int)
            if c.n_switches % 2:
                stop[-1] = c.horizon
            sign = np.zeros(c.horizon)
            for a, b in zip(start, stop):
                sign[a:b] = 1.0
            jump = math.sqrt(c.variation / c.n_switches)
        else:
            sign = (t % 2).astype(float)
            jump = math.sqrt(c.variation / (c.horizon - 1))
        scale = c.strong_convexity if c.loss == "quadratic" else 1.0
        # Mean gradients (linear) or centers (quadratic); Σ_t² = (scale · jump)² at each change.
        self.means = c.mean_norm * u[None, :] + (jump / scale) * sign[:, None] * w[None, :]
        self.noise = rng.standard_normal((c.horizon, c.dim)) * math.sqrt(c.sigma2 / c.dim)

    @property
    def horizon(self) -> int:
        """``T``."""
        return self.config.horizon

    def gradient(self, t: int, x: np.ndarray) -> np.ndarray:
        """The stochastic gradient ``∇f_t(x)`` at round ``t`` (0-based); shape ``(d,)``."""
        t = check_int(t, "t", "SEAProblem.gradient", low=0, high=self.config.horizon - 1)
        if self.config.loss == "linear":
            return self.means[t] + self.noise[t]
        return self.config.strong_convexity * (np.asarray(x, dtype=float) - self.means[t]) + self.noise[t]

    def losses(self, xs: np.ndarray) -> np.ndarray:
        """``f_t(x_t)`` for every round; ``xs`` has shape ``(T, d)``; returns shape ``(T,)``."""
        xs = np.asarray(xs, dtype=float)
        if xs.shape != self.means.shape:
            raise InputDataError(f"xs must have shape {self.means.shape}; got {xs.shape}.")
        lin = np.sum((self.means if self.config.loss == "linear" else 0.0) * xs + self.noise * xs, axis=1)
        if self.config.loss == "linear":
            return np.asarray(lin)
        quad = 0.5 * self.config.strong_convexity * np.sum((xs - self.means) ** 2, axis=1)
        return np.asarray(quad + np.sum(self.noise * xs, axis=1))

    def best_fixed(self) -> np.ndarray:
        """The best fixed point in hindsight, ``argmin_{‖x‖≤R} Σ_t f_t(x)``; shape ``(d,)``."""
        c = self.config
        if c.loss == "linear":
            g = self.means.sum(axis=0) + self.noise.sum(axis=0)
            norm = float(np.linalg.norm(g))
            return np.zeros(c.dim) if norm == 0 else -c.radius * g / norm
        # Isotropic quadratic: the constrained minimizer is the projection of the unconstrained one.
        y = self.means.mean(axis=0) - self.noise.mean(axis=0) / c.strong_convexity
        norm = float(np.linalg.norm(y))
        return y if norm <= c.radius else y * (c.radius / norm)

    def regret(self, xs: np.ndarray) -> float:
        """Static regret ``Σ_t f_t(x_t) − min_x Σ_t f_t(x)`` of played points ``xs`` (shape ``(T, d)``)."""
        best = np.broadcast_to(self.best_fixed(), self.means.shape)
        return float(self.losses(xs).sum() - self.losses(best).sum())

    def cumulative_variance(self) -> float:
        """``σ²_{1:T} = T σ²`` (the configured value, not a sample estimate)."""
        return self.config.horizon * self.config.sigma2

    def cumulative_variation(self) -> float:
        """``Σ²_{1:T}`` of the realized mean sequence (equals ``variation`` by construction)."""
        scale = self.config.strong_convexity if self.config.loss == "quadratic" else 1.0
        return float(np.sum((scale * np.diff(self.means, axis=0)) ** 2))
