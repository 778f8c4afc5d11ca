"""Lion-K: sign-momentum optimizers generalized by the gradient of a convex function K (numpy version).

Paper: Chen, Liu, Liang, Liu, "Lion Secretly Solves Constrained Optimization: As Lyapunov
Predicts", ICLR 2024 (arXiv 2310.05898).

With the gradient EMA ``m`` and decoupled weight decay λ, one step is

    c_t     = β1 m_t + (1 − β1) g_t
    x_{t+1} = x_t − lr (∇K(c_t) + λ x_t)
    m_{t+1} = β2 m_t + (1 − β2) g_t

This is the paper's update (which keeps ``m`` as an EMA of ``−g``) for any odd ``∇K``, as all the
kernels here are. Lion-K solves ``min_x f(x) + K*(λx)/λ``; for a norm ``K = ‖·‖`` the conjugate
``K*`` is the indicator of the dual-norm unit ball, so Lion-K solves ``min f(x)`` subject to
``‖x‖_* ≤ 1/λ``:

| kernel      | ∇K(c)              | constraint            |
|-------------|--------------------|-----------------------|
| ``"l1"``    | sign(c) (Lion)     | ``‖x‖_∞ ≤ 1/λ``       |
| ``"l2"``    | c/‖c‖₂             | ``‖x‖₂ ≤ 1/λ``        |
| ``"linf"``  | e_argmax·sign      | ``‖x‖₁ ≤ 1/λ``        |
| ``"quadratic"`` (K = ½‖·‖²) | c  | none: momentum GD with an L2 penalty (λ/2)‖x‖² |

Because ``‖∇K(c)‖_* ≤ 1`` for a norm, ``‖x_{t+1}‖_* − 1/λ ≤ (1 − lr·λ)(‖x_t‖_* − 1/λ)``: the distance
to the ball shrinks at least as fast as ``e^{−lr·λ·t}`` (phase 1), whatever the gradients are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, check_choice, check_in_range

__all__ = ["KERNELS", "LionK", "LionKConfig", "constraint_norm", "grad_k", "project_ball", "projected_gradient_descent"]

KERNELS = ("l1", "l2", "linf", "quadratic")


def _sign(c: np.ndarray) -> np.ndarray:
    return np.sign(c)


def _l2(c: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(c))
    return np.zeros_like(c) if norm == 0.0 else c / norm


def _linf(c: np.ndarray) -> np.ndarray:
    out = np.zeros_like(c, dtype=float)
    if c.size:
        flat = out.reshape(-1)
        i = int(np.argmax(np.abs(c)))
        flat[i] = np.sign(c.reshape(-1)[i])
    return out


def _identity(c: np.ndarray) -> np.ndarray:
    return np.array(c, dtype=float)


_GRAD_K: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "l1": _sign, "l2": _l2, "linf": _linf, "quadratic": _identity,
}


def grad_k(kernel: str, c: np.ndarray) -> np.ndarray:
    """``∇K(c)`` for a named kernel; same shape as ``c``."""
    check_choice(kernel, "kernel", "grad_k", KERNELS)
    return _GRAD_K[kernel](np.asarray(c, dtype=float))


def constraint_norm(kernel: str, x: np.ndarray) -> float:
    """The norm dual to K, in which Lion-K's constraint ``‖x‖ ≤ 1/λ`` holds (ℓ∞ for ℓ1, …)."""
    check_choice(kernel, "kernel", "constraint_norm", ("l1", "l2", "linf"))
    x = np.asarray(x, dtype=float).reshape(-1)
    if kernel == "l1":
        return float(np.max(np.abs(x))) if x.size else 0.0
    if kernel == "l2":
        return float(np.linalg.norm(x))
    return float(np.sum(np.abs(x)))


def project_ball(kernel: str, x: np.ndarray, radius: float) -> np.ndarray:
    """Euclidean projection onto ``{‖y‖ ≤ radius}`` in K's dual norm (ℓ∞ box or ℓ2 ball)."""
    check_choice(kernel, "kernel", "project_ball", ("l1", "l2"))
    x = np.asarray(x, dtype=float)
    if kernel == "l1":
        return np.clip(x, -radius, radius)
    norm = float(np.linalg.norm(x))
    return x if norm <= radius else x * (radius / norm)


@dataclass(frozen=True)
class LionKConfig:
    """Hyperparameters of Lion-K.

    Args:
        lr: Step size ``lr`` (the paper's ε).
        beta1: Interpolation weight of the update direction.
        beta2: Momentum (EMA) weight.
        weight_decay: Decoupled weight decay ``λ``; the constraint radius is ``1/λ``.
        kernel: ``"l1"`` (Lion), ``"l2"``, ``"linf"``, ``"quadratic"``, or a callable ``∇K`` mapping an
            array to an array of the same shape (e.g. a clipped identity for a Huber-type K).
    """

    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.0
    kernel: str | Callable[[np.ndarray], np.ndarray] = "l1"

    def __post_init__(self) -> None:
        owner = "LionKConfig"
        check_in_range(self.lr, "lr", owner, 0.0)
        check_in_range(self.beta1, "beta1", owner, 0.0, 1.0, low_open=False)
        check_in_range(self.beta2, "beta2", owner, 0.0, 1.0, low_open=False)
        check_in_range(self.weight_decay, "weight_decay", owner, 0.0, low_open=False)
        if not callable(self.kernel):
            check_choice(self.kernel, "kernel", owner, KERNELS)


class LionK:
    """Lion-K on a numpy vector.

    Args:
        x0: Starting point, any shape (``∇K`` acts on the whole array, so ``"l2"`` is one global ball).
        config: Hyperparameters.

    Example:
        >>> opt = LionK(np.array([5.0, 5.0]), LionKConfig(lr=0.01, weight_decay=1.0))
        >>> x = opt.step(np.array([1.0, -1.0]))
    """

    def __init__(self, x0: np.ndarray, config: LionKConfig | None = None) -> None:
        self.config = config or LionKConfig()
        self.x = np.array(x0, dtype=float)
        self.m = np.zeros_like(self.x)
        self.t = 0

    def step(self, grad: np.ndarray) -> np.ndarray:
        """Apply one update with gradient ``grad`` (same shape as ``x``); return the new ``x``."""
        g = np.asarray(grad, dtype=float)
        if g.shape != self.x.shape:
            raise InputDataError(f"grad must have shape {self.x.shape}; got {g.shape}.")
        c = self.config
        blend = c.beta1 * self.m + (1.0 - c.beta1) * g
        direction = c.kernel(blend) if callable(c.kernel) else grad_k(c.kernel, blend)
        self.x = self.x - c.lr * (direction + c.weight_decay * self.x)
        self.m = c.beta2 * self.m + (1.0 - c.beta2) * g
        self.t += 1
        return self.x.copy()


def projected_gradient_descent(grad: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, kernel: str,
                               radius: float, lr: float, steps: int) -> np.ndarray:
    """Reference solver for ``min f(x)`` s.t. ``‖x‖ ≤ radius`` (ℓ∞ for ``"l1"``, ℓ2 for ``"l2"``).

    Args:
        grad: ``∇f``.
        x0: Start, shape ``(d,)``.
        kernel: Which ball (``"l1"`` → box, ``"l2"`` → ball).
        radius: The ball's radius.
        lr: Step size (≤ 1/L for an L-smooth f).
        steps: Iterations.

    Returns:
        The final iterate.
    """
    x = project_ball(kernel, np.asarray(x0, dtype=float), radius)
    for _ in range(int(steps)):
        x = project_ball(kernel, x - lr * grad(x), radius)
    return x
