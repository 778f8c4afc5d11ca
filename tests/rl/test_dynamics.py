"""The Gaussian dynamics ensemble: it learns a known noisy system, knows where it has no data,
and meets the fail-closed contract (adversarial data, configs and inputs give a valid result or a
GuardoptError naming the parameter)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.rl.dynamics import DynamicsConfig, GaussianEnsemble
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
)

NOISE = 0.05


def _data(n: int = 3000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, 2))
    a = rng.uniform(-1, 1, (n, 1))
    s2 = s + 0.1 * np.sin(s) + 0.2 * a + NOISE * rng.normal(size=(n, 2))
    return {"observations": s, "actions": a, "next_observations": s2, "rewards": -np.abs(s[:, 0]),
            "costs": (s[:, 1] > 1).astype(float), "terminals": np.zeros(n, bool),
            "timeouts": np.arange(n) % 100 == 99}


@pytest.fixture(scope="module")
def model() -> GaussianEnsemble:
    cfg = DynamicsConfig(members=5, elites=3, hidden=64, max_epochs=40, predict_cost=True)
    return GaussianEnsemble(cfg).fit(_data(), seed=0)


def test_learns_mean_and_noise_level(model: GaussianEnsemble) -> None:
    test = _data(500, seed=1)
    pred = model.predict(test["observations"], test["actions"])
    assert pred.next_obs_mean.shape == (5, 500, 2)
    assert pred.cost_mean is not None and pred.cost_mean.shape == (5, 500)
    truth = test["observations"] + 0.1 * np.sin(test["observations"]) + 0.2 * test["actions"]
    err = np.abs(pred.next_obs_mean[list(model.elites)].mean(0) - truth).mean()
    assert err < 0.03  # well below the noise scale 0.05
    # The aleatoric standard deviation recovers the injected noise within 40%.
    assert 0.6 * NOISE < np.median(pred.next_obs_std) < 1.4 * NOISE
    assert len(model.elites) == 3 and len(set(model.elites)) == 3
    assert np.all(np.isfinite(model.holdout_mse))


def test_members_disagree_away_from_the_data(model: GaussianEnsemble) -> None:
    test = _data(200, seed=2)
    inside = model.predict(test["observations"], test["actions"]).next_obs_mean.std(0).mean()
    outside = model.predict(6 * test["observations"], test["actions"]).next_obs_mean.std(0).mean()
    assert outside > 3 * inside


def test_step_uses_elites_and_is_seeded(model: GaussianEnsemble) -> None:
    d = _data(50, seed=3)
    s1, r1, c1, _ = model.step(d["observations"], d["actions"], np.random.default_rng(7))
    s2, r2, c2, _ = model.step(d["observations"], d["actions"], np.random.default_rng(7))
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(c1, c2)  # type: ignore[arg-type]
    assert s1.shape == (50, 2) and r1.shape == (50,) and c1 is not None and c1.shape == (50,)
    det, _, _, pred = model.step(d["observations"], d["actions"], np.random.default_rng(0), deterministic=True)
    # A deterministic step returns one of the elite members' means, row by row.
    elite_means = pred.next_obs_mean[list(model.elites)]
    assert np.all(np.any(np.all(np.isclose(elite_means, det[None]), axis=2), axis=0))


def test_save_load_round_trip(model: GaussianEnsemble, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = _data(10, seed=4)
    path = model.save(tmp_path / "ens.pt")
    again = GaussianEnsemble.load(path)
    assert again.elites == model.elites
    np.testing.assert_allclose(again.predict(d["observations"], d["actions"]).reward_mean,
                               model.predict(d["observations"], d["actions"]).reward_mean)


def test_bad_input(model: GaussianEnsemble) -> None:
    with pytest.raises(InvalidParameterError, match="elites"):
        DynamicsConfig(members=3, elites=4)
    with pytest.raises(InvalidParameterError, match="holdout"):
        DynamicsConfig(holdout=0.0)
    with pytest.raises(InvalidParameterError, match="fitted"):
        GaussianEnsemble().predict(np.zeros((1, 2)), np.zeros((1, 1)))
    with pytest.raises(InputDataError, match="'obs'"):
        model.predict(np.zeros((2, 3)), np.zeros((2, 1)))
    with pytest.raises(InputDataError, match="'act'"):
        model.predict(np.zeros((2, 2)), np.zeros((3, 1)))
    with pytest.raises(GuardoptError):
        model.predict(np.full((2, 2), np.nan), np.zeros((2, 1)))
    bad = _data(100)
    bad["observations"][3, 0] = np.inf
    with pytest.raises(GuardoptError):
        GaussianEnsemble(DynamicsConfig(members=2, elites=1, hidden=8, max_epochs=2)).fit(bad)
    with pytest.raises(InputDataError, match="at least"):
        GaussianEnsemble(DynamicsConfig(members=2, elites=1, hidden=8)).fit(_data(2))


# --- property-based contract --------------------------------------------------------------------

_SMALL = GaussianEnsemble(DynamicsConfig(members=2, elites=1, hidden=8, max_epochs=2)).fit(_data(200), seed=0)


def _finite_prediction(pred: object) -> bool:
    arrays = [pred.next_obs_mean, pred.next_obs_std, pred.reward_mean, pred.reward_std]  # type: ignore[attr-defined]
    return all(np.isfinite(a).all() for a in arrays) and bool((pred.next_obs_std > 0).all())  # type: ignore[attr-defined]


@contract_settings()
@given(adversarial_arrays(), adversarial_arrays())
def test_predict_on_adversarial_inputs(obs, act):  # type: ignore[no-untyped-def]
    out = assert_contract(_SMALL.predict, obs, act, names=("obs", "act"), check=_finite_prediction)
    if out.ok:
        assert out.result.next_obs_mean.shape[0] == 2


@contract_settings()
@given(st.sampled_from(["members", "elites", "hidden", "lr", "holdout", "weight_decay", "max_epochs"]),
       st.one_of(adversarial_floats(), adversarial_scalars()))
def test_config_on_adversarial_values(field, value):  # type: ignore[no-untyped-def]
    assert_contract(DynamicsConfig, names=(field,), **{field: value})


@contract_settings(scale=0.3)
@given(st.sampled_from(["observations", "actions", "next_observations", "rewards"]), adversarial_arrays())
def test_fit_on_adversarial_columns(key, arr):  # type: ignore[no-untyped-def]
    data = _data(60)
    data[key] = arr
    model = GaussianEnsemble(DynamicsConfig(members=2, elites=1, hidden=4, max_epochs=1))
    out = assert_contract(model.fit, data, names=(f"dataset[{key!r}]", "dataset"))
    if out.ok:  # a column that validates gives a usable, finite model
        assert np.all(np.isfinite(out.result.holdout_mse))
