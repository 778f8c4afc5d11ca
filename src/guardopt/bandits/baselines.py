"""Baselines of the OFS paper: unconstrained UCB, a primal-dual (Lagrangian) bandit, and the oracle.

Reference: Du (2025), arXiv 2512.22313, which compares OFS with "unconstrained and primal–dual
bandit baselines" and with "the best feasible fixed threshold under the same sweep procedure".
The paper's exact baseline settings were not available to us; these are the textbook forms on the
shared grid core, with the same confidence radii as OFS:

* `UCBBandit`: ``argmax_k UCB_reward(k)``, ignoring the constraints.
* `PrimalDualBandit`: ``argmax_k UCB_reward(k) - sum_j λ_j LCB_residual_j(k)`` (optimistic in both
  the reward and the residuals), followed by projected dual ascent on the observed residuals,
  ``λ_j <- clip(λ_j + η g_j, 0, λ_max)``.
* `best_feasible_arm`: the oracle's choice from a sweep of every fixed arm.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from guardopt.bandits.grid import GridBandit, GridBanditOptimizer, GridConfig, order_by
from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_in_range
from guardopt.guards import optimistic


@dataclass(frozen=True)
class UCBConfig(GridConfig):
    """Unconstrained UCB: the grid core's settings only (see `GridConfig`)."""


class UCBBandit(GridBandit):
    """Upper-confidence-bound bandit on the reward only; residuals are recorded but ignored."""

    def __init__(self, n_arms: int, n_constraints: int = 0, config: UCBConfig | None = None) -> None:
        super().__init__(n_arms, n_constraints, config if config is not None else UCBConfig())

    def _rule_ranking(self) -> np.ndarray:
        reward, _ = self.estimates()
        ucb = np.asarray(optimistic(reward), dtype=float)
        return order_by(np.where(np.isnan(ucb), np.inf, ucb))


@dataclass(frozen=True)
class PrimalDualConfig(GridConfig):
    """Primal-dual (Lagrangian) bandit settings.

    Args:
        dual_step: Dual step size ``η`` (per unit of residual).
        dual_max: Cap ``λ_max`` on each multiplier (keeps the Lagrangian bounded).
        dual_init: Initial multiplier.
    """

    dual_step: float = 1.0
    dual_max: float = 100.0
    dual_init: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_in_range(self.dual_step, "dual_step", "PrimalDualConfig", 0.0, math.inf)
        check_in_range(self.dual_max, "dual_max", "PrimalDualConfig", 0.0, math.inf)
        check_in_range(self.dual_init, "dual_init", "PrimalDualConfig", 0.0, self.dual_max,
                       low_open=False, high_open=False)


class PrimalDualBandit(GridBandit):
    """Lagrangian bandit: optimistic primal choice, projected dual ascent on observed residuals."""

    config: PrimalDualConfig
    config_type = PrimalDualConfig

    def __init__(self, n_arms: int, n_constraints: int = 0, config: PrimalDualConfig | None = None) -> None:
        super().__init__(n_arms, n_constraints, config if config is not None else PrimalDualConfig())
        self.dual = np.full(self.n_constraints, self.config.dual_init)

    def lagrangian(self) -> np.ndarray:
        """Optimistic Lagrangian of every arm, shape ``(K,)`` (+inf for unexplored arms)."""
        reward, residuals = self.estimates()
        ucb = np.asarray(optimistic(reward), dtype=float)
        ucb = np.where(np.isnan(ucb), np.inf, ucb)
        if not self.n_constraints:
            return ucb
        lcb = np.asarray(residuals.lower, dtype=float)  # (K, m)
        # An unexplored arm has LCB -inf and UCB +inf; counting its penalty as 0 avoids 0·inf = NaN.
        penalty = np.where(np.isfinite(lcb), lcb, 0.0) @ self.dual
        return ucb - penalty

    def _rule_ranking(self) -> np.ndarray:
        return order_by(self.lagrangian())

    def _after_update(self, arm: int, reward: float, residuals: np.ndarray) -> None:
        cfg = self.config
        self.dual = np.clip(self.dual + cfg.dual_step * residuals, 0.0, cfg.dual_max)


class UCB(GridBanditOptimizer):
    """Unconstrained UCB as a guardopt `Optimizer` (ignores the study's constraints when choosing)."""

    def __init__(self, config: UCBConfig | None = None, n_grid: int = 21,
                 arms: Sequence[Mapping[str, Any]] | None = None) -> None:
        super().__init__(n_grid=n_grid, arms=arms)
        self.config = config if config is not None else UCBConfig()
        if not isinstance(self.config, GridConfig):
            raise InvalidParameterError("config", "UCB", "a GridConfig", config)

    def _make_learner(self, n_arms: int, n_constraints: int) -> GridBandit:
        return UCBBandit(n_arms, n_constraints, self.config)


class PrimalDual(GridBanditOptimizer):
    """The primal-dual (Lagrangian) bandit as a guardopt `Optimizer`."""

    def __init__(self, config: PrimalDualConfig | None = None, n_grid: int = 21,
                 arms: Sequence[Mapping[str, Any]] | None = None) -> None:
        super().__init__(n_grid=n_grid, arms=arms)
        self.config = config if config is not None else PrimalDualConfig()
        if not isinstance(self.config, PrimalDualConfig):
            raise InvalidParameterError("config", "PrimalDual", "a PrimalDualConfig", config)

    def _make_learner(self, n_arms: int, n_constraints: int) -> GridBandit:
        return PrimalDualBandit(n_arms, n_constraints, self.config)


def best_feasible_arm(reward: Any, residuals: Any, margin: float = 0.0) -> int | None:
    """The oracle's fixed arm: the largest reward among arms whose residuals are all ``<= -margin``.

    Args:
        reward: Each arm's (steady-state) reward, shape ``(K,)``.
        residuals: Each arm's residuals, shape ``(K, m)`` (``m`` may be 0). NaN is infeasible.
        margin: Required slack (0: plain feasibility).

    Returns:
        The arm index (ties: the smaller index), or None when no arm is feasible.
    """
    r = as_float_array(reward, "reward", "best_feasible_arm").reshape(-1)
    g = as_float_array(residuals, "residuals", "best_feasible_arm")
    margin = check_in_range(margin, "margin", "best_feasible_arm", low_open=False, high_open=False)
    if r.size == 0:
        raise InputDataError("The 'reward' argument of best_feasible_arm needs at least one arm.")
    if g.ndim == 1 and g.size % r.size == 0:
        g = g.reshape(r.size, -1)
    if g.ndim != 2 or g.shape[0] != r.size:
        raise InputDataError(f"The 'residuals' argument of best_feasible_arm must have shape (K, m) with K={r.size}. "
                             f"Got {g.shape}.")
    with np.errstate(invalid="ignore"):
        ok = np.all(g <= -margin, axis=1) & ~np.isnan(r)
    if not ok.any():
        return None
    # Rank the feasible arms only: masking the others with -inf would tie them with a feasible arm
    # whose reward is -inf, and the tie goes to the smaller (infeasible) index.
    feasible = np.flatnonzero(ok)
    return int(feasible[order_by(r[feasible])[0]])
