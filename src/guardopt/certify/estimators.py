"""Certify any scikit-learn classifier: fit on the candidate split, choose a threshold (or refit) under the bound.

`EstimatorModel` wraps an unfitted scikit-learn-style binary classifier (anything with ``fit`` and
``predict_proba``, ``decision_function`` or ``predict``; scikit-learn is imported lazily, only to
``clone`` it). Its candidate family, built on the candidate split only, is

* one fit per entry of ``refits`` (``set_params`` overrides; ``({},)``, the estimator as given, by
  default) — the *retrain* path: e.g. ``refits=[{"C": c} for c in (0.01, 0.1, 1)]``,
* times one decision threshold per entry of ``thresholds`` on the fit's score (the positive class's
  probability, else the decision function) — the *threshold* path: ``None`` takes quantiles of the
  candidate scores plus the estimator's own cut (0.5 for probabilities, 0 for decision functions);
  ``"default"`` keeps only that cut.

A candidate's parameters are ``(fit index, threshold)``. `Seldonian` picks the candidate with the
lowest error rate among those whose *predicted* pessimistic bound meets every constraint, and tests
it on the safety split, which the fits never saw. Outputs are 0/1 decisions ``1[score >= threshold]``.

Example:
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from guardopt.certify import EstimatorModel, Seldonian, demographic_parity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(4000, 3)); g = rng.integers(0, 2, 4000); y = (X[:, 0] > 0).astype(int)
    >>> model = EstimatorModel(DecisionTreeClassifier(max_depth=3, random_state=0))
    >>> result = Seldonian(delta=0.05).run(model, {"X": X, "y": y, "group": g}, demographic_parity(0.2), seed=0)
    >>> bool(result), result.trivial
    (True, None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from guardopt.certify.columns import as_column, equal_mask
from guardopt.certify.constraints import WEIGHT_KEY, Data, weights_of
from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_int

_OWNER = "EstimatorModel"


class EstimatorModel:
    """A scikit-learn binary classifier as a `CertifiableModel` (see the module docstring).

    Args:
        estimator: An unfitted classifier (it is cloned; the original is never fitted).
        features: Data key of the features ``(n, d)``.
        label: Data key of the labels ``(n,)`` (two classes).
        positive: The positive class label (the decision ``1`` means "predict ``positive``").
        refits: ``set_params`` overrides, one fit each on the candidate split.
        thresholds: Thresholds on the score; None: ``n_thresholds`` quantiles plus the default cut;
            ``"default"``: the default cut only.
        n_thresholds: Size of the quantile grid when ``thresholds`` is None.

    Attributes (after candidate selection): ``fits_``, the fitted clones, one per refit.
    """

    def __init__(self, estimator: Any, features: str = "X", label: str = "y", positive: Any = 1,
                 refits: Sequence[Mapping[str, Any]] = ({},), thresholds: Sequence[float] | str | None = None,
                 n_thresholds: int = 41) -> None:
        if not callable(getattr(estimator, "fit", None)):
            raise InvalidParameterError("estimator", _OWNER, "a scikit-learn-style classifier with fit()", estimator)
        if not any(callable(getattr(estimator, m, None)) for m in ("predict_proba", "decision_function", "predict")):
            raise InvalidParameterError("estimator", _OWNER, "a classifier with predict_proba, decision_function "
                                        "or predict", estimator)
        if isinstance(refits, (str, bytes)) or not (isinstance(refits, Mapping) or hasattr(refits, "__iter__")):
            raise InvalidParameterError("refits", _OWNER, "a non-empty list of set_params dicts", refits)
        refit_list = list(refits) if not isinstance(refits, Mapping) else [refits]
        if not refit_list or not all(isinstance(r, Mapping) for r in refit_list):
            raise InvalidParameterError("refits", _OWNER, "a non-empty list of set_params dicts", refits)
        if isinstance(thresholds, str):
            if thresholds != "default":
                raise InvalidParameterError("thresholds", _OWNER, "None, 'default' or a list of numbers", thresholds)
        elif thresholds is not None:
            t = as_float_array(thresholds, "thresholds", _OWNER, finite=True)
            if t.ndim != 1 or t.size == 0:
                raise InvalidParameterError("thresholds", _OWNER, "None, 'default' or a non-empty list of numbers",
                                            thresholds)
        check_int(n_thresholds, "n_thresholds", _OWNER, low=2)
        self.estimator = estimator
        self.features, self.label, self.positive = features, label, positive
        self.refits = [dict(r) for r in refit_list]
        self.thresholds = thresholds
        self.n_thresholds = int(n_thresholds)
        self.fits_: list[Any] = []

    # -- data -----------------------------------------------------------------------------------

    def _xy(self, data: Data) -> tuple[np.ndarray, np.ndarray]:
        for key in (self.features, self.label):
            if key not in data:
                raise InputDataError(f"{_OWNER} needs a {key!r} column in the data. Got keys {sorted(data)}.")
        x = np.asarray(data[self.features], dtype=float)
        y = equal_mask(as_column(data[self.label]), self.positive).astype(int)
        if x.ndim != 2 or x.shape[0] != y.shape[0]:
            raise InputDataError(f"The {self.features!r} column must have shape (n, d) with n = {y.shape[0]}. "
                                 f"Got {x.shape}.")
        return x, y

    def _score(self, fit: Any, x: np.ndarray) -> np.ndarray:
        if callable(getattr(fit, "predict_proba", None)):
            classes = list(getattr(fit, "classes_", [0, 1]))
            col = classes.index(1) if 1 in classes else len(classes) - 1
            return np.asarray(fit.predict_proba(x), dtype=float)[:, col]
        if callable(getattr(fit, "decision_function", None)):
            return np.asarray(fit.decision_function(x), dtype=float).ravel()
        return np.asarray(fit.predict(x), dtype=float).ravel()

    def _default_cut(self, fit: Any) -> float:
        return 0.5 if callable(getattr(fit, "predict_proba", None)) else (
            0.0 if callable(getattr(fit, "decision_function", None)) else 0.5)

    # -- CertifiableModel -------------------------------------------------------------------------

    def candidate_params(self, data: Data) -> list[np.ndarray]:
        """Fit every refit on ``data`` (the candidate split) and return ``(fit index, threshold)`` pairs."""
        from sklearn.base import clone

        x, y = self._xy(data)
        w = weights_of(data, x.shape[0])
        if WEIGHT_KEY in data:  # frequency weights: the expanded sample, exactly
            reps = w.astype(int)
            x, y = np.repeat(x, reps, axis=0), np.repeat(y, reps)
        if np.unique(y).size < 2:
            raise InputDataError(f"{_OWNER} needs both classes in the candidate data; every label is "
                                 f"{'positive' if y.size and y[0] == 1 else 'negative'}.")
        self.fits_ = []
        out: list[np.ndarray] = []
        for i, overrides in enumerate(self.refits):
            est = clone(self.estimator)
            if overrides:
                est.set_params(**overrides)
            est.fit(x, y)
            self.fits_.append(est)
            if self.thresholds == "default":
                cuts = [self._default_cut(est)]
            elif self.thresholds is None:
                s = self._score(est, x)
                cuts = sorted({self._default_cut(est), *np.quantile(s, np.linspace(0, 1, self.n_thresholds)).tolist()})
            else:
                cuts = [float(t) for t in self.thresholds]
            out += [np.array([float(i), c]) for c in cuts]
        return out

    def initial_params(self, data: Data) -> np.ndarray:
        return self.candidate_params(data)[0]

    def _fit_of(self, params: np.ndarray) -> tuple[Any, float]:
        p = as_float_array(params, "params", _OWNER).ravel()
        if p.shape != (2,):
            raise InvalidParameterError("params", _OWNER, "(fit index, threshold), shape (2,)", params)
        if not np.isfinite(p).all():
            # s >= NaN is False everywhere: a NaN threshold would read as "approve no one".
            raise InvalidParameterError("params", _OWNER, "finite", p.tolist())
        if not self.fits_:
            raise InputDataError(f"{_OWNER} has no fitted estimator yet: candidate selection fits them "
                                 "(Seldonian.run, or candidate_params on the candidate data).")
        i = int(p[0])
        if i != p[0] or not 0 <= i < len(self.fits_):
            raise InvalidParameterError("params", _OWNER, f"a fit index in [0, {len(self.fits_) - 1}]", p.tolist())
        return self.fits_[i], float(p[1])

    def predict(self, params: np.ndarray, data: Data) -> np.ndarray:
        """0/1 decisions ``1[score >= threshold]``, shape ``(n,)``."""
        fit, t = self._fit_of(params)
        x, _ = self._xy(data) if self.label in data else (np.asarray(data[self.features], dtype=float), None)
        return (self._score(fit, x) >= t).astype(float)

    def loss(self, params: np.ndarray, data: Data) -> float:
        """Weighted error rate of the decisions."""
        _, y = self._xy(data)
        q = self.predict(params, data)
        w = weights_of(data, y.shape[0])
        return float(np.dot(w, np.abs(q - y)) / w.sum()) if w.sum() > 0 else math.nan

    def fitted(self, params: np.ndarray) -> tuple[Any, float]:
        """The fitted estimator and the threshold a (certified) ``params`` stands for."""
        return self._fit_of(params)
