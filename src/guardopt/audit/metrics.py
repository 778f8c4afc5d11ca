"""Group fairness and performance metrics of a (possibly randomised) binary classifier.

Each metric takes labels ``y (n,)`` in {0, 1}, predictions ``pred (n,)`` — hard decisions in {0, 1}
or acceptance probabilities in [0, 1] of a randomised classifier, whose rates are then expectations —
a binary ``group (n,)`` and optional ``sample_weight (n,)`` (used for reweighted, shifted
populations). Differences are absolute gaps between the two groups, as in fairlearn's
``*_difference`` metrics with their default ``method="between_groups"`` (the reference the tests
compare with): demographic parity (selection rates), equalized odds (the larger of the TPR and FPR
gaps), equal opportunity (TPR gap), FPR and FNR gaps, and predictive parity (PPV gap).

`calibration_gap` measures within-group calibration of a *score*: the largest over the two groups
of the binned expected calibration error ``Σ_b (n_b / n_g) |mean(y) − mean(score)|`` (equal-width
bins), the quantity that calibration-within-groups asks to be zero (Kleinberg, Mullainathan and
Raghavan, 2017).

A group (or a class within a group) with zero weight makes a rate undefined: the metric is NaN, and
`guardopt.audit.suite.MetricSuite` counts a NaN as a violation (fail closed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from guardopt.audit._checks import binary, probabilities, weights
from guardopt.core.errors import check_int

__all__ = [
    "METRICS",
    "accuracy",
    "calibration_gap",
    "demographic_parity_difference",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "false_negative_rate_difference",
    "false_positive_rate_difference",
    "group_rates",
    "predictive_parity_difference",
]


def _inputs(y: Any, pred: Any, group: Any, sample_weight: Any, owner: str
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    yy = binary(y, "y", owner)
    n = yy.size
    return (yy.astype(float), probabilities(pred, "pred", owner, n), binary(group, "group", owner, n),
            weights(sample_weight, "sample_weight", owner, n))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def group_rates(y: Any, pred: Any, group: Any, sample_weight: Any = None) -> dict[int, dict[str, float]]:
    """Per-group ``share``, ``base_rate``, ``selection``, ``tpr``, ``fpr``, ``fnr``, ``ppv`` and ``accuracy``.

    Returns ``{0: {...}, 1: {...}}``; a rate over zero weight is NaN.
    """
    yy, p, g, w = _inputs(y, pred, group, sample_weight, "group_rates")
    out: dict[int, dict[str, float]] = {}
    total = w.sum()
    for k in (0, 1):
        wk = w * (g == k)
        pos, neg, acc = float(np.dot(wk, yy)), float(np.dot(wk, 1 - yy)), float(np.dot(wk, p))
        tp = float(np.dot(wk * yy, p))
        fp = float(np.dot(wk * (1 - yy), p))
        n_k = float(wk.sum())
        out[k] = {
            "share": n_k / total,
            "base_rate": _ratio(pos, n_k),
            "selection": _ratio(acc, n_k),
            "tpr": _ratio(tp, pos),
            "fpr": _ratio(fp, neg),
            "fnr": _ratio(pos - tp, pos),
            "ppv": _ratio(tp, acc),
            "accuracy": _ratio(tp + (neg - fp), n_k),
        }
    return out


def _gap(y: Any, pred: Any, group: Any, sample_weight: Any, key: str) -> float:
    r = group_rates(y, pred, group, sample_weight)
    return abs(r[1][key] - r[0][key])


def demographic_parity_difference(y: Any, pred: Any, group: Any, sample_weight: Any = None) -> float:
    """``|P(ŷ=1 | g=1) − P(ŷ=1 | g=0)|``."""
    return _gap(y, pred, group, sample_weight, "selection")


def equal_opportunity_difference(y: Any, pred: Any, group: Any, sample_weight: Any = None) -> float:
    """The true-positive-rate gap."""
    return _gap(y, pred, group, sample_weight, "tpr")


def false_positive_rate_difference(y: Any, pred: Any, group: Any, sample_weight: Any = None) -> float:
    """The false-positive-rate gap."""
    return _gap(y, pred, group, sample_weight, "fpr")


def false_negative_rate_difference(y: Any, pred: Any, group: Any, sample_weight: Any = None) -> float:
    """The false-negative-rate gap (equal to the TPR gap)."""
    return _gap(y, pred, group, sample_weight, "fnr")


def predictive_parity_difference(y: Any, pred: Any, group: Any, sample_weight: Any = None) -> float:
    """The positive-predictive-value gap ``|P(y=1 | ŷ=1, g=1) − P(y=1 | ŷ=1, g=0)|``."""
    return _gap(y, pred, group, sample_weight, "ppv")


def equalized_odds_difference(y: Any, pred: Any, group: Any, sample_weight: Any = None) -> float:
    """``max(TPR gap, FPR gap)`` (fairlearn's ``equalized_odds_difference``, worst case)."""
    r = group_rates(y, pred, group, sample_weight)
    gaps = (abs(r[1]["tpr"] - r[0]["tpr"]), abs(r[1]["fpr"] - r[0]["fpr"]))
    # Python's max drops a NaN in second place; an undefined rate makes the metric undefined (fail closed).
    return math.nan if any(math.isnan(v) for v in gaps) else max(gaps)


def accuracy(y: Any, pred: Any, group: Any = None, sample_weight: Any = None) -> float:
    """Expected accuracy ``Σ w (y p + (1 − y)(1 − p)) / Σ w`` (``group`` is ignored)."""
    yy = binary(y, "y", "accuracy").astype(float)
    p = probabilities(pred, "pred", "accuracy", yy.size)
    w = weights(sample_weight, "sample_weight", "accuracy", yy.size)
    return float(np.dot(w, yy * p + (1 - yy) * (1 - p)) / w.sum())


def calibration_gap(y: Any, score: Any, group: Any, sample_weight: Any = None, bins: int = 10) -> float:
    """Largest within-group expected calibration error of ``score`` over ``bins`` equal-width bins."""
    yy, s, g, w = _inputs(y, score, group, sample_weight, "calibration_gap")
    bins = check_int(bins, "bins", "calibration_gap", 1, 10_000)
    idx = np.minimum((s * bins).astype(int), bins - 1)
    worst = 0.0
    for k in (0, 1):
        wk = w * (g == k)
        n_k = wk.sum()
        if not n_k > 0:
            return math.nan
        err = 0.0
        for b in range(bins):
            wb = wk * (idx == b)
            if wb.sum() > 0:
                err += abs(np.dot(wb, yy) - np.dot(wb, s)) / n_k
        worst = max(worst, float(err))
    return worst


#: The metrics a `MetricSuite` knows, by name: ``fn(y, pred_or_score, group, sample_weight) -> float``.
#: ``calibration`` reads the score; the others read the decision (or acceptance probability).
METRICS: dict[str, Callable[..., float]] = {
    "demographic_parity": demographic_parity_difference,
    "equalized_odds": equalized_odds_difference,
    "equal_opportunity": equal_opportunity_difference,
    "false_positive_rate": false_positive_rate_difference,
    "false_negative_rate": false_negative_rate_difference,
    "predictive_parity": predictive_parity_difference,
    "calibration": calibration_gap,
}
