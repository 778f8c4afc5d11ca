"""Rectified flow on 2-D points: the SDE step against a hand-computed Gaussian, the samplers, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guardopt.align.flow import (  # noqa: E402
    FlowConfig,
    VelocityMLP,
    fit_rectified_flow,
    gaussian_step_logp,
    ode_sample,
    sde_sample,
    sde_sigmas,
    sde_step_mean,
    time_grid,
)
from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError  # noqa: E402
from guardopt.testing.contracts import adversarial_floats, assert_contract, contract_settings  # noqa: E402


class ConstantVelocity(torch.nn.Module):
    """v(x, t) = c for every point: the SDE mean and the ODE path are then known by hand."""

    def __init__(self, c: tuple[float, float]) -> None:
        super().__init__()
        self.c = torch.nn.Parameter(torch.tensor(c))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.c.expand(x.shape[0], 2)


def test_gaussian_step_logp_matches_hand_computed_density() -> None:
    # x' = (1, 2), μ = (0.5, 1), s = 0.5: −(0.25 + 1)/(2·0.25) − 2·log 0.5 − log 2π.
    lp = gaussian_step_logp(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, 1.0]]), 0.5)
    assert lp.item() == pytest.approx(-2.5 + 2 * math.log(2.0) - math.log(2 * math.pi), abs=1e-6)
    # The sum over coordinates of scipy's univariate normal log-density.
    from scipy.stats import norm

    assert lp.item() == pytest.approx(norm.logpdf(1.0, 0.5, 0.5) + norm.logpdf(2.0, 1.0, 0.5), abs=1e-6)


def test_sde_step_mean_matches_hand_computed_drift() -> None:
    # v = (1, −1), x = (2, 0), t = 0.5, dt = −0.1, σ = 0.7:
    # drift = v + σ²/(2t)·(x + (1 − t)v) = (1, −1) + 0.49·(2.5, −0.5) = (2.225, −1.245).
    mu = sde_step_mean(ConstantVelocity((1.0, -1.0)), torch.tensor([[2.0, 0.0]]), 0.5, -0.1, 0.7)
    assert mu[0].tolist() == pytest.approx([2.0 - 0.2225, 0.1245], abs=1e-6)


def test_time_grid_and_sigmas() -> None:
    assert time_grid(4).tolist() == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    sig = sde_sigmas(time_grid(10), 0.7)
    assert sig.shape == (10,)
    # t = 1 uses the next grid point's 1 − t (0.1); t = 0.5 gives a·1.
    assert sig[0].item() == pytest.approx(0.7 * math.sqrt(10.0), rel=1e-6)
    assert sig[5].item() == pytest.approx(0.7, rel=1e-6)


def test_sde_sample_records_its_own_log_probabilities() -> None:
    model = ConstantVelocity((0.3, -0.2))
    traj = sde_sample(model, torch.zeros(5, 2), n_steps=4, noise_level=0.7, generator=torch.Generator().manual_seed(0))
    assert traj.states.shape == (5, 5, 2) and traj.means.shape == (4, 5, 2) and traj.logps.shape == (4, 5)
    assert traj.std.tolist() == pytest.approx((traj.sigma * torch.sqrt(-traj.dt)).tolist())
    for k in range(4):
        expect = gaussian_step_logp(traj.states[k + 1], traj.means[k], traj.std[k])
        assert torch.allclose(traj.logps[k], expect, atol=1e-6)
        mu = sde_step_mean(model, traj.states[k], traj.t[k], traj.dt[k], traj.sigma[k])
        assert torch.allclose(traj.means[k], mu, atol=1e-6)


def test_ode_sample_with_constant_velocity_moves_by_minus_v() -> None:
    x = ode_sample(ConstantVelocity((1.0, 2.0)), torch.zeros(3, 2), n_steps=7)
    assert torch.allclose(x, torch.tensor([[-1.0, -2.0]] * 3), atol=1e-6)


def test_fit_rectified_flow_learns_a_point_mass() -> None:
    # Data at (1, 1): the ODE should carry noise close to it after a short fit.
    data = np.ones((64, 2))
    model = fit_rectified_flow(data, FlowConfig(hidden=16, time_features=1, steps=150, batch_size=32, lr=1e-2), seed=0)
    x = ode_sample(model, torch.randn(200, 2, generator=torch.Generator().manual_seed(1)), n_steps=20)
    assert float((x - 1.0).norm(dim=1).mean()) < 0.3


def test_velocity_mlp_shapes_and_determinism() -> None:
    a = fit_rectified_flow(np.zeros((8, 2)), FlowConfig(steps=3, batch_size=4), seed=3)
    b = fit_rectified_flow(np.zeros((8, 2)), FlowConfig(steps=3, batch_size=4), seed=3)
    x, t = torch.randn(6, 2), torch.rand(6)
    assert a(x, t).shape == (6, 2)
    assert torch.equal(a(x, t), b(x, t))


def test_configs_and_inputs_are_validated() -> None:
    with pytest.raises(InvalidParameterError, match="'hidden' parameter of FlowConfig"):
        FlowConfig(hidden=0)
    with pytest.raises(InvalidParameterError, match="'lr' parameter of FlowConfig"):
        FlowConfig(lr=-1.0)
    with pytest.raises(InputDataError, match="'data'"):
        fit_rectified_flow(np.array([[np.nan, 0.0]]))
    with pytest.raises(InputDataError, match="'data'"):
        fit_rectified_flow(np.zeros((0, 2)))
    with pytest.raises(InputDataError, match="'noise'"):
        ode_sample(VelocityMLP(), torch.zeros(3, 3))
    with pytest.raises(InvalidParameterError, match="'noise_level'"):
        sde_sigmas(time_grid(3), -1.0)
    with pytest.raises(InputDataError, match="std"):
        gaussian_step_logp(torch.zeros(1, 2), torch.zeros(1, 2), 0.0)


@contract_settings()
@given(st.lists(st.tuples(adversarial_floats(), adversarial_floats()), min_size=0, max_size=4),
       st.one_of(adversarial_floats(), st.just(0.7)))
def test_samplers_are_finite_or_refuse(points, level) -> None:
    noise = torch.tensor(points, dtype=torch.float32).reshape(-1, 2)
    model = ConstantVelocity((0.1, 0.2))
    out = assert_contract(sde_sample, model, noise, 3, level, names=("noise", "noise_level"))
    if out.ok:
        assert bool(torch.isfinite(out.result.states).all())
    out2 = assert_contract(ode_sample, model, noise, 3, names=("noise",))
    if out2.ok:
        assert bool(torch.isfinite(out2.result).all())


def test_errors_are_guardopt_errors() -> None:
    with pytest.raises(GuardoptError):
        time_grid(0)
