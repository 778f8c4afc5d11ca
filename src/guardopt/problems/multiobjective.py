"""Multi-objective test problems with known Pareto fronts and reference points.

Every problem is in minimization form for all objectives and evaluates a batch: ``f(X)`` takes an
array of shape ``(n, d)`` in the problem's own box and returns ``(n, k)``. `MOProblem.space` gives
the matching guardopt `Space` (parameters ``x0 .. x{d-1}``) and `MOProblem.objective` evaluates a
parameter dict to what `Study.tell` accepts (the values, plus the constraint values when the
problem has constraints), so a problem plugs straight into ``Study(directions=...)``.

* ZDT1 and ZDT2: Zitzler, Deb & Thiele (2000), "Comparison of multiobjective evolutionary
  algorithms: empirical results", Evolutionary Computation 8(2). The front is ``g = 1``
  (``x1..x_{d-1} = 0``) with ``f2 = 1 - sqrt(f1)`` (convex) and ``f2 = 1 - f1^2`` (concave).
* DTLZ2: Deb, Thiele, Laumanns & Zitzler (2002), "Scalable multi-objective optimization test
  problems", CEC. The front is the positive part of the unit sphere.
* BNH: Binh & Korn (1997), "MOBES: a multiobjective evolution strategy for constrained
  optimization problems" — two objectives, two constraints.
* `hgb_accuracy_vs_size`: a scikit-learn HistGradientBoosting classifier on the breast-cancer data
  set, validation error against model size (log10 of the total number of leaves).

Reference points: those BoTorch's test problems use (``botorch.test_functions.multi_objective``)
for DTLZ2 (1.1 per objective) and BNH (140, 50); for ZDT1/2 BoTorch uses (11, 11), which sits so
far from the front that all reasonable methods score within 1% of each other, so we use
(1.1, 1.1), just beyond the front's nadir (1, 1), which rewards reaching the front. ``max_hv`` is
the front's hypervolume w.r.t. that point: closed forms for ZDT1/2 and DTLZ2, a dense grid for BNH.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from guardopt.core.errors import check_int
from guardopt.core.space import Integer, Real, Space

__all__ = ["MOProblem", "bnh", "dtlz2", "hgb_accuracy_vs_size", "zdt1", "zdt2"]


@dataclass(frozen=True)
class MOProblem:
    """A multi-objective problem (all objectives minimized).

    Attributes:
        name: Short name.
        bounds: ``(d, 2)`` box of the inputs.
        n_objectives: ``k``.
        f: ``X (n, d) -> (n, k)`` objective values.
        ref_point: Reference point for the hypervolume, shape ``(k,)``.
        max_hv: Hypervolume of the true front w.r.t. ``ref_point`` (NaN when unknown).
        constraints: Name -> ``(op, threshold)``, as `Study` takes them.
        g: ``X (n, d) -> (n, c)`` raw constraint values, one column per constraint (None without).
    """

    name: str
    bounds: np.ndarray
    n_objectives: int
    f: Callable[[np.ndarray], np.ndarray]
    ref_point: np.ndarray
    max_hv: float
    constraints: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    g: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def dim(self) -> int:
        return int(self.bounds.shape[0])

    @property
    def directions(self) -> list[str]:
        return ["minimize"] * self.n_objectives

    def space(self) -> Space:
        return Space({f"x{i}": Real(float(lo), float(hi)) for i, (lo, hi) in enumerate(self.bounds)})

    def point(self, params: Mapping[str, Any]) -> np.ndarray:
        return np.array([float(params[f"x{i}"]) for i in range(self.dim)])

    def objective(self, params: Mapping[str, Any]) -> Any:
        """Values (a list) or, with constraints, ``{"values": [...], name: value, ...}``."""
        x = self.point(params)[None, :]
        values = [float(v) for v in self.f(x)[0]]
        if self.g is None:
            return values
        gs = self.g(x)[0]
        return {"values": values, **{name: float(v) for name, v in zip(self.constraints, gs, strict=True)}}

    def feasible(self, x: np.ndarray) -> np.ndarray:
        """Whether each row of ``x`` (``(n, d)``) satisfies every constraint, shape ``(n,)``."""
        x = np.atleast_2d(x)
        if self.g is None:
            return np.ones(x.shape[0], dtype=bool)
        gs = self.g(x)
        ok = np.ones(x.shape[0], dtype=bool)
        for j, (op, thr) in enumerate(self.constraints.values()):
            ok &= gs[:, j] <= thr if op == "<=" else gs[:, j] >= thr
        return ok


def _zdt_g(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 + 9.0 * np.mean(x[:, 1:], axis=1))


def _zdt1(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    f1 = x[:, 0]
    g = _zdt_g(x)
    return np.column_stack([f1, g * (1.0 - np.sqrt(f1 / g))])


def _zdt2(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    f1 = x[:, 0]
    g = _zdt_g(x)
    return np.column_stack([f1, g * (1.0 - (f1 / g) ** 2)])


def zdt1(dim: int = 6) -> MOProblem:
    """ZDT1 on ``[0, 1]^dim``; front ``f2 = 1 - sqrt(f1)``; HV w.r.t. (1.1, 1.1) is ``0.11 + 0.1 + 2/3``."""
    dim = check_int(dim, "dim", "zdt1", low=2)
    return MOProblem("zdt1", np.tile([0.0, 1.0], (dim, 1)), 2, _zdt1, np.array([1.1, 1.1]), 0.21 + 2.0 / 3.0)


def zdt2(dim: int = 6) -> MOProblem:
    """ZDT2 on ``[0, 1]^dim``; front ``f2 = 1 - f1^2``; HV w.r.t. (1.1, 1.1) is ``0.11 + 0.1 + 1/3``."""
    dim = check_int(dim, "dim", "zdt2", low=2)
    return MOProblem("zdt2", np.tile([0.0, 1.0], (dim, 1)), 2, _zdt2, np.array([1.1, 1.1]), 0.21 + 1.0 / 3.0)


def dtlz2(dim: int = 6, n_objectives: int = 3) -> MOProblem:
    """DTLZ2 on ``[0, 1]^dim``; front: the unit sphere's positive part; HV w.r.t. 1.1^k is ``1.1^k - V_k``.

    ``V_k`` is the volume of the positive orthant of the unit ball (``pi / 6`` for ``k = 3``).
    """
    k = check_int(n_objectives, "n_objectives", "dtlz2", low=2)
    dim = check_int(dim, "dim", "dtlz2", low=k)

    def f(x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        g = np.sum((x[:, k - 1:] - 0.5) ** 2, axis=1)
        out = np.empty((x.shape[0], k))
        angles = x[:, : k - 1] * math.pi / 2
        for i in range(k):
            v = 1.0 + g
            for j in range(k - 1 - i):
                v = v * np.cos(angles[:, j])
            if i > 0:
                v = v * np.sin(angles[:, k - 1 - i])
            out[:, i] = v
        return out

    ball = math.pi ** (k / 2) / math.gamma(k / 2 + 1) / 2**k
    return MOProblem(f"dtlz2-{k}obj", np.tile([0.0, 1.0], (dim, 1)), k, f, np.full(k, 1.1), 1.1**k - ball)


def _bnh_f(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    return np.column_stack([4 * x[:, 0] ** 2 + 4 * x[:, 1] ** 2, (x[:, 0] - 5) ** 2 + (x[:, 1] - 5) ** 2])


def _bnh_g(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    return np.column_stack([(x[:, 0] - 5) ** 2 + x[:, 1] ** 2, (x[:, 0] - 8) ** 2 + (x[:, 1] + 3) ** 2])


@lru_cache(maxsize=1)
def _bnh_max_hv() -> float:
    from guardopt.core.pareto import hypervolume

    a, b = np.meshgrid(np.linspace(0, 5, 1501), np.linspace(0, 3, 901), indexing="ij")
    x = np.column_stack([a.ravel(), b.ravel()])
    ok = bnh_feasible(x)
    return hypervolume(_bnh_f(x[ok]), [140.0, 50.0])


def bnh_feasible(x: np.ndarray) -> np.ndarray:
    g = _bnh_g(x)
    return np.asarray((g[:, 0] <= 25.0) & (g[:, 1] >= 7.7))


def bnh() -> MOProblem:
    """BNH on ``[0, 5] x [0, 3]``: ``c1 = (x0-5)^2 + x1^2 <= 25``, ``c2 = (x0-8)^2 + (x1+3)^2 >= 7.7``.

    ``max_hv`` w.r.t. (140, 50) is the hypervolume of the feasible points of a 1501 x 901 grid (a
    lower bound of the true front's, tight to about 1e-4 relative).
    """
    return MOProblem("bnh", np.array([[0.0, 5.0], [0.0, 3.0]]), 2, _bnh_f, np.array([140.0, 50.0]), _bnh_max_hv(),
                     constraints={"c1": ("<=", 25.0), "c2": (">=", 7.7)}, g=_bnh_g)


@dataclass
class HGBProblem:
    """HistGradientBoosting accuracy vs model size on scikit-learn's breast-cancer data.

    Parameters: ``max_leaf_nodes`` in [2, 32] and ``max_iter`` in [5, 100] (integers, log scale;
    learning rate 0.1). Objectives (both minimized): the validation
    error rate on a fixed stratified 30% hold-out, and ``log10`` of the fitted model's total
    number of leaves. Fits are cached by parameters (the fit is deterministic: fixed
    ``random_state``, no early stopping), so repeated points cost nothing.
    """

    name: str = "hgb-breast-cancer"
    n_objectives: int = 2
    ref_point: np.ndarray = field(default_factory=lambda: np.array([0.2, math.log10(32 * 100) + 0.1]))
    max_hv: float = math.nan
    constraints: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    _cache: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    _data: Any = None

    @property
    def directions(self) -> list[str]:
        return ["minimize", "minimize"]

    def space(self) -> Space:
        return Space({"max_leaf_nodes": Integer(2, 32, log=True), "max_iter": Integer(5, 100, log=True)})

    def _split(self) -> Any:
        if self._data is None:
            from sklearn.datasets import load_breast_cancer
            from sklearn.model_selection import train_test_split

            x, y = load_breast_cancer(return_X_y=True)
            self._data = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
        return self._data

    def objective(self, params: Mapping[str, Any]) -> list[float]:
        key = (int(params["max_leaf_nodes"]), int(params["max_iter"]))
        if key not in self._cache:
            from sklearn.ensemble import HistGradientBoostingClassifier

            xtr, xva, ytr, yva = self._split()
            model = HistGradientBoostingClassifier(max_leaf_nodes=key[0], max_iter=key[1], learning_rate=0.1,
                                                   early_stopping=False, random_state=0)
            model.fit(xtr, ytr)
            err = float(np.mean(model.predict(xva) != yva))
            leaves = sum(int(np.sum(p.nodes["is_leaf"])) for it in model._predictors for p in it)
            self._cache[key] = (err, math.log10(leaves))
        return list(self._cache[key])


def hgb_accuracy_vs_size() -> HGBProblem:
    """The HistGradientBoosting accuracy-vs-size problem (see `HGBProblem`)."""
    return HGBProblem()
