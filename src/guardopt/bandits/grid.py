"""The grid bandit core shared by the bandit family.

A grid bandit chooses one of ``K`` arms (e.g. thresholds on a grid) per round and observes a reward
and ``m`` constraint residuals (``<= 0`` means satisfied) for the chosen arm only. The core keeps
per-arm running statistics of all ``1 + m`` signals (`guardopt.uncertainty.RunningStats`,
vectorized over arms) and turns them into confidence bounds each round:

    bound = mean ± c · radius(n_k, s_k, δ_t),

with ``radius`` one of guardopt's one-sided radii:

* ``"t"`` (default): Student-t radius ``s_k / sqrt(n_k) · t_{1-δ_t, n_k-1}``, which adapts to each
  statistic's observed standard deviation ``s_k``;
* ``"bernstein"``: Maurer–Pontil empirical Bernstein radius (variance-adaptive, needs a range);
* ``"hoeffding"``: a fixed-width radius (needs a range; it ignores the observed variance).

The level follows the anytime schedule ``δ_t = 1 / t`` (``t`` = rounds seen so far + 1, at least 2)
unless a fixed ``delta`` is given; for Gaussian noise ``t_{1-1/t} ≈ sqrt(2 log t)``, the UCB1
exploration bonus. Arms with fewer than two observations have infinite radii: an optimistic rule
prefers them, a pessimistic one rejects them.

Why variance-adaptive by default: the residuals of a fairness constraint are far less noisy than
their range suggests. A fixed radius explores infeasible thresholds much longer: in the `ofs`
reproduction, OFS with a Hoeffding radius over a range of 1 accumulates 16–18× the violation of OFS
with Student-t radii (a numpy prototype in the design notes saw 3–4× with a fixed scale of 0.1;
see docs/bandits.md).

Learners expose a fast array-level API (`GridBandit.select`, `GridBandit.ranking`,
`GridBandit.update`) and `GridBanditOptimizer` adapts any of them to the `Optimizer` protocol so a
`Study` can run it over a one-parameter (or small discrete) space.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
    to_float,
)
from guardopt.core.optimizer import OptimizerBase
from guardopt.core.problem import ProblemSpec
from guardopt.core.space import Choice, Integer, Params, Real
from guardopt.core.trial import Trial, TrialState
from guardopt.guards import feasible, optimistic, pessimistic
from guardopt.uncertainty import (
    Estimate,
    RunningStats,
    empirical_bernstein_radius,
    hoeffding_radius,
    student_t_radius,
)

RadiusKind = Literal["t", "bernstein", "hoeffding"]
GuardMode = Literal["optimistic", "pessimistic"]


@dataclass(frozen=True)
class GridConfig:
    """Confidence bounds and warm-up shared by every grid bandit.

    Args:
        bound: Radius family: ``"t"`` (variance-adaptive, default), ``"bernstein"`` or
            ``"hoeffding"`` (both need ``width``).
        delta: Fixed one-sided miscoverage per bound and round; None for the anytime schedule
            ``δ_t = 1/t``.
        radius_scale: Multiplier ``c`` of every radius (1 = the bound as stated; below 1 the bounds
            are heuristic and `GridBandit.estimates` claims no confidence level).
        width: Range length of the observed signals (for ``"bernstein"`` / ``"hoeffding"``).
        warmup_passes: Round-robin passes over all arms before the rule takes over.
        failure_residual: Residual recorded for a missing or non-finite constraint value (a
            failure counts as a violation of this size: fail closed).
    """

    bound: RadiusKind = "t"
    delta: float | None = None
    radius_scale: float = 1.0
    width: float | None = None
    warmup_passes: int = 2
    failure_residual: float = 1.0

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_choice(self.bound, "bound", owner, ("t", "bernstein", "hoeffding"))
        if self.delta is not None:
            check_in_range(self.delta, "delta", owner, 0.0, 1.0)
        check_in_range(self.radius_scale, "radius_scale", owner, 0.0, math.inf, low_open=False)
        if self.width is not None:
            check_in_range(self.width, "width", owner, 0.0, math.inf)
        elif self.bound != "t":
            raise InvalidParameterError("width", owner, f"a positive number when bound={self.bound!r}", None)
        check_int(self.warmup_passes, "warmup_passes", owner, low=0)
        check_in_range(self.failure_residual, "failure_residual", owner, 0.0, math.inf)


class GridBandit:
    """Per-arm statistics of a reward and ``m`` residuals, with confidence bounds (the shared core).

    Subclasses implement `_rule_ranking`, the arm order after warm-up.

    Args:
        n_arms: Number of arms ``K``.
        n_constraints: Number of residuals ``m`` observed per round (may be 0).
        config: Bounds and warm-up.
    """

    #: The config class a learner needs (subclasses read their own fields from it).
    config_type: type[GridConfig] = GridConfig

    def __init__(self, n_arms: int, n_constraints: int = 0, config: GridConfig | None = None) -> None:
        owner = type(self).__name__
        self.n_arms = check_int(n_arms, "n_arms", owner, low=1)
        self.n_constraints = check_int(n_constraints, "n_constraints", owner, low=0)
        self.config = config if config is not None else GridConfig()
        if not isinstance(self.config, self.config_type):
            raise InvalidParameterError("config", owner, f"a {self.config_type.__name__}", config)
        # column 0: reward; columns 1..m: residuals
        self.stats = RunningStats(self.n_arms, (1 + self.n_constraints,))
        self.t = 0  # rounds observed
        self._worst_reward = math.nan
        self._finite_rewards = np.zeros(self.n_arms, dtype=int)  # pulls whose reward was a finite number
        # Failed rounds (non-finite reward) before any finite reward: there is no worst reward to
        # record them at yet, so they wait (arm, residuals) until the first finite reward arrives.
        self._deferred: list[tuple[int, np.ndarray]] = []
        self._table = np.empty(0)
        self._table_delta = math.nan

    # -- statistics -----------------------------------------------------------------------------

    @property
    def counts(self) -> np.ndarray:
        """Pulls per arm, shape ``(K,)``."""
        return self.stats.n

    @property
    def in_warmup(self) -> bool:
        return self.t < self.config.warmup_passes * self.n_arms

    def level(self) -> float:
        """One-sided miscoverage ``δ_t`` used for this round's bounds.

        The anytime schedule is ``δ_t = 1 / t̃`` with ``t̃`` the round ``t + 1`` rounded up to a
        power of ``2^(1/4)``: at most 16% below ``1/t`` (``t̃ < 2^(1/4) t``), and piecewise constant, so the Student-t
        quantiles can be computed once per level rather than every round.
        """
        if self.config.delta is not None:
            return self.config.delta
        t = max(self.t + 1, 2)
        return float(2.0 ** (-math.ceil(4.0 * math.log2(t) - 1e-9) / 4.0))

    def _t_factor(self, n: np.ndarray, delta: float) -> np.ndarray:
        """``t_{1-δ, n-1} / sqrt(n)`` per count (inf for ``n < 2``), from a table cached per level."""
        need = int(n.max()) + 1
        if delta != self._table_delta or need > self._table.size:
            size = max(need, self._table.size, 64)
            if need > self._table.size:
                size = max(size, 2 * self._table.size)
            self._table = np.asarray(student_t_radius(np.arange(size), 1.0, delta), dtype=float)
            self._table_delta = delta
        return self._table[n]

    def radii(self) -> np.ndarray:
        """Current radii of every arm's reward and residuals, shape ``(K, 1 + m)`` (inf: too few pulls)."""
        cfg = self.config
        n = self.stats.n
        delta = self.level()
        if cfg.bound == "t":
            # std is NaN below two pulls and the factor inf: their product is a quiet NaN -> inf below
            r = self._t_factor(n, delta)[:, None] * self.stats.std
        elif cfg.bound == "bernstein":
            r = np.asarray(empirical_bernstein_radius(n[:, None], np.fmax(self.stats.var, 0.0), delta,
                                                      float(cfg.width or 1.0)), dtype=float)
        else:
            r = np.asarray(hoeffding_radius(n[:, None], delta, float(cfg.width or 1.0)), dtype=float)
        r = np.broadcast_to(r, (self.n_arms, 1 + self.n_constraints))
        return np.where(np.isfinite(r), cfg.radius_scale * r, np.inf)

    def estimates(self) -> tuple[Estimate, Estimate]:
        """Confidence bounds for the reward (shape ``(K,)``) and the residuals (shape ``(K, m)``).

        Arms without enough pulls get ``(-inf, +inf)`` bounds around a NaN mean. The estimates claim
        confidence ``1 - 2 δ_t`` (0 when ``δ_t > 1/2`` or when ``radius_scale < 1`` shrinks the radii).
        """
        mean = self.stats.mean
        rad = self.radii()
        known = np.isfinite(rad)  # at least two pulls (inf - NaN stays a quiet NaN, replaced here)
        lower = np.where(known, mean - rad, -np.inf)
        upper = np.where(known, mean + rad, np.inf)
        conf = max(0.0, 1.0 - 2.0 * self.level())  # a delta above 1/2 claims no two-sided coverage
        if self.config.radius_scale < 1.0:
            conf = 0.0  # shrunk radii: the stated level no longer holds, so none is claimed
        n = self.stats.n.copy()
        method = f"grid-{self.config.bound}"
        reward = Estimate(mean[:, 0], lower[:, 0], upper[:, 0], conf, n, method)
        residuals = Estimate(mean[:, 1:], lower[:, 1:], upper[:, 1:], conf, n, method)
        return reward, residuals

    # -- the learner API ------------------------------------------------------------------------

    def ranking(self) -> np.ndarray:
        """All arms, most preferred first, shape ``(K,)`` (round-robin order during warm-up)."""
        if self.in_warmup:
            start = self.t % self.n_arms
            return (start + np.arange(self.n_arms)) % self.n_arms
        return self._rule_ranking()

    def select(self) -> int:
        """The arm to play this round."""
        return int(self.ranking()[0])

    def update(self, arm: int, reward: float, residuals: Any = ()) -> None:
        """Record one round: the chosen arm, its reward and its ``m`` residuals.

        A non-finite residual is recorded as ``config.failure_residual`` (fail closed); a
        non-finite reward as the worst reward seen so far, so that a failing arm does not look
        attractive. Rounds that fail before any finite reward has been seen are held back and
        recorded at the first finite reward (itself the worst seen then); until then they count in
        ``t`` but not in the arm statistics.
        """
        owner = f"{type(self).__name__}.update"
        a = check_int(arm, "arm", owner, low=0, high=self.n_arms - 1)
        res = as_float_array(residuals, "residuals", owner).reshape(-1)
        if res.size != self.n_constraints:
            raise InputDataError(f"Expected {self.n_constraints} residuals (the 'residuals' argument of {owner}). "
                                 f"Got {res.size}.")
        res = np.where(np.isfinite(res), res, self.config.failure_residual)
        if isinstance(reward, bool):
            raise InvalidParameterError("reward", owner, "a number", reward)
        r = to_float(reward)  # not a number: NaN, recorded like any non-finite reward (fail closed)
        self.t += 1
        if not math.isfinite(r):
            if not math.isfinite(self._worst_reward):
                # No worst reward yet: a placeholder (formerly 0) could rank a failing arm above every
                # arm that works, so the round waits for the first finite reward.
                self._deferred.append((a, res))
                return
            r = self._worst_reward
        else:
            self._finite_rewards[a] += 1
        self._worst_reward = r if not math.isfinite(self._worst_reward) else min(self._worst_reward, r)
        deferred, self._deferred = self._deferred, []
        for arm_d, res_d in [*deferred, (a, res)]:
            self._record(arm_d, r, res_d)

    def _record(self, arm: int, reward: float, residuals: np.ndarray) -> None:
        row = np.empty((1, 1 + self.n_constraints))
        row[0, 0] = reward
        row[0, 1:] = residuals
        self.stats.update(np.array([arm]), row)
        self._after_update(arm, reward, residuals)

    def _after_update(self, arm: int, reward: float, residuals: np.ndarray) -> None:
        """Hook for learners with extra state (e.g. dual variables)."""

    def _rule_ranking(self) -> np.ndarray:
        raise NotImplementedError

    def recommend(self, guard: GuardMode = "pessimistic") -> int | None:
        """The arm to deploy after learning, or None when no arm qualifies.

        ``"pessimistic"``: among arms feasible under the residuals' upper bounds, the largest lower
        bound on the reward. ``"optimistic"``: among arms feasible under the lower bounds, the
        largest upper bound. Only arms with at least two pulls that returned a finite reward are
        considered (an arm whose every round failed is never recommended).
        """
        check_choice(guard, "guard", f"{type(self).__name__}.recommend", ("optimistic", "pessimistic"))
        reward, residuals = self.estimates()
        ok = (self.stats.n >= 2) & (self._finite_rewards >= 2)
        if self.n_constraints:
            ok &= np.asarray(feasible(residuals, mode=guard)).all(axis=-1)
        if not ok.any():
            return None
        score = pessimistic(reward) if guard == "pessimistic" else optimistic(reward)
        score = np.where(ok, np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf), -np.inf)
        return int(np.argmax(score))


