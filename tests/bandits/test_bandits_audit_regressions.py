"""Regressions from the bandits audit: each test pins one defect (a raw numpy / networkx / Python error
on bad input, a fail-open guard, a misleading claim) that the fix turned into the library's own error or
a fail-closed result."""

from __future__ import annotations

import math

import numpy as np
import pytest

import guardopt as go
from guardopt.bandits import (
    OFS,
    UCB,
    ChebCB,
    GridConfig,
    OFSBandit,
    PrimalDual,
    PrimalDualBandit,
    SolverTuner,
    SolverTunerConfig,
    SolverTunerOptimizer,
    TsallisINF,
    TsallisINFConfig,
    UCBBandit,
    UCBConfig,
    ofs_ranking,
    simulate,
    tsallis_inf_probabilities,
)
from guardopt.bandits.causal import (
    LinSEMTS,
    action_bits,
    equal_variance_dag,
    fit_weights,
    is_dag,
    learn_subgraph,
    repair_to_dag,
    window_rows,
)
from guardopt.bandits.streaming import ArmStream, UniformExploration
from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.testing.contracts import names_parameter
from guardopt.uncertainty import Estimate

# ------------------------------------------------------------------------------------ grid bandits


def test_failed_first_round_does_not_make_the_failing_arm_attractive() -> None:
    # Arm 0 always fails (NaN reward). Its first failure used to be recorded as reward 0, above every
    # real reward here (-5.5, -6): its mean and variance then made UCB play it on most rounds and the
    # optimistic guard recommend it.
    b = UCBBandit(3, 0, UCBConfig(warmup_passes=2))
    rewards = {1: -5.5, 2: -6.0}
    for _ in range(40):
        arm = b.select()
        b.update(arm, rewards.get(arm, math.nan))
    assert b.t == 40
    assert b.counts[0] <= 6 < b.counts[1]
    assert b.stats.mean[0, 0] <= -5.5  # recorded at the worst reward seen, never above it
    assert b.recommend("optimistic") == 1 and b.recommend("pessimistic") == 1


def test_arms_whose_rounds_all_failed_are_never_recommended() -> None:
    for cls in (OFSBandit, UCBBandit, PrimalDualBandit):
        b = cls(3, 0)
        for t in range(12):
            b.update(t % 3, math.nan)
        assert b.recommend("pessimistic") is None and b.recommend("optimistic") is None
        b.update(1, 2.0)
        b.update(1, 2.5)
        # arm 1 now has data; arms 0 and 2 only failures (recorded at the worst reward, 2.0)
        assert b.recommend("pessimistic") == 1 and b.recommend("optimistic") == 1


def test_every_round_of_an_all_failing_study_recommends_nothing() -> None:
    study = go.Study(go.Space({"t": go.Real(0.0, 1.0)}), direction="maximize", optimizer=OFS(n_grid=3))
    study.optimize(lambda p: math.nan, n_trials=9, max_initial_failures=None)
    assert study.optimizer.recommend("pessimistic") is None


def test_grid_learners_refuse_a_config_of_the_wrong_kind() -> None:
    cases = [(OFSBandit, "x"), (OFSBandit, GridConfig()), (PrimalDualBandit, UCBConfig()), (UCBBandit, 3)]
    for cls, config in cases:
        with pytest.raises(InvalidParameterError, match="'config'"):
            cls(3, 1, config)  # type: ignore[arg-type]
    for opt in (OFS, UCB, PrimalDual):
        with pytest.raises(InvalidParameterError, match="'config'"):
            opt(config="x")  # type: ignore[arg-type]


def test_grid_optimizer_refuses_arms_that_are_not_points() -> None:
    with pytest.raises(InvalidParameterError, match="'arms'"):
        OFS(arms=[1, 2])  # type: ignore[list-item]


def test_shrunk_radii_claim_no_confidence() -> None:
    b = UCBBandit(1, 0, UCBConfig(radius_scale=0.0, delta=0.05, warmup_passes=0))
    for v in (0.0, 1.0, 0.5):
        b.update(0, v)
    reward, _ = b.estimates()
    assert reward.lower[0] == reward.upper[0] == 0.5  # no radius at all
    assert reward.confidence == 0.0
    full = UCBBandit(1, 0, UCBConfig(delta=0.05, warmup_passes=0))
    assert full.estimates()[0].confidence == pytest.approx(0.9)


