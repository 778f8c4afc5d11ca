"""The two-stage robust knapsack: hand-checked values, the generator, and the exact evaluator's consistency."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.problems.knapsack import (
    CORRELATIONS,
    KnapsackInstance,
    exact_robust_solution,
    knapsack_patterns,
    sample_instance,
)


def one_item(capacity: float) -> KnapsackInstance:
    # Pack: 40ξ − 120 (weight 10); pack and repair: −120 (weight 15); outsource: 0. Commit: +20.
    return KnapsackInstance(c=[10.0], p_bar=[100.0], p_hat=[40.0], f=[120.0], t=[5.0], capacity=capacity, budget=1.0)


def two_items() -> KnapsackInstance:
    # Both packed: 50(ξ1 + ξ2) − 220 (weight 20); one repaired alone: −110 (weight 20); both with a
    # repair exceed C = 20. Commit: +10 each.
    return KnapsackInstance(c=[10.0, 10.0], p_bar=[100.0, 100.0], p_hat=[50.0, 50.0], f=[110.0, 110.0],
                            t=[10.0, 10.0], capacity=20.0, budget=1.0)


def test_patterns_enumerate_three_states_per_item() -> None:
    pats = knapsack_patterns(2)
    assert pats.shape == (9, 2)
    assert {tuple(p) for p in pats} == {(a, b) for a in range(3) for b in range(3)}


def test_one_item_hand_values() -> None:
    inst = one_item(capacity=20.0)  # the repair fits: Q = −120 whatever ξ
    assert inst.second_stage_value([1.0], [0.7])[0] == pytest.approx(-120.0)
    assert inst.second_stage_value([0.0], [0.7])[0] == pytest.approx(0.0)
    assert inst.worst_case([1.0]).value == pytest.approx(-100.0)
    tight = one_item(capacity=12.0)  # no repair: Q = 40ξ − 120, worst at ξ = 1
    assert tight.second_stage_value([1.0], [0.5])[0] == pytest.approx(-100.0)
    wc = tight.worst_case([1.0])
    assert wc.value == pytest.approx(20.0 - 80.0)
    assert wc.xi == pytest.approx([1.0])
    sol = exact_robust_solution(tight)
    assert sol.value == pytest.approx(-60.0) and list(sol.x) == [1.0]


def test_two_items_hand_values() -> None:
    inst = two_items()
    both = inst.worst_case([1.0, 1.0])
    assert both.value == pytest.approx(20.0 + 50.0 - 220.0)  # −150 at Σξ = Γ = 1
    assert both.xi.sum() == pytest.approx(1.0)
    assert inst.worst_case([1.0, 0.0]).value == pytest.approx(10.0 - 110.0)  # the repair guards it
    sol = exact_robust_solution(inst)
    assert sol.value == pytest.approx(-150.0)
    assert list(sol.x) == [1.0, 1.0]
    vals = inst.first_stage_values(np.zeros(2))[0]  # decisions 00, 10, 01, 11 at ξ = 0
    assert vals == pytest.approx([0.0, -100.0, -100.0, -200.0])


@pytest.mark.parametrize("corr", CORRELATIONS)
def test_first_stage_values_match_second_stage_enumeration(corr: str) -> None:
    inst = sample_instance(6, corr, delta=1.0, h=40, budget_factor=0.15, seed=3)
    rng = np.random.default_rng(0)
    xi = np.clip(rng.uniform(size=(4, 6)) * inst.budget / 6 * 2, 0, 1)
    xi = xi * np.minimum(1.0, inst.budget / xi.sum(axis=1, keepdims=True))
    values = inst.first_stage_values(xi)
    decisions = inst.first_stage_decisions()
    for s in range(4):
        q = inst.second_stage_value(decisions, xi[s])
        np.testing.assert_allclose(values[s], q + decisions @ inst.first_stage_cost, rtol=1e-12, atol=1e-9)


def test_exact_solution_matches_brute_force_and_worst_case_bounds_samples() -> None:
    inst = sample_instance(5, "WC", delta=0.5, h=40, budget_factor=0.2, seed=7)
    brute = min(inst.worst_case(x).value for x in inst.first_stage_decisions())
    assert exact_robust_solution(inst).value == pytest.approx(brute, rel=1e-9)
    x = np.ones(5)
    wc = inst.worst_case(x)
    rng = np.random.default_rng(1)
    xi = rng.uniform(size=(300, 5))
    xi = xi * np.minimum(1.0, inst.budget / xi.sum(axis=1, keepdims=True))
    sampled = inst.second_stage_value(x, xi) + inst.first_stage_cost.sum()
    assert wc.value >= sampled.max() - 1e-9  # no sampled scenario beats the exact worst case
    assert inst.second_stage_value(x, wc.xi)[0] + inst.first_stage_cost.sum() == pytest.approx(wc.value)


def test_second_stage_matches_highs_milp() -> None:
    from scipy.optimize import Bounds, LinearConstraint, milp

    inst = sample_instance(6, "ASC", seed=5)
    rng = np.random.default_rng(2)
    n = inst.n
    for _ in range(5):
        x = (rng.uniform(size=n) < 0.7).astype(float)
        xi = rng.uniform(size=n) * 0.2
        c = np.concatenate([inst.p_hat * xi - inst.f, -inst.p_hat * xi])
        a = np.vstack([np.concatenate([inst.c, inst.t]), np.hstack([-np.eye(n), np.eye(n)])])
        res = milp(c, integrality=np.ones(2 * n), bounds=Bounds(np.zeros(2 * n), np.concatenate([x, x])),
                   constraints=LinearConstraint(a, -np.inf, np.concatenate([[inst.capacity], np.zeros(n)])),
                   options={"mip_rel_gap": 0.0})
        assert inst.second_stage_value(x, xi)[0] == pytest.approx(res.fun, abs=1e-6)


def test_generator_follows_the_published_procedure() -> None:
    inst = sample_instance(8, "SC", delta=0.5, h=80, budget_factor=0.2, seed=0)
    assert inst.n == 8 and inst.budget == pytest.approx(1.6)
    assert inst.capacity == pytest.approx(80 / 101 * inst.c.sum())
    np.testing.assert_allclose(inst.p_bar, inst.c + 100.0)
    assert np.all((inst.f / inst.p_bar >= 1.1) & (inst.f / inst.p_bar <= 1.5))
    ratio = inst.p_hat / inst.p_bar
    assert np.all((ratio >= 0.25) & (ratio <= 0.75))
    np.testing.assert_allclose(inst.t, 0.5 * inst.p_hat + inst.c / 10)
    same = sample_instance(8, "SC", delta=0.5, h=80, budget_factor=0.2, seed=0)
    np.testing.assert_array_equal(same.c, inst.c)
    assert inst.features.shape == (8, 7)


def test_bad_input_raises_named_errors() -> None:
    with pytest.raises(InvalidParameterError, match="'correlation'"):
        sample_instance(4, "XX")
    with pytest.raises(InvalidParameterError, match="'n'"):
        sample_instance(40)
    with pytest.raises(InvalidParameterError, match="'delta'"):
        sample_instance(4, delta=1.5)
    inst = one_item(20.0)
    with pytest.raises(InputDataError, match="'x'"):
        inst.second_stage_value([0.5], [0.0])
    with pytest.raises(InputDataError, match="'xi'"):
        inst.second_stage_value([1.0], [2.0])
    with pytest.raises(InputDataError, match="'x'"):
        inst.worst_case([np.nan])
    with pytest.raises(GuardoptError):
        KnapsackInstance(c=[1.0, np.inf], p_bar=[1.0, 1.0], p_hat=[0.0, 0.0], f=[2.0, 2.0], t=[1.0, 1.0],
                         capacity=1.0, budget=1.0)
    with pytest.raises(InvalidParameterError, match="'budget'"):
        KnapsackInstance(c=[1.0], p_bar=[1.0], p_hat=[0.0], f=[2.0], t=[1.0], capacity=1.0, budget=float("nan"))
