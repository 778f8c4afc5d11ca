"""MultiObjectiveGP: EHVI (analytic vs Monte Carlo), ParEGO's scalarization, guarded fronts, conformance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

import guardopt as go
from guardopt.bo import acquisition as acq
from guardopt.bo.multiobjective import (
    MOGPConfig,
    MultiObjectiveGP,
    augmented_chebyshev,
    ehvi_analytic,
    ehvi_monte_carlo,
    log_ehvi,
)
from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.core.pareto import hypervolume, hypervolume_improvement
from guardopt.core.trial import TrialState
from guardopt.testing.conformance import OptimizerChecks
from guardopt.testing.contracts import adversarial_arrays, adversarial_floats, assert_contract, contract_settings

FAST = {"n_candidates": 256, "n_local": 8, "n_restarts": 1}


def _psi(u: float, mu: float, sd: float) -> float:
    """E[(u - Y)_+] for Y ~ N(mu, sd^2), by the textbook formula."""
    z = (u - mu) / sd
    return (u - mu) * norm.cdf(z) + sd * norm.pdf(z)


# ------------------------------------------------------------------- EHVI values


def test_ehvi_with_an_empty_front_is_a_product_of_one_dimensional_terms() -> None:
    # No front: the improvement is the box [Y, ref], so EHVI = E[(1 - Y1)_+] E[(1 - Y2)_+] = 1.0833^2.
    got = ehvi_analytic([[0.0, 0.0]], [[1.0, 1.0]], np.empty((0, 2)), [1.0, 1.0])
    assert got[0] == pytest.approx(_psi(1, 0, 1) ** 2, rel=1e-9)
    assert got[0] == pytest.approx(1.17355, abs=1e-4)


def test_ehvi_with_one_objective_is_expected_improvement() -> None:
    mu, sd = np.array([[0.3], [1.5]]), np.array([[0.4], [0.2]])
    got = ehvi_analytic(mu, sd, [[1.0]], [5.0])
    want = acq.expected_improvement(mu[:, 0], sd[:, 0], 1.0)
    assert got == pytest.approx(want, rel=1e-9)


def test_ehvi_at_vanishing_noise_is_the_hypervolume_improvement() -> None:
    front = np.array([[1.0, 3.0], [3.0, 1.0]])
    mu = np.array([[1.0, 1.0], [2.0, 2.0], [3.5, 3.5]])
    got = ehvi_analytic(mu, np.full_like(mu, 1e-9), front, [4.0, 4.0])
    assert got == pytest.approx(hypervolume_improvement(mu, front, [4.0, 4.0]), abs=1e-6)
    assert got[0] == pytest.approx(4.0, abs=1e-6)  # the whole 3x3 square less the front's 5


@pytest.mark.parametrize("k", [2, 3])
def test_ehvi_analytic_and_monte_carlo_agree(k: int) -> None:
    rng = np.random.default_rng(k)
    front = rng.random((6, k))
    ref = np.full(k, 1.1)
    mu, sd = rng.random((8, k)), 0.05 + 0.3 * rng.random((8, k))
    exact = ehvi_analytic(mu, sd, front, ref)
    mc = ehvi_monte_carlo(mu, sd, front, ref, n_samples=4096, seed=1)
    assert mc == pytest.approx(exact, rel=0.03, abs=1e-4)


def test_log_ehvi_ranks_far_candidates_where_ehvi_underflows() -> None:
    mu = np.array([[30.0, 30.0], [40.0, 40.0]])
    sd = np.full((2, 2), 0.3)
    lv = log_ehvi(mu, sd, [[0.5, 0.5]], [1.0, 1.0])
    assert np.all(np.isfinite(lv)) and lv[0] > lv[1]
    assert ehvi_analytic(mu, sd, [[0.5, 0.5]], [1.0, 1.0]).tolist() == [0.0, 0.0]


def test_ehvi_input_errors() -> None:
    with pytest.raises(InputDataError, match="mu"):
        log_ehvi([[0.0, np.nan]], [[1.0, 1.0]], [], [1.0, 1.0])
    with pytest.raises(InputDataError, match="sigma"):
        log_ehvi([[0.0, 0.0]], [[-1.0, 1.0]], [], [1.0, 1.0])
    with pytest.raises(InputDataError, match="ref"):
        log_ehvi([[0.0, 0.0]], [[1.0, 1.0]], [], [1.0])


# ------------------------------------------------------------------- ParEGO


def test_augmented_chebyshev_values_by_hand() -> None:
    f = [[0.2, 0.8], [0.5, 0.5]]
    # w f = (0.1, 0.4): 0.4 + 0.05 * 0.5;  (0.25, 0.25): 0.25 + 0.05 * 0.5.
    assert augmented_chebyshev(f, [0.5, 0.5], 0.05).tolist() == pytest.approx([0.425, 0.275])
    # All weight on f1: 0.2 + 0.05 * 0.2; rho = 0 is the plain weighted Chebyshev norm.
    assert augmented_chebyshev([[0.2, 0.8]], [1.0, 0.0], 0.05).tolist() == pytest.approx([0.21])
    assert augmented_chebyshev([[0.2, 0.8]], [0.3, 0.7], 0.0).tolist() == pytest.approx([0.56])
    with pytest.raises(InputDataError, match="weights"):
        augmented_chebyshev(f, [-1.0, 2.0])
    with pytest.raises(InputDataError, match="shape"):
        augmented_chebyshev(f, [1.0])


# ------------------------------------------------------------------- the optimizer


def test_config_errors_name_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="acquisition"):
        MOGPConfig(acquisition="nsga")
    with pytest.raises(InvalidParameterError, match="ehvi_method"):
        MOGPConfig(ehvi_method="exact")
    with pytest.raises(InputDataError, match="reference_point"):
        MOGPConfig(reference_point=(1.0, math.nan))
    with pytest.raises(InvalidParameterError, match="'n_initial'"):
        MultiObjectiveGP(config=MOGPConfig(), n_initial=3)
    with pytest.raises(InvalidParameterError, match="'acquisition'"):
        MultiObjectiveGP("parego", config=MOGPConfig())
    with pytest.raises(InvalidParameterError, match="reference_point"):
        go.Study(go.Space({"x": go.Real(0, 1)}), directions=["minimize", "minimize"],
                 optimizer=MultiObjectiveGP(reference_point=(1.0, 1.0, 1.0)))


def _two_bowls(p: dict) -> list[float]:
    return [(p["x"] - 0.2) ** 2 + p["y"] ** 2, (p["x"] - 0.8) ** 2 + (p["y"] - 0.5) ** 2]


SPACE2 = go.Space({"x": go.Real(0, 1), "y": go.Real(0, 1)})


@pytest.mark.parametrize("acquisition", ["ehvi", "parego"])
def test_both_acquisitions_beat_their_own_initial_design(acquisition: str) -> None:
    s = go.Study(SPACE2, directions=["minimize", "minimize"],
                 optimizer=MultiObjectiveGP(acquisition, seed=0, n_initial=5, reference_point=(1.0, 1.0), **FAST))
    s.optimize(_two_bowls, n_trials=12)
    vals = np.array([t.values for t in s.trials])
    assert hypervolume(vals, [1.0, 1.0]) > hypervolume(vals[:5], [1.0, 1.0])


def test_ehvi_mc_path_runs_and_batches_are_distinct() -> None:
    opt = MultiObjectiveGP(seed=1, n_initial=4, ehvi_method="mc", mc_samples=32, **FAST)
    s = go.Study(SPACE2, directions=["minimize", "maximize"], optimizer=opt)
    s.optimize(lambda p: [p["x"], p["y"] - p["x"]], n_trials=5)
    batch = s.ask_batch(3)
    assert len({tuple(t.params.values()) for t in batch}) == 3


def test_reference_point_is_inferred_from_feasible_points() -> None:
    opt = MultiObjectiveGP(seed=0)
    s = go.Study(SPACE2, directions=["minimize", "maximize"], optimizer=opt, constraints={"c": ("<=", 0.0)})
    for x, values, c in [(0.1, [1.0, 4.0], -1.0), (0.2, [3.0, 2.0], -1.0), (0.3, [100.0, -100.0], 1.0)]:
        s.enqueue({"x": x, "y": 0.5})
        s.tell(s.ask(), {"values": values, "c": c})
    # Feasible losses (1, -4), (3, -2): nadir (3, -2) plus 10% of the range (2, 2).
    assert opt.reference_point().tolist() == pytest.approx([3.2, -1.8])


def test_pessimistic_front_is_feasible_as_measured_and_under_the_bound() -> None:
    rng = np.random.default_rng(0)

    def noisy(p: dict) -> dict:
        c = p["x"] - 0.6 + 0.05 * rng.normal()
        return {"values": [p["x"] + 0.05 * rng.normal(), 1 - p["x"] + 0.05 * rng.normal()], "c": c}

    opt = MultiObjectiveGP(seed=2, n_initial=6, **FAST)
    s = go.Study(go.Space({"x": go.Real(0, 1)}), directions=["minimize", "minimize"], optimizer=opt,
                 constraints={"c": ("<=", 0.0)})
    s.optimize(noisy, n_trials=10)
    measured = s.pareto_front()
    guarded = s.pareto_front("pessimistic")
    assert all(t.state is TrialState.COMPLETE and t.constraints["c"] <= 0.0 for t in guarded)
    assert sorted(map(str, opt.recommend_front("none"))) == sorted(str(dict(t.params)) for t in measured)
    # The bounds are the GP's: a point measured feasible whose constraint's upper bound is above 0
    # is left out, so the guarded set is never larger than the measured-feasible set.
    feasible = [t for t in s.trials if t.state is TrialState.COMPLETE and t.constraints["c"] <= 0.0]
    assert {t.number for t in guarded} <= {t.number for t in feasible}


def test_unfittable_history_still_asks_valid_points() -> None:
    s = go.Study(SPACE2, directions=["minimize", "minimize"], optimizer=MultiObjectiveGP(seed=0, n_initial=3))
    for _ in range(5):
        s.tell(s.ask(), [math.nan, 1.0])  # every trial FAILED: no model, random points not tried before
    keys = {tuple(t.params.values()) for t in s.trials}
    assert len(keys) == 5


def test_conformance_multi_objective_ehvi() -> None:
    OptimizerChecks(lambda seed: MultiObjectiveGP(seed=seed, n_initial=6, **FAST), n_trials=9,
                    directions=("minimize", "maximize")).run_all(cross_process=True)


def test_conformance_parego_and_single_objective() -> None:
    OptimizerChecks(lambda seed: MultiObjectiveGP("parego", seed=seed, n_initial=6, **FAST), n_trials=9,
                    directions=("minimize", "minimize")).run_all(cross_process=False)
    OptimizerChecks(lambda seed: MultiObjectiveGP(seed=seed, n_initial=6, **FAST), n_trials=8).run_all(
        cross_process=False)


# ------------------------------------------------------------------- contracts


@contract_settings(scale=0.6)
@given(adversarial_arrays(min_dims=0, max_dims=2, max_side=3), adversarial_arrays(min_dims=0, max_dims=2, max_side=3),
       st.lists(adversarial_floats(), min_size=1, max_size=3))
def test_log_ehvi_takes_anything(mu: object, sigma: object, ref: list[float]) -> None:
    out = assert_contract(log_ehvi, mu, sigma, [], ref, names=("mu", "sigma", "ref", "values"))
    if out.ok:
        assert not np.any(np.isnan(out.result))


@contract_settings(scale=0.6)
@given(adversarial_arrays(min_dims=0, max_dims=2, max_side=3), st.lists(adversarial_floats(), max_size=3))
def test_augmented_chebyshev_takes_anything(losses: object, weights: list[float]) -> None:
    assert_contract(augmented_chebyshev, losses, weights, names=("losses", "weights", "rho"))


@pytest.mark.slow
def test_example_runs(tmp_path, capsys) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "multiobjective.py"
    spec = importlib.util.spec_from_file_location("mo_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(str(tmp_path / "front.png"))
    text = capsys.readouterr().out
    assert "models on the Pareto front" in text and (tmp_path / "front.png").exists()
