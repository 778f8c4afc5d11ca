"""Single-pass streaming bandits: a tower of kings vs uniform exploration on 1000 arms.

Run: ``python examples/streaming_bandits.py [--arms K] [--multiple M]`` (T = M·K pulls).
"""

from __future__ import annotations

import argparse

from guardopt.bandits.streaming import TowerEpsBest, UniformExploration, simulate
from guardopt.problems.streams import make_instance


def main(arms: int = 1000, multiple: int = 1000, seed: int = 0) -> dict[str, float]:
    means = make_instance("uniform-means", arms, seed=seed)
    horizon = multiple * arms
    out = {}
    for name, algo in {"tower-log": TowerEpsBest("log"), "uniform": UniformExploration()}.items():
        run = simulate(algo, means, horizon, seed=seed)
        out[name] = run.regret
        print(f"{name:10s} regret {run.regret:12,.0f}  arms held at most {run.result.peak_memory}")
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--arms", type=int, default=1000)
    p.add_argument("--multiple", type=int, default=1000)
    a = p.parse_args()
    main(a.arms, a.multiple)
