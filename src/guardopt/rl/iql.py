"""IQL and IQL-Lag: implicit Q-learning (Kostrikov, Nair & Levine, ICLR 2022) and its Lagrangian
safe variant, the offline actor-critic baseline of safe offline RL.

IQL: V is the upper expectile (τ) of the twin target critics' minimum, Q regresses r + γ·V(s'),
and the policy is advantage-weighted regression with weights min(exp(β·(Q − V)), 100). The policy
is a deterministic tanh-MLP fitted by weighted squared error (AWR with a fixed-variance Gaussian),
which is what evaluation uses anyway (the mean action).

IQL-Lag adds a cost critic pair (Q_c, V_c, the same expectile regression on costs, so V_c is a
pessimistic in-support cost value) and weights the regression by the Lagrangian advantage
(A_r − λ·A_c) / (1 + λ). λ follows a PID Lagrangian (`guardopt.rl.lagrangian.PIDLagrangian`) on
the batch mean of Q_c(s, π(s)) against the per-step cost threshold κ(1 − γ^T)/((1 − γ)T), as
OSRL's Lagrangian baselines (BCQ-Lag) do. It stands in for the paper's BCQ-Lag (cheaper on CPU:
no generative model of the behaviour policy).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from guardopt.core.errors import check_in_range, check_int
from guardopt.rl.base import OfflineLearner, check_common, cost_threshold, soft_update
from guardopt.rl.data import episode_slices
from guardopt.rl.lagrangian import PIDLagrangian
from guardopt.rl.losses import expectile_loss, td_target
from guardopt.rl.nets import Ensemble, mlp

__all__ = ["IQL", "IQLConfig", "IQLLag", "IQLLagConfig"]


@dataclass(frozen=True)
class IQLConfig:
    """Config of `IQL` (reward only).

    Args:
        steps, batch_size, hidden, lr, gamma, tau: As in every learner.
        expectile: τ of the value regression (0.7 in the IQL paper's locomotion setting).
        temperature: β of the advantage weights.
    """

    steps: int = 2000
    batch_size: int = 256
    hidden: int = 128
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    expectile: float = 0.7
    temperature: float = 3.0

    def __post_init__(self) -> None:
        check_common(self, "IQLConfig")
        check_in_range(self.expectile, "expectile", "IQLConfig", 0.0, 1.0)
        check_in_range(self.temperature, "temperature", "IQLConfig", 0.0, 1e3, low_open=False)


@dataclass(frozen=True)
class IQLLagConfig:
    """Config of `IQLLag`: `IQLConfig`'s fields plus the constraint.

    Args:
        cost_limit: κ, the episode cost limit.
        horizon: Episode length T used to turn κ into a per-step threshold (0: from the data).
        kp, ki, kd: PID gains of the multiplier.
    """

    steps: int = 2000
    batch_size: int = 256
    hidden: int = 128
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    expectile: float = 0.7
    temperature: float = 3.0
    cost_limit: float = 10.0
    horizon: int = 0
    kp: float = 0.1
    ki: float = 0.01
    kd: float = 0.01

    def __post_init__(self) -> None:
        check_common(self, "IQLLagConfig")
        check_in_range(self.expectile, "expectile", "IQLLagConfig", 0.0, 1.0)
        check_in_range(self.temperature, "temperature", "IQLLagConfig", 0.0, 1e3, low_open=False)
        check_in_range(self.cost_limit, "cost_limit", "IQLLagConfig", 0.0, low_open=False)
        check_int(self.horizon, "horizon", "IQLLagConfig", low=0, high=10_000_000)
        for name in ("kp", "ki", "kd"):
            check_in_range(getattr(self, name), name, "IQLLagConfig", 0.0, 1e3, low_open=False)


class IQL(OfflineLearner):
    """Reward-only IQL: ``IQL(IQLConfig()).fit(data).act(obs)``."""

    config_cls: ClassVar[type] = IQLConfig
    config: Any
    use_cost: ClassVar[bool] = False

    def _prepare(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        slices = episode_slices(data)
        returns = np.array([data["rewards"][s].sum() for s in slices])
        self._horizon = max(s.stop - s.start for s in slices)
        spread = float(returns.max() - returns.min())
        self._reward_scale = self._horizon / spread if spread > 1e-9 else 1.0
        return data

    def _build(self, data: dict[str, Any]) -> None:
        c = self.config
        d = self.obs_dim + self.act_dim
        self.q = Ensemble(d, c.hidden)
        self.q_targ = copy.deepcopy(self.q)
        self.v = mlp(self.obs_dim, 1, c.hidden)
        self.policy = mlp(self.obs_dim, self.act_dim, c.hidden)
        params = [*self.q.parameters(), *self.v.parameters()]
        self.modules = {"q": self.q, "q_targ": self.q_targ, "v": self.v, "policy": self.policy}
        if self.use_cost:
            self.qc = Ensemble(d, c.hidden)
            self.qc_targ = copy.deepcopy(self.qc)
            self.vc = mlp(self.obs_dim, 1, c.hidden)
            params += [*self.qc.parameters(), *self.vc.parameters()]
            self.modules.update({"qc": self.qc, "qc_targ": self.qc_targ, "vc": self.vc})
            horizon = c.horizon or getattr(self, "_horizon", 1)
            self.threshold = cost_threshold(c.cost_limit, c.gamma, horizon)
            self.multiplier = PIDLagrangian(self.threshold, kp=c.kp, ki=c.ki, kd=c.kd)
        self.opt_c = torch.optim.Adam(params, lr=c.lr, foreach=True)
        self.opt_p = torch.optim.Adam(self.policy.parameters(), lr=c.lr, foreach=True)

    def _extra_state(self) -> dict[str, Any]:
        return {"reward_scale": getattr(self, "_reward_scale", 1.0), "horizon": getattr(self, "_horizon", 1)}

    def _load_extra(self, state: dict[str, Any]) -> None:
        self._reward_scale = float(state.get("reward_scale", 1.0))
        self._horizon = int(state.get("horizon", 1))

    def _critic(self, q: Ensemble, q_targ: Ensemble, v: torch.nn.Module, sa: torch.Tensor, s: torch.Tensor,
                s2: torch.Tensor, r: torch.Tensor, term: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        with torch.no_grad():
            q_t = q_targ(sa).min(0).values if q is self.q else q_targ(sa).max(0).values
            y = td_target(r, v(s2).squeeze(-1), term, c.gamma)
        vs = v(s).squeeze(-1)
        # Reward: upper expectile of min Q; cost: upper expectile of max Q (pessimistic both ways).
        loss = expectile_loss(q_t - vs, c.expectile) + (q(sa) - y).pow(2).mean()
        return loss, (q_t - vs).detach()

    def _update(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        c = self.config
        s, a, s2, term = batch["observations"], batch["actions"], batch["next_observations"], batch["terminals"]
        sa = torch.cat([s, a], -1)
        loss, adv = self._critic(self.q, self.q_targ, self.v, sa, s, s2, batch["rewards"] * self._reward_scale, term)
        info: dict[str, float] = {}
        if self.use_cost:
            loss_c, adv_c = self._critic(self.qc, self.qc_targ, self.vc, sa, s, s2, batch["costs"], term)
            loss = loss + loss_c
            lam = self.multiplier.value
            adv = (adv - lam * adv_c) / (1.0 + lam)
        self.opt_c.zero_grad()
        loss.backward()
        self.opt_c.step()
        soft_update(self.q_targ, self.q, c.tau)
        w = torch.clamp(torch.exp(c.temperature * adv), max=100.0)
        pi = torch.tanh(self.policy(s))
        loss_p = (w * (pi - a).pow(2).sum(-1)).mean()
        self.opt_p.zero_grad()
        loss_p.backward()
        self.opt_p.step()
        if self.use_cost:
            soft_update(self.qc_targ, self.qc, c.tau)
            with torch.no_grad():
                jc = float(self.qc(torch.cat([s, pi.detach()], -1)).max(0).values.mean())
            info.update({"lambda": self.multiplier.update(jc), "qc_policy": jc})
        info.update({"critic_loss": float(loss.detach()), "policy_loss": float(loss_p.detach())})
        return info

    def _act(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return torch.tanh(self.policy(obs))


class IQLLag(IQL):
    """IQL with a cost critic and a PID-Lagrangian advantage: ``IQLLag(IQLLagConfig(cost_limit=5))``."""

    config_cls: ClassVar[type] = IQLLagConfig
    use_cost: ClassVar[bool] = True
