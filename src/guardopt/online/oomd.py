"""Optimistic online mirror descent (OOMD) for the SEA model, and online gradient descent baselines.

Paper: Chen, Zhang, Tu, Zhao, Zhang, "Optimistic Online Mirror Descent for Bridging Stochastic and
Adversarial Online Convex Optimization", ICML 2023 (arXiv 2302.04552).

Each round ``t`` the learner keeps an auxiliary point ``x̂_t`` and a hint ``M_t`` (a guess of the
next gradient; here the last gradient, ``M_t = g_{t−1}``):

    x_t     = argmin_{x∈X} η_t⟨M_t, x⟩ + D_ψ(x, x̂_t)          (play)
    g_t     = ∇f_t(x_t)                                          (told)
    x̂_{t+1} = argmin_{x∈X} η_t⟨g_t, x⟩ + D_ψ(x, x̂_t)          (update)

Step sizes:

* ``"adaptive"`` (convex, smooth expected losses): ``η_t = min(D / sqrt(δ + Σ_{s<t} ‖g_s − M_s‖²_*),
  η_max)``; with ``η_max = 1/(4L)`` when the smoothness ``L`` is given. Expected regret
  ``O(sqrt(σ²_{1:T}) + sqrt(Σ²_{1:T}))``: small when the hint is good, i.e. when the stochastic
  variance σ² and the adversarial variation Σ² are small.
* ``"strongly-convex"``: ``η_t = min(1/(λ t), η_max)``; expected regret
  ``O((σ²_max + Σ²_max)/λ · log((σ²_{1:T} + Σ²_{1:T})/(σ²_max + Σ²_max)))``.
* ``"fixed"``: a constant ``η``; ``"sqrt-t"``: ``η_t = D/(G sqrt(t))`` (plain OGD's schedule).

The constants (δ, the 1/(4L) cap, 1/(λt)) are our reading of the paper's theorems, up to constant
factors; docs/online.md says so.

Why no `guardopt.core.Optimizer` protocol: an online convex learner is told a *gradient* (a vector
at the point it played), not a trial's scalar value, and it must play every round in order; the
Study's ask/tell over parameter dicts with scalar outcomes cannot carry that feedback. The learner
therefore has its own ask/tell shape: ``x = learner.ask(); learner.tell(grad)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_bool,
    check_choice,
    check_in_range,
)
from guardopt.online.mirror import MirrorMap

__all__ = ["OOMDConfig", "OnlineGradientDescent", "OptimisticOMD"]

STEP_RULES = ("adaptive", "strongly-convex", "fixed", "sqrt-t")
HINTS = ("last-gradient", "zero")


@dataclass(frozen=True)
class OOMDConfig:
    """Configuration of `OptimisticOMD`.

    Args:
        step: ``"adaptive"``, ``"strongly-convex"``, ``"fixed"`` or ``"sqrt-t"``.
        hint: ``"last-gradient"`` (optimistic) or ``"zero"`` (plain OMD / OGD).
        delta: ``δ > 0`` in the adaptive step (keeps the first steps finite).
        smoothness: ``L`` of the expected losses; caps ``η`` at ``1/(4L)`` when given.
        strong_convexity: ``λ`` for the ``"strongly-convex"`` step.
        lr: ``η`` for ``"fixed"``.
        grad_bound: ``G`` for ``"sqrt-t"``.
        diameter: Override of the mirror map's ``D``.
    """

    step: str = "adaptive"
    hint: str = "last-gradient"
    delta: float = 1.0
    smoothness: float | None = None
    strong_convexity: float | None = None
    lr: float | None = None
    grad_bound: float | None = None
    diameter: float | None = None

    def __post_init__(self) -> None:
        owner = "OOMDConfig"
        check_choice(self.step, "step", owner, STEP_RULES)
        check_choice(self.hint, "hint", owner, HINTS)
        check_in_range(self.delta, "delta", owner, 0.0)
        for name in ("smoothness", "strong_convexity", "lr", "grad_bound", "diameter"):
            value = getattr(self, name)
            if value is not None:
                check_in_range(value, name, owner, 0.0)
        needs = {"strongly-convex": "strong_convexity", "fixed": "lr", "sqrt-t": "grad_bound"}
        if self.step in needs and getattr(self, needs[self.step]) is None:
            raise InvalidParameterError(needs[self.step], owner, f"set when step={self.step!r}", None)
        for rule, name in needs.items():  # a setting another rule reads would be ignored silently
            if rule != self.step and getattr(self, name) is not None:
                raise InvalidParameterError(name, owner, f"None unless step={rule!r} (step is {self.step!r})",
                                            getattr(self, name))


class OptimisticOMD:
    """Optimistic online mirror descent with last-gradient hints.

    Args:
        domain: A mirror map (`EuclideanBall`, `EntropicSimplex`).
        config: Step-size rule and hint.

    Example:
        >>> from guardopt.online.mirror import EuclideanBall
        >>> learner = OptimisticOMD(EuclideanBall(dim=2), OOMDConfig())
        >>> x = learner.ask()
        >>> learner.tell(np.array([1.0, 0.0]))
    """

    def __init__(self, domain: MirrorMap, config: OOMDConfig | None = None) -> None:
        if config is not None and not isinstance(config, OOMDConfig):  # a dict was an AttributeError at ask()
            raise InvalidParameterError("config", "OptimisticOMD", "an OOMDConfig or None", config)
        self.domain = domain
        self.config = config or OOMDConfig()
        self._d = domain.dim
        self._xhat = domain.initial()
        self._hint = np.zeros(self._d)
        self._sum_sq = 0.0  # Σ_{s<t} ‖g_s − M_s‖²_*
        self._t = 1
        self._x: np.ndarray | None = None
        self._eta = math.nan

    @property
    def t(self) -> int:
        """The current round (1-based)."""
        return self._t

    @property
    def eta(self) -> float:
        """The step size used in the current round."""
        return self._step_size()

    def _step_size(self) -> float:
        c = self.config
        diameter = c.diameter if c.diameter is not None else self.domain.diameter
        cap = 1.0 / (4.0 * c.smoothness) if c.smoothness else math.inf
        if c.step == "adaptive":
            eta = diameter / math.sqrt(c.delta + self._sum_sq)
        elif c.step == "strongly-convex":
            assert c.strong_convexity is not None
            eta = 1.0 / (c.strong_convexity * self._t)
        elif c.step == "fixed":
            assert c.lr is not None
            eta = c.lr
        else:
            assert c.grad_bound is not None
            eta = diameter / (c.grad_bound * math.sqrt(self._t))
        return min(eta, cap)

    def ask(self) -> np.ndarray:
        """The point ``x_t`` to play this round, shape ``(d,)``. Calling twice returns the same point."""
        if self._x is None:
            self._eta = self._step_size()
            self._x = self.domain.step(self._xhat, self._hint, self._eta)
        return self._x.copy()

    def tell(self, grad: np.ndarray) -> None:
        """Receive ``g_t = ∇f_t(x_t)`` (shape ``(d,)``) and move to round ``t + 1``."""
        if self._x is None:
            self.ask()
        g = as_float_array(grad, "grad", "OptimisticOMD.tell")  # strings: our error, not numpy's
        if g.shape != (self._d,):
            raise InputDataError(f"grad must be a finite array of shape ({self._d},); got {g.shape}.")
        if not np.all(np.isfinite(g)):
            raise InputDataError(f"grad must be finite; got {g.tolist()}.")
        # Compute the whole update before changing any state, so a refused gradient leaves the
        # learner as it was.
        try:
            xhat = self.domain.step(self._xhat, g, self._eta)
        except InputDataError as exc:  # eta * grad overflowed inside the mirror step: name the argument
            raise InputDataError(f"grad is too large for OptimisticOMD.tell: {exc}") from exc
        with np.errstate(over="ignore", invalid="ignore"):
            dn = float(self.domain.dual_norm(g - self._hint))
        total = self._sum_sq + dn * dn  # float `**` raises OverflowError; `*` gives inf, refused next
        if not math.isfinite(total) and self.config.step == "adaptive":
            # An infinite sum would make every later adaptive step 0: the learner would stop silently.
            raise InputDataError("grad is too large: the sum of squared dual norms overflows float64; "
                                 "rescale the losses.")
        self._xhat = xhat
        self._sum_sq = total
        self._hint = g.copy() if self.config.hint == "last-gradient" else np.zeros(self._d)
        self._x = None
        self._t += 1


def OnlineGradientDescent(domain: MirrorMap, grad_bound: float | None = None, adaptive: bool | np.bool_ = False,
                          strong_convexity: float | None = None) -> OptimisticOMD:
    """Plain (non-optimistic) online mirror descent: zero hints, so ``x_t = x̂_t``.

    Args:
        domain: A mirror map; with `EuclideanBall` this is projected online gradient descent.
        grad_bound: ``G`` for the classic ``η_t = D/(G sqrt(t))`` schedule.
        adaptive: Use ``η_t = D/sqrt(δ + Σ‖g_s‖²)`` (AdaGrad-norm) instead.
        strong_convexity: Use ``η_t = 1/(λ t)`` instead.
    """
    check_bool(adaptive, "adaptive", "OnlineGradientDescent")
    # One schedule at a time: a second one given beside it would be ignored without a word.
    if strong_convexity is not None and adaptive:
        raise InvalidParameterError("adaptive", "OnlineGradientDescent", "False when strong_convexity is set",
                                    adaptive)
    if grad_bound is not None and (adaptive or strong_convexity is not None):
        raise InvalidParameterError("grad_bound", "OnlineGradientDescent",
                                    "None with adaptive=True or strong_convexity (it sets only the sqrt-t step)",
                                    grad_bound)
    if strong_convexity is not None:
        cfg = OOMDConfig(step="strongly-convex", hint="zero", strong_convexity=strong_convexity)
    elif adaptive:
        cfg = OOMDConfig(step="adaptive", hint="zero")
    else:
        if grad_bound is None:
            raise InvalidParameterError("grad_bound", "OnlineGradientDescent", "set for the sqrt-t step", None)
        cfg = OOMDConfig(step="sqrt-t", hint="zero", grad_bound=grad_bound)
    return OptimisticOMD(domain, cfg)
