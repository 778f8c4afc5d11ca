"""Neur2RO's projected-gradient adversary: ``max_{ξ ∈ Ξ} NN(x̂, ξ)`` (Dumouchelle et al., ICLR 2024).

The adversarial problem of ML-CCG maximizes the learned second-stage value over the uncertainty set
for the master's decision ``x̂``. Neur2RO's ``pga`` option runs Adam on ``ξ`` from a few random
starts, projecting onto Ξ after every step and keeping the best projected point; this module does
the same with every restart in one batch (the restarts are independent: each prediction depends only
on its own ξ). The projection is the exact Euclidean one (`project_budgeted_box`).

torch is imported here only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array
from guardopt.robust.config import AdversaryConfig
from guardopt.robust.problem import project_budgeted_box, sample_budgeted_box
from guardopt.robust.set_encoder import SetEncoder

__all__ = ["AdversaryResult", "pga_worst_case"]


@dataclass(frozen=True)
class AdversaryResult:
    """The adversary's scenario and its normalized predicted value ``NN(x̂, ξ)``."""

    xi: np.ndarray
    value: float


def _project_torch(xi: torch.Tensor, budget: float) -> torch.Tensor:
    return torch.as_tensor(project_budgeted_box(xi.detach().numpy(), budget), dtype=xi.dtype)


def pga_worst_case(net: SetEncoder, features: np.ndarray, x: np.ndarray, budget: float,
                   config: AdversaryConfig | None = None, rng: np.random.Generator | None = None) -> AdversaryResult:
    """Projected gradient ascent on ``ξ ↦ NN(x, ξ)`` over ``{ξ ∈ [0,1]^n : Σξ ≤ Γ}``.

    Args:
        net: The value network.
        features: Per-item features, ``(n, F)``.
        x: The first-stage decision, ``(n,)``.
        budget: Γ.
        config: Restarts, steps and learning rate.
        rng: Draws the starting scenarios (`sample_budgeted_box`).

    Returns:
        The best projected scenario seen over all restarts and steps, and its prediction.
    """
    owner = "pga_worst_case"
    cfg = config if config is not None else AdversaryConfig()
    if not isinstance(cfg, AdversaryConfig):
        raise InvalidParameterError("config", owner, "an AdversaryConfig", type(config).__name__)
    if not isinstance(net, SetEncoder):
        raise InvalidParameterError("net", owner, "a SetEncoder", type(net).__name__)
    feats = as_float_array(features, "features", owner, finite=True)
    xv = as_float_array(x, "x", owner, finite=True)
    if xv.ndim != 1 or feats.ndim != 2 or feats.shape[0] != xv.size or feats.shape[1] != net.feature_dim:
        raise InputDataError(f"The 'x' and 'features' arguments of {owner} must have shapes (n,) and "
                             f"(n, {net.feature_dim}) (the network's feature width). Got {xv.shape} and "
                             f"{feats.shape} instead.")
    gen = rng if rng is not None else np.random.default_rng(0)
    n, r = xv.size, cfg.restarts
    dtype = next(net.parameters()).dtype
    start = sample_budgeted_box(n, budget, r, gen)
    xi = torch.tensor(start, dtype=dtype, requires_grad=True)
    xt = torch.as_tensor(np.broadcast_to(xv, (r, n)).copy(), dtype=dtype)
    ft = torch.as_tensor(np.broadcast_to(feats, (r, *feats.shape)).copy(), dtype=dtype)
    opt = torch.optim.Adam([xi], lr=cfg.lr)
    best_val = torch.full((r,), -torch.inf, dtype=dtype)
    best_xi = xi.detach().clone()
    for step in range(cfg.steps + 1):
        # One forward pass per step serves both the record of the best (projected) point so far and
        # the gradient with respect to ξ (the network's own gradients are left untouched).
        val = net(xt, xi, ft)
        with torch.no_grad():
            better = val > best_val
            best_val = torch.where(better, val.detach(), best_val)
            best_xi[better] = xi.detach()[better]
        if step == cfg.steps:
            break
        (grad,) = torch.autograd.grad(-val.sum(), xi)
        xi.grad = grad
        opt.step()
        with torch.no_grad():
            xi.copy_(_project_torch(xi, budget))
    j = int(torch.argmax(best_val))
    if not bool(torch.isfinite(best_val[j])):  # a NaN network: no scenario was ever scored
        raise InputDataError(f"The 'net' argument of {owner} predicted no finite value for any scenario.")
    return AdversaryResult(best_xi[j].numpy().copy(), float(best_val[j]))
