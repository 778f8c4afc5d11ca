"""`GPConfig.output_transform="yeo-johnson"`: the transform, its fallbacks, and a run with it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import yeojohnson

import guardopt as go
from guardopt.bo.optimizer import GPConfig, GPOptimizer, _yeo_johnson
from guardopt.core.errors import InvalidParameterError


def test_transform_is_scipys_standardized_and_monotone() -> None:
    acc = np.array([0.99, 0.98, 0.985, 0.16, 0.97, 0.30, 0.975])
    loss = -acc
    z = (loss - loss.mean()) / loss.std()
    out = _yeo_johnson(z)
    ref, _ = yeojohnson(z)
    np.testing.assert_allclose(out, (ref - ref.mean()) / ref.std(), rtol=1e-10)
    assert np.array_equal(np.argsort(out), np.argsort(z))  # monotone: the best point stays the best
    # the long tail of collapsed models is compressed: the good points spread out relative to it
    good = np.abs(acc - 0.98) < 0.02
    assert np.ptp(out[good]) > 2 * np.ptp(z[good])


@pytest.mark.parametrize("y", [np.array([1.0, 2.0]), np.array([0.0, 0.0, 0.0]), np.array([0.0, np.inf, 1.0])])
def test_transform_falls_back_to_the_input(y: np.ndarray) -> None:
    assert _yeo_johnson(y) is y


def test_config_and_a_run() -> None:
    with pytest.raises(InvalidParameterError, match="'output_transform' parameter of GPOptimizer"):
        GPConfig(output_transform="log")
    space = go.Space({"x": go.Real(-2, 2)})
    study = go.Study(space, optimizer=GPOptimizer(seed=0, output_transform="yeo-johnson", n_candidates=256))
    study.optimize(lambda p: (p["x"] - 0.5) ** 2 if abs(p["x"]) < 1.5 else 50.0, n_trials=14)
    best = study.best()
    assert best is not None and abs(best.params["x"] - 0.5) < 0.05
