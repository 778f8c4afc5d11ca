"""Pareto dominance and hypervolume, numpy only.

Conventions. Every function takes objective values as an array of shape ``(n, k)`` (one row per
point, one column per objective) and optional ``directions`` (``"minimize"`` / ``"maximize"`` per
column, default all minimize). Internally everything is turned into *losses* (``-value`` for a
maximized column), so that smaller is better in every column.

* ``a`` dominates ``b`` when ``a <= b`` in every loss and ``a < b`` in at least one.
* Fail closed: a row holding a NaN or an infinity is never non-dominated and never adds
  hypervolume (it says nothing trustworthy about the objectives).
* The hypervolume of a set w.r.t. a reference point ``r`` (in the same units and directions as
  the values) is the Lebesgue measure of the region the set dominates and that dominates ``r``.
  Points that do not strictly beat ``r`` in every objective add nothing.

Algorithms. Two objectives: the sort-and-sweep (``O(n log n)``). Three or more: "hypervolume by
slicing objectives" (While, Hingston, Barone & Huband, 2006, "A faster algorithm for calculating
hypervolume", IEEE TEC 10(1)), exact, ``O(n^(k-1))``: sweep the last objective and add the
``(k-1)``-dimensional hypervolume of the points at or below each slice times the slice's height.
It is meant for the fronts a Bayesian optimizer produces (tens to a few hundred points).

`improvement_boxes` cuts the region a front does *not* dominate into disjoint axis-aligned boxes
(a grid over the front's coordinates in the first ``k - 1`` objectives, each column open below in
the last objective). Hypervolume improvement is then a sum over boxes, which is what makes the
expected hypervolume improvement of independent Gaussian predictions exact (see
`guardopt.bo.multiobjective`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array

__all__ = [
    "hypervolume",
    "hypervolume_improvement",
    "improvement_boxes",
    "is_non_dominated",
    "pareto_front",
    "to_losses",
]


def _values(values: Any, owner: str, k: int | None = None) -> np.ndarray:
    a = as_float_array(values, "values", owner)
    if a.ndim == 1 and a.size == 0:
        a = a.reshape(0, k if k is not None else 0)
    if a.ndim != 2:
        raise InputDataError(f"The 'values' argument of {owner} must have shape (n, k). Got shape {a.shape}.")
    if k is not None and a.shape[1] != k and a.shape[0] > 0:
        raise InputDataError(f"The 'values' argument of {owner} must have {k} columns (one per objective). "
                             f"Got shape {a.shape}.")
    return a


def _signs(directions: Sequence[str] | None, k: int, owner: str) -> np.ndarray:
    if directions is None:
        return np.ones(k)
    if isinstance(directions, str) or not isinstance(directions, Sequence) or len(directions) != k:
        raise InvalidParameterError("directions", owner, f"a sequence of {k} 'minimize'/'maximize' entries",
                                    directions)
    out = np.empty(k)
    for j, d in enumerate(directions):
        if d not in ("minimize", "maximize"):
            raise InvalidParameterError("directions", owner, "'minimize' or 'maximize' entries", directions)
        out[j] = 1.0 if d == "minimize" else -1.0
    return out


def to_losses(values: Any, directions: Sequence[str] | None = None) -> np.ndarray:
    """Values of shape ``(n, k)`` in minimization form (maximized columns negated); same shape."""
    a = _values(values, "to_losses")
    return a * _signs(directions, a.shape[1], "to_losses")


def _non_dominated_2d(losses: np.ndarray) -> np.ndarray:
    """Two objectives in ``O(n log n)``: sort by the first loss, keep rows below every earlier row's second."""
    order = np.lexsort((losses[:, 1], losses[:, 0]))
    a, b = losses[order, 0], losses[order, 1]
    # First row of each run of equal first losses; within a run only the smallest second loss can survive.
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    run_min = b[starts]  # sorted by (a, b): the first row of a run has the run's smallest b
    before = np.r_[np.inf, np.minimum.accumulate(run_min)[:-1]]  # min b over strictly smaller a
    run_of = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, a.size]))
    keep_sorted = (b == run_min[run_of]) & (b < before[run_of])
    keep = np.empty(a.size, dtype=bool)
    keep[order] = keep_sorted
    return keep


