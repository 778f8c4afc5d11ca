"""Are a set of fairness thresholds feasible together? Two linear programs (cvxpy).

**Thresholds on decisions** (`fair_postprocess`): a randomised classifier derived from a score
accepts a person of group ``g`` whose score falls in bin ``k`` with probability ``a_gk``; every
group rate is then linear in ``a`` (the derived predictors of Hardt, Price and Srebro, 2016, with
one acceptance probability per score bin instead of a threshold mixture). The program maximises
accuracy subject to each requested gap being at most its threshold ``τ``:

    max_a  Σ_gk [pos_gk a_gk + neg_gk (1 − a_gk)] / n
    s.t.   |sel_1 − sel_0| ≤ τ_dp,  |tpr_1 − tpr_0| ≤ τ_eo,  |fpr_1 − fpr_0| ≤ τ_eo,  0 ≤ a ≤ 1.

A constant classifier meets every such constraint, so this program is always feasible; what it
reports is the accuracy a set of thresholds costs.

**Calibration with equal error rates** (`calibration_error_rate_gap`): a scorer that may depend on
the group and a score bin (a *cell*; cells mix both labels, so no scorer is perfect) outputs level
``v_l`` with probability ``q_cl``. Within-group calibration error (the binned ECE over the levels)
and the generalised false-positive and false-negative rates (Pleiss et al., 2017: ``E[s | y=0, g]``
and ``E[1 − s | y=1, g]``) are linear or convex in ``q``; the program minimises the largest
generalised error-rate gap ``t`` subject to each group's calibration error being at most
``τ_cal``. A perfectly calibrated scorer satisfies ``gFPR_g (1 − μ_g) = μ_g gFNR_g`` (``μ_g`` the
base rate), so with ``μ_0 ≠ μ_1`` equal rates force ``gFNR = gFPR = 0``: the impossibility result of
Kleinberg, Mullainathan and Raghavan (2017). The program measures how far from equal the rates must
stay (``t* > 0``) on a given data set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from guardopt.audit._checks import binary, probabilities, weights
from guardopt.audit.solvers import import_cvxpy, solve
from guardopt.core.errors import InvalidParameterError, check_in_range, check_int

__all__ = [
    "CalibrationGapResult",
    "PostProcessConfig",
    "PostProcessResult",
    "calibration_error_rate_gap",
    "fair_postprocess",
    "score_bins",
]

#: The constraints `fair_postprocess` understands.
CONSTRAINTS: tuple[str, ...] = ("demographic_parity", "equalized_odds", "equal_opportunity",
                                "false_positive_rate")
# Clarabel first: HiGHS prints a banner to stdout on every solve, which the CLI must not.
_LP_SOLVERS: tuple[str, ...] = ("CLARABEL", "SCS", "ECOS")


def score_bins(score: np.ndarray, bins: int) -> np.ndarray:
    """Bin index in ``0 .. bins-1`` of each score by equal-width bins on [0, 1], shape ``(n,)``."""
    return np.minimum((np.asarray(score) * bins).astype(int), bins - 1)


@dataclass(frozen=True)
class PostProcessConfig:
    """Thresholds of the derived classifier.

    Attributes:
        thresholds: ``{constraint: τ}`` with names from ``CONSTRAINTS``, each ``τ`` in [0, 1];
            an empty mapping gives the unconstrained (accuracy-optimal) derived classifier.
        bins: Score bins per group (default 20).
    """

    thresholds: tuple[tuple[str, float], ...] = ()
    bins: int = 20

    def __post_init__(self) -> None:
        owner = "PostProcessConfig"
        if not isinstance(self.thresholds, tuple):
            raise InvalidParameterError("thresholds", owner, "a tuple of (name, tau) pairs", self.thresholds)
        for item in self.thresholds:
            if not (isinstance(item, tuple) and len(item) == 2 and item[0] in CONSTRAINTS):
                raise InvalidParameterError("thresholds", owner, f"(name, tau) pairs with names in {CONSTRAINTS}",
                                            item)
            check_in_range(item[1], "thresholds", owner, 0.0, 1.0, low_open=False, high_open=False)
        check_int(self.bins, "bins", owner, 1, 10_000)

    @staticmethod
    def of(bins: int = 20, **thresholds: float) -> PostProcessConfig:
        """``PostProcessConfig.of(demographic_parity=0.05, equalized_odds=0.05)``."""
        return PostProcessConfig(tuple(sorted(thresholds.items())), bins)


@dataclass(frozen=True)
class PostProcessResult:
    """The derived classifier: acceptance probabilities per group and score bin.

    Attributes:
        acceptance: ``(2, bins)`` acceptance probabilities (NaN when no solver answered).
        accuracy: Training accuracy of the derived classifier.
        status: The solver status; feasible: whether it answered accurately.
        bins: Number of score bins.
    """

    acceptance: np.ndarray
    accuracy: float
    status: str
    feasible: bool
    bins: int

    def predict(self, score: Any, group: Any) -> np.ndarray:
        """Acceptance probabilities ``(n,)`` for scores in [0, 1] and a binary group."""
        s = probabilities(score, "score", "PostProcessResult.predict")
        g = binary(group, "group", "PostProcessResult.predict", s.size)
        return np.asarray(self.acceptance[g, score_bins(s, self.bins)], dtype=float)


def _cells(y: np.ndarray, s: np.ndarray, g: np.ndarray, w: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted counts of positives and negatives per (group, bin), each ``(2, bins)``."""
    b = score_bins(s, bins)
    pos = np.zeros((2, bins))
    neg = np.zeros((2, bins))
    np.add.at(pos, (g, b), w * y)
    np.add.at(neg, (g, b), w * (1 - y))
    return pos, neg


