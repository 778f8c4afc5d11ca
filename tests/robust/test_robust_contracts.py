"""Fail-closed contract of the robust package and the knapsack evaluator.

Adversarial arrays and scalars (NaN, ±inf, huge, empty, wrong shape or type) give a valid result or a
`GuardoptError` naming the parameter; a projection never leaves the set; a worst case is never
computed from non-finite data.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from guardopt.problems.knapsack import KnapsackInstance, sample_instance
from guardopt.robust.baselines import scenario_solution
from guardopt.robust.config import AdversaryConfig, MLCCGConfig, SetEncoderConfig
from guardopt.robust.problem import project_budgeted_box, sample_budgeted_box
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    finite_floats,
)

INSTANCE = sample_instance(4, "UN", seed=0)


@contract_settings()
@given(adversarial_arrays(max_dims=2), st.one_of(st.just(1.5), adversarial_scalars()))
def test_projection_lands_in_the_set(xi, budget) -> None:  # type: ignore[no-untyped-def]
    out = assert_contract(project_budgeted_box, xi, budget, names=("xi", "budget"))
    if out.ok:
        p = np.atleast_2d(out.result)
        assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
        assert (p.sum(axis=1) <= float(budget) + 1e-7 * p.shape[1]).all()


@contract_settings()
@given(st.one_of(st.integers(1, 5), adversarial_scalars()), st.one_of(st.just(1.0), adversarial_scalars()),
       st.one_of(st.integers(0, 5), adversarial_scalars()))
def test_sampling_takes_any_arguments(n, budget, size) -> None:  # type: ignore[no-untyped-def]
    out = assert_contract(sample_budgeted_box, n, budget, size, np.random.default_rng(0),
                          names=("n", "budget", "size"))
    if out.ok:
        assert out.result.shape == (int(size), int(n)) and (out.result >= 0).all()


@contract_settings(0.5)
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=2))
def test_second_stage_value_takes_any_x_and_xi(x, xi) -> None:  # type: ignore[no-untyped-def]
    out = assert_contract(INSTANCE.second_stage_value, x, xi, names=("x", "xi"))
    if out.ok:
        assert np.isfinite(out.result).all() and (out.result <= 1e-9).all()


@contract_settings(0.5)
@given(adversarial_arrays(max_dims=2))
def test_worst_case_never_runs_on_bad_data(x) -> None:  # type: ignore[no-untyped-def]
    out = assert_contract(INSTANCE.worst_case, x, names=("x",))
    if out.ok:
        assert np.isfinite(out.result.value)
        assert out.result.xi.sum() <= INSTANCE.budget + 1e-7


@contract_settings(0.5)
@given(adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1), st.one_of(finite_floats(0, 10),
                                                                                 adversarial_scalars()))
def test_instance_constructor(c, p, capacity) -> None:  # type: ignore[no-untyped-def]
    out = assert_contract(KnapsackInstance, c, p, p, p, p, capacity, 1.0,
                          names=("c", "p_bar", "p_hat", "f", "t", "capacity", "budget"))
    if out.ok:
        assert out.result.n >= 1


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars(), adversarial_scalars())
def test_configs_take_any_scalars(a, b, c) -> None:  # type: ignore[no-untyped-def]
    assert_contract(AdversaryConfig, a, b, c, names=("restarts", "steps", "lr"))
    assert_contract(MLCCGConfig, a, b, c, names=("max_iterations", "tol", "repeat_tol"))
    assert_contract(SetEncoderConfig, (4,), (), a, (), b, names=("embedding_dim", "epochs"))


@contract_settings(0.5)
@given(st.one_of(st.integers(0, 20), adversarial_scalars()))
def test_scenario_baseline_takes_any_count(count) -> None:  # type: ignore[no-untyped-def]
    out = assert_contract(scenario_solution, INSTANCE, count, np.random.default_rng(0), names=("n_scenarios",))
    if out.ok:
        assert set(np.unique(out.result.x)) <= {0.0, 1.0}
