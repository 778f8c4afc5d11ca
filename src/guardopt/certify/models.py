"""What `Seldonian` can certify: anything that maps parameters to per-sample predictions.

A model implements the `CertifiableModel` protocol:

* ``initial_params(data) -> (p,)`` — a starting point for candidate search;
* ``predict(params, data) -> (n,)`` — the per-sample outputs the constraints read (a decision, a
  probability, a cost);
* ``loss(params, data) -> float`` — what candidate selection minimises (e.g. the error rate);

and optionally ``candidate_params(data) -> list of (p,)``: a finite family to choose from (a path
of penalised fits, a grid of thresholds). Models without one are searched continuously.

Three ready-made models: `ClassifierModel` (logistic regression fitted with scipy, certified on its
labels or probabilities), `ThresholdDecision` (accept when a score is at least a threshold; certify
a threshold learnt elsewhere, e.g. by OFS, with `Seldonian.test`) and `CallableModel` (any function).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from scipy import special

from guardopt.certify.constraints import Data, weights_of
from guardopt.certify.logistic import LogisticRegression
from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
)


@runtime_checkable
class CertifiableModel(Protocol):
    """A parametrised model or decision rule whose per-sample outputs the constraints read."""

    def initial_params(self, data: Data) -> np.ndarray:
        """Starting parameters ``(p,)`` fitted or chosen on ``data``."""
        ...

    def predict(self, params: np.ndarray, data: Data) -> np.ndarray:
        """Per-sample outputs ``(n,)`` of the model with ``params`` on ``data``."""
        ...

    def loss(self, params: np.ndarray, data: Data) -> float:
        """The objective candidate selection minimises (lower is better)."""
        ...


def _column(data: Data, key: str, owner: str) -> np.ndarray:
    if key not in data:
        raise InputDataError(f"{owner} needs a {key!r} column in the data. Got keys {sorted(data)}.")
    return np.asarray(data[key])


def _weighted_mean(values: np.ndarray, data: Data) -> float:
    w = weights_of(data, values.shape[0])
    return float(np.dot(w, values) / w.sum())


@dataclass(frozen=True)
class ClassifierModel:
    """Logistic regression (scipy-fitted) whose labels or probabilities are certified.

    Candidate family: logistic fits on the candidate data with ``parity_penalty`` in ``penalties``
    (a fairness-penalty path, warm-started, needs ``penalty_group``), each with its intercept moved
    by every value of ``intercept_shifts`` (more approvals shrink both the gap and the variance).

    Args:
        l2: L2 penalty of the logistic fits.
        output: ``"label"`` (``1[x·coef + b >= 0]``, the default) or ``"probability"`` (a randomized
            classifier that approves with probability ``sigmoid(x·coef + b)``).
        features: Data key of the features ``(n, d)``.
        label: Data key of the 0/1 labels ``(n,)``.
        penalty_group: Data key of the group column used by the parity penalty (two values);
            ``None`` fits only ``parity_penalty = 0``.
        penalties: Parity-penalty weights of the family.
        intercept_shifts: Added to each fit's intercept.
    """

    l2: float = 1e-3
    output: Literal["label", "probability"] = "label"
    features: str = "X"
    label: str = "y"
    penalty_group: str | None = None
    penalties: tuple[float, ...] = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
    intercept_shifts: tuple[float, ...] = (0.0,)

    def __post_init__(self) -> None:
        check_in_range(self.l2, "l2", "ClassifierModel", 0.0, low_open=False)
        check_choice(self.output, "output", "ClassifierModel", ("label", "probability"))
        for name in ("penalties", "intercept_shifts"):
            values = getattr(self, name)
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not len(values):
                raise InputDataError(f"ClassifierModel.{name} must be a non-empty sequence of numbers. Got {values!r}.")
        for p in self.penalties:  # NaN, strings: refused here, not deep inside a fit
            check_in_range(p, "penalties", "ClassifierModel", 0.0, low_open=False)
        for shift in self.intercept_shifts:  # a NaN shift would only ever yield NaN candidates
            check_in_range(shift, "intercept_shifts", "ClassifierModel")

    def _xyw(self, data: Data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X = _column(data, self.features, "ClassifierModel").astype(float)
        y = _column(data, self.label, "ClassifierModel")
        return X, y, weights_of(data, X.shape[0])

    def fit(self, data: Data, parity_penalty: float = 0.0, theta0: np.ndarray | None = None) -> LogisticRegression:
        """One logistic fit on ``data`` (weighted by its frequency weights)."""
        X, y, w = self._xyw(data)
        groups = None
        if parity_penalty > 0:
            if self.penalty_group is None:
                raise InputDataError("ClassifierModel needs penalty_group= for a parity penalty.")
            groups = _column(data, self.penalty_group, "ClassifierModel")
        clf = LogisticRegression(l2=self.l2, parity_penalty=parity_penalty)
        return clf.fit(X, y, sample_weight=w, groups=groups, theta0=theta0)

    def initial_params(self, data: Data) -> np.ndarray:
        return self.fit(data).theta_

    def candidate_params(self, data: Data) -> list[np.ndarray]:
        """The penalty path times the intercept shifts (``len(penalties) * len(intercept_shifts)``)."""
        penalties = sorted(self.penalties) if self.penalty_group is not None else [0.0]
        out: list[np.ndarray] = []
        theta: np.ndarray | None = None
        for lam in penalties:
            theta = self.fit(data, lam, theta0=theta).theta_
            for shift in self.intercept_shifts:
                t = theta.copy()
                t[-1] += shift
                out.append(t)
        return out

    def scores(self, params: np.ndarray, data: Data) -> np.ndarray:
        """Linear scores ``x·coef + b``, shape ``(n,)``."""
        X = _column(data, self.features, "ClassifierModel").astype(float)
        p = as_float_array(params, "params", "ClassifierModel")
        if X.ndim != 2 or p.shape != (X.shape[1] + 1,):
            raise InputDataError(f"The 'params' argument of ClassifierModel must have shape ({X.shape[-1] + 1},) "
                                 f"for features of shape {X.shape}. Got {p.shape}.")
        if not np.isfinite(p).all():
            # 1[x·w + b >= 0] maps NaN to 0: NaN parameters would look like a classifier that rejects all.
            raise InvalidParameterError("params", "ClassifierModel", "finite", p.tolist())
        return np.asarray(X @ p[:-1] + p[-1])

    def predict(self, params: np.ndarray, data: Data) -> np.ndarray:
        s = self.scores(params, data)
        return (s >= 0).astype(float) if self.output == "label" else special.expit(s)

    def loss(self, params: np.ndarray, data: Data) -> float:
        """Error rate (expected error rate for ``output="probability"``)."""
        y = _column(data, self.label, "ClassifierModel").astype(float)
        q = self.predict(params, data)
        return _weighted_mean(y * (1.0 - q) + (1.0 - y) * q, data)

    def estimator(self, params: np.ndarray) -> LogisticRegression:
        """A fitted-looking `LogisticRegression` holding ``params`` (for ``predict`` / ``predict_proba``)."""
        return LogisticRegression(l2=self.l2).set_theta(params)


@dataclass(frozen=True)
class ThresholdDecision:
    """Accept (output 1) every row whose score is at least a threshold ``params[0]``.

    Args:
        score: Data key of the score ``(n,)``.
        utility: Data key of the per-row utility of accepting it; the loss is ``-mean(accept *
            utility)``. ``None`` rewards the acceptance rate itself.
        thresholds: Candidate thresholds; ``None`` uses ``n_grid`` quantiles of the candidate scores.
        n_grid: Grid size when ``thresholds`` is ``None``.
    """

    score: str = "score"
    utility: str | None = None
    thresholds: tuple[float, ...] | None = None
    n_grid: int = 101

    def __post_init__(self) -> None:
        check_int(self.n_grid, "n_grid", "ThresholdDecision", 2)
        if self.thresholds is not None:
            if isinstance(self.thresholds, (str, bytes)) or not hasattr(self.thresholds, "__len__"):
                raise InvalidParameterError("thresholds", "ThresholdDecision", "a sequence of numbers (or None)",
                                            self.thresholds)
            if len(self.thresholds) == 0:
                raise InputDataError("The 'thresholds' parameter of ThresholdDecision must be non-empty (or None).")
            for t in self.thresholds:
                check_in_range(t, "thresholds", "ThresholdDecision")

    def candidate_params(self, data: Data) -> list[np.ndarray]:
        if self.thresholds is not None:
            return [np.array([float(t)]) for t in self.thresholds]
        s = _column(data, self.score, "ThresholdDecision").astype(float)
        grid = np.unique(np.quantile(s, np.linspace(0.0, 1.0, self.n_grid)))
        return [np.array([t]) for t in grid]

    def initial_params(self, data: Data) -> np.ndarray:
        return self.candidate_params(data)[0]

    def predict(self, params: np.ndarray, data: Data) -> np.ndarray:
        s = _column(data, self.score, "ThresholdDecision").astype(float)
        p = as_float_array(params, "params", "ThresholdDecision").ravel()
        if p.shape != (1,):
            raise InvalidParameterError("params", "ThresholdDecision", "one threshold, shape (1,)", params)
        if not np.isfinite(p[0]):
            # s >= NaN is False everywhere: a NaN threshold would read as "accept no one".
            raise InvalidParameterError("params", "ThresholdDecision", "a finite threshold", float(p[0]))
        return (s >= p[0]).astype(float)

    def loss(self, params: np.ndarray, data: Data) -> float:
        accept = self.predict(params, data)
        if self.utility is None:
            return -_weighted_mean(accept, data)
        u = _column(data, self.utility, "ThresholdDecision").astype(float)
        return -_weighted_mean(accept * u, data)


@dataclass(frozen=True)
class CallableModel:
    """Any function from parameters to per-sample outputs, searched continuously.

    Args:
        predict_fn: ``(params (p,), data) -> (n,)``.
        x0: Starting parameters ``(p,)``.
        loss_fn: ``(params, data) -> float`` to minimise; ``None`` means every feasible point is
            equally good (the search then only looks for predicted feasibility).
        candidates: Optional finite family ``(params, ...)``; when given, no continuous search runs.
    """

    predict_fn: Callable[[np.ndarray, Data], np.ndarray]
    x0: Sequence[float]
    loss_fn: Callable[[np.ndarray, Data], float] | None = None
    candidates: Sequence[Sequence[float]] | None = field(default=None)

    def __post_init__(self) -> None:
        if not callable(self.predict_fn):
            raise InvalidParameterError("predict_fn", "CallableModel", "a function (params, data) -> (n,)",
                                        self.predict_fn)
        if self.loss_fn is not None and not callable(self.loss_fn):
            raise InvalidParameterError("loss_fn", "CallableModel", "None or a function (params, data) -> float",
                                        self.loss_fn)
        # Strings, NaN or an empty start: our error now, not numpy's or an IndexError inside the search.
        x0 = as_float_array(self.x0, "x0", "CallableModel", finite=True, min_size=1)
        if x0.ndim > 1:
            raise InvalidParameterError("x0", "CallableModel", "a 1-D sequence of numbers", self.x0)

    def initial_params(self, data: Data) -> np.ndarray:
        return np.asarray(self.x0, dtype=float).ravel()

    def predict(self, params: np.ndarray, data: Data) -> np.ndarray:
        return np.asarray(self.predict_fn(np.asarray(params, dtype=float), data), dtype=float)

    def loss(self, params: np.ndarray, data: Data) -> float:
        return 0.0 if self.loss_fn is None else float(self.loss_fn(np.asarray(params, dtype=float), data))


def finite_family(model: Any, data: Data) -> list[np.ndarray] | None:
    """The model's finite candidate family, or ``None`` when it has none (continuous search)."""
    if isinstance(model, CallableModel):
        return None if model.candidates is None else [np.asarray(c, dtype=float) for c in model.candidates]
    fam = getattr(model, "candidate_params", None)
    return None if fam is None else [np.asarray(p, dtype=float) for p in fam(data)]
