"""Optimistic Feasible Search (OFS): a grid bandit for thresholds under constraints.

Reference: Wenzhang Du (2025), "Optimistic Feasible Search for Closed-Loop Fair Threshold
Decision-Making", arXiv 2512.22313.

Each round, with confidence bounds from the shared grid core (`guardopt.bandits.grid`):

    F = {k : residual bound_j(k) <= 0 for every constraint j}
    if F is non-empty:  play argmax_{k in F} UCB_reward(k)           (largest optimistic reward)
    else:               play argmin_k  sum_j max(0, residual bound_j(k))   (smallest violation)

In the paper's (``"optimistic"``) mode the residual bound is the lower confidence bound: an arm is
kept while it *could* be feasible, which explores towards the feasibility boundary from both sides.
The ``"pessimistic"`` (safe) mode uses the upper bound instead: only arms feasible with high
confidence are exploited, for users who must not violate while learning. It pays for it in reward:
arms near the boundary are rarely certified (docs/bandits.md reports the trade-off).

Ties are broken by the smaller arm index, so runs are deterministic given the observations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from guardopt.bandits.grid import GridBandit, GridBanditOptimizer, GridConfig, GuardMode, order_by
from guardopt.core.errors import InputDataError, InvalidParameterError, check_choice
from guardopt.guards import feasible, optimistic
from guardopt.uncertainty import Estimate


@dataclass(frozen=True)
class OFSConfig(GridConfig):
    """OFS settings: the guard mode plus the grid core's bounds and warm-up (see `GridConfig`).

    Args:
        mode: ``"optimistic"`` (the paper's rule: feasible under the residuals' lower bounds) or
            ``"pessimistic"`` (safe: feasible under the upper bounds).
    """

    mode: GuardMode = "optimistic"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice(self.mode, "mode", "OFSConfig", ("optimistic", "pessimistic"))


def ofs_ranking(reward: Estimate, residuals: Estimate | Sequence[Estimate] | None,
                mode: GuardMode = "optimistic") -> np.ndarray:
    """Arms in OFS's order of preference: the first one is played.

    Plausibly feasible arms come first, by decreasing optimistic reward; then the other arms, by
    increasing optimistic (or, in pessimistic mode, pessimistic) violation
    ``sum_j max(0, bound_j)``. A NaN bound counts as infeasible and as an infinite violation (fail
    closed); a NaN reward bound counts as ``+inf`` (an unexplored arm is promising). Ties go to the
    smaller index.

    Args:
        reward: Estimate of each arm's reward, shape ``(K,)``.
        residuals: The constraints' estimates: one `Estimate` of shape ``(K, m)``, or a sequence of
            ``m`` estimates of shape ``(K,)``; None or empty for no constraints.
        mode: ``"optimistic"`` uses the residuals' lower bounds, ``"pessimistic"`` their upper bounds.

    Returns:
        A permutation of ``range(K)``.
    """
    check_choice(mode, "mode", "ofs_ranking", ("optimistic", "pessimistic"))
    ucb = np.asarray(optimistic(reward), dtype=float).reshape(-1)
    ucb = np.where(np.isnan(ucb), np.inf, ucb)
    k = ucb.size
    ests = [residuals] if isinstance(residuals, Estimate) else list(residuals or [])
    if not all(isinstance(e, Estimate) for e in ests):
        raise InvalidParameterError("residuals", "ofs_ranking", "an Estimate, a sequence of Estimates or None",
                                    residuals)
    if not ests or all(np.size(e.mean) == 0 for e in ests):
        return order_by(ucb)
    for e in ests:
        shape = np.shape(e.mean)
        if not shape or shape[0] != k:
            raise InputDataError(f"The 'residuals' argument of ofs_ranking must hold estimates of shape (K,) or "
                                 f"(K, m) with K={k} arms (the reward's). Got shape {shape} instead.")
    ok = np.asarray(feasible(ests, mode=mode), dtype=bool).reshape(k, -1).all(axis=1)
    side = [e.lower if mode == "optimistic" else e.upper for e in ests]
    bounds = np.concatenate([np.asarray(b, dtype=float).reshape(k, -1) for b in side], axis=1)  # (K, m)
    violation = np.where(np.isnan(bounds), np.inf, np.maximum(bounds, 0.0)).sum(axis=1)
    idx = np.arange(k)
    first = idx[ok][order_by(ucb[ok])]
    rest = idx[~ok][order_by(violation[~ok], descending=False)]
    return np.concatenate([first, rest])


def ofs_select(reward: Estimate, residuals: Estimate | Sequence[Estimate] | None,
               mode: GuardMode = "optimistic") -> int:
    """The arm OFS plays given the current bounds (first of `ofs_ranking`)."""
    return int(ofs_ranking(reward, residuals, mode)[0])


class OFSBandit(GridBandit):
    """OFS on a fixed grid of ``K`` arms with ``m`` constraints (array-level API).

    Example:
        >>> b = OFSBandit(n_arms=3, n_constraints=1, config=OFSConfig(warmup_passes=1))
        >>> for arm in range(3):
        ...     b.update(b.select(), reward=float(arm), residuals=[0.1 * arm - 0.15])
        >>> b.t
        3
    """

    config: OFSConfig
    config_type = OFSConfig

    def __init__(self, n_arms: int, n_constraints: int = 0, config: OFSConfig | None = None) -> None:
        super().__init__(n_arms, n_constraints, config if config is not None else OFSConfig())

    def _rule_ranking(self) -> np.ndarray:
        reward, residuals = self.estimates()
        return ofs_ranking(reward, residuals, self.config.mode)


class OFS(GridBanditOptimizer):
    """Optimistic Feasible Search as a guardopt `Optimizer` (runs in any `Study`).

    The study's objective is the reward (its direction is respected) and its declared constraints
    are the residuals. The space is discretized by `arms_from_space` (a one-parameter threshold
    space gives ``n_grid`` thresholds).

    Args:
        config: OFS settings (default: optimistic mode, Student-t radii, anytime level).
        n_grid: Grid points per real parameter.
        arms: Explicit candidate points instead of a grid.

    Example:
        >>> import guardopt as go
        >>> from guardopt.bandits.ofs import OFS
        >>> study = go.Study(go.Space({"threshold": go.Real(0.0, 1.0)}), direction="maximize",
        ...                  constraints={"gap": ("<=", 0.1)}, optimizer=OFS(n_grid=11))
        >>> study.optimize(lambda p: {"value": p["threshold"], "gap": p["threshold"] ** 2}, n_trials=60)
        >>> round(study.best(guard="pessimistic").params["threshold"], 1)
        0.3
    """

    def __init__(self, config: OFSConfig | None = None, n_grid: int = 21,
                 arms: Sequence[Mapping[str, Any]] | None = None) -> None:
        super().__init__(n_grid=n_grid, arms=arms)
        self.config = config if config is not None else OFSConfig()
        if not isinstance(self.config, OFSConfig):
            raise InvalidParameterError("config", "OFS", "an OFSConfig", config)

    def _make_learner(self, n_arms: int, n_constraints: int) -> GridBandit:
        return OFSBandit(n_arms, n_constraints, self.config)
