"""Callbacks run after each trial of `Study.optimize`, and the stop rules built on them.

A callback is any callable ``(study, trial) -> None`` (Optuna's signature); it runs in the process
that drives the study, after the finished ``trial`` is stored and told to the optimizer. A callback
ends the loop with ``study.stop()``: no new trial is asked, running ones finish. An exception raised
by a callback propagates (running trials are marked interrupted).

Stop rules judge the best *feasible* value (every declared constraint met as measured), so an
infeasible trial never ends a study early.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Protocol

from guardopt.core.errors import InvalidParameterError, check_int
from guardopt.core.trial import Trial, is_finite_number

if TYPE_CHECKING:
    from guardopt.core.study import Study


class Callback(Protocol):
    """Called after each finished trial."""

    def __call__(self, study: Study, trial: Trial) -> None: ...


def _best_loss(study: Study) -> float:
    best = study.best()
    return math.inf if best is None else study._goal.loss(best)


class StopAtValue:
    """Stop once the best feasible value reaches ``target`` (``<=`` when minimizing, ``>=`` when maximizing).

    Args:
        target: The value that is good enough.
    """

    def __init__(self, target: float) -> None:
        if isinstance(target, bool) or not is_finite_number(target):
            raise InvalidParameterError("target", "StopAtValue", "a finite number", target)
        self.target = float(target)

    def __call__(self, study: Study, trial: Trial) -> None:
        if _best_loss(study) <= study._goal.sign * self.target:
            study.stop()

    def __repr__(self) -> str:
        return f"StopAtValue(target={self.target!r})"


class StopOnPlateau:
    """Stop when the best feasible value has not improved for ``patience`` finished trials in a row.

    Trials that FAILED or were PRUNED count as trials without improvement.

    Args:
        patience: How many trials without improvement end the study.
        min_delta: An improvement smaller than this does not count.
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        self.patience = check_int(patience, "patience", "StopOnPlateau", low=1)
        if isinstance(min_delta, bool) or not is_finite_number(min_delta) or min_delta < 0:
            raise InvalidParameterError("min_delta", "StopOnPlateau", "a finite number >= 0", min_delta)
        self.min_delta = float(min_delta)
        self._best = math.inf
        self._since = 0

    def __call__(self, study: Study, trial: Trial) -> None:
        loss = study._goal.loss(trial) if study._goal.is_feasible(trial) else math.inf
        if loss < self._best - self.min_delta or (math.isinf(self._best) and math.isfinite(loss)):
            self._best = loss
            self._since = 0
        else:
            self._since += 1
        if self._since >= self.patience:
            study.stop()

    def __repr__(self) -> str:
        return f"StopOnPlateau(patience={self.patience}, min_delta={self.min_delta!r})"


class TimeBudget:
    """Stop asking new trials once ``seconds`` of wall-clock time have passed.

    The clock starts when the rule is created (create it in the `optimize` call), so the budget
    covers the whole loop; it is checked after each trial, and running trials finish after it is
    spent. (`Study.optimize`'s ``timeout`` is the same budget checked before each ask.)

    Args:
        seconds: The wall-clock budget.
    """

    def __init__(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not is_finite_number(seconds) or seconds <= 0:
            raise InvalidParameterError("seconds", "TimeBudget", "a positive number of seconds", seconds)
        self.seconds = float(seconds)
        self._start = time.monotonic()

    def __call__(self, study: Study, trial: Trial) -> None:
        if time.monotonic() - self._start >= self.seconds:
            study.stop()

    def __repr__(self) -> str:
        return f"TimeBudget(seconds={self.seconds!r})"

