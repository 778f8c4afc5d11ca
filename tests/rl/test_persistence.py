"""Saved learners load without unpickling arbitrary objects: a hostile file cannot run code on load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from guardopt.core.errors import InvalidParameterError
from guardopt.rl import BC, GaussianEnsemble
from guardopt.rl.persistence import load_state, save_state


class _Hostile:
    """Unpickling it would write a file: the side effect a weights-only load must never run."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.write_text, (self.target, "ran"))


def test_a_file_that_would_run_code_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    target, path = tmp_path / "side_effect.txt", tmp_path / "learner.pt"
    torch.save({"learner": "BC", "payload": _Hostile(target)}, path)
    for load in (BC.load, GaussianEnsemble.load):
        with pytest.raises(InvalidParameterError, match="'path'"):
            load(path)
    assert not target.exists()


def test_numpy_values_round_trip_as_plain_values(tmp_path: Path) -> None:
    state = {"mean": np.array([1.5, -2.0]), "n": np.int64(3), "log": [{"loss": np.float64(0.25)}], "t": (np.int32(1),)}
    back = load_state(save_state(state, tmp_path / "s.pt"), "test")
    np.testing.assert_array_equal(np.asarray(back["mean"]), [1.5, -2.0])
    assert back["n"] == 3 and type(back["n"]) is int
    assert back["log"] == [{"loss": 0.25}] and back["t"] == (1,)

