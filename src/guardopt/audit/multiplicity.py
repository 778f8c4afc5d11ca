"""Predictive multiplicity of a probabilistic classifier: viable prediction ranges over an ε-level set.

Watson-Daniels, Parkes and Ustun, "Predictive Multiplicity in Probabilistic Classification",
AAAI 2023 (arXiv 2206.01131). For a loss ``L`` with minimiser ``h₀`` the **ε-level set** is
``S_ε = {h : L(h) ≤ L(h₀) + ε}``; the **viable prediction range** of a point is
``V_ε(x) = [min_{h∈S_ε} h(x), max_{h∈S_ε} h(x)]``. For L2-regularised logistic regression
(`guardopt.audit.logistic`) the level set is convex in ``theta`` and the sigmoid is monotone, so each
end is one convex program::

    max / min  theta · x̃   subject to   L(theta) ≤ L₀ + ε,        x̃ = (x, 1),

solved with cvxpy (``cp.logistic``, an exponential-cone program) through a fallback chain of solvers
(`guardopt.audit.solvers`: Clarabel, then SCS, then ECOS when installed), after which the sigmoid is
applied. One compiled problem with the point as a parameter serves every point and both ends.

From the ranges:

* **ambiguity** ``α_ε(δ)``: the share of points whose range reaches ``δ`` away from ``h₀(x)``;
* **discrepancy** ``max_{h∈S_ε} (1/n) Σ_i 1[|h(x_i) − h₀(x_i)| ≥ δ]`` is not convex; its **lower bound**
  here is the largest share reached by one of the endpoint models (each is a member of ``S_ε``),
  so ``discrepancy bound ≤ discrepancy ≤ ambiguity``.

The **sampling baseline** (`sampled_ranges`) refits the model on bootstrap resamples and keeps the
refits that land inside ``S_ε`` (their loss on the original data); the envelope of their predictions
is an inner estimate of each range. A perturbation strength ``γ`` shrinks the bootstrap weights
towards one (``1 + γ (counts − 1)``; ``γ = 1`` is the plain bootstrap) so that refits can land inside
a small level set at all.

Fail closed: a point whose programs no solver answered accurately, or whose endpoint model is not
feasible, gets a NaN range end and counts as ambiguous (its stability cannot be vouched for).

cvxpy is imported lazily (the optional ``audit`` extra). The paper's own ε and δ grids were not
checked against its text here; the defaults (ε = 1% of ``L₀``, δ = 0.1) are documented choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guardopt.audit import logistic
from guardopt.audit._checks import binary, matrix, vector
from guardopt.audit.solvers import DEFAULT_SOLVERS, import_cvxpy, solve
from guardopt.core.errors import InputDataError, InvalidParameterError, check_bool, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = [
    "LevelSet",
    "MultiplicityConfig",
    "PredictionRanges",
    "SampledRanges",
    "SamplingConfig",
    "ambiguity",
    "discrepancy_bound",
    "sampled_ranges",
    "viable_prediction_ranges",
]


def _check_solvers(solvers: Any, owner: str) -> tuple[str, ...]:
    if not isinstance(solvers, tuple) or not solvers or not all(isinstance(s, str) for s in solvers):
        raise InvalidParameterError("solvers", owner, "a non-empty tuple of cvxpy solver names", solvers)
    return solvers


@dataclass(frozen=True)
class MultiplicityConfig:
    """Settings of the viable-prediction-range programs.

    Attributes:
        epsilon: Level-set slack ``ε`` (> 0); a fraction of ``L₀`` when ``relative``.
        relative: Whether ``epsilon`` is relative to the minimal loss ``L₀`` (default) or absolute.
        C: Inverse L2 strength of the logistic loss (scikit-learn's ``C``; default 1.0, its default).
        delta: Ambiguity threshold ``δ`` in (0, 1) on the probability scale.
        solvers: cvxpy solvers tried in order until one answers accurately.
        feasibility_tol: Relative slack allowed when an endpoint's loss is checked against the bound.
    """

    epsilon: float = 0.01
    relative: bool = True
    C: float = 1.0
    delta: float = 0.1
    solvers: tuple[str, ...] = DEFAULT_SOLVERS
    feasibility_tol: float = 1e-6

    def __post_init__(self) -> None:
        owner = "MultiplicityConfig"
        check_in_range(self.epsilon, "epsilon", owner, 0.0, math.inf)
        check_bool(self.relative, "relative", owner)
        check_in_range(self.C, "C", owner, 0.0, math.inf)
        check_in_range(self.delta, "delta", owner, 0.0, 1.0)
        _check_solvers(self.solvers, owner)
        check_in_range(self.feasibility_tol, "feasibility_tol", owner, 0.0, 1.0, low_open=False)


@dataclass(frozen=True)
class SamplingConfig:
    """Settings of the sampling baseline (bootstrap refits kept when inside the level set).

    Attributes:
        n_models: Bootstrap refits drawn (default 300).
        perturbation: ``γ`` in (0, 1]: weights ``1 + γ (counts − 1)``; 1 is the plain bootstrap.
        epsilon, relative, C: As in `MultiplicityConfig` (the same level set).
    """

    n_models: int = 300
    perturbation: float = 1.0
    epsilon: float = 0.01
    relative: bool = True
    C: float = 1.0

    def __post_init__(self) -> None:
        owner = "SamplingConfig"
        check_int(self.n_models, "n_models", owner, 1, 100_000)
        check_in_range(self.perturbation, "perturbation", owner, 0.0, 1.0, high_open=False)
        check_in_range(self.epsilon, "epsilon", owner, 0.0, math.inf)
        check_bool(self.relative, "relative", owner)
        check_in_range(self.C, "C", owner, 0.0, math.inf)


def _data(X: Any, y: Any, query: Any, owner: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = matrix(X, "X", owner, min_rows=2)
    y = binary(y, "y", owner, X.shape[0], both=True)
    Q = X if query is None else matrix(query, "query", owner)
    if Q.shape[1] != X.shape[1]:
        raise InputDataError(f"The 'query' argument of {owner} must have {X.shape[1]} columns like X. "
                             f"Got {Q.shape[1]} instead.")
    if np.abs(X).max() > 1e6 or np.abs(Q).max() > 1e6:
        raise InputDataError(f"The 'X' argument of {owner} must be scaled (|x| <= 1e6) for the conic solvers. "
                             f"Got max |x| = {max(np.abs(X).max(), np.abs(Q).max()):g} instead.")
    return X, y, Q


def _check_level_set(level_set: Any, X: np.ndarray, y: np.ndarray, C: float, owner: str) -> None:
    """A `LevelSet` must be built on the very ``(X, y, C)`` it is used with (else its ``L₀`` and program are wrong)."""
    if not (isinstance(level_set, LevelSet) and level_set.X.shape == X.shape and level_set.C == C
            and np.array_equal(level_set.X, X) and np.array_equal(level_set.y, y)):
        raise InvalidParameterError("level_set", owner, "a LevelSet built on the same X, y and C", level_set)


def _check_config(config: Any, kind: type, owner: str) -> Any:
    if config is None:
        return kind()
    if not isinstance(config, kind):
        raise InvalidParameterError("config", owner, f"None or a {kind.__name__}", config)
    return config


def _check_ranges(ranges: Any, owner: str) -> None:
    if not isinstance(ranges, PredictionRanges):
        raise InvalidParameterError("ranges", owner, "a PredictionRanges (from viable_prediction_ranges)", ranges)


class LevelSet:
    """The ε-level set ``{theta : L(theta) ≤ L₀ + ε}`` of the logistic loss on ``(X, y)``.

    Fits ``theta₀`` once and compiles one cvxpy program ``max c·theta s.t. L(theta) ≤ b`` with ``c``
    and ``b`` as parameters, so every point, both ends and every ``ε`` reuse it.

    Args:
        X: Training features ``(n, d)``; y: labels ``(n,)`` in {0, 1}; C: inverse L2 strength.
        solvers: The fallback chain.
    """

    def __init__(self, X: Any, y: Any, C: float = 1.0, solvers: tuple[str, ...] = DEFAULT_SOLVERS) -> None:
        self.X, self.y, _ = _data(X, y, None, "LevelSet")
        self.C = check_in_range(C, "C", "LevelSet", 0.0, math.inf)
        self.solvers = _check_solvers(solvers, "LevelSet")
        self.theta0 = logistic.fit(self.X, self.y, self.C)
        self.loss0 = logistic.penalized_loss(self.theta0, self.X, self.y, self.C)
        self._problem: Any = None

    def bound(self, epsilon: float, relative: bool = True) -> float:
        """``L₀ + ε`` (``L₀ (1 + ε)`` when relative), for ``ε > 0``."""
        epsilon = check_in_range(epsilon, "epsilon", "LevelSet.bound", 0.0, math.inf)
        check_bool(relative, "relative", "LevelSet.bound")
        return self.loss0 * (1.0 + epsilon) if relative else self.loss0 + epsilon

    def loss(self, theta: np.ndarray) -> float:
        """The penalised loss of ``theta`` on the training data."""
        return logistic.penalized_loss(theta, self.X, self.y, self.C)

    def _compile(self) -> None:
        cp = import_cvxpy()
        d = self.X.shape[1]
        theta = cp.Variable(d + 1)
        c = cp.Parameter(d + 1)
        b = cp.Parameter(nonneg=True)
        s = 2.0 * self.y - 1.0
        Xt = logistic.design(self.X)
        # n times the loss: sums are better scaled for the cone solvers than means.
        loss = cp.sum(cp.logistic(-cp.multiply(s, Xt @ theta))) + cp.sum_squares(theta[:-1]) / (2.0 * self.C)
        self._vars = (theta, c, b)
        self._problem = cp.Problem(cp.Maximize(c @ theta), [loss <= b])

    def extreme(self, direction: np.ndarray, bound: float) -> tuple[np.ndarray | None, str, bool]:
        """``argmax_{L(theta) ≤ bound} direction·theta``: ``(theta or None, solver, accurate)``."""
        direction = vector(direction, "direction", "LevelSet.extreme", self.X.shape[1] + 1)
        bound = check_in_range(bound, "bound", "LevelSet.extreme", 0.0, math.inf)
        if self._problem is None:
            self._compile()
        theta, c, b = self._vars
        c.value = direction
        b.value = bound * self.X.shape[0]
        theta.value = None
        out = solve(self._problem, self.solvers)
        value = None if theta.value is None else np.asarray(theta.value, dtype=float).copy()
        return value, out.solver, out.accurate


@dataclass(frozen=True)
class PredictionRanges:
    """Viable prediction ranges of ``m`` query points.

    Attributes:
        lower, upper: ``(m,)`` range ends on the probability scale (NaN where unsolved).
        baseline: ``(m,)`` predictions of ``h₀``.
        endpoints: ``(m, 2, d + 1)`` parameters of the min and max endpoint models (NaN where unsolved).
        endpoint_loss: ``(m, 2)`` their losses; loss_bound: ``L₀ + ε``; loss0: ``L₀``.
        feasible: ``(m, 2)`` whether each endpoint solved accurately and meets the bound.
        solver: ``(m, 2)`` the solver that answered each program.
    """

    lower: np.ndarray
    upper: np.ndarray
    baseline: np.ndarray
    endpoints: np.ndarray
    endpoint_loss: np.ndarray
    loss_bound: float
    loss0: float
    feasible: np.ndarray
    solver: tuple[tuple[str, str], ...] = field(default=())

    @property
    def width(self) -> np.ndarray:
        """``upper - lower``, shape ``(m,)`` (NaN where unsolved)."""
        return self.upper - self.lower

    @property
    def solved(self) -> np.ndarray:
        """``(m,)`` True where both ends are accurate and feasible."""
        return np.all(self.feasible, axis=1)


def viable_prediction_ranges(X: Any, y: Any, query: Any = None, config: MultiplicityConfig | None = None,
                             level_set: LevelSet | None = None) -> PredictionRanges:
    """Viable prediction ranges of logistic regression over the ε-level set (two convex programs per point).

    Args:
        X: Training features ``(n, d)`` (scaled; one-hot or standardised columns).
        y: Training labels ``(n,)`` in {0, 1}, both present.
        query: Points ``(m, d)`` whose ranges are wanted (default: the training points).
        config: `MultiplicityConfig` (ε, C, solvers).
        level_set: A `LevelSet` already built on the same ``(X, y, C)`` (reuses its fit and program).

    Returns:
        `PredictionRanges` with ``lower <= baseline <= upper`` wherever solved.
    """
    owner = "viable_prediction_ranges"
    cfg = _check_config(config, MultiplicityConfig, owner)
    Xc, yc, Q = _data(X, y, query, owner)
    ls = level_set if level_set is not None else LevelSet(Xc, yc, cfg.C, cfg.solvers)
    _check_level_set(ls, Xc, yc, cfg.C, owner)
    bound = ls.bound(cfg.epsilon, cfg.relative)
    Qt = logistic.design(Q)
    m, p = Qt.shape
    ends = np.full((m, 2, p), np.nan)
    losses = np.full((m, 2), np.nan)
    feasible = np.zeros((m, 2), dtype=bool)
    solvers: list[tuple[str, str]] = []
    limit = bound * (1.0 + cfg.feasibility_tol) + cfg.feasibility_tol
    for i in range(m):
        used = []
        for j, sign in enumerate((-1.0, 1.0)):  # j = 0: the minimum, 1: the maximum
            theta, name, accurate = ls.extreme(sign * Qt[i], bound)
            used.append(name)
            if theta is None or not np.all(np.isfinite(theta)):
                continue
            ends[i, j] = theta
            losses[i, j] = ls.loss(theta)
            feasible[i, j] = accurate and losses[i, j] <= limit
        solvers.append((used[0], used[1]))
    z = np.einsum("mjp,mp->mj", ends, Qt)
    with np.errstate(over="ignore"):
        probs = 1.0 / (1.0 + np.exp(-z))
    probs[~feasible] = np.nan
    base = logistic.predict_proba(ls.theta0, Q)
    # Each end can only be at least as extreme as h₀ (a member of S_ε); solver noise below that is clipped.
    lower = np.where(np.isnan(probs[:, 0]), np.nan, np.minimum(probs[:, 0], base))
    upper = np.where(np.isnan(probs[:, 1]), np.nan, np.maximum(probs[:, 1], base))
    return PredictionRanges(lower, upper, base, ends, losses, bound, ls.loss0, feasible, tuple(solvers))


def _weights(weights: Any, m: int, owner: str) -> np.ndarray:
    if weights is None:
        return np.full(m, 1.0 / m)
    w = vector(weights, "weights", owner, m)
    if np.any(w < 0) or not w.sum() > 0:
        raise InputDataError(f"The 'weights' argument of {owner} must be non-negative with a positive sum.")
    return w / w.sum()


def ambiguity(ranges: PredictionRanges, delta: float = 0.1, weights: Any = None) -> float:
    """``α_ε(δ)``: the (weighted) share of points whose range reaches ``δ`` from ``h₀``.

    An unsolved point counts as ambiguous (fail closed). ``weights (m,)`` reweight the query points
    (e.g. inverse sampling fractions of a stratified sample); default: equal.
    """
    _check_ranges(ranges, "ambiguity")
    check_in_range(delta, "delta", "ambiguity", 0.0, 1.0)
    w = _weights(weights, ranges.baseline.size, "ambiguity")
    reach = np.fmax(ranges.upper - ranges.baseline, ranges.baseline - ranges.lower)
    hit = ~(reach < delta)  # NaN (unsolved) counts as a hit
    return float(np.dot(w, hit))


def discrepancy_bound(ranges: PredictionRanges, query: Any, delta: float = 0.1, weights: Any = None) -> float:
    """A lower bound on the discrepancy: the largest share of query points moved by ``δ`` by one endpoint model.

    Args:
        ranges: From `viable_prediction_ranges` on ``query``.
        query: The same query points ``(m, d)``.
        delta: Threshold on the probability scale.
        weights: ``(m,)`` point weights as in `ambiguity`.

    Only feasible endpoints count (each is a member of ``S_ε``), so the bound is a true lower bound on
    the discrepancy over ``S_ε`` and never exceeds `ambiguity` for the same ``δ`` and weights.
    """
    _check_ranges(ranges, "discrepancy_bound")
    check_in_range(delta, "delta", "discrepancy_bound", 0.0, 1.0)
    Q = matrix(query, "query", "discrepancy_bound")
    m = ranges.baseline.size
    if Q.shape[0] != m or Q.shape[1] + 1 != ranges.endpoints.shape[2]:
        raise InputDataError(f"The 'query' argument of discrepancy_bound must be the ({m}, "
                             f"{ranges.endpoints.shape[2] - 1}) points of the ranges. Got {Q.shape} instead.")
    w = _weights(weights, m, "discrepancy_bound")
    models = ranges.endpoints[ranges.feasible]
    if models.shape[0] == 0:
        return 0.0
    preds = logistic.predict_proba(models, Q)  # (k, m)
    moved = np.abs(preds - ranges.baseline[None, :]) >= delta
    return float(np.max(moved @ w))


@dataclass(frozen=True)
class SampledRanges:
    """The sampling baseline's envelope over the refits inside the level set.

    Attributes:
        lower, upper: ``(m,)`` envelope of the kept models' predictions (NaN when none was kept).
        predictions: ``(k, m)`` predictions of the ``k`` kept models.
        losses: ``(n_models,)`` loss of every refit on the original data; loss_bound: ``L₀ + ε``.
        n_models: Refits drawn.
    """

    lower: np.ndarray
    upper: np.ndarray
    predictions: np.ndarray
    losses: np.ndarray
    loss_bound: float
    n_models: int

    @property
    def n_inside(self) -> int:
        """How many refits landed inside the level set."""
        return int(self.predictions.shape[0])

    @property
    def width(self) -> np.ndarray:
        """``upper - lower`` (0 with one kept model, NaN with none)."""
        return self.upper - self.lower


def sampled_ranges(X: Any, y: Any, query: Any = None, config: SamplingConfig | None = None,
                   seed: SeedLike = None, level_set: LevelSet | None = None) -> SampledRanges:
    """The sampling baseline: bootstrap refits, kept when their loss on ``(X, y)`` is within the level set.

    Args:
        X, y, query: As in `viable_prediction_ranges`.
        config: `SamplingConfig`.
        seed: Seed of the bootstrap draws.
        level_set: A `LevelSet` on the same data and ``C`` (reuses ``theta₀`` and ``L₀``).

    Returns:
        `SampledRanges`; every kept model is a member of ``S_ε`` by construction, so its predictions
        lie inside the exact viable prediction ranges.
    """
    owner = "sampled_ranges"
    cfg = _check_config(config, SamplingConfig, owner)
    Xc, yc, Q = _data(X, y, query, owner)
    rng = make_rng(seed, owner)
    ls = level_set if level_set is not None else LevelSet(Xc, yc, cfg.C)
    _check_level_set(ls, Xc, yc, cfg.C, owner)
    bound = ls.bound(cfg.epsilon, cfg.relative)
    n = Xc.shape[0]
    kept = []
    losses = np.empty(cfg.n_models)
    for k in range(cfg.n_models):
        counts = rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
        w = 1.0 + cfg.perturbation * (counts - 1.0)
        # A refit need not be precise: membership of S_ε is decided by its exact loss below.
        theta = logistic.fit(Xc, yc, cfg.C, sample_weight=w, warm_start=ls.theta0, tol=1e-6)
        losses[k] = ls.loss(theta)
        if losses[k] <= bound:
            kept.append(theta)
    preds = logistic.predict_proba(np.array(kept), Q) if kept else np.empty((0, Q.shape[0]))
    if kept:
        lower, upper = preds.min(axis=0), preds.max(axis=0)
    else:
        lower = upper = np.full(Q.shape[0], np.nan)
    return SampledRanges(lower, upper, preds, losses, bound, cfg.n_models)
