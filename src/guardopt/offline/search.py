"""Gradient ascent on a differentiable surrogate, and torch-side ensemble guards (torch)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import check_choice, check_in_range, check_int

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
        lower, upper: Optional bounds, shape ``(d,)``; iterates are projected after every step.

    Returns:
        The final designs, shape ``(n, d)`` (detached).
    """
    check_int(steps, "steps", "gradient_ascent", low=0)
    x = torch.as_tensor(x0, dtype=torch.float32).detach().clone()
    eta = 0.01 * math.sqrt(x.shape[1]) if lr is None else check_in_range(lr, "lr", "gradient_ascent", 0.0)
    lo = None if lower is None else torch.as_tensor(lower, dtype=torch.float32)
    hi = None if upper is None else torch.as_tensor(upper, dtype=torch.float32)
    for _ in range(steps):
        x.requires_grad_(True)
        (g,) = torch.autograd.grad(score(x).sum(), x)
        x = (x + eta * g).detach()
        if lo is not None or hi is not None:
            x = torch.clamp(x, lo, hi)
    return x
