"""OFS's selection rule on hand-built statistics, its learners, the baselines and the Study adapter."""

from __future__ import annotations

import numpy as np
import pytest

import guardopt as go
from guardopt.bandits.baselines import (
    UCB,
    PrimalDual,
    PrimalDualBandit,
    PrimalDualConfig,
    UCBBandit,
    best_feasible_arm,
)
from guardopt.bandits.ofs import OFS, OFSBandit, OFSConfig, ofs_ranking, ofs_select
from guardopt.testing import check_optimizer
from guardopt.uncertainty import Estimate

INF = np.inf


def est(mean: list[float], radius: list[float] | float) -> Estimate:
    m = np.asarray(mean, dtype=float)
    r = np.broadcast_to(np.asarray(radius, dtype=float), m.shape)
    return Estimate(m, m - r, m + r, 0.9, np.full(m.shape, 10), "hand")


# -- the rule on hand-built statistics -------------------------------------------------------------


def test_feasible_set_nonempty_picks_largest_ucb_among_feasible() -> None:
    reward = est([0.5, 0.9, 0.7, 0.3], 0.1)  # UCB 0.6, 1.0, 0.8, 0.4
    # LCB of the residual: -0.15, 0.25, -0.05, -0.5 -> arms 0, 2, 3 plausibly feasible
    residual = est([-0.05, 0.35, 0.05, -0.4], 0.1)
    assert ofs_select(reward, [residual]) == 2
    assert ofs_ranking(reward, [residual]).tolist() == [2, 0, 3, 1]


def test_empty_feasible_set_picks_smallest_optimistic_violation() -> None:
    reward = est([0.9, 0.1, 0.5], 0.1)
    # two constraints; LCBs: arm0 (0.3, 0.0) -> 0.3; arm1 (0.05, 0.1) -> 0.15; arm2 (0.2, -0.1) -> 0.2
    g1 = est([0.4, 0.15, 0.3], 0.1)
    g2 = est([0.1, 0.2, 0.0], 0.1)
    assert ofs_select(reward, [g1, g2]) == 1
    assert ofs_ranking(reward, [g1, g2]).tolist() == [1, 2, 0]
    # the same constraints as one (K, m) estimate give the same order
    both = Estimate(np.stack([g1.mean, g2.mean], 1), np.stack([g1.lower, g2.lower], 1),
                    np.stack([g1.upper, g2.upper], 1), 0.9, np.full(3, 10), "hand")
    assert ofs_ranking(reward, both).tolist() == [1, 2, 0]


def test_ties_go_to_the_smaller_index() -> None:
    reward = est([0.5, 0.7, 0.7, 0.7], 0.0)
    residual = est([-1.0, 0.5, -1.0, -1.0], 0.0)  # arm 1 infeasible
    assert ofs_select(reward, [residual]) == 2
    # infeasible everywhere with equal violations -> smallest index
    residual = est([0.2, 0.1, 0.1, 0.3], 0.0)
    assert ofs_select(reward, [residual]) == 1


def test_pessimistic_mode_uses_upper_bounds() -> None:
    reward = est([0.2, 0.8], 0.05)
    residual = est([-0.3, -0.02], 0.05)  # arm 1: LCB -0.07 (plausibly feasible), UCB 0.03 (not certified)
    assert ofs_select(reward, [residual], mode="optimistic") == 1
    assert ofs_select(reward, [residual], mode="pessimistic") == 0
    # nothing certified: the smallest pessimistic violation
    residual = est([0.1, -0.02], 0.05)
    assert ofs_select(reward, [residual], mode="pessimistic") == 1


def test_nan_residual_is_infeasible_and_unexplored_arm_is_promising() -> None:
    nan = np.nan
    reward = Estimate(np.array([0.5, 0.6, nan]), np.array([0.4, 0.5, -INF]), np.array([0.6, 0.7, INF]),
                      0.9, np.array([5, 5, 0]), "hand")
    residual = Estimate(np.array([-0.1, nan, nan]), np.array([-0.2, nan, -INF]), np.array([0.0, nan, INF]),
                        0.9, np.array([5, 5, 0]), "hand")
    ranking = ofs_ranking(reward, [residual])
    assert ranking[0] == 2  # unexplored: UCB = +inf, LCB = -inf
    assert ranking[-1] == 1  # NaN residual: never feasible, infinite violation
    assert ofs_select(reward, [residual], mode="pessimistic") == 0


def test_no_constraints_reduces_to_ucb() -> None:
    reward = est([0.1, 0.3, 0.2], [0.5, 0.1, 0.3])
    assert ofs_select(reward, None) == 0
    assert ofs_select(reward, []) == 0


# -- learners --------------------------------------------------------------------------------------


