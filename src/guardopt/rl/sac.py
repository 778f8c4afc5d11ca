"""Soft actor-critic with twin critics or a single critic: the baselines of STAC.

Haarnoja, Zhou, Hartikainen, Tucker, Ha, Tan, Kumar, Zhu, Gupta, Abbeel & Levine, "Soft Actor-Critic
Algorithms and Applications" (arXiv 1812.05905, 2018): clipped double Q (the target and the actor
use the minimum of two critics, Fujimoto et al. 2018) and automatic entropy tuning. ``twin=False``
keeps one critic and no minimum: the overestimating single-critic baseline of the STAC paper. The
training loop, actor and temperature are shared with `guardopt.rl.stac.STAC`
(`guardopt.rl.online.OnlineAgent`).

The two critics are one batched network (`guardopt.rl.nets.Ensemble`, one ``baddbmm`` per layer for
both members), the cheapest way to evaluate them on a CPU; ``separate_critics=True`` builds them as
two independent MLPs instead, the layout of most published SAC code (timing comparisons only: the
mathematics is the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from guardopt.rl.nets import Ensemble
from guardopt.rl.online import OnlineAgent, OnlineConfig, _copy_frozen, trunk

__all__ = ["SAC", "SACConfig", "twin_min_target"]


@dataclass(frozen=True)
class SACConfig(OnlineConfig):
    """Config of `SAC`.

    Args:
        twin: Two critics with the clipped double-Q minimum (True) or one critic (False).
        hidden, layers, lr, batch_size, gamma, tau, buffer_size, start_steps, updates_per_step,
            init_alpha, target_entropy, log_every: As in `OnlineConfig` (inherited).
        separate_critics: Two independent critic MLPs instead of one batched pair (timing only).
    """

    twin: bool = True
    separate_critics: bool = False

    def __post_init__(self) -> None:
        from guardopt.core.errors import InvalidParameterError

        for name in ("twin", "separate_critics"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterError(name, "SACConfig", "True or False", getattr(self, name))
        super().__post_init__()


def twin_min_target(reward: torch.Tensor, done: torch.Tensor, gamma: float, q_next: torch.Tensor,
                    alpha: float, next_log_prob: torch.Tensor) -> torch.Tensor:
    """Clipped double-Q soft target r + γ(1 − d)(min_k Q_k(s', a') − α log π(a'|s')).

    Shapes: ``reward``, ``done``, ``next_log_prob`` ``(B,)``; ``q_next`` ``(k, B)``. Returns ``(B,)``.
    """
    return reward + gamma * (1.0 - done) * (q_next.min(0).values - alpha * next_log_prob)


class _SeparateCritics(nn.Module):
    """``k`` independent MLPs: input ``(B, inp)``, output ``(k, B)`` (the usual SAC layout)."""

    def __init__(self, inp: int, hidden: int, k: int, layers: int) -> None:
        super().__init__()
        self.nets = nn.ModuleList([trunk(inp, 1, hidden, layers) for _ in range(k)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(x).squeeze(-1) for net in self.nets])


class SAC(OnlineAgent):
    """Soft actor-critic (twin or single critic). ``SAC(SACConfig()).learn(env, steps)``; then
    ``act(obs)``, ``q_value(obs, actions)``, ``log``."""

    config_cls: ClassVar[type] = SACConfig

    def _build_critic(self) -> None:
        c = self.config
        k = 2 if c.twin else 1
        inp = self.obs_dim + self.act_dim
        self.critic = (_SeparateCritics(inp, c.hidden, k, c.layers) if c.separate_critics
                                  else Ensemble(inp, c.hidden, k=k, layers=c.layers))
        self.critic_target = _copy_frozen(self.critic)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=c.lr)

    def _qs(self, net: nn.Module, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return net(torch.cat([obs, act], dim=-1))  # (k, B)

    def _target(self, batch: dict[str, torch.Tensor], next_act: torch.Tensor, next_log_prob: torch.Tensor,
                alpha: float) -> torch.Tensor:
        q_next = self._qs(self.critic_target, batch["next_obs"], next_act)
        return twin_min_target(batch["rew"], batch["done"], self.config.gamma, q_next, alpha, next_log_prob)

    def _critic_loss(self, obs: torch.Tensor, act: torch.Tensor, target: torch.Tensor
                     ) -> tuple[torch.Tensor, dict[str, float]]:
        q = self._qs(self.critic, obs, act)
        # Sum over critics of each one's mean squared TD error (as in the SAC paper's J_Q per critic).
        loss = (q - target).pow(2).mean(1).sum()
        return loss, {"q": float(q.detach().mean())}

    def _actor_value(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return self._qs(self.critic, obs, act).min(0).values

    def _q_value_t(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return self._qs(self.critic, obs, act).min(0).values
