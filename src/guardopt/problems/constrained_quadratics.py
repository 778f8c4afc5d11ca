"""Convex quadratics whose minimizer lies outside a norm ball: test objectives for Lion-K.

``f(x) = ½ (x − c)ᵀ A (x − c)`` with ``A`` symmetric positive definite. ``paper_toy`` is the
4-d problem of our prototype: ``A = I``, ``c = (3, −2, 0.5, 0.2)``, started from ``5·1``;
``random_quadratic`` draws, for any seed (seed 0 included), ``A`` with eigenvalues in [1, 10] and a
center of ℓ∞ norm 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["Quadratic", "paper_toy", "random_quadratic"]


@dataclass(frozen=True)
class Quadratic:
    """``f(x) = ½ (x − c)ᵀ A (x − c)``; ``A`` shape ``(d, d)``, ``c`` and ``x0`` shape ``(d,)``."""

    A: np.ndarray
    c: np.ndarray
    x0: np.ndarray

    @property
    def smoothness(self) -> float:
        """Largest eigenvalue of ``A``."""
        return float(np.linalg.eigvalsh(self.A).max())

    def value(self, x: np.ndarray) -> float:
        """``f(x)``."""
        r = np.asarray(x, dtype=float) - self.c
        return float(0.5 * r @ self.A @ r)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """``∇f(x) = A (x − c)``, shape ``(d,)``."""
        return np.asarray(self.A @ (np.asarray(x, dtype=float) - self.c))


def paper_toy() -> Quadratic:
    """The 4-d toy problem: ``A = I``, ``c = (3, −2, 0.5, 0.2)``, ``x0 = 5·1``."""
    return Quadratic(np.eye(4), np.array([3.0, -2.0, 0.5, 0.2]), np.full(4, 5.0))


def random_quadratic(dim: int = 8, seed: SeedLike = None) -> Quadratic:
    """A random SPD quadratic: eigenvalues log-uniform in [1, 10], ``‖c‖_∞ = 3``, ``x0`` with ``‖x0‖_∞ = 5``."""
    d = check_int(dim, "dim", "random_quadratic", low=1)
    rng = make_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.exp(rng.uniform(0.0, np.log(10.0), size=d))
    a = (q * eig) @ q.T
    c = rng.uniform(-1.0, 1.0, size=d)
    c = 3.0 * c / np.max(np.abs(c))
    x0 = rng.uniform(-1.0, 1.0, size=d)
    x0 = 5.0 * x0 / np.max(np.abs(x0))
    return Quadratic(0.5 * (a + a.T), c, x0)
