"""The bilevel toys' closed forms and the ridge hyperparameter task: oracles against finite differences,
ψ and ψ_σ against their definitions, the stated solutions, and the implicit hypergradient."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InvalidParameterError
from guardopt.problems.bilevel_toys import (
    box_toy,
    multiple_solutions_toy,
    ridge_task,
    strongly_convex_toy,
)

TOYS = [lambda: strongly_convex_toy(4), multiple_solutions_toy, box_toy]


def _fd(fun, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return np.array([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in np.eye(x.size)])


@pytest.mark.parametrize("make", TOYS)
def test_oracles_are_the_gradients_of_f_and_g(make) -> None:
    toy = make()
    rng = np.random.default_rng(0)
    x, y = toy.x_star + 0.1 * rng.standard_normal(toy.x_dim), 0.5 + 0.1 * rng.standard_normal(toy.y_dim)
    for value, grad in ((toy.f, toy.grad_f), (toy.g, toy.grad_g)):
        gx, gy = grad(x, y)
        np.testing.assert_allclose(gx, _fd(lambda v, fn=value: fn(v, y), x), atol=1e-7)
        np.testing.assert_allclose(gy, _fd(lambda v, fn=value: fn(x, v), y), atol=1e-7)


@pytest.mark.parametrize("make", TOYS)
def test_closed_forms_match_their_definitions(make) -> None:
    toy = make()
    x = toy.x_star + 0.08
    y_star = toy.lower_solution(x)
    # ψ(x) = f(x, y*) with y* a lower-level solution (the one nearest f's preference on the degenerate toy)
    assert toy.psi(x) == pytest.approx(toy.f(x, y_star), abs=1e-12)
    np.testing.assert_allclose(toy.grad_psi(x), _fd(toy.psi, x), atol=1e-6)
    for sigma in (0.3, 0.01):
        np.testing.assert_allclose(toy.grad_psi_sigma(x, sigma), _fd(lambda v, s=sigma: toy.psi_sigma(v, s), x),
                                   atol=1e-5)
        # x_σ is stationary for ψ_σ, x* for ψ
        np.testing.assert_allclose(toy.grad_psi_sigma(toy.x_sigma(sigma), sigma), 0.0, atol=1e-10)
    np.testing.assert_allclose(toy.grad_psi(toy.x_star), 0.0, atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_smoothness_bound_of_the_penalty_hyper_objective(seed: int) -> None:
    toy = strongly_convex_toy(seed)
    for sigma in (0.0, 0.01, 0.3):
        hess = toy.M.T @ toy.M / (1 + sigma) + toy.rho * np.eye(3)  # ∇²ψ_σ, by hand
        assert np.linalg.eigvalsh(hess).max() <= toy.smoothness_psi + 1e-12
    x = np.array([0.3])
    for toy1 in (multiple_solutions_toy(), box_toy()):
        h = 1e-4
        second = (toy1.psi_sigma(x + h, 0.1) - 2 * toy1.psi_sigma(x, 0.1) + toy1.psi_sigma(x - h, 0.1)) / h**2
        assert second <= toy1.smoothness_psi


def test_stated_solutions_by_hand() -> None:
    two = multiple_solutions_toy()
    np.testing.assert_allclose(two.x_star, [4 / 3])
    np.testing.assert_allclose([two.x_sigma(s)[0] for s in (0.3, 0.1, 0.03, 0.01)],
                               [1.3030, 1.3226, 1.3300, 1.3322], atol=5e-5)
    # every point of the line y₁ + y₂ = x solves the lower level
    assert two.g(np.array([1.0]), np.array([0.3, 0.7])) == 0.0 == two.g(np.array([1.0]), np.array([5.0, -4.0]))
    box = box_toy()
    assert box.x_star[0] == 0.5 and box.x_sigma(0.1)[0] == pytest.approx(0.9 / 2.1)
    np.testing.assert_allclose(box.lower_solution(np.array([0.5])), [0.5, 1.0])  # y₂ on its bound
    # ψ on the interior of X = [0, 1]: ½(x − 2)² + ½ + ½(x + 1)²
    assert box.psi(np.array([0.25])) == pytest.approx(0.5 * 1.75**2 + 0.5 + 0.5 * 1.25**2)
    one = strongly_convex_toy(0)
    np.testing.assert_allclose(one.x_star, np.linalg.solve(one.M.T @ one.M + 0.5 * np.eye(3), one.M.T @ one.b))


@pytest.mark.parametrize("per_feature", [True, False])
def test_ridge_task_oracles_solution_and_implicit_hypergradient(per_feature: bool) -> None:
    task = ridge_task(3, per_feature=per_feature)
    assert task.A.shape == (100, 20) and task.A_val.shape == (100, 20) and int(np.sum(task.w_true == 0)) == 10
    x = np.linspace(-1.0, 0.5, task.x_dim)
    w = task.lower_solution(x)
    np.testing.assert_allclose(task.grad_g(x, w)[1], 0.0, atol=1e-12)  # w*(x) is the ridge solution
    wr = w + 0.1
    for value, grad in ((task.f, task.grad_f), (task.g, task.grad_g)):
        gx, gy = grad(x, wr)
        np.testing.assert_allclose(gx, _fd(lambda v, fn=value: fn(v, wr), x), atol=1e-6)
        np.testing.assert_allclose(gy, _fd(lambda v, fn=value: fn(x, v), wr), atol=1e-6)
    # implicit differentiation: ∇ψ = −∇²_xw g (∇²_ww g)⁻¹ ∇_w f, against finite differences of ψ
    hyper = -task.cross_xy_g(x, w) @ np.linalg.solve(task.hessian_yy_g(x), task.grad_f(x, w)[1])
    np.testing.assert_allclose(hyper, _fd(task.psi, x), atol=1e-7)
    assert task.test_loss(x) > 0 and task.smoothness_g > task.smoothness_f > 0


def test_ridge_data_do_not_depend_on_the_parametrization_and_inputs_are_checked() -> None:
    a, b = ridge_task(5), ridge_task(5, per_feature=False)
    np.testing.assert_array_equal(a.A, b.A)
    np.testing.assert_array_equal(a.b_val, b.b_val)
    with pytest.raises(InvalidParameterError, match="'n' parameter of ridge_task"):
        ridge_task(0, n=2)
    with pytest.raises(InvalidParameterError, match="'rho' parameter of strongly_convex_toy"):
        strongly_convex_toy(0, rho=0.0)