def order_by(score: np.ndarray, descending: bool = True) -> np.ndarray:
    """Indices sorted by ``score`` with ties broken by the smaller index (NaN last)."""
    s = np.asarray(score, dtype=float)
    key = -s if descending else s
    key = np.where(np.isnan(key), np.inf, key)
    return np.argsort(key, kind="stable")


# ------------------------------------------------------------------------------------------------
# Optimizer adapter
# ------------------------------------------------------------------------------------------------


def arms_from_space(space_params: Mapping[str, Any], n_grid: int) -> list[Params]:
    """Candidate points of a small space: a grid per parameter, then their product.

    ``Real``: ``n_grid`` evenly spaced values (log-spaced for ``log=True``); ``Integer``: every
    integer when there are at most ``n_grid`` of them, else ``n_grid`` evenly spaced ones;
    ``Choice``: every option.
    """
    axes: list[list[Any]] = []
    for p in space_params.values():
        if isinstance(p, Real):
            vals = np.geomspace(p.low, p.high, n_grid) if p.log else np.linspace(p.low, p.high, n_grid)
            # rounding to 12 decimals turns linspace's 0.30000000000000004 into 0.3
            axes.append([float(np.clip(np.round(v, 12), p.low, p.high)) for v in vals])
        elif isinstance(p, Integer):
            if p.high - p.low + 1 <= n_grid:
                axes.append(list(range(int(p.low), int(p.high) + 1)))
            else:
                raw = np.geomspace(p.low, p.high, n_grid) if p.log else np.linspace(p.low, p.high, n_grid)
                axes.append(sorted({round(v) for v in raw}))
        elif isinstance(p, Choice):
            axes.append(list(p.options))
        else:  # pragma: no cover - Space validates its parameters
            raise InputDataError(f"Unsupported parameter {p!r}.")
    names = list(space_params)
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


