"""Fail-closed contract of the GP optimizer (issue 13).

The GP refuses non-finite or mis-shaped training data by name (NaN never reaches a Cholesky
factorization, which would loop on jitter), a study driven by `GPOptimizer` survives objective
values at the float64 limit quietly, and the pessimistic recommendation is never a point whose
measured constraints failed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import guardopt as go
from guardopt.bo import GaussianProcess, GPConfig, GPOptimizer
from guardopt.core.errors import InputDataError
from guardopt.core.trial import TrialState
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    finite_floats,
)

SPACE = go.Space({"x": go.Real(-2.0, 2.0), "k": go.Choice(["a", "b"])})
EXTREME = st.one_of(st.sampled_from([1e308, -1e308, 1.7976931348623157e308, 1e-300, 5e-324, 0.0]),
                    finite_floats(-1e308, 1e308))


# ------------------------------------------------------------------------------------ properties


@contract_settings()
@given(adversarial_arrays(max_dims=2), adversarial_arrays(max_dims=1), adversarial_arrays(max_dims=1))
def test_gaussian_process_refuses_bad_training_data(x, y, theta) -> None:
    out = assert_contract(GaussianProcess, x, y, theta, names=("x", "y", "theta"))
    if out.ok:
        mu, var = out.result.predict(np.asarray(x, dtype=float))
        assert np.isfinite(mu).all() and (var > 0).all()


@contract_settings()
@given(st.sampled_from(["ei", "ucb", "nei", "kg", "mes", "bogus"]), adversarial_scalars(), adversarial_scalars(),
       adversarial_scalars())
def test_gp_config_validates_every_field(acquisition, batch_size, guard_delta, ucb_beta) -> None:
    assert_contract(GPConfig, acquisition=acquisition, batch_size=batch_size, guard_delta=guard_delta,
                    ucb_beta=ucb_beta, names=("acquisition", "batch_size", "guard_delta", "ucb_beta"))


@contract_settings(scale=0.3)
@given(st.sampled_from(["ei", "ucb", "nei", "kg", "mes"]), st.lists(EXTREME, min_size=16, max_size=16))
def test_study_with_extreme_values_stays_quiet_and_fails_closed(acquisition, values) -> None:
    opt = GPOptimizer(acquisition=acquisition, seed=0, n_candidates=32, kg_points=8, mes_samples=4, n_initial=3)
    study = go.Study(SPACE, optimizer=opt, constraints={"c": ("<=", 0.0)})
    it = iter(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the library is quiet: no overflow warnings
        study.optimize(lambda p: {"value": next(it), "c": next(it)}, n_trials=8)
        best = study.best("pessimistic")
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    if best is not None:
        assert best.constraints["c"] <= 0.0  # measured feasible: pessimism is never laxer than data


# ------------------------------------------------------------------------------------ regressions


def test_issue13_gp_rejects_nan_inputs_instead_of_predicting_nan() -> None:
    with pytest.raises(InputDataError, match="'x' argument of GaussianProcess must be an array of finite"):
        GaussianProcess(np.array([[math.nan]]), np.array([1.0]), np.zeros(3))
    with pytest.raises(InputDataError, match="'y' argument of GaussianProcess must have shape"):
        GaussianProcess(np.zeros((2, 1)), np.zeros(3), np.zeros(3))
    with pytest.raises(InputDataError, match="'theta' argument of GaussianProcess holds log hyperparameters"):
        GaussianProcess(np.zeros((2, 1)), np.zeros(2), np.array([0.0, 1e308, 0.0]))
    with pytest.raises(InputDataError, match="'x' argument of GaussianProcess must be an array of real"):
        GaussianProcess("a", "b", "c")  # type: ignore[arg-type]


def test_issue13_pessimistic_recommendation_requires_measured_feasibility() -> None:
    # -1e308 next to 3.0: in standardized units the violation 3.0 rounds to 0 and the GP bound passed it
    values = [1e308, -1e308, 1e-300, 0.0, 1e308, -1e308, 5e-324, 1.0, 1e308, 2.0, -1e308, 3.0] * 2
    study = go.Study(SPACE, optimizer=GPOptimizer(acquisition="ucb", seed=0, n_candidates=64),
                     constraints={"c": ("<=", 0.0)})
    it = iter(values)
    study.optimize(lambda p: {"value": next(it), "c": next(it)}, n_trials=12)
    best = study.best("pessimistic")
    assert best is None or best.constraints["c"] <= 0.0
