"""Closed-loop fairness environments: rates, invariants, residual signs, calibration and data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from guardopt.bandits.baselines import best_feasible_arm
from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems import fairness as F

ENV_NAMES = ("synthetic", "german", "compas")


@pytest.fixture(scope="module", params=ENV_NAMES)
def env(request) -> F.FairThresholdEnv:
    return F.make_env(request.param)


def test_beta_rates_closed_form() -> None:
    g = F.BetaScores(2.0, 3.0)
    acc, good = g.rates(np.array([0.0, 0.5, 1.0]))
    assert acc.tolist() == pytest.approx([1.0, stats.beta(2, 3).sf(0.5), 0.0])
    # E[s 1{s >= 0.5}] by quadrature
    x = np.linspace(0.5, 1.0, 20001)
    ref = np.trapezoid(x * stats.beta(2, 3).pdf(x), x)
    assert good[0] == pytest.approx(0.4) and good[1] == pytest.approx(ref, rel=1e-6) and good[2] == 0.0


def test_empirical_rates_hand_computed() -> None:
    g = F.EmpiricalScores(np.array([0.9, 0.1, 0.5, 0.5]), np.array([1, 0, 0, 1]))
    acc, good = g.rates(np.array([0.0, 0.5, 0.6, 1.0]))
    assert acc.tolist() == [1.0, 0.75, 0.25, 0.0]
    assert good.tolist() == [0.5, 0.5, 0.25, 0.0]
    with pytest.raises(InputDataError):
        F.EmpiricalScores(np.array([0.1, 0.2]), np.array([1, 2]))


def test_config_validation() -> None:
    with pytest.raises(InvalidParameterError, match="The 'kappa' parameter of FairLoopConfig"):
        F.FairLoopConfig(kappa=0.0)
    with pytest.raises(InvalidParameterError, match="The 'dp_form' parameter of FairLoopConfig"):
        F.FairLoopConfig(dp_form="relative")  # type: ignore[arg-type]


def test_shares_stay_in_bounds_under_any_threshold_sequence(env: F.FairThresholdEnv) -> None:
    rng = np.random.default_rng(0)
    loops = F.GridLoops(env, F.THRESHOLD_GRID, n_loops=16, seed=1)
    c = env.config
    lo, hi = min(c.p0, c.p_min), max(c.p0, c.p_max)
    for _ in range(300):
        res = loops.step(rng.integers(0, F.THRESHOLD_GRID.size, 16))
        assert np.all((loops.share >= lo - 1e-12) & (loops.share <= hi + 1e-12))
        assert np.all((res.acceptance >= 0) & (res.acceptance <= 1))
        assert np.all(np.isfinite(res.reward)) and np.all(np.isfinite(res.residuals))


def test_residual_signs_at_the_extremes(env: F.FairThresholdEnv) -> None:
    c = env.config
    reward, res = env.expected(np.array([0.0, 1.0 + 1e-9]), 0.3)
    assert env.residual_names == ("dp_gap_0_over_1", "dp_gap_1_over_0", "service_rate")
    # accept everyone: no parity gap, full service
    assert res[0, :2].tolist() == pytest.approx([-c.epsilon, -c.epsilon])
    assert res[0, 2] == pytest.approx(c.rho_min - 1.0) and res[0, 2] < 0
    # accept no one: parity holds trivially, the service rate is violated by rho_min
    assert res[1, 2] == pytest.approx(c.rho_min) and res[1, 2] > 0
    assert reward[1] == 0.0


def test_realized_residuals_are_unbiased_for_the_signed_form() -> None:
    env = F.synthetic_loop()
    loops = F.GridLoops(env, np.array([0.3]), n_loops=20000, seed=3)
    res = loops.step(np.zeros(20000, dtype=int))
    assert res.residuals.mean(axis=0) == pytest.approx(res.expected_residuals.mean(axis=0), abs=2e-3)
    assert res.reward.mean() == pytest.approx(res.expected_reward.mean(), abs=2e-3)


def test_oracle_margin_is_resolvable(env: F.FairThresholdEnv) -> None:
    share, reward, residuals = F.steady_state(env, F.THRESHOLD_GRID)
    k = best_feasible_arm(reward, residuals)
    assert k is not None
    assert -residuals[k].max() >= 0.02
    # the unconstrained optimum is infeasible, so the constraint binds
    assert residuals[int(np.argmax(reward))].max() > 0.05
    assert np.all((share > 0) & (share < 1))


def test_steady_state_matches_a_long_simulation() -> None:
    env = F.synthetic_loop()
    sweep = F.sweep_fixed_thresholds(env, F.THRESHOLD_GRID, 400, seed=0)
    share, reward, _ = F.steady_state(env, F.THRESHOLD_GRID)
    # Away from the clip at p_min the noisy loop settles where the noise-free one does (at the
    # clip, noise in the acceptance gap biases the clipped target upwards: Jensen).
    free = share > env.config.p_min + 0.05
    assert free.sum() >= 10
    assert sweep.share[-100:].mean(axis=0)[free] == pytest.approx(share[free], abs=0.01)
    assert sweep.expected_reward[-100:].mean(axis=0)[free] == pytest.approx(reward[free], abs=0.01)
    assert sweep.reward[-100:].mean(axis=0) == pytest.approx(sweep.expected_reward[-100:].mean(axis=0), abs=0.02)


def test_gym_style_api_is_seeded() -> None:
    env = F.synthetic_loop()

    def rollout(seed):
        obs, info = env.reset(seed=seed)
        assert obs.shape == (1,) and info["share"] == env.config.p0
        out = []
        for tau in (0.2, 0.5, 0.8):
            obs, reward, terminated, truncated, info = env.step(tau)
            assert not terminated and not truncated and info["residuals"].shape == (3,)
            out.append(reward)
        return out

    assert rollout(5) == rollout(5)
    assert rollout(5) != rollout(6)
    with pytest.raises(InputDataError):
        env.step(float("nan"))


def test_abs_form_has_one_parity_residual() -> None:
    env = F.synthetic_loop(F.FairLoopConfig(dp_form="abs", rho_min=None, epsilon=0.1))
    _, res = env.expected(np.array([0.5]), 0.4)
    a, _ = env.rates(np.array([0.5]))
    assert res.shape == (1, 1) and res[0, 0] == pytest.approx(abs(a[0, 0] - a[1, 0]) - 0.1)


def test_data_loaders() -> None:
    german = F.load_german_credit("age")
    assert german.X.shape[0] == 1000 and german.y.sum() == 700 and german.group.sum() == 190
    assert "age" not in german.feature_names
    sex = F.load_german_credit("sex")
    assert sex.group.sum() == 310 and not any(n.startswith("personal_status_sex") for n in sex.feature_names)
    compas = F.load_compas()
    assert compas.X.shape == (5278, 6) and compas.group.sum() == 3175
    assert compas.y.mean() == pytest.approx(1 - 0.47, abs=0.02)
    assert F.german_value_maps()["status"]["A11"].startswith("...")
