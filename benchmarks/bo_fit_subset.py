"""Benchmark: what fitting the GP's hyperparameters on a subset costs in regret, on long runs.

Runs `GPOptimizer` (EI) with ``fit_subset=SIZE`` and with ``fit_subset=None`` (every point) on the
same seeds and budgets, and writes ``benchmarks/results/bo-fit-subset.{json,md}``: log10 simple
regret at the budget per run, and medians. A small subset (default 64 of 150 trials) exercises the
path much harder than the shipped default (256).

Example::

    python benchmarks/bo_fit_subset.py --functions hartmann6,levy4 --budget 150 --seeds 3 --size 64
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESULTS = Path(__file__).resolve().parent / "results"


def run(name: str, budget: int, seed: int, size: int | None) -> float:
    import guardopt as go
    from guardopt.bo.optimizer import GPOptimizer
    from guardopt.problems.synthetic import get_function

    fn = get_function(name)
    study = go.Study(fn.space(), optimizer=GPOptimizer("ei", seed=seed, fit_subset=size))
    study.optimize(fn.objective(), n_trials=budget)
    regret = min(fn.regret(t.params) for t in study.trials if t.value is not None)
    return float(np.log10(max(regret, 1e-8)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--functions", default="hartmann6,levy4")
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--out", default=str(RESULTS / "bo-fit-subset"))
    args = ap.parse_args(argv)
    rows = []
    for name in args.functions.split(","):
        for seed in range(args.seeds):
            for size in (args.size, None):
                t0 = time.process_time()
                rows.append({"function": name, "seed": seed, "fit_subset": size,
                             "log10_regret": run(name, args.budget, seed, size),
                             "cpu_s": round(time.process_time() - t0, 1)})
                print(rows[-1], flush=True)
    command = "python benchmarks/bo_fit_subset.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps({"command": command.strip(), "rows": rows}, indent=1))
    md = ["# Regret with hyperparameters fitted on a subset", "", f"Made by `{command.strip()}`.", "",
          "| function | fit_subset | log10 regret per seed | median |", "|---|---|---|---|"]
    for name in args.functions.split(","):
        for size in (args.size, None):
            vals = [r["log10_regret"] for r in rows if r["function"] == name and r["fit_subset"] == size]
            md.append(f"| {name} | {size if size is not None else 'all points'} | "
                      + ", ".join(f"{v:.2f}" for v in vals) + f" | {statistics.median(vals):.2f} |")
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
