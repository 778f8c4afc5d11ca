"""Lion-K as a `torch.optim.Optimizer` (import this module only where torch is installed).

Same update as `guardopt.optim.lion_k.LionK` (Chen et al., ICLR 2024, arXiv 2310.05898), applied
per parameter tensor: ``∇K`` acts on each tensor as a whole, so with ``kernel="l2"`` every tensor
is kept inside its own ℓ2 (Frobenius) ball of radius ``1/λ``; with ``"l1"`` (Lion) every entry
satisfies ``|w| ≤ 1/λ``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from guardopt.core.errors import InputDataError, InvalidParameterError, check_choice, check_in_range

__all__ = ["LionKTorch", "torch_grad_k"]

_KERNELS = ("l1", "l2", "linf", "quadratic")


def torch_grad_k(kernel: str, c: torch.Tensor) -> torch.Tensor:
    """``∇K(c)`` for ``"l1"`` (sign), ``"l2"`` (c/‖c‖), ``"linf"`` or ``"quadratic"`` (identity)."""
    if kernel == "l1":
        return torch.sign(c)
    if kernel == "l2":
        norm = torch.linalg.vector_norm(c)
        return torch.zeros_like(c) if float(norm) == 0.0 else c / norm
    if kernel == "linf":
        out = torch.zeros_like(c)
        flat = c.reshape(-1)
        if flat.numel():
            i = int(torch.argmax(flat.abs()))
            out.view(-1)[i] = torch.sign(flat[i])
        return out
    if kernel == "quadratic":
        return c.clone()
    check_choice(kernel, "kernel", "torch_grad_k", _KERNELS)  # raises: an unknown name is not "quadratic"
    raise AssertionError("unreachable")  # pragma: no cover


class LionKTorch(torch.optim.Optimizer):
    """Lion-K with decoupled weight decay; ``kernel="l1"`` is Lion.

    Args:
        params: Parameters or parameter groups.
        lr: Step size.
        betas: ``(β1, β2)``.
        weight_decay: λ; the constraint radius is ``1/λ``.
        kernel: ``"l1"``, ``"l2"``, ``"linf"``, ``"quadratic"``, or a callable ``∇K`` on a tensor.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0,
                 kernel: str | Callable[[torch.Tensor], torch.Tensor] = "l1") -> None:
        _check_hyperparameters({"lr": lr, "betas": betas, "weight_decay": weight_decay, "kernel": kernel})
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay, "kernel": kernel})

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group; its own ``lr``, ``betas``, ``weight_decay`` and ``kernel`` are checked too."""
        if isinstance(param_group, dict):
            _check_hyperparameters({**self.defaults, **param_group})
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One Lion-K update of every parameter that has a gradient.

        Raises `InputDataError`, before changing any parameter or momentum, when a gradient has NaN or
        infinite entries (``sign`` would map a NaN to 0 and the momentum would stay NaN for good).
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        if not all(bool(torch.isfinite(g).all()) for g in grads):  # per tensor: they may sit on several devices
            raise InputDataError("LionKTorch: a gradient is not finite (NaN or infinity); no step was taken.")
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, wd, kernel = group["lr"], group["weight_decay"], group["kernel"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                blend = beta1 * m + (1.0 - beta1) * p.grad
                direction = kernel(blend) if callable(kernel) else torch_grad_k(kernel, blend)
                # Decoupled weight decay uses x_t (explicit form), as in the numpy version.
                p.add_(direction + wd * p, alpha=-lr)
                m.mul_(beta2).add_(p.grad, alpha=1.0 - beta2)
        return loss


def _check_hyperparameters(group: dict[str, Any]) -> None:
    owner = "LionKTorch"
    check_in_range(group["lr"], "lr", owner, 0.0)
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise InvalidParameterError("betas", owner, "a pair (beta1, beta2)", betas)
    check_in_range(betas[0], "betas[0]", owner, 0.0, 1.0, low_open=False)
    check_in_range(betas[1], "betas[1]", owner, 0.0, 1.0, low_open=False)
    check_in_range(group["weight_decay"], "weight_decay", owner, 0.0, low_open=False)
    if not callable(group["kernel"]):
        check_choice(group["kernel"], "kernel", owner, _KERNELS)
