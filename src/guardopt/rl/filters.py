"""Trajectory filters: keep whole episodes by their cost (BC-Safe's data, OSRL's ``process_bc_dataset``)."""

from __future__ import annotations

import numpy as np

from guardopt.core.errors import InsufficientDataError, check_in_range
from guardopt.rl.data import episode_slices, validate_dataset

__all__ = ["filter_episodes", "safe_episodes"]


def filter_episodes(data: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of the episodes where ``keep`` (one bool per episode, in order) is True."""
    slices = episode_slices(data)
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != (len(slices),):
        raise InsufficientDataError(f"The 'keep' argument of filter_episodes must have one entry per episode "
                                    f"({len(slices)}). Got shape {keep.shape} instead.")
    rows = np.concatenate([np.arange(s.start, s.stop) for s, k in zip(slices, keep) if k] or [np.zeros(0, int)])
    return {k: np.asarray(v)[rows] for k, v in data.items()}


def safe_episodes(data: dict[str, np.ndarray], cost_limit: float) -> dict[str, np.ndarray]:
    """The episodes whose total cost is at most ``cost_limit`` (BC-Safe's training data).

    Raises `InsufficientDataError` when no episode qualifies (BC-Safe would have nothing to clone).
    """
    limit = check_in_range(cost_limit, "cost_limit", "safe_episodes", 0.0, low_open=False)
    data = validate_dataset(data, "safe_episodes")
    costs = np.array([data["costs"][s].sum() for s in episode_slices(data)])
    keep = costs <= limit
    if not keep.any():
        raise InsufficientDataError(f"No episode of the dataset has cost <= {limit:g} (the smallest is "
                                    f"{costs.min():g}); BC-Safe has nothing to clone.")
    return filter_episodes(data, keep)
