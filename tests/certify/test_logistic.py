"""The scipy logistic regression: agrees with scikit-learn, correct gradients, parity penalty."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from guardopt.certify import LogisticRegression
from guardopt.core.errors import InputDataError, InvalidParameterError


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    g = (rng.random(n) < 0.4).astype(int)
    X[:, 0] += g
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ [1.0, -0.5, 0.3, 0.0] + 0.2)))).astype(int)
    return X, y, g


def test_matches_sklearn():
    from sklearn.linear_model import LogisticRegression as Sk

    X, y, _ = data()
    l2 = 0.01
    ours = LogisticRegression(l2=l2).fit(X, y)
    sk = Sk(C=1.0 / (l2 * len(y)), tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, sk.coef_.ravel(), atol=1e-4)
    assert ours.intercept_ == pytest.approx(float(sk.intercept_[0]), abs=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-5)


def test_gradient_with_parity_penalty():
    X, y, g = data(80)
    clf = LogisticRegression(l2=0.1, parity_penalty=5.0)
    masks = (g == 0, g == 1)
    w = np.linspace(0.5, 2.0, len(y))
    theta = np.random.default_rng(1).normal(size=5)
    err = optimize.check_grad(lambda t: clf._objective(t, X, y.astype(float), w, masks)[0],
                              lambda t: clf._objective(t, X, y.astype(float), w, masks)[1], theta)
    assert err < 1e-5


def test_parity_penalty_shrinks_the_gap():
    X, y, g = data(1000)

    def gap(clf):
        p = clf.predict_proba(X)[:, 1]
        return abs(p[g == 0].mean() - p[g == 1].mean())

    plain = LogisticRegression().fit(X, y)
    fair = LogisticRegression(parity_penalty=100.0).fit(X, y, groups=g)
    assert gap(fair) < 0.25 * gap(plain)


def test_sample_weight_equals_repetition():
    X, y, _ = data(50)
    w = np.random.default_rng(2).integers(1, 4, 50)
    a = LogisticRegression().fit(X, y, sample_weight=w)
    b = LogisticRegression().fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.theta_, b.theta_, atol=1e-5)


def test_errors():
    X, y, _ = data(20)
    with pytest.raises(InvalidParameterError, match="'l2' parameter of LogisticRegression"):
        LogisticRegression(l2=-1.0)
    with pytest.raises(InputDataError, match="groups"):
        LogisticRegression(parity_penalty=1.0).fit(X, y)
    with pytest.raises(InputDataError, match="NaN"):
        LogisticRegression().fit(np.full_like(X, np.nan), y)
    with pytest.raises(InputDataError, match="not fitted"):
        LogisticRegression().predict(X)
    with pytest.raises(InputDataError, match="only 0 and 1"):
        LogisticRegression().fit(X, y + 1)
