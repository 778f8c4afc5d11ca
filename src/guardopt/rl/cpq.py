"""CPQ: Constraints Penalized Q-learning (Xu, Zhan & Zhu, AAAI 2022), a baseline of the FISOR paper.

The cost critic is made conservative on out-of-distribution actions: besides its TD loss it
*raises* Q_c on actions from the current policy plus uniform random actions and lowers it on the
data's actions (weight ``alpha``), so unfamiliar actions look unsafe. The reward critic's target
bootstraps only through next actions the cost critic deems safe, Q_r ← r + γ·1[Q_c(s', a') ≤ l]·Q_r(s', a'),
and the actor maximizes 1[Q_c(s, π(s)) ≤ l]·Q_r(s, π(s)), with l = κ(1 − γ^T)/((1 − γ)T).

Deviations from OSRL's ``cpq.py`` (read for reference, not copied): a deterministic actor with
target-policy smoothing instead of the SAC actor, and the OOD actions are the policy's and uniform
ones rather than a VAE's low-density samples (no VAE to train); ``alpha`` is fixed (tuned in the
reproduction) instead of adapted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from guardopt.core.errors import check_in_range, check_int
from guardopt.rl.base import OfflineLearner, check_common, cost_threshold, soft_update
from guardopt.rl.data import episode_slices
from guardopt.rl.losses import td_target
from guardopt.rl.nets import Ensemble, mlp

__all__ = ["CPQ", "CPQConfig"]


@dataclass(frozen=True)
class CPQConfig:
    """Config of `CPQ`.

    Args:
        steps, batch_size, hidden, lr, gamma, tau: As in every learner.
        cost_limit: κ, the episode cost limit.
        horizon: Episode length T for the threshold (0: from the data).
        alpha: Weight of the conservative term of the cost critic.
        policy_noise: Std of the target-policy smoothing noise.
    """

    steps: int = 2000
    batch_size: int = 256
    hidden: int = 128
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    cost_limit: float = 10.0
    horizon: int = 0
    alpha: float = 1.0
    policy_noise: float = 0.2

    def __post_init__(self) -> None:
        check_common(self, "CPQConfig")
        check_in_range(self.cost_limit, "cost_limit", "CPQConfig", 0.0, low_open=False)
        check_int(self.horizon, "horizon", "CPQConfig", low=0, high=10_000_000)
        check_in_range(self.alpha, "alpha", "CPQConfig", 0.0, 1e4, low_open=False)
        check_in_range(self.policy_noise, "policy_noise", "CPQConfig", 0.0, 10.0, low_open=False)


class CPQ(OfflineLearner):
    """CPQ: ``CPQ(CPQConfig(cost_limit=5)).fit(data).act(obs)``."""

    config_cls = CPQConfig
    config: CPQConfig

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
        self.qr, self.qc = Ensemble(d, c.hidden), Ensemble(d, c.hidden)
        self.qr_targ, self.qc_targ = copy.deepcopy(self.qr), copy.deepcopy(self.qc)
        self.actor = mlp(self.obs_dim, self.act_dim, c.hidden)
        self.actor_targ = copy.deepcopy(self.actor)
        self.threshold = cost_threshold(c.cost_limit, c.gamma, c.horizon or getattr(self, "_horizon", 1))
        self.opt_c = torch.optim.Adam([*self.qr.parameters(), *self.qc.parameters()], lr=c.lr, foreach=True)
        self.opt_a = torch.optim.Adam(self.actor.parameters(), lr=c.lr, foreach=True)
        self.modules = {"qr": self.qr, "qc": self.qc, "qr_targ": self.qr_targ, "qc_targ": self.qc_targ,
                        "actor": self.actor, "actor_targ": self.actor_targ}

    def _extra_state(self) -> dict[str, Any]:
        return {"reward_scale": getattr(self, "_reward_scale", 1.0), "horizon": getattr(self, "_horizon", 1)}

    def _load_extra(self, state: dict[str, Any]) -> None:
        self._reward_scale = float(state.get("reward_scale", 1.0))
        self._horizon = int(state.get("horizon", 1))

    def _update(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        c = self.config
        s, a, s2, term = batch["observations"], batch["actions"], batch["next_observations"], batch["terminals"]
        r = batch["rewards"] * self._reward_scale
        sa = torch.cat([s, a], -1)
        with torch.no_grad():
            a2 = torch.tanh(self.actor_targ(s2))
            a2 = (a2 + c.policy_noise * torch.randn_like(a2)).clamp(-1, 1)
            s2a2 = torch.cat([s2, a2], -1)
            qc2 = self.qc_targ(s2a2).max(0).values
            safe = (qc2 <= self.threshold).float()
            y_r = td_target(r, safe * self.qr_targ(s2a2).min(0).values, term, c.gamma)
            y_c = td_target(batch["costs"], qc2, term, c.gamma)
            a_pi = torch.tanh(self.actor(s))
            a_ood = torch.cat([a_pi, torch.rand_like(a) * 2 - 1])
            s_ood = torch.cat([s, s])
        qc_ood = self.qc(torch.cat([s_ood, a_ood], -1))
        qc_data = self.qc(sa)
        loss = (self.qr(sa) - y_r).pow(2).mean() + (qc_data - y_c).pow(2).mean()
        # Raise Q_c on OOD actions only up to twice the threshold (a bounded version of CPQ's adapted
        # multiplier: the linear term would otherwise grow Q_c without limit).
        loss = loss + c.alpha * (qc_data.mean() - torch.clamp(qc_ood, max=2.0 * self.threshold).mean())
        self.opt_c.zero_grad()
        loss.backward()
        self.opt_c.step()
        pi = torch.tanh(self.actor(s))
        spi = torch.cat([s, pi], -1)
        mask = (self.qc(spi).max(0).values <= self.threshold).float().detach()
        loss_a = -(mask * self.qr(spi).min(0).values).mean()
        self.opt_a.zero_grad()
        loss_a.backward()
        self.opt_a.step()
        for t, m in ((self.qr_targ, self.qr), (self.qc_targ, self.qc), (self.actor_targ, self.actor)):
            soft_update(t, m, c.tau)
        return {"critic_loss": float(loss.detach()), "actor_loss": float(loss_a.detach()),
                "safe_share": float(mask.mean())}

    def _act(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return torch.tanh(self.actor(obs))
