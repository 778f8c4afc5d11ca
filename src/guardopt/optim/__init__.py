"""Optimizers: Lion-K (numpy here; the torch optimizer is in `guardopt.optim.lion_k_torch`), and
first-order penalty methods for bilevel problems (`guardopt.optim.bilevel`).

Importing this package never imports torch: ``LionKTorch`` is loaded on first attribute access.
"""

from typing import Any

from guardopt.optim.bilevel import (
    Ball,
    BilevelFunctions,
    BilevelProblem,
    BilevelResult,
    Box,
    DoubleLoopConfig,
    PenaltyEstimate,
    Projection,
    SingleLoopConfig,
    double_loop,
    penalty_estimate,
    penalty_gradient,
    single_loop,
    solve_lower_level,
)
from guardopt.optim.lion_k import (
    KERNELS,
    LionK,
    LionKConfig,
    constraint_norm,
    grad_k,
    project_ball,
    projected_gradient_descent,
)

__all__ = [
    "GLAD",
    "KERNELS",
    "Ball",
    "BilevelFunctions",
    "BilevelProblem",
    "BilevelResult",
    "Box",
    "DoubleLoopConfig",
    "GLADConfig",
    "LionK",
    "LionKConfig",
    "LionKTorch",
    "PenaltyEstimate",
    "Projection",
    "SingleLoopConfig",
    "constraint_norm",
    "double_loop",
    "glad_gradient",
    "grad_k",
    "penalty_estimate",
    "penalty_gradient",
    "project_ball",
    "projected_gradient_descent",
    "single_loop",
    "solve_lower_level",
]


def __getattr__(name: str) -> Any:
    if name == "LionKTorch":
        from guardopt.optim.lion_k_torch import LionKTorch

        return LionKTorch
    if name in ("GLAD", "GLADConfig", "glad_gradient"):
        from guardopt.optim import glad

        return getattr(glad, name)
    raise AttributeError(f"module 'guardopt.optim' has no attribute {name!r}")
