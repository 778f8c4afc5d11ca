"""Lion-K (numpy): a hand-computed step, the kernels, and the constrained solution."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.optim import LionK, LionKConfig, constraint_norm, grad_k, project_ball, projected_gradient_descent
from guardopt.problems.constrained_quadratics import paper_toy, random_quadratic


def test_one_step_by_hand_l1() -> None:
    opt = LionK(np.array([1.0, -2.0]), LionKConfig(lr=0.1, beta1=0.9, beta2=0.99, weight_decay=0.5, kernel="l1"))
    x = opt.step(np.array([0.5, 0.1]))
    # c = 0.1 * g = (0.05, 0.01); sign = (1, 1); x = x0 - 0.1 * ((1, 1) + 0.5 * (1, -2))
    np.testing.assert_allclose(x, [0.85, -2.0])
    np.testing.assert_allclose(opt.m, [0.005, 0.001])
    # second step: c = 0.9*m + 0.1*g2 with g2 = (-1, 0): (0.0045-0.1, 0.0009) -> sign (-1, 1)
    x = opt.step(np.array([-1.0, 0.0]))
    np.testing.assert_allclose(x, [0.85 - 0.1 * (-1 + 0.425), -2.0 - 0.1 * (1 - 1.0)])


def test_one_step_by_hand_l2() -> None:
    opt = LionK(np.array([1.0, -2.0]), LionKConfig(lr=0.1, weight_decay=0.5, kernel="l2"))
    x = opt.step(np.array([0.5, 0.1]))
    d = np.array([0.05, 0.01]) / np.hypot(0.05, 0.01)  # (0.980581, 0.196116)
    np.testing.assert_allclose(x, [1 - 0.1 * (d[0] + 0.5), -2 - 0.1 * (d[1] - 1.0)])
    np.testing.assert_allclose(x, [0.8519419, -1.9196116], atol=1e-7)


def test_kernels_and_norms() -> None:
    c = np.array([0.3, -2.0, 0.0])
    np.testing.assert_allclose(grad_k("l1", c), [1, -1, 0])
    np.testing.assert_allclose(grad_k("l2", c), c / np.linalg.norm(c))
    np.testing.assert_allclose(grad_k("linf", c), [0, -1, 0])
    np.testing.assert_allclose(grad_k("quadratic", c), c)
    np.testing.assert_allclose(grad_k("l2", np.zeros(2)), [0, 0])
    x = np.array([1.0, -3.0, 2.0])
    assert constraint_norm("l1", x) == 3.0  # dual of l1 is linf
    assert constraint_norm("l2", x) == pytest.approx(np.sqrt(14))
    assert constraint_norm("linf", x) == 6.0
    np.testing.assert_allclose(project_ball("l1", x, 1.5), [1.0, -1.5, 1.5])
    np.testing.assert_allclose(project_ball("l2", np.array([3.0, 4.0]), 1.0), [0.6, 0.8])


@pytest.mark.parametrize("kernel", ["l1", "l2"])
@pytest.mark.parametrize("lam", [0.5, 1.0, 2.0])
def test_solves_the_constrained_problem(kernel: str, lam: float) -> None:
    q = paper_toy()
    opt = LionK(q.x0, LionKConfig(lr=1e-2, weight_decay=lam, kernel=kernel))
    for _ in range(3000):
        opt.step(q.grad(opt.x))
    x_ref = projected_gradient_descent(q.grad, q.x0, kernel, 1 / lam, 1.0, 2000)
    # The constrained optimum, not merely a feasible point: close to projected GD's solution, on the
    # boundary (the unconstrained minimizer c lies outside every ball here).
    np.testing.assert_allclose(opt.x, x_ref, atol=2e-2)
    assert constraint_norm(kernel, opt.x) == pytest.approx(1 / lam, abs=2e-2)
    assert q.value(opt.x) - q.value(x_ref) <= 1e-3


def test_coupled_weight_decay_is_a_penalty_not_a_constraint() -> None:
    """Negative control: adding λx to the gradient before the sign (coupled decay) does not enforce
    ‖x‖_∞ ≤ 1/λ; it converges to the L2-penalized minimizer c/(1 + λ) of the toy (A = I)."""
    q = paper_toy()
    lam, lr = 1.0, 1e-2
    x = q.x0.copy()
    m = np.zeros_like(x)
    for _ in range(3000):
        g = q.grad(x) + lam * x
        x = x - lr * grad_k("l1", 0.9 * m + 0.1 * g)
        m = 0.99 * m + 0.01 * g
    np.testing.assert_allclose(x, q.c / (1 + lam), atol=3e-2)
    assert constraint_norm("l1", x) > 1 / lam + 0.4  # 1.5: outside the box the decoupled Lion enforces


def test_lion_l1_constraint_is_linf_not_l1() -> None:
    q = paper_toy()
    opt = LionK(q.x0, LionKConfig(lr=1e-2, weight_decay=1.0, kernel="l1"))
    for _ in range(3000):
        opt.step(q.grad(opt.x))
    np.testing.assert_allclose(opt.x[:2], [1.0, -1.0], atol=0.02)  # clipped coordinates
    assert np.abs(opt.x).sum() > 2.5  # the l1 norm is well above 1/lambda


def test_random_quadratic_is_spd() -> None:
    q = random_quadratic(6, seed=1)
    assert np.all(np.linalg.eigvalsh(q.A) > 0.99) and q.smoothness <= 10.0 + 1e-9
    assert np.max(np.abs(q.c)) == pytest.approx(3.0)


def test_validation() -> None:
    with pytest.raises(InvalidParameterError):
        LionKConfig(kernel="l3")
    with pytest.raises(InvalidParameterError):
        LionKConfig(lr=0.0)
    with pytest.raises(InputDataError):
        LionK(np.zeros(2)).step(np.zeros(3))


def test_callable_kernel_huber_like() -> None:
    # A clipped identity (the gradient of a Huber-type K): equals "quadratic" for small momentum.
    clip = LionKConfig(lr=0.1, weight_decay=0.2, kernel=lambda c: np.clip(c, -1.0, 1.0))
    quad = LionKConfig(lr=0.1, weight_decay=0.2, kernel="quadratic")
    a, b = LionK(np.ones(3), clip), LionK(np.ones(3), quad)
    g = np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(a.step(g), b.step(g))
    big = LionK(np.zeros(2), clip).step(np.array([100.0, -100.0]))
    np.testing.assert_allclose(big, [-0.1, 0.1])  # c = 10, -10 clipped to ±1
