"""COMs-style conservative surrogate training (a baseline for IGNITE).

Reference: Trabucco et al. (2021), "Conservative Objective Models for Effective Offline Model-Based
Optimization" (ICML). The surrogate's regression loss gets a term that pushes its predictions down
on designs found by gradient ascent on the surrogate itself ("negatives") and up on the data::

    L(β) = MSE(β) + α (E_{x̃ ~ ascent}[f(x̃; β)] − E_{x ~ data}[f(x; β)])

with α a Lagrange multiplier for the constraint ``gap <= tau``: ``α <- max(0, α + η_α (gap − tau))``.
The paper's negatives use 50 ascent steps; this CPU version defaults to 5 (``ascent_steps``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from guardopt.core.errors import InputDataError, check_in_range, check_int


@dataclass(frozen=True)
class ConservativeConfig:
    """COMs' hyper-parameters (inputs and targets normalized).

    Attributes:
        alpha0: Initial multiplier α.
        eta_alpha: Multiplier step size.
        tau: Allowed over-estimation gap (COMs' "overestimation limit").
        ascent_steps: Gradient-ascent steps that produce the negatives.
        ascent_lr: Their step size, multiplied by ``sqrt(d)``.
    """

    alpha0: float = 0.1
    eta_alpha: float = 0.01
    tau: float = 0.5
    ascent_steps: int = 5
    ascent_lr: float = 0.05

    def __post_init__(self) -> None:
        check_in_range(self.alpha0, "alpha0", "ConservativeConfig", 0.0, math.inf, low_open=False)
        check_in_range(self.eta_alpha, "eta_alpha", "ConservativeConfig", 0.0, math.inf, low_open=False)
        check_in_range(self.tau, "tau", "ConservativeConfig", -math.inf, math.inf)
        check_int(self.ascent_steps, "ascent_steps", "ConservativeConfig", low=1)
        check_in_range(self.ascent_lr, "ascent_lr", "ConservativeConfig", 0.0, math.inf)


class ConservativePenalty:
    """The COMs term for one model: call `loss` inside the step and `update` after it.

    Attributes:
        alpha: The current multiplier.
        last_gap: The last ``E[f(x̃)] − E[f(x)]``.
    """

    def __init__(self, model: nn.Module, config: ConservativeConfig | None = None) -> None:
        self.model = model
        self.config = config or ConservativeConfig()
        if not isinstance(self.config, ConservativeConfig):
            raise InputDataError(f"The 'config' argument of ConservativePenalty must be a ConservativeConfig. Got "
                                 f"{type(self.config).__name__} instead.")
        self.alpha = self.config.alpha0
        self.last_gap = float("nan")

    def negatives(self, x: torch.Tensor) -> torch.Tensor:
        """Designs reached by ``ascent_steps`` gradient steps on the surrogate from ``x`` (detached)."""
        cfg = self.config
        lr = cfg.ascent_lr * math.sqrt(x[0].numel())
        z = x.detach().clone()
        for _ in range(cfg.ascent_steps):
            z.requires_grad_(True)
            (g,) = torch.autograd.grad(self.model(z).sum(), z)
            z = (z + lr * g).detach()
        return z

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """``α (mean f(x̃) − mean f(x))`` for a batch ``x``; records the gap."""
        gap = self.model(self.negatives(x)).mean() - self.model(x).mean()
        self.last_gap = float(gap.detach())
        return self.alpha * gap

    def update(self) -> None:
        """Dual ascent on α (projected onto α >= 0)."""
        if math.isfinite(self.last_gap):
            self.alpha = max(0.0, self.alpha + self.config.eta_alpha * (self.last_gap - self.config.tau))
