"""Penalty methods for bilevel optimization: hand-computed ψ_σ, the gradient against finite differences,
the algorithms' end points, projections, configs and errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.optim import (
    Ball,
    BilevelFunctions,
    Box,
    DoubleLoopConfig,
    Projection,
    SingleLoopConfig,
    double_loop,
    penalty_estimate,
    penalty_gradient,
    single_loop,
    solve_lower_level,
)
from guardopt.problems.bilevel_toys import (
    StronglyConvexToy,
    box_toy,
    multiple_solutions_toy,
    strongly_convex_toy,
)


def _lr(toy, sigma):
    return 1.0 / (sigma * toy.smoothness_f + toy.smoothness_g)


def _steps(toy, sigma):
    """Inner steps for a ~1e-13 inner solve: 30 condition numbers of σf + g (f is 1-strongly convex in y)."""
    return int(max(50, 30 * (sigma * toy.smoothness_f + toy.smoothness_g) / (sigma + toy.strong_convexity_g)))


# ------------------------------------------------------------------------ ψ_σ by hand


def test_penalty_value_by_hand_on_a_scalar_quadratic() -> None:
    # f = ½(y − 1)² + ¼x², g = ½(y − 2x)² (M = [[2]], b = [1], ρ = 0.5), at x = 1, σ = 1:
    # min_y σf + g: y = (σ·1 + 2)/(1 + σ) = 1.5, value ½·0.25 + ½·0.25 + 0.25 = 0.5; min_y g = 0.
    # ψ_σ = (0.5 − 0)/1 = 0.5; ψ(1) = ½(2 − 1)² + 0.25 = 0.75.
    toy = StronglyConvexToy(np.array([[2.0]]), np.array([1.0]), 0.5)
    est = penalty_estimate(toy, [1.0], [0.0], sigma=1.0, lr=0.5, steps=200)
    assert est.value == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(est.y, [1.5], atol=1e-12)
    np.testing.assert_allclose(est.z, [2.0], atol=1e-12)
    assert toy.psi(np.array([1.0])) == pytest.approx(0.75)
    # ∇ψ_σ = ρx + (∇_x g(x, y) − ∇_x g(x, z))/σ = 0.5 + (−2(1.5 − 2) − 0) = 1.5
    np.testing.assert_allclose(est.gradient, [1.5], atol=1e-10)


def test_penalty_value_by_hand_with_many_lower_level_solutions() -> None:
    # g = ½(y₁ + y₂ − x)², f = ½‖y − (2, 0)‖² + ½(x − 1)², at x = 1, σ = 0.5:
    # ψ_σ = (x − 2)²/(2(2 + σ)) + (x − 1)²/2 = 1/5 = 0.2; ψ = (x − 2)²/4 = 0.25.
    toy = multiple_solutions_toy()
    est = penalty_estimate(toy, [1.0], [0.0, 0.0], sigma=0.5, lr=_lr(toy, 0.5), steps=400)
    assert est.value == pytest.approx(0.2, abs=1e-10)
    assert toy.psi(np.array([1.0])) == pytest.approx(0.25)
    # ∇ψ_σ = (x − 2)/(2 + σ) + (x − 1) = −0.4
    np.testing.assert_allclose(est.gradient, [-0.4], atol=1e-9)


@pytest.mark.parametrize("make", [lambda: strongly_convex_toy(3), multiple_solutions_toy, box_toy])
def test_numerical_penalty_matches_the_closed_form(make) -> None:
    toy = make()
    x = toy.x_star + 0.07
    y_set = Box(*toy.y_bounds) if toy.y_bounds else None
    for sigma in (0.3, 0.03):
        est = penalty_estimate(toy, x, np.zeros(toy.y_dim), sigma, lr=_lr(toy, sigma), steps=_steps(toy, sigma),
                               y_set=y_set)
        assert est.value == pytest.approx(toy.psi_sigma(x, sigma), abs=1e-9)
        np.testing.assert_allclose(est.gradient, toy.grad_psi_sigma(x, sigma), atol=1e-7)


# ------------------------------------------------------------------------ gradient vs finite differences


@pytest.mark.parametrize("make", [lambda: strongly_convex_toy(1), multiple_solutions_toy, box_toy])
def test_penalty_gradient_matches_finite_differences_of_the_numerical_penalty(make) -> None:
    toy = make()
    sigma, h = 0.1, 1e-5
    y_set = Box(*toy.y_bounds) if toy.y_bounds else None
    x = toy.x_star + 0.05 * np.arange(1, toy.x_dim + 1)

    def psi_sigma(v: np.ndarray) -> float:
        return penalty_estimate(toy, v, np.zeros(toy.y_dim), sigma, lr=_lr(toy, sigma), steps=_steps(toy, sigma),
                                y_set=y_set).value

    fd = np.array([(psi_sigma(x + h * e) - psi_sigma(x - h * e)) / (2 * h) for e in np.eye(toy.x_dim)])
    est = penalty_estimate(toy, x, np.zeros(toy.y_dim), sigma, lr=_lr(toy, sigma), steps=_steps(toy, sigma),
                           y_set=y_set)
    np.testing.assert_allclose(penalty_gradient(toy, x, est.y, est.z, sigma), fd, atol=1e-6)
    # Negative control: the gradient without its lower-level part is far from the finite differences.
    upper_only = toy.grad_f(x, est.y)[0]
    assert np.linalg.norm(upper_only - fd) > 0.1


def test_penalty_gradient_by_hand() -> None:
    toy = StronglyConvexToy(np.array([[1.0, 0.0]]), np.array([0.0]), 1.0)
    # ∇_x f = ρx = (1, 2); ∇_x g(x, y) = −Mᵀ(y − Mx): y = 3 → −(3 − 1)(1, 0) = (−2, 0); z = 1 → 0.
    g = penalty_gradient(toy, [1.0, 2.0], [3.0], [1.0], sigma=0.5)
    np.testing.assert_allclose(g, [1.0 - 2.0 / 0.5, 2.0])


# ------------------------------------------------------------------------ algorithms


@pytest.mark.parametrize("make", [lambda: strongly_convex_toy(0), multiple_solutions_toy, box_toy])
@pytest.mark.parametrize("sigma", [0.1, 0.01])
def test_double_and_single_loop_reach_the_penalty_solution(make, sigma: float) -> None:
    toy = make()
    x_set = Box(*toy.x_bounds) if toy.x_bounds else None
    y_set = Box(*toy.y_bounds) if toy.y_bounds else None
    x0, y0 = np.zeros(toy.x_dim), np.zeros(toy.y_dim)
    d = double_loop(toy, x0, y0, DoubleLoopConfig(sigma=sigma, lr_x=0.5, lr_y=_lr(toy, sigma), inner_steps=10,
                                                  outer_steps=400, tol=1e-10), x_set, y_set)
    s = single_loop(toy, x0, y0, SingleLoopConfig(sigma=sigma, lr_x=0.1, lr_y=_lr(toy, sigma), iterations=20000,
                                                  tol=1e-10), x_set, y_set)
    np.testing.assert_allclose(d.x, toy.x_sigma(sigma), atol=1e-7)
    np.testing.assert_allclose(s.x, d.x, atol=1e-7)
    assert d.converged and s.converged
    assert np.linalg.norm(d.x - toy.x_star) <= 2 * sigma * np.linalg.norm(toy.x_star)
    assert d.grad_f_calls > 0 and d.grad_g_calls > d.grad_f_calls  # z steps need only g
    assert len(d.history) == d.iterations


def test_single_loop_does_not_stop_while_the_inner_points_move() -> None:
    # At x = 0 with y = z the x direction is zero; the loop must not call that stationary.
    toy = strongly_convex_toy(0)
    res = single_loop(toy, np.zeros(3), np.zeros(4), SingleLoopConfig(sigma=0.1, lr_x=0.1, lr_y=0.9, tol=1e-10))
    assert res.iterations > 10
    np.testing.assert_allclose(res.x, toy.x_sigma(0.1), atol=1e-8)


def test_box_constraint_matters_on_the_box_toy() -> None:
    # Without Y the lower level puts y₂ = x + 1 and the solution moves to 2/3 (not 1/2).
    toy = box_toy()
    sigma = 0.01
    cfg = DoubleLoopConfig(sigma=sigma, lr_x=0.5, lr_y=_lr(toy, sigma), inner_steps=10, outer_steps=500, tol=1e-11)
    free = double_loop(toy, [0.0], [0.0, 0.0], cfg, Box(0.0, 1.0), None)
    boxed = double_loop(toy, [0.0], [0.0, 0.0], cfg, Box(0.0, 1.0), Box(0.0, 1.0))
    assert free.x[0] == pytest.approx(2.0 / 3.0, abs=0.02)
    np.testing.assert_allclose(boxed.x, toy.x_sigma(sigma), atol=1e-8)
    assert np.all((boxed.y >= 0) & (boxed.y <= 1)) and boxed.y[1] == 1.0


def test_docstring_example_and_bilevel_functions() -> None:
    prob = BilevelFunctions(
        f=lambda x, y: float((y[0] - 1) ** 2), g=lambda x, y: float((y[0] - x[0]) ** 2),
        grad_f=lambda x, y: (np.zeros(1), 2 * (y - 1)), grad_g=lambda x, y: (2 * (x - y), 2 * (y - x)))
    res = double_loop(prob, [0.0], [0.0], DoubleLoopConfig(sigma=0.01, lr_x=0.2, lr_y=0.3, outer_steps=300))
    assert res.x[0] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(InvalidParameterError, match="'f' parameter of BilevelFunctions"):
        BilevelFunctions(f=1.0, g=prob.g, grad_f=prob.grad_f, grad_g=prob.grad_g)  # type: ignore[arg-type]


def test_solve_lower_level_and_z0_resume() -> None:
    toy = strongly_convex_toy(2)
    x = np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(solve_lower_level(toy, x, np.zeros(4), steps=100, lr=1.0), toy.M @ x, atol=1e-12)
    cfg = DoubleLoopConfig(sigma=0.1, lr_x=0.5, lr_y=0.9, inner_steps=5, outer_steps=10)
    full = double_loop(toy, np.zeros(3), np.zeros(4), DoubleLoopConfig(sigma=0.1, lr_x=0.5, lr_y=0.9,
                                                                       inner_steps=5, outer_steps=20))
    half = double_loop(toy, np.zeros(3), np.zeros(4), cfg)
    resumed = double_loop(toy, half.x, half.y, cfg, z0=half.z)
    np.testing.assert_allclose(resumed.x, full.x, atol=1e-14)


def test_stochastic_variants_are_reproducible_by_seed() -> None:
    toy = multiple_solutions_toy()

    def run(seed: int) -> np.ndarray:
        cfg = SingleLoopConfig(sigma=0.1, lr_x=0.01, lr_y=0.4, iterations=1500, momentum=0.1, noise_std=0.1, seed=seed)
        return single_loop(toy, [0.0], [0.0, 0.0], cfg).x

    a, b, c = run(1), run(1), run(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # The noise of ∇_x g enters divided by σ, so the iterates wander; they stay near x_σ = 1.32.
    assert abs(a[0] - toy.x_sigma(0.1)[0]) < 0.3
    d = double_loop(toy, [0.0], [0.0, 0.0], DoubleLoopConfig(sigma=0.1, lr_x=0.05, lr_y=0.4, outer_steps=150,
                                                              inner_steps=5, noise_std=0.1, seed=3))
    assert abs(d.x[0] - toy.x_sigma(0.1)[0]) < 0.3


# ------------------------------------------------------------------------ sets, configs and errors


def test_projections_by_hand() -> None:
    np.testing.assert_allclose(Box(-1.0, [1.0, 2.0]).project(np.array([-3.0, 3.0])), [-1.0, 2.0])
    np.testing.assert_allclose(Ball(1.0).project(np.array([3.0, 4.0])), [0.6, 0.8])
    np.testing.assert_allclose(Ball(5.0, center=[1.0, 1.0]).project(np.array([2.0, 2.0])), [2.0, 2.0])
    np.testing.assert_allclose(Ball(1.0, center=[1.0, 0.0]).project(np.array([3.0, 0.0])), [2.0, 0.0])
    simplex_corner = Projection(lambda v: np.maximum(v, 0.0))
    np.testing.assert_allclose(simplex_corner.project(np.array([-1.0, 2.0])), [0.0, 2.0])
    with pytest.raises(InvalidParameterError, match="'upper' parameter of Box"):
        Box(1.0, 0.0)
    with pytest.raises(InvalidParameterError, match="'radius' parameter of Ball"):
        Ball(-1.0)
    with pytest.raises(InputDataError):
        Projection(lambda v: v[:1]).project(np.array([1.0, 2.0]))
    with pytest.raises(InputDataError):
        Box([0.0, 0.0, 0.0], 1.0).project(np.array([1.0, 2.0]))
    with pytest.raises(InputDataError):  # bounds that would enlarge the variable
        Box([0.0, 0.0, 0.0], 1.0).project(np.array([1.0]))
    with pytest.raises(InputDataError):
        Ball(1.0, center=[0.0, 0.0]).project(np.array([1.0]))


def test_a_callable_set_is_a_projection() -> None:
    toy = multiple_solutions_toy()
    res = double_loop(toy, [0.0], [0.0, 0.0], DoubleLoopConfig(sigma=0.1, lr_x=0.5, lr_y=0.4, outer_steps=200),
                      x_set=lambda v: np.clip(v, 0.0, 1.0))
    assert res.x[0] == pytest.approx(1.0)  # x_σ = 1.33 lies outside [0, 1]


@pytest.mark.parametrize(("cls", "kwargs", "param"), [
    (DoubleLoopConfig, {"sigma": 0.0}, "sigma"),
    (DoubleLoopConfig, {"lr_x": -1.0}, "lr_x"),
    (DoubleLoopConfig, {"inner_steps": 0}, "inner_steps"),
    (DoubleLoopConfig, {"outer_steps": 2.5}, "outer_steps"),
    (DoubleLoopConfig, {"noise_std": 0.1}, "seed"),
    (SingleLoopConfig, {"momentum": 0.0}, "momentum"),
    (SingleLoopConfig, {"momentum": 1.5}, "momentum"),
    (SingleLoopConfig, {"iterations": -1}, "iterations"),
    (SingleLoopConfig, {"seed": -3}, "seed"),
    (SingleLoopConfig, {"tol": float("nan")}, "tol"),
])
def test_configs_validate_on_creation(cls, kwargs, param: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of {cls.__name__} must be"):
        cls(**kwargs)


def test_bad_oracles_and_inputs_raise_the_librarys_errors() -> None:
    toy = multiple_solutions_toy()
    nan_grad = BilevelFunctions(f=toy.f, g=toy.g, grad_f=lambda x, y: (np.full(1, np.nan), np.zeros(2)),
                                grad_g=toy.grad_g)
    with pytest.raises(InputDataError, match="grad_f"):
        double_loop(nan_grad, [0.0], [0.0, 0.0])
    wrong_shape = BilevelFunctions(f=toy.f, g=toy.g, grad_f=toy.grad_f, grad_g=lambda x, y: (np.zeros(3), y))
    with pytest.raises(InputDataError, match="grad_g"):
        single_loop(wrong_shape, [0.0], [0.0, 0.0])
    with pytest.raises(InputDataError, match="'x0'"):
        double_loop(toy, [np.inf], [0.0, 0.0])
    with pytest.raises(InputDataError, match="'y0'"):
        double_loop(toy, [0.0], [])
    with pytest.raises(InvalidParameterError, match="'config'"):
        double_loop(toy, [0.0], [0.0, 0.0], SingleLoopConfig())  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'problem'"):
        double_loop(object(), [0.0], [0.0, 0.0])  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'x_set'"):
        double_loop(toy, [0.0], [0.0, 0.0], x_set="box")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'sigma'"):
        penalty_gradient(toy, [0.0], [0.0, 0.0], [0.0, 0.0], sigma=0.0)
    with pytest.raises(InputDataError):
        penalty_gradient(toy, [0.0], [0.0, 0.0], [0.0], sigma=0.1)
    diverging = DoubleLoopConfig(sigma=0.01, lr_x=1e6, lr_y=0.4, outer_steps=200)
    with pytest.raises(InputDataError, match="non-finite"):
        double_loop(toy, [0.0], [0.0, 0.0], diverging)
    with pytest.raises(InputDataError, match="non-finite"):
        single_loop(toy, [0.0], [0.0, 0.0], SingleLoopConfig(sigma=0.01, lr_x=1e6, lr_y=0.4, iterations=200))


def test_importing_the_optim_package_does_not_import_torch() -> None:
    code = "import sys, guardopt.optim, guardopt.optim.bilevel; assert 'torch' not in sys.modules"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
