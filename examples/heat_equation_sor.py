"""Tune SOR's ω on the fly inside a time-stepping heat-equation simulation.

The 2-D heat equation ``u_t = κ(t) Δu + f(x, t)`` on the unit square (zero boundary values) is
stepped with Crank–Nicolson, so every step solves one sparse linear system

    (I + s L) u_{k+1} = (I - s L) u_k + dt f,    s = dt κ(t) / (2 h²),

with ``L`` the five-point Laplacian. The diffusion coefficient κ(t) changes over time (as in the
heat-equation experiment of Khodak et al., 2024), so the best ω changes too. At every step a
`SolverTuner` picks ω, SOR solves the system (warm-started from the previous state) and the tuner
is told the iteration count. ChebCB uses κ(t) as its context; Tsallis-INF needs none.

Run it::

    python examples/heat_equation_sor.py --steps 400 --grid 24
    python examples/heat_equation_sor.py --solver ssor-pcg
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import scipy.sparse as sp

from guardopt.bandits.solver_tuner import SolverTuner, SolverTunerConfig
from guardopt.problems.linear_systems import laplacian_2d, sor_solve, ssor_pcg


def diffusion(t: float) -> float:
    """κ(t): slow positive bursts and sharp high-diffusion phases (period 1)."""
    return max(0.1 * math.sin(2 * math.pi * t), -10.0 * math.sin(2 * math.pi * t)) + 0.05


def forcing(points: np.ndarray, t: float) -> np.ndarray:
    """A smooth bump circling the centre of the square, shape ``(n,)``."""
    centre = np.array([0.5 + 0.25 * math.cos(4 * math.pi * t), 0.5 + 0.25 * math.sin(4 * math.pi * t)])
    return 32.0 * np.exp(-np.sum((points - centre) ** 2, axis=1) / 0.01)


def simulate(steps: int = 400, grid: int = 24, learner: str = "chebcb", seed: int = 0,
             fixed_omega: float = 1.5, stop_time: float = 2.0, solver: str = "sor") -> dict[str, float]:
    """Run the simulation with one ω policy; returns total solver iterations and the final state's norm.

    ``solver`` is "sor" or "ssor-pcg" (conjugate gradient with an SSOR preconditioner, whose ω is tuned
    the same way, as in the paper's heat-equation experiment).
    """
    solve = sor_solve if solver == "sor" else ssor_pcg
    h = 1.0 / (grid + 1)
    dt = stop_time / steps
    lap = laplacian_2d(grid)
    eye = sp.identity(grid * grid, format="csr")
    coords = np.arange(1, grid + 1) * h
    points = np.array([(x, y) for y in coords for x in coords])
    kappas = [diffusion(k * dt) for k in range(1, steps + 1)]
    config = SolverTunerConfig(learner=learner, fixed_omega=fixed_omega, context_low=min(kappas),  # type: ignore[arg-type]
                               context_high=max(kappas) + 1e-9, seed=seed)
    tuner = SolverTuner(config)
    u = np.exp(-np.sum((points - 0.5) ** 2, axis=1) / 0.05)
    total = 0
    for k in range(1, steps + 1):
        kappa = kappas[k - 1]
        s = dt * kappa / (2 * h * h)
        A = eye + s * lap
        b = u - s * (lap @ u) + dt * forcing(points, k * dt)
        omega = tuner.ask(context=kappa)
        result = solve(A, b, omega, x0=u, tol=1e-8)
        tuner.tell(omega, result.iterations)
        u = result.x
        total += result.iterations
    return {"iterations": float(total), "final_norm": float(np.linalg.norm(u) * h)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--grid", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", choices=["sor", "ssor-pcg"], default="sor")
    args = parser.parse_args(argv)
    rows = []
    for learner in ("gauss-seidel", "fixed", "tsallis-inf", "chebcb"):
        out = simulate(args.steps, args.grid, learner, args.seed, solver=args.solver)
        rows.append((learner, out["iterations"], out["final_norm"]))
    base = rows[0][1]
    print(f"{'policy':<14}{'iterations':>16}{'vs ω = 1':>17}{'‖u_T‖':>10}")
    for name, its, norm in rows:
        label = "fixed ω=1.5" if name == "fixed" else name
        print(f"{label:<14}{its:>16.0f}{its / base:>17.2f}{norm:>10.4f}")


if __name__ == "__main__":
    main()
