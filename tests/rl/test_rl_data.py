"""The D4RL/DSRL dataset layout: validation, .npz round trips, episodes, normalization, filters."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InsufficientDataError, InvalidParameterError
from guardopt.rl.data import (
    episode_slices,
    episode_sums,
    load_dataset,
    normalized_cost,
    normalized_reward,
    reward_range,
    save_dataset,
    validate_dataset,
)
from guardopt.rl.filters import safe_episodes


def _toy() -> dict[str, np.ndarray]:
    # two episodes of 3 and 2 steps
    return {"observations": np.arange(10.0).reshape(5, 2), "actions": np.zeros((5, 1)),
            "rewards": np.array([1.0, 2.0, 3.0, 10.0, 20.0]), "costs": np.array([0.0, 1.0, 0.0, 1.0, 1.0]),
            "next_observations": np.arange(10.0).reshape(5, 2) + 1, "terminals": np.array([0, 0, 1, 0, 0]),
            "timeouts": np.array([0, 0, 0, 0, 1]), "h": np.array([-1.0, 1, -1, 2, 3])}


def test_round_trip_through_npz_keeps_every_key(tmp_path):
    path = save_dataset(tmp_path / "logs.npz", _toy())
    back = load_dataset(path)
    for k, v in _toy().items():
        np.testing.assert_array_equal(back[k], v.astype(back[k].dtype))
    assert back["terminals"].dtype == bool


def test_episodes_and_sums():
    d = validate_dataset(_toy())
    assert episode_slices(d) == [slice(0, 3), slice(3, 5)]
    np.testing.assert_array_equal(episode_sums(d, "rewards"), [6.0, 30.0])
    np.testing.assert_array_equal(episode_sums(d, "costs"), [1.0, 2.0])
    assert reward_range(d) == (6.0, 30.0)


def test_dsrl_normalization_by_hand():
    np.testing.assert_allclose(normalized_reward([6.0, 18.0, 30.0], 6.0, 30.0), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(normalized_cost([0.0, 5.0, 20.0], 10.0), [0.0, 0.5, 2.0])
    np.testing.assert_allclose(normalized_cost([0.0, 2.0], 0.0), [1.0, 3.0])  # ε = 1 when κ = 0
    with pytest.raises(InvalidParameterError, match="'r_max'"):
        normalized_reward([1.0], 2.0, 2.0)
    with pytest.raises(InvalidParameterError, match="'cost_limit'"):
        normalized_cost([1.0], -1.0)


def test_validation_errors_name_the_key():
    d = _toy()
    del d["costs"]
    with pytest.raises(InputDataError, match="costs"):
        validate_dataset(d)
    d = _toy()
    d["rewards"] = d["rewards"][:3]
    with pytest.raises(InputDataError, match="rewards"):
        validate_dataset(d)
    d = _toy()
    d["observations"][0, 0] = np.nan
    with pytest.raises(InputDataError, match="observations"):
        validate_dataset(d)
    d = _toy()
    d["costs"][0] = -1.0
    with pytest.raises(InputDataError, match="non-negative"):
        validate_dataset(d)
    with pytest.raises(InputDataError, match="dict"):
        validate_dataset([1, 2])
    with pytest.raises(InvalidParameterError, match="'path'"):
        load_dataset("/nonexistent/file.npz")


def test_an_unfinished_last_episode_is_closed_as_a_timeout():
    d = _toy()
    d["timeouts"] = np.zeros(5)
    assert validate_dataset(d)["timeouts"][-1]


def test_safe_episodes_keeps_whole_episodes_under_the_limit():
    kept = safe_episodes(_toy(), cost_limit=1.0)
    np.testing.assert_array_equal(kept["rewards"], [1.0, 2.0, 3.0])
    assert len(safe_episodes(_toy(), cost_limit=2.0)["rewards"]) == 5
    with pytest.raises(InsufficientDataError, match="BC-Safe"):
        safe_episodes(_toy(), cost_limit=0.5)
