"""Multi-fidelity KG: the inner maximization's set holds the current optimum; the learned power; fail-closed data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import guardopt as go
from guardopt.bo import GPConfig, GPOptimizer
from guardopt.bo import acquisition as acq
from guardopt.bo.fidelity_gp import FidelityGP, fit_hyperparameters, initial_theta
from guardopt.bo.gp import GPPrior
from guardopt.core.errors import GuardoptError
from guardopt.problems.synthetic import MF_BRANIN
from guardopt.testing.contracts import adversarial_arrays, adversarial_scalars, assert_contract, contract_settings

FAST = {"n_candidates": 128, "n_local": 8, "n_restarts": 1, "kg_points": 16}


def _fitted(n: int = 12, seed: int = 0, **options: object) -> GPOptimizer:
    opt = GPOptimizer("kg", seed=seed, fidelity="fidelity", fidelity_cost=MF_BRANIN.cost, n_initial=n,
                      **{**FAST, **options})
    study = go.Study(MF_BRANIN.space(), optimizer=opt)
    study.optimize(MF_BRANIN.objective(), n_trials=n)  # the Sobol design only: fast and deterministic
    return opt


def test_augmented_set_holds_a_point_at_least_as_good_as_the_discrete_max():
    opt = _fitted()
    model = opt._fit()
    a = opt._target_set(model, np.random.default_rng(0))
    polished = opt._mean_minimizers(model.gp, a)
    assert polished.shape[1] == a.shape[1] and len(polished) >= 1
    assert np.all(polished[:, opt._fid_col] == opt._target_u)  # at the target fidelity
    mu_a, mu_p = model.gp.predict(a)[0], model.gp.predict(polished)[0]
    # Minimization: the best polished mean is at most the discrete set's best (the "max" of -mu) ...
    assert mu_p.min() <= mu_a.min() + 1e-12
    # ... and strictly below it here: the Sobol set does not hold the continuous optimum.
    assert mu_p.min() < mu_a.min() - 1e-6
    # So KG's expected fantasy optimum never decreases from adding it, for any candidate.
    gp = model.gp
    cand = opt._enc.sobol(16, np.random.default_rng(1))
    a_aug = np.vstack([a, polished])
    for c in cand:
        c = c[None, :]
        var = gp.predict(c)[1]
        denom = math.sqrt(float(var[0]) + gp.noise_var)
        e_disc = acq.expected_max_of_lines(-gp.predict(a)[0], -(gp.covariance(a, c)[:, 0] / denom))
        e_aug = acq.expected_max_of_lines(-gp.predict(a_aug)[0], -(gp.covariance(a_aug, c)[:, 0] / denom))
        assert e_aug >= e_disc - 1e-12


def test_recommendation_is_the_polished_minimum():
    opt = _fitted()
    model = opt._fit()
    rec = opt.recommend_target()
    assert rec["fidelity"] == 1.0
    u = opt.problem.space.encode(rec)[None, :]
    a = opt._target_set(model, np.random.default_rng([opt._base, 3, opt._told]))
    assert model.gp.predict(u)[0][0] <= model.gp.predict(a)[0].min() + 1e-12


@pytest.mark.parametrize("inner", ["discrete", "polished", "fantasy"])
def test_each_inner_maximization_runs_and_prefers_cheap_fidelities(inner):
    opt = GPOptimizer("kg", seed=0, fidelity="fidelity", fidelity_cost=MF_BRANIN.cost, n_initial=5, kg_inner=inner,
                      **FAST)
    study = go.Study(MF_BRANIN.space(), optimizer=opt)
    study.optimize(MF_BRANIN.objective(), n_trials=8)
    fids = [t.params["fidelity"] for t in study.trials[5:]]
    assert len(fids) == 3 and np.mean(fids) < 0.8
    power = opt.fidelity_power()
    assert power is not None and 0.01 <= power <= 10.0


def test_fixed_power_is_kept_and_config_validates_it():
    opt = _fitted(n=8, fidelity_power=1.0)
    opt._fit()
    assert opt.fidelity_power() == 1.0
    with pytest.raises(GuardoptError, match="'fidelity_power' parameter of GPOptimizer"):
        GPConfig(acquisition="kg", fidelity_power=0.0)
    with pytest.raises(GuardoptError, match="'fidelity_power' parameter of GPOptimizer"):
        GPConfig(acquisition="kg", fidelity_power=math.nan)
    with pytest.raises(GuardoptError, match="'kg_inner' parameter of GPOptimizer"):
        GPConfig(acquisition="kg", kg_inner="one-shot")
    assert GPOptimizer().fidelity_power() is None


def test_non_finite_values_in_a_multi_fidelity_study_stay_out_of_the_model():
    # NaN and inf losses are not modelled (the fit would otherwise see them) and never crash the ask.
    opt = GPOptimizer("kg", seed=0, fidelity="fidelity", fidelity_cost=MF_BRANIN.cost, n_initial=4, **FAST)
    study = go.Study(MF_BRANIN.space(), optimizer=opt)
    values = iter([1.0, math.nan, 3.0, math.inf, 2.0, -math.inf, 0.5])
    study.optimize(lambda p: next(values), n_trials=7)
    assert len(study.trials) == 7
    rec = opt.recommend_target()
    assert rec["fidelity"] == 1.0 and all(math.isfinite(v) for v in rec.values())


# ------------------------------------------------------------------------------------ contracts


@contract_settings(scale=0.5)
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1))
def test_fidelity_gp_refuses_bad_training_data(x, y, theta) -> None:
    out = assert_contract(FidelityGP, x, y, theta, 0, 1.0, names=("x", "y", "theta", "fid_col"))
    if out.ok:
        mu, var = out.result.predict(np.asarray(x, dtype=float))
        assert np.isfinite(mu).all() and (var > 0).all()


@contract_settings(scale=0.5)
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=1))
def test_fidelity_fit_refuses_bad_training_data(x, y) -> None:
    try:  # a start of the right shape wherever x has one, so that the data themselves are tested
        xa = np.asarray(x, dtype=float)
        d = xa.shape[1] if xa.ndim == 2 and xa.shape[1] >= 2 else 2
    except (TypeError, ValueError, OverflowError):
        d = 2
    start = initial_theta(d, GPPrior())
    out = assert_contract(fit_hyperparameters, x, y, 0, 1.0, GPPrior(), [start], maxiter=5,
                          names=("x", "y", "theta", "fid_col"))
    if out.ok:
        assert np.isfinite(out.result).all()


@contract_settings()
@given(adversarial_scalars(), st.sampled_from(["discrete", "polished", "fantasy", "bogus"]))
def test_config_validates_the_fidelity_fields(power, inner) -> None:
    assert_contract(GPConfig, acquisition="kg", fidelity_power=power, kg_inner=inner,
                    names=("fidelity_power", "kg_inner"))
