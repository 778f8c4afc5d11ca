"""guardopt.bo: Bayesian optimization with a lean numpy Gaussian process.

`GPOptimizer` is an `Optimizer` that any `Study` runs: Matérn-5/2 ARD GP with MAP hyperparameters,
acquisitions EI (log EI), UCB, noisy EI and knowledge gradient (Frazier 2018), max-value entropy
search, q-batches by fantasies, outcome constraints (EI x P(feasible)) with a fail-closed guarded
recommendation, and cost-aware multi-fidelity KG. See docs/bo.md.

`MultiObjectiveGP` optimizes several objectives (expected hypervolume improvement or ParEGO) for a
``Study(directions=[...])``. See docs/multiobjective.md.
"""

from guardopt.bo.gp import GaussianProcess, GPPrior
from guardopt.bo.multiobjective import MOGPConfig, MultiObjectiveGP
from guardopt.bo.optimizer import ACQUISITIONS, GPConfig, GPOptimizer

__all__ = ["ACQUISITIONS", "GPConfig", "GPOptimizer", "GPPrior", "GaussianProcess"]
__all__ += ["MOGPConfig", "MultiObjectiveGP"]
