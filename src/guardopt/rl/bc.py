"""Behaviour cloning baselines of safe offline RL: BC-All and BC-Safe (Liu et al. 2023, DSRL/OSRL).

BC-All clones every transition; BC-Safe clones only the episodes whose total cost is at most the
cost limit κ (`guardopt.rl.filters.safe_episodes`). The policy is a deterministic MLP with a tanh
output trained by mean squared error, as in OSRL's ``BC``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from guardopt.core.errors import check_choice, check_in_range
from guardopt.rl.base import OfflineLearner, check_common
from guardopt.rl.filters import safe_episodes
from guardopt.rl.nets import mlp

__all__ = ["BC", "BCConfig"]


@dataclass(frozen=True)
class BCConfig:
    """Config of `BC`.

    Args:
        mode: ``"all"`` (BC-All) or ``"safe"`` (BC-Safe: episodes with cost ≤ ``cost_limit``).
        cost_limit: κ, the episode cost limit of BC-Safe's filter.
        steps, batch_size, hidden, lr: Training length, minibatch, MLP width (2 layers), Adam rate.
    """

    mode: str = "all"
    cost_limit: float = 10.0
    steps: int = 2000
    batch_size: int = 256
    hidden: int = 128
    lr: float = 1e-3

    def __post_init__(self) -> None:
        check_choice(self.mode, "mode", "BCConfig", ("all", "safe"))
        check_in_range(self.cost_limit, "cost_limit", "BCConfig", 0.0, low_open=False)
        check_common(self, "BCConfig")


class BC(OfflineLearner):
    """BC-All / BC-Safe. ``BC(BCConfig(mode="safe", cost_limit=5)).fit(data).act(obs)``."""

    config_cls = BCConfig
    config: BCConfig

    def _prepare(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return safe_episodes(data, self.config.cost_limit) if self.config.mode == "safe" else data

    def _build(self, data: dict[str, Any]) -> None:
        self.policy = mlp(self.obs_dim, self.act_dim, self.config.hidden)
        self.opt = torch.optim.Adam(self.policy.parameters(), lr=self.config.lr, foreach=True)
        self.modules = {"policy": self.policy}

    def _update(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        loss = (torch.tanh(self.policy(batch["observations"])) - batch["actions"]).pow(2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"bc_loss": float(loss.detach())}

    def _act(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return torch.tanh(self.policy(obs))
