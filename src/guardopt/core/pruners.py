"""Pruners: stop unpromising trials early from the intermediate values they report.

A pruner is asked by `RunningTrial.should_prune` with the running trial (its intermediate values so
far) and every other trial of the study, and answers yes or no. Pruners here keep no state of their
own: each decision is a function of the stored intermediate values, so workers in several processes
that share a storage decide consistently.

- `MedianPruner`: stop a trial whose best value so far is worse than the median of the completed
  trials at the same step (the "median stopping rule" of Golovin et al., 2017, *Google Vizier*).
- `SuccessiveHalvingPruner`: asynchronous successive halving, ASHA (Li et al., 2020, *A System for
  Massively Parallel Hyperparameter Tuning*, MLSys): rungs at resources ``r * eta**(s + k)``; a
  trial reaching a rung continues only when it is in the top ``1/eta`` of the values recorded at
  that rung so far, by every trial (finished or still running), so no worker waits for a rung to fill.
- `HyperbandPruner`: Hyperband's brackets (Li et al., 2018, *Hyperband*, JMLR) run as ASHA:
  bracket ``s`` uses early-stopping rate ``s``; each trial joins one bracket (deterministically by
  its number, with the paper's budget weights) and competes only with trials of its bracket.

Steps are the resource: ``report(value, step)`` with ``step`` the epoch (or boosting round) count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from guardopt.core.errors import InvalidParameterError, check_int
from guardopt.core.trial import Trial, TrialState


@runtime_checkable
class Pruner(Protocol):
    """Decides whether a running trial stops now."""

    def prune(self, trial: Trial, trials: Sequence[Trial], direction: str) -> bool:
        """True to stop ``trial`` (its ``intermediate_values`` so far); ``trials`` are the others."""


def _sign(direction: str) -> float:
    # Values compared in minimization form.
    return 1.0 if direction == "minimize" else -1.0


class MedianPruner:
    """Prune when the trial's best value so far is worse than the median of completed trials at its step.

    Args:
        n_startup_trials: No pruning until this many trials have COMPLETE.
        n_warmup_steps: No pruning at steps below this.
        interval_steps: Decide only every this many steps (after the warm-up).
        n_min_trials: Completed trials that must have reported the step for a median to count.
    """

    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1,
                 n_min_trials: int = 1) -> None:
        self.n_startup_trials = check_int(n_startup_trials, "n_startup_trials", "MedianPruner", low=0)
        self.n_warmup_steps = check_int(n_warmup_steps, "n_warmup_steps", "MedianPruner", low=0)
        self.interval_steps = check_int(interval_steps, "interval_steps", "MedianPruner", low=1)
        self.n_min_trials = check_int(n_min_trials, "n_min_trials", "MedianPruner", low=1)

    def prune(self, trial: Trial, trials: Sequence[Trial], direction: str) -> bool:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        if (step - self.n_warmup_steps) % self.interval_steps != 0:
            return False
        done = [t for t in trials if t.state is TrialState.COMPLETE]
        if len(done) < self.n_startup_trials:
            return False
        at_step = [t.intermediate_values[step] for t in done if step in t.intermediate_values]
        if len(at_step) < max(self.n_min_trials, 1):
            return False
        s = _sign(direction)
        best_so_far = min(s * v for k, v in trial.intermediate_values.items() if k <= step)
        return bool(best_so_far > float(np.median([s * v for v in at_step])))

    def __repr__(self) -> str:
        return (f"MedianPruner(n_startup_trials={self.n_startup_trials}, n_warmup_steps={self.n_warmup_steps}, "
                f"interval_steps={self.interval_steps}, n_min_trials={self.n_min_trials})")


class SuccessiveHalvingPruner:
    """Asynchronous successive halving (ASHA, Li et al., 2020).

    Rung ``k`` sits at step ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``.
    A trial is judged once per rung, at the first step it reports at or beyond the rung: it is
    stopped unless its value there is among the best ``max(1, n // reduction_factor)`` of the ``n``
    values recorded at that rung so far (its own included). A trial's value at a rung is the value
    it reported at the first step at or beyond the rung, so the rung records are read from the
    stored intermediate values and nothing else needs storing. Call `should_prune` after every
    `report`: a rung passed between two calls is judged at the next one.

    Args:
        min_resource: The step of the first rung (e.g. 1 epoch).
        reduction_factor: ``eta``: the share ``1/eta`` of a rung that goes on (>= 2).
        min_early_stopping_rate: ``s``: the first rung is at ``min_resource * eta**s``.
        max_resource: The step count of a full trial, when known: no rung at or beyond it is judged
            (a trial that trained fully keeps its final value instead of being pruned at the end).
    """

    def __init__(self, min_resource: int = 1, reduction_factor: int = 3, min_early_stopping_rate: int = 0,
                 max_resource: int | None = None) -> None:
        self.max_resource = None if max_resource is None else check_int(
            max_resource, "max_resource", "SuccessiveHalvingPruner", low=1)
        self.min_resource = check_int(min_resource, "min_resource", "SuccessiveHalvingPruner", low=1)
        self.reduction_factor = check_int(reduction_factor, "reduction_factor", "SuccessiveHalvingPruner", low=2)
        self.min_early_stopping_rate = check_int(min_early_stopping_rate, "min_early_stopping_rate",
                                                 "SuccessiveHalvingPruner", low=0)

    def rung_steps(self, up_to: int) -> list[int]:
        """The rung steps not beyond ``up_to``."""
        out: list[int] = []
        k = 0
        while True:
            r = self.min_resource * self.reduction_factor ** (self.min_early_stopping_rate + k)
            if r > up_to or (self.max_resource is not None and r >= self.max_resource):
                return out
            out.append(r)
            k += 1

    def prune(self, trial: Trial, trials: Sequence[Trial], direction: str) -> bool:
        values = trial.intermediate_values
        step = trial.last_step
        if step is None:
            return False
        rungs = self.rung_steps(step)
        if not rungs:
            return False
        rung = rungs[-1]
        earlier = [k for k in values if k < step]
        if earlier and max(earlier) >= rung:
            return False  # already judged at this rung (and promoted)
        s = _sign(direction)
        mine = s * _value_at(values, rung)
        competitors = [s * v for t in trials if t.state is not TrialState.FAILED
                       and (v := _value_at_or_none(t.intermediate_values, rung)) is not None]
        competitors.append(mine)
        n_top = max(1, len(competitors) // self.reduction_factor)
        cutoff = sorted(competitors)[n_top - 1]
        return bool(mine > cutoff)

    def __repr__(self) -> str:
        return (f"SuccessiveHalvingPruner(min_resource={self.min_resource}, reduction_factor={self.reduction_factor}, "
                f"min_early_stopping_rate={self.min_early_stopping_rate}, max_resource={self.max_resource})")


def _value_at_or_none(values: Mapping[int, float], rung: int) -> float | None:
    steps = [k for k in values if k >= rung]
    if not steps:
        return None
    return float(values[min(steps)])


def _value_at(values: Mapping[int, float], rung: int) -> float:
    v = _value_at_or_none(values, rung)
    assert v is not None
    return v


class HyperbandPruner:
    """Hyperband's brackets, each run as asynchronous successive halving (Li et al., 2018; 2020).

    With ``R = max_resource / min_resource`` there are ``floor(log_eta R) + 1`` brackets; bracket
    ``s`` prunes from step ``min_resource * eta**s`` on. Trial ``number`` joins bracket ``s`` with
    probability proportional to the paper's bracket size ``ceil(n_brackets * eta**(B-1-s) / (B-s))``
    (more trials in the aggressive brackets), drawn from a stream fixed by ``seed`` and the number.

    Args:
        min_resource: The smallest step a trial is judged at.
        max_resource: The step count of a full trial (e.g. the number of epochs).
        reduction_factor: ``eta`` (>= 2).
        seed: Seed of the bracket assignment.
    """

    def __init__(self, min_resource: int = 1, max_resource: int = 81, reduction_factor: int = 3,
                 seed: int = 0) -> None:
        self.min_resource = check_int(min_resource, "min_resource", "HyperbandPruner", low=1)
        self.max_resource = check_int(max_resource, "max_resource", "HyperbandPruner", low=1)
        if self.max_resource < self.min_resource:
            raise InvalidParameterError("max_resource", "HyperbandPruner", f">= min_resource={min_resource}",
                                        max_resource)
        self.reduction_factor = check_int(reduction_factor, "reduction_factor", "HyperbandPruner", low=2)
        self.seed = check_int(seed, "seed", "HyperbandPruner", low=0)
        ratio = self.max_resource / self.min_resource
        self.n_brackets = math.floor(math.log(ratio, self.reduction_factor) + 1e-9) + 1
        b = self.n_brackets
        sizes = np.array([math.ceil(b * self.reduction_factor ** (b - 1 - s) / (b - s)) for s in range(b)], float)
        self._weights = sizes / sizes.sum()
        self._brackets = [SuccessiveHalvingPruner(self.min_resource, self.reduction_factor, s, self.max_resource)
                          for s in range(b)]

    def bracket_of(self, number: int) -> int:
        """The bracket trial ``number`` belongs to."""
        rng = np.random.default_rng([self.seed, int(number)])
        return int(rng.choice(self.n_brackets, p=self._weights))

    def prune(self, trial: Trial, trials: Sequence[Trial], direction: str) -> bool:
        b = self.bracket_of(trial.number)
        same = [t for t in trials if self.bracket_of(t.number) == b]
        return self._brackets[b].prune(trial, same, direction)

    def __repr__(self) -> str:
        return (f"HyperbandPruner(min_resource={self.min_resource}, max_resource={self.max_resource}, "
                f"reduction_factor={self.reduction_factor}, seed={self.seed})")


class NopPruner:
    """Never prunes (the default; `should_prune` is then always False)."""

    def prune(self, trial: Trial, trials: Sequence[Trial], direction: str) -> bool:
        return False
