"""Closed-loop fair threshold environments (synthetic, German Credit, COMPAS).

Each round a batch of ``batch_size`` individuals arrives from two groups; group 1 (the protected,
disadvantaged group) makes up a share ``p_t`` of the arrivals. The decision-maker picks one
threshold ``τ`` on a scalar score and accepts everyone whose score is ``>= τ``. Acceptance then
feeds back into who arrives next (Du 2025, "Optimistic Feasible Search for Closed-Loop Fair
Threshold Decision-Making", arXiv 2512.22313): a group that is accepted less often than the other
applies less often. The share follows the contraction

    p_{t+1} = (1 - κ) p_t + κ · clip(p_0 + γ (Â_1 - Â_0), p_min, p_max),

where ``Â_g`` is group g's realized acceptance rate in round t. For a fixed threshold the map is a
contraction with factor ``1 - κ``, so every fixed threshold has one steady state.

Signals revealed for the chosen threshold only (bandit feedback):

* reward: ``(accepted good - cost · accepted bad) / batch_size``;
* residuals (``<= 0`` means satisfied):
  demographic parity, by default as two one-sided residuals ``Â_0 - Â_1 - ε`` and ``Â_1 - Â_0 - ε``
  (``dp_form="signed"``; their maximum is ``|Â_0 - Â_1| - ε``), and the service rate
  ``ρ_min - (accepted / batch_size)`` when ``rho_min`` is set.

Why two signed residuals rather than ``|Â_0 - Â_1| - ε``: each signed residual is an unbiased
per-round estimate of its population value, while the absolute value of a noisy difference is
biased upwards (by about 0.02 at a true gap of 0.03 with 500 arrivals per round), so learners and
the violation metric would disagree about which thresholds are feasible. ``dp_form="abs"`` gives the
paper's single residual.

The population-level (expected) values at the current state are returned alongside the realized
ones in ``info``; the reproduction measures violation with them, so noise in a feasible
threshold's batch does not count as violation.

A group's score model is one of:

* `BetaScores`: scores ``s ~ Beta(α, β)``, calibrated (``P(good | s) = s``); rates are closed form.
* `EmpiricalScores`: a finite pool of (score, label) rows; arrivals are drawn from the pool with
  replacement, so rates are the pool's empirical rates.

Simulation draws counts, not individuals: one multinomial draw of ``n`` arrivals over (group) x
(accepted and good, accepted and bad, rejected), which is exactly bootstrapping individuals from
the pools, at a cost independent of the batch size. Loops are vectorized over a batch dimension
``B`` (independent copies: seeds of a sweep, or arms of a fixed-threshold sweep).

Environments follow the gymnasium calling convention (``reset(seed) -> (obs, info)`` and
``step(action) -> (obs, reward, terminated, truncated, info)``) without depending on gymnasium;
the observation is the current share ``p_t`` as an array of shape ``(1,)``.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import numpy as np
from scipy.special import betainc

from guardopt.core.errors import InputDataError, check_choice, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng
from guardopt.problems.credit import COLUMNS, FEMALE_CODES, GROUP_ATTRIBUTES, NUMERIC
from guardopt.problems.credit import german_value_maps as german_value_maps  # re-export (former home)
from guardopt.problems.credit import load_german_credit as _load_credit

__all__ = [
    "COMPAS_CONFIG",
    "ENVIRONMENTS",
    "GERMAN_CONFIG",
    "GERMAN_SCORE_C",
    "SYNTHETIC_CONFIG",
    "THRESHOLD_GRID",
    "BetaScores",
    "EmpiricalScores",
    "FairLoopConfig",
    "FairThresholdEnv",
    "GridLoops",
    "ScoreModel",
    "StepResult",
    "SweepResult",
    "TabularData",
    "compas_loop",
    "cross_fitted_scores",
    "german_credit_loop",
    "load_compas",
    "load_german_credit_groups",
    "make_env",
    "pools_from_data",
    "steady_state",
    "sweep_fixed_thresholds",
    "synthetic_loop",
]

DATA_PACKAGE = "guardopt.problems.data"

# German Credit's schema lives in `guardopt.problems.credit`; these names are kept for callers of
# this module.
GERMAN_COLUMNS = COLUMNS
GERMAN_NUMERIC = tuple(name for name in COLUMNS if name in NUMERIC)
# A92 = female divorced/separated/married, A95 = female single (no rows in the file).
GERMAN_FEMALE_CODES = tuple(sorted(FEMALE_CODES))


# --------------------------------------------------------------------------------------------
# Score models of one group
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BetaScores:
    """Calibrated Beta-distributed scores: ``s ~ Beta(alpha, beta)`` and ``P(good | s) = s``."""

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        check_in_range(self.alpha, "alpha", "BetaScores", 0.0)
        check_in_range(self.beta, "beta", "BetaScores", 0.0)

    def rates(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Acceptance rate ``P(s >= τ)`` and good-and-accepted rate ``P(s >= τ, good)``.

        Args:
            thresholds: Any shape.

        Returns:
            Two arrays of the same shape as ``thresholds``.
        """
        t = np.clip(np.asarray(thresholds, dtype=float), 0.0, 1.0)
        a, b = self.alpha, self.beta
        accept = 1.0 - betainc(a, b, t)
        # E[s 1{s >= τ}] = a/(a+b) · P(Beta(a+1, b) >= τ)
        good = a / (a + b) * (1.0 - betainc(a + 1.0, b, t))
        return accept, good


