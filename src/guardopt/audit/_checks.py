"""Input checks shared by the audit modules: every bad input becomes a `GuardoptError` naming it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, as_float_array


def matrix(value: Any, param: str, owner: str, min_rows: int = 1) -> np.ndarray:
    """A finite float matrix of shape ``(n, d)`` with ``n >= min_rows`` and ``d >= 1``."""
    arr = as_float_array(value, param, owner, finite=True)
    if arr.ndim != 2 or arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise InputDataError(f"The {param!r} argument of {owner} must be a finite matrix of shape (n, d) with "
                             f"n >= {min_rows} and d >= 1. Got shape {arr.shape} instead.")
    return np.ascontiguousarray(arr)


def vector(value: Any, param: str, owner: str, n: int | None = None, min_size: int = 1) -> np.ndarray:
    """A finite 1-D float vector (of length ``n`` when given)."""
    arr = as_float_array(value, param, owner, finite=True)
    if arr.ndim != 1 or arr.size < min_size or (n is not None and arr.size != n):
        want = f"length {n}" if n is not None else f"at least {min_size} entries"
        raise InputDataError(f"The {param!r} argument of {owner} must be a finite 1-D array of {want}. "
                             f"Got shape {arr.shape} instead.")
    return arr


def binary(value: Any, param: str, owner: str, n: int | None = None, both: bool = False) -> np.ndarray:
    """A 0/1 vector (of length ``n``); with ``both`` each of 0 and 1 must occur."""
    arr = vector(value, param, owner, n)
    if not np.all((arr == 0) | (arr == 1)):
        raise InputDataError(f"The {param!r} argument of {owner} must hold only 0 and 1. "
                             f"Got values {np.unique(arr)[:5].tolist()} instead.")
    if both and (arr.min() == arr.max()):
        raise InputDataError(f"The {param!r} argument of {owner} must contain both 0 and 1. "
                             f"Got only {int(arr[0])} instead.")
    return arr.astype(int)


def probabilities(value: Any, param: str, owner: str, n: int | None = None) -> np.ndarray:
    """A finite vector with entries in [0, 1]."""
    arr = vector(value, param, owner, n)
    if np.any(arr < 0.0) or np.any(arr > 1.0):
        raise InputDataError(f"The {param!r} argument of {owner} must hold scores in [0, 1]. "
                             f"Got values in [{arr.min():g}, {arr.max():g}] instead.")
    return arr


def weights(value: Any, param: str, owner: str, n: int) -> np.ndarray:
    """Non-negative finite sample weights of length ``n`` with a positive, finite sum (all ones when None)."""
    if value is None:
        return np.ones(n)
    arr = vector(value, param, owner, n)
    with np.errstate(over="ignore"):
        total = float(arr.sum())
    if np.any(arr < 0) or not total > 0 or not math.isfinite(total):  # an overflowing sum makes every rate NaN
        raise InputDataError(f"The {param!r} argument of {owner} must be non-negative with a positive, finite sum. "
                             f"Got min {arr.min():g}, sum {total:g} instead.")
    return arr
