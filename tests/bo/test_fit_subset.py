"""The large-n path: hyperparameters fitted on a subset, the posterior on every point."""

from __future__ import annotations

import numpy as np
import pytest

import guardopt as go
from guardopt.bo.optimizer import GPOptimizer
from guardopt.bo.subset import fit_subset_indices
from guardopt.core.errors import InvalidParameterError


def _f(x: np.ndarray) -> float:
    return float(np.sum((x - 0.3) ** 2) + 0.1 * np.sum(np.sin(8.0 * x)))


def _study(n: int, d: int, seed: int, **options: object) -> go.Study:
    rng = np.random.default_rng(seed)
    space = go.Space({f"x{i}": go.Real(0.0, 1.0) for i in range(d)})
    study = go.Study(space, optimizer=GPOptimizer("ei", seed=seed, **options))
    for row in rng.random((n, d)):
        study.add_trial({f"x{i}": float(row[i]) for i in range(d)}, _f(row))
    return study


def test_subset_keeps_everything_up_to_its_size() -> None:
    y = np.array([3.0, 1.0, 2.0])
    assert fit_subset_indices(len(y), 3, np.random.default_rng(0)).tolist() == [0, 1, 2]
    assert fit_subset_indices(len(y), None, np.random.default_rng(0)).tolist() == [0, 1, 2]


def test_subset_is_a_seeded_uniform_sample_without_repeats() -> None:
    y = np.arange(20.0)
    idx = fit_subset_indices(len(y), 8, np.random.default_rng(1))
    assert len(idx) == 8 and len(set(idx.tolist())) == 8
    assert idx.tolist() == sorted(idx.tolist()) and 0 <= idx.min() and idx.max() < 20
    assert fit_subset_indices(len(y), 8, np.random.default_rng(1)).tolist() == idx.tolist()
    # Uniform: over many draws every index is chosen about size / n = 40% of the time.
    counts = np.zeros(20)
    rng = np.random.default_rng(2)
    for _ in range(2000):
        counts[fit_subset_indices(len(y), 8, rng)] += 1
    assert np.all(np.abs(counts / 2000 - 0.4) < 0.05)


def test_below_the_threshold_the_subset_path_is_the_exact_path() -> None:
    a = _study(30, 3, seed=4)
    b = _study(30, 3, seed=4, fit_subset=None)
    assert a.ask().params == b.ask().params


def test_subset_fit_agrees_with_the_exact_fit_at_small_n() -> None:
    # 160 points, hyperparameters from 48 of them: the posterior (conditioned on all 160 either way)
    # predicts held-out points about as well as the exact fit does, and close to it.
    d = 3
    exact = _study(160, d, seed=2, fit_subset=None)
    sub = _study(160, d, seed=2, fit_subset=48)
    exact.ask()
    sub.ask()
    opt_e, opt_s = exact.optimizer, sub.optimizer
    assert isinstance(opt_e, GPOptimizer) and isinstance(opt_s, GPOptimizer)
    test = np.random.default_rng(99).random((200, d))
    truth = np.array([_f(row) for row in test])
    preds = []
    for opt in (opt_e, opt_s):
        model = opt._fit()
        preds.append(model.gp.predict(test)[0] * model.scaler.std + model.scaler.mean)
    rmse_e = float(np.sqrt(np.mean((preds[0] - truth) ** 2)))
    rmse_s = float(np.sqrt(np.mean((preds[1] - truth) ** 2)))
    spread = float(np.std(truth))
    assert rmse_e < 0.05 * spread
    assert rmse_s < 1.25 * rmse_e + 0.01 * spread
    assert float(np.sqrt(np.mean((preds[0] - preds[1]) ** 2))) < 0.03 * spread


def test_fit_subset_is_validated() -> None:
    with pytest.raises(InvalidParameterError, match="'fit_subset'"):
        GPOptimizer(fit_subset=3)
    with pytest.raises(InvalidParameterError, match="'fit_subset'"):
        GPOptimizer(fit_subset=1.5)  # type: ignore[arg-type]
