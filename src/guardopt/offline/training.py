"""Train a regression surrogate with optional IGNITE or COMs-style conservative terms (torch)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import InputDataError, as_float_array, check_in_range, check_int
from guardopt.offline.coms import ConservativePenalty
from guardopt.offline.ignite import SharpnessPenalty


@dataclass(frozen=True)
class TrainConfig:
    """Mini-batch Adam on the mean squared error.

    Attributes:
        steps: Number of optimizer steps (a fixed step count rather than epochs keeps the compute
            the same across tasks whose datasets differ in size).
        batch_size: Mini-batch size (Design-Bench baselines use 128).
        lr: Adam learning rate.
        weight_decay: Adam's L2 weight decay.
    """

    steps: int = 240
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        check_int(self.steps, "steps", "TrainConfig", low=1)
        check_int(self.batch_size, "batch_size", "TrainConfig", low=1)
        check_in_range(self.lr, "lr", "TrainConfig", 0.0, math.inf)
        check_in_range(self.weight_decay, "weight_decay", "TrainConfig", 0.0, math.inf, low_open=False)


@dataclass
class TrainHistory:
    """What happened during training (one entry per step unless noted)."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)  # IGNITE's ‖∇_β G_B‖, when used
    lam: list[float] = field(default_factory=list)  # IGNITE's λ, when used
    alpha: list[float] = field(default_factory=list)  # COMs' α, when used


def train_regressor(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    config: TrainConfig | None = None,
    seed: int | None = None,
    sharpness: SharpnessPenalty | None = None,
    conservative: ConservativePenalty | None = None,
) -> TrainHistory:
    """Fit ``model(x) ≈ y`` by mini-batch Adam on the MSE, in place.

    Args:
        model: Surrogate mapping ``(n, d) -> (n,)``.
        x: Inputs, shape ``(n, d)`` (already normalized).
        y: Targets, shape ``(n,)`` (already normalized).
        config: `TrainConfig`.
        seed: Seed of the batch order.
        sharpness: An IGNITE `SharpnessPenalty` bound to ``model`` (adds its term every step).
        conservative: A COMs `ConservativePenalty` bound to ``model``.

    Returns:
        The `TrainHistory`.

    Raises:
        InputDataError: ``x`` or ``y`` is not finite real data of shapes ``(n, d)`` and ``(n,)``, or
            ``config`` is not a `TrainConfig`.
    """
    cfg = config or TrainConfig()
    if not isinstance(cfg, TrainConfig):
        raise InputDataError(f"The 'config' argument of train_regressor must be a TrainConfig. Got "
                             f"{type(cfg).__name__} instead.")
    if seed is not None:
        check_int(seed, "seed", "train_regressor", low=0)
    # NaN or infinite data would "train" a model whose every loss is NaN: refuse it instead.
    xt = torch.as_tensor(_finite(x, "x"), dtype=torch.float32)
    yt = torch.as_tensor(_finite(y, "y"), dtype=torch.float32).reshape(-1)
    if xt.ndim != 2 or xt.shape[0] != yt.shape[0] or xt.shape[0] == 0:
        raise InputDataError(f"train_regressor needs x (n, d) and y (n,); got {tuple(xt.shape)}, {tuple(yt.shape)}.")
    if not (bool(torch.isfinite(xt).all()) and bool(torch.isfinite(yt).all())):
        raise InputDataError("train_regressor: x and y must lie within float32's range.")
    in_dim = getattr(model, "in_dim", None)  # an `MLP` knows its input width
    if isinstance(in_dim, int) and xt.shape[1] != in_dim:
        raise InputDataError(f"The 'x' argument of train_regressor must have {in_dim} columns, the model's input "
                             f"width. Got {xt.shape[1]} instead.")
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    hist = TrainHistory()
    n = xt.shape[0]
    bs = min(cfg.batch_size, n)
    order = rng.permutation(n)
    pos = 0
    model.train()
    for _ in range(cfg.steps):
        if pos + bs > n:
            order, pos = rng.permutation(n), 0
        idx = torch.from_numpy(order[pos : pos + bs])
        pos += bs
        xb, yb = xt[idx], yt[idx]
        opt.zero_grad()
        loss = torch.mean((model(xb) - yb) ** 2)
        if conservative is not None:
            loss = loss + conservative.loss(xb)
        loss.backward()
        if sharpness is not None:
            hist.grad_norm.append(sharpness.add_to_grad(xb))
            hist.lam.append(sharpness.lam)
        opt.step()
        if conservative is not None:
            conservative.update()
            hist.alpha.append(conservative.alpha)
        hist.loss.append(float(loss.detach()))
    model.eval()
    return hist


def _finite(value: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return as_float_array(value, name, "train_regressor", finite=True)
