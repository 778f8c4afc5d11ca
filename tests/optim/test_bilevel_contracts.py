"""Fail-closed contract of the bilevel penalty methods: any input gives a valid result or a GuardoptError
naming the parameter, and no result is computed from non-finite data."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from guardopt.optim import (
    Ball,
    Box,
    DoubleLoopConfig,
    SingleLoopConfig,
    double_loop,
    penalty_estimate,
    penalty_gradient,
    single_loop,
)
from guardopt.problems.bilevel_toys import multiple_solutions_toy
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    is_finite_data,
)

TOY = multiple_solutions_toy()


def _finite_result(res) -> bool:
    return bool(np.isfinite(res.x).all() and np.isfinite(res.y).all() and np.isfinite(res.z).all())


@contract_settings(scale=0.4)
@given(adversarial_arrays(max_dims=2, max_side=3), adversarial_arrays(max_dims=2, max_side=3))
def test_double_loop_on_any_start(x0, y0) -> None:
    cfg = DoubleLoopConfig(sigma=0.1, lr_x=0.2, lr_y=0.4, inner_steps=2, outer_steps=3)
    out = assert_contract(double_loop, TOY, x0, y0, cfg, names=("x0", "y0", "grad_f", "grad_g", "x", "y", "z"),
                          check=_finite_result)
    if out.ok:
        assert is_finite_data(x0) and is_finite_data(y0)


@contract_settings(scale=0.4)
@given(adversarial_arrays(max_dims=1, max_side=3), adversarial_arrays(max_dims=1, max_side=3))
def test_single_loop_on_any_start(x0, y0) -> None:
    cfg = SingleLoopConfig(sigma=0.1, lr_x=0.05, lr_y=0.4, iterations=5)
    out = assert_contract(single_loop, TOY, x0, y0, cfg, names=("x0", "y0", "grad_f", "grad_g", "x", "y", "z"),
                          check=_finite_result)
    if out.ok:
        assert is_finite_data(x0) and is_finite_data(y0)


@contract_settings(scale=0.4)
@given(adversarial_arrays(max_dims=1, max_side=3), adversarial_scalars())
def test_penalty_gradient_on_any_point_and_sigma(x, sigma) -> None:
    out = assert_contract(penalty_gradient, TOY, x, [0.0, 0.0], [0.0, 0.0], sigma,
                          names=("x", "y", "z", "sigma", "grad_f", "grad_g"),
                          check=lambda g: bool(np.isfinite(g).all()))
    if out.ok:
        assert is_finite_data(x)


@contract_settings(scale=0.4)
@given(adversarial_scalars(), adversarial_scalars())
def test_penalty_estimate_on_any_sigma_and_lr(sigma, lr) -> None:
    assert_contract(penalty_estimate, TOY, [1.0], [0.0, 0.0], sigma, lr, 5,
                    names=("sigma", "lr", "f", "g", "grad_f", "grad_g", "y", "non-finite"),
                    check=lambda e: np.isfinite(e.value) and bool(np.isfinite(e.gradient).all()))


@contract_settings()
@given(st.sampled_from(["sigma", "lr_x", "lr_y", "inner_steps", "outer_steps", "tol", "noise_std", "seed"]),
       adversarial_scalars())
def test_double_loop_config_fields(field, value) -> None:
    out = assert_contract(DoubleLoopConfig, names=(field,), **{field: value})
    if out.ok:
        assert getattr(out.result, field) == value


@contract_settings()
@given(st.sampled_from(["sigma", "lr_x", "lr_y", "iterations", "momentum", "tol", "noise_std", "seed"]),
       adversarial_scalars())
def test_single_loop_config_fields(field, value) -> None:
    out = assert_contract(SingleLoopConfig, names=(field,), **{field: value})
    if out.ok:
        assert getattr(out.result, field) == value


@contract_settings(scale=0.4)
@given(adversarial_arrays(max_dims=1, max_side=3), adversarial_arrays(max_dims=1, max_side=3))
def test_box_on_any_bounds(lower, upper) -> None:
    def build_and_project(lo, hi):
        return Box(lo, hi).project(np.zeros(3))

    out = assert_contract(build_and_project, lower, upper, names=("lower", "upper"))
    if out.ok:
        assert not np.isnan(out.result).any()


@contract_settings(scale=0.4)
@given(adversarial_scalars(), adversarial_arrays(max_dims=1, max_side=3))
def test_ball_on_any_radius_and_center(radius, center) -> None:
    def build_and_project(r, c):
        return Ball(r, c).project(np.full(3, 10.0))

    out = assert_contract(build_and_project, radius, center, names=("radius", "center", "Ball"))
    if out.ok:
        assert np.isfinite(out.result).all()
