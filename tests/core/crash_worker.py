"""A study run in its own process by the crash-safety tests (killed with SIGKILL halfway).

Usage: python crash_worker.py DB_PATH LOG_PATH SEED TOTAL N_JOBS SLEEP_MAX
"""

from __future__ import annotations

import sys
import time
from typing import Any

import guardopt as go


def objective(params: dict[str, Any], log_path: str, sleep_max: float) -> dict[str, float]:
    # Sleep 0.05..sleep_max s, deterministic in the parameters, then log the result before returning.
    time.sleep(0.05 + (sleep_max - 0.05) * (params["x"] + 5) / 10)
    value = (params["x"] - 1) ** 2 + params["y"] ** 2
    with open(log_path, "a") as log:
        log.write(f"{params['x']!r} {params['y']!r}\n")
    return {"value": value, "c": params["x"] + params["y"] - 2}


def main() -> None:
    db, log_path, seed, total, n_jobs, sleep_max = sys.argv[1:7]
    space = go.Space({"x": go.Real(-5, 5), "y": go.Real(-5, 5)})
    study = go.Study(space, name="crash", constraints={"c": ("<=", 0.0)},
                     optimizer=go.RandomSearch(seed=int(seed)), storage=f"sqlite:///{db}")
    study.optimize(lambda p: objective(p, log_path, float(sleep_max)), until=int(total), n_jobs=int(n_jobs))


if __name__ == "__main__":
    main()