def _non_dominated_losses(losses: np.ndarray) -> np.ndarray:
    n = losses.shape[0]
    ok = np.all(np.isfinite(losses), axis=1)
    if n == 0:
        return ok
    keep = ok.copy()
    if losses.shape[1] == 2:
        if ok.any():
            keep[ok] = _non_dominated_2d(losses[ok])
        return keep
    idx = np.flatnonzero(ok)
    sub = losses[idx]
    # Pairwise: row i is dominated when some row j is <= everywhere and < somewhere. O(n^2 k) in
    # chunks, which is plenty for study-sized sets and keeps memory bounded.
    for start in range(0, len(idx), 256):
        block = sub[start:start + 256]
        le = np.all(sub[None, :, :] <= block[:, None, :], axis=2)
        lt = np.any(sub[None, :, :] < block[:, None, :], axis=2)
        dominated = np.any(le & lt, axis=1)
        keep[idx[start:start + 256]] = ~dominated
    return keep


def is_non_dominated(values: Any, directions: Sequence[str] | None = None) -> np.ndarray:
    """Which rows of ``values`` (shape ``(n, k)``) no other row dominates; bool array of shape ``(n,)``.

    Rows holding NaN or an infinity are False (and are ignored as dominators). Duplicated rows do
    not dominate each other, so all copies of a non-dominated point are kept.

    Example:
        >>> is_non_dominated([[1, 3], [2, 2], [3, 3], [2, 1]]).tolist()
        [True, False, False, True]
    """
    a = _values(values, "is_non_dominated")
    return _non_dominated_losses(a * _signs(directions, a.shape[1], "is_non_dominated"))


def pareto_front(values: Any, directions: Sequence[str] | None = None) -> np.ndarray:
    """The non-dominated rows of ``values``, shape ``(m, k)``, in their original order."""
    a = _values(values, "pareto_front")
    return np.asarray(a[is_non_dominated(a, directions)])


def _check_ref(ref: Any, k: int, owner: str) -> np.ndarray:
    try:
        r = as_float_array(ref, "ref", owner)
    except InputDataError as exc:
        raise InvalidParameterError("ref", owner, f"{k} finite numbers", ref) from exc
    if r.shape != (k,) or not np.all(np.isfinite(r)):
        raise InvalidParameterError("ref", owner, f"{k} finite numbers (one per objective)", ref)
    return r


