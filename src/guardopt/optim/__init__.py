"""Optimizers: Lion-K (numpy here; the torch optimizer is in `guardopt.optim.lion_k_torch`).

Importing this package never imports torch: ``LionKTorch`` is loaded on first attribute access.
"""

from typing import Any

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
    "KERNELS",
    "LionK",
    "LionKConfig",
    "LionKTorch",
    "constraint_norm",
    "grad_k",
    "project_ball",
    "projected_gradient_descent",
]


def __getattr__(name: str) -> Any:
    if name == "LionKTorch":
        from guardopt.optim.lion_k_torch import LionKTorch

        return LionKTorch
    raise AttributeError(f"module 'guardopt.optim' has no attribute {name!r}")
