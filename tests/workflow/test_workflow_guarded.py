"""Guarded updates: a proposal is applied only when the held-out safety test shows it is no worse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.reproduce.criteria import clopper_pearson_upper
from guardopt.workflow import GuardConfig, GuardedOptimizer, Proposal, WorkflowOptimizer, node


class Fixed:
    """Always proposes the same value for x."""

    uses_trace = False

    def __init__(self, value):
        self.value = value

    def propose(self, context):
        return Proposal({"x": self.value}, "fixed")


def _setup(proposed, sigma=0.1, n=10, seed=0, delta=0.1, target=0.0, start=1.0):
    x = node(start, name="x", trainable=True)
    opt = WorkflowOptimizer([x], Fixed(proposed))
    rng = np.random.default_rng(seed)

    def heldout(cur, new):
        eps = rng.standard_normal(n)
        return (cur["x"] - target + sigma * eps) ** 2, (new["x"] - target + sigma * eps) ** 2

    opt.backward(x * 1.0, "too high by 1")
    return x, GuardedOptimizer(opt, heldout, GuardConfig(delta=delta))


def test_a_clear_improvement_is_accepted_and_a_clear_regression_refused() -> None:
    x, g = _setup(0.2)
    step = g.step()
    assert step.accepted and x.value == 0.2 and step.reason.startswith("accepted") and step.n_heldout == 10
    x, g = _setup(1.5)
    step = g.step()
    assert not step.accepted and x.value == 1.0 and "kept the parameters" in step.reason
    assert step.upper_bound > 0 and g.log == [step]


def test_paired_differences_reference_value() -> None:
    # cur = 1, new = 0.5, target 0, no noise: every difference is 0.25 - 1 = -0.75; the t bound of a
    # constant sample is the constant itself.
    _x, g = _setup(0.5, sigma=0.0)
    step = g.step()
    assert step.accepted and step.upper_bound == pytest.approx(-0.75, abs=1e-12)


def test_non_finite_heldout_losses_fail_closed() -> None:
    x = node(1.0, name="x", trainable=True)
    opt = WorkflowOptimizer([x], Fixed(0.0))
    opt.backward(x * 1.0, "too high by 1")
    g = GuardedOptimizer(opt, lambda c, n: (np.ones(5), np.array([0.0, 0.0, -math.inf, 0.0, 0.0])))
    step = g.step()
    assert not step.accepted and x.value == 1.0 and "failing closed" in step.reason


def test_bad_heldout_output_is_the_libraries_error() -> None:
    x = node(1.0, name="x", trainable=True)
    opt = WorkflowOptimizer([x], Fixed(0.0))
    opt.backward(x * 1.0, "too high by 1")
    with pytest.raises(InputDataError, match="paired losses of equal length"):
        GuardedOptimizer(opt, lambda c, n: (np.ones(5), np.ones(4))).step()
    with pytest.raises(InputDataError, match="'heldout'"):
        GuardedOptimizer(opt, lambda c, n: (["a"], ["b"])).step()


def test_nothing_proposed_is_not_an_acceptance() -> None:
    x = node(1.0, name="x", trainable=True)

    class Nothing(Fixed):
        def propose(self, context):
            return Proposal({}, "nothing to do")

    opt = WorkflowOptimizer([x], Nothing(0))
    opt.backward(x * 1.0, "correct")
    step = GuardedOptimizer(opt, lambda c, n: (np.ones(3), np.ones(3))).step()
    assert not step.accepted and "nothing applicable proposed" in step.reason


def test_worse_proposals_are_accepted_at_most_delta_of_the_time() -> None:
    # A proposal slightly worse than the current value (|-0.06| > |0.05|, target 0). With paired noise
    # the differences (a - b)(a + b + 2 sigma eps) are Gaussian, so the t test is exact; here their
    # mean is 0.0011 and their sd 0.066, the boundary case where a level-delta test accepts about delta.
    trials, accepted = 400, 0
    for seed in range(trials):
        _x, g = _setup(-0.06, sigma=0.3, n=10, seed=seed, start=0.05)
        accepted += g.step().accepted
    assert clopper_pearson_upper(accepted, trials, 0.99) <= 0.1 + 0.03
    assert accepted > 0  # near the boundary the guard does take some risk, as a level-delta test must


def test_guard_config_validation() -> None:
    with pytest.raises(InvalidParameterError, match="The 'delta' parameter of GuardConfig must be"):
        GuardConfig(delta=1.0)
    with pytest.raises(InvalidParameterError, match="'bound'"):
        GuardConfig(bound="magic")
    with pytest.raises(InvalidParameterError, match="'low'"):
        GuardConfig(bound="hoeffding")
    assert GuardConfig(bound="hoeffding", low=-1.0, high=1.0).high == 1.0
    x = node(1.0, name="x", trainable=True)
    with pytest.raises(InvalidParameterError, match="'optimizer'"):
        GuardedOptimizer(object(), lambda c, n: (1, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'heldout'"):
        GuardedOptimizer(WorkflowOptimizer([x], Fixed(0.0)), 3)  # type: ignore[arg-type]


def test_hoeffding_guard_on_bounded_differences() -> None:
    # Differences in [-1, 1]; n = 50 samples all equal to -0.5: the Hoeffding radius
    # sqrt(log(1/0.1) * 2^2 / (2 * 50)) = 0.3035 keeps the upper bound at -0.1965 < 0: accepted.
    x = node(1.0, name="x", trainable=True)
    opt = WorkflowOptimizer([x], Fixed(0.5))
    opt.backward(x * 1.0, "too high by 1")
    cfg = GuardConfig(delta=0.1, bound="hoeffding", low=-1.0, high=1.0)
    step = GuardedOptimizer(opt, lambda c, n: (np.full(50, 0.75), np.full(50, 0.25)), cfg).step()
    assert step.accepted and step.upper_bound == pytest.approx(-0.5 + math.sqrt(math.log(10) * 4 / 100), rel=1e-9)
    # Differences outside the declared range fail closed.
    x.set_value(1.0)
    step = GuardedOptimizer(opt, lambda c, n: (np.full(50, 3.0), np.full(50, 0.0)), cfg).step()
    assert not step.accepted and "outside the declared range" in step.reason


def test_uncastable_proposals_are_not_tested_or_applied() -> None:
    x = node(1.0, name="x", trainable=True)
    opt = WorkflowOptimizer([x], Fixed("lots"))
    opt.backward(x * 1.0, "too high by 1")
    calls = []
    step = GuardedOptimizer(opt, lambda c, n: calls.append(1) or (np.ones(3), np.zeros(3))).step()
    assert not step.accepted and not calls and x.value == 1.0
