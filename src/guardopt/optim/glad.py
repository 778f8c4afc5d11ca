"""GLAD's regularized gradient as a wrapper around any torch optimizer (import only where torch is installed).

Paper: Peng, Wang, Liu & Chen, "GLAD: Generalizable Tuning for Vision-Language Models", ICCV 2025
workshops, arXiv 2507.13089. GLAD is LoRA tuning of CLIP plus "a gradient-based regularization
technique" that "steers the optimization trajectory" towards "a more stable parameter region that is
robust to variations in data distribution" (abstract); the caption of the paper's first figure says
the gradient computed by Sharpness-Aware Minimization (SAM, Foret et al., ICLR 2021) is used "as a
reference signal to steer the original gradient". The authors' code is not released.

**The form implemented here** (per step, on one mini-batch, with ``L`` the loss and ``θ`` every
parameter the base optimizer holds)::

    g      = ∇L(θ)
    ε      = ρ · g / ‖g‖₂                 (‖·‖ over all parameters together, as in SAM)
    g_SAM  = ∇L(θ + ε)
    g̃      = g + γ · (g_SAM − g)          (written into ``.grad``; the base optimizer then steps)

*From the paper's text:* the two gradients (the original one and SAM's) and the role of SAM's as the
reference the original is steered towards. *Our assumption:* the steering is the linear move
``g + γ (g_SAM − g)`` with a fixed strength γ, and ε is SAM's normalized first-order ascent step of
radius ρ. γ = 0 is the plain gradient (plain LoRA), γ = 1 is SAM's update, 0 < γ < 1 moves the original
gradient part of the way to SAM's. To first order ``g_SAM − g ≈ ρ H g / ‖g‖``, so
``g̃ ≈ ∇[L + γ ρ ‖∇L‖]``: the update descends the loss plus a gradient-norm penalty of weight γρ,
a "gradient-based regularization" that favours flat regions. ρ and γ are ours to choose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range

__all__ = ["GLAD", "GLADConfig", "glad_gradient"]


@dataclass(frozen=True)
class GLADConfig:
    """The regularizer's two numbers.

    Args:
        rho: ρ > 0, radius of SAM's ascent step ε = ρ g / ‖g‖ (in parameter units).
        gamma: γ, how far the original gradient is moved towards SAM's (0: plain, 1: SAM); any finite
            real number is accepted so that a deliberately broken variant (γ < 0, pushing *away* from
            the flat region) can be built as a negative control.
    """

    rho: float = 0.05
    gamma: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "rho", check_in_range(self.rho, "rho", "GLADConfig", 0.0))
        object.__setattr__(self, "gamma", check_in_range(self.gamma, "gamma", "GLADConfig"))


def _params(params: Iterable[Any]) -> list[torch.Tensor]:
    out: list[torch.Tensor] = []
    for p in params:
        if isinstance(p, dict):
            out.extend(p["params"])
        else:
            out.append(p)
    return [p for p in out if p.requires_grad]


def _used(params: list[torch.Tensor]) -> list[bool]:
    return [p.grad is not None for p in params]


def _grads(params: list[torch.Tensor]) -> list[torch.Tensor]:
    return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]


def _eval(closure: Callable[[], torch.Tensor], params: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    for p in params:
        p.grad = None
    with torch.enable_grad():
        loss = closure()
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise InvalidParameterError("closure", "GLAD", "a function returning the scalar loss tensor after backward()",
                                    type(loss).__name__ if not isinstance(loss, torch.Tensor)
                                    else f"a tensor of shape {tuple(loss.shape)}")
    return loss.detach(), _grads(params)


def glad_gradient(params: Iterable[torch.Tensor], closure: Callable[[], torch.Tensor],
                  config: GLADConfig) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The regularized gradient ``g + γ (∇L(θ + ρ g/‖g‖) − g)``; parameters are left where they were.

    Args:
        params: The parameters θ (tensors with ``requires_grad``).
        closure: Computes the loss at the current parameters, calls ``backward()`` and returns it.
        config: ρ and γ.

    Returns:
        ``(loss at θ, [g̃ per parameter, same shapes])``. When ``g = 0`` there is no ascent
        direction and ``g̃ = g``. Raises `InputDataError` (without moving anything) when the loss or
        a gradient is not finite.
    """
    return _glad(_params(params), closure, config)[:2]


