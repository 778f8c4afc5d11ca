"""Run every benchmark (`make bench`). Each benchmark module has a ``main(argv)``; add yours to the list."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (module file, arguments). The bo arguments are the run whose results are committed in
# benchmarks/results/bo.*; stored runs are skipped, so a rerun only recomputes what is missing.
_BO_BUDGETS = ["--budget", "hartmann6=50", "--budget", "ackley5=50", "--budget", "levy4=40", "--budget",
               "rosenbrock4=40", "--budget", "hartmann6-noisy0.1=50"]
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("bo.py", ["--seeds", "10", "--tools", "guardopt-ei,optuna-gp,optuna-tpe,random", *_BO_BUDGETS]),
    ("bo.py", ["--seeds", "5", "--tools", "guardopt-ucb,guardopt-mes,guardopt-nei,guardopt-kg", *_BO_BUDGETS]),
    ("solver_tuning.py", []),
    ("bo_scaling.py", ["--reps", "3"]),
]


def _load(name: str):  # benchmarks/ is not a package: load each file by path
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), HERE / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    for name, args in BENCHMARKS:
        print(f"== benchmarks/{name} {' '.join(args)}", flush=True)
        _load(name).main(args)


if __name__ == "__main__":
    sys.exit(main())
