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

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
)

__all__ = ["KERNELS", "LionK", "LionKConfig", "constraint_norm", "grad_k", "project_ball", "projected_gradient_descent"]

KERNELS = ("l1", "l2", "linf", "quadratic")


def _sign(c: np.ndarray) -> np.ndarray:
    return np.sign(c)


def _unit(c: np.ndarray) -> np.ndarray:
    """``c / ‖c‖₂`` for finite ``c ≠ 0``, also when ``‖c‖₂`` overflows (``c / inf`` would be 0) or
    underflows (``c / 0`` would be infinite)."""
    with np.errstate(over="ignore", under="ignore"):
        norm = float(np.linalg.norm(c))
    if math.isinf(norm) or norm == 0.0:
        c = c / np.max(np.abs(c))
        norm = float(np.linalg.norm(c))
    return c / norm


def _l2(c: np.ndarray) -> np.ndarray:
    return np.zeros_like(c) if not np.any(c) else _unit(c)


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
    return _GRAD_K[kernel](as_float_array(c, "c", "grad_k"))


def constraint_norm(kernel: str, x: np.ndarray) -> float:
    """The norm dual to K, in which Lion-K's constraint ``‖x‖ ≤ 1/λ`` holds (ℓ∞ for ℓ1, …)."""
    check_choice(kernel, "kernel", "constraint_norm", ("l1", "l2", "linf"))
    x = as_float_array(x, "x", "constraint_norm").reshape(-1)
    if np.isnan(x).any():  # a NaN norm compares False with any radius: a violation check would pass
        raise InputDataError(f"The 'x' argument of constraint_norm must not contain NaN. Got {x!r} instead.")
    if kernel == "l1":
        return float(np.max(np.abs(x))) if x.size else 0.0
    if kernel == "l2":
        return float(np.linalg.norm(x))
    return float(np.sum(np.abs(x)))


def project_ball(kernel: str, x: np.ndarray, radius: float) -> np.ndarray:
    """Euclidean projection onto ``{‖y‖ ≤ radius}`` in K's dual norm (ℓ∞ box or ℓ2 ball)."""
    check_choice(kernel, "kernel", "project_ball", ("l1", "l2"))
    x = as_float_array(x, "x", "project_ball", finite=True)
    # A negative radius would clip to an inverted box or flip the point through the origin.
    radius = check_in_range(radius, "radius", "project_ball", 0.0, math.inf, low_open=False, high_open=False)
    if kernel == "l1":
        return np.clip(x, -radius, radius)
    with np.errstate(over="ignore"):
        norm = float(np.linalg.norm(x))
    return x if norm <= radius else _unit(x) * radius


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
        self.config = config if config is not None else LionKConfig()
        if not isinstance(self.config, LionKConfig):
            raise InvalidParameterError("config", "LionK", "a LionKConfig", type(config).__name__)
        self.x = np.array(as_float_array(x0, "x0", "LionK", finite=True))
        self.m = np.zeros_like(self.x)
        self.t = 0

    def step(self, grad: np.ndarray) -> np.ndarray:
        """Apply one update with gradient ``grad`` (same shape as ``x``); return the new ``x``.

        Raises `InputDataError`, leaving ``x`` and the momentum unchanged, on a gradient of another
        shape or with NaN or infinite entries (they would poison the momentum for good).
        """
        g = as_float_array(grad, "grad", "LionK.step")
        if g.shape != self.x.shape:
            raise InputDataError(f"grad must have shape {self.x.shape}; got {g.shape}.")
        if not np.isfinite(g).all():
            raise InputDataError("The 'grad' argument of LionK.step must be finite (no NaN or infinity); "
                                 "no step was taken.")
        c = self.config
        blend = c.beta1 * self.m + (1.0 - c.beta1) * g
        if callable(c.kernel):
            try:
                direction = np.asarray(c.kernel(blend), dtype=float)
            except (TypeError, ValueError) as exc:
                raise InputDataError(f"The 'kernel' callable of LionKConfig failed or returned no real array: "
                                     f"{type(exc).__name__}: {exc}") from exc
            if direction.shape != self.x.shape or not np.isfinite(direction).all():  # x would change shape
                raise InputDataError(f"The 'kernel' callable of LionKConfig must return a finite array of shape "
                                     f"{self.x.shape}. Got shape {direction.shape} (or non-finite values) instead.")
        else:
            direction = grad_k(c.kernel, blend)
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
    owner = "projected_gradient_descent"
    steps = check_int(steps, "steps", owner, 0)  # int() would truncate 2.7 and take True or -3
    lr = check_in_range(lr, "lr", owner, 0.0)
    x = project_ball(kernel, as_float_array(x0, "x0", owner, finite=True), radius)
    for _ in range(steps):
        step = x - lr * np.asarray(grad(x), dtype=float)
        if step.shape != x.shape or not np.isfinite(step).all():
            raise InputDataError(f"The 'grad' argument of {owner} returned a gradient of shape {step.shape} or a "
                                 "non-finite one (or the run diverged); lower lr or check grad.")
        x = project_ball(kernel, step, radius)
    return x
