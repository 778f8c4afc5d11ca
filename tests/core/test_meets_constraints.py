"""`meets_constraints`: the fail-closed feasibility of a stored trial against raw declarations."""

from __future__ import annotations

import math

import pytest

from guardopt.core.problem import meets_constraints
from guardopt.core.trial import Trial, TrialState

LIMITS = {"latency": ("<=", 50.0), "accuracy": (">=", 0.9)}


def _trial(state: TrialState = TrialState.COMPLETE, **constraints: float) -> Trial:
    return Trial(number=0, params={"x": 1.0}, state=state, value=0.1, constraints=constraints)


@pytest.mark.parametrize(
    ("constraints", "expected"),
    [
        ({"latency": 50.0, "accuracy": 0.9}, True),  # both limits hold with equality
        ({"latency": 50.000001, "accuracy": 0.95}, False),
        ({"latency": 10.0, "accuracy": 0.899}, False),
        ({"latency": 10.0}, False),  # a missing value is a violation
        ({"latency": math.nan, "accuracy": 0.95}, False),
        ({"latency": -math.inf, "accuracy": 0.95}, False),  # non-finite never passes
    ],
)
def test_declarations_are_read_fail_closed(constraints: dict[str, float], expected: bool) -> None:
    assert meets_constraints(_trial(**constraints), LIMITS) is expected


def test_only_complete_trials_can_be_feasible() -> None:
    assert meets_constraints(_trial(), {}) is True
    assert meets_constraints(_trial(TrialState.FAILED, latency=1.0, accuracy=1.0), LIMITS) is False