class GridBanditOptimizer(OptimizerBase):
    """Runs a grid bandit in a `Study`: ask a point of the grid, tell reward and residuals.

    The reward is the study's objective in maximization form (``-problem.loss(trial)``); the
    residuals are the study's declared constraints (``problem.residuals(trial)``, ``<= 0``
    satisfied, missing -> violation). A FAILED trial is recorded with a missing reward and
    violated constraints (fail closed).

    Args:
        n_grid: Grid points per real parameter (see `arms_from_space`).
        arms: Explicit candidate points (overrides the grid); each must lie in the space.
        max_arms: Refuse spaces whose grid has more points than this.
    """

    def __init__(self, n_grid: int = 21, arms: Sequence[Mapping[str, Any]] | None = None,
                 max_arms: int = 10_000) -> None:
        owner = type(self).__name__
        self.n_grid = check_int(n_grid, "n_grid", owner, low=2)
        self.max_arms = check_int(max_arms, "max_arms", owner, low=1)
        try:
            self._explicit_arms = [dict(a) for a in arms] if arms is not None else None
        except (TypeError, ValueError) as exc:  # not a sequence of mappings
            raise InvalidParameterError("arms", owner, "a sequence of points (mappings name -> value)",
                                        arms) from exc
        self.arms: list[Params] = []
        self._keys: dict[tuple[tuple[str, str], ...], int] = {}
        self.learner: GridBandit | None = None
        self._pending: dict[int, int] = {}

    def _make_learner(self, n_arms: int, n_constraints: int) -> GridBandit:
        raise NotImplementedError

    def setup(self, problem: ProblemSpec) -> None:
        super().setup(problem)
        arms = self._explicit_arms if self._explicit_arms is not None else arms_from_space(
            problem.space.params, self.n_grid)
        if not arms:
            raise InvalidParameterError("arms", type(self).__name__, "a non-empty list of points", arms)
        if len(arms) > self.max_arms:
            raise InvalidParameterError("space", type(self).__name__,
                                        f"a space with at most max_arms={self.max_arms} grid points", len(arms))
        self.arms = [problem.space.validate(a) for a in arms]
        self._keys = {_key(a): i for i, a in enumerate(self.arms)}
        if len(self._keys) != len(self.arms):
            raise InvalidParameterError("arms", type(self).__name__, "distinct points", arms)
        self.learner = self._make_learner(len(self.arms), len(problem.constraints))
        self._pending = {}

    @property
    def bandit(self) -> GridBandit:
        if self.learner is None:
            raise GuardoptError(f"{type(self).__name__}.setup(problem) must be called before ask().")
        return self.learner

    def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[Params]:
        """The ``n`` most preferred distinct arms under the learner's rule."""
        self._check_n(n, type(self).__name__)
        if n > len(self.arms):
            raise InvalidParameterError("n", f"{type(self).__name__}.ask",
                                        f"at most the number of arms ({len(self.arms)})", n)
        ranking = self.bandit.ranking()
        # Arms already out for evaluation (asked, not told) go last, so that parallel workers
        # asking one point each spread over the grid instead of all evaluating the same arm.
        free = [int(i) for i in ranking if self._pending.get(int(i), 0) == 0]
        busy = [int(i) for i in ranking if self._pending.get(int(i), 0) > 0]
        order = (free + busy)[:n]
        for i in order:
            self._pending[i] = self._pending.get(i, 0) + 1
        return [dict(self.arms[i]) for i in order]

    def tell(self, trial: Trial) -> None:
        """Record a finished trial on its arm (trials off the grid go to the nearest arm)."""
        if trial.state is TrialState.RUNNING:
            return
        problem = self.problem
        arm = self._arm_of(trial.params)
        if self._pending.get(arm, 0) > 0:
            self._pending[arm] -= 1
        if trial.state is TrialState.COMPLETE:
            reward = -problem.loss(trial)
            residuals = problem.residuals(trial)
        else:
            reward = math.nan
            residuals = np.full(len(problem.constraints), math.inf)
        self.bandit.update(arm, reward, residuals)

    def recommend(self, guard: GuardMode = "pessimistic") -> Params | None:
        """The guarded recommendation used by ``Study.best(guard=...)`` (None if no arm qualifies)."""
        arm = self.bandit.recommend(guard)
        return None if arm is None else dict(self.arms[arm])

    def _arm_of(self, params: Mapping[str, Any]) -> int:
        k = self._keys.get(_key(params))
        if k is not None:
            return k
        # Off-grid point (e.g. told from another optimizer's history): nearest arm in the encoded cube.
        space = self.problem.space
        u = space.encode(params)
        grid = np.stack([space.encode(a) for a in self.arms])
        return int(np.argmin(np.sum((grid - u) ** 2, axis=1)))


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(float(v)) if isinstance(v, (float, np.floating)) else repr(v))
                        for k, v in params.items()))
