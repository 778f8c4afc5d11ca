"""Fail-closed contract of the integrations: adversarial costs and constraint values never certify.

Built on `guardopt.testing.contracts`: every call returns a valid result or raises a `GuardoptError`
naming its parameter, and nothing computed from non-finite data passes a test.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import guardopt as go
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_scalars,
    assert_contract,
    assert_fails_closed,
    contract_settings,
    is_finite_data,
)

optuna = pytest.importorskip("optuna")

from guardopt.integrations.optuna import certify_best_trial  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
_STUDY = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
_STUDY.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)


@contract_settings()
@given(adversarial_arrays(max_dims=2, max_side=5), adversarial_scalars())
def test_certify_best_trial_never_passes_non_finite_costs(costs, threshold):
    def run():
        return certify_best_trial(_STUDY, lambda p: {"c": costs}, {"c": threshold})

    out = assert_contract(run, names=("samples", "threshold", "costs"))
    if out.ok and not (is_finite_data(costs) and is_finite_data(threshold)):
        assert not out.result.passed


@contract_settings()
@given(adversarial_scalars())
def test_certify_best_trial_names_a_bad_delta(delta):
    out = assert_contract(certify_best_trial, _STUDY, lambda p: {"c": [0.0, 0.0, 0.0]}, {"c": 1.0}, delta=delta,
                          names=("delta",))
    if out.ok:
        assert 0.0 < float(delta) < 1.0


@contract_settings(scale=0.3)
@given(st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308]))
def test_guarded_search_never_certifies_non_finite_constraint_values(bad):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    from guardopt.integrations.sklearn import GuardedSearchCV

    X, y = load_iris(return_X_y=True)

    def constraint(est, X, y):
        values = np.zeros(len(X))
        values[0] = bad
        return values

    search = GuardedSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": go.Integer(1, 4)}, n_trials=2,
                             cv=2, constraints={"c": (constraint, "<=", 1.0)}, optimizer=go.RandomSearch(seed=0),
                             seed=0)
    out = assert_contract(search.fit, X, y, names=("constraints",))
    if out.ok and not np.isfinite(bad):
        assert not search.certificate_ and search.best_estimator_ is None
    assert_fails_closed(lambda: bool(search.certificate_) and not np.isfinite(bad))
