"""Multi-objective test problems: fronts, reference hypervolumes and constraints, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import guardopt as go
from guardopt.core.pareto import hypervolume
from guardopt.problems.multiobjective import bnh, dtlz2, hgb_accuracy_vs_size, zdt1, zdt2


@pytest.mark.parametrize("make, shape", [(zdt1, lambda f: 1 - np.sqrt(f)), (zdt2, lambda f: 1 - f**2)])
def test_zdt_front_and_max_hv(make, shape) -> None:
    p = make()
    f1 = np.linspace(0, 1, 4001)
    x = np.column_stack([f1, np.zeros((f1.size, p.dim - 1))])  # g = 1: the front
    f = p.f(x)
    assert f[:, 1] == pytest.approx(shape(f1))
    # A dense sample of the front reaches the closed-form hypervolume from below.
    hv = hypervolume(f, p.ref_point)
    assert hv <= p.max_hv + 1e-12 and hv == pytest.approx(p.max_hv, rel=1e-3)
    assert p.f(np.full((1, p.dim), 0.5))[0, 1] > 1.0  # off the front: g > 1


def test_dtlz2_front_is_the_unit_sphere() -> None:
    p = dtlz2()
    rng = np.random.default_rng(0)
    x = rng.random((50, p.dim))
    x[:, 2:] = 0.5  # g = 0
    assert np.linalg.norm(p.f(x), axis=1) == pytest.approx(np.ones(50))
    assert p.max_hv == pytest.approx(1.1**3 - math.pi / 6)
    assert p.f(np.full((1, p.dim), 0.5))[0].tolist() == pytest.approx([0.5, 0.5, math.sqrt(0.5)])


def test_bnh_values_constraints_and_study_objective() -> None:
    p = bnh()
    # f(0, 0) = (0, 50); c1 = 25 (on its limit, feasible), c2 = 64 + 9 = 73 >= 7.7.
    out = p.objective({"x0": 0.0, "x1": 0.0})
    assert out == {"values": [0.0, 50.0], "c1": 25.0, "c2": 73.0}
    # (5, 3): c1 = 0 + 9, c2 = 9 + 36, feasible; (0, 3): c1 = 25 + 9 > 25, infeasible.
    assert p.feasible(np.array([[0.0, 0.0], [5.0, 3.0], [0.0, 3.0]])).tolist() == [True, True, False]
    assert 5200 < p.max_hv < 5300
    s = go.Study(p.space(), directions=p.directions, constraints=dict(p.constraints),
                 optimizer=go.RandomSearch(seed=0))
    s.optimize(p.objective, n_trials=8)
    assert all(p.feasible(p.point(t.params)[None, :])[0] for t in s.pareto_front())


def test_hgb_problem_is_cached_and_deterministic() -> None:
    pytest.importorskip("sklearn")
    p = hgb_accuracy_vs_size()
    params = {"max_leaf_nodes": 2, "max_iter": 5}
    a = p.objective(params)
    assert p.objective(params) == a and len(p._cache) == 1
    assert 0.0 <= a[0] <= 1.0 and a[1] == pytest.approx(1.0)  # 5 trees of 2 leaves: log10(10) = 1
