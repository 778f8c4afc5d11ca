"""Layer 4: bandits — learners that pick one arm (a grid point, a solver setting, a stream arm) per round.

* Grid bandits with optimistic / pessimistic guards: `OFS` (Optimistic Feasible Search) and its
  baselines `UCB` and `PrimalDual` (`guardopt.bandits.grid`, `ofs`, `baselines`).
* Learning to Relax: the contextual solver tuner `SolverTuner` and its learners `TsallisINF` and
  `ChebCB` (`guardopt.bandits.solver_tuner`, `tsallis`, `chebcb`).
* Streaming best-arm identification with bounded memory: `TowerEpsBest`, `GameOfArms` and their
  baselines, run by `simulate` (`guardopt.bandits.streaming`).
* Causal bandits on linear SEMs: `CSLUCB` (sub-graph learning, tailored UCB, change detection) and
  its baselines (`guardopt.bandits.causal`).
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
from guardopt.bandits.causal import CSLUCB, CSLUCBConfig, CSLUCBOptimizer
from guardopt.bandits.chebcb import ChebCB, ChebCBConfig, chebyshev_features
from guardopt.bandits.grid import GridBandit, GridBanditOptimizer, GridConfig, arms_from_space
from guardopt.bandits.ofs import OFS, OFSBandit, OFSConfig, ofs_ranking, ofs_select
from guardopt.bandits.solver_tuner import SolverTuner, SolverTunerConfig, SolverTunerOptimizer
from guardopt.bandits.streaming import (
    ArmHandle,
    ArmStream,
    GameOfArms,
    NaiveEpsBest,
    StreamingAlgorithm,
    StreamMemoryError,
    StreamResult,
    TowerEpsBest,
    UniformExploration,
    epsilon_for,
    simulate,
)
from guardopt.bandits.tsallis import TsallisINF, TsallisINFConfig, tsallis_inf_probabilities

__all__ = [
    "CSLUCB",
    "OFS",
    "UCB",
    "ArmHandle",
    "ArmStream",
    "CSLUCBConfig",
    "CSLUCBOptimizer",
    "ChebCB",
    "ChebCBConfig",
    "GameOfArms",
    "GridBandit",
    "GridBanditOptimizer",
    "GridConfig",
    "NaiveEpsBest",
    "OFSBandit",
    "OFSConfig",
    "PrimalDual",
    "PrimalDualBandit",
    "PrimalDualConfig",
    "SolverTuner",
    "SolverTunerConfig",
    "SolverTunerOptimizer",
    "StreamMemoryError",
    "StreamResult",
    "StreamingAlgorithm",
    "TowerEpsBest",
    "TsallisINF",
    "TsallisINFConfig",
    "UCBBandit",
    "UCBConfig",
    "UniformExploration",
    "arms_from_space",
    "best_feasible_arm",
    "chebyshev_features",
    "epsilon_for",
    "ofs_ranking",
    "ofs_select",
    "simulate",
    "tsallis_inf_probabilities",
]
