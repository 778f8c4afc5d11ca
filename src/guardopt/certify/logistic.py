"""L2-regularised logistic regression fitted with scipy, with an optional parity penalty.

A scikit-learn-style estimator (``fit`` / ``predict_proba`` / ``predict`` / ``coef_`` /
``intercept_``) whose parameters are one flat vector ``theta = (coef, intercept)``, so the
Seldonian search can hand candidate parameters around. The objective (weighted mean over rows) is

    mean_i w_i log(1 + exp(-s_i (x_i·coef + b))) / mean(w)  +  l2/2 ||coef||²
        +  parity_penalty · (p̄_a − p̄_b)²,

with ``s_i = ±1`` the label, ``p̄_g`` the mean predicted probability in group ``g`` (weighted), and
the intercept not regularised. The parity term is the usual Lagrangian-style fairness penalty on the
*soft* positive rates; with ``parity_penalty = 0`` this is plain logistic regression.
Gradients are analytic; L-BFGS-B does the fitting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize, special

from guardopt.certify.columns import as_column, distinct, equal_mask
from guardopt.core.errors import InputDataError, as_float_array, check_in_range, check_int


class LogisticRegression:
    """Binary logistic regression (labels 0/1).

    Args:
        l2: L2 penalty on the coefficients (not the intercept), ``>= 0``.
        parity_penalty: Weight of the squared gap in mean predicted probability between the two
            groups given to `fit` as ``groups``, ``>= 0``.
        max_iter: L-BFGS-B iterations.
        tol: L-BFGS-B gradient tolerance.

    Attributes (after `fit`):
        coef_: ``(d,)``; intercept_: float; classes_: ``array([0, 1])``; n_iter_: int.
    """

    def __init__(self, l2: float = 1e-3, parity_penalty: float = 0.0, max_iter: int = 500,
                 tol: float = 1e-7) -> None:
        self.l2 = check_in_range(l2, "l2", "LogisticRegression", 0.0, low_open=False)
        self.parity_penalty = check_in_range(parity_penalty, "parity_penalty", "LogisticRegression", 0.0,
                                             low_open=False)
        self.max_iter = check_int(max_iter, "max_iter", "LogisticRegression", 1)
        self.tol = check_in_range(tol, "tol", "LogisticRegression", 0.0)
        self.classes_ = np.array([0, 1])

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (scikit-learn convention)."""
        return {"l2": self.l2, "parity_penalty": self.parity_penalty, "max_iter": self.max_iter, "tol": self.tol}

    # -------------------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None,
            theta0: Any = None) -> LogisticRegression:
        """Fit on ``X`` ``(n, d)``, labels ``y`` ``(n,)`` in {0, 1}.

        Args:
            X: Features.
            y: Labels.
            sample_weight: Optional non-negative weights ``(n,)``.
            groups: ``(n,)`` group labels with two values; needed when ``parity_penalty > 0``.
            theta0: Optional warm start ``(d + 1,)``.
        """
        X, y, w = _check_xy(X, y, sample_weight)
        d = X.shape[1]
        masks: tuple[np.ndarray, np.ndarray] | None = None
        if self.parity_penalty > 0:
            if groups is None:
                raise InputDataError("LogisticRegression with parity_penalty > 0 needs groups= in fit().")
            g = as_column(groups)
            values = distinct(g) if g.ndim == 1 else []
            if g.shape != y.shape or len(values) != 2:
                raise InputDataError(f"groups must be ({len(y)},) with two values. Got values {values!r}.")
            masks = (equal_mask(g, values[0]), equal_mask(g, values[1]))
        # a NaN warm start made L-BFGS-B return a NaN "fit" silently
        x0 = np.zeros(d + 1) if theta0 is None else as_float_array(theta0, "theta0", "LogisticRegression.fit",
                                                                   finite=True).copy()
        if x0.shape != (d + 1,):
            raise InputDataError(f"theta0 must have shape ({d + 1},). Got {x0.shape} instead.")
        res = optimize.minimize(self._objective, x0, args=(X, y, w, masks), jac=True, method="L-BFGS-B",
                                options={"maxiter": self.max_iter, "gtol": self.tol})
        self.set_theta(res.x)
        self.n_iter_ = int(res.nit)
        return self

    def _objective(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray, w: np.ndarray,
                   masks: tuple[np.ndarray, np.ndarray] | None) -> tuple[float, np.ndarray]:
        coef, b = theta[:-1], theta[-1]
        z = X @ coef + b
        sign = 2.0 * y - 1.0
        wn = w / w.sum()
        loss = float(np.dot(wn, np.logaddexp(0.0, -sign * z))) + 0.5 * self.l2 * float(coef @ coef)
        # d/dz log(1 + exp(-s z)) = -s * sigmoid(-s z)
        dz = wn * (-sign * special.expit(-sign * z))
        if masks is not None:
            p = special.expit(z)
            wa, wb = w * masks[0], w * masks[1]
            gap = float(np.dot(wa, p) / wa.sum() - np.dot(wb, p) / wb.sum())
            loss += self.parity_penalty * gap * gap
            dgap = p * (1.0 - p) * (wa / wa.sum() - wb / wb.sum())
            dz = dz + 2.0 * self.parity_penalty * gap * dgap
        grad = np.empty_like(theta)
        grad[:-1] = X.T @ dz + self.l2 * coef
        grad[-1] = dz.sum()
        return loss, grad

    # -------------------------------------------------------------------------- parameters
    @property
    def theta_(self) -> np.ndarray:
        """Flat parameters ``(coef..., intercept)``, shape ``(d + 1,)``."""
        self._check_fitted()
        return np.append(self.coef_, self.intercept_)

    def set_theta(self, theta: Any) -> LogisticRegression:
        """Set ``coef_`` and ``intercept_`` from a flat vector ``(d + 1,)``."""
        # [] was an IndexError, NaN a model whose labels 1[NaN >= 0] all read 0.
        t = as_float_array(theta, "theta", "LogisticRegression.set_theta", finite=True, min_size=1).ravel()
        self.coef_ = t[:-1].copy()
        self.intercept_ = float(t[-1])
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise InputDataError("This LogisticRegression is not fitted yet; call fit() first.")

    # -------------------------------------------------------------------------- prediction
    def decision_function(self, X: Any) -> np.ndarray:
        """Scores ``x·coef + b``, shape ``(n,)``."""
        self._check_fitted()
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.coef_.shape[0]:
            raise InputDataError(f"X must have shape (n, {self.coef_.shape[0]}). Got {X.shape} instead.")
        return np.asarray(X @ self.coef_ + self.intercept_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, 2)``."""
        p = special.expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``1[score >= 0]``, shape ``(n,)``."""
        return (self.decision_function(X) >= 0).astype(int)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


def _check_xy(X: Any, y: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = as_float_array(X, "X", "LogisticRegression.fit")  # strings: our error, not numpy's
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise InputDataError(f"X must be (n, d) and y (n,). Got X {X.shape} and y {y.shape}.")
    if not np.isfinite(X).all():
        raise InputDataError("X contains NaN or infinite values.")
    if not np.isin(y, (0, 1)).all():
        raise InputDataError("y must contain only 0 and 1.")
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != y.shape or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise InputDataError("sample_weight must be (n,), finite, non-negative and not all zero.")
    return X, y.astype(float), w
