"""`criteria.equal_budget`: passes only on exactly equal budgets, never on nothing recorded."""

from __future__ import annotations

import math

import numpy as np

from guardopt.reproduce.criteria import equal_budget
from guardopt.reproduce.spec import Outcome


def test_equal_budget_passes_only_when_every_count_is_the_same() -> None:
    ev = equal_budget("budget", [1152, 1152, 1152])
    assert ev.passed and ev.value == 1.0 and ev.detail == "min 1152, max 1152"
    ev = equal_budget("budget", np.array([1152, 1153]))
    assert not ev.passed and math.isclose(ev.value, 1153 / 1152)


def test_equal_budget_is_inconclusive_without_counts() -> None:
    for counts in ([], [np.nan, np.nan], [0, 10]):
        ev = equal_budget("budget", counts)
        assert not ev.passed and ev.outcome is Outcome.INCONCLUSIVE


def test_an_infinite_budget_is_not_dropped():
    # An unbounded count used to be dropped as "not finite", and the others passed.
    ev = equal_budget("budget", [1152, 1152, math.inf])
    assert not ev.passed and ev.outcome is Outcome.FAIL and ev.value == math.inf


def test_a_cell_that_recorded_no_budget_is_not_left_out():
    # A NaN count used to be dropped, so a cell that ran but logged nothing let the line pass.
    ev = equal_budget("budget", [1152, np.nan, 1152])
    assert not ev.passed and ev.outcome is Outcome.INCONCLUSIVE and "1 of 3 cells" in ev.detail
