"""STAC: stochastic actor-critic, one distributional critic with pessimism from its own spread.

Özalp, "Stochastic Actor-Critic: Mitigating Overestimation via Temporal Aleatoric Uncertainty"
(arXiv 2601.00737, 2026). One critic outputs a Gaussian N(μ(s, a), σ(s, a)²) over the one-step
Bellman target; σ learns the *temporal aleatoric* spread of that target (stochastic transitions and
rewards, and the sampled next action), and pessimism subtracts β·σ:

* target (a' ~ π(·|s') sampled, no twin minimum): y = r + γ(1 − d)(μ'(s', a') − β·σ'(s', a') −
  α log π(a'|s')), from a Polyak-averaged target critic (`pessimistic_target`);
* critic loss: the Gaussian negative log-likelihood of the scalar target, −log N(y; μ, σ)
  (`gaussian_nll`), σ = softplus(raw) with raw clipped below at −5;
* actor loss: E[α log π(ã|s) − (μ(s, ã) − β·σ(s, ã))], ã reparameterized;
* dropout (rate 0.01) and LayerNorm in every hidden block of critic and actor (Linear → Dropout →
  LayerNorm → ReLU), active in training (also in the target critic, as in the authors' code) and off
  when acting for evaluation; evaluation acts with the mean of 10 sampled actions.

Defaults follow the paper where it gives them (dropout 0.01 on both networks, learning rate 3e-4,
batch 256, τ = 0.005, γ = 0.99) and are scaled down for CPU where the reproduction says so (width 64
instead of 256). β is per environment in the paper (0 to 0.5); the default here is 0.25, its most
common non-zero value. The temperature uses SAC's automatic tuning (gradient on log α), shared with
`guardopt.rl.sac.SAC`; the authors' code instead scales α multiplicatively by
exp(lr·α·(H̄ − H)) — the same fixed point, a different step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from guardopt.core.errors import check_bool, check_in_range
from guardopt.rl.online import OnlineAgent, OnlineConfig, _copy_frozen, trunk

__all__ = ["STAC", "GaussianCritic", "STACConfig", "gaussian_nll", "pessimistic_target"]

RAW_STD_MIN = -5.0


@dataclass(frozen=True)
class STACConfig(OnlineConfig):
    """Config of `STAC`.

    Args:
        beta: Pessimism β: the value is μ − β·σ in target and actor loss (β = 0:
            no pessimism; a negative β is optimistic, kept for controls).
        dropout: Dropout rate of every hidden block of critic and actor, in [0, 1).
        layer_norm: LayerNorm in every hidden block (the paper's architecture).
        eval_samples: Evaluation action = mean of this many sampled actions.
        hidden, layers, lr, batch_size, gamma, tau, buffer_size, start_steps, updates_per_step,
            init_alpha, target_entropy, log_every: As in `guardopt.rl.online.OnlineConfig` (inherited).
    """

    beta: float = 0.25
    dropout: float = 0.01
    layer_norm: bool = True
    eval_samples: int = 10

    def __post_init__(self) -> None:
        from guardopt.core.errors import check_int

        check_in_range(self.beta, "beta", "STACConfig", -100.0, 100.0, low_open=False, high_open=False)
        check_in_range(self.dropout, "dropout", "STACConfig", 0.0, 1.0, low_open=False)
        check_bool(self.layer_norm, "layer_norm", "STACConfig")
        check_int(self.eval_samples, "eval_samples", "STACConfig", low=1, high=100_000)
        super().__post_init__()


def gaussian_nll(target: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −log N(y; μ, σ) = log σ + ½ log 2π + (y − μ)² / (2σ²); all ``(B,)``."""
    return (std.log() + 0.5 * math.log(2 * math.pi) + 0.5 * ((target - mean) / std).pow(2)).mean()


def pessimistic_target(reward: torch.Tensor, done: torch.Tensor, gamma: float, mean_next: torch.Tensor,
                       std_next: torch.Tensor, beta: float, alpha: float, next_log_prob: torch.Tensor
                       ) -> torch.Tensor:
    """STAC's target r + γ(1 − d)(μ'(s', a') − β·σ'(s', a') − α log π(a'|s')); all ``(B,)``."""
    return reward + gamma * (1.0 - done) * (mean_next - beta * std_next - alpha * next_log_prob)


class GaussianCritic(nn.Module):
    """(s, a) → (μ, σ), each ``(B,)``: one MLP with a 2-wide head, σ = softplus(max(raw, −5))."""

    def __init__(self, inp: int, hidden: int, layers: int, dropout: float, layer_norm: bool) -> None:
        super().__init__()
        self.net = trunk(inp, 2, hidden, layers, dropout, layer_norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x)
        return out[:, 0], nn.functional.softplus(out[:, 1].clamp(min=RAW_STD_MIN))


class STAC(OnlineAgent):
    """Stochastic actor-critic. ``STAC(STACConfig(beta=0.25)).learn(env, steps)``; then ``act``,
    ``q_value`` (the critic's mean μ), ``q_std`` (its σ), ``log``."""

    config_cls: ClassVar[type] = STACConfig

    def _actor_kwargs(self) -> dict[str, Any]:
        return {"dropout": self.config.dropout, "layer_norm": self.config.layer_norm}

    def _build_critic(self) -> None:
        c = self.config
        self.critic = GaussianCritic(self.obs_dim + self.act_dim, c.hidden, c.layers, c.dropout,
                                                c.layer_norm)
        self.critic_target = _copy_frozen(self.critic)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=c.lr)

    def _dist(self, net: nn.Module, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, std = net(torch.cat([obs, act], dim=-1))
        return mean, std

    def _target(self, batch: dict[str, torch.Tensor], next_act: torch.Tensor, next_log_prob: torch.Tensor,
                alpha: float) -> torch.Tensor:
        mean, std = self._dist(self.critic_target, batch["next_obs"], next_act)
        return pessimistic_target(batch["rew"], batch["done"], self.config.gamma, mean, std, self.config.beta,
                                  alpha, next_log_prob)

    def _critic_loss(self, obs: torch.Tensor, act: torch.Tensor, target: torch.Tensor
                     ) -> tuple[torch.Tensor, dict[str, float]]:
        mean, std = self._dist(self.critic, obs, act)
        return gaussian_nll(target, mean, std), {"q": float(mean.detach().mean()), "q_std": float(std.detach().mean())}

    def _actor_value(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        mean, std = self._dist(self.critic, obs, act)
        return mean - self.config.beta * std

    def _q_value_t(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return self._dist(self.critic, obs, act)[0]

    def _deterministic_action(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        k = int(self.config.eval_samples)
        a, _ = self.actor.sample(obs.repeat(k, 1), generator)
        return a.view(k, obs.shape[0], -1).mean(0)

    def q_std(self, obs: Any, actions: Any) -> Any:
        """The critic's σ(s, a) ``(B,)`` (dropout off)."""
        x, _ = self._obs_tensor(obs, "STAC.q_std")
        a = self._actions(actions, x.shape[0], "STAC.q_std")
        self.critic.eval()
        with torch.no_grad():
            std = self._dist(self.critic, x, torch.as_tensor(a, dtype=torch.float32))[1]
        self.critic.train()
        return std.numpy().astype(float)
