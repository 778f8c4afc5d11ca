"""Bayesian optimization with guardopt.bo: a mixed space, an outcome constraint, a guarded answer.

    python examples/bo_quickstart.py            # 30 trials, about 5 s
    python examples/bo_quickstart.py 12         # fewer trials

The objective is a Branin-like bowl over a real, an integer and a categorical parameter, with a
constraint ``x + y <= 8``. `Study.best(guard="pessimistic")` returns only a point that the
constraint's GP says is feasible under its upper confidence bound, or None ("nothing safe yet").
"""

import math
import sys

import guardopt as go
from guardopt.bo import GPOptimizer


def objective(p: dict) -> dict:
    x, y = p["x"], p["y"]
    value = (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x)
    value += 0.5 * p["n"] + (2.0 if p["kind"] == "b" else 0.0)
    return {"value": value, "c": x + y}


def main(n_trials: int = 30) -> go.Trial | None:
    space = go.Space({"x": go.Real(-5, 10), "y": go.Real(0, 15), "n": go.Integer(0, 4), "kind": go.Choice(["a", "b"])})
    study = go.Study(space, constraints={"c": ("<=", 8.0)}, optimizer=GPOptimizer("ei", seed=0))
    study.optimize(objective, n_trials=n_trials)
    best = study.best(guard="pessimistic")
    print("guarded best:", None if best is None else (best.params, round(best.value, 3)))
    return best


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