def _run(learner, means, gaps, horizon, seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    played = np.zeros(len(means), dtype=int)
    for _ in range(horizon):
        a = learner.select()
        played[a] += 1
        learner.update(a, means[a] + noise * rng.standard_normal(), [gaps[a] + noise * rng.standard_normal()])
    return played


MEANS = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
GAPS = np.array([-0.3, -0.2, -0.1, 0.1, 0.2])  # arm 2 is the best feasible arm


def test_ofs_concentrates_on_the_best_feasible_arm() -> None:
    played = _run(OFSBandit(5, 1), MEANS, GAPS, 600)
    assert played.argmax() == 2 and played[2] > 450
    assert played[3] + played[4] < 60


def test_safe_mode_violates_less_than_optimistic() -> None:
    opt = _run(OFSBandit(5, 1), MEANS, GAPS, 600, seed=1)
    safe = _run(OFSBandit(5, 1, OFSConfig(mode="pessimistic")), MEANS, GAPS, 600, seed=1)
    assert safe[3:].sum() <= opt[3:].sum()


def test_ucb_ignores_constraints_and_primal_dual_respects_them_on_average() -> None:
    ucb = _run(UCBBandit(5, 1), MEANS, GAPS, 600)
    assert ucb.argmax() == 4
    pd = PrimalDualBandit(5, 1, PrimalDualConfig(dual_step=1.0))
    played = _run(pd, MEANS, GAPS, 600)
    assert played[:3].sum() > played[3:].sum()
    assert pd.dual[0] > 0


def test_primal_dual_dual_update_is_projected_ascent() -> None:
    pd = PrimalDualBandit(2, 2, PrimalDualConfig(dual_step=0.5, dual_max=1.0, warmup_passes=0))
    pd.update(0, 1.0, [0.4, -0.2])
    assert pd.dual.tolist() == pytest.approx([0.2, 0.0])
    pd.update(0, 1.0, [4.0, -0.2])
    assert pd.dual.tolist() == pytest.approx([1.0, 0.0])


def test_best_feasible_arm() -> None:
    reward = np.array([0.1, 0.5, 0.9, 0.5])
    residuals = np.array([[-0.5], [-0.01], [0.2], [-0.3]])
    assert best_feasible_arm(reward, residuals) == 1  # tie 0.5 / 0.5: smaller index
    assert best_feasible_arm(reward, residuals, margin=0.02) == 3
    assert best_feasible_arm(reward, np.array([[1.0], [np.nan], [0.1], [0.2]])) is None


# -- the Study adapter and the conformance kit -----------------------------------------------------


def _study(opt, seed=0):
    rng = np.random.default_rng(seed)
    study = go.Study(go.Space({"threshold": go.Real(0.0, 1.0)}), direction="maximize",
                     constraints={"gap": ("<=", 0.1)}, optimizer=opt)

    def objective(p):
        t = p["threshold"]
        return {"value": t + 0.02 * rng.standard_normal(), "gap": t**2 + 0.01 * rng.standard_normal()}

    study.optimize(objective, n_trials=150)
    return study


def test_ofs_runs_in_a_study_and_recommends_a_feasible_threshold() -> None:
    study = _study(OFS(n_grid=11))
    best = study.best(guard="pessimistic")
    assert best is not None and best.params["threshold"] in (0.2, 0.3)
    counts = np.bincount([round(t.params["threshold"] * 10) for t in study.trials], minlength=11)
    assert counts.argmax() == 3


def test_minimize_direction_is_respected() -> None:
    study = go.Study(go.Space({"x": go.Choice([1.0, 2.0, 3.0])}), direction="minimize", optimizer=OFS())
    study.optimize(lambda p: (p["x"] - 2.0) ** 2, n_trials=20)
    assert [t.params["x"] for t in study.trials][-5:] == [2.0] * 5


def test_batch_asks_are_distinct_and_failed_trials_count_as_violations() -> None:
    opt = OFS(n_grid=5)
    study = go.Study(go.Space({"t": go.Real(0.0, 1.0)}), constraints={"c": ("<=", 0.0)}, optimizer=opt)
    batch = study.ask_batch(5)
    assert len({t.params["t"] for t in batch}) == 5
    for t in batch:
        study.tell(t, RuntimeError("boom") if t.params["t"] == 0.0 else {"value": 1.0, "c": -1.0})
    assert opt.bandit.stats.mean[0, 1] == opt.config.failure_residual


@pytest.mark.parametrize("factory", [lambda seed: OFS(OFSConfig(mode="pessimistic"), n_grid=9),
                                     lambda seed: UCB(n_grid=9), lambda seed: PrimalDual(n_grid=9)],
                         ids=["ofs-safe", "ucb", "primal-dual"])
def test_conformance_kit(factory) -> None:
    check_optimizer(factory, space=go.Space({"x": go.Real(-2.0, 2.0)}), objective=lambda p: (p["x"] - 0.3) ** 2,
                    deterministic_only=True, n_trials=24)


def test_conformance_kit_ofs_default_space() -> None:
    # OFS on the kit's own mixed space (two reals, an integer, a choice): a product grid of arms.
    check_optimizer(lambda seed: OFS(n_grid=5), deterministic_only=True, n_trials=24)


def test_pending_arms_are_asked_last() -> None:
    opt = OFS(n_grid=5, config=OFSConfig(warmup_passes=0))
    study = go.Study(go.Space({"t": go.Real(0.0, 1.0)}), direction="maximize", optimizer=opt)
    first, second = study.ask(), study.ask()
    assert first.params != second.params  # the first is still being evaluated
    study.tell(first, 1.0)
    study.tell(second, 0.0)
    assert opt._pending == {0: 0, 1: 0}


def test_ofs_study_on_the_compas_loop_finds_the_oracle_threshold() -> None:
    # The docs/bandits.md snippet: the environment's residuals are the study's constraints.
    from guardopt.problems.fairness import compas_loop

    env = compas_loop()
    env.reset(seed=0)
    names = env.residual_names

    def one_round(p):
        _, reward, _, _, info = env.step(p["threshold"])
        return {"value": reward, **dict(zip(names, info["residuals"].tolist()))}

    study = go.Study(go.Space({"threshold": go.Real(0.0, 1.0)}), direction="maximize",
                     constraints={n: ("<=", 0.0) for n in names}, optimizer=OFS())
    study.optimize(one_round, n_trials=600)
    assert study.best(guard="pessimistic").params == {"threshold": 0.25}
