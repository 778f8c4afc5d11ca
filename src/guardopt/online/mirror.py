"""Mirror maps (regularizer + domain) for online mirror descent.

A mirror map answers one question: given the current point ``x̂``, a vector ``v`` and a step ``η``,
what is ``argmin_{x ∈ X} η⟨v, x⟩ + D_ψ(x, x̂)``? Two are provided:

* `EuclideanBall` — ``ψ = ½‖x‖²`` on ``{‖x‖₂ ≤ R}`` (centred at the origin): the step is
  ``Π(x̂ − ηv)`` with ``Π(y) = y·min(1, R/‖y‖)``. Dual norm ℓ2, diameter ``2R``.
* `EntropicSimplex` — negative entropy on the probability simplex: the step is
  ``x ∝ x̂ ∘ exp(−ηv)`` (multiplicative weights), computed in the log domain. Dual norm ℓ∞; the
  "diameter" used in step sizes is ``sqrt(2 ln d)`` because ``KL(x ‖ uniform) ≤ ln d``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from guardopt.core.errors import InputDataError, as_float_array, check_in_range, check_int

__all__ = ["EntropicSimplex", "EuclideanBall", "MirrorMap"]


class MirrorMap(Protocol):
    """A domain with its Bregman step."""

    @property
    def dim(self) -> int:
        """Dimension ``d``."""
        ...

    @property
    def diameter(self) -> float:
        """The ``D`` in step sizes ``η = D / sqrt(Σ‖·‖²_*)``."""
        ...

    def initial(self) -> np.ndarray:
        """The starting point, shape ``(d,)``."""
        ...

    def step(self, x: np.ndarray, v: np.ndarray, eta: float) -> np.ndarray:
        """``argmin_{y ∈ X} η⟨v, y⟩ + D_ψ(y, x)``, shape ``(d,)``."""
        ...

    def dual_norm(self, v: np.ndarray) -> float:
        """The norm dual to the regularizer's strong-convexity norm."""
        ...


def _vector(v: np.ndarray, d: int, name: str, owner: str) -> np.ndarray:
    # Strings were numpy's ValueError; NaN or infinite entries gave a NaN point without a word.
    a = as_float_array(v, name, owner, finite=True)
    if a.shape != (d,):
        raise InputDataError(f"{name} must have shape ({d},); got {a.shape}.")
    return a


def _eta(eta: float, owner: str) -> float:
    # A NaN step gave a NaN point, a negative one a step uphill.
    return check_in_range(eta, "eta", owner, 0.0, low_open=False)


@dataclass(frozen=True)
class EuclideanBall:
    """The ℓ2 ball ``‖x‖ ≤ radius`` (centred at the origin) with the squared-Euclidean regularizer.

    Args:
        dim: Dimension ``d``.
        radius: ``R > 0``.
    """

    dim: int
    radius: float = 1.0

    def __post_init__(self) -> None:
        check_int(self.dim, "dim", "EuclideanBall", low=1)
        check_in_range(self.radius, "radius", "EuclideanBall", 0.0)

    @property
    def diameter(self) -> float:
        """``2R``."""
        return 2.0 * self.radius

    def initial(self) -> np.ndarray:
        """The center (origin)."""
        return np.zeros(self.dim)

    def project(self, y: np.ndarray) -> np.ndarray:
        """Euclidean projection onto the ball: ``y · min(1, R/‖y‖)``."""
        y = _vector(y, self.dim, "y", "EuclideanBall.project")
        with np.errstate(over="ignore"):
            norm = float(np.linalg.norm(y))
        if norm <= self.radius:
            return y
        if math.isinf(norm):  # ‖y‖² overflows float64 (entries past ~1e154): y·(R/inf) would be 0
            y = y / np.max(np.abs(y))
            norm = float(np.linalg.norm(y))
        return y * (self.radius / norm)

    def step(self, x: np.ndarray, v: np.ndarray, eta: float) -> np.ndarray:
        """``Π(x − ηv)``."""
        owner = "EuclideanBall.step"
        eta = _eta(eta, owner)
        with np.errstate(over="ignore", invalid="ignore"):
            y = _vector(x, self.dim, "x", owner) - eta * _vector(v, self.dim, "v", owner)
        if not np.isfinite(y).all():
            raise InputDataError(f"x - eta * v overflows float64 in {owner} (eta = {eta!r}); rescale the gradients.")
        return self.project(y)

    def dual_norm(self, v: np.ndarray) -> float:
        """``‖v‖₂``."""
        return float(np.linalg.norm(v))

    def minimize_linear(self, g: np.ndarray) -> tuple[np.ndarray, float]:
        """``argmin_{‖x‖≤R} ⟨g, x⟩ = −R g/‖g‖`` and its value ``−R‖g‖``."""
        g = _vector(g, self.dim, "g", "EuclideanBall.minimize_linear")
        norm = float(np.linalg.norm(g))
        if norm == 0.0:
            return np.zeros(self.dim), 0.0
        return -self.radius * g / norm, -self.radius * norm


@dataclass(frozen=True)
class EntropicSimplex:
    """The probability simplex with the negative-entropy regularizer (exponentiated gradient).

    Args:
        dim: Number of coordinates ``d`` (at least 2).
    """

    dim: int

    def __post_init__(self) -> None:
        check_int(self.dim, "dim", "EntropicSimplex", low=2)

    @property
    def diameter(self) -> float:
        """``sqrt(2 ln d)``: ``KL(x ‖ uniform) ≤ ln d``."""
        return math.sqrt(2.0 * math.log(self.dim))

    def initial(self) -> np.ndarray:
        """The uniform distribution."""
        return np.full(self.dim, 1.0 / self.dim)

    def step(self, x: np.ndarray, v: np.ndarray, eta: float) -> np.ndarray:
        """``x ∘ exp(−ηv) / Σ(x ∘ exp(−ηv))``, computed stably in the log domain."""
        owner = "EntropicSimplex.step"
        eta = _eta(eta, owner)
        x = _vector(x, self.dim, "x", owner)
        v = _vector(v, self.dim, "v", owner)
        if (x < 0).any() or not x.sum() > 0:  # log of a negative weight is NaN
            raise InputDataError(f"x must be non-negative weights with a positive sum in {owner}; got {x.tolist()}.")
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            logits = np.log(x) - eta * v
        top = logits.max()
        if not math.isfinite(top):  # eta * v overflowed float64: the weights would be NaN
            raise InputDataError(f"eta * v overflows float64 in {owner} (eta = {eta!r}); rescale the gradients.")
        logits -= top
        w = np.exp(logits)
        return np.asarray(w / w.sum())

    def dual_norm(self, v: np.ndarray) -> float:
        """``‖v‖∞`` (entropy is 1-strongly convex in ℓ1 on the simplex)."""
        return float(np.max(np.abs(v)))
