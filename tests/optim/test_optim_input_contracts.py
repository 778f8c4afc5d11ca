"""Bad input to Lion-K and GLAD raises the library's own error, naming the parameter, instead of a
numpy/torch failure, a silently wrong projection, or NaN iterates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.optim import LionK, LionKConfig, constraint_norm, grad_k, project_ball, projected_gradient_descent
from guardopt.testing.contracts import adversarial_arrays, adversarial_scalars, assert_contract, contract_settings


@contract_settings()
@given(st.sampled_from(["l1", "l2"]), adversarial_scalars())
def test_project_ball_radius(kernel: str, radius: object) -> None:
    # Before: radius -1 gave [-1, -1] ("l1") or flipped the point through the origin ("l2").
    out = assert_contract(project_ball, kernel, np.array([3.0, -4.0]), radius, names=("radius",))
    if out.ok:
        r = float(radius)  # type: ignore[arg-type]
        assert r >= 0 and constraint_norm(kernel, out.result) <= r * (1 + 1e-12) + 1e-300


@contract_settings()
@given(adversarial_arrays(max_dims=1, max_side=3))
def test_norms_and_projections_take_any_array(x: object) -> None:
    out = assert_contract(project_ball, "l2", x, 1.0, names=("x",))
    if out.ok:
        assert np.isfinite(out.result).all()
    out = assert_contract(constraint_norm, "l1", x, names=("x",))
    if out.ok:
        assert not math.isnan(out.result)  # a NaN norm would pass any "norm > radius" violation check
    assert_contract(grad_k, "l1", x, names=("c",))


def test_l2_projection_and_kernel_survive_an_overflowing_norm() -> None:
    # Before: ‖x‖₂ overflowed to inf and x / inf gave the origin instead of a point on the sphere.
    huge = np.array([1e308, 1e308])
    np.testing.assert_allclose(project_ball("l2", huge, 2.0), [math.sqrt(2), math.sqrt(2)])
    np.testing.assert_allclose(grad_k("l2", huge), [math.sqrt(0.5), math.sqrt(0.5)])
    np.testing.assert_allclose(grad_k("l2", np.array([1e-200, -1e-200])), [math.sqrt(0.5), -math.sqrt(0.5)])
    np.testing.assert_array_equal(grad_k("l2", np.zeros(2)), [0.0, 0.0])


def test_lion_k_refuses_bad_starts_configs_and_gradients() -> None:
    with pytest.raises(InputDataError, match="'x0'"):
        LionK(np.array([np.nan, 1.0]))
    with pytest.raises(InputDataError, match="'x0'"):
        LionK("abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'config'"):
        LionK(np.zeros(2), {"lr": 1.0})  # type: ignore[arg-type]
    opt = LionK(np.ones(2), LionKConfig(lr=0.1))
    # Before: the NaN went into x and the momentum and stayed there.
    for bad in (np.array([np.nan, 1.0]), np.array([np.inf, 0.0]), "ab"):
        with pytest.raises(InputDataError, match="'grad'"):
            opt.step(bad)  # type: ignore[arg-type]
    np.testing.assert_array_equal(opt.x, [1.0, 1.0])
    np.testing.assert_array_equal(opt.m, [0.0, 0.0])
    assert opt.t == 0


@pytest.mark.parametrize("kernel", [lambda c: np.zeros((2, 2)), lambda c: None, lambda c: c * np.nan])
def test_callable_kernel_must_return_a_finite_array_of_x_shape(kernel) -> None:  # type: ignore[no-untyped-def]
    # Before: a (2, 2) answer silently broadcast x to shape (2, 2); None raised a TypeError.
    opt = LionK(np.zeros(2), LionKConfig(kernel=kernel))
    with pytest.raises(InputDataError, match="'kernel'"):
        opt.step(np.ones(2))
    np.testing.assert_array_equal(opt.x, [0.0, 0.0])


@pytest.mark.parametrize(("field", "value"), [("steps", -3), ("steps", 2.7), ("steps", True), ("steps", "a"),
                                              ("lr", -1.0), ("lr", math.nan), ("radius", -1.0)])
def test_projected_gradient_descent_arguments(field: str, value: object) -> None:
    # Before: int() truncated 2.7, took True as 1 and -3 as 0; a negative or NaN lr ran.
    args = {"steps": 3, "lr": 0.1, "radius": 1.0, field: value}
    with pytest.raises(InvalidParameterError, match=f"'{field}'"):
        projected_gradient_descent(lambda x: x, np.ones(2), "l2", **args)  # type: ignore[arg-type]


def test_projected_gradient_descent_refuses_non_finite_gradients() -> None:
    with pytest.raises(InputDataError, match="'grad'"):
        projected_gradient_descent(lambda x: x * np.nan, np.ones(2), "l2", 1.0, 0.1, 3)
    np.testing.assert_allclose(projected_gradient_descent(lambda x: x - 5.0, np.zeros(2), "l1", 1.0, 0.5, 50),
                               [1.0, 1.0])


torch = pytest.importorskip("torch")


def test_lion_k_torch_checks_betas_and_every_param_group() -> None:
    from guardopt.optim.lion_k_torch import LionKTorch, torch_grad_k

    p = torch.nn.Parameter(torch.zeros(2))
    for betas in (0.9, None, (0.9, 0.9, 0.9)):
        # Before: TypeError ('float' object is not subscriptable), or a 3-tuple accepted.
        with pytest.raises(InvalidParameterError, match="'betas'"):
            LionKTorch([p], betas=betas)  # type: ignore[arg-type]
    # Before: a group's own kernel or lr was never checked, and an unknown kernel ran as "quadratic".
    with pytest.raises(InvalidParameterError, match="'kernel'"):
        LionKTorch([{"params": [p], "kernel": "l3"}])
    with pytest.raises(InvalidParameterError, match="'lr'"):
        LionKTorch([{"params": [p], "lr": -1.0}])
    opt = LionKTorch([p])
    with pytest.raises(InvalidParameterError, match="'weight_decay'"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "weight_decay": math.nan})
    with pytest.raises(InvalidParameterError, match="'kernel'"):
        torch_grad_k("l3", torch.ones(2))


def test_lion_k_torch_refuses_non_finite_gradients_before_any_update() -> None:
    from guardopt.optim.lion_k_torch import LionKTorch

    a = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = LionKTorch([a, b], lr=0.1)
    a.grad = torch.ones(2, dtype=torch.float64)
    b.grad = torch.tensor([math.nan, 1.0], dtype=torch.float64)
    # Before: sign(NaN) = 0 moved nothing, but the momentum became NaN and froze the entry for good.
    with pytest.raises(InputDataError, match="not finite"):
        opt.step()
    np.testing.assert_array_equal(a.detach().numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(b.detach().numpy(), [1.0, 1.0])
    assert not opt.state


def _closure(w, vector: bool = False):  # type: ignore[no-untyped-def]
    def closure():  # type: ignore[no-untyped-def]
        loss = w ** 2
        loss.sum().backward()
        return loss if vector else loss.sum()

    return closure


def test_glad_gradient_checks_config_closure_and_loss_shape() -> None:
    from guardopt.optim import GLADConfig, glad_gradient

    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    with pytest.raises(InvalidParameterError, match="'config'"):
        glad_gradient([w], _closure(w), None)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'closure'"):
        glad_gradient([w], None, GLADConfig())  # type: ignore[arg-type]
    # Before: "Boolean value of Tensor with more than one value is ambiguous".
    with pytest.raises(InvalidParameterError, match="'closure'"):
        glad_gradient([w], _closure(w, vector=True), GLADConfig())


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_glad_leaves_parameters_outside_the_loss_alone(gamma: float) -> None:
    from guardopt.optim import GLAD, GLADConfig

    # Before: an unused parameter got a zero gradient, so AdamW decayed it (1.0 -> 0.95) while AdamW
    # alone skips it; with γ = 0 GLAD must be the plain optimizer.
    a, b = torch.nn.Parameter(torch.tensor([1.0])), torch.nn.Parameter(torch.tensor([1.0]))
    opt = GLAD(torch.optim.AdamW([a, b], lr=0.1, weight_decay=0.5), GLADConfig(gamma=gamma))
    opt.step(_closure(a))
    assert b.item() == 1.0 and b.grad is None
    assert a.item() < 1.0


def test_glad_load_state_dict_checks_before_restoring() -> None:
    from guardopt.optim import GLAD, GLADConfig

    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = GLAD(torch.optim.SGD([w], lr=0.1), GLADConfig(rho=0.1, gamma=0.5))
    with pytest.raises(InvalidParameterError, match="'state'"):
        opt.load_state_dict({})  # before: KeyError 'base'
    with pytest.raises(InvalidParameterError, match="'rho'"):
        opt.load_state_dict({**opt.state_dict(), "rho": -1.0})
    assert opt.config == GLADConfig(rho=0.1, gamma=0.5)
    opt.load_state_dict(opt.state_dict())
