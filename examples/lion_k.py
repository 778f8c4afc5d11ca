"""Lion-K keeps the weights inside ‖x‖_* ≤ 1/λ: a numpy quadratic and a tiny torch classifier.

Run: ``python examples/lion_k.py [--epochs N]`` (needs torch for the second part).
"""

from __future__ import annotations

import argparse

import numpy as np

from guardopt.optim import LionK, LionKConfig, constraint_norm
from guardopt.problems.constrained_quadratics import paper_toy


def main(epochs: int = 20, seed: int = 0) -> dict[str, float]:
    q = paper_toy()  # minimizer (3, -2, 0.5, 0.2) lies outside the box |x_i| <= 1
    opt = LionK(q.x0, LionKConfig(lr=1e-2, weight_decay=1.0, kernel="l1"))
    for _ in range(3000):
        opt.step(q.grad(opt.x))
    print("Lion (K = l1, lambda = 1):", np.round(opt.x, 3), "‖x‖_inf =", round(constraint_norm("l1", opt.x), 4))

    import torch
    from sklearn.datasets import make_classification

    from guardopt.optim.lion_k_torch import LionKTorch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x, y = make_classification(n_samples=1000, n_features=10, random_state=seed)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    lion = LionKTorch(net.parameters(), lr=3e-2, weight_decay=0.5, kernel="l2")
    for _ in range(epochs):
        for i in range(0, 1000, 100):
            lion.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[i:i + 100]), yt[i:i + 100]).backward()
            lion.step()
    with torch.no_grad():
        acc = float((net(xt).argmax(1) == yt).float().mean())
        biggest = max(float(torch.linalg.vector_norm(p)) for p in net.parameters())
    print(f"Lion-l2 MLP: train accuracy {acc:.3f}, largest tensor norm {biggest:.3f} (bound 2.0)")
    return {"accuracy": acc, "max_norm": biggest}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=20)
    main(p.parse_args().epochs)
