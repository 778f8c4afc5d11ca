"""The model class every audit computation shares: L2-regularised logistic regression.

The penalised empirical loss (scikit-learn's, divided by the sample count)::

    L(w, b) = (1/n) Σ_i log(1 + exp(-s_i (x_i·w + b))) + ||w||² / (2 C n),    s_i = 2 y_i - 1,

with the intercept ``b`` unpenalised. ``C`` is scikit-learn's inverse regularisation strength, so
`fit` returns the same model as ``LogisticRegression(C=C)`` and the ε-level set of
`guardopt.audit.multiplicity` is a level set of the very loss that scikit-learn minimises.
Parameters are one vector ``theta = (w, b)`` of shape ``(d + 1,)``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import expit

__all__ = ["design", "fit", "penalized_loss", "predict_proba"]


def design(X: np.ndarray) -> np.ndarray:
    """``[X, 1]``: the features with a column of ones for the intercept, shape ``(n, d + 1)``."""
    return np.hstack([X, np.ones((X.shape[0], 1))])


def penalized_loss(theta: np.ndarray, X: np.ndarray, y: np.ndarray, C: float) -> float:
    """``L(theta)`` of the module docstring on ``X (n, d)``, ``y (n,)`` in {0, 1}."""
    z = design(X) @ theta
    s = 2.0 * y - 1.0
    return float(np.mean(np.logaddexp(0.0, -s * z)) + theta[:-1] @ theta[:-1] / (2.0 * C * X.shape[0]))


def predict_proba(theta: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``P(y = 1 | x)`` for each row of ``X (n, d)``, shape ``(n,)``; ``theta`` may be ``(k, d + 1)``
    for ``k`` models at once (then shape ``(k, n)``)."""
    return np.asarray(expit(np.asarray(theta) @ design(X).T), dtype=float)


def fit(X: np.ndarray, y: np.ndarray, C: float, sample_weight: np.ndarray | None = None,
        warm_start: np.ndarray | None = None, tol: float = 1e-10) -> np.ndarray:
    """The minimiser of the (weighted) penalised loss, by scikit-learn's L-BFGS at a tight tolerance.

    Args:
        X: Features ``(n, d)``. y: Labels ``(n,)`` in {0, 1}. C: Inverse regularisation strength.
        sample_weight: ``(n,)`` non-negative weights summing to ``n`` (a bootstrap's counts).
        warm_start: ``theta`` to start from (a bootstrap refit starts at the full-data fit).
        tol: L-BFGS tolerance (tight for ``theta₀``, whose loss defines the level set).

    Returns:
        ``theta`` of shape ``(d + 1,)``.
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, tol=tol, max_iter=5000, warm_start=warm_start is not None)
    if warm_start is not None:
        model.coef_ = np.asarray(warm_start[:-1], dtype=float).reshape(1, -1).copy()
        model.intercept_ = np.asarray(warm_start[-1:], dtype=float).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at 1e-10 is about the last digits only
        model.fit(X, y.astype(int), sample_weight=sample_weight)
    return np.concatenate([model.coef_.ravel(), model.intercept_.ravel()])
