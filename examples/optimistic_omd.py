"""Optimistic online mirror descent on a SEA problem and on experts (the simplex).

Run: ``python examples/optimistic_omd.py [--horizon T]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from guardopt.online import EntropicSimplex, EuclideanBall, OnlineGradientDescent, OptimisticOMD
from guardopt.problems.sea import SEAConfig, SEAProblem


def main(horizon: int = 2000, seed: int = 0) -> dict[str, float]:
    # A predictable sequence with a few switches (small adversarial variation, little noise).
    cfg = SEAConfig(horizon=horizon, sigma2=0.01, pattern="switching", variation=8.0, n_switches=4, duty=0.05)
    out = {}
    for name, learner in {"oomd": OptimisticOMD(EuclideanBall(cfg.dim)),
                          "ogd": OnlineGradientDescent(EuclideanBall(cfg.dim), grad_bound=3.0)}.items():
        problem = SEAProblem(cfg, seed=seed)
        xs = np.empty((horizon, cfg.dim))
        for t in range(horizon):
            xs[t] = learner.ask()  # play x_t
            learner.tell(problem.gradient(t, xs[t]))  # told the gradient at x_t
        out[name] = problem.regret(xs)
        print(f"{name}: static regret {out[name]:.2f}")
    # Experts: the entropic mirror map is multiplicative weights with optimistic hints.
    experts = OptimisticOMD(EntropicSimplex(3))
    for _ in range(200):
        experts.ask()
        experts.tell(np.array([0.4, 0.1, 0.7]))
    print("weights on 3 experts:", np.round(experts.ask(), 3))
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--horizon", type=int, default=2000)
    main(p.parse_args().horizon)
