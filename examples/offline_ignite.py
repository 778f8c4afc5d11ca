"""IGNITE on an offline task, and as a wrapper around your own torch model and optimizer.

Run: ``python examples/offline_ignite.py`` (add ``--quick`` for a seconds-long smoke run).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from guardopt.offline import Ignite, IgniteConfig, MLPConfig, OfflineConfig, TrainConfig, run_offline
from guardopt.problems.offline_tasks import make_task


def main(quick: bool = False) -> dict[str, float]:
    # Small MLPs train fastest with one thread; raise it for big networks or a GPU-less server.
    torch.set_num_threads(1)

    # 1. The offline loop on a built-in task: train, ascend from the top-128 visible designs, score.
    task = make_task("rosenbrock", dim=20 if quick else 60, n_samples=500 if quick else 2500)
    small = {"mlp": MLPConfig(hidden=(64, 64)), "train": TrainConfig(steps=30)} if quick else {}
    scores = {}
    for method in ("grad", "ignite"):
        result = run_offline(task, OfflineConfig(method=method, ascent_steps=20 if quick else 200, **small), seed=0)
        s = task.score(result.proposals)
        scores[method] = s["p100"]
        print(f"{method:7s} p100 = {s['p100']:.3f}  p50 = {s['p50']:.3f}  (best visible {s['best_visible']:.3f})")

    # 2. Your own surrogate and optimizer: wrap them, and call step() once per batch.
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(size=(512, 8)), dtype=torch.float32)
    y = torch.sin(x).sum(dim=1, keepdim=True)
    model = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.SiLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ignite = Ignite(model, opt, IgniteConfig(rho=0.2, r=0.2, lam0=0.01))
    for _ in range(20 if quick else 300):
        idx = torch.randint(0, 512, (64,))
        loss = ignite.step(lambda idx=idx: torch.nn.functional.mse_loss(model(x[idx]), y[idx]), x[idx])
    print(f"own model: final loss {loss:.3f}, multiplier λ = {ignite.lam:.4f}")
    return scores


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
