"""Benchmark: the solver tuner's own time per instance against the time of one SOR solve.

Target (Learning to Relax issue): the learner's time per instance (``ask`` + ``tell``) is at most 1% of
one SOR solve on the reproduction's instances (2-D shifted Laplacian, n = 100, tolerance 1e-8).

The tuner first runs in a real loop (ask, `sor_solve`, tell). Then a fresh tuner with the same seed is
told the same iteration counts, which reproduces its choices, and its ask + tell time is measured in
blocks, each followed by re-timing the same block of solves at the ω that were used. Times are CPU
time of the thread (`time.thread_time`), so other processes on a shared machine do not count.
Writes ``benchmarks/results/solver_tuning.json``.

Run::

    OMP_NUM_THREADS=1 python benchmarks/solver_tuning.py [--instances 2000] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from guardopt.bandits.solver_tuner import SolverTuner, SolverTunerConfig
from guardopt.problems.linear_systems import ShiftedLaplacian, sor_solve

ROOT = Path(__file__).resolve().parent


def _make_tuner(learner: str, gen: ShiftedLaplacian, seed: int) -> SolverTuner:
    low, high = gen.context_range
    return SolverTuner(SolverTunerConfig(learner=learner, context_low=low, context_high=high,  # type: ignore[arg-type]
                                         seed=seed))


def bench(learner: str, distribution: str, instances: int, rounds: int, seed: int) -> dict[str, float | str]:
    """Time one learner against SOR on ``instances`` systems, in ``rounds`` interleaved blocks."""
    gen = ShiftedLaplacian(distribution=distribution)  # type: ignore[arg-type]
    contexts, rhs = gen.sample(instances, seed)
    matrices = [gen.matrix(c) for c in contexts]
    contextual = learner == "chebcb"
    # Pass 1 (untimed): the tuner in the loop with real solves, recording its choices and the counts.
    tuner = _make_tuner(learner, gen, seed)
    omegas, counts = [], []
    for i in range(instances):
        omega = tuner.ask(float(contexts[i]) if contextual else None)
        its = sor_solve(matrices[i], rhs[:, i], omega).iterations
        tuner.tell(omega, its)
        omegas.append(omega)
        counts.append(its)
    # Pass 2 (timed, in blocks): a fresh tuner with the same seed told the same counts makes the same
    # choices, so its ask + tell time is the learner's own time in the loop above; each block of
    # learner rounds is followed by the same block of solves. CPU time of this thread.
    replay = _make_tuner(learner, gen, seed)
    block = instances // rounds
    learner_s: list[float] = []
    solve_s: list[float] = []
    for r in range(rounds):
        idx = range(r * block, (r + 1) * block)
        start = time.thread_time()
        for i in idx:
            omega = replay.ask(float(contexts[i]) if contextual else None)
            replay.tell(omega, counts[i])
        learner_s.append((time.thread_time() - start) / block)
        assert omega == omegas[idx[-1]], "the replayed tuner diverged from the recorded run"
        start = time.thread_time()
        for i in idx:
            sor_solve(matrices[i], rhs[:, i], omegas[i])
        solve_s.append((time.thread_time() - start) / block)
    ratios = [a / b for a, b in zip(learner_s, solve_s)]
    late = slice(rounds // 2, rounds)  # after learning settles (fewer iterations per solve)
    return {
        "learner": learner,
        "distribution": distribution,
        "instances": instances,
        "learner_us_per_instance": 1e6 * statistics.median(learner_s),
        "sor_solve_ms": 1e3 * statistics.median(solve_s),
        "mean_sor_iterations": float(np.mean(counts)),
        "overhead_fraction_median": statistics.median(ratios),
        "overhead_fraction_second_half": statistics.median(ratios[late]),
        "within_1_percent": statistics.median(ratios) <= 0.01,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "solver_tuning.json")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    rows = [
        bench(learner, dist, args.instances, args.rounds, args.seed)
        for dist in ("high-variance", "low-variance")
        for learner in ("tsallis-inf", "chebcb")
    ]
    payload = {
        "benchmark": "solver_tuning",
        "target": "learner time per instance <= 1% of one SOR solve",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                    # Other processes share the CPUs: thread CPU time excludes their time slices but
                    # not their effect on caches and clock, so the load is recorded with the numbers.
                    "load_average_1_5_15min_start": [round(v, 2) for v in load_start],
                    "load_average_1_5_15min_end": [round(v, 2) for v in os.getloadavg()]},
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    for row in rows:
        print(f"{row['distribution']:<14}{row['learner']:<12} learner {row['learner_us_per_instance']:7.1f} µs  "
              f"SOR {row['sor_solve_ms']:6.2f} ms  overhead {100 * float(row['overhead_fraction_median']):5.2f}%")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
