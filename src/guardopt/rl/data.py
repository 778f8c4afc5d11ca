"""Offline safe-RL datasets: the D4RL/DSRL dictionary layout, ``.npz`` I/O and DSRL normalization.

A dataset is a plain ``dict`` of numpy arrays with N transitions (Fu et al. 2020, D4RL; Liu et al.
2023, DSRL): ``observations (N, obs_dim)``, ``actions (N, action_dim)``, ``rewards (N,)``,
``costs (N,)``, ``next_observations (N, obs_dim)``, ``terminals (N,)``, ``timeouts (N,)``. Extra
keys (for example ``h``, a signed constraint value) are kept. Episodes are consecutive rows and end
where ``terminals | timeouts`` is True. A user's own logs load the same way: build the dict (or
save it with `save_dataset`) and call `validate_dataset`.

DSRL's normalization (liuzuxin/DSRL ``offline_env.py``): R_n = (R − R_min) / (R_max − R_min) and
C_n = (C + ε) / (κ + ε), with ε = 1 only when the cost limit κ is 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_in_range

__all__ = [
    "REQUIRED_KEYS",
    "episode_slices",
    "episode_sums",
    "load_dataset",
    "normalized_cost",
    "normalized_reward",
    "reward_range",
    "save_dataset",
    "validate_dataset",
]

REQUIRED_KEYS = ("observations", "actions", "rewards", "costs", "next_observations", "terminals", "timeouts")


def validate_dataset(data: Any, owner: str = "validate_dataset") -> dict[str, np.ndarray]:
    """Check the layout and return a clean copy (float arrays, boolean flags, finite values).

    Raises `InputDataError` naming the key that is missing, mis-shaped or not finite. A dataset
    with no transitions is refused. If the last row ends no episode, it is marked as a timeout.
    Extra numeric keys with one entry per row are kept as they are, without the finiteness check
    (a learner that uses one, such as FISOR's ``h``, checks it itself); other extra keys are dropped.
    """
    if not isinstance(data, dict):
        raise InputDataError(f"The 'dataset' argument of {owner} must be a dict of arrays in the D4RL/DSRL "
                             f"layout. Got {type(data).__name__} instead.")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InputDataError(f"The 'dataset' argument of {owner} must have the keys {list(REQUIRED_KEYS)}. "
                             f"Missing {missing}.")
    out: dict[str, np.ndarray] = {}
    for k in ("observations", "actions", "next_observations"):
        arr = as_float_array(data[k], f"dataset[{k!r}]", owner, finite=True, min_size=1)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InputDataError(f"The 'dataset[{k!r}]' argument of {owner} must be a 2-D array (N, dim). "
                                 f"Got shape {arr.shape} instead.")
        out[k] = arr
    n = out["observations"].shape[0]
    for k in ("rewards", "costs"):
        out[k] = as_float_array(data[k], f"dataset[{k!r}]", owner, finite=True).reshape(-1)
    for k in ("terminals", "timeouts"):
        out[k] = as_float_array(data[k], f"dataset[{k!r}]", owner, finite=True).reshape(-1) != 0
    for k, v in out.items():
        if v.shape[0] != n:
            raise InputDataError(f"The 'dataset[{k!r}]' argument of {owner} must have {n} rows (as many as "
                                 f"observations). Got {v.shape[0]} instead.")
    if out["next_observations"].shape[1] != out["observations"].shape[1]:
        raise InputDataError(f"The 'dataset' argument of {owner} must have next_observations of the same width as "
                             f"observations. Got {out['next_observations'].shape[1]} and "
                             f"{out['observations'].shape[1]} instead.")
    if np.any(out["costs"] < 0):
        raise InputDataError(f"The 'dataset[\"costs\"]' argument of {owner} must be non-negative. "
                             "Got negative costs instead.")
    for k, v in data.items():
        if k not in out:
            arr = np.asarray(v)
            if arr.shape[:1] == (n,) and arr.dtype.kind in "biuf":
                out[k] = arr.astype(float) if arr.dtype.kind == "f" else arr
    if not (out["terminals"][-1] or out["timeouts"][-1]):
        out["timeouts"] = out["timeouts"].copy()
        out["timeouts"][-1] = True
    return out


def save_dataset(path: str | Path, data: dict[str, np.ndarray]) -> Path:
    """Validate and write ``data`` to a compressed ``.npz`` file; returns the path."""
    clean = validate_dataset(data, "save_dataset")
    path = Path(path)
    np.savez_compressed(path, **clean)  # type: ignore[arg-type]
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def load_dataset(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``.npz`` dataset (ours or a user's, in the same layout) and validate it."""
    path = Path(path)
    if not path.exists():
        raise InvalidParameterError("path", "load_dataset", "an existing .npz file", str(path))
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    return validate_dataset(data, "load_dataset")


def episode_slices(data: dict[str, np.ndarray]) -> list[slice]:
    """Row ranges of the episodes (consecutive rows up to each ``terminals | timeouts``)."""
    _require(data, ("rewards", "terminals", "timeouts"), "episode_slices")
    ends = np.flatnonzero(np.asarray(data["terminals"], bool) | np.asarray(data["timeouts"], bool))
    n = len(data["rewards"])
    if ends.size == 0 or ends[-1] != n - 1:
        ends = np.append(ends, n - 1)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [slice(int(s), int(e) + 1) for s, e in zip(starts, ends)]


def episode_sums(data: dict[str, np.ndarray], key: str) -> np.ndarray:
    """Per-episode sums of ``data[key]`` (e.g. returns for ``"rewards"``, episode costs for ``"costs"``)."""
    _require(data, (key,), "episode_sums")
    v = np.asarray(data[key], dtype=float)
    return np.array([v[s].sum() for s in episode_slices(data)])


def reward_range(data: dict[str, np.ndarray]) -> tuple[float, float]:
    """(R_min, R_max): the smallest and largest episode return in the dataset (DSRL's normalizers)."""
    r = episode_sums(data, "rewards")
    return float(r.min()), float(r.max())


def normalized_reward(returns: Any, r_min: float, r_max: float) -> np.ndarray:
    """DSRL normalized return (R − R_min) / (R_max − R_min); ``returns`` any shape."""
    lo = check_in_range(r_min, "r_min", "normalized_reward")
    hi = check_in_range(r_max, "r_max", "normalized_reward")
    if not hi > lo:
        raise InvalidParameterError("r_max", "normalized_reward", f"greater than r_min = {lo:g}", r_max)
    return (as_float_array(returns, "returns", "normalized_reward") - lo) / (hi - lo)


def normalized_cost(costs: Any, cost_limit: float) -> np.ndarray:
    """DSRL normalized cost (C + ε) / (κ + ε), ε = 1 only when κ = 0; ``costs`` any shape."""
    kappa = check_in_range(cost_limit, "cost_limit", "normalized_cost", 0.0, low_open=False)
    eps = 1.0 if kappa == 0 else 0.0
    return (as_float_array(costs, "costs", "normalized_cost") + eps) / (kappa + eps)


def _require(data: Any, keys: tuple[str, ...], owner: str) -> None:
    if not isinstance(data, dict):
        raise InputDataError(f"The 'data' argument of {owner} must be a dict of arrays in the D4RL/DSRL layout. "
                             f"Got {type(data).__name__} instead.")
    missing = [k for k in keys if k not in data]
    if missing:
        raise InputDataError(f"The 'data' argument of {owner} must have the keys {list(keys)}. Missing {missing}.")