def fair_postprocess(score: Any, y: Any, group: Any, config: PostProcessConfig | None = None,
                     sample_weight: Any = None) -> PostProcessResult:
    """The most accurate randomised classifier derived from ``score`` whose gaps meet the thresholds.

    Args:
        score: ``(n,)`` scores in [0, 1]; y: ``(n,)`` labels in {0, 1}; group: ``(n,)`` in {0, 1}
            (each group must hold both labels).
        config: `PostProcessConfig`.
        sample_weight: ``(n,)`` optional weights.

    Returns:
        `PostProcessResult`; ``feasible`` is False only when no solver answered accurately (the program
        itself is always feasible: a constant classifier meets every gap).
    """
    cfg = config or PostProcessConfig()
    owner = "fair_postprocess"
    yy = binary(y, "y", owner).astype(float)
    s = probabilities(score, "score", owner, yy.size)
    g = binary(group, "group", owner, yy.size, both=True)
    w = weights(sample_weight, "sample_weight", owner, yy.size)
    pos, neg = _cells(yy, s, g, w, cfg.bins)
    P, N = pos.sum(axis=1), neg.sum(axis=1)
    if np.any(P <= 0) or np.any(N <= 0):
        from guardopt.core.errors import InputDataError

        raise InputDataError(f"The 'y' argument of {owner} must hold both labels in each group. "
                             f"Got positives {P.tolist()} and negatives {N.tolist()} per group instead.")
    cp = import_cvxpy()
    a = cp.Variable((2, cfg.bins))
    total = float(w.sum())
    acc = (cp.sum(cp.multiply(pos, a)) + float(neg.sum()) - cp.sum(cp.multiply(neg, a))) / total

    def rate(weights_: np.ndarray, k: int, den: float) -> Any:
        return weights_[k] @ a[k] / den

    sel = [rate(pos + neg, k, float(P[k] + N[k])) for k in (0, 1)]
    tpr = [rate(pos, k, float(P[k])) for k in (0, 1)]
    fpr = [rate(neg, k, float(N[k])) for k in (0, 1)]
    cons = [a >= 0, a <= 1]
    for name, tau in cfg.thresholds:
        if name == "demographic_parity":
            cons.append(cp.abs(sel[1] - sel[0]) <= tau)
        if name in ("equalized_odds", "equal_opportunity"):
            cons.append(cp.abs(tpr[1] - tpr[0]) <= tau)
        if name in ("equalized_odds", "false_positive_rate"):
            cons.append(cp.abs(fpr[1] - fpr[0]) <= tau)
    prob = cp.Problem(cp.Maximize(acc), cons)
    out = solve(prob, _LP_SOLVERS)
    if a.value is None:
        return PostProcessResult(np.full((2, cfg.bins), np.nan), math.nan, out.status, False, cfg.bins)
    value = np.clip(np.asarray(a.value, dtype=float), 0.0, 1.0)
    accuracy = float(((pos * value).sum() + (neg * (1 - value)).sum()) / total)
    return PostProcessResult(value, accuracy, out.status, out.accurate, cfg.bins)


