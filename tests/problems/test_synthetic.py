"""Synthetic test functions: known optima, domains, noisy and constrained variants."""

import numpy as np
import pytest

from guardopt.problems.synthetic import (
    BRANIN,
    CONSTRAINED_BRANIN,
    HARTMANN6,
    MF_BRANIN,
    disc_constraint,
    get_function,
    make_ackley,
    make_levy,
    make_rosenbrock,
)


@pytest.mark.parametrize("fn", [BRANIN, HARTMANN6, make_ackley(5), make_levy(4), make_rosenbrock(4)])
def test_optimum_value_and_that_random_points_are_worse(fn):
    assert abs(float(fn(np.array(fn.optimizer))) - fn.optimal_value) < 1e-4
    rng = np.random.default_rng(0)
    lo, hi = np.array(fn.bounds).T
    x = lo + rng.random((2000, fn.dim)) * (hi - lo)
    assert np.all(fn(x) >= fn.optimal_value - 1e-6)


def test_branin_has_three_minima():
    for x in [(-np.pi, 12.275), (np.pi, 2.275), (9.42478, 2.475)]:
        assert abs(float(BRANIN(np.array(x))) - 0.397887) < 1e-5


def test_hand_values():
    # x = (1, 0): cos terms average to 1, so f = 20 (1 - exp(-0.2 sqrt(1/2)))
    assert abs(float(make_ackley(2)(np.array([1.0, 0.0]))) - 20 * (1 - np.exp(-0.2 * np.sqrt(0.5)))) < 1e-9
    assert float(make_rosenbrock(2)(np.array([0.0, 0.0]))) == 1.0
    assert abs(float(make_levy(2)(np.array([1.0, 1.0])))) < 1e-12


def test_space_objective_and_noise():
    space = HARTMANN6.space()
    assert space.names == [f"x{i}" for i in range(6)]
    params = dict(zip(space.names, HARTMANN6.optimizer, strict=True))
    assert abs(HARTMANN6.objective()(params) - HARTMANN6.optimal_value) < 1e-4
    noisy = get_function("hartmann6-noisy0.1")
    assert noisy.noise_std == 0.1
    vals = [noisy.objective(np.random.default_rng(0))(params) for _ in range(1)]
    assert abs(vals[0] - HARTMANN6.optimal_value) < 0.5
    with pytest.raises(ValueError):
        noisy.objective()


def test_constrained_optimum_is_feasible_and_unconstrained_minima_are_not():
    cb = CONSTRAINED_BRANIN
    x = np.array(cb.optimizer)
    assert abs(float(disc_constraint(x)) - 20.0) < 1e-3
    assert abs(float(BRANIN(x)) - cb.optimal_value) < 1e-5
    for m in [(-np.pi, 12.275), (np.pi, 2.275), (9.42478, 2.475)]:
        assert float(disc_constraint(np.array(m))) > 20.0
    # nothing feasible on a dense grid beats the stored optimum
    g = np.stack(np.meshgrid(np.linspace(-5, 10, 400), np.linspace(0, 15, 400)), -1).reshape(-1, 2)
    feas = disc_constraint(g) <= 20.0
    assert BRANIN(g[feas]).min() >= cb.optimal_value - 1e-6
    out = cb.objective()(dict(x0=3.0, x1=3.0))
    assert set(out) == {"value", "disc"}


def test_multi_fidelity_branin():
    params = {"x0": np.pi, "x1": 2.275, "fidelity": 1.0}
    assert abs(MF_BRANIN.objective()(params) - 0.397887) < 1e-5
    assert MF_BRANIN.cost(1.0) == 1.0 and MF_BRANIN.cost(0.0) == pytest.approx(0.1)
    low = MF_BRANIN.objective()({**params, "fidelity": 0.0})
    assert low != pytest.approx(0.397887)
    assert "fidelity" in MF_BRANIN.space().names