@dataclass(frozen=True)
class EmpiricalScores:
    """A finite pool of scored individuals with binary labels (1 = good / positive outcome)."""

    scores: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        s = np.asarray(self.scores, dtype=float).ravel()
        y = np.asarray(self.labels, dtype=float).ravel()
        if s.size == 0 or s.shape != y.shape:
            raise InputDataError(
                f"EmpiricalScores needs equally long, non-empty scores and labels. Got {s.shape} and {y.shape}."
            )
        if not np.all(np.isfinite(s)) or not np.all((y == 0) | (y == 1)):
            raise InputDataError("EmpiricalScores needs finite scores and 0/1 labels.")
        order = np.argsort(s, kind="stable")
        object.__setattr__(self, "scores", s[order])
        object.__setattr__(self, "labels", y[order])
        # good_tail[i] = number of good rows among sorted rows i..n-1
        tail = np.concatenate([np.cumsum(y[order][::-1])[::-1], [0.0]])
        object.__setattr__(self, "_good_tail", tail)

    @property
    def size(self) -> int:
        return int(self.scores.size)

    def rates(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Empirical ``P(s >= τ)`` and ``P(s >= τ, good)`` of the pool (same shape as ``thresholds``)."""
        t = np.asarray(thresholds, dtype=float)
        first = np.searchsorted(self.scores, t, side="left")  # rows first.. have s >= τ
        n = self.scores.size
        accept = (n - first) / n
        good = self._good_tail[first] / n  # type: ignore[attr-defined]
        return accept, good


ScoreModel = BetaScores | EmpiricalScores


# --------------------------------------------------------------------------------------------
# The closed loop
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FairLoopConfig:
    """Constraints, reward and feedback dynamics of a closed-loop fairness environment.

    Args:
        epsilon: Demographic-parity tolerance ε in ``|A_0 - A_1| <= ε``.
        rho_min: Minimum overall acceptance rate (service-rate constraint); None for none.
        cost: Loss ``c`` of accepting a bad individual (a good one earns 1).
        batch_size: Arrivals per round ``n``.
        p0: Share of group 1 without feedback (and at reset).
        kappa: Speed κ of the share dynamics, in (0, 1]; the contraction factor is ``1 - κ``.
        gamma: Strength γ of the feedback from the acceptance gap to the share.
        p_min, p_max: Clip of the share's target (keeps both groups present).
        dp_form: ``"signed"`` (two one-sided residuals, unbiased per round) or ``"abs"``.
    """

    epsilon: float = 0.1
    rho_min: float | None = None
    cost: float = 1.0
    batch_size: int = 500
    p0: float = 0.4
    kappa: float = 0.05
    gamma: float = 1.0
    p_min: float = 0.05
    p_max: float = 0.95
    dp_form: Literal["signed", "abs"] = "signed"

    def __post_init__(self) -> None:
        owner = "FairLoopConfig"
        check_in_range(self.epsilon, "epsilon", owner, 0.0, 1.0, low_open=False)
        if self.rho_min is not None:
            check_in_range(self.rho_min, "rho_min", owner, 0.0, 1.0, low_open=False, high_open=False)
        check_in_range(self.cost, "cost", owner, 0.0, low_open=False)
        check_int(self.batch_size, "batch_size", owner, low=2)
        check_in_range(self.p0, "p0", owner, 0.0, 1.0)
        check_in_range(self.kappa, "kappa", owner, 0.0, 1.0, high_open=False)
        check_in_range(self.gamma, "gamma", owner, 0.0, low_open=False)
        check_in_range(self.p_min, "p_min", owner, 0.0, 1.0)
        check_in_range(self.p_max, "p_max", owner, self.p_min, 1.0)
        check_choice(self.dp_form, "dp_form", owner, ("signed", "abs"))

    @property
    def residual_names(self) -> tuple[str, ...]:
        dp = ("dp_gap_0_over_1", "dp_gap_1_over_0") if self.dp_form == "signed" else ("dp_gap",)
        return dp + (("service_rate",) if self.rho_min is not None else ())


@dataclass(frozen=True)
class StepResult:
    """One round of ``B`` independent loops.

    Attributes:
        reward: Realized reward, shape ``(B,)``.
        residuals: Realized residuals, shape ``(B, m)``.
        expected_reward: Population-level reward at the round's state, shape ``(B,)``.
        expected_residuals: Population-level residuals at the round's state, shape ``(B, m)``.
        acceptance: Realized acceptance rate per group, shape ``(B, 2)``.
        share: Share of group 1 during the round (before the update), shape ``(B,)``.
    """

    reward: np.ndarray
    residuals: np.ndarray
    expected_reward: np.ndarray
    expected_residuals: np.ndarray
    acceptance: np.ndarray
    share: np.ndarray


class FairThresholdEnv:
    """A two-group closed-loop threshold environment (gymnasium-style, no gymnasium dependency).

    Args:
        groups: Score models of group 0 (advantaged) and group 1 (protected); the share ``p`` is
            group 1's.
        config: Constraints, reward and dynamics.
        name: A label for reports.

    Example:
        >>> env = synthetic_loop()
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(0.3)
        >>> info["residuals"].shape
        (3,)
    """

    def __init__(self, groups: Sequence[ScoreModel], config: FairLoopConfig | None = None,
                 name: str = "fair-loop") -> None:
        if len(groups) != 2:
            raise InputDataError(f"FairThresholdEnv needs exactly two groups. Got {len(groups)}.")
        self.groups = tuple(groups)
        self.config = config or FairLoopConfig()
        self.name = name
        self._rng = make_rng(None)
        self._share = np.array([self.config.p0])

    # -- population-level quantities ------------------------------------------------------------

    @property
    def residual_names(self) -> tuple[str, ...]:
        return self.config.residual_names

    @property
    def n_constraints(self) -> int:
        return len(self.residual_names)

    def rates(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-group acceptance and good-and-accepted rates, each of shape ``(2, *thresholds.shape)``."""
        pairs = [g.rates(np.asarray(thresholds, dtype=float)) for g in self.groups]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def expected(self, thresholds: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Population-level reward and residuals for thresholds at group-1 shares.

        Args:
            thresholds: Shape ``S`` (any).
            share: Broadcastable to ``S``.

        Returns:
            ``reward`` of shape ``S`` and ``residuals`` of shape ``(*S, m)``.
        """
        accept, good = self.rates(thresholds)
        return self._expected_from_rates(accept, good, np.asarray(share, dtype=float))

    def _expected_from_rates(
        self, accept: np.ndarray, good: np.ndarray, share: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        w0, w1 = 1.0 - share, share
        per_group = good * (1.0 + c.cost) - c.cost * accept
        reward = w0 * per_group[0] + w1 * per_group[1]
        overall = w0 * accept[0] + w1 * accept[1]
        return reward, self._residuals(accept[0], accept[1], overall)

    def _residuals(self, a0: np.ndarray, a1: np.ndarray, overall: np.ndarray) -> np.ndarray:
        c = self.config
        gap = np.asarray(a0 - a1)
        overall = np.asarray(overall)
        shape = np.broadcast_shapes(gap.shape, overall.shape)
        out = np.empty((*shape, len(c.residual_names)))
        if c.dp_form == "signed":
            out[..., 0] = gap - c.epsilon
            out[..., 1] = -gap - c.epsilon
        else:
            out[..., 0] = np.abs(gap) - c.epsilon
        if c.rho_min is not None:
            out[..., -1] = c.rho_min - overall
        return out

    # -- simulation -----------------------------------------------------------------------------

    def step_rates(
        self, share: np.ndarray, accept: np.ndarray, good: np.ndarray, rng: np.random.Generator
    ) -> tuple[StepResult, np.ndarray]:
        """Simulate one round of ``B`` loops from the chosen thresholds' rates.

        Args:
            share: Group-1 shares, shape ``(B,)``.
            accept: ``a_g(τ_b)``, shape ``(2, B)``.
            good: ``P(accepted and good | g)``, shape ``(2, B)``.
            rng: Random stream.

        Returns:
            The round's `StepResult` and the next shares, shape ``(B,)``.
        """
        c = self.config
        n = c.batch_size
        counts, acc, n_good = self._draw(share, accept, good, rng)
        reward = ((1.0 + c.cost) * n_good - c.cost * acc).sum(axis=0) / n
        # A group absent from the batch reveals nothing; its population rate stands in, so an
        # empty group does not create a spurious parity gap.
        rate = np.divide(acc, counts, out=accept.astype(float), where=counts > 0)
        residuals = self._residuals(rate[0], rate[1], acc.sum(axis=0) / n)
        exp_reward, exp_res = self._expected_from_rates(accept, good, share)
        return StepResult(reward, residuals, exp_reward, exp_res, rate.T, share), self._next_share(share, rate)

    def _draw(self, share: np.ndarray, accept: np.ndarray, good: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One multinomial draw per loop over (group) x (accepted good, accepted bad, rejected).

        Equivalent to drawing the group sizes, then the accepted, then the good among them, in a
        single call. Returns arrivals, accepted and accepted-good counts, each of shape ``(2, B)``.
        """
        w = np.stack([1.0 - share, share])  # (2, B)
        cells = np.stack([w * good, w * (accept - good), w * (1.0 - accept)])  # (3, 2, B)
        probs = np.maximum(cells, 0.0).reshape(6, -1).T  # (B, 6): g0 good, g1 good, g0 bad, ...
        probs /= probs.sum(axis=1, keepdims=True)
        draw = rng.multinomial(self.config.batch_size, probs).T.reshape(3, 2, -1)
        n_good = draw[0]
        acc = draw[0] + draw[1]
        return acc + draw[2], acc, n_good

    def _next_share(self, share: np.ndarray, rate: np.ndarray) -> np.ndarray:
        c = self.config
        target = np.minimum(np.maximum(c.p0 + c.gamma * (rate[1] - rate[0]), c.p_min), c.p_max)
        return (1.0 - c.kappa) * share + c.kappa * target

    def reset(self, seed: SeedLike = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode at ``p_0``; returns ``(observation, info)``."""
        self._rng = make_rng(seed)
        self._share = np.array([self.config.p0])
        return self._share.copy(), {"share": float(self._share[0])}

    def step(self, action: float) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Play threshold ``action`` for one round.

        Returns:
            ``(observation, reward, terminated, truncated, info)``; ``info`` holds ``residuals``
            (shape ``(m,)``), ``expected_reward``, ``expected_residuals``, ``acceptance`` (shape
            ``(2,)``), ``share`` and ``residual_names``. The loop never terminates by itself.
        """
        try:
            tau = float(action)
        except (TypeError, ValueError) as exc:
            raise InputDataError(f"A threshold must be a finite number. Got {action!r} instead.") from exc
        if not np.isfinite(tau):
            raise InputDataError(f"A threshold must be a finite number. Got {action!r} instead.")
        accept, good = self.rates(np.array([tau]))
        res, self._share = self.step_rates(self._share, accept, good, self._rng)
        info = {
            "residuals": res.residuals[0],
            "expected_reward": float(res.expected_reward[0]),
            "expected_residuals": res.expected_residuals[0],
            "acceptance": res.acceptance[0],
            "share": float(res.share[0]),
            "residual_names": self.residual_names,
        }
        return self._share.copy(), float(res.reward[0]), False, False, info


def _finite_grid(grid: Any, owner: str) -> np.ndarray:
    """A threshold grid as a non-empty 1-d float array of finite values, or `InputDataError`."""
    try:
        g = np.asarray(grid, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputDataError(f"{owner}: 'grid' must be a 1-d array of finite thresholds.") from exc
    if g.ndim != 1 or g.size == 0 or not np.all(np.isfinite(g)):
        raise InputDataError(f"{owner}: 'grid' must be a non-empty 1-d array of finite thresholds. "
                             f"Got shape {g.shape}.")
    return g


class GridLoops:
    """``B`` independent copies of an environment restricted to a threshold grid (fast path).

    Precomputes everything that depends on the threshold only, so a round costs one vectorized
    multinomial draw and a few array operations whatever the batch size. It draws from the same
    distribution as `FairThresholdEnv.step_rates` (this is the hot loop of the `ofs` reproduction).

    Args:
        env: The environment.
        grid: Thresholds, shape ``(K,)``.
        n_loops: Number ``B`` of independent loops.
        seed: Random stream shared by the ``B`` loops.
    """

    def __init__(self, env: FairThresholdEnv, grid: np.ndarray, n_loops: int = 1, seed: SeedLike = None) -> None:
        self.env = env
        self.grid = _finite_grid(grid, "GridLoops")
        self.accept, self.good = env.rates(self.grid)  # (2, K)
        c = env.config
        a0, a1 = self.accept
        g0, g1 = self.good
        zero = np.zeros_like(a0)
        # Cell probabilities (good g0, good g1, bad g0, bad g1, rejected g0, rejected g1) of an
        # arrival from group 0 / group 1; a round's probabilities are (1 - p) * P0 + p * P1.
        self._p0 = np.maximum(np.stack([g0, zero, a0 - g0, zero, 1.0 - a0, zero], axis=1), 0.0)
        self._p1 = np.maximum(np.stack([zero, g1, zero, a1 - g1, zero, 1.0 - a1], axis=1), 0.0)
        self._accept_bk = self.accept.T.copy()  # (K, 2)
        per_group = self.good * (1.0 + c.cost) - c.cost * self.accept  # (2, K)
        self._reward0 = per_group[0]
        self._reward_slope = per_group[1] - per_group[0]
        self._accept_slope = a1 - a0
        self._exp_res = env._residuals(a0, a1, a0)  # (K, m); the service column is refreshed per round
        self.n_loops = check_int(n_loops, "n_loops", "GridLoops", low=1)
        self.rng = make_rng(seed)
        self.share = np.full(self.n_loops, c.p0)

    def step(self, arms: np.ndarray) -> StepResult:
        """Play grid arm ``arms[b]`` in loop ``b`` (shape ``(B,)``) for one round.

        Raises:
            InputDataError: ``arms`` is not of shape ``(B,)`` or holds a value that is not an
                integer in ``[0, K)``.
        """
        raw = np.asarray(arms)
        k = self.grid.size
        if (raw.shape != (self.n_loops,) or raw.dtype.kind not in "iuf"
                or (raw.dtype.kind == "f" and not np.all(np.isfinite(raw) & (raw == np.round(raw))))
                or raw.min() < 0 or raw.max() >= k):
            raise InputDataError(f"GridLoops.step: 'arms' must hold {self.n_loops} grid indices in [0, {k}). "
                                 f"Got {arms!r} instead.")
        idx = raw.astype(np.intp, copy=False)
        env, c, share = self.env, self.env.config, self.share
        n = c.batch_size
        w1 = share[:, None]
        draw = self.rng.multinomial(n, self._p0[idx] * (1.0 - w1) + self._p1[idx] * w1)  # (B, 6)
        n_good = draw[:, 0:2]
        acc = n_good + draw[:, 2:4]
        counts = acc + draw[:, 4:6]  # (B, 2)
        reward = ((1.0 + c.cost) * n_good - c.cost * acc).sum(axis=1) / n
        # an empty group reveals nothing: its population rate stands in (see step_rates)
        rate = np.divide(acc, counts, out=self._accept_bk[idx], where=counts > 0)
        residuals = env._residuals(rate[:, 0], rate[:, 1], acc.sum(axis=1) / n)
        # population-level values are affine in the share
        exp_reward = self._reward0[idx] + share * self._reward_slope[idx]
        exp_res = self._exp_res[idx]  # fancy indexing copies
        if c.rho_min is not None:
            exp_res[:, -1] = c.rho_min - (self.accept[0, idx] + share * self._accept_slope[idx])
        self.share = env._next_share(share, rate.T)
        return StepResult(reward, residuals, exp_reward, exp_res, rate, share)


@dataclass(frozen=True)
class SweepResult:
    """Every grid threshold played for ``T`` rounds in its own copy of the closed loop.

    Attributes:
        reward: Realized reward per round, shape ``(T, K)``.
        expected_reward: Population-level reward per round, shape ``(T, K)``.
        expected_residuals: Population-level residuals per round, shape ``(T, K, m)``.
        share: Group-1 share per round, shape ``(T, K)``.
    """

    reward: np.ndarray
    expected_reward: np.ndarray
    expected_residuals: np.ndarray
    share: np.ndarray


def sweep_fixed_thresholds(env: FairThresholdEnv, grid: np.ndarray, horizon: int, seed: SeedLike = None) -> SweepResult:
    """Play each grid threshold for ``horizon`` rounds in the closed loop (vectorized over arms).

    This is the sweep from which the oracle "best feasible fixed threshold" is read off.
    """
    horizon = check_int(horizon, "horizon", "sweep_fixed_thresholds", low=1)
    g = _finite_grid(grid, "sweep_fixed_thresholds")
    loops = GridLoops(env, g, n_loops=g.size, seed=seed)
    arms = np.arange(g.size)
    m = env.n_constraints
    out_r = np.empty((horizon, g.size))
    out_er = np.empty((horizon, g.size))
    out_g = np.empty((horizon, g.size, m))
    out_p = np.empty((horizon, g.size))
    for t in range(horizon):
        res = loops.step(arms)
        out_r[t], out_er[t], out_g[t], out_p[t] = res.reward, res.expected_reward, res.expected_residuals, res.share
    return SweepResult(out_r, out_er, out_g, out_p)


def steady_state(env: FairThresholdEnv, grid: np.ndarray, tol: float = 1e-12,
                 max_iter: int = 10_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free steady state of every fixed grid threshold (the contraction's fixed point).

    Returns:
        ``share`` (K,), ``reward`` (K,) and ``residuals`` (K, m) at the fixed point. With a fixed
        threshold the target share does not depend on the share, so one evaluation suffices;
        ``tol`` and ``max_iter`` are kept for dynamics that might depend on it.
    """
    c = env.config
    accept, good = env.rates(_finite_grid(grid, "steady_state"))
    share = np.full(accept.shape[1], c.p0)
    for _ in range(max_iter):
        target = np.clip(c.p0 + c.gamma * (accept[1] - accept[0]), c.p_min, c.p_max)
        nxt = (1.0 - c.kappa) * share + c.kappa * target
        if np.max(np.abs(nxt - share)) < tol:
            share = nxt
            break
        share = nxt
    reward, residuals = env._expected_from_rates(accept, good, share)
    return share, reward, residuals


# --------------------------------------------------------------------------------------------
# Data: German Credit and COMPAS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TabularData:
    """A design matrix with labels and a binary group attribute.

    Attributes:
        X: Features, shape ``(n, d)`` (one-hot categoricals, standardized numerics).
        y: Labels, shape ``(n,)``; 1 = good outcome (repaid credit / did not reoffend).
        group: Group membership, shape ``(n,)``; 1 = the protected group.
        feature_names: ``d`` names.
    """

    X: np.ndarray
    y: np.ndarray
    group: np.ndarray
    feature_names: tuple[str, ...]


def _data_path(name: str) -> Any:
    return resources.files(DATA_PACKAGE).joinpath(name)


def _standardize(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


@functools.lru_cache(maxsize=2)
def load_german_credit_groups(group: Literal["sex", "age"] = "age") -> TabularData:
    """UCI Statlog German Credit (1,000 applicants), with the sex or age attribute as group.

    Features: all 20 attributes one-hot / standardized (as `guardopt.problems.credit`
    encodes them), except the attribute that defines the group (``personal_status_sex`` for
    ``group="sex"``, ``age`` for ``group="age"``), which the score model does not see. ``y = 1``
    for a good credit (700 rows). The protected group is female applicants (codes A92, A95) or
    applicants aged 25 or younger.
    """
    check_choice(group, "group", "load_german_credit_groups", ("sex", "age"))
    credit = _load_credit(include_group_columns=True)
    X, names = credit.features_without(GROUP_ATTRIBUTES[group])
    return TabularData(X, credit.y.astype(float), credit.group(group), names)


# The name this loader had first; `guardopt.problems.credit.load_german_credit` is the canonical one.
load_german_credit = load_german_credit_groups


@functools.lru_cache(maxsize=1)
def load_compas() -> TabularData:
    """ProPublica COMPAS two-year recidivism data, African-American vs Caucasian defendants.

    Applies ProPublica's standard filter (``-30 <= days_b_screening_arrest <= 30``,
    ``is_recid != -1``, ``c_charge_degree != 'O'``, ``score_text != 'N/A'``), keeps the two
    groups (5,278 rows), and uses features ``priors_count``, ``age``, felony charge degree and the
    three juvenile counts (race is not a feature). ``y = 1`` for no recidivism within two years;
    group 1 is African-American.
    """
    with _data_path("compas-scores-two-years.csv").open("r", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        idx = {name: header.index(name) for name in (  # first occurrence of duplicated names
            "race", "age", "priors_count", "c_charge_degree", "juv_fel_count", "juv_misd_count",
            "juv_other_count", "days_b_screening_arrest", "is_recid", "score_text", "two_year_recid")}
        rows = []
        for r in reader:
            days = r[idx["days_b_screening_arrest"]]
            if days == "" or not -30 <= float(days) <= 30:
                continue
            if r[idx["is_recid"]] == "-1" or r[idx["c_charge_degree"]] == "O" or r[idx["score_text"]] == "N/A":
                continue
            if r[idx["race"]] not in ("African-American", "Caucasian"):
                continue
            rows.append(r)

    def num(name: str) -> np.ndarray:
        return np.array([float(r[idx[name]]) for r in rows])

    feats = {
        "priors_count": _standardize(np.log1p(num("priors_count"))),
        "age": _standardize(num("age")),
        "felony": np.array([r[idx["c_charge_degree"]] == "F" for r in rows], dtype=float),
        "juv_fel_count": _standardize(np.log1p(num("juv_fel_count"))),
        "juv_misd_count": _standardize(np.log1p(num("juv_misd_count"))),
        "juv_other_count": _standardize(np.log1p(num("juv_other_count"))),
    }
    X = np.stack(list(feats.values()), axis=1)
    y = 1.0 - num("two_year_recid")
    g = np.array([r[idx["race"]] == "African-American" for r in rows], dtype=int)
    return TabularData(X, y, g, tuple(feats))


def cross_fitted_scores(data: TabularData, n_folds: int = 5, seed: int = 0, C: float = 1.0) -> np.ndarray:
    """Out-of-fold ``P(y = 1 | x)`` from an L2 logistic regression (scikit-learn).

    Out-of-fold scores keep the pool's rates honest: an in-sample fit would make the score model
    look sharper on the pool than it would be on new arrivals.

    Returns:
        Scores in (0, 1), shape ``(n,)``.
    """
    n_folds = check_int(n_folds, "n_folds", "cross_fitted_scores", low=2)
    C = check_in_range(C, "C", "cross_fitted_scores", 0.0)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(C=C, max_iter=2000)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(model, data.X, data.y, cv=folds, method="predict_proba")
    return np.asarray(proba[:, 1], dtype=float)


def pools_from_data(data: TabularData, scores: np.ndarray) -> tuple[EmpiricalScores, EmpiricalScores]:
    """Split scored rows into the two group pools (group 0, group 1).

    Raises:
        InputDataError: ``scores`` does not hold one value per row of ``data``.
    """
    g = np.asarray(data.group)
    scores = np.asarray(scores)
    if scores.shape != g.shape:
        raise InputDataError(f"pools_from_data: 'scores' must have one value per row, shape {g.shape}. "
                             f"Got shape {scores.shape} instead.")
    return (EmpiricalScores(scores[g == 0], data.y[g == 0]), EmpiricalScores(scores[g == 1], data.y[g == 1]))


# --------------------------------------------------------------------------------------------
# The three benchmark loops (calibrated so that the oracle threshold's margin is >= 0.02)
# --------------------------------------------------------------------------------------------

# Calibration (steady states of every fixed threshold on the grid linspace(0, 1, 21), computed by
# `steady_state`): ε was chosen so that the best feasible fixed threshold is feasible by at least
# 0.02 and the unconstrained optimum is clearly infeasible. Steady-state values:
#   synthetic: oracle τ = 0.20, reward 0.154, margin 0.031; unconstrained τ = 0.50, reward 0.285.
#   german (age <= 25 as group 1, cost 2, C = 0.03): oracle τ = 0.50, reward 0.237, margin 0.031;
#       unconstrained τ = 0.70, reward 0.364, DP residual +0.10.
#   compas: oracle τ = 0.25, reward 0.138, margin 0.026; unconstrained τ = 0.45/0.50, reward 0.232.
# tests/problems/test_fairness.py re-checks the margins.
SYNTHETIC_CONFIG = FairLoopConfig(epsilon=0.125, rho_min=0.4, cost=1.0, batch_size=500, p0=0.4)
GERMAN_CONFIG = FairLoopConfig(epsilon=0.05, rho_min=0.4, cost=2.0, batch_size=500, p0=0.2)
COMPAS_CONFIG = FairLoopConfig(epsilon=0.11, rho_min=0.3, cost=1.0, batch_size=500, p0=0.6)
# L2 strength of the German score model: strong regularization spreads the groups' acceptance
# curves evenly over the grid, so that consecutive thresholds differ in parity by > 0.04.
GERMAN_SCORE_C = 0.03
THRESHOLD_GRID = np.linspace(0.0, 1.0, 21)


def synthetic_loop(config: FairLoopConfig | None = None) -> FairThresholdEnv:
    """Synthetic loop: group 0 scores ``Beta(5, 3)``, group 1 ``Beta(3, 4)``, calibrated."""
    return FairThresholdEnv((BetaScores(5.0, 3.0), BetaScores(3.0, 4.0)), config or SYNTHETIC_CONFIG,
                            name="synthetic")


@functools.lru_cache(maxsize=4)
def _german_pools(seed: int) -> tuple[EmpiricalScores, EmpiricalScores]:
    data = load_german_credit("age")
    return pools_from_data(data, cross_fitted_scores(data, seed=seed, C=GERMAN_SCORE_C))


@functools.lru_cache(maxsize=4)
def _compas_pools(seed: int) -> tuple[EmpiricalScores, EmpiricalScores]:
    data = load_compas()
    return pools_from_data(data, cross_fitted_scores(data, seed=seed))


def german_credit_loop(config: FairLoopConfig | None = None, score_seed: int = 0) -> FairThresholdEnv:
    """Semi-synthetic German Credit loop: logistic-regression scores, applicants aged <= 25 as group 1.

    Age rather than sex defines the groups: with sex, the score model's acceptance rates differ by
    under 0.05 at every threshold, so a parity constraint would hardly bind.
    """
    return FairThresholdEnv(_german_pools(score_seed), config or GERMAN_CONFIG, name="german")


def compas_loop(config: FairLoopConfig | None = None, score_seed: int = 0) -> FairThresholdEnv:
    """Semi-synthetic COMPAS loop: release (accept) when ``1 - P(recid) >= τ``; group 1 African-American."""
    return FairThresholdEnv(_compas_pools(score_seed), config or COMPAS_CONFIG, name="compas")


ENVIRONMENTS = {"synthetic": synthetic_loop, "german": german_credit_loop, "compas": compas_loop}


def make_env(name: str) -> FairThresholdEnv:
    """One of the three benchmark loops by name (``synthetic``, ``german``, ``compas``)."""
    check_choice(name, "name", "make_env", tuple(ENVIRONMENTS))
    return ENVIRONMENTS[name]()
