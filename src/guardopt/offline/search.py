"""Gradient ascent on a differentiable surrogate, and torch-side ensemble guards (torch)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import InputDataError, as_float_array, check_choice, check_in_range, check_int

ScoreFn = Callable[[torch.Tensor], torch.Tensor]


# The guards in guardopt.guards work on numpy arrays. Ensemble-min and ensemble-UWO *ascent* needs the
# gradient of the guarded score w.r.t. the designs, so these two are written again in torch; the tests
# check that they agree with guardopt.guards.worst_case / uncertainty_weighted on the same numbers.
def torch_worst_case(samples: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """Differentiable `guardopt.guards.worst_case`: the minimum over the members' axis."""
    return samples.min(dim=axis).values


def torch_uncertainty_weighted(samples: torch.Tensor, lam: float, axis: int = 0) -> torch.Tensor:
    """Differentiable `guardopt.guards.uncertainty_weighted`: mean − lam · population variance."""
    return samples.mean(dim=axis) - lam * samples.var(dim=axis, unbiased=False)


def ensemble_score(models: Sequence[nn.Module], combiner: str = "mean", lam: float = 0.5) -> ScoreFn:
    """A differentiable score ``x -> (n,)`` that combines an ensemble's predictions.

    Args:
        models: Surrogates mapping ``(n, d) -> (n,)``.
        combiner: ``"mean"``, ``"wco"`` (min) or ``"uwo"`` (mean − lam · variance).
        lam: UWO's weight.
    """
    check_choice(combiner, "combiner", "ensemble_score", ("mean", "wco", "uwo"))
    # A negative (or NaN) weight would reward the members' disagreement: the guard would fail open.
    check_in_range(lam, "lam", "ensemble_score", 0.0, math.inf, low_open=False)
    models = list(models)
    if not models:
        raise InputDataError("The 'models' argument of ensemble_score needs at least one surrogate. Got none.")

    def score(x: torch.Tensor) -> torch.Tensor:
        preds = torch.stack([m(x) for m in models])  # (k, n)
        if combiner == "mean":
            return preds.mean(dim=0)
        if combiner == "wco":
            return torch_worst_case(preds, axis=0)
        return torch_uncertainty_weighted(preds, lam, axis=0)

    return score


def gradient_ascent(
    score: ScoreFn,
    x0: np.ndarray | torch.Tensor,
    steps: int = 200,
    lr: float | None = None,
    lower: np.ndarray | torch.Tensor | None = None,
    upper: np.ndarray | torch.Tensor | None = None,
) -> torch.Tensor:
    """Plain gradient ascent ``x <- x + lr ∇_x score(x)`` on every row of ``x0``.

    Args:
        score: Differentiable ``(n, d) -> (n,)``; each row is ascended on its own score.
        x0: Starting designs, shape ``(n, d)``.
        steps: Number of steps (Design-Bench's Grad baseline uses 200).
        lr: Step size; ``None`` means ``0.01 * sqrt(d)`` (the design-baselines default for
            normalized inputs).
        lower, upper: Optional finite bounds, shape ``(d,)`` (or scalars), ``lower <= upper``; iterates
            are projected after every step.

    Returns:
        The final designs, shape ``(n, d)`` (detached).

    Raises:
        InputDataError: ``x0`` or a bound is not finite or has the wrong shape, or the score's gradient
            made the designs non-finite.
    """
    owner = "gradient_ascent"
    check_int(steps, "steps", owner, low=0)
    x = _finite_tensor(x0, "x0", owner)
    if x.ndim != 2 or x.shape[1] == 0:
        raise InputDataError(f"The 'x0' argument of {owner} must have shape (n, d). Got {tuple(x.shape)} instead.")
    eta = 0.01 * math.sqrt(x.shape[1]) if lr is None else check_in_range(lr, "lr", owner, 0.0)
    lo = None if lower is None else _bound(lower, "lower", x.shape[1])
    hi = None if upper is None else _bound(upper, "upper", x.shape[1])
    if lo is not None and hi is not None and bool((lo > hi).any()):
        raise InputDataError(f"The 'lower' argument of {owner} must not exceed 'upper' in any coordinate.")
    for _ in range(steps):
        x.requires_grad_(True)
        (g,) = torch.autograd.grad(score(x).sum(), x)
        x = (x + eta * g).detach()
        if lo is not None or hi is not None:
            x = torch.clamp(x, lo, hi)
    if not bool(torch.isfinite(x).all()):
        # Fail closed: a NaN or infinite score gradient must not come back as a design.
        raise InputDataError(f"{owner}: the score's gradient became non-finite; the designs are not usable.")
    return x


def _finite_tensor(value: np.ndarray | torch.Tensor, name: str, owner: str) -> torch.Tensor:
    """A detached float32 copy of finite real data, or an `InputDataError` naming ``name``."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        if t.is_complex() or not bool(torch.isfinite(t).all()):
            raise InputDataError(f"The {name!r} argument of {owner} must be finite real numbers (no NaN or "
                                 "infinity).")
        out = t.to(torch.float32).clone()
    else:
        out = torch.as_tensor(as_float_array(value, name, owner, finite=True), dtype=torch.float32)
    if not bool(torch.isfinite(out).all()):
        raise InputDataError(f"The {name!r} argument of {owner} must lie within float32's range.")
    return out


def _bound(value: np.ndarray | torch.Tensor, name: str, d: int) -> torch.Tensor:
    t = _finite_tensor(value, name, "gradient_ascent")
    if t.ndim == 0:  # a scalar bound applies to every coordinate
        t = t.expand(d).clone()
    if t.shape != (d,):
        raise InputDataError(f"The {name!r} argument of gradient_ascent must have shape ({d},). Got "
                             f"{tuple(t.shape)} instead.")
    return t
