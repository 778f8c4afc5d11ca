"""`GuardedSearchCV`: a scikit-learn ``SearchCV`` over a guardopt `Study`, with constraints and a
recommendation certified on a held-out split.

The search follows scikit-learn's ``GridSearchCV``/``RandomizedSearchCV`` conventions (``fit``,
``predict``, ``score``, ``best_params_``, ``best_estimator_``, ``cv_results_``) with three differences
that follow from guardopt's design:

1. **Outcome constraints.** ``constraints={"latency_ms": (prediction_latency_ms, "<=", 2.0)}``: a
   function ``(fitted_estimator, X, y) -> value`` measured on every validation fold (its mean over
   the folds is the trial's constraint value, and the optimizer — by default guardopt's constrained GP
   — models it), and a limit. A function may return one number (e.g. a model's size) or one value per
   sample (e.g. per-example errors, per-batch latencies).
2. **A certified recommendation.** Before the search, ``holdout`` of the data is set aside; the
   search never sees it. Afterwards the best feasible candidates by CV score (at most
   ``n_certify``) are refitted on the search data and tested on the held-out split, best first:
   a per-sample constraint must pass the high-confidence safety test (`guardopt.guards.safety_test`,
   a one-sided ``1 - δ'`` upper bound at most the limit, Thomas et al., 2019), a single-number one
   must hold as measured. ``δ' = delta / (n_certify × n_constraints)`` (a union bound over every test
   that may run), so the chance that the recommendation violates a per-sample constraint in
   expectation is at most ``delta`` (under the bound's assumptions: i.i.d. held-out samples;
   Student-t is approximate). The first candidate that passes is ``best_estimator_``, fitted on the
   search data — exactly the model the certificate is about. When none passes, nothing is released:
   ``best_estimator_`` is None and ``predict`` raises `NoCertifiedModelError` (fail closed).
3. **Failures are trials.** An estimator that fails to fit or score makes the trial FAILED with its
   reason (scikit-learn's ``error_score=np.nan``); if every trial fails, ``fit`` raises.

Without constraints, or with ``holdout=None``, there is nothing to certify: ``holdout=None`` refits
the best candidate on all the data (scikit-learn's ``refit=True``).
"""

from __future__ import annotations

import copy
import math
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils import indexable
from sklearn.utils._indexing import _safe_indexing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from guardopt.core.errors import GuardoptError, InvalidParameterError, check_in_range, check_int
from guardopt.core.optimizer import Optimizer
from guardopt.core.space import Parameter, Space
from guardopt.core.study import Study
from guardopt.core.trial import Observation, Trial, TrialState

__all__ = [
    "Certificate",
    "GuardedSearchCV",
    "NoCertifiedModelError",
    "model_size_bytes",
    "prediction_latency_ms",
]

ConstraintFn = Callable[[Any, Any, Any], Any]
_OWNER = "GuardedSearchCV"


class NoCertifiedModelError(GuardoptError, NotFittedError):
    """No candidate passed the held-out test: there is no model to predict with (fail closed)."""


def model_size_bytes(estimator: Any, X: Any = None, y: Any = None) -> float:
    """The size of the fitted estimator, pickled, in bytes (one number)."""
    return float(len(pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)))


def prediction_latency_ms(estimator: Any, X: Any, y: Any = None, batches: int = 16) -> np.ndarray:
    """Wall-clock milliseconds per predicted row, measured on ``batches`` slices of ``X``.

    Returns:
        Shape ``(k,)`` with ``k = min(batches, n_rows)``: one ms-per-row value per slice (a per-sample
        constraint value, so the held-out test bounds its mean).
    """
    n = _num_samples(X)
    k = max(1, min(int(batches), n))
    out = []
    for idx in np.array_split(np.arange(n), k):
        rows = _safe_indexing(X, idx)
        start = time.perf_counter()
        estimator.predict(rows)
        out.append(1000.0 * (time.perf_counter() - start) / max(len(idx), 1))
    return np.asarray(out)


@dataclass(frozen=True)
class Certificate:
    """How the recommendation was certified on the held-out split.

    Attributes:
        certified: True when a candidate passed every constraint's test.
        trial_number: The study trial whose parameters were released (None when none passed).
        tested: For every candidate tested, best first: ``(trial number, {constraint: (passed, bound or
            value, limit, reason)})``.
        delta: The overall miscoverage; each test ran at ``delta / (n_certify × n_constraints)``.
        n_holdout: Rows in the held-out split.
    """

    certified: bool
    trial_number: int | None
    tested: tuple[tuple[int, dict[str, tuple[bool, float, float, str]]], ...]
    delta: float
    n_holdout: int

    def __bool__(self) -> bool:
        return self.certified

    @property
    def reason(self) -> str:
        """Each tested candidate and why it passed or failed."""
        parts = []
        for number, checks in self.tested:
            inner = "; ".join(f"{k}: {v[3]}" for k, v in checks.items())
            parts.append(f"trial {number}: {inner}")
        return " | ".join(parts) if parts else "no feasible candidate to test"


class GuardedSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Hyperparameter search over a guardopt `Study` with constraints and a certified recommendation.

    Args:
        estimator: A scikit-learn estimator (cloned for every fit).
        space: A guardopt `Space` of the estimator's parameters (or a mapping name -> `Real` /
            `Integer` / `Choice`); conditional parameters (``when=``) are set only when active.
        n_trials: Trials of the search.
        scoring: A scikit-learn scorer name or callable (None: the estimator's ``score``); higher is better.
        cv: Folds, as scikit-learn's ``cv`` (an int, a splitter or an iterable); stratified for classifiers.
        constraints: ``{name: (fn, op, limit)}`` with ``fn(fitted_estimator, X, y)`` returning one number
            or one value per sample, ``op`` ``"<="`` or ``">="`` (see the module docstring).
        holdout: Share of the data held out for certification, in (0, 1); None: no certification, the
            best feasible candidate is refitted on all the data.
        delta: Allowed probability that the certified recommendation violates a per-sample constraint.
        n_certify: Candidates tested on the held-out split at most (best CV score first).
        optimizer: A guardopt `Optimizer` (default: ``GPOptimizer(seed=seed)``, the constrained GP).
        seed: Seed of the split and of the default optimizer.
        bound: The safety test's bound (``"ttest"``, or ``"hoeffding"``/``"bernstein"`` with ``ranges``).
        ranges: ``{constraint: (low, high)}`` known ranges of per-sample values, for Hoeffding/Bernstein.

    Attributes:
        best_params_, best_score_, best_index_: The released candidate's parameters, mean CV score and
            row in ``cv_results_`` (the best CV candidate when nothing passed, for diagnosis).
        best_estimator_: The released model (fitted on the search data, or on all data when
            ``holdout=None``), or None when no candidate was certified.
        certificate_: A `Certificate` (None when ``holdout=None``).
        holdout_score_: The released model's score on the held-out split (None without a holdout).
        cv_results_: Per-trial results in scikit-learn's layout, plus ``constraint_<name>`` (CV mean),
            ``feasible`` and ``state``.
        study_: The guardopt `Study`.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import LogisticRegression
        >>> import guardopt as go
        >>> from guardopt.integrations.sklearn import GuardedSearchCV, model_size_bytes
        >>> X, y = load_iris(return_X_y=True)
        >>> search = GuardedSearchCV(LogisticRegression(max_iter=500),
        ...                          {"C": go.Real(1e-3, 1e2, log=True)}, n_trials=6, cv=3,
        ...                          constraints={"size": (model_size_bytes, "<=", 10_000)},
        ...                          optimizer=go.RandomSearch(seed=0), seed=0).fit(X, y)
        >>> bool(search.certificate_), round(search.score(X, y), 2) > 0.8
        (True, True)
    """

    def __init__(self, estimator: Any, space: Space | Mapping[str, Parameter], *, n_trials: int = 20,
                 scoring: Any = None, cv: Any = 5, constraints: Mapping[str, tuple[ConstraintFn, str, float]] | None
                 = None, holdout: float | None = 0.25, delta: float = 0.05, n_certify: int = 3,
                 optimizer: Optimizer | None = None, seed: int | None = None, bound: str = "ttest",
                 ranges: Mapping[str, tuple[float, float]] | None = None) -> None:
        self.estimator = estimator
        self.space = space
        self.n_trials = n_trials
        self.scoring = scoring
        self.cv = cv
        self.constraints = constraints
        self.holdout = holdout
        self.delta = delta
        self.n_certify = n_certify
        self.optimizer = optimizer
        self.seed = seed
        self.bound = bound
        self.ranges = ranges

    # ---------------------------------------------------------------------------- validation

    def _checked(self) -> tuple[Space, dict[str, tuple[ConstraintFn, str, float]]]:
        space = self.space if isinstance(self.space, Space) else None
        if space is None:
            if not isinstance(self.space, Mapping):
                raise InvalidParameterError("space", _OWNER, "a guardopt Space or a mapping name -> parameter",
                                            self.space)
            space = Space(dict(self.space))
        check_int(self.n_trials, "n_trials", _OWNER, low=1)
        check_int(self.n_certify, "n_certify", _OWNER, low=1)
        check_in_range(self.delta, "delta", _OWNER, 0.0, 1.0)
        if self.holdout is not None:
            check_in_range(self.holdout, "holdout", _OWNER, 0.0, 1.0)
        if self.seed is not None:
            check_int(self.seed, "seed", _OWNER, low=0)
        if self.bound not in ("ttest", "hoeffding", "bernstein"):
            raise InvalidParameterError("bound", _OWNER, "'ttest', 'hoeffding' or 'bernstein'", self.bound)
        cons: dict[str, tuple[ConstraintFn, str, float]] = {}
        if self.constraints is not None and not isinstance(self.constraints, Mapping):
            raise InvalidParameterError("constraints", _OWNER, "None or a mapping name -> (fn, op, limit)",
                                        self.constraints)
        for name, spec in (self.constraints or {}).items():
            ok = (isinstance(spec, (tuple, list)) and len(spec) == 3 and callable(spec[0]) and spec[1] in ("<=", ">=")
                  and not isinstance(spec[2], bool) and isinstance(spec[2], (int, float)) and math.isfinite(spec[2]))
            if not ok:
                raise InvalidParameterError(f"constraints[{name!r}]", _OWNER,
                                            "a triple (fn(estimator, X, y), '<=' or '>=', finite limit)", spec)
            cons[str(name)] = (spec[0], spec[1], float(spec[2]))
        return space, cons

    # ---------------------------------------------------------------------------------- fit

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> GuardedSearchCV:
        """Split off the holdout, search on the rest, certify the best candidates, release one.

        Args:
            X: Training data, shape ``(n_samples, n_features)`` (anything the estimator accepts).
            y: Targets, shape ``(n_samples,)`` (or None for unsupervised estimators).
            **fit_params: Passed to the estimator's ``fit`` (row-aligned arrays are split with the data).

        Raises:
            GuardoptError: every trial failed (the first failure's reason is in the message).
        """
        from guardopt.bo import GPOptimizer

        space, cons = self._checked()
        X, y = indexable(X, y)
        n = _num_samples(X)
        if len(np.shape(X)) > 1:
            self.n_features_in_ = int(np.shape(X)[1])
        if self.holdout is not None:
            stratify = y if (is_classifier(self.estimator) and y is not None and _stratifiable(y, self.holdout)) \
                else None
            idx_search, idx_hold = train_test_split(np.arange(n), test_size=self.holdout, random_state=self.seed,
                                                    stratify=stratify)
        else:
            idx_search, idx_hold = np.arange(n), np.arange(0)
        Xs, ys = _safe_indexing(X, idx_search), _take(y, idx_search)
        cv = check_cv(self.cv, ys, classifier=is_classifier(self.estimator))
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)
        splits = list(cv.split(Xs, ys))
        self.n_splits_ = len(splits)
        # A copy: fit never changes its parameters, and a second fit repeats the first (same seed).
        optimizer = copy.deepcopy(self.optimizer) if self.optimizer is not None else GPOptimizer(seed=self.seed)
        first_error: list[BaseException] = []
        declared: dict[str, Any] = {k: (op, lim) for k, (_, op, lim) in cons.items()}
        study = Study(space, direction="maximize", constraints=declared, optimizer=optimizer)
        def objective(params: Mapping[str, Any]) -> Observation:
            try:
                return evaluate(params)
            except Exception as exc:
                first_error.append(exc)
                raise

        def evaluate(params: Mapping[str, Any]) -> Observation:
            scores: list[float] = []
            fit_times: list[float] = []
            cvals: dict[str, list[float]] = {k: [] for k in cons}
            for train, test in splits:
                est = clone(self.estimator).set_params(**params)
                start = time.perf_counter()
                est.fit(_safe_indexing(Xs, train), _take(ys, train), **_fit_params(fit_params, idx_search[train]))
                fit_times.append(time.perf_counter() - start)
                Xv, yv = _safe_indexing(Xs, test), _take(ys, test)
                scores.append(float(self.scorer_(est, Xv, yv)))
                for k, (fn, _, _) in cons.items():
                    cvals[k].append(_mean(fn(est, Xv, yv)))
            # The per-fold scores travel with the trial, so cv_results_ reads them back from the study.
            # A NaN or infinite constraint mean is left out: a missing value is a violation (fail closed),
            # and the trial stays a result rather than a failure.
            measured = {k: float(np.mean(v)) for k, v in cvals.items() if np.isfinite(np.mean(v))}
            return Observation(float(np.mean(scores)), measured,
                               {"split_test_scores": scores, "fit_time": float(np.mean(fit_times))})

        # Failures are tolerated trial by trial (scikit-learn's error_score=nan); if all fail, fit raises below.
        study.optimize(objective, n_trials=int(self.n_trials), catch=(Exception,), max_initial_failures=None)
        self.study_ = study
        trials = study.trials
        done = [t for t in trials if t.state is TrialState.COMPLETE]
        if not done:
            if first_error:
                # The estimator's own error (bad data is the estimator's to judge), said to be the first of all.
                first_error[0].add_note(f"{_OWNER}.fit: all {len(trials)} trials failed; this was the first failure.")
                raise first_error[0]
            reasons = [t.failure_reason for t in trials if t.failure_reason]
            raise GuardoptError(f"{_OWNER}.fit: all {len(trials)} trials failed; the first failure: "
                                f"{reasons[0] if reasons else 'unknown'}")
        self.cv_results_ = _cv_results(study, trials, self.n_splits_, list(cons))
        ranked = sorted((t for t in done if study.problem.is_feasible(t)), key=lambda t: -float(t.value or 0.0))
        best_cv = ranked[0] if ranked else max(done, key=lambda t: float(t.value or -math.inf))
        released: Trial | None = best_cv if ranked else None
        self.best_estimator_: Any = None
        self.certificate_: Certificate | None = None
        self.holdout_score_: float | None = None
        if self.holdout is None:
            if released is not None:
                self.best_estimator_ = self._fit_one(released.params, X, y, fit_params, np.arange(n))
        else:
            Xh, yh = _safe_indexing(X, idx_hold), _take(y, idx_hold)
            released, self.certificate_, model = self._certify(ranked[: int(self.n_certify)], cons, Xs, ys, Xh, yh,
                                                               fit_params, idx_search, len(idx_hold))
            self.best_estimator_ = model
            if model is not None:
                self.holdout_score_ = float(self.scorer_(model, Xh, yh))
        chosen = released if released is not None else best_cv
        self.best_index_ = [t.number for t in trials].index(chosen.number)
        self.best_params_ = dict(chosen.params)
        self.best_score_ = float(chosen.value) if chosen.value is not None else math.nan
        if self.best_estimator_ is not None and hasattr(self.best_estimator_, "classes_"):
            self.classes_ = self.best_estimator_.classes_
        return self

    def _fit_one(self, params: Mapping[str, Any], X: Any, y: Any, fit_params: Mapping[str, Any],
                 rows: np.ndarray) -> Any:
        est = clone(self.estimator).set_params(**params)
        return est.fit(X, y, **_fit_params(fit_params, rows))

    def _certify(self, candidates: Sequence[Trial], cons: Mapping[str, tuple[ConstraintFn, str, float]], Xs: Any,
                 ys: Any, Xh: Any, yh: Any, fit_params: Mapping[str, Any], idx_search: np.ndarray,
                 n_hold: int) -> tuple[Trial | None, Certificate, Any]:
        from guardopt.guards.safety import safety_test

        each = float(self.delta) / (int(self.n_certify) * max(len(cons), 1))
        tested = []
        for t in candidates:
            model = self._fit_one(t.params, Xs, ys, fit_params, idx_search)
            checks: dict[str, tuple[bool, float, float, str]] = {}
            for name, (fn, op, limit) in cons.items():
                raw = np.asarray(fn(model, Xh, yh), dtype=float)
                if raw.ndim == 0 or raw.size == 1:
                    v = float(raw.ravel()[0]) if raw.size else math.nan
                    ok = math.isfinite(v) and (v <= limit if op == "<=" else v >= limit)
                    checks[name] = (bool(ok), v, limit, f"measured {v:.6g} {'<=' if op == '<=' else '>='} {limit:g}"
                                    f" {'holds' if ok else 'fails'} (one number: no bound needed)")
                    continue
                # ">=" is tested as "-value <= -limit" with the same one-sided bound.
                sign = 1.0 if op == "<=" else -1.0
                low, high = (self.ranges or {}).get(name, (None, None))
                if sign < 0 and low is not None and high is not None:
                    low, high = -high, -low
                verdict = safety_test(sign * raw.ravel(), sign * limit, each, bound=self.bound,  # type: ignore[arg-type]
                                      low=low, high=high)
                checks[name] = (verdict.passed, sign * verdict.upper_bound, limit, verdict.reason)
            tested.append((t.number, checks))
            if all(c[0] for c in checks.values()):
                return t, Certificate(True, t.number, tuple(tested), float(self.delta), n_hold), model
        return None, Certificate(False, None, tuple(tested), float(self.delta), n_hold), None

    # ------------------------------------------------------------------------------ delegation

    def _released(self) -> Any:
        check_is_fitted(self, "cv_results_")
        if self.best_estimator_ is None:
            why = self.certificate_.reason if self.certificate_ is not None else "no feasible candidate"
            raise NoCertifiedModelError(f"{_OWNER}: no candidate was certified on the held-out split, so there is "
                                        f"no model to use ({why}).")
        return self.best_estimator_

    def _has(name: str) -> Callable[[Any], bool]:  # a decorator factory used in the class body
        def check(self: Any) -> bool:
            if hasattr(self, "best_estimator_") and self.best_estimator_ is not None:
                return hasattr(self.best_estimator_, name)
            return hasattr(self.estimator, name)

        return check

    @available_if(_has("predict"))
    def predict(self, X: Any) -> Any:
        """Predict with the released model (raises `NoCertifiedModelError` when nothing was certified)."""
        return self._released().predict(X)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """Class probabilities from the released model."""
        return self._released().predict_proba(X)

    @available_if(_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """Decision function of the released model."""
        return self._released().decision_function(X)

    @available_if(_has("transform"))
    def transform(self, X: Any) -> Any:
        """Transform with the released model."""
        return self._released().transform(X)

    def score(self, X: Any, y: Any = None) -> float:
        """The search's scorer applied to the released model on ``(X, y)``."""
        return float(self.scorer_(self._released(), X, y))

    def __getstate__(self) -> dict[str, Any]:
        # The study holds locks and storage connections; its results live on in cv_results_.
        state: dict[str, Any] = super().__getstate__()
        state.pop("study_", None)
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        sub = clone(self.estimator).__sklearn_tags__()
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = sub.classifier_tags
        tags.regressor_tags = sub.regressor_tags
        tags.target_tags = sub.target_tags
        tags.input_tags.sparse = sub.input_tags.sparse
        return tags


def _stratifiable(y: Any, holdout: float) -> bool:
    _, counts = np.unique(np.asarray(y), return_counts=True)
    n = int(counts.sum())
    return bool(counts.min() >= 2 and round(n * holdout) >= len(counts) and n - round(n * holdout) >= len(counts))


def _take(y: Any, idx: np.ndarray) -> Any:
    return None if y is None else _safe_indexing(y, idx)


def _fit_params(fit_params: Mapping[str, Any], rows: np.ndarray) -> dict[str, Any]:
    # Row-aligned fit parameters (e.g. sample_weight) follow the rows; others pass unchanged.
    out = {}
    for k, v in fit_params.items():
        out[k] = _safe_indexing(v, rows) if hasattr(v, "__len__") and not isinstance(v, (str, dict)) else v
    return out


def _mean(value: Any) -> float:
    arr = np.asarray(value, dtype=float)
    return float(arr.mean()) if arr.size else math.nan


def _cv_results(study: Study, trials: Sequence[Trial], n_splits: int, names: Sequence[str]) -> dict[str, Any]:
    """scikit-learn's ``cv_results_`` layout, one row per trial (a failed trial scores NaN)."""
    per_trial = [{"scores": t.user_attrs["split_test_scores"], "fit_time": t.user_attrs["fit_time"]}
                 if t.state is TrialState.COMPLETE and "split_test_scores" in t.user_attrs else None for t in trials]
    values = np.array([t.value if t.value is not None else math.nan for t in trials], dtype=float)
    out: dict[str, Any] = {"params": [dict(t.params) for t in trials]}
    keys = list(dict.fromkeys(k for t in trials for k in t.params))
    for k in keys:
        col = np.ma.masked_all(len(trials), dtype=object)
        for i, t in enumerate(trials):
            if k in t.params:
                col[i] = t.params[k]
        out[f"param_{k}"] = col
    for s in range(n_splits):
        out[f"split{s}_test_score"] = np.array([r["scores"][s] if r else math.nan for r in per_trial])
    out["mean_test_score"] = values
    out["std_test_score"] = np.array([np.std(r["scores"]) if r else math.nan for r in per_trial])
    out["mean_fit_time"] = np.array([r["fit_time"] if r else math.nan for r in per_trial])
    from scipy.stats import rankdata

    # scikit-learn's convention: ties share the lowest rank, failed trials rank last.
    out["rank_test_score"] = rankdata(-np.nan_to_num(values, nan=-np.inf), method="min").astype(np.int32)
    for k in names:
        out[f"constraint_{k}"] = np.array([t.constraints.get(k, math.nan) for t in trials], dtype=float)
    out["feasible"] = np.array([study.problem.is_feasible(t) for t in trials])
    out["state"] = np.array([t.state.value for t in trials])
    return out
