"""Cholesky factor, solves with it: the LAPACK routines that `scipy.linalg` calls, called directly.

`scipy.linalg.cholesky`, `cho_solve` and `solve_triangular` wrap LAPACK's ``potrf``, ``potrs`` and
``trtrs`` in batch handling, array-API conversion and shape checks that cost ~50 microseconds a call.
A GP fit makes thousands of these calls on matrices of a few dozen rows, where that overhead is
most of the time: on Branin (40 trials) the wrappers were ~15% of `GPOptimizer`'s time per
suggestion. The routines and their arguments are the ones scipy would use, so the results are the
same to the bit; callers pass finite, correctly shaped float64 arrays.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError
from scipy.linalg.lapack import dpotrf, dpotrs, dtrtrs


def cholesky_lower(k: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of the symmetric positive-definite ``k`` (n, n); `LinAlgError` when it is not."""
    c, info = dpotrf(k, lower=1, overwrite_a=0, clean=1)
    if info > 0:
        raise LinAlgError(f"{info}-th leading minor of the array is not positive definite")
    if info < 0:
        raise ValueError(f"illegal value in argument {-info} of LAPACK potrf")
    return np.asarray(c)


def cho_solve_lower(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``K^-1 b`` from the lower Cholesky factor ``chol`` of ``K``; ``b`` of shape (n,) or (n, m)."""
    x, info = dpotrs(chol, b, lower=1, overwrite_b=0)
    if info != 0:
        raise ValueError(f"illegal value in argument {-info} of LAPACK potrs")
    return np.asarray(x)


def solve_lower(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``L^-1 b`` for the lower-triangular ``chol`` (n, n) and ``b`` (n,) or (n, m)."""
    if chol.flags.f_contiguous:
        x, info = dtrtrs(chol, b, lower=1, trans=0, unitdiag=0, overwrite_b=0)
    else:  # trtrs expects Fortran order: solve the transposed system, as scipy does
        x, info = dtrtrs(chol.T, b, lower=0, trans=1, unitdiag=0, overwrite_b=0)
    if info > 0:
        raise LinAlgError(f"singular matrix: resolution failed at diagonal {info - 1}")
    if info < 0:
        raise ValueError(f"illegal value in argument {-info} of LAPACK trtrs")
    return np.asarray(x)