def test_ofs_ranking_refuses_residuals_of_another_size() -> None:
    def est(k: int) -> Estimate:
        m = np.arange(float(k))
        return Estimate(m, m - 1, m + 1, 0.9, np.full(k, 3), "x")

    with pytest.raises(InputDataError, match="'residuals'"):
        ofs_ranking(est(2), est(3))
    with pytest.raises(InputDataError, match="'residuals'"):
        ofs_ranking(est(2), [est(2), est(3)])
    with pytest.raises(InvalidParameterError, match="'residuals'"):
        ofs_ranking(est(2), ["not an estimate"])  # type: ignore[list-item]
    assert sorted(ofs_ranking(est(2), est(2)).tolist()) == [0, 1]


# ------------------------------------------------------------------------------------ streaming


@pytest.mark.parametrize("means", [["a", "b"], [object()], [[0.1, 0.2], [0.3]]])
def test_arm_stream_refuses_non_numeric_means_with_its_own_error(means) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameterError, match="'means'"):
        ArmStream(means, 10, 2)
    with pytest.raises(InvalidParameterError, match="'means'"):
        simulate(UniformExploration(), means, 10)


def test_simulate_refuses_a_non_algorithm() -> None:
    with pytest.raises(InvalidParameterError, match="'algorithm'"):
        simulate(None, [0.5, 0.6], 10)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ solver tuning


def test_tsallis_probabilities_refuse_a_bad_iteration_cap() -> None:
    # max_iter=0 used to return an unconverged "distribution" ((0.69, 0.31) instead of (0.64, 0.36)).
    for bad in (0, -1, "a", True, 2.5):
        with pytest.raises(InvalidParameterError, match="'max_iter'"):
            tsallis_inf_probabilities([0.0, 5 / 12], 2.0, max_iter=bad)  # type: ignore[arg-type]
    np.testing.assert_allclose(tsallis_inf_probabilities([0.0, 5 / 12], 2.0, max_iter=10), [0.64, 0.36])


def test_tsallis_update_uses_the_probability_as_a_number() -> None:
    b = TsallisINF(TsallisINFConfig(n_arms=2, seed=0, loss_scale=1.0))
    b.update(1, 3.0, np.float32(0.5))
    b.update(0, 1.0, "0.25")  # type: ignore[arg-type]  # used to raise a raw TypeError
    np.testing.assert_allclose(b.cumulative_losses, [4.0, 6.0])


def test_learners_refuse_a_config_of_the_wrong_kind() -> None:
    for build, name in ((lambda: TsallisINF(None), "config"),  # type: ignore[arg-type]
                        (lambda: ChebCB("x"), "config"),  # type: ignore[arg-type]
                        (lambda: SolverTuner("tsallis-inf"), "config"),  # type: ignore[arg-type]
                        (lambda: SolverTunerOptimizer("tsallis-inf"), "config"),  # type: ignore[arg-type]
                        (lambda: SolverTuner(SolverTunerConfig(learner="oracle"), oracle=3), "oracle"),
                        (lambda: SolverTunerConfig(context_key=3), "context_key"),  # type: ignore[arg-type]
                        (lambda: SolverTunerConfig(context_low="abc"), "context_low")):  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError) as info:
            build()
        assert names_parameter(info.value, [name])


@pytest.mark.parametrize("value", ["abc", np.array([1.2, 1.3]), None, True])
def test_an_oracle_returning_a_non_omega_is_refused(value) -> None:  # type: ignore[no-untyped-def]
    tuner = SolverTuner(SolverTunerConfig(learner="oracle"), oracle=lambda context: value)
    with pytest.raises(InputDataError, match="oracle"):
        tuner.ask()


# ------------------------------------------------------------------------------------ causal


