"""Layer 4: bandits — grid bandits with optimistic / pessimistic guards (OFS and its baselines).

Other bandit modules (`guardopt.bandits.tsallis`, `chebcb`, `solver_tuner`, `streaming`) are
imported from their full paths.
"""

from guardopt.bandits.baselines import (
    UCB,
    PrimalDual,
    PrimalDualBandit,
    PrimalDualConfig,
    UCBBandit,
    UCBConfig,
    best_feasible_arm,
)
from guardopt.bandits.grid import GridBandit, GridBanditOptimizer, GridConfig, arms_from_space
from guardopt.bandits.ofs import OFS, OFSBandit, OFSConfig, ofs_ranking, ofs_select

__all__ = [
    "OFS",
    "UCB",
    "GridBandit",
    "GridBanditOptimizer",
    "GridConfig",
    "OFSBandit",
    "OFSConfig",
    "PrimalDual",
    "PrimalDualBandit",
    "PrimalDualConfig",
    "UCBBandit",
    "UCBConfig",
    "arms_from_space",
    "best_feasible_arm",
    "ofs_ranking",
    "ofs_select",
]
