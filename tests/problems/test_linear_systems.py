"""SOR / SSOR-PCG solvers, Young's formula, the shifted-Laplacian generator and the cost table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.linear_systems import (
    CostTable,
    ShiftedLaplacian,
    build_cost_table,
    jacobi_spectral_radius,
    laplacian_2d,
    optimal_sor_omega,
    sor_iteration_counts,
    sor_solve,
    ssor_pcg,
    young_omega,
)


def _random_spd(n: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    B = sp.random(n, n, density=0.05, random_state=rng)
    A = B @ B.T + sp.identity(n) * 2.0
    return sp.csr_matrix(A)


def test_laplacian_structure_and_eigenvalues() -> None:
    A = laplacian_2d(3)
    dense = A.toarray()
    assert A.shape == (9, 9)
    assert np.all(np.diag(dense) == 4.0)
    assert dense[0, 1] == -1.0 and dense[0, 3] == -1.0 and dense[2, 3] == 0.0  # row ends do not wrap
    gen = ShiftedLaplacian(grid_size=3)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(dense)), gen.base_eigenvalues, atol=1e-12)


@pytest.mark.parametrize("omega", [0.8, 1.0, 1.5, 1.9])
def test_sor_matches_spsolve(omega: float) -> None:
    gen = ShiftedLaplacian()
    contexts, rhs = gen.sample(3, seed=1)
    for c, b in zip(contexts, rhs.T):
        A = gen.matrix(c)
        exact = spla.spsolve(sp.csc_matrix(A), b)
        res = sor_solve(A, b, omega, tol=1e-10)
        assert res.converged and res.relative_residual < 1e-10
        assert np.linalg.norm(res.x - exact) <= 1e-6 * np.linalg.norm(exact)


def test_sor_on_a_general_spd_matrix_and_x0() -> None:
    A = _random_spd(60, 0)
    b = np.random.default_rng(1).standard_normal(60)
    exact = spla.spsolve(sp.csc_matrix(A), b)
    res = sor_solve(A, b, 1.2, x0=np.ones(60), tol=1e-11)
    np.testing.assert_allclose(res.x, exact, rtol=1e-7, atol=1e-9)


def test_sor_counts_iterations_like_the_definition() -> None:
    # Gauss-Seidel on a 2x2 system by hand: A = [[2, -1], [-1, 2]], b = (1, 1), x0 = 0.
    A = np.array([[2.0, -1.0], [-1.0, 2.0]])
    b = np.array([1.0, 1.0])
    x = np.zeros(2)
    r0 = np.linalg.norm(b)
    k = 0
    while np.linalg.norm(b - A @ x) >= 1e-8 * r0:
        x = x + np.linalg.solve(np.tril(A), b - A @ x)
        k += 1
    res = sor_solve(A, b, 1.0)
    assert res.iterations == k and res.converged


def test_sor_zero_rhs_and_cap() -> None:
    A = laplacian_2d(4)
    res = sor_solve(A, np.zeros(16), 1.5)
    assert res.iterations == 0 and res.converged
    capped = sor_solve(A, np.ones(16), 1.0, max_iter=3)
    assert capped.iterations == 3 and not capped.converged and capped.relative_residual > 1e-8


def test_sor_input_validation() -> None:
    A = laplacian_2d(3)
    with pytest.raises(InvalidParameterError, match="The 'omega' parameter of sor_solve"):
        sor_solve(A, np.ones(9), 2.0)
    with pytest.raises(InputDataError):
        sor_solve(A, np.ones(8), 1.0)
    with pytest.raises(InputDataError):
        sor_solve(sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]])), np.ones(2), 1.0)


def test_triangular_solve_matches_scipy_spsolve_triangular() -> None:
    from guardopt.problems.linear_systems import _triangular_solver

    A = _random_spd(40, 3)
    M = sp.csr_matrix(sp.diags(A.diagonal() / 1.3) + sp.tril(A, -1))
    r = np.random.default_rng(0).standard_normal(40)
    np.testing.assert_allclose(_triangular_solver(M)(r), spla.spsolve_triangular(M, r, lower=True), rtol=1e-12)


def test_ssor_pcg_matches_spsolve_and_beats_plain_cg() -> None:
    gen = ShiftedLaplacian(grid_size=12, offset_low=0.0)
    c, rhs = gen.sample(1, seed=4)
    A, b = gen.matrix(c[0]), rhs[:, 0]
    res = ssor_pcg(A, b, 1.5)
    exact = spla.spsolve(sp.csc_matrix(A), b)
    assert res.converged and res.relative_residual <= 1e-8
    assert np.linalg.norm(res.x - exact) <= 1e-5 * np.linalg.norm(exact)
    plain = [0]
    spla.cg(A, b, rtol=1e-8, atol=0.0, maxiter=10_000, callback=lambda _: plain.__setitem__(0, plain[0] + 1))
    assert res.iterations < plain[0]


def test_young_formula_reference_value() -> None:
    # 2x2 grid: Laplacian eigenvalues {2, 4, 4, 6}; Jacobi radius max|4 - λ| / 4 = 0.5;
    # ω* = 1 + (0.5 / (1 + sqrt(0.75)))² = 1.0717967697...
    A = laplacian_2d(2)
    assert jacobi_spectral_radius(A) == pytest.approx(0.5, abs=1e-12)
    assert optimal_sor_omega(A) == pytest.approx(1.0717967697244908, abs=1e-12)
    assert young_omega(0.0) == 1.0
    with pytest.raises(InputDataError):
        young_omega(1.0)


def test_generator_jacobi_radius_matches_the_assembled_matrix() -> None:
    gen = ShiftedLaplacian(grid_size=5)
    for c in (-0.15, 0.0, 0.3):
        assert gen.jacobi_radius(c) == pytest.approx(jacobi_spectral_radius(gen.matrix(c)), abs=1e-12)
        # analytic: 4 cos(π / (m + 1)) / (4 + c)
        assert gen.jacobi_radius(c) == pytest.approx(4 * math.cos(math.pi / 6) / (4 + c), abs=1e-12)


@pytest.mark.parametrize("offset", [-0.1, 0.0, 0.4])
def test_optimal_omega_matches_brute_force_sweep(offset: float) -> None:
    gen = ShiftedLaplacian(grid_size=6)
    A = gen.matrix(offset).toarray()
    D, L = np.diag(np.diag(A)), np.tril(A, -1)
    grid = np.linspace(1.0, 1.99, 199)

    def sor_radius(w: float) -> float:
        G = np.eye(len(A)) - np.linalg.solve(D / w + L, A)
        return float(np.max(np.abs(np.linalg.eigvals(G))))

    radii = np.array([sor_radius(w) for w in grid])
    w_star = optimal_sor_omega(A)
    assert abs(grid[np.argmin(radii)] - w_star) <= 0.01
    assert sor_radius(w_star) == pytest.approx(w_star - 1.0, abs=1e-3)  # Young: ρ(G_ω*) = ω* - 1
    # And in iteration counts: ω* is within 10% of the best ω of a fine sweep.
    b = gen.sample_rhs(1, seed=0)[:, 0]
    counts = [sor_solve(A, b, w).iterations for w in grid]
    assert sor_solve(A, b, w_star).iterations <= 1.1 * min(counts)


def test_generator_sampling() -> None:
    gen = ShiftedLaplacian(distribution="low-variance")
    c, b = gen.sample(500, seed=3)
    low, high = gen.context_range
    assert b.shape == (100, 500) and c.shape == (500,)
    assert np.all((c >= low) & (c <= high))
    assert np.all(np.linalg.norm(b, axis=0) <= 10.0 + 1e-12)
    # Beta(2, 6) has mean 1/4: c averages -0.15 + 0.6 / 4 = 0.0
    assert abs(c.mean()) < 0.02
    c2, b2 = gen.sample(500, seed=3)
    np.testing.assert_array_equal(c, c2)
    np.testing.assert_array_equal(b, b2)
    hv = ShiftedLaplacian().sample_contexts(2000, seed=0)
    assert abs(hv.mean() - (-0.15 + 0.6 * 0.25)) < 0.02  # Beta(0.5, 1.5) also has mean 1/4
    assert hv.std() > c.std()


def test_generator_validation() -> None:
    with pytest.raises(InvalidParameterError, match="distribution"):
        ShiftedLaplacian(distribution="medium")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="offset_low"):
        ShiftedLaplacian(offset_low=-1.0)


def test_batched_counts_match_sor_solve() -> None:
    gen = ShiftedLaplacian()
    c, b = gen.sample(4, seed=7)
    omegas = np.array([1.0, 1.3, 1.7, 1.95])
    shifts = np.repeat(c, 4)
    ws = np.tile(omegas, 4)
    rhs = np.repeat(b, 4, axis=1)
    counts = sor_iteration_counts(gen.base, shifts, ws, rhs)
    ref = [sor_solve(gen.matrix(s), rhs[:, i], w).iterations for i, (s, w) in enumerate(zip(shifts, ws))]
    assert np.max(np.abs(counts - np.array(ref))) <= 1
    assert np.mean(counts == np.array(ref)) >= 0.9
    capped = sor_iteration_counts(gen.base, c[:1], np.array([1.0]), b[:, :1], max_iter=5)
    assert capped.tolist() == [5]
    with pytest.raises(InputDataError):
        sor_iteration_counts(gen.base, c, omegas[:3], b)


def test_cost_table_and_cache(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gen = ShiftedLaplacian(grid_size=6)
    grid = np.linspace(1.0, 1.9, 4)
    table = build_cost_table(gen, grid, 5, seed=2, cache_dir=tmp_path)
    assert table.iterations.shape == (5, 4) and table.optimal_iterations.shape == (5,)
    files = list(tmp_path.glob("sor-cost-table-*.npz"))
    assert len(files) == 1
    again = build_cost_table(gen, grid, 5, seed=2, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.iterations, table.iterations)
    loaded = CostTable.load(files[0])
    np.testing.assert_array_equal(loaded.contexts, table.contexts)
    # another seed, another file; a damaged file is recomputed
    build_cost_table(gen, grid, 5, seed=3, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("sor-cost-table-*.npz"))) == 2
    files[0].write_bytes(b"garbage")
    fixed = build_cost_table(gen, grid, 5, seed=2, cache_dir=tmp_path)
    np.testing.assert_array_equal(fixed.iterations, table.iterations)
    c, b = gen.sample(5, seed=2)
    assert table.iterations[1, 2] == sor_solve(gen.matrix(c[1]), b[:, 1], grid[2]).iterations
    assert table.optimal_omega[0] == pytest.approx(optimal_sor_omega(gen.matrix(c[0])))
