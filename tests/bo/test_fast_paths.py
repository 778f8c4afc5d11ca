"""The GP's fast paths give the same bits as the library calls they replace.

`guardopt.bo.linalg` calls LAPACK directly instead of `scipy.linalg`'s wrappers, and the polish of
the acquisition uses a scalar `_log_h`: both exist for speed alone, so any difference in the last
bit (which would change every benchmark trajectory) is a failure.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import LinAlgError, cho_solve, cholesky, solve_triangular

from guardopt.bo.acquisition import _log_h, _log_h_scalar, log_ei_grad
from guardopt.bo.linalg import cho_solve_lower, cholesky_lower, solve_lower


@pytest.mark.parametrize("n", [1, 4, 37])
def test_lapack_calls_match_scipy_to_the_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    a = rng.normal(size=(n, n))
    k = a @ a.T + n * np.eye(n)
    chol = cholesky_lower(k)
    assert np.array_equal(chol, cholesky(k, lower=True, check_finite=False))
    assert np.array_equal(np.triu(chol, 1), np.zeros((n, n)))  # the upper triangle is cleaned
    for b in (rng.normal(size=n), rng.normal(size=(n, 3)), np.eye(n)):
        assert np.array_equal(cho_solve_lower(chol, b), cho_solve((chol, True), b, check_finite=False))
        for c in (chol, np.ascontiguousarray(chol)):  # Fortran order (potrf's) and C order
            assert np.array_equal(solve_lower(c, b), solve_triangular(c, b, lower=True, check_finite=False))


def test_solves_are_solves() -> None:
    k = np.array([[4.0, 2.0], [2.0, 3.0]])
    chol = cholesky_lower(k)  # [[2, 0], [1, sqrt 2]]
    np.testing.assert_allclose(chol, [[2.0, 0.0], [1.0, math.sqrt(2.0)]], rtol=1e-15)
    np.testing.assert_allclose(cho_solve_lower(chol, np.array([8.0, 7.0])), [1.25, 1.5], rtol=1e-14)
    np.testing.assert_allclose(solve_lower(chol, np.array([2.0, 1.0 + math.sqrt(2.0)])), [1.0, 1.0], rtol=1e-14)


def test_non_positive_definite_raises_linalg_error() -> None:
    with pytest.raises(LinAlgError):
        cholesky_lower(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError):  # the same class: callers catch numpy's
        cholesky_lower(np.array([[-1.0]]))
    with pytest.raises(LinAlgError):
        solve_lower(np.array([[0.0, 0.0], [1.0, 1.0]]), np.ones(2))


def test_scalar_log_h_matches_the_array_version_to_the_bit() -> None:
    rng = np.random.default_rng(0)
    edges = [-25.0, 25.0, np.nextafter(-25.0, -30.0), np.nextafter(25.0, 0.0), 0.0, -0.0, 1e-300, -1e-300,
             -37.5, 37.5, -1e6, 1e6, 8.3, -8.3]
    zs = np.concatenate([rng.uniform(-40.0, 40.0, 20_000), rng.normal(0.0, 3.0, 20_000), edges])
    with np.errstate(all="ignore"):
        for z in zs:
            value, slope = _log_h(np.array(z))
            assert _log_h_scalar(float(z)) == (float(value), float(slope)), z
        nan_value, nan_slope = _log_h_scalar(math.nan)
    assert math.isnan(nan_value) and math.isnan(nan_slope)


def test_log_ei_grad_against_a_hand_computed_value() -> None:
    # z = (best - mu) / sigma = 1: h(1) = phi(1) + Phi(1) = 0.2419707245 + 0.8413447461 = 1.0833154706
    value, d_mu, d_sigma = log_ei_grad(0.0, 2.0, 2.0)
    assert value == pytest.approx(math.log(2.0) + math.log(1.0833154706), rel=1e-9)
    assert d_mu == pytest.approx(-0.8413447461 / 1.0833154706 / 2.0, rel=1e-9)
    assert d_sigma == pytest.approx(0.2419707245 / 1.0833154706 / 2.0, rel=1e-9)
