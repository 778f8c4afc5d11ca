"""A small rectified-flow model on 2-D points, its ODE sampler, and the SDE sampler Flow-GRPO trains on.

Rectified flow (Liu et al., 2023) interpolates a data point ``x₀`` and Gaussian noise ``ε`` as
``x_t = (1 − t)·x₀ + t·ε`` for ``t ∈ [0, 1]`` (``t = 1`` is pure noise) and regresses a velocity
field ``v_θ(x_t, t)`` on ``ε − x₀``. Sampling integrates ``dx = v dt`` from ``t = 1`` down to 0.

Flow-GRPO (Liu et al., 2025, arXiv 2505.05470) needs a stochastic sampler with the same marginals,
so that each step is a Gaussian policy with a log-probability. With ``σ_t = a·√(t / (1 − t))`` the
reverse-time SDE discretizes, for a step from ``t`` to ``t + dt`` (``dt < 0``), as::

    x_{t+dt} = μ_θ(x_t, t) + σ_t √(−dt) · ε,
    μ_θ(x_t, t) = x_t + [v_θ(x_t, t) + σ_t² / (2t) · (x_t + (1 − t)·v_θ(x_t, t))] · dt,

where ``−(x_t + (1 − t)v)/t`` is the score of the marginal implied by ``v``. The step's
log-probability is the Gaussian density ``N(x_{t+dt}; μ_θ, (σ_t √(−dt))² I)``, **summed** over the
two coordinates (Flow-GRPO's image code averages it over latent dimensions; with two coordinates the
sum is the density itself). At ``t = 1`` the factor ``t / (1 − t)`` is infinite; as in Flow-GRPO's
sampler, the first step uses the next grid point's ``1 − t`` in the denominator.

Shapes: ``N`` points, ``T`` steps; trajectories are ``(T + 1, N, 2)``; per-step quantities ``(T, N)``
or ``(T,)``. This module needs torch (``pip install guardopt[torch]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range, check_int

__all__ = [
    "FlowConfig",
    "SDETrajectory",
    "VelocityMLP",
    "fit_rectified_flow",
    "gaussian_step_logp",
    "ode_sample",
    "sde_sample",
    "sde_sigmas",
    "sde_step_mean",
    "time_grid",
]


@dataclass(frozen=True)
class FlowConfig:
    """Architecture and pre-training of a `VelocityMLP` by rectified flow matching.

    Args:
        hidden: Width of each hidden layer.
        layers: Number of hidden layers.
        time_features: Sine/cosine frequency pairs that embed ``t``.
        steps: Adam steps of flow-matching pre-training.
        batch_size: Data points per step.
        lr: Adam learning rate (cosine-decayed to 10% over ``steps``).
    """

    hidden: int = 64
    layers: int = 2
    time_features: int = 4
    steps: int = 3000
    batch_size: int = 256
    lr: float = 2e-3

    def __post_init__(self) -> None:
        check_int(self.hidden, "hidden", "FlowConfig", 1, 4096)
        check_int(self.layers, "layers", "FlowConfig", 1, 16)
        check_int(self.time_features, "time_features", "FlowConfig", 0, 64)
        check_int(self.steps, "steps", "FlowConfig", 0)
        check_int(self.batch_size, "batch_size", "FlowConfig", 1)
        check_in_range(self.lr, "lr", "FlowConfig", 0.0, 10.0)


class VelocityMLP(nn.Module):
    """``v_θ(x, t)``: an MLP on ``[x, t, sin/cos(2^k π t)]`` with SiLU activations; ``(N, 2), (N,) -> (N, 2)``."""

    def __init__(self, config: FlowConfig | None = None) -> None:
        super().__init__()
        self.config = config or FlowConfig()
        c = self.config
        width_in = 2 + 1 + 2 * c.time_features
        mods: list[nn.Module] = []
        for i in range(c.layers):
            mods += [nn.Linear(width_in if i == 0 else c.hidden, c.hidden), nn.SiLU()]
        mods.append(nn.Linear(c.hidden, 2))
        self.net = nn.Sequential(*mods)
        self.freqs: torch.Tensor
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(c.time_features, dtype=torch.float32),
                             persistent=False)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tt = t.reshape(-1, 1).to(x.dtype)
        ang = tt * self.freqs.to(x.dtype)
        out: torch.Tensor = self.net(torch.cat([x, tt, torch.sin(ang), torch.cos(ang)], dim=1))
        return out


def _points(x: torch.Tensor, name: str, owner: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != 2:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputDataError(f"{owner}: {name!r} must be a tensor of shape (N, 2). Got {shape}.")
    if not bool(torch.isfinite(x).all()):
        raise InputDataError(f"{owner}: {name!r} holds NaN or infinite values.")
    return x


def fit_rectified_flow(data: np.ndarray | torch.Tensor, config: FlowConfig | None = None,
                       seed: int = 0) -> VelocityMLP:
    """Pre-train a `VelocityMLP` on 2-D points by rectified flow matching.

    Each step draws ``batch_size`` points ``x₀`` from ``data`` (with replacement), noise ``ε`` and
    ``t ~ U(0, 1)``, and minimizes ``‖v_θ((1 − t)x₀ + tε, t) − (ε − x₀)‖²``.

    Args:
        data: ``(M, 2)`` training points.
        config: Architecture and optimizer; default `FlowConfig()`.
        seed: Seeds the initialization and every draw.
    """
    config = config or FlowConfig()
    if not isinstance(config, FlowConfig):
        raise InvalidParameterError("config", "fit_rectified_flow", "a FlowConfig", type(config).__name__)
    seed = check_int(seed, "seed", "fit_rectified_flow")
    x = torch.as_tensor(np.asarray(data, dtype=np.float32)) if not isinstance(data, torch.Tensor) else data.float()
    _points(x, "data", "fit_rectified_flow")
    if x.shape[0] == 0:
        raise InputDataError("fit_rectified_flow: 'data' holds no points.")
    gen = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed))
    model = VelocityMLP(config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(config.steps, 1), eta_min=0.1 * config.lr)
    for _ in range(config.steps):
        idx = torch.randint(0, x.shape[0], (config.batch_size,), generator=gen)
        x0 = x[idx]
        eps = torch.randn(x0.shape, generator=gen)
        t = torch.rand(x0.shape[0], generator=gen)
        xt = (1.0 - t[:, None]) * x0 + t[:, None] * eps
        loss = ((model(xt, t) - (eps - x0)) ** 2).sum(1).mean()
        if not bool(torch.isfinite(loss)):
            raise InputDataError("fit_rectified_flow: the flow-matching loss is not finite (rescale 'data' or "
                                 "lower 'lr').")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return model


def time_grid(n_steps: int) -> torch.Tensor:
    """``n_steps + 1`` times from 1 down to 0, evenly spaced; ``(T + 1,)``."""
    n_steps = check_int(n_steps, "n_steps", "time_grid", 1, 10_000)
    return torch.linspace(1.0, 0.0, n_steps + 1)


def sde_sigmas(grid: torch.Tensor, noise_level: float = 0.7) -> torch.Tensor:
    """Flow-GRPO's ``σ_t = a·√(t / (1 − t))`` at the start of each step; ``(T + 1,) -> (T,)``.

    At ``t = 1`` the denominator uses ``1 − t`` of the next grid point (the sampler's convention).
    """
    a = check_in_range(noise_level, "noise_level", "sde_sigmas", 0.0, 100.0, low_open=False)
    if grid.ndim != 1 or grid.shape[0] < 2:
        raise InputDataError(f"sde_sigmas: 'grid' must have shape (T + 1,) with T ≥ 1. Got {tuple(grid.shape)}.")
    t = grid[:-1]
    denom = torch.where(t >= 1.0, 1.0 - grid[1], 1.0 - t)
    return a * torch.sqrt(t / denom)


def sde_step_mean(model: nn.Module, x: torch.Tensor, t: float | torch.Tensor, dt: float | torch.Tensor,
                  sigma: float | torch.Tensor) -> torch.Tensor:
    """The mean ``μ_θ(x_t, t)`` of one SDE step from ``t`` to ``t + dt`` (``dt < 0``); ``(N, 2) -> (N, 2)``.

    ``t``, ``dt`` and ``sigma`` are scalars or ``(N,)`` tensors (one per point), so a whole trajectory
    can be evaluated in one call on flattened ``(T·N, 2)`` states.
    """
    n = x.shape[0]
    tt = torch.as_tensor(t, dtype=x.dtype).reshape(-1)
    if tt.numel() == 1:
        tt = tt.expand(n)
    dtt = torch.as_tensor(dt, dtype=x.dtype).reshape(-1, 1)
    sig = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1)
    v = model(x, tt)
    tcol = tt.reshape(-1, 1)
    drift = v + sig**2 / (2.0 * tcol) * (x + (1.0 - tcol) * v)
    return x + drift * dtt


def gaussian_step_logp(x_next: torch.Tensor, mean: torch.Tensor, std: float | torch.Tensor) -> torch.Tensor:
    """``log N(x_next; mean, std² I)`` summed over the last axis; ``(..., D) -> (...)``.

    ``std`` is a scalar or broadcasts against ``x_next[..., 0]`` (e.g. ``(T, 1)`` for ``(T, N, D)``).
    """
    s = torch.as_tensor(std, dtype=x_next.dtype)
    if not bool((s > 0).all()):
        raise InputDataError("gaussian_step_logp: 'std' must be positive.")
    d = x_next.shape[-1]
    z = ((x_next - mean) ** 2).sum(-1) / (2.0 * s**2)
    return -z - d * torch.log(s) - 0.5 * d * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class SDETrajectory:
    """What `sde_sample` recorded; everything the clipped objectives need.

    Attributes:
        states: ``(T + 1, N, 2)`` states, from the noise ``x_1`` to the samples ``x_0``.
        means: ``(T, N, 2)`` step means under the sampling policy.
        logps: ``(T, N)`` log-probability of each transition under the sampling policy.
        t: ``(T,)`` time at the start of each step.
        dt: ``(T,)`` step lengths (negative).
        sigma: ``(T,)`` ``σ_t``.
        std: ``(T,)`` transition standard deviations ``σ_t √(−dt)``.
    """

    states: torch.Tensor
    means: torch.Tensor
    logps: torch.Tensor
    t: torch.Tensor
    dt: torch.Tensor
    sigma: torch.Tensor
    std: torch.Tensor

    @property
    def samples(self) -> torch.Tensor:
        """``(N, 2)`` final samples."""
        return self.states[-1]


def sde_sample(model: nn.Module, noise: torch.Tensor, n_steps: int = 10, noise_level: float = 0.7,
               generator: torch.Generator | None = None) -> SDETrajectory:
    """Sample with Flow-GRPO's SDE from ``x_1 = noise`` (``(N, 2)``), recording per-step log-probabilities."""
    x = _points(noise, "noise", "sde_sample")
    grid = time_grid(n_steps)
    sig = sde_sigmas(grid, noise_level)
    dts = grid[1:] - grid[:-1]
    stds = sig * torch.sqrt(-dts)
    if not bool((stds > 0).all()):  # a = 0, or one that underflows float32: no transition density
        raise InvalidParameterError("noise_level", "sde_sample", "a real number in (0, 100) (σ_t must be positive "
                                    "in float32)", noise_level)
    states, means, logps = [x], [], []
    with torch.no_grad():
        for k in range(n_steps):
            mu = sde_step_mean(model, x, grid[k], dts[k], sig[k])
            x = mu + stds[k] * torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
            means.append(mu)
            logps.append(gaussian_step_logp(x, mu, stds[k]))
            states.append(x)
    traj = SDETrajectory(torch.stack(states), torch.stack(means), torch.stack(logps), grid[:-1].clone(), dts,
                         sig, stds)
    if not (bool(torch.isfinite(traj.states).all()) and bool(torch.isfinite(traj.logps).all())):
        raise InputDataError(f"sde_sample: the trajectory overflows {x.dtype} from this 'noise' "
                             f"(largest magnitude {float(noise.abs().max()):g}); rescale it.")
    return traj


def ode_sample(model: nn.Module, noise: torch.Tensor, n_steps: int = 10) -> torch.Tensor:
    """Euler integration of ``dx = v_θ dt`` from ``t = 1`` to 0; ``(N, 2) -> (N, 2)``."""
    x = _points(noise, "noise", "ode_sample")
    grid = time_grid(n_steps)
    with torch.no_grad():
        for k in range(n_steps):
            x = x + model(x, grid[k].expand(x.shape[0])) * (grid[k + 1] - grid[k])
    if not bool(torch.isfinite(x).all()):
        raise InputDataError(f"ode_sample: the path overflows {x.dtype} from this 'noise'; rescale it.")
    return x
