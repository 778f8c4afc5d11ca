"""Sequences of sparse linear systems, and the iterative solvers whose parameter is tuned on them.

This module is *problem infrastructure* for the solver-tuning bandits (`guardopt.bandits.solver_tuner`):
it holds no learning code. It provides

* `sor_solve`: Successive Over-Relaxation, ``x_{k+1} = x_k + (D/ω + L)^{-1} (b - A x_k)``,
  counting iterations until ``‖b - A x_k‖ / ‖b - A x_0‖ < tol`` (or an iteration cap);
* `ssor_pcg`: conjugate gradient preconditioned by symmetric SOR (SSOR);
* `jacobi_spectral_radius` and `optimal_sor_omega` (Young's formula for the instance-optimal ω);
* `ShiftedLaplacian`: the instance generator of Khodak et al. (2024): ``A_t = A + c_t I`` with ``A`` a
  2-D five-point Laplacian, a random diagonal offset ``c_t`` (the *context*) and a radially
  truncated Gaussian right-hand side;
* `CostTable` / `build_cost_table`: SOR iteration counts for many instances and a grid of ω, computed
  once (with a batched, level-scheduled SOR that gives the same counts as `sor_solve`) so that long
  sequences of i.i.d. instances can be replayed cheaply. Tables can be cached on disk.

Reference:
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. "Learning to Relax: Setting Solver Parameters
    Across a Sequence of Linear System Instances." ICLR 2024, arXiv:2310.02246.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.core.seeding import SeedLike, make_rng

__all__ = [
    "CONTEXT_DISTRIBUTIONS",
    "CostTable",
    "ShiftedLaplacian",
    "SolveResult",
    "build_cost_table",
    "jacobi_spectral_radius",
    "laplacian_2d",
    "optimal_sor_omega",
    "sor_iteration_counts",
    "sor_solve",
    "ssor_pcg",
    "young_omega",
]

#: Beta(a, b) parameters of the two offset distributions of the paper: ``c = low + width * Beta(a, b)``.
CONTEXT_DISTRIBUTIONS: dict[str, tuple[float, float]] = {
    "high-variance": (0.5, 1.5),
    "low-variance": (2.0, 6.0),
}


@dataclass(frozen=True)
class SolveResult:
    """The outcome of an iterative solve.

    Attributes:
        x: The last iterate, shape ``(n,)``.
        iterations: Iterations performed (0 when the initial guess already solves the system).
        converged: Whether the tolerance was reached within the iteration cap.
        relative_residual: ``‖b - A x‖ / ‖b - A x_0‖`` (SOR) or ``‖b - A x‖ / ‖b‖`` (PCG) at exit.
    """

    x: np.ndarray
    iterations: int
    converged: bool
    relative_residual: float


# ---------------------------------------------------------------------------------------------------
# Matrices and spectral quantities
# ---------------------------------------------------------------------------------------------------


def laplacian_2d(m: int) -> sp.csr_matrix:
    """The 2-D five-point Laplacian on an ``m x m`` grid of interior points (Dirichlet boundary).

    Diagonal 4, off-diagonals -1, natural (lexicographic) ordering; the same matrix as MATLAB's
    ``delsq(numgrid('S', m + 2))``.

    Returns:
        A sparse symmetric positive definite matrix of shape ``(m*m, m*m)``.
    """
    m = check_int(m, "m", "laplacian_2d", low=1)
    one_d = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m), format="csr", dtype=float)
    eye = sp.identity(m, format="csr", dtype=float)
    return sp.csr_matrix(sp.kron(eye, one_d) + sp.kron(one_d, eye))


def jacobi_spectral_radius(A: sp.spmatrix | sp.sparray | np.ndarray) -> float:
    """Spectral radius ``β = ρ(I - D^{-1} A)`` of the Jacobi iteration matrix.

    For a symmetric ``A`` with a positive diagonal, ``I - D^{-1} A`` is similar to the symmetric
    ``I - D^{-1/2} A D^{-1/2}``, whose eigenvalues are computed with a symmetric solver; otherwise a
    general eigenvalue solver is used. Dense computation: meant for small systems (``n`` up to a few
    thousand).
    """
    dense = _as_csr(A, "jacobi_spectral_radius").toarray()
    diag = np.diag(dense)
    if np.any(diag == 0):
        raise InputDataError("The Jacobi iteration needs a nonzero diagonal.")
    if np.allclose(dense, dense.T) and np.all(diag > 0):
        s = 1.0 / np.sqrt(diag)
        eig = np.linalg.eigvalsh(np.eye(len(diag)) - (s[:, None] * dense * s[None, :]))
    else:
        eig = np.linalg.eigvals(np.eye(len(diag)) - dense / diag[:, None])
    return float(np.max(np.abs(eig)))


def young_omega(beta: float | np.ndarray) -> float | np.ndarray:
    """Young's optimal relaxation ``ω* = 1 + (β / (1 + sqrt(1 - β²)))²`` for a Jacobi radius ``β < 1``.

    Exact for consistently ordered matrices (e.g. the five-point Laplacian in natural ordering, with
    any diagonal shift), where SOR's asymptotic convergence rate is then ``ω* - 1``.
    """
    b = np.asarray(beta, dtype=float)
    if np.any(~np.isfinite(b)) or np.any(b < 0) or np.any(b >= 1):
        raise InputDataError(f"Young's formula needs a Jacobi spectral radius in [0, 1). Got {beta!r} instead.")
    out = 1.0 + (b / (1.0 + np.sqrt(1.0 - b * b))) ** 2
    return float(out) if out.ndim == 0 else out


def optimal_sor_omega(A: sp.spmatrix | sp.sparray | np.ndarray) -> float:
    """The instance-optimal SOR parameter of ``A`` from its Jacobi spectral radius (Young's formula)."""
    return float(young_omega(jacobi_spectral_radius(A)))


# ---------------------------------------------------------------------------------------------------
# Solvers
# ---------------------------------------------------------------------------------------------------


def sor_solve(
    A: sp.spmatrix | sp.sparray | np.ndarray,
    b: np.ndarray,
    omega: float,
    *,
    x0: np.ndarray | None = None,
    tol: float = 1e-8,
    max_iter: int = 10_000,
) -> SolveResult:
    """Solve ``A x = b`` by Successive Over-Relaxation and count the iterations.

    One iteration is ``x ← x + (D/ω + L)^{-1} (b - A x)`` where ``D`` is the diagonal and ``L`` the
    strictly lower triangle of ``A``. ``ω = 1`` is Gauss–Seidel. The triangular solve uses a sparse
    LU factorization of the (already triangular) ``D/ω + L`` in natural order with diagonal pivoting,
    which amounts to a sparse forward substitution without fill-in, computed once per call.

    The run stops at the first iteration ``k`` with ``‖b - A x_k‖ < tol · ‖b - A x_0‖`` (the
    criterion of the paper's code) or after ``max_iter`` iterations.

    Args:
        A: Square matrix, shape ``(n, n)``, with a nonzero diagonal.
        b: Right-hand side, shape ``(n,)``.
        omega: Relaxation parameter in ``(0, 2)``.
        x0: Initial guess, shape ``(n,)``; zeros by default.
        tol: Relative residual tolerance, in ``(0, 1)``.
        max_iter: Iteration cap (the paper uses 10,000).

    Returns:
        A `SolveResult`; ``iterations == max_iter`` and ``converged=False`` when the cap is hit.
    """
    csr = _as_csr(A, "sor_solve")
    n = csr.shape[0]
    rhs = _as_vector(b, n, "b")
    omega = check_in_range(omega, "omega", "sor_solve", 0.0, 2.0)
    tol = check_in_range(tol, "tol", "sor_solve", 0.0, 1.0)
    max_iter = check_int(max_iter, "max_iter", "sor_solve", low=1)
    x = np.zeros(n) if x0 is None else _as_vector(x0, n, "x0").copy()
    diag = csr.diagonal()
    if np.any(diag == 0):
        raise InputDataError("SOR needs a nonzero diagonal.")
    lower = _triangular_solver(sp.diags(diag / omega) + sp.tril(csr, -1))
    r = rhs - csr @ x
    norm0 = float(np.linalg.norm(r))
    if norm0 == 0.0:
        return SolveResult(x, 0, True, 0.0)
    threshold = tol * norm0
    norm = norm0
    for k in range(1, max_iter + 1):
        x += lower(r)
        r = rhs - csr @ x
        norm = float(np.linalg.norm(r))
        if norm < threshold:
            return SolveResult(x, k, True, norm / norm0)
        if not math.isfinite(norm):
            break
    return SolveResult(x, max_iter, False, norm / norm0)


def ssor_pcg(
    A: sp.spmatrix | sp.sparray | np.ndarray,
    b: np.ndarray,
    omega: float,
    *,
    x0: np.ndarray | None = None,
    tol: float = 1e-8,
    max_iter: int = 10_000,
) -> SolveResult:
    """Conjugate gradient preconditioned by symmetric SOR, counting iterations.

    The preconditioner is ``P = ω/(2-ω) · (D/ω + U) D^{-1} (D/ω + L)`` (the factor order of the paper's
    code; for symmetric ``A`` it is symmetric positive definite for ``ω`` in ``(0, 2)``), applied with
    two sparse triangular solves. CG itself is `scipy.sparse.linalg.cg`, which stops when
    ``‖b - A x‖ ≤ tol · ‖b‖``.

    Args:
        A: Symmetric positive definite matrix, shape ``(n, n)``.
        b: Right-hand side, shape ``(n,)``.
        omega: Relaxation parameter in ``(0, 2)``.
        x0: Initial guess, shape ``(n,)``; zeros by default.
        tol: Relative residual tolerance (relative to ``‖b‖``), in ``(0, 1)``.
        max_iter: Iteration cap.
    """
    csr = _as_csr(A, "ssor_pcg")
    n = csr.shape[0]
    rhs = _as_vector(b, n, "b")
    omega = check_in_range(omega, "omega", "ssor_pcg", 0.0, 2.0)
    tol = check_in_range(tol, "tol", "ssor_pcg", 0.0, 1.0)
    max_iter = check_int(max_iter, "max_iter", "ssor_pcg", low=1)
    x_init = np.zeros(n) if x0 is None else _as_vector(x0, n, "x0").copy()
    diag = csr.diagonal()
    if np.any(diag <= 0):
        raise InputDataError("SSOR-preconditioned CG needs a positive diagonal.")
    upper = _triangular_solver(sp.diags(diag / omega) + sp.triu(csr, 1))
    lower = _triangular_solver(sp.diags(diag / omega) + sp.tril(csr, -1))
    scale = (2.0 - omega) / omega

    def apply_inverse(r: np.ndarray) -> np.ndarray:
        # P^{-1} r = (2-ω)/ω · (D/ω + L)^{-1} D (D/ω + U)^{-1} r
        return scale * lower(diag * upper(np.ravel(r)))

    precond = spla.LinearOperator((n, n), matvec=apply_inverse, dtype=float)
    count = [0]

    def callback(_: np.ndarray) -> None:
        count[0] += 1

    bnorm = float(np.linalg.norm(rhs))
    if bnorm == 0.0:
        return SolveResult(np.zeros(n), 0, True, 0.0)
    x, info = spla.cg(csr, rhs, x0=x_init, rtol=tol, atol=0.0, maxiter=max_iter, M=precond, callback=callback)
    rel = float(np.linalg.norm(rhs - csr @ x)) / bnorm
    return SolveResult(np.asarray(x), count[0], info == 0, rel)


def sor_iteration_counts(
    base: sp.spmatrix | sp.sparray | np.ndarray,
    shifts: np.ndarray,
    omegas: np.ndarray,
    rhs: np.ndarray,
    *,
    tol: float = 1e-8,
    max_iter: int = 10_000,
) -> np.ndarray:
    """SOR iteration counts for many systems ``(base + shifts[s] I) x = rhs[:, s]`` at once.

    Gives the same counts as calling `sor_solve` (zero initial guess) on each system, but advances all
    systems together: it iterates the residual ``r ← r - A (D/ω + L)^{-1} r`` and performs the forward
    substitution level by level (rows whose lower-triangle dependencies are all in earlier levels are
    solved together across every system), so the cost per sweep is a few vectorized operations per
    level instead of one Python-level solve per system. Converged systems are dropped as they finish.

    Rounding differs from `sor_solve` (the residual is updated, not recomputed), which can move a count
    by one iteration when a residual lands within rounding of the threshold.

    Args:
        base: Square matrix ``A0``, shape ``(n, n)``.
        shifts: Diagonal offsets, shape ``(S,)``.
        omegas: Relaxation parameters in ``(0, 2)``, shape ``(S,)``.
        rhs: Right-hand sides, shape ``(n, S)``.
        tol: Relative residual tolerance.
        max_iter: Iteration cap; systems that do not converge get ``max_iter``.

    Returns:
        Iteration counts, shape ``(S,)``, integers.
    """
    csr = _as_csr(base, "sor_iteration_counts")
    n = csr.shape[0]
    c = np.asarray(shifts, dtype=float).ravel()
    w = np.asarray(omegas, dtype=float).ravel()
    B = np.asarray(rhs, dtype=float)
    if B.ndim != 2 or B.shape != (n, c.size) or w.size != c.size:
        raise InputDataError(
            f"Expected shifts (S,), omegas (S,) and rhs (n={n}, S) with one S. "
            f"Got shifts {c.shape}, omegas {w.shape} and rhs {B.shape} instead."
        )
    if np.any(~(w > 0) | ~(w < 2)):
        raise InputDataError("Every omega must lie in (0, 2).")
    tol = check_in_range(tol, "tol", "sor_iteration_counts", 0.0, 1.0)
    max_iter = check_int(max_iter, "max_iter", "sor_iteration_counts", low=1)
    diag = csr.diagonal()[:, None] + c[None, :]  # (n, S)
    if np.any(diag == 0):
        raise InputDataError("SOR needs a nonzero diagonal.")
    # Renumber the unknowns level by level so that every level is a contiguous block of rows (views,
    # not copies, in the sweep below). Dependencies still point to earlier levels only.
    lower_original = sp.csr_matrix(sp.tril(csr, -1))
    groups = _levels(lower_original)
    perm = np.concatenate(groups)
    csr = sp.csr_matrix(csr[perm][:, perm])
    strict_lower = sp.csr_matrix(lower_original[perm][:, perm])
    bounds = np.cumsum([0] + [len(g) for g in groups])
    slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    # A level only depends on earlier levels: keep just those columns of its rows.
    blocks = [sp.csr_matrix(strict_lower[s][:, : s.start]) for s in slices]
    diag = diag[perm]
    B = B[perm]

    counts = np.full(c.size, max_iter, dtype=np.int64)
    active = np.arange(c.size)
    R = B.copy()
    thresh2 = (tol**2) * np.einsum("ij,ij->j", R, R)
    counts[thresh2 == 0.0] = 0
    keep = thresh2 > 0.0
    active, thresh2 = active[keep], thresh2[keep]
    R = np.ascontiguousarray(R[:, keep])
    inv_d = np.ascontiguousarray(w[None, active] / diag[:, active])  # ω / d_i, shape (n, S_active)
    shift = c[active]
    Y = np.zeros_like(R)
    live = np.ones(active.size, dtype=bool)
    for k in range(1, max_iter + 1):
        if not live.any():
            break
        for rows, block in zip(slices, blocks):
            if rows.start == 0:
                Y[rows] = R[rows] * inv_d[rows]
            else:
                Y[rows] = (R[rows] - block @ Y[: rows.start]) * inv_d[rows]
        R -= csr @ Y + Y * shift[None, :]
        norms2 = np.einsum("ij,ij->j", R, R)
        newly = live & ((norms2 < thresh2) | ~np.isfinite(norms2))
        if newly.any():
            counts[active[newly & np.isfinite(norms2)]] = k
            live &= ~newly
            # Copying the arrays is what dropping costs, so finished systems are dropped in batches.
            if 4 * (live.size - np.count_nonzero(live)) >= live.size:
                # (contiguous copies: scipy's sparse @ dense would otherwise copy on every call)
                active, thresh2, shift = active[live], thresh2[live], shift[live]
                R, Y, inv_d = (np.ascontiguousarray(M[:, live]) for M in (R, Y, inv_d))
                live = np.ones(active.size, dtype=bool)
    return counts


# ---------------------------------------------------------------------------------------------------
# The instance generator
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftedLaplacian:
    """I.i.d. linear systems ``(A + c_t I) x = b_t`` with a 2-D Laplacian ``A`` (Khodak et al., §5).

    The context is the offset ``c_t = offset_low + offset_width · Beta(a, b)`` with ``(a, b)`` =
    ``(0.5, 1.5)`` ("high-variance") or ``(2, 6)`` ("low-variance"); the right-hand side ``b_t`` is a
    standard Gaussian in ``R^n`` conditioned on ``‖b_t‖ ≤ sqrt(n)`` (rejection sampling).

    Attributes:
        grid_size: Interior grid points per side ``m``; the systems have ``n = m²`` unknowns (the paper
            uses ``m = 10``, i.e. ``numgrid('S', 12)``).
        distribution: "high-variance" or "low-variance".
        offset_low: Left end of the offset's support.
        offset_width: Width of the offset's support.
    """

    grid_size: int = 10
    distribution: Literal["high-variance", "low-variance"] = "high-variance"
    offset_low: float = -0.15
    offset_width: float = 0.6

    def __post_init__(self) -> None:
        check_int(self.grid_size, "grid_size", "ShiftedLaplacian", low=2)
        check_choice(self.distribution, "distribution", "ShiftedLaplacian", CONTEXT_DISTRIBUTIONS)
        check_in_range(self.offset_width, "offset_width", "ShiftedLaplacian", 0.0)
        low = check_in_range(self.offset_low, "offset_low", "ShiftedLaplacian")
        if low + float(np.min(self.base_eigenvalues)) <= 0:
            raise InvalidParameterError(
                "offset_low", "ShiftedLaplacian", "large enough to keep A + c I positive definite", low
            )

    @property
    def n(self) -> int:
        """Number of unknowns ``m²``."""
        return self.grid_size**2

    @property
    def context_range(self) -> tuple[float, float]:
        """The support ``[low, low + width]`` of the offset (the context)."""
        return (self.offset_low, self.offset_low + self.offset_width)

    @property
    def base(self) -> sp.csr_matrix:
        """The unshifted Laplacian ``A``, shape ``(n, n)``."""
        return laplacian_2d(self.grid_size)

    @property
    def base_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``A`` (closed form ``4 - 2cos(iπ/(m+1)) - 2cos(jπ/(m+1))``), shape ``(n,)``."""
        m = self.grid_size
        one_d = 2.0 - 2.0 * np.cos(np.arange(1, m + 1) * np.pi / (m + 1))
        return np.sort((one_d[:, None] + one_d[None, :]).ravel())

    def matrix(self, offset: float) -> sp.csr_matrix:
        """``A + offset · I``, shape ``(n, n)``."""
        return sp.csr_matrix(self.base + float(offset) * sp.identity(self.n, format="csr"))

    def sample_contexts(self, size: int, seed: SeedLike = None) -> np.ndarray:
        """Draw ``size`` offsets, shape ``(size,)``."""
        a, b = CONTEXT_DISTRIBUTIONS[self.distribution]
        return self.offset_low + self.offset_width * make_rng(seed).beta(a, b, size=size)

    def sample_rhs(self, size: int, seed: SeedLike = None) -> np.ndarray:
        """Draw ``size`` radially truncated Gaussian right-hand sides, shape ``(n, size)``."""
        rng = make_rng(seed)
        out = np.empty((self.n, size))
        filled = 0
        while filled < size:
            draws = rng.standard_normal((2 * (size - filled) + 4, self.n))
            ok = draws[np.linalg.norm(draws, axis=1) <= math.sqrt(self.n)]
            take = min(len(ok), size - filled)
            out[:, filled : filled + take] = ok[:take].T
            filled += take
        return out

    def sample(self, size: int, seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``size`` instances: offsets ``(size,)`` and right-hand sides ``(n, size)``."""
        rng = make_rng(seed)
        return self.sample_contexts(size, rng), self.sample_rhs(size, rng)

    def jacobi_radius(self, offsets: float | np.ndarray) -> np.ndarray:
        """Jacobi spectral radius of ``A + c I`` for each offset, shape like ``offsets``.

        The diagonal of ``A + c I`` is the constant ``4 + c``, so ``ρ = max_i |4 - λ_i(A)| / (4 + c)``;
        this equals `jacobi_spectral_radius` on the assembled matrix.
        """
        lam = self.base_eigenvalues
        return np.max(np.abs(4.0 - lam)) / (4.0 + np.asarray(offsets, dtype=float))

    def optimal_omega(self, offsets: float | np.ndarray) -> np.ndarray:
        """Instance-optimal ω (Young's formula) for each offset, shape like ``offsets``."""
        return np.asarray(young_omega(self.jacobi_radius(offsets)))


# ---------------------------------------------------------------------------------------------------
# The cost table
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostTable:
    """SOR iteration counts of a pool of i.i.d. instances on a grid of ω (plus the instance-optimal ω).

    Because instances are i.i.d., a long sequence can be replayed by drawing rows of the table: the
    cost of choosing grid index ``j`` on instance ``i`` is ``iterations[i, j]``.

    Attributes:
        omegas: The grid, shape ``(K,)``.
        contexts: Offset of each pooled instance, shape ``(N,)``.
        iterations: SOR iterations, shape ``(N, K)``.
        optimal_omega: Instance-optimal ω of each instance, shape ``(N,)``.
        optimal_iterations: SOR iterations at the instance-optimal ω, shape ``(N,)``.
    """

    omegas: np.ndarray
    contexts: np.ndarray
    iterations: np.ndarray
    optimal_omega: np.ndarray
    optimal_iterations: np.ndarray

    @property
    def n_instances(self) -> int:
        return int(self.contexts.size)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table to an ``.npz`` file atomically (concurrent writers cannot corrupt it)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **{k: getattr(self, k) for k in _TABLE_FIELDS})
        os.replace(tmp, target)

    @staticmethod
    def load(path: str | os.PathLike[str]) -> CostTable:
        """Read a table written by `save`."""
        with np.load(Path(path)) as data:
            return CostTable(**{k: np.asarray(data[k]) for k in _TABLE_FIELDS})


