"""Viable prediction ranges: hand values, brute force on a tiny set, monotonicity, sampling, fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.audit import (
    LevelSet,
    MultiplicityConfig,
    PredictionRanges,
    SamplingConfig,
    ambiguity,
    discrepancy_bound,
    logistic,
    sampled_ranges,
    viable_prediction_ranges,
)
from guardopt.audit import solvers as audit_solvers
from guardopt.core.errors import InputDataError, InvalidParameterError


def _tiny(n: int = 14, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1))
    y = (rng.random(n) < 1 / (1 + np.exp(-1.5 * x[:, 0]))).astype(float)
    y[:2] = (0.0, 1.0)
    return x, y


def test_penalized_loss_reference_values():
    X = np.array([[1.0], [-1.0]])
    y = np.array([1.0, 0.0])
    assert math.isclose(logistic.penalized_loss(np.zeros(2), X, y, 1.0), math.log(2), rel_tol=1e-12)
    # z = (1, -1), margins s z = (1, 1): log(1 + e^-1) each, + ||w||² / (2 C n) = 1 / 4
    assert math.isclose(logistic.penalized_loss(np.array([1.0, 0.0]), X, y, 1.0),
                        math.log1p(math.exp(-1)) + 0.25, rel_tol=1e-12)


def test_fit_matches_scikit_learn_and_minimises_the_loss():
    from sklearn.linear_model import LogisticRegression

    X, y = _tiny(40, 3)
    theta = logistic.fit(X, y, 0.7)
    sk = LogisticRegression(C=0.7, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(theta, [*sk.coef_.ravel(), *sk.intercept_], atol=1e-5)
    loss = logistic.penalized_loss(theta, X, y, 0.7)
    for d in np.eye(2):
        for h in (1e-3, -1e-3):
            assert logistic.penalized_loss(theta + h * d, X, y, 0.7) >= loss - 1e-12


def test_convex_ranges_match_brute_force_on_a_tiny_set():
    X, y = _tiny()
    cfg = MultiplicityConfig(epsilon=0.05)
    Q = np.array([[-2.0], [0.0], [1.5]])
    r = viable_prediction_ranges(X, y, Q, cfg)
    assert r.solved.all()
    # Brute force: a dense grid over (w, b), keep the members of S_ε, take their prediction extremes.
    w, b = np.meshgrid(np.linspace(-1, 4, 601), np.linspace(-2.5, 2.5, 601))
    th = np.stack([w.ravel(), b.ravel()], axis=1)
    z = th @ np.hstack([X, np.ones((X.shape[0], 1))]).T
    s = 2 * y - 1
    loss = np.mean(np.logaddexp(0, -s * z), axis=1) + th[:, 0] ** 2 / (2 * X.shape[0])
    members = th[loss <= r.loss_bound]
    assert members.shape[0] > 100
    p = logistic.predict_proba(members, Q)
    # Every brute-force member lies inside the convex range, and the range is not wider than the
    # grid's extremes plus the grid's resolution.
    assert np.all(p.min(axis=0) >= r.lower - 1e-4) and np.all(p.max(axis=0) <= r.upper + 1e-4)
    np.testing.assert_allclose(p.min(axis=0), r.lower, atol=5e-3)
    np.testing.assert_allclose(p.max(axis=0), r.upper, atol=5e-3)
    assert np.all(r.endpoint_loss <= r.loss_bound * (1 + 1e-6))
    assert np.all(r.lower <= r.baseline) and np.all(r.baseline <= r.upper)


def test_ranges_grow_with_epsilon_and_vanish_as_it_goes_to_zero():
    X, y = _tiny(30, 1)
    ls = LevelSet(X, y)
    Q = X[:5]
    widths = [viable_prediction_ranges(X, y, Q, MultiplicityConfig(epsilon=e), level_set=ls).width
              for e in (1e-4, 1e-2, 5e-2)]
    assert np.all(np.diff(np.array(widths), axis=0) >= -1e-6)
    assert np.max(widths[0]) < 0.2 * np.max(widths[1])  # ~ sqrt(1e-4 / 1e-2) = 0.1


def test_sampled_models_lie_inside_the_convex_ranges():
    X, y = _tiny(30, 2)
    ls = LevelSet(X, y)
    Q = X[:6]
    r = viable_prediction_ranges(X, y, Q, MultiplicityConfig(epsilon=0.02), level_set=ls)
    s = sampled_ranges(X, y, Q, SamplingConfig(n_models=25, perturbation=0.3, epsilon=0.02), seed=0, level_set=ls)
    assert s.n_inside > 0
    assert np.all(s.losses[: s.n_models] > 0)
    assert np.all(s.predictions >= r.lower - 1e-4) and np.all(s.predictions <= r.upper + 1e-4)
    assert np.all(r.width >= s.width - 1e-4)
    again = sampled_ranges(X, y, Q, SamplingConfig(n_models=25, perturbation=0.3, epsilon=0.02), seed=0, level_set=ls)
    np.testing.assert_array_equal(s.predictions, again.predictions)  # same seed, same refits


def _ranges(lower, upper, base, ends=None) -> PredictionRanges:
    lower, upper, base = (np.asarray(v, dtype=float) for v in (lower, upper, base))
    m = base.size
    ends = np.zeros((m, 2, 2)) if ends is None else ends
    return PredictionRanges(lower, upper, base, ends, np.zeros((m, 2)), 1.0, 1.0, np.ones((m, 2), dtype=bool))


def test_ambiguity_reference_values_and_fail_closed():
    r = _ranges([0.38, 0.30, 0.49], [0.55, 0.52, 0.51], [0.50, 0.45, 0.50])
    # reaches: max(0.05, 0.12) -> hit; max(0.07, 0.15) -> hit; 0.01 -> no
    assert ambiguity(r, 0.1) == pytest.approx(2 / 3)
    assert ambiguity(r, 0.1, weights=[1, 0, 1]) == pytest.approx(0.5)
    unsolved = _ranges([np.nan, 0.49], [np.nan, 0.51], [0.5, 0.5])
    assert ambiguity(unsolved, 0.1) == pytest.approx(0.5)  # the unsolved point counts as ambiguous
    with pytest.raises(InvalidParameterError, match="'delta'"):
        ambiguity(r, 1.5)


def test_discrepancy_bound_reference_value_and_order():
    # Query x = (-1, 0, 1); h0 = σ(0) = 0.5 everywhere; endpoint models w·x with w = ±2 and w = 0.
    Q = np.array([[-1.0], [0.0], [1.0]])
    ends = np.zeros((3, 2, 2))
    ends[0, 1, 0] = 2.0
    ends[2, 0, 0] = -2.0
    base = np.full(3, 0.5)
    p2 = 1 / (1 + math.exp(-2))
    r = _ranges([1 - p2, 0.5, 1 - p2], [p2, 0.5, p2], base, ends)
    # model w=2 moves x=-1 and x=1 by 0.38 >= 0.1: 2/3; the w=0 endpoints move nothing.
    assert discrepancy_bound(r, Q, 0.1) == pytest.approx(2 / 3)
    assert discrepancy_bound(r, Q, 0.1) <= ambiguity(r, 0.1)


def test_fallback_moves_on_when_a_solver_is_inaccurate_or_fails(monkeypatch):
    import cvxpy as cp

    calls = []

    class FakeProblem:
        status = None
        value = None

        def solve(self, solver, **kw):
            calls.append(solver)
            if solver == "CLARABEL":
                raise cp.error.SolverError("boom")
            self.status = "optimal_inaccurate" if solver == "SCS" else "optimal"
            self.value = 1.0

    monkeypatch.setattr(audit_solvers, "available", lambda s: ("CLARABEL", "SCS", "ECOS"))
    out = audit_solvers.solve(FakeProblem())
    assert calls == ["CLARABEL", "SCS", "ECOS"] and out.solver == "ECOS" and out.accurate
    monkeypatch.setattr(audit_solvers, "available", lambda s: ("CLARABEL", "SCS"))
    out = audit_solvers.solve(FakeProblem())
    assert out.solver == "SCS" and not out.accurate and out.status == "optimal_inaccurate"


def test_inaccurate_endpoints_are_unsolved_not_trusted(monkeypatch):
    X, y = _tiny()
    ls = LevelSet(X, y)
    monkeypatch.setattr(LevelSet, "extreme", lambda self, d, b: (ls.theta0.copy(), "SCS", False))
    r = viable_prediction_ranges(X, y, X[:2], level_set=ls)
    assert not r.solved.any() and np.isnan(r.lower).all()
    assert ambiguity(r, 0.1) == 1.0


def test_configs_and_inputs_raise_the_library_errors():
    with pytest.raises(InvalidParameterError, match="The 'epsilon' parameter of MultiplicityConfig"):
        MultiplicityConfig(epsilon=0.0)
    with pytest.raises(InvalidParameterError, match="'solvers'"):
        MultiplicityConfig(solvers=())
    with pytest.raises(InvalidParameterError, match="'perturbation'"):
        SamplingConfig(perturbation=1.5)
    X, y = _tiny()
    with pytest.raises(InputDataError, match="'y'"):
        viable_prediction_ranges(X, np.zeros(len(y)))
    with pytest.raises(InputDataError, match="'query'"):
        viable_prediction_ranges(X, y, np.ones((2, 3)))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputDataError, match="'X'"):
        viable_prediction_ranges(bad, y)
