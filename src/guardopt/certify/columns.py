"""Data columns of any element type: group labels may be strings, tuples, ``None``, enums, mixed.

``numpy.asarray`` turns a list of tuples into a 2-D array, a list mixing strings and numbers into
strings (``[1, "a"] -> ["1", "a"]``, so the label ``1`` disappears) and ``arr == ("a", 1)`` into an
element-wise comparison with a sequence. `as_column` keeps such a column as a 1-D object array, and
`equal_mask` compares row by row with Python equality, so a group label can be any hashable value.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_column(value: Any) -> np.ndarray:
    """A data column as an array whose first axis is the rows.

    Numeric and boolean columns (and feature matrices) keep numpy's conversion; a column of strings,
    tuples, ``None`` or mixed values becomes a 1-D object array of the original elements. A pandas
    Series or Index is read through ``to_numpy()``.
    """
    if isinstance(value, np.ndarray):
        return value
    to_numpy = getattr(value, "to_numpy", None)
    if callable(to_numpy):
        arr = np.asarray(to_numpy())
        if arr.ndim == 1:
            return arr
    items = list(value) if isinstance(value, (list, tuple)) else None
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged rows (tuples of different lengths)
        arr = np.empty(0)
        if items is None:
            raise
    if items is None or (arr.dtype.kind in "biufc" and arr.ndim >= 1 and arr.dtype != object
                         and not any(isinstance(x, tuple) for x in items)):
        return arr
    if arr.dtype.kind == "U" and arr.ndim == 1 and all(isinstance(x, str) for x in items):
        return arr
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = x
    return out


def equal_mask(column: Any, value: Any) -> np.ndarray:
    """Rows of ``column`` equal to ``value``, a boolean array of shape ``(n,)``.

    Python equality row by row for object columns and for tuple (or other sequence) values;
    numpy's vectorized comparison otherwise. ``True`` and ``1`` are different labels here.
    """
    col = as_column(column)
    if col.dtype != object and col.ndim == 1 and not isinstance(value, (tuple, list, np.ndarray)):
        # numpy's own booleans too: np.True_ is not the label 1 either (as in `_same`).
        if isinstance(value, (bool, np.bool_)) != (col.dtype.kind == "b"):
            return np.zeros(col.shape[0], dtype=bool)
        with np.errstate(all="ignore"):
            out = np.asarray(col == value)
        if out.shape == col.shape:
            return out.astype(bool)
    return np.fromiter((_same(x, value) for x in col), dtype=bool, count=col.shape[0])


def distinct(column: Any) -> list[Any]:
    """The distinct values of a 1-D column in order of first appearance."""
    seen: list[Any] = []
    for x in as_column(column):
        if not any(_same(x, s) for s in seen):
            seen.append(x)
    return seen


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        a = tuple(a.tolist())
    if isinstance(a, (bool, np.bool_)) != isinstance(b, (bool, np.bool_)):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
