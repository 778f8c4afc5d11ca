"""Guarded updates: apply a proposed update only when a high-confidence test says it is no worse.

An LLM or rule-based proposer reads one noisy piece of feedback and may propose an update that makes
things worse. `GuardedOptimizer` evaluates the current and the proposed parameters on *held-out*
feedback (paired samples of a loss, e.g. the same held-out inputs or noise draws for both) and
applies the proposal only when `guardopt.guards.safety_test` passes on the per-sample loss
differences ``proposed - current`` with threshold 0: with probability at least ``1 - delta`` (under
the bound's assumptions), an update whose true mean loss is higher than the current one is refused.
Otherwise the parameters are kept and the step says why. Non-finite held-out losses fail closed.

This is the Seldonian release test (Thomas et al., 2019) applied to each step of an OPTO optimizer
(Cheng et al., 2024); the test, not the proposer, carries the guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_choice, check_in_range
from guardopt.guards.safety import safety_test
from guardopt.workflow.optimizer import StepResult, WorkflowOptimizer
from guardopt.workflow.proposers import Proposal, cast_like

__all__ = ["GuardConfig", "GuardedOptimizer", "GuardedStep", "HeldoutLoss"]

#: ``(current values, proposed values) -> (current losses, proposed losses)``, paired per sample.
HeldoutLoss = Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[Any, Any]]


@dataclass(frozen=True)
class GuardConfig:
    """Settings of `GuardedOptimizer`.

    Args:
        delta: Allowed probability of accepting an update that is worse, in (0, 1).
        bound: The safety test's bound: ``"ttest"`` (default), ``"hoeffding"`` or ``"bernstein"``.
        low, high: The range of a loss *difference*, required by Hoeffding and Bernstein.
    """

    delta: float = 0.1
    bound: str = "ttest"
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        check_in_range(self.delta, "delta", "GuardConfig", 0.0, 1.0)
        check_choice(self.bound, "bound", "GuardConfig", ("ttest", "hoeffding", "bernstein"))
        if self.bound != "ttest" and (self.low is None or self.high is None):
            raise InvalidParameterError("low", "GuardConfig", f"set, with high, for the {self.bound!r} bound",
                                        self.low)
        # A range given with the t test is unused, but still checked: a nonsense value is refused, not ignored.
        if self.low is not None:
            check_in_range(self.low, "low", "GuardConfig")
        if self.high is not None:
            check_in_range(self.high, "high", "GuardConfig", float(self.low) if self.low is not None else -math.inf)


@dataclass(frozen=True)
class GuardedStep:
    """One guarded step: whether the proposal was applied, why, and the test's numbers."""

    accepted: bool
    reason: str
    proposed: Mapping[str, Any] = field(default_factory=dict)
    step: StepResult | None = None
    upper_bound: float = math.nan
    n_heldout: int = 0


class GuardedOptimizer:
    """Wrap a `WorkflowOptimizer`: each step's proposal must pass a safety test on held-out feedback.

    Args:
        optimizer: The optimizer whose proposals are tested.
        heldout: ``(current values, proposed values) -> (losses of current, losses of proposed)``,
            two arrays of shape ``(n,)`` on the same held-out samples (lower loss is better).
        config: The test's settings.
    """

    def __init__(self, optimizer: WorkflowOptimizer, heldout: HeldoutLoss, config: GuardConfig | None = None) -> None:
        if not isinstance(optimizer, WorkflowOptimizer):
            raise InvalidParameterError("optimizer", "GuardedOptimizer", "a WorkflowOptimizer", optimizer)
        if not callable(heldout):
            raise InvalidParameterError("heldout", "GuardedOptimizer", "a callable", heldout)
        self.config = config if config is not None else GuardConfig()
        if not isinstance(self.config, GuardConfig):
            raise InvalidParameterError("config", "GuardedOptimizer", "a GuardConfig", config)
        self.optimizer = optimizer
        self.heldout = heldout
        self.log: list[GuardedStep] = []

    def step(self) -> GuardedStep:
        """Propose, test on held-out feedback, and apply only when the test passes."""
        proposal = self.optimizer.propose()
        current = self.optimizer.values
        # Only values the optimizer could apply are tested (cast to each parameter's type first).
        updates: dict[str, Any] = {}
        for name, value in dict(proposal.updates).items():
            if name in current:
                try:
                    updates[name] = cast_like(value, current[name])
                except (TypeError, ValueError, OverflowError):
                    continue
        if not updates:
            out = GuardedStep(False, f"nothing applicable proposed ({proposal.reasoning})", {})
            self.log.append(out)
            return out
        proposal = Proposal(updates, proposal.reasoning)
        proposed = {**current, **updates}
        out_pair = self.heldout(current, proposed)
        if not isinstance(out_pair, (tuple, list)) or len(out_pair) != 2:
            raise InputDataError("The 'heldout' callable of GuardedOptimizer must return two arrays of losses. "
                                 f"Got {type(out_pair).__name__} instead.")
        cur_a = as_float_array(out_pair[0], "heldout", "GuardedOptimizer")
        new_a = as_float_array(out_pair[1], "heldout", "GuardedOptimizer")
        if cur_a.shape != new_a.shape:  # checked before flattening: (2, 3) and (3, 2) are not paired samples
            raise InputDataError("The 'heldout' callable of GuardedOptimizer must return paired losses of equal "
                                 f"length and shape. Got {cur_a.shape} and {new_a.shape} instead.")
        cur_a, new_a = cur_a.ravel(), new_a.ravel()
        cfg = self.config
        verdict = safety_test(new_a - cur_a, 0.0, cfg.delta, bound=cfg.bound,  # type: ignore[arg-type]
                              low=cfg.low, high=cfg.high)
        if verdict.passed:
            applied = self.optimizer.apply(proposal)
            out = GuardedStep(True, f"accepted: held-out loss increase {verdict.reason}", dict(proposal.updates),
                              applied, verdict.upper_bound, verdict.n)
        else:
            out = GuardedStep(False, f"kept the parameters: the held-out loss increase is not shown to be <= 0 "
                              f"({verdict.reason})", dict(proposal.updates), None, verdict.upper_bound, verdict.n)
        self.log.append(out)
        return out