def test_structure_helpers_raise_their_own_errors() -> None:
    cycle = np.array([[0, 1], [1, 0]])
    calls = [
        (lambda: is_dag("abc"), InputDataError, "adjacency"),
        (lambda: is_dag(np.ones((2, 3))), InputDataError, "adjacency"),
        (lambda: repair_to_dag(np.ones((2, 3)), lambda n, p: np.zeros(p.size)), InputDataError, "adjacency"),
        (lambda: repair_to_dag("ab", lambda n, p: np.zeros(p.size)), InputDataError, "adjacency"),
        (lambda: repair_to_dag(np.array([[0, 2], [0.5, 0]]), lambda n, p: np.zeros(p.size)), InputDataError,
         "adjacency"),
        (lambda: repair_to_dag(cycle, lambda n, p: np.zeros(5)), InputDataError, "rescore"),
        (lambda: window_rows(np.zeros((5, 2)), 3, 0), InputDataError, "node"),
        (lambda: action_bits(-1), InvalidParameterError, "n_nodes"),
        (lambda: action_bits(100), InvalidParameterError, "n_nodes"),
        (lambda: LinSEMTS(np.full((2, 2, 2), 0.5)), InputDataError, "parents"),
    ]
    for call, kind, name in calls:
        with pytest.raises(kind) as info:
            call()
        assert names_parameter(info.value, [name]), info.value


def test_learn_subgraph_and_fit_weights_validate_their_arguments() -> None:
    rng = np.random.default_rng(0)
    X, A = rng.normal(size=(40, 3)), rng.integers(0, 2, (40, 3))
    adj = np.ones((3, 3)) - np.eye(3)
    for regime in (True, 1.0, np.array([0, 1])):
        with pytest.raises(InputDataError, match="'regime'"):
            learn_subgraph(X, A, regime, np.ones(3))  # type: ignore[arg-type]
        with pytest.raises(InputDataError, match="'regime'"):
            fit_weights(X, A, regime, np.ones(3), adj)  # type: ignore[arg-type]
    for weight in (math.nan, "a", -1.0):
        with pytest.raises(InvalidParameterError, match="'mi_weight'"):
            learn_subgraph(X, A, 0, np.ones(3), mi_weight=weight)  # type: ignore[arg-type]
    bad = [("abc", A, np.ones(3), adj, "X"), (np.full((40, 3), np.nan), A, np.ones(3), adj, "X"),
           (X, A, np.ones(2), adj, "noise_mean"), (X, A, np.ones(3), np.ones((2, 2)), "adjacency")]
    for x, a, nu, g, name in bad:
        with pytest.raises(GuardoptError) as info:
            fit_weights(x, a, 0, nu, g)
        assert names_parameter(info.value, [name]), info.value
    W = fit_weights(X, A, 0, np.ones(3), adj)
    assert W.shape == (3, 3) and np.all(np.diag(W) == 0)


def test_equal_variance_dag_threshold_must_be_a_number() -> None:
    X = np.random.default_rng(0).normal(size=(30, 3))
    for thr in ("a", True, None, -0.1):
        with pytest.raises(InputDataError, match="'threshold'"):
            equal_variance_dag(X, np.ones(3), thr)  # type: ignore[arg-type]


def test_csl_ucb_docstring_example_runs() -> None:
    # The example passed seed=[0, t] to LinearSEMBandit.sample, which refuses a list seed.
    import doctest

    from guardopt.bandits.causal import csl_ucb

    result = doctest.testmod(csl_ucb)
    assert result.attempted > 0 and result.failed == 0


def test_best_feasible_arm_never_returns_an_infeasible_arm_on_a_minus_inf_tie() -> None:
    from guardopt.bandits import best_feasible_arm

    # arm 0 is infeasible (NaN residual), arm 1 feasible with reward -inf: masking arm 0 with -inf tied them
    assert best_feasible_arm(np.array([np.nan, -np.inf]), np.array([np.nan, -np.inf])) == 1


def test_lin_sem_ts_refuses_values_that_would_make_its_posterior_singular() -> None:
    from guardopt.bandits.causal.baselines import LinSEMTS

    ts = LinSEMTS(np.stack([np.triu(np.ones((3, 3)), 1)] * 2), rng=0)
    with pytest.raises(InputDataError, match="'nodes'"):
        ts.tell(0, np.full(3, 94906266.0))  # its square swamps the unit prior: V is singular in float64
    assert 0 <= ts.ask() < 8  # nothing was updated, so the posterior still factors
    ts.tell(0, np.array([1.0, 2.0, 3.0]))
    assert 0 <= ts.ask() < 8
