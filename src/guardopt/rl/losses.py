"""Loss functions and targets shared by the offline safe-RL learners (pure functions of tensors).

* `expectile_loss`: the asymmetric squared loss of IQL (Kostrikov, Nair & Levine, ICLR 2022),
  |τ − 1[u < 0]|·u² with u = target − prediction. τ > 0.5 is the *upper* expectile (the value
  tracks the best in-support actions); `lower_expectile_loss` is the same with τ ↔ 1 − τ, which
  FISOR uses for the reachability value V_h so that it tracks the *smallest* constraint value
  over in-support actions, i.e. the largest feasible region (Zheng et al., ICLR 2024, eq. 8).
* `reachability_target`: FISOR's discounted Hamilton–Jacobi target
  Q_h(s, a) ← (1 − γ)·h(s) + γ·max(h(s), V_h(s')), and h(s) at terminal steps.
* `fisor_weights`: FISOR's feasibility-dependent weights of the diffusion behaviour cloning
  (reward advantage inside the feasible region, cost advantage outside).
"""

from __future__ import annotations

import torch

__all__ = ["expectile_loss", "fisor_weights", "lower_expectile_loss", "reachability_target", "td_target"]


def expectile_loss(diff: torch.Tensor, tau: float) -> torch.Tensor:
    """Mean of |τ − 1[diff < 0]|·diff² over all entries; ``diff = target − prediction``, any shape."""
    weight = torch.where(diff > 0, torch.full_like(diff, tau), torch.full_like(diff, 1.0 - tau))
    return (weight * diff.pow(2)).mean()


def lower_expectile_loss(diff: torch.Tensor, tau: float) -> torch.Tensor:
    """The lower expectile: weight τ where the target is *below* the prediction (``diff < 0``)."""
    return expectile_loss(diff, 1.0 - tau)


def td_target(reward: torch.Tensor, next_value: torch.Tensor, terminal: torch.Tensor, gamma: float) -> torch.Tensor:
    """r + γ·(1 − terminal)·V(s'), shapes ``(B,)``."""
    return reward + gamma * (1.0 - terminal.float()) * next_value


def reachability_target(h: torch.Tensor, next_value_h: torch.Tensor, terminal: torch.Tensor,
                        gamma: float) -> torch.Tensor:
    """(1 − γ)·h + γ·max(h, V_h(s')) for non-terminal steps and h at terminal ones; shapes ``(B,)``."""
    non_terminal = (1.0 - gamma) * h + gamma * torch.maximum(h, next_value_h)
    return torch.where(terminal.bool(), h, non_terminal)


def fisor_weights(q_r: torch.Tensor, v_r: torch.Tensor, q_h: torch.Tensor, v_h: torch.Tensor,
                  reward_temperature: float, cost_temperature: float, reward_clip: float = 100.0,
                  cost_clip: float = 150.0, feasibility: bool = True) -> torch.Tensor:
    """FISOR's weights ``(B,)`` of the weighted behaviour cloning.

    w = 1[V_h ≤ 0 ∧ Q_h ≤ 0]·min(exp(α_r(Q − V)), 100) + 1[V_h > 0]·min(exp(α_c(V_h − Q_h)), 150).
    A feasible state with an action that leaves the feasible set gets weight 0; in an infeasible
    state the actions that reduce the violation most are preferred. With ``feasibility=False``
    (the ablation) the weight is the reward term min(exp(α_r(Q − V)), 100) everywhere.
    """
    w_r = torch.clamp(torch.exp(reward_temperature * (q_r - v_r)), max=reward_clip)
    if not feasibility:
        return w_r
    w_c = torch.clamp(torch.exp(cost_temperature * (v_h - q_h)), max=cost_clip)
    feasible = (v_h <= 0) & (q_h <= 0)
    return torch.where(feasible, w_r, torch.zeros_like(w_r)) + torch.where(v_h > 0, w_c, torch.zeros_like(w_c))