_TABLE_FIELDS = ("omegas", "contexts", "iterations", "optimal_omega", "optimal_iterations")


def build_cost_table(
    generator: ShiftedLaplacian,
    omegas: Sequence[float] | np.ndarray,
    n_instances: int,
    seed: int,
    *,
    tol: float = 1e-8,
    max_iter: int = 10_000,
    cache_dir: str | os.PathLike[str] | None = None,
) -> CostTable:
    """Sample ``n_instances`` systems and count SOR iterations at every ω of the grid and at ω*.

    Args:
        generator: The instance distribution.
        omegas: The grid of relaxation parameters, shape ``(K,)``.
        n_instances: Pool size ``N``.
        seed: Seed of the pool.
        tol: Relative residual tolerance of SOR.
        max_iter: SOR iteration cap.
        cache_dir: If given, the table is read from / written to an ``.npz`` file in this folder, keyed
            by a hash of every argument above (e.g. ``.guardopt/cache/``).
    """
    grid = np.asarray(omegas, dtype=float).ravel()
    if grid.size == 0 or np.any(~(grid > 0) | ~(grid < 2)):
        raise InputDataError(f"The omega grid must be non-empty and inside (0, 2). Got {grid!r} instead.")
    n_instances = check_int(n_instances, "n_instances", "build_cost_table", low=1)
    path: Path | None = None
    if cache_dir is not None:
        key = {
            "version": 1,
            "generator": asdict(generator),
            "omegas": [float(o) for o in grid],
            "n_instances": n_instances,
            "seed": int(seed),
            "tol": float(tol),
            "max_iter": int(max_iter),
        }
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        path = Path(cache_dir) / f"sor-cost-table-{digest}.npz"
        if path.exists():
            try:
                return CostTable.load(path)
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache entry is recomputed and overwritten
    contexts, rhs = generator.sample(n_instances, seed)
    opt = generator.optimal_omega(contexts)
    k = grid.size
    # One column per (instance, ω) pair, plus one per instance at its optimal ω.
    shifts = np.concatenate([np.repeat(contexts, k), contexts])
    ws = np.concatenate([np.tile(grid, n_instances), opt])
    cols = np.concatenate([np.repeat(np.arange(n_instances), k), np.arange(n_instances)])
    counts = sor_iteration_counts(generator.base, shifts, ws, rhs[:, cols], tol=tol, max_iter=max_iter)
    table = CostTable(
        omegas=grid,
        contexts=contexts,
        iterations=counts[: n_instances * k].reshape(n_instances, k),
        optimal_omega=opt,
        optimal_iterations=counts[n_instances * k :],
    )
    if path is not None:
        table.save(path)
    return table


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def _as_csr(A: sp.spmatrix | sp.sparray | np.ndarray, owner: str) -> sp.csr_matrix:
    csr = sp.csr_matrix(A, dtype=float)
    if csr.ndim != 2 or csr.shape[0] != csr.shape[1]:
        raise InputDataError(f"{owner} needs a square matrix. Got shape {csr.shape} instead.")
    return csr


