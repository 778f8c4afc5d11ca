"""Small MLP surrogates (torch)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from guardopt.core.errors import InvalidParameterError, check_choice, check_in_range, check_int


@dataclass(frozen=True)
class MLPConfig:
    """A fully connected network ``in -> hidden... -> 1``.

    Attributes:
        hidden: Widths of the hidden layers (Design-Bench baselines use ``(2048, 2048)``; the CPU
            reproductions here use ``(256, 256)``).
        activation: ``"leaky_relu"`` (slope ``negative_slope``), ``"relu"``, ``"tanh"`` or ``"silu"``.
        negative_slope: Leaky-ReLU slope; 0.3 is the Keras default the design-baselines code uses.
    """

    hidden: tuple[int, ...] = (256, 256)
    activation: str = "leaky_relu"
    negative_slope: float = 0.3

    def __post_init__(self) -> None:
        if isinstance(self.hidden, (str, bytes)) or not isinstance(self.hidden, (tuple, list)):
            raise InvalidParameterError("hidden", "MLPConfig", "a tuple of positive integers", self.hidden)
        for w in self.hidden:
            check_int(w, "hidden", "MLPConfig", low=1)
        object.__setattr__(self, "hidden", tuple(int(w) for w in self.hidden))  # a list would make it unhashable
        check_choice(self.activation, "activation", "MLPConfig", ("leaky_relu", "relu", "tanh", "silu"))
        check_in_range(self.negative_slope, "negative_slope", "MLPConfig", 0.0, 1.0, low_open=False)


def _activation(config: MLPConfig) -> nn.Module:
    if config.activation == "leaky_relu":
        return nn.LeakyReLU(config.negative_slope)
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}[config.activation]()


class MLP(nn.Module):
    """An MLP with a scalar output; ``forward(x: (n, in_dim)) -> (n,)``.

    Attributes:
        in_dim: The input width.
    """

    def __init__(self, in_dim: int, config: MLPConfig | None = None) -> None:
        super().__init__()
        cfg = config or MLPConfig()
        self.in_dim = check_int(in_dim, "in_dim", "MLP", low=1)
        layers: list[nn.Module] = []
        width = in_dim
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), _activation(cfg)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def make_mlp(in_dim: int, config: MLPConfig | None = None, seed: int | None = None) -> MLP:
    """Build an `MLP`, initialized from ``seed`` (``None`` or a non-negative integer) without touching
    torch's global RNG."""
    if seed is None:
        return MLP(in_dim, config)
    check_int(seed, "seed", "make_mlp", low=0, high=2**64 - 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return MLP(in_dim, config)
