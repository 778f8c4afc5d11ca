"""`MetricSuite`: keep several responsible-AI metrics side by side, each with its tolerated inconsistency.

Dai and Xiao (2025), "Embracing Contradiction: Theoretical Inconsistency Will Not Impede the Road of
Building Responsible AI Systems" (position paper), argue for treating conflicting metrics as
divergent objectives and for characterising *acceptable inconsistency thresholds*. The paper gives
no algorithm; this module is an audit utility in that spirit:

* `MetricSuite.evaluate`: every metric of the suite with its threshold ``τ_m`` and whether it is met
  (NaN = not met: fail closed), plus accuracy; `SuiteReport.markdown` prints the table.
* `MetricSuite.conflicts`: pairwise conflict of the metrics as the cosine between the gradients of
  their smooth surrogates with respect to the parameters of a logistic model (a negative cosine:
  improving one metric locally worsens the other), the "gradient conflict" the paper points to.
* `MetricSuite.feasible`: whether the decision thresholds can be met together, and at what accuracy,
  by the linear program of `guardopt.audit.feasibility.fair_postprocess`.
* `MetricSuite.pareto_sweep`: accuracy against a common threshold ``τ`` for each single constraint
  and for all together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.special import expit

from guardopt.audit._checks import binary, matrix, probabilities, vector, weights
from guardopt.audit.feasibility import CONSTRAINTS, PostProcessConfig, PostProcessResult, fair_postprocess
from guardopt.audit.metrics import METRICS, accuracy
from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range

__all__ = ["MetricSuite", "SuiteReport"]

#: Metrics with a smooth surrogate for `MetricSuite.conflicts` (squared gaps of sigmoid rates).
SURROGATES: tuple[str, ...] = ("demographic_parity", "equal_opportunity", "false_positive_rate",
                               "equalized_odds")


@dataclass(frozen=True)
class SuiteReport:
    """The metrics of one classifier against the suite's thresholds.

    Attributes:
        values: ``{metric: value}`` (gaps; NaN where undefined).
        thresholds: ``{metric: τ}``.
        accuracy: Accuracy of the decisions.
    """

    values: Mapping[str, float]
    thresholds: Mapping[str, float]
    accuracy: float

    @property
    def passed(self) -> dict[str, bool]:
        """``{metric: value <= τ}``; NaN never passes."""
        return {m: bool(v <= self.thresholds[m]) for m, v in self.values.items()}

    @property
    def violations(self) -> dict[str, float]:
        """``{metric: value − τ}`` (positive = violated; NaN counts as +inf)."""
        return {m: (math.inf if math.isnan(v) else v - self.thresholds[m]) for m, v in self.values.items()}

    @property
    def worst_violation(self) -> float:
        """The largest ``value − τ`` over the suite (``-inf`` for an empty suite)."""
        return max(self.violations.values(), default=-math.inf)

    def __bool__(self) -> bool:
        """True only when every metric meets its threshold."""
        return all(self.passed.values())

    def markdown(self) -> str:
        """A Markdown table: metric, value, threshold, met."""
        lines = ["| metric | value | threshold | met |", "|---|---|---|---|"]
        for m, v in self.values.items():
            lines.append(f"| {m} | {v:.4f} | {self.thresholds[m]:g} | {'yes' if self.passed[m] else '**no**'} |")
        lines.append(f"| accuracy | {self.accuracy:.4f} | — | — |")
        return "\n".join(lines)


def _check_thresholds(thresholds: Any) -> tuple[tuple[str, float], ...]:
    owner = "MetricSuite"
    if isinstance(thresholds, Mapping):
        items = tuple(thresholds.items())
    elif isinstance(thresholds, tuple):
        items = thresholds
    else:
        raise InvalidParameterError("thresholds", owner, "a mapping {metric: tau}", thresholds)
    if not items:
        raise InvalidParameterError("thresholds", owner, "a non-empty mapping {metric: tau}", thresholds)
    out: list[tuple[str, float]] = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and item[0] in METRICS):
            raise InvalidParameterError("thresholds", owner, f"metric names from {sorted(METRICS)}", item)
        if any(name == item[0] for name, _ in out):  # a dict would silently keep the last one
            raise InvalidParameterError("thresholds", owner, f"each metric named once ({item[0]!r} is named twice)",
                                        thresholds)
        out.append((item[0], check_in_range(item[1], "thresholds", owner, 0.0, 1.0, low_open=False,
                                            high_open=False)))
    return tuple(out)


@dataclass(frozen=True)
class MetricSuite:
    """A set of metrics, each with its acceptable inconsistency threshold ``τ_m``.

    Attributes:
        thresholds: ``{metric: τ}`` with names from `guardopt.audit.metrics.METRICS`, ``τ`` in [0, 1].
        decision_threshold: Score above which a person is accepted when only scores are given.
        calibration_bins: Bins of the calibration metric.

    Example:
        >>> suite = MetricSuite({"demographic_parity": 0.05, "equalized_odds": 0.05})
        >>> rep = suite.evaluate([0, 1, 1, 0], [0.2, 0.9, 0.6, 0.4], [0, 0, 1, 1])
        >>> rep.values["demographic_parity"]
        0.0
    """

    # Read-only after validation; left out of the hash (a mapping is not hashable).
    thresholds: Mapping[str, float] = field(default_factory=lambda: {"demographic_parity": 0.05,
                                                                     "equalized_odds": 0.05}, hash=False)
    decision_threshold: float = 0.5
    calibration_bins: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", MappingProxyType(dict(_check_thresholds(self.thresholds))))
        check_in_range(self.decision_threshold, "decision_threshold", "MetricSuite", 0.0, 1.0)
        if isinstance(self.calibration_bins, bool) or not isinstance(self.calibration_bins, int) \
                or not 1 <= self.calibration_bins <= 10_000:
            raise InvalidParameterError("calibration_bins", "MetricSuite", "an integer in [1, 10000]",
                                        self.calibration_bins)

    def evaluate(self, y: Any, score: Any, group: Any, decisions: Any = None,
                 sample_weight: Any = None) -> SuiteReport:
        """Every metric of the suite on one classifier.

        Args:
            y: ``(n,)`` labels in {0, 1}. score: ``(n,)`` scores in [0, 1] (calibration reads these).
            group: ``(n,)`` in {0, 1}.
            decisions: ``(n,)`` decisions or acceptance probabilities in [0, 1]; default
                ``score > decision_threshold``.
            sample_weight: ``(n,)`` optional weights (e.g. of a shifted population).
        """
        owner = "MetricSuite.evaluate"
        yy = binary(y, "y", owner)
        s = probabilities(score, "score", owner, yy.size)
        g = binary(group, "group", owner, yy.size)
        d = (s > self.decision_threshold).astype(float) if decisions is None else \
            probabilities(decisions, "decisions", owner, yy.size)
        w = weights(sample_weight, "sample_weight", owner, yy.size)
        values = {}
        for name in self.thresholds:
            if name == "calibration":
                values[name] = METRICS[name](yy, s, g, w, bins=self.calibration_bins)
            else:
                values[name] = METRICS[name](yy, d, g, w)
        return SuiteReport(values, dict(self.thresholds), accuracy(yy, d, sample_weight=w))

    # ------------------------------------------------------------------------------ conflicts

    def conflicts(self, X: Any, y: Any, group: Any, theta: Any) -> dict[tuple[str, str], float]:
        """Pairwise gradient-conflict cosines at logistic parameters ``theta``.

        Each metric's surrogate replaces decisions by ``σ(x·w + b)`` and takes the squared gap; the log
        loss stands for accuracy. Returns ``{(a, b): cos(∇a, ∇b)}`` for every pair of the suite's
        metrics with a surrogate and ``"log_loss"``; NaN where a gradient is zero (the metric is at
        its optimum).

        Args:
            X: ``(n, d)`` features. y, group: ``(n,)`` in {0, 1}. theta: ``(d + 1,)`` (weights, intercept).
        """
        owner = "MetricSuite.conflicts"
        Xc = matrix(X, "X", owner)
        yy = binary(y, "y", owner, Xc.shape[0]).astype(float)
        g = binary(group, "group", owner, Xc.shape[0], both=True)
        th = vector(theta, "theta", owner, Xc.shape[1] + 1)
        Xt = np.hstack([Xc, np.ones((Xc.shape[0], 1))])
        p = expit(Xt @ th)
        dp = (p * (1 - p))[:, None] * Xt  # ∂p_i/∂θ, (n, d+1)
        grads: dict[str, np.ndarray] = {"log_loss": Xt.T @ (p - yy) / Xt.shape[0]}

        def rate_grad(mask: np.ndarray) -> tuple[float, np.ndarray]:
            if not mask.any():
                raise InputDataError(f"{owner}: a group lacks the examples a surrogate needs.")
            return float(p[mask].mean()), dp[mask].mean(axis=0)

        def gap_grad(key: str) -> np.ndarray:
            masks = {"demographic_parity": (g == 1, g == 0),
                     "equal_opportunity": ((g == 1) & (yy == 1), (g == 0) & (yy == 1)),
                     "false_positive_rate": ((g == 1) & (yy == 0), (g == 0) & (yy == 0))}[key]
            (r1, d1), (r0, d0) = rate_grad(masks[0]), rate_grad(masks[1])
            return np.asarray(2.0 * (r1 - r0) * (d1 - d0))

        for name in self.thresholds:
            if name in ("demographic_parity", "equal_opportunity", "false_positive_rate"):
                grads[name] = gap_grad(name)
            elif name == "equalized_odds":
                grads[name] = gap_grad("equal_opportunity") + gap_grad("false_positive_rate")
        names = list(grads)
        out = {}
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                na, nb = np.linalg.norm(grads[a]), np.linalg.norm(grads[b])
                out[(a, b)] = float(grads[a] @ grads[b] / (na * nb)) if na > 0 and nb > 0 else math.nan
        return out

    # ---------------------------------------------------------------------- feasibility, Pareto

    def _decision_constraints(self) -> dict[str, float]:
        return {m: t for m, t in self.thresholds.items() if m in CONSTRAINTS}

    def feasible(self, score: Any, y: Any, group: Any, bins: int = 20, sample_weight: Any = None
                 ) -> PostProcessResult:
        """The most accurate derived classifier meeting every decision threshold of the suite at once.

        Uses the suite's thresholds on ``demographic_parity``, ``equalized_odds``, ``equal_opportunity``
        and ``false_positive_rate`` (the others are not linear in the decisions). See
        `guardopt.audit.feasibility.fair_postprocess`.
        """
        cfg = PostProcessConfig(tuple(sorted(self._decision_constraints().items())), bins)
        return fair_postprocess(score, y, group, cfg, sample_weight)

    def pareto_sweep(self, score: Any, y: Any, group: Any, taus: Any = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2),
                     bins: int = 20) -> dict[str, list[tuple[float, float]]]:
        """Accuracy of the best derived classifier against a common threshold ``τ``.

        Returns ``{"<metric>": [(τ, accuracy), ...], ..., "joint": [...]}``: one curve per decision
        metric of the suite alone and one with all of them together (the price of holding them jointly).
        The accuracy is NaN where no solver answered accurately (fail closed).
        """
        t = vector(taus, "taus", "MetricSuite.pareto_sweep")
        if np.any(t < 0) or np.any(t > 1):
            raise InputDataError("The 'taus' argument of MetricSuite.pareto_sweep must lie in [0, 1].")
        names = list(self._decision_constraints())
        sets: dict[str, list[str]] = {m: [m] for m in names}
        if len(names) > 1:
            sets["joint"] = names
        out: dict[str, list[tuple[float, float]]] = {}
        for key, members in sets.items():
            curve = []
            for tau in t:
                cfg = PostProcessConfig(tuple(sorted((m, float(tau)) for m in members)), bins)
                res = fair_postprocess(score, y, group, cfg)
                # An answer no solver vouched for may break the thresholds: its accuracy is no price (NaN).
                curve.append((float(tau), res.accuracy if res.feasible else math.nan))
            out[key] = curve
        return out