def _as_vector(v: np.ndarray, n: int, name: str) -> np.ndarray:
    arr = np.asarray(v, dtype=float)
    if arr.shape != (n,):
        raise InputDataError(f"{name!r} must have shape ({n},). Got {arr.shape} instead.")
    if not np.all(np.isfinite(arr)):
        raise InputDataError(f"{name!r} must be finite.")
    return arr


def _triangular_solver(M: sp.spmatrix | sp.sparray) -> Callable[[np.ndarray], np.ndarray]:
    # M is triangular: an LU in natural order with diagonal pivots is a forward/backward substitution
    # with no fill-in, and SuperLU's compiled solve is ~70x faster per call than
    # scipy.sparse.linalg.spsolve_triangular at n = 100.
    lu = spla.splu(sp.csc_matrix(M), permc_spec="NATURAL", diag_pivot_thresh=0.0,
                   options={"SymmetricMode": True})
    return lu.solve


def _levels(strict_lower: sp.csr_matrix) -> list[np.ndarray]:
    """Level sets of a forward substitution: rows whose dependencies are all in earlier levels."""
    n = strict_lower.shape[0]
    level = np.zeros(n, dtype=np.int64)
    indptr, indices = strict_lower.indptr, strict_lower.indices
    for i in range(n):
        deps = indices[indptr[i] : indptr[i + 1]]
        if deps.size:
            level[i] = level[deps].max() + 1
    return [np.flatnonzero(level == lev) for lev in range(int(level.max()) + 1)]
