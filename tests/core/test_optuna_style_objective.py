"""The objective of Optuna's README runs unchanged under guardopt.

The objective below is the README's, character for character; only the data set is swapped for a
small local one (the README downloads California housing, and tests run offline).
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
import sklearn.datasets
import sklearn.ensemble
import sklearn.metrics
import sklearn.model_selection
import sklearn.svm

import guardopt as go
from guardopt.core import TrialState


# Define an objective function to be minimized.
def objective(trial):  # type: ignore[no-untyped-def]

    # Invoke suggest methods of a Trial object to generate hyperparameters.
    regressor_name = trial.suggest_categorical("regressor", ["SVR", "RandomForest"])
    if regressor_name == "SVR":
        svr_c = trial.suggest_float("svr_c", 1e-10, 1e10, log=True)
        regressor_obj = sklearn.svm.SVR(C=svr_c)
    else:
        rf_max_depth = trial.suggest_int("rf_max_depth", 2, 32)
        regressor_obj = sklearn.ensemble.RandomForestRegressor(max_depth=rf_max_depth)

    X, y = sklearn.datasets.fetch_california_housing(return_X_y=True)
    X_train, X_val, y_train, y_val = sklearn.model_selection.train_test_split(X, y, random_state=0)

    regressor_obj.fit(X_train, y_train)
    y_pred = regressor_obj.predict(X_val)

    error = sklearn.metrics.mean_squared_error(y_val, y_pred)

    return error  # An objective value linked with the Trial object.


@pytest.fixture
def offline_housing(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = X @ np.array([1.0, -0.5, 0.2, 0.0]) + 0.1 * rng.normal(size=120)
    monkeypatch.setattr(sklearn.datasets, "fetch_california_housing", lambda return_X_y=False: (X, y))


def test_the_optuna_readme_objective_runs_unchanged(offline_housing: None) -> None:
    study = go.Study()  # like optuna.create_study(): no space declared, minimize
    study.optimize(objective, n_trials=8)
    assert len(study.trials) == 8 and all(t.state is TrialState.COMPLETE for t in study.trials)
    for t in study.trials:  # the conditional parameters are recorded only where they were suggested
        assert ("svr_c" in t.params) == (t.params["regressor"] == "SVR")
        assert ("rf_max_depth" in t.params) == (t.params["regressor"] == "RandomForest")
    assert study.best_value == min(t.value for t in study.trials)
    assert study.best_params == dict(study.best_trial.params)


def test_and_with_guardopts_gp_and_a_declared_conditional_space(offline_housing: None) -> None:
    from guardopt.bo import GPOptimizer

    space = go.Space({
        "regressor": go.Choice(["SVR", "RandomForest"]),
        "svr_c": go.Real(1e-10, 1e10, log=True, when={"regressor": "SVR"}),
        "rf_max_depth": go.Integer(2, 32, when={"regressor": "RandomForest"}),
    })
    study = go.Study(space, optimizer=GPOptimizer(seed=0))
    study.optimize(objective, n_trials=6)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert all(space.validate(t.params) == dict(t.params) for t in study.trials)
