"""The OOD guardian: its threshold at the α-percentile of the training scores (hand-computed KDE and
PSoS), containment rates, the admit-all control, and the fail-closed contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.rl import Guardian, GuardianConfig
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
)

# Hand-made sample: 1-D states 0, 1, 2, 3, 10 and a constant action.
S = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
A = np.zeros((5, 1))


def _hand_kde_scores(bandwidth: float) -> np.ndarray:
    # Scaled to [-1, 1] by min/max: s -> 2 s / 10 - 1; the constant action maps to -1 for every row.
    z = 2.0 * S[:, 0] / 10.0 - 1.0
    d2 = (z[:, None] - z[None, :]) ** 2  # the action coordinate is identical, so adds 0
    dens = np.exp(-0.5 * d2 / bandwidth**2).sum(1) / (5 * 2 * math.pi * bandwidth**2)  # 2-D Gaussian kernel
    return np.log(dens)


def test_kde_threshold_is_the_alpha_percentile_of_hand_computed_densities():
    g = Guardian(GuardianConfig(alpha=0.2, bandwidth=0.3)).fit(S, A)
    scores = _hand_kde_scores(0.3)
    np.testing.assert_allclose(g.training_scores, scores, rtol=1e-10)
    lo, hi = np.sort(scores)[:2]
    assert g.threshold == pytest.approx(lo + 0.8 * (hi - lo), rel=1e-10)  # linear interpolation at rank 0.8
    assert g.contains(S, A).tolist() == [True, True, True, True, False]  # the isolated state 10 is outside


def test_kde_matches_scikit_learn():
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(0)
    s, a = rng.normal(size=(300, 3)), rng.uniform(-1, 1, (300, 1))
    g = Guardian(GuardianConfig(bandwidth=0.5)).fit(s, a)
    q_s, q_a = rng.normal(size=(20, 3)), rng.uniform(-1, 1, (20, 1))
    z = g._scale(np.concatenate([s, a], 1))
    ref = KernelDensity(bandwidth=0.5).fit(z).score_samples(g._scale(np.concatenate([q_s, q_a], 1)))
    np.testing.assert_allclose(g.score(q_s, q_a), ref, rtol=1e-9, atol=1e-9)


def test_psos_score_is_the_inverse_christoffel_polynomial():
    rng = np.random.default_rng(3)
    s, a = rng.uniform(-2, 2, (12, 1)), rng.uniform(-1, 1, (12, 1))
    g = Guardian(GuardianConfig(kind="psos", degree=2, alpha=0.25, ridge=1e-12)).fit(s, a)

    def scaled(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return 2 * (v - ref.min()) / (ref.max() - ref.min()) - 1

    x, y = scaled(s[:, 0], s[:, 0]), scaled(a[:, 0], a[:, 0])
    m = np.column_stack([np.ones(12), x, y, x**2, x * y, y**2])  # the degree-2 monomials
    q = np.einsum("bi,ij,bj->b", m, np.linalg.inv(m.T @ m / 12), m)
    np.testing.assert_allclose(-g.training_scores, q, rtol=1e-6)
    assert g.threshold == pytest.approx(np.percentile(-q, 25), rel=1e-6)
    assert not g.contains(np.array([[10.0]]), np.zeros((1, 1)))[0]


@pytest.mark.parametrize("kind", ["kde", "psos"])
def test_containment_rates_on_fresh_samples(kind):
    rng = np.random.default_rng(1)
    s, a = rng.normal(size=(2000, 2)), rng.normal(scale=0.3, size=(2000, 1))
    g = Guardian(GuardianConfig(kind=kind, alpha=0.05)).fit(s, a)
    assert g.outside_fraction(s, a) == pytest.approx(0.05, abs=0.002)  # the threshold's definition
    fresh_s, fresh_a = rng.normal(size=(4000, 2)), rng.normal(scale=0.3, size=(4000, 1))
    assert 0.02 < g.outside_fraction(fresh_s, fresh_a) < 0.09  # about α on the same distribution
    far = np.full((50, 2), 4.0)
    assert g.outside_fraction(far, np.zeros((50, 1))) == 1.0  # far from the data: all outside


def test_alpha_zero_admits_everything():
    g = Guardian(GuardianConfig(alpha=0.0)).fit(S, A)
    assert g.threshold == -math.inf
    assert g.contains(np.array([[1e6]]), np.array([[5.0]])).all()


def test_config_errors_name_the_parameter():
    with pytest.raises(InvalidParameterError, match="The 'alpha' parameter of GuardianConfig must be"):
        GuardianConfig(alpha=1.5)
    with pytest.raises(InvalidParameterError, match="'kind'"):
        GuardianConfig(kind="knn")
    with pytest.raises(InvalidParameterError, match="'self'"):
        Guardian().contains(S, A)
    with pytest.raises(InputDataError, match="'actions'"):
        Guardian().fit(S, np.zeros((4, 1)))
    g = Guardian().fit(S, A)
    with pytest.raises(InputDataError, match="'obs'"):
        g.contains(np.zeros((2, 3)), np.zeros((2, 1)))


FITTED = Guardian(GuardianConfig(max_points=50)).fit(np.random.default_rng(2).normal(size=(60, 2)),
                                                    np.zeros((60, 1)))


@contract_settings(scale=0.3)  # each example fits a guardian
@given(adversarial_arrays(), adversarial_arrays())
def test_fit_and_contains_fail_closed(obs, act):
    out = assert_contract(Guardian(GuardianConfig(max_points=50)).fit, obs, act, names=("observations", "actions"))
    if out.ok:
        assert math.isfinite(out.result.threshold)
    res = assert_contract(FITTED.contains, obs, act, names=("obs", "act"))
    if res.ok:  # never a containment verdict on non-finite data
        assert np.isfinite(np.asarray(obs, dtype=float)).all() and np.isfinite(np.asarray(act, dtype=float)).all()


@contract_settings()
@given(st.sampled_from(["alpha", "bandwidth", "degree", "ridge", "max_points"]),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_config_fields(name, value):
    assert_contract(GuardianConfig, **{name: value}, names=(name,))


def test_errors_are_guardopt_errors():
    with pytest.raises(GuardoptError):
        Guardian().fit(np.array([[np.nan]]), np.zeros((1, 1)))
