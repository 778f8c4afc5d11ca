"""Small torch networks: MLPs, twin critics and the DDPM diffusion actor used by FISOR."""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

__all__ = ["DiffusionActor", "mlp", "vp_betas"]


def mlp(inp: int, out: int, hidden: int, layers: int = 2, layer_norm: bool = False) -> nn.Sequential:
    """``layers`` hidden layers of width ``hidden`` with ReLU (and LayerNorm if asked)."""
    mods: list[nn.Module] = []
    d = inp
    for _ in range(layers):
        mods.append(nn.Linear(d, hidden))
        if layer_norm:
            mods.append(nn.LayerNorm(hidden))
        mods.append(nn.ReLU())
        d = hidden
    mods.append(nn.Linear(d, out))
    return nn.Sequential(*mods)


class Ensemble(nn.Module):
    """``k`` independent MLPs of x → scalar held as batched weights (one ``baddbmm`` per layer
    instead of ``k`` small matmuls): input ``(B, inp)``, output ``(k, B)``."""

    def __init__(self, inp: int, hidden: int, k: int = 2, layers: int = 2) -> None:
        super().__init__()
        dims = [inp] + [hidden] * layers + [1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in itertools.pairwise(dims):
            bound = 1.0 / math.sqrt(d_in)  # nn.Linear's default initialization, per member
            self.weights.append(nn.Parameter(torch.empty(k, d_in, d_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(k, 1, d_out).uniform_(-bound, bound)))
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.unsqueeze(0).expand(self.k, *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = torch.baddbmm(b, z, w)
            if i < last:
                z = torch.relu(z)
        return z.squeeze(-1)


def vp_betas(steps: int) -> torch.Tensor:
    """FISOR's discrete VP schedule β_t = 1 − exp(−0.1/T − 0.5·(20 − 0.1)·(2t − 1)/T²), t = 1..T."""
    t = torch.arange(1, steps + 1, dtype=torch.float64)
    b_min, b_max = 0.1, 20.0
    alpha = torch.exp(-b_min / steps - 0.5 * (b_max - b_min) * (2 * t - 1) / steps**2)
    return (1.0 - alpha).float()


class DiffusionActor(nn.Module):
    """A DDPM over actions conditioned on the state: ε_θ(a_t, s, t) is an MLP.

    The paper's ε-network is a 3-block MLP-ResNet (width 256, LayerNorm, dropout) on Fourier time
    features; here an MLP with ``hidden`` units and LayerNorm on [a_t, s, sin/cos(t)] features,
    because the CPU reproduction trains it for thousands, not a million, steps. The schedule and
    the number of denoising steps T (5) are the paper's.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 128, steps: int = 5) -> None:
        super().__init__()
        self.act_dim = act_dim
        self.steps = steps
        self.net = mlp(act_dim + obs_dim + 8, act_dim, hidden, layers=3, layer_norm=True)
        betas = vp_betas(steps)
        alphas = 1.0 - betas
        self.betas: torch.Tensor
        self.alphas: torch.Tensor
        self.alpha_bars: torch.Tensor
        self.register_buffer("betas", betas)
        self.register_buffer("alphas", alphas)
        self.register_buffer("alpha_bars", torch.cumprod(alphas, 0))

    def _time(self, t: torch.Tensor) -> torch.Tensor:
        freqs = torch.arange(1, 5, dtype=torch.float32, device=t.device) * math.pi
        x = (t.float() / self.steps)[:, None] * freqs
        return torch.cat([torch.sin(x), torch.cos(x)], dim=-1)

    def eps(self, a_t: torch.Tensor, obs: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([a_t, obs, self._time(t)], dim=-1))

    def loss(self, obs: torch.Tensor, act: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Weighted ε-prediction loss mean_b w_b·‖ε_θ(√ᾱ_t a + √(1−ᾱ_t) ε, s, t) − ε‖²."""
        b = obs.shape[0]
        t = torch.randint(0, self.steps, (b,), device=obs.device)
        noise = torch.randn_like(act)
        ab = self.alpha_bars[t][:, None]
        a_t = ab.sqrt() * act + (1 - ab).sqrt() * noise
        err = (self.eps(a_t, obs, t) - noise).pow(2).sum(-1)
        return (err if weight is None else weight * err).mean()

    @torch.no_grad()
    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral DDPM sampling of one action per row of ``obs (B, obs_dim)``; clipped to [-1, 1]."""
        b = obs.shape[0]
        a = torch.randn(b, self.act_dim, generator=generator)
        for i in reversed(range(self.steps)):
            t = torch.full((b,), i, dtype=torch.long)
            eps = self.eps(a, obs, t)
            mean = (a - self.betas[i] / (1 - self.alpha_bars[i]).sqrt() * eps) / self.alphas[i].sqrt()
            if i > 0:
                var = self.betas[i] * (1 - self.alpha_bars[i - 1]) / (1 - self.alpha_bars[i])
                a = mean + var.sqrt() * torch.randn(b, self.act_dim, generator=generator)
            else:
                a = mean
            a = a.clamp(-1.5, 1.5)
        return a.clamp(-1.0, 1.0)
