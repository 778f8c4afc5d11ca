"""The 8-Gaussian ring: exact log-density, proxy / gold rewards, diversity metrics, fail-closed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.problems.gaussian_ring import GaussianRing
from guardopt.testing.contracts import adversarial_arrays, assert_contract, contract_settings


def test_centers_sit_on_the_circle() -> None:
    ring = GaussianRing(n_modes=4, radius=2.0)
    assert np.allclose(ring.centers, [[2, 0], [0, 2], [-2, 0], [0, -2]], atol=1e-12)


def test_log_density_matches_hand_computed_mixture() -> None:
    # Two modes at (±1, 0), s = 0.5; at x = (1, 0): (1/2)[N(0; 0, s²I) + N((2, 0); 0, s²I)].
    ring = GaussianRing(n_modes=2, radius=1.0, mode_std=0.5)
    s2 = 0.25
    dens = 0.5 * (1.0 + math.exp(-4.0 / (2 * s2))) / (2 * math.pi * s2)
    assert ring.log_density(np.array([[1.0, 0.0]]))[0] == pytest.approx(math.log(dens), rel=1e-12)
    # Far away: log-sum-exp stays finite.
    assert np.isfinite(ring.log_density(np.array([[1e3, 0.0]])))[0]


def test_log_density_integrates_to_one() -> None:
    ring = GaussianRing(mode_std=0.3)
    g = np.linspace(-4, 4, 401)
    gx, gy = np.meshgrid(g, g)
    p = np.exp(ring.log_density(np.stack([gx.ravel(), gy.ravel()], 1)))
    assert p.sum() * (g[1] - g[0]) ** 2 == pytest.approx(1.0, abs=1e-3)


def test_proxy_and_gold_disagree_off_the_ring() -> None:
    ring = GaussianRing()
    on, off = np.array([[2.0, 0.0]]), np.array([[4.0, 0.0]])
    assert ring.proxy_reward(off)[0] > ring.proxy_reward(on)[0]
    assert ring.gold_reward(off)[0] < ring.gold_reward(on)[0] - 10


def test_diversity_metrics() -> None:
    ring = GaussianRing()
    data = ring.sample(4000, seed=0)
    assert ring.effective_modes(data) == pytest.approx(8.0, abs=0.05)
    assert ring.mode_coverage(data) == 8
    assert ring.off_ring_rate(data) < 0.03  # P(‖z‖ > 3) = e^{−4.5} ≈ 1.1% for a 2-D Gaussian
    one = np.tile(ring.centers[:1], (50, 1))
    assert ring.effective_modes(one) == pytest.approx(1.0)
    assert ring.mode_coverage(one) == 1
    assert ring.mode_shares(one).tolist() == [1.0] + [0.0] * 7
    assert math.isnan(ring.effective_modes(np.zeros((0, 2))))
    assert ring.mode_coverage(np.zeros((0, 2))) == 0


def test_sampling_is_seeded() -> None:
    ring = GaussianRing()
    assert np.array_equal(ring.sample(10, seed=3), ring.sample(10, seed=3))
    assert ring.sample(0, seed=1).shape == (0, 2)


def test_parameters_and_inputs_are_validated() -> None:
    with pytest.raises(InvalidParameterError, match="'mode_std' parameter of GaussianRing"):
        GaussianRing(mode_std=0.0)
    with pytest.raises(InvalidParameterError, match="'n_modes' parameter of GaussianRing"):
        GaussianRing(n_modes=0)
    with pytest.raises(InputDataError, match="shape"):
        GaussianRing().gold_reward(np.zeros((3, 3)))
    with pytest.raises(InputDataError, match="NaN"):
        GaussianRing().proxy_reward(np.array([[np.nan, 0.0]]))
    with pytest.raises(InvalidParameterError, match="min_share"):
        GaussianRing().mode_coverage(np.zeros((2, 2)), min_share=2.0)


@contract_settings()
@given(adversarial_arrays(min_dims=0, max_dims=2, max_side=4))
def test_metrics_are_finite_or_refuse(x) -> None:
    ring = GaussianRing()
    for fn in (ring.gold_reward, ring.proxy_reward, ring.mode_shares, ring.nearest_mode):
        out = assert_contract(fn, x, names=("x",))
        if out.ok:
            assert np.all(np.isfinite(out.result))
    try:
        ring.effective_modes(x)
    except GuardoptError:
        pass
