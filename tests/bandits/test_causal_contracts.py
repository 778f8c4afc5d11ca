"""Fail-closed contract of the causal-bandit package: adversarial input gives a valid result or a
GuardoptError naming the argument, never a raw numpy error, and non-finite data is never learned from."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from guardopt.bandits.causal import (
    CSLUCB,
    CSLUCBConfig,
    LinSEMTS,
    VanillaUCB,
    change_statistic,
    equal_variance_dag,
    ksg_mutual_information,
    learn_subgraph,
)
from guardopt.problems.linear_sem import LinearSEMBandit
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    finite_floats,
    float_arrays,
)

FINITE = finite_floats(-1e3, 1e3)


@contract_settings()
@given(st.one_of(adversarial_arrays(), float_arrays(shape=(12,)), float_arrays(shape=(12,), elements=FINITE)),
       st.one_of(adversarial_arrays(), float_arrays(shape=(12,)), float_arrays(shape=(12,), elements=FINITE)),
       st.one_of(st.integers(-2, 14), adversarial_scalars()))
def test_ksg_contract(x, y, k) -> None:  # type: ignore[no-untyped-def]
    out = assert_contract(ksg_mutual_information, x, y, k, names=("x", "y", "k"),
                          check=lambda v: isinstance(v, float) and math.isfinite(v))
    if out.ok:
        assert np.all(np.isfinite(np.asarray(x, dtype=float)))


@contract_settings()
@given(st.one_of(adversarial_arrays(), float_arrays(shape=(8,)), float_arrays(shape=(8,), elements=FINITE)),
       st.one_of(adversarial_floats(),
                                                                             adversarial_scalars()))
def test_change_statistic_contract(residuals, noise_std) -> None:  # type: ignore[no-untyped-def]
    assert_contract(change_statistic, residuals, noise_std, names=("residuals", "noise_std"),
                    check=lambda v: isinstance(v, float) and v >= -1e-9)  # Λ ≥ 0 (or +inf); never NaN


@contract_settings()
@given(st.one_of(adversarial_arrays(), float_arrays(shape=(10, 3)), float_arrays(shape=(10, 3), elements=FINITE)),
       st.one_of(adversarial_arrays(), float_arrays(shape=(10, 3)),
                 float_arrays(shape=(10, 3), elements=st.sampled_from([0.0, 1.0]))),
       st.sampled_from([0, 1, 2, -1]), st.one_of(adversarial_arrays(), float_arrays(shape=(3,))))
def test_learn_subgraph_contract(X, actions, regime, nu) -> None:  # type: ignore[no-untyped-def]
    assert_contract(learn_subgraph, X, actions, regime, nu, n_max=10, k=3,
                    names=("X", "actions", "regime", "noise_mean"))


@contract_settings()
@given(st.one_of(adversarial_arrays(), float_arrays(shape=(8, 2)), float_arrays(shape=(8, 2), elements=FINITE)),
       st.one_of(adversarial_arrays(), adversarial_scalars(), float_arrays(shape=(2,), elements=FINITE)))
def test_equal_variance_dag_contract(X, nu) -> None:  # type: ignore[no-untyped-def]
    assert_contract(equal_variance_dag, X, nu, names=("X", "noise_mean"))


NODES = st.one_of(adversarial_arrays(), float_arrays(shape=(3,)), float_arrays(shape=(3,), elements=FINITE),
                  st.lists(adversarial_floats(), min_size=3, max_size=3))
ROUNDS = st.lists(st.tuples(st.one_of(st.integers(-1, 9), adversarial_scalars()), NODES),
                  min_size=1, max_size=10)


@contract_settings()
@given(ROUNDS)
def test_csl_ucb_takes_any_round_and_never_learns_from_non_finite_data(rounds) -> None:  # type: ignore[no-untyped-def]
    bandit = CSLUCB(3, CSLUCBConfig(seed=0, n_warmup=2, n_max=4, k_neighbors=1))
    for action, nodes in rounds:
        before = bandit.n_rounds
        out = assert_contract(bandit.tell, action, nodes, names=("action", "nodes"))
        finite = np.all(np.isfinite(np.asarray(nodes, dtype=float))) if out.ok else False
        assert bandit.n_rounds == before + (1 if out.ok else 0)
        if out.ok:
            assert finite
        a = assert_contract(bandit.ask).result
        assert 0 <= a < 8


@contract_settings()
@given(ROUNDS)
def test_baselines_take_any_round(rounds) -> None:  # type: ignore[no-untyped-def]
    ucb = VanillaUCB(8, window=3)
    ts = LinSEMTS(np.stack([np.triu(np.ones((3, 3)), 1)] * 2), rng=0)
    for action, nodes in rounds:
        assert_contract(ucb.tell, action, nodes, names=("action", "reward"))
        assert_contract(ts.tell, action, nodes, names=("action", "nodes"))
        assert 0 <= assert_contract(ucb.ask).result < 8
        assert 0 <= assert_contract(ts.ask).result < 8


@contract_settings()
@given(st.one_of(adversarial_arrays(), float_arrays(shape=(3, 3))), st.one_of(adversarial_arrays(),
                                                                               float_arrays(shape=(3,))),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_linear_sem_construction_contract(B, nu, sd) -> None:  # type: ignore[no-untyped-def]
    out = assert_contract(LinearSEMBandit, B, np.zeros((3, 3)), nu, sd, names=("B", "BI", "noise_mean", "noise_std"))
    if out.ok:
        assert np.all(np.isfinite(out.result.expected_rewards()))
