"""Bad inputs to the benchmark problems raise guardopt's own errors instead of numpy's or a silent value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems import credit, fairness, multiobjective, safe_control, streams, synthetic


@pytest.mark.parametrize("x", [np.zeros(3), np.zeros((4, 1)), np.array(1.0)])
def test_synthetic_call_rejects_wrong_dimension(x: np.ndarray) -> None:
    with pytest.raises(InputDataError, match="shape"):
        synthetic.BRANIN(x)  # before: a value from the first two columns, or an IndexError


def test_synthetic_call_rejects_nan() -> None:
    with pytest.raises(InputDataError):
        synthetic.HARTMANN6(np.full(6, np.nan))  # before: nan
    assert float(synthetic.BRANIN(np.array([math.pi, 2.275]))) == pytest.approx(0.397887, abs=1e-6)


@pytest.mark.parametrize("sigma", [-1.0, math.nan, math.inf])
def test_with_noise_rejects_bad_sigma(sigma: float) -> None:
    with pytest.raises(InvalidParameterError, match="noise_std"):
        synthetic.BRANIN.with_noise(sigma)


@pytest.mark.parametrize(("maker", "d"), [(synthetic.make_ackley, 0), (synthetic.make_levy, -1),
                                          (synthetic.make_ackley, True), (synthetic.make_levy, 2.5),
                                          (synthetic.make_rosenbrock, 1)])
def test_makers_reject_bad_dimension(maker, d) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameterError, match="'d'"):
        maker(d)


@pytest.mark.parametrize("name", ["foo", "branin-noisyabc", "branin-noisy-1", "ackley0"])
def test_get_function_rejects_bad_names(name: str) -> None:
    with pytest.raises(InvalidParameterError):
        synthetic.get_function(name)  # before: KeyError / ValueError / a negative noise level
    assert synthetic.get_function("hartmann6-noisy0.1").noise_std == 0.1


@pytest.mark.parametrize("s", [-0.1, 2.0, math.nan])
def test_mf_cost_rejects_fidelity_outside_unit_interval(s: float) -> None:
    with pytest.raises(InvalidParameterError, match="'s'"):
        synthetic.MF_BRANIN.cost(s)
    assert synthetic.MF_BRANIN.cost(1.0) == 1.0


@pytest.mark.parametrize("make", [multiobjective.zdt1, multiobjective.zdt2])
@pytest.mark.parametrize("dim", [0, 1, True])
def test_zdt_rejects_bad_dimension(make, dim) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameterError, match="dim"):
        make(dim)  # before: dim 1 gave NaN objectives, dim True a 1-d problem


@pytest.mark.parametrize(("dim", "k"), [(6, 1), (6, 0), (2, 3)])
def test_dtlz2_rejects_bad_sizes(dim: int, k: int) -> None:
    with pytest.raises(InvalidParameterError):
        multiobjective.dtlz2(dim, k)


@pytest.mark.parametrize("best", [1.5, -0.1, math.nan])
def test_clear_cut_rejects_best_outside_unit_interval(best: float) -> None:
    with pytest.raises(InvalidParameterError, match="best"):
        streams.clear_cut_means(5, seed=0, best=best)  # before: a Bernoulli "mean" of 1.5


def test_features_without_rejects_unknown_attribute() -> None:
    with pytest.raises(InvalidParameterError, match="attribute"):
        credit.load_german_credit().features_without("nope")  # before: every column, silently


@pytest.mark.parametrize("action", ["a", np.array([0.1, 0.2])])
def test_fair_env_step_rejects_non_numbers(action: object) -> None:
    env = fairness.synthetic_loop()
    env.reset(seed=0)
    with pytest.raises(InputDataError, match="threshold"):
        env.step(action)


@pytest.mark.parametrize("arms", [[-1, 0, 1], [21, 0, 1], [0.5, 0, 1], [0, 1]])
def test_grid_loops_step_rejects_bad_arms(arms: list[float]) -> None:
    loops = fairness.GridLoops(fairness.synthetic_loop(), fairness.THRESHOLD_GRID, n_loops=3, seed=0)
    with pytest.raises(InputDataError, match="arms"):
        loops.step(np.asarray(arms))  # before: -1 played the last arm, 0.5 played arm 0
    assert loops.step(np.array([0, 1, 2])).reward.shape == (3,)


def test_grids_must_be_finite() -> None:
    env = fairness.synthetic_loop()
    grid = np.array([np.nan, 0.5])
    with pytest.raises(InputDataError, match="grid"):
        fairness.GridLoops(env, grid)
    with pytest.raises(InputDataError, match="grid"):
        fairness.sweep_fixed_thresholds(env, grid, horizon=2, seed=0)
    with pytest.raises(InputDataError, match="grid"):
        fairness.steady_state(env, grid)  # before: NaN shares and rewards


def test_pools_from_data_rejects_wrong_length_scores() -> None:
    data = fairness.load_german_credit_groups("age")
    with pytest.raises(InputDataError, match="scores"):
        fairness.pools_from_data(data, np.zeros(5))


def test_load_german_credit_groups_names_itself() -> None:
    with pytest.raises(InvalidParameterError, match="load_german_credit_groups"):
        fairness.load_german_credit_groups("race")  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "param"), [({"n_folds": 1}, "n_folds"), ({"C": -1.0}, "C")])
def test_cross_fitted_scores_validates(kwargs: dict[str, float], param: str) -> None:
    data = fairness.TabularData(np.zeros((10, 1)), np.arange(10) % 2, np.zeros(10), ("x",))
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of cross_fitted_scores"):
        fairness.cross_fitted_scores(data, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "param"), [({"noise_levels": (-1.0,)}, "noise_levels"),
                                               ({"noise_levels": (math.nan,)}, "noise_levels"),
                                               ({"cares": (5.0,)}, "cares")])
def test_collect_dataset_validates_levels(kwargs: dict[str, tuple[float, ...]], param: str) -> None:
    with pytest.raises(InvalidParameterError, match=param):
        safe_control.collect_dataset("PointRobot", episodes=2, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("t", [-1, 5, True])
def test_sea_gradient_rejects_rounds_outside_horizon(t: int) -> None:
    from guardopt.problems.sea import SEAConfig, SEAProblem

    problem = SEAProblem(SEAConfig(horizon=5), seed=0)
    with pytest.raises(InvalidParameterError, match="'t'"):
        problem.gradient(t, np.zeros(10))  # before: -1 gave the last round's gradient, 5 an IndexError
    assert problem.gradient(4, np.zeros(10)).shape == (10,)
