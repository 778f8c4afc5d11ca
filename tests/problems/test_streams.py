"""Streaming-bandit instance generators."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InvalidParameterError
from guardopt.problems.streams import clear_cut_means, make_instance, uniform_means


def test_clear_cut_has_one_best_arm() -> None:
    mu = clear_cut_means(1000, seed=0)
    assert mu.shape == (1000,)
    assert np.sum(mu == 0.82) == 1
    rest = mu[mu != 0.82]
    assert rest.min() >= 0.0 and rest.max() <= 0.8
    assert abs(rest.mean() - 0.5) < 0.02


def test_uniform_means_range_and_seed() -> None:
    a, b = uniform_means(50, seed=3), uniform_means(50, seed=3)
    assert np.array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1


def test_make_instance_validates() -> None:
    assert make_instance("clear-cut", 10, seed=0).shape == (10,)
    with pytest.raises(InvalidParameterError):
        make_instance("mix", 10)
    with pytest.raises(InvalidParameterError):
        uniform_means(1)