@dataclass(frozen=True)
class CalibrationGapResult:
    """The smallest generalised error-rate gap a calibrated scorer can reach.

    Attributes:
        gap: ``t*``: the smallest ``max(|gFPR_1 − gFPR_0|, |gFNR_1 − gFNR_0|)`` with each group's
            calibration error at most ``calibration_tol`` (NaN when no solver answered).
        gfpr, gfnr: ``(2,)`` the generalised rates of the optimal scorer.
        base_rates: ``(2,)`` the groups' base rates.
        calibration_error: ``(2,)`` each group's calibration error at the optimum.
        status: The solver status.
    """

    gap: float
    gfpr: np.ndarray
    gfnr: np.ndarray
    base_rates: np.ndarray
    calibration_error: np.ndarray
    status: str

    def feasible(self, tau: float) -> bool:
        """Whether equal error rates within ``tau`` (in [0, 1]) are reachable (False when unsolved: fail closed)."""
        tau = check_in_range(tau, "tau", "CalibrationGapResult.feasible", 0.0, 1.0, low_open=False, high_open=False)
        return bool(np.isfinite(self.gap) and self.gap <= tau)


def calibration_error_rate_gap(score: Any, y: Any, group: Any, calibration_tol: float = 0.0, bins: int = 10,
                               levels: int = 21, sample_weight: Any = None) -> CalibrationGapResult:
    """Minimise the generalised FPR/FNR gap over scorers calibrated within groups (a linear program).

    Args:
        score: ``(n,)`` scores in [0, 1] that define the cells (group × ``bins`` equal-width bins).
        y, group: ``(n,)`` labels and groups in {0, 1}.
        calibration_tol: ``τ_cal``: the largest within-group calibration error allowed (0 = exact).
        bins: Cells per group. levels: Output levels ``v_l`` on an even grid of [0, 1].
        sample_weight: ``(n,)`` optional weights.

    Returns:
        `CalibrationGapResult`; ``gap > τ`` means calibration and equal error rates within ``τ`` are
        jointly infeasible on this data.
    """
    owner = "calibration_error_rate_gap"
    yy = binary(y, "y", owner).astype(float)
    s = probabilities(score, "score", owner, yy.size)
    g = binary(group, "group", owner, yy.size, both=True)
    w = weights(sample_weight, "sample_weight", owner, yy.size)
    tol = check_in_range(calibration_tol, "calibration_tol", owner, 0.0, math.inf, low_open=False)
    bins = check_int(bins, "bins", owner, 1, 1000)
    levels = check_int(levels, "levels", owner, 2, 1001)
    pos, neg = _cells(yy, s, g, w, bins)
    P, N = pos.sum(axis=1), neg.sum(axis=1)
    if np.any(P <= 0) or np.any(N <= 0):
        from guardopt.core.errors import InputDataError

        raise InputDataError(f"The 'y' argument of {owner} must hold both labels in each group.")
    v = np.linspace(0.0, 1.0, levels)
    cp = import_cvxpy()
    gfpr, gfnr, cal = [], [], []
    cons = []
    qs = []
    for k in (0, 1):
        q = cp.Variable((bins, levels), nonneg=True)
        qs.append(q)
        cons.append(cp.sum(q, axis=1) == 1)
        n_c = pos[k] + neg[k]
        # Σ_c (pos_c − n_c v_l) q_cl per level l: the calibration residual of level l.
        resid = pos[k] @ q - cp.multiply(v, n_c @ q)
        cal.append(cp.sum(cp.abs(resid)) / float(P[k] + N[k]))
        cons.append(cal[-1] <= tol)
        gfpr.append(neg[k] @ (q @ v) / float(N[k]))
        gfnr.append(pos[k] @ (q @ (1 - v)) / float(P[k]))
    t = cp.Variable()
    cons += [cp.abs(gfpr[1] - gfpr[0]) <= t, cp.abs(gfnr[1] - gfnr[0]) <= t]
    prob = cp.Problem(cp.Minimize(t), cons)
    out = solve(prob, _LP_SOLVERS)
    base = P / (P + N)
    if t.value is None or not out.accurate:
        nan2 = np.full(2, np.nan)
        return CalibrationGapResult(math.nan, nan2, nan2, base, nan2, out.status)

    def val(e: Any) -> float:
        return float(e.value)

    return CalibrationGapResult(float(max(val(t), 0.0)), np.array([val(x) for x in gfpr]),
                                np.array([val(x) for x in gfnr]), base, np.array([val(x) for x in cal]), out.status)