def _hv_losses(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume of loss rows strictly below ``ref`` everywhere (all finite)."""
    if points.shape[0] == 0:
        return 0.0
    k = points.shape[1]
    if k == 1:
        return float(ref[0] - np.min(points[:, 0]))
    pts = points[_non_dominated_losses(points)]
    if k == 2:
        order = np.argsort(pts[:, 0], kind="stable")
        p = pts[order]
        # Non-dominated and sorted by the first loss: the second decreases, so the region is a staircase.
        widths = np.diff(np.append(p[:, 0], ref[0]))
        return float(np.sum(widths * (ref[1] - p[:, 1])))
    # Slice along the last objective: between consecutive levels the dominated cross-section is the
    # (k-1)-D hypervolume of the points at or below the lower level.
    order = np.argsort(pts[:, -1], kind="stable")
    p = pts[order]
    levels = np.append(p[:, -1], ref[-1])
    total = 0.0
    for i in range(len(p)):
        height = levels[i + 1] - levels[i]
        if height > 0:
            total += height * _hv_losses(p[: i + 1, :-1], ref[:-1])
    return float(total)


def _prepared(values: Any, ref: Any, directions: Sequence[str] | None, owner: str,
              ) -> tuple[np.ndarray, np.ndarray]:
    try:
        k = int(as_float_array(ref, "ref", owner).size)
    except InputDataError as exc:
        raise InvalidParameterError("ref", owner, "finite numbers, one per objective", ref) from exc
    a = _values(values, owner, k if k else None)
    if a.shape[0] and not k:
        k = a.shape[1]
    r = _check_ref(ref, k, owner)
    s = _signs(directions, k, owner)
    losses, rl = a * s, r * s
    finite = np.all(np.isfinite(losses), axis=1)
    inside = finite & np.all(losses < rl, axis=1)
    return losses[inside], rl


def hypervolume(values: Any, ref: Any, directions: Sequence[str] | None = None) -> float:
    """Exact hypervolume dominated by the rows of ``values`` and bounded by the reference point ``ref``.

    Args:
        values: Objective values, shape ``(n, k)`` (``n`` may be 0).
        ref: The reference point, shape ``(k,)``, finite, in the same units and directions (a
            worst acceptable value per objective).
        directions: Per objective ``"minimize"`` or ``"maximize"`` (default: all minimize).

    Returns:
        The hypervolume (0.0 for an empty set or when no row beats ``ref`` everywhere).

    Example:
        >>> hypervolume([[1, 3], [2, 2], [3, 1]], ref=[4, 4])
        6.0
    """
    pts, r = _prepared(values, ref, directions, "hypervolume")
    with np.errstate(over="ignore", invalid="ignore"):
        hv = _hv_losses(pts, r)
    if not math.isfinite(hv):
        raise InputDataError("The hypervolume of these 'values' and 'ref' exceeds the float64 range; rescale "
                             "the objectives (e.g. to units near 1).")
    return hv


def hypervolume_improvement(new: Any, values: Any, ref: Any, directions: Sequence[str] | None = None) -> np.ndarray:
    """How much each candidate row of ``new`` (shape ``(m, k)``) alone adds to the hypervolume of ``values``.

    Returns:
        Shape ``(m,)``: ``HV(values + [new_i]) - HV(values)`` (0 for a dominated or non-finite row).
    """
    pts, r = _prepared(values, ref, directions, "hypervolume_improvement")
    k = r.size
    cand = _values(new, "hypervolume_improvement", k)
    lo, up = improvement_boxes(pts, r)
    return _hvi_boxes(cand * _signs(directions, k, "hypervolume_improvement"), lo, up)


def improvement_boxes(losses: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes covering the part of ``{y < ref}`` that the loss rows do not dominate.

    Args:
        losses: Finite loss rows strictly below ``ref``, shape ``(n, k)`` (minimization form).
        ref: Reference point in loss form, shape ``(k,)``.

    Returns:
        ``(lower, upper)``, each of shape ``(B, k)``: box ``b`` is ``[lower_b, upper_b)``; lower
        bounds may be ``-inf``. The hypervolume improvement of a point ``y`` is
        ``sum_b prod_j (upper_bj - max(y_j, lower_bj))_+``. With ``n`` front points there are at most
        ``(n + 1)^(k - 1)`` boxes (a grid over the first ``k - 1`` objectives; each grid column is
        open below in the last objective and reaches up to the lowest last loss of the points that
        weakly dominate the column's lower corner in the other objectives).
    """
    losses = np.asarray(losses, dtype=float).reshape(-1, ref.size)
    k = ref.size
    if losses.shape[0]:
        losses = losses[_non_dominated_losses(losses)]
    if k == 1:
        top = np.min(losses[:, 0]) if losses.shape[0] else ref[0]
        return np.array([[-np.inf]]), np.array([[top]])
    grids = []
    for j in range(k - 1):
        c = np.unique(losses[:, j]) if losses.shape[0] else np.empty(0)
        grids.append((np.concatenate([[-np.inf], c]), np.concatenate([c, [ref[j]]])))
    mesh_lo = np.stack(np.meshgrid(*[g[0] for g in grids], indexing="ij"), axis=-1).reshape(-1, k - 1)
    mesh_up = np.stack(np.meshgrid(*[g[1] for g in grids], indexing="ij"), axis=-1).reshape(-1, k - 1)
    if losses.shape[0]:
        # Points weakly better than the column's lower corner in the first k-1 losses cap it.
        covers = np.all(losses[None, :, :-1] <= mesh_lo[:, None, :], axis=2)  # (B, n)
        cap = np.where(covers, losses[None, :, -1], np.inf).min(axis=1)
        top = np.minimum(cap, ref[-1])
    else:
        top = np.full(mesh_lo.shape[0], ref[-1])
    keep = (top > -np.inf) & np.all(mesh_up > mesh_lo, axis=1)
    lower = np.column_stack([mesh_lo[keep], np.full(int(keep.sum()), -np.inf)])
    upper = np.column_stack([mesh_up[keep], top[keep]])
    return lower, upper


def _hvi_boxes(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Hypervolume improvement of each loss row of ``y`` (``(m, k)``) given the boxes; shape ``(m,)``."""
    y = np.atleast_2d(y)
    ok = np.all(np.isfinite(y), axis=1)
    ys = np.where(ok[:, None], y, 0.0)
    out = np.zeros(y.shape[0])
    for start in range(0, lower.shape[0], 4096):
        lo, up = lower[start:start + 4096], upper[start:start + 4096]
        side = np.clip(up[None, :, :] - np.maximum(ys[:, None, :], lo[None, :, :]), 0.0, None)
        out += np.prod(side, axis=2).sum(axis=1)
    return np.where(ok, out, 0.0)
