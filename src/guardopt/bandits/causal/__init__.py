"""Causal bandits on linear structural equation models: CSL-UCB and its baselines.

Peng, Zhang & Mitra, "Asymmetric Graph Error Control with Low Complexity in Causal Bandits"
(arXiv 2408.11240; IEEE TSP 73, 2025):

* `CSLUCB` / `CSLUCBConfig` / `CSLUCBOptimizer` — the bandit (`csl_ucb`);
* `learn_subgraph`, `repair_to_dag`, `fit_weights` — sub-graph learning with asymmetric error
  control (`structure`; networkx is imported inside the functions);
* `ksg_mutual_information` — the kNN mutual-information estimator (`mutual_information`);
* `change_statistic` — the likelihood-ratio change statistic (`change`);
* `VanillaUCB`, `LinSEMTS`, `FullGraphETC` — the baselines (`baselines`).
"""

from guardopt.bandits.causal.baselines import FullGraphETC, LinSEMTS, VanillaUCB
from guardopt.bandits.causal.change import change_statistic
from guardopt.bandits.causal.csl_ucb import CSLUCB, CSLUCBConfig, CSLUCBOptimizer, ucb_widths, width_terms
from guardopt.bandits.causal.mutual_information import ksg_mutual_information
from guardopt.bandits.causal.sem import action_bits, action_weights, sem_means
from guardopt.bandits.causal.structure import (
    Subgraph,
    edge_scores,
    equal_variance_dag,
    fit_weights,
    is_dag,
    learn_subgraph,
    repair_to_dag,
    window_rows,
)

__all__ = [
    "CSLUCB",
    "CSLUCBConfig",
    "CSLUCBOptimizer",
    "FullGraphETC",
    "LinSEMTS",
    "Subgraph",
    "VanillaUCB",
    "action_bits",
    "action_weights",
    "change_statistic",
    "edge_scores",
    "equal_variance_dag",
    "fit_weights",
    "is_dag",
    "ksg_mutual_information",
    "learn_subgraph",
    "repair_to_dag",
    "sem_means",
    "ucb_widths",
    "width_terms",
    "window_rows",
]
