"""Lagrange multipliers for a cost constraint J_c(π) ≤ limit: plain (dual ascent) and PID.

`Lagrangian` is projected dual gradient ascent, λ ← max(0, λ + lr·(J_c − limit)). `PIDLagrangian`
is the PID controller of Stooke, Achiam & Abbeel, "Responsive Safety in Reinforcement Learning by
PID Lagrangian Methods" (ICML 2020): the integral term is dual ascent, the proportional and
derivative terms react to the current violation and to its rise, which damps the oscillation of
plain dual ascent. Both are plain-float state machines (no torch), so any learner can use them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from guardopt.core.errors import InvalidParameterError, check_in_range

__all__ = ["Lagrangian", "PIDLagrangian"]


def _check_cost(value: float, owner: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidParameterError("cost", owner, "a finite real number", value) from exc
    if not math.isfinite(x):
        raise InvalidParameterError("cost", owner, "a finite real number", value)
    return x


@dataclass
class Lagrangian:
    """λ ← clip(λ + lr·(cost − limit), 0, max_value).

    Args:
        limit: The constraint's limit.
        lr: Dual step size (> 0).
        init: Initial λ (≥ 0).
        max_value: Upper clip of λ (> 0), so one bad estimate cannot blow it up.
    """

    limit: float
    lr: float = 0.01
    init: float = 0.0
    max_value: float = 100.0
    value: float = field(init=False)

    def __post_init__(self) -> None:
        check_in_range(self.limit, "limit", "Lagrangian")
        check_in_range(self.lr, "lr", "Lagrangian", 0.0)
        check_in_range(self.init, "init", "Lagrangian", 0.0, low_open=False)
        check_in_range(self.max_value, "max_value", "Lagrangian", 0.0)
        self.value = min(float(self.init), float(self.max_value))

    def update(self, cost: float) -> float:
        """One dual step from a cost estimate; returns the new λ."""
        c = _check_cost(cost, "Lagrangian.update")
        self.value = min(max(0.0, self.value + self.lr * (c - self.limit)), self.max_value)
        return self.value


@dataclass
class PIDLagrangian:
    """λ = clip(Kp·e + Ki·Σe + Kd·max(0, Δc̄), 0, max_value) with e = cost − limit (Stooke et al. 2020).

    The integral is kept non-negative (anti-windup) and c̄ is an exponential moving average of the
    cost (``ema`` in [0, 1), 0 = no smoothing) used by the derivative term.
    """

    limit: float
    kp: float = 0.1
    ki: float = 0.01
    kd: float = 0.01
    ema: float = 0.9
    max_value: float = 100.0
    value: float = field(init=False, default=0.0)
    _integral: float = field(init=False, default=0.0)
    _prev: float | None = field(init=False, default=None)
    _smooth: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        check_in_range(self.limit, "limit", "PIDLagrangian")
        for name in ("kp", "ki", "kd"):
            check_in_range(getattr(self, name), name, "PIDLagrangian", 0.0, low_open=False)
        check_in_range(self.ema, "ema", "PIDLagrangian", 0.0, 1.0, low_open=False)
        check_in_range(self.max_value, "max_value", "PIDLagrangian", 0.0)

    def update(self, cost: float) -> float:
        """One controller step from a cost estimate; returns the new λ."""
        c = _check_cost(cost, "PIDLagrangian.update")
        err = c - self.limit
        self._integral = max(0.0, self._integral + self.ki * err)
        self._smooth = c if self._smooth is None else self.ema * self._smooth + (1 - self.ema) * c
        deriv = 0.0 if self._prev is None else max(0.0, self._smooth - self._prev)
        self._prev = self._smooth
        self.value = min(max(0.0, self.kp * err + self._integral + self.kd * deriv), self.max_value)
        return self.value
