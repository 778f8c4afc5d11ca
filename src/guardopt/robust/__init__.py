"""Two-stage robust optimization with a learned value function: Neur2RO (Dumouchelle et al., ICLR 2024).

Neur2RO solves ``min_x max_{ξ ∈ Ξ} c·x + Q(x, ξ)`` (binary ``x``, a second stage ``Q`` that is itself
an optimization problem) by column-and-constraint generation in which ``Q`` is replaced by a trained
set-encoder network: the master is a MILP with the network embedded, the adversary a projected
gradient ascent on the network. The guard is the worst case over the uncertainty set; the estimate
is the learned second-stage value.

- `SetEncoderConfig`, `AdversaryConfig`, `MLCCGConfig`: the frozen configurations.
- `make_value_dataset`, `train_value_network`, `SetEncoder`: data and the value network (torch).
- `solve_master`, `NetworkWeights`, `predict`: the big-M MILP encoding (numpy + scipy's HiGHS).
- `pga_worst_case`: the adversary (torch). `ml_ccg`: the loop (torch).
- `nominal_solution`, `scenario_solution`: baselines for enumerable problems.
- `TwoStageProblem`, `EnumerableProblem`, `project_budgeted_box`, `sample_budgeted_box`.

Problems: `guardopt.problems.knapsack` (two-stage robust knapsack with an exact evaluator).

torch is needed for the network parts (``pip install guardopt[torch]``). Importing this package does
not import torch: names load on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES: dict[str, str] = {
    "AdversaryConfig": "config",
    "MLCCGConfig": "config",
    "SetEncoderConfig": "config",
    "EnumerableProblem": "problem",
    "TwoStageProblem": "problem",
    "check_problem": "problem",
    "project_budgeted_box": "problem",
    "sample_budgeted_box": "problem",
    "ValueDataset": "data",
    "make_value_dataset": "data",
    "Layer": "milp_encoding",
    "MasterSolution": "milp_encoding",
    "NetworkWeights": "milp_encoding",
    "embedding": "milp_encoding",
    "predict": "milp_encoding",
    "solve_master": "milp_encoding",
    "BaselineSolution": "baselines",
    "nominal_solution": "baselines",
    "scenario_solution": "baselines",
    # torch
    "SetEncoder": "set_encoder",
    "TrainedValueNetwork": "set_encoder",
    "train_value_network": "set_encoder",
    "AdversaryResult": "adversary",
    "pga_worst_case": "adversary",
    "MLCCGResult": "ccg",
    "ml_ccg": "ccg",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