def _glad(ps: list[torch.Tensor], closure: Callable[[], torch.Tensor], config: GLADConfig,
          ) -> tuple[torch.Tensor, list[torch.Tensor], list[bool]]:
    """`glad_gradient`, plus which parameters got a gradient at θ or θ + ε (the others are not in the loss)."""
    if not isinstance(config, GLADConfig):
        raise InvalidParameterError("config", "glad_gradient", "a GLADConfig", type(config).__name__)
    if not callable(closure):
        raise InvalidParameterError("closure", "glad_gradient", "a callable that returns the loss after backward()",
                                    closure)
    loss, g = _eval(closure, ps)
    used = _used(ps)
    if not torch.isfinite(loss) or not all(bool(torch.isfinite(x).all()) for x in g):
        raise InputDataError("GLAD: the loss or its gradient at the current parameters is not finite; "
                             "no step was taken")
    norm = (torch.sqrt(torch.stack([(x.double() ** 2).sum() for x in g]).sum()) if g
            else torch.zeros((), dtype=torch.float64))
    if float(norm) == 0.0 or config.gamma == 0.0:
        return loss, g, used
    eps = [float(config.rho) * x / norm.to(x.dtype) for x in g]
    with torch.no_grad():
        for p, e in zip(ps, eps):
            p.add_(e)
    try:
        _, g_sam = _eval(closure, ps)
        used = [u or v for u, v in zip(used, _used(ps))]
    finally:
        with torch.no_grad():
            for p, e in zip(ps, eps):
                p.sub_(e)
    if not all(bool(torch.isfinite(x).all()) for x in g_sam):
        raise InputDataError("GLAD: the gradient at the perturbed parameters is not finite; no step was taken")
    gamma = float(config.gamma)
    return loss, [x + gamma * (xs - x) for x, xs in zip(g, g_sam)], used


class GLAD:
    """Wrap a torch optimizer so that each ``step(closure)`` descends GLAD's regularized gradient.

    Two forward–backward passes per step (as SAM): the closure is called at θ and at θ + ε. The
    parameters are those of ``base_optimizer``'s parameter groups; its own update rule (SGD, Adam,
    AdamW, ...) and state are untouched.

    Args:
        base_optimizer: Any ``torch.optim.Optimizer``.
        config: ρ and γ (`GLADConfig`).

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = GLAD(torch.optim.SGD([w], lr=0.1), GLADConfig(rho=0.1, gamma=0.5))
        >>> def closure():
        ...     loss = (w ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> float(opt.step(closure))
        5.0
    """

    def __init__(self, base_optimizer: torch.optim.Optimizer, config: GLADConfig | None = None) -> None:
        if not isinstance(base_optimizer, torch.optim.Optimizer):
            raise InvalidParameterError("base_optimizer", "GLAD", "a torch.optim.Optimizer",
                                        type(base_optimizer).__name__)
        if config is not None and not isinstance(config, GLADConfig):
            raise InvalidParameterError("config", "GLAD", "a GLADConfig", type(config).__name__)
        self.base_optimizer = base_optimizer
        self.config = config if config is not None else GLADConfig()

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The base optimizer's parameter groups."""
        return self.base_optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter."""
        self.base_optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Compute g̃ (see `glad_gradient`), write it into ``.grad``, step the base optimizer.

        Returns the loss at the parameters before the step. On a non-finite loss or gradient it raises
        `InputDataError` and leaves the parameters and the base optimizer's state unchanged.
        """
        if not callable(closure):
            raise InvalidParameterError("closure", "GLAD.step", "a callable that returns the loss after backward()",
                                        closure)
        ps = _params(self.param_groups)
        loss, grads, used = _glad(ps, closure, self.config)
        for p, gr, u in zip(ps, grads, used):
            # A parameter the loss does not reach keeps no gradient, so the base optimizer skips it as
            # it would without GLAD (a zero gradient would still move it by weight decay or momentum).
            p.grad = gr if u else None
        self.base_optimizer.step()
        return loss

    def state_dict(self) -> dict[str, Any]:
        """The base optimizer's state and the config."""
        return {"base": self.base_optimizer.state_dict(), "rho": self.config.rho, "gamma": self.config.gamma}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        if not isinstance(state, dict) or not {"base", "rho", "gamma"} <= set(state):
            raise InvalidParameterError("state", "GLAD.load_state_dict", "a dict with 'base', 'rho' and 'gamma' "
                                        "(what state_dict returned)", state if not isinstance(state, dict)
                                        else sorted(state))
        config = GLADConfig(rho=state["rho"], gamma=state["gamma"])  # checked before anything is restored
        self.base_optimizer.load_state_dict(state["base"])
        self.config = config
